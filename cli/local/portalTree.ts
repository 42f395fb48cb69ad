import { chownSync, copyFileSync, lchownSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** Where the fake WebSphere scripts live (the one folder of fakes). */
export const FAKE_IBM_TOOLS = path.join(__dirname, "..", "..", "test", "fakes", "ibm-tools");

export interface PortalTreeOptions {
  /** Extra small files spread over installedApps and PortalServer (default 300). */
  smallFiles?: number;
  /** Extra large files in PortalServer/base (default 0). */
  largeFiles?: number;
  /** Size of each large file in bytes (default 8 MiB). */
  largeFileSize?: number;
  /** Versions recorded in IIM's installed.xml. */
  portalVersion?: string;
  /** Give some files to uid/gid 1001 as on a real host (needs root; default: when running as root). */
  owners?: boolean;
}

/** The layout of a sample host tree under a root directory. */
export function portalLayout(root: string) {
  return {
    portalServer: `${root}/opt/HCL/PortalServer`,
    wpProfile: `${root}/opt/HCL/wp_profile`,
    appServer: `${root}/opt/HCL/AppServer`,
    iimInstall: `${root}/opt/IBM/InstallationManager`,
    iimAgentData: `${root}/var/ibm/InstallationManager`,
    iimShared: `${root}/opt/IBM/IMShared`,
    ssl: `${root}/opt/HCL/ssl`,
  };
}

/** Deterministic, incompressible bytes (xorshift), so sizes mean what they say to restic. */
function bytes(n: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  for (let i = n - (n % 4); i < n; i++) buf[i] = i & 0xff;
  return buf;
}

export function installedXml(layout: ReturnType<typeof portalLayout>, portalVersion: string): string {
  return `<?xml version='1.0' encoding='UTF-8'?>
<installInfo>
  <location id='IBM WebSphere Application Server V9.0' kind='product' path='${layout.appServer}'>
    <package kind='offering' name='IBM WebSphere Application Server Network Deployment' version='9.0.5018.20240304_1517' id='com.ibm.websphere.ND.v90' feature='core.feature,ejbdeploy,thinclient,embeddablecontainer,com.ibm.sdk.8' installDate='2024-03-20T09:12:44.000Z'/>
    <package kind='offering' name='IBM WebSphere SDK Java Technology Edition (Optional)' version='8.0.8020.20240222_0907' id='com.ibm.java.jdk.v8' installDate='2024-03-20T09:14:02.000Z'/>
  </location>
  <location id='HCL Digital Experience' kind='product' path='${layout.portalServer}'>
    <package kind='offering' name='HCL Portal Server' version='9.5.0.20200101_1200' id='com.ibm.websphere.PORTAL.SERVER.v95' installDate='2024-03-20T10:02:11.000Z'/>
    <package kind='offering' name='HCL Digital Experience 9.5 Combined Cumulative Fix' version="${portalVersion}" id="com.hcl.dx.cf95" installDate='2024-09-02T21:40:05.000Z'/>
  </location>
</installInfo>
`;
}

/**
 * A sample Portal host: PortalServer, wp_profile (config/cells, installedApps,
 * logs, temp), AppServer, the three IIM directories and SSL keystores, with
 * realistic modes, owners and symlinks. The profile's stop/start scripts are
 * the recording fakes. Used by the demo, the tests and the benchmarks.
 */
export function createPortalTree(root: string, options: PortalTreeOptions = {}): ReturnType<typeof portalLayout> {
  const l = portalLayout(root);
  const owners = options.owners ?? process.getuid?.() === 0;
  let seed = 1;
  const file = (p: string, content: string | Buffer, mode = 0o644) => {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content, { mode });
    // A fixed mtime keeps the tree identical between runs of the generator.
    utimesSync(p, 1_700_000_000, 1_700_000_000);
  };
  const blob = (p: string, size: number, mode = 0o644) => file(p, bytes(size, seed++), mode);
  const link = (target: string, p: string) => {
    mkdirSync(path.dirname(p), { recursive: true });
    symlinkSync(target, p);
  };

  // IBM WebSphere Application Server
  blob(`${l.appServer}/lib/bootstrap.jar`, 180_000);
  blob(`${l.appServer}/lib/j2ee.jar`, 250_000);
  blob(`${l.appServer}/plugins/com.ibm.ws.runtime.jar`, 400_000);
  file(`${l.appServer}/bin/versionInfo.sh`, "#!/bin/sh\necho 'WebSphere 9.0.5.18'\n", 0o755);
  file(`${l.appServer}/properties/version/WAS.product`, "<product><version>9.0.5.18</version></product>\n");
  blob(`${l.appServer}/java/8.0/bin/java`, 90_000, 0o755);
  link("8.0", `${l.appServer}/java/current`);
  file(`${l.appServer}/logs/install/log.txt`, "install log\n");

  // HCL Portal
  blob(`${l.portalServer}/base/wp.base/shared/app/wp.base.jar`, 300_000);
  blob(`${l.portalServer}/base/wp.engine.impl/shared/app/wp.engine.impl.jar`, 500_000);
  for (const request of ["ExportRelease.xml", "ExportUniqueRelease.xml"]) {
    file(
      `${l.portalServer}/doc/xml-samples/${request}`,
      "<request type='export'><portal action='locate'/></request>\n",
    );
  }
  link("../base", `${l.portalServer}/lib/current`);
  file(`${l.portalServer}/log/ConfigTrace.log`, "trace\n");
  file(
    `${l.portalServer}/config/wkplc.properties`,
    "WasUserid=wpsadmin\nWasPassword=\nPortalAdminId=wpsadmin\n",
    0o600,
  );

  // The WebSphere_Portal profile
  const cell = `${l.wpProfile}/config/cells/dxCell`;
  file(`${cell}/cell.xml`, "<topology.cell:Cell name='dxCell' cellType='DISTRIBUTED'/>\n");
  file(`${cell}/security.xml`, "<security:Security enabled='true'/>\n", 0o600);
  file(`${cell}/resources.xml`, "<resources.jdbc:JDBCProvider name='wpdbJDBC_db2'/>\n");
  file(`${cell}/nodes/dxNode/serverindex.xml`, "<serverindex:ServerIndex hostName='portal-1'/>\n");
  file(`${cell}/nodes/dxNode/servers/WebSphere_Portal/server.xml`, "<process:Server name='WebSphere_Portal'/>\n");
  file(`${l.wpProfile}/properties/soap.client.props`, "com.ibm.SOAP.securityEnabled=true\n", 0o600);
  blob(`${l.wpProfile}/etc/key.p12`, 4_000, 0o600);
  blob(`${l.wpProfile}/installedApps/dxCell/wps.ear/wps.war/WEB-INF/lib/wps.jar`, 200_000);
  file(`${l.wpProfile}/installedApps/dxCell/wps.ear/META-INF/application.xml`, "<application/>\n");
  file(`${l.wpProfile}/logs/WebSphere_Portal/SystemOut.log`, "[1/1/26] server started\n");
  file(`${l.wpProfile}/temp/dxNode/WebSphere_Portal/scratch.tmp`, "tmp\n");
  file(`${l.wpProfile}/javacore.20260101.010101.1234.0001.txt`, "javacore\n");
  mkdirSync(`${l.wpProfile}/bin`, { recursive: true });
  for (const script of ["stopServer.sh", "startServer.sh", "backupConfig.sh", "restoreConfig.sh"]) {
    copyFileSync(path.join(FAKE_IBM_TOOLS, "fake-was-script"), `${l.wpProfile}/bin/${script}`);
  }
  mkdirSync(`${l.wpProfile}/PortalServer/bin`, { recursive: true });
  copyFileSync(path.join(FAKE_IBM_TOOLS, "xmlaccess.sh"), `${l.wpProfile}/PortalServer/bin/xmlaccess.sh`);

  // Application files: many small ones, as in a real installedApps tree.
  const small = options.smallFiles ?? 300;
  for (let i = 0; i < small; i++) {
    const dir = `${l.wpProfile}/installedApps/dxCell/app${i % 40}.ear/app.war/${i % 7 === 0 ? "WEB-INF/classes" : "static"}`;
    blob(`${dir}/res-${i}.${i % 3 === 0 ? "class" : i % 3 === 1 ? "js" : "properties"}`, 512 + ((i * 7919) % 12_000));
  }
  for (let i = 0; i < (options.largeFiles ?? 0); i++) {
    blob(`${l.portalServer}/base/content/large-${i}.bin`, options.largeFileSize ?? 8 * 1024 * 1024);
  }
  file(`${l.portalServer}/base/content/name with spaces & 'quotes'.txt`, "odd but legal\n");
  file(`${l.portalServer}/base/content/ünïcödé-名前.txt`, "unicode\n");

  // IBM Installation Manager: install dir, agent data, shared resources.
  file(`${l.iimInstall}/eclipse/IBMIM`, "#!/bin/sh\necho IBMIM\n", 0o755);
  file(`${l.iimInstall}/eclipse/configuration/config.ini`, `cic.appDataLocation=${l.iimAgentData}\n`);
  file(`${l.iimAgentData}/installed.xml`, installedXml(l, options.portalVersion ?? "9.5.0.CF221"));
  file(
    `${l.iimAgentData}/installRegistry.xml`,
    "<installRegistry><profile id='HCL Digital Experience'/></installRegistry>\n",
  );
  file(`${l.iimAgentData}/logs/index.xml`, "<log/>\n");
  blob(`${l.iimShared}/plugins/com.ibm.cic.agent.core_1.9.2.jar`, 120_000);

  // SSL material (a custom path).
  blob(`${l.ssl}/keystore.p12`, 3_000, 0o600);
  blob(`${l.ssl}/truststore.p12`, 2_000, 0o640);

  if (owners) {
    // Portal runs as a non-root user on many hosts; owners must survive a restore.
    for (const p of [`${l.wpProfile}/etc/key.p12`, `${cell}/security.xml`, `${l.ssl}/keystore.p12`])
      chownSync(p, 1001, 1001);
    lchownSync(`${l.portalServer}/lib/current`, 1001, 1001);
  }
  return l;
}

import { expect } from "chai";
import { readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { loadPolicy } from "../../components/policy/load";
import { selectPieces } from "../../components/policy/pieces";
import { selectTargets } from "../../components/policy/targets";
import { policyWarnings } from "../../components/plan/warnings";
import {
  DEFAULT_SECRETS,
  expectIssue,
  issuesOf,
  SAMPLE_HOST_KEY,
  stackConfig,
  validConfig,
  type ConfigObject,
} from "../support/config";

/** A valid config with one change applied. */
function withChange(change: (c: ConfigObject) => void): ConfigObject {
  const c = validConfig();
  change(c);
  return c;
}

const hosts = (c: ConfigObject) => c.hosts as Array<Record<string, unknown>>;
const schedules = (c: ConfigObject) => c.schedules as Array<Record<string, unknown>>;

describe("policy: loading a valid config", () => {
  it("applies the HCL DX defaults of the host's role and namespaces the agent by policy", () => {
    const policy = loadPolicy(stackConfig(validConfig()));
    expect(policy.name).to.equal("dx-test");
    expect(policy.production).to.equal(false);
    const [host] = policy.hosts;
    expect(host.roots).to.deep.equal({
      portalServer: "/opt/HCL/PortalServer",
      wpProfile: "/opt/HCL/wp_profile",
      appServer: "/opt/HCL/AppServer",
    });
    expect(host.iim).to.deep.equal({
      installDir: "/opt/IBM/InstallationManager",
      agentDataDir: "/var/ibm/InstallationManager",
      sharedDir: "/opt/IBM/IMShared",
    });
    expect(host.ssh).to.deep.equal({ user: "root", port: 22, privateKeySecret: "sshPrivateKey", sudo: false });
    expect(host.agent.installDir).to.equal("/opt/dxbackup/dx-test");
    expect(host.agent.configDir).to.equal("/etc/dxbackup/dx-test");
    expect(host.excludes).to.include("/opt/HCL/wp_profile/logs");
    expect(policy.schedules[0]).to.deep.include({ mode: "online", hosts: ["portal-1"] });
    expect(policy.schedules[0].retention).to.deep.equal({ keepDaily: 7, keepWeekly: 4 });
    expect(policy.secrets.all).to.deep.equal([
      "repositoryPassword",
      "sshPrivateKey",
      "s3AccessKeyId",
      "s3SecretAccessKey",
    ]);
  });

  it("defaults sudo to true for a non-root SSH user, and production for environment prod", () => {
    const policy = loadPolicy(
      stackConfig(
        withChange((c) => {
          c.environment = "prod";
          hosts(c)[0].ssh = { user: "dxbackup", hostKey: SAMPLE_HOST_KEY };
        }),
      ),
    );
    expect(policy.hosts[0].ssh.sudo).to.equal(true);
    expect(policy.production).to.equal(true);
  });

  it("in production, every host's SSH key is pinned (but a decommissioned one is never contacted)", () => {
    const prod = issuesOf(stackConfig(withChange((c) => (c.environment = "prod"))));
    expectIssue(
      prod,
      "dxbackup:hosts[0].ssh.hostKey",
      /must be pinned: set it to the line `ssh-keyscan -p 22 10\.0\.0\.11`/,
    );
    const gone = loadPolicy(
      stackConfig(withChange((c) => ((c.environment = "prod"), (hosts(c)[0].decommissioned = true)))),
    );
    expect(gone.hosts[0].decommissioned).to.equal(true);
    const staging = loadPolicy(stackConfig(withChange((c) => (c.environment = "staging"))));
    expect(staging.hosts[0].ssh.hostKey).to.equal(undefined);
    const bad = issuesOf(stackConfig(withChange((c) => (hosts(c)[0].ssh = { hostKey: "AAAAC3Nza" }))));
    expectIssue(
      bad,
      "dxbackup:hosts[0].ssh.hostKey",
      /must be a public host key line such as 'ssh-ed25519 AAAA\.\.\.'/,
    );
  });

  it("a former host name belongs to one host, and is not another host's name", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          hosts(c).push({ name: "portal-2", address: "10.0.0.12", formerNames: ["portal-1"] });
        }),
      ),
    );
    expectIssue(issues, "dxbackup:hosts[1].formerNames", /'portal-1' is the name or a former name of another host/);
    const renamed = loadPolicy(stackConfig(withChange((c) => (hosts(c)[0].formerNames = ["portal-old"]))));
    expect(renamed.hosts[0].formerNames).to.deep.equal(["portal-old"]);
  });

  it("gives each role its own roots: a web server has IHS and plug-ins, a Deployment Manager its dmgr profile", () => {
    const policy = loadPolicy(
      stackConfig(
        withChange((c) => {
          hosts(c).push({ name: "web-1", address: "10.0.0.21", role: "webServer" });
          hosts(c).push({ name: "dmgr", address: "10.0.0.31", role: "deploymentManager" });
        }),
      ),
    );
    expect(policy.hosts[1].roots).to.deep.equal({
      webServer: "/opt/IBM/HTTPServer",
      plugins: "/opt/IBM/WebSphere/Plugins",
    });
    expect(policy.hosts[2].roots).to.deep.equal({
      appServer: "/opt/HCL/AppServer",
      dmgrProfile: "/opt/HCL/AppServer/profiles/Dmgr01",
    });
  });

  it("accepts every stack file shipped in stacks/", () => {
    for (const stack of ["local", "dev", "staging", "prod"]) {
      const policy = loadPolicy(readStackConfig(stackFilePath(stack)));
      expect(policy.environment).to.equal(stack);
    }
  });
});

describe("policy: malformed configs name the key and the fix", () => {
  it("rejects a typo in a nested key and suggests the right one", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (hosts(c)[0].ssh = { prot: 2222 }))));
    expectIssue(issues, "dxbackup:hosts[0].ssh.prot", /unknown key 'prot': did you mean 'port'\?/);
  });

  it("rejects a typo in a top-level key", () => {
    const c = validConfig();
    c.retenton = c.retention;
    delete c.retention;
    const issues = issuesOf(stackConfig(c));
    expectIssue(issues, "dxbackup:retenton", /did you mean dxbackup:retention\?/);
  });

  it("rejects a plain-HTTP storage endpoint outside environment: local, naming the key and the fix", () => {
    const http = (environment: string) => {
      const c = withChange(
        (x) =>
          ((x.storage as { s3Compatible: { endpoint: string } }).s3Compatible.endpoint = "http://s3.example.com:9000"),
      );
      return stackConfig({ ...c, environment });
    };
    expectIssue(
      issuesOf(http("staging")),
      "dxbackup:storage.s3Compatible.endpoint",
      /is plain HTTP: anyone on the path .* can replay the signed requests .*use https, with caCertificatePath/,
    );
    expect(() => loadPolicy(http("local"))).to.not.throw();
  });

  it("takes a rest-server: per-host users from one secret, https outside environment: local", () => {
    const rest = (environment: string, url: string) =>
      stackConfig(
        { ...validConfig(), environment, storage: { rest: { url } } },
        { repositoryPassword: "pw", sshPrivateKey: "key", restPassword: "rest" },
      );
    const policy = loadPolicy(rest("staging", "https://backup.example.com:8000"));
    expect(policy.storage).to.deep.equal({
      kind: "rest",
      rest: { url: "https://backup.example.com:8000", passwordSecret: "restPassword", appendOnly: true },
    });
    expect(policy.secrets.all).to.include("restPassword");
    expectIssue(
      issuesOf(rest("staging", "http://backup.example.com:8000")),
      "dxbackup:storage.rest.url",
      /is plain HTTP: every host's rest-server password crosses the network in clear text.*use https/,
    );
    expect(() => loadPolicy(rest("local", "http://127.0.0.1:8000"))).to.not.throw();
    expectIssue(
      issuesOf(rest("staging", "https://backup.example.com:8000?repos")),
      "dxbackup:storage.rest.url",
      /no path, query or user/,
    );
    expectIssue(
      issuesOf(rest("staging", "https://backup.example.com:8000/repos")),
      "dxbackup:storage.rest.url",
      /must be a URL such as https:\/\/backup.example.com:8000 \(no path, query or user\)/,
    );
  });

  it("refuses an SFTP user per host whose names Linux cannot hold", () => {
    const c = {
      ...validConfig(),
      storage: {
        sftp: { host: "sftp.example.com", user: "dx-backup-user-of-{host}", path: "/srv", hostKey: SAMPLE_HOST_KEY },
      },
      hosts: [{ name: "portal-node-number-one", address: "10.0.0.11" }],
    };
    expectIssue(
      issuesOf(stackConfig(c, { repositoryPassword: "pw", sshPrivateKey: "key", sftpPrivateKey: "k" })),
      "dxbackup:storage.sftp.user",
      /longer than the 32 characters Linux allows: dx-backup-user-of-portal-node-number-one; use a shorter pattern such as dxb-\{host\}/,
    );
  });

  it("names the risk of storage whose every host shares one set of credentials", () => {
    const two = (storage: Record<string, unknown>, secrets: Record<string, string> = {}) =>
      policyWarnings(
        loadPolicy(
          stackConfig(
            {
              ...validConfig(),
              storage,
              hosts: [
                { name: "portal-1", address: "10.0.0.11" },
                { name: "portal-2", address: "10.0.0.12" },
              ],
              schedules: [{ name: "nightly", cron: "0 2 * * *", hosts: ["portal-1", "portal-2"] }],
            },
            { repositoryPassword: "pw", sshPrivateKey: "key", ...secrets },
          ),
        ),
        {},
        new Date("2026-11-28T00:00:00Z"),
      ).filter((w) => /every host reaches the storage/.test(w.message));
    const shared = two(
      { sftp: { host: "sftp.example.com", user: "dx", path: "/srv/dx", hostKey: SAMPLE_HOST_KEY } },
      {
        sftpPrivateKey: "k",
      },
    );
    expect(shared).to.have.length(1);
    expect(shared[0].path).to.equal("dxbackup:storage.sftp");
    expect(shared[0].message).to.match(
      /one SFTP user and key \(put \{host\} in storage.sftp.user for a user per host\): root on any one host can delete or overwrite every other host.s backups .*use storage.rest/,
    );
    expect(
      two(
        { sftp: { host: "sftp.example.com", user: "dxb-{host}", path: "/srv/dx", hostKey: SAMPLE_HOST_KEY } },
        { sftpPrivateKey: "k" },
      ),
    ).to.have.length(0);
    expect(two({ filesystem: { path: "/mnt/dx" } })).to.have.length(1);
    expect(two({ rest: { url: "https://backup.example.com" } }, { restPassword: "r" })).to.have.length(0);
    expect(two({ s3: { region: "eu-central-1" } })).to.have.length(0);
  });

  it("rejects a wrong type", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (hosts(c)[0].ssh = { port: "twenty-two" }))));
    expectIssue(issues, "dxbackup:hosts[0].ssh.port", /expected number.*write a number/);
  });

  it("rejects a value outside an enum and lists the allowed ones", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].mode = "hot"))));
    expectIssue(issues, "dxbackup:schedules[0].mode", /must be one of "online", "offline"/);
  });

  it("rejects a missing required key", () => {
    const c = validConfig();
    delete c.storage;
    expectIssue(issuesOf(stackConfig(c)), "dxbackup:storage", /is required/);
  });

  it("rejects a relative path", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (hosts(c)[0].roots = { wpProfile: "opt/HCL/wp_profile" }))));
    expectIssue(issues, "dxbackup:hosts[0].roots.wpProfile", /absolute path/);
  });

  it("rejects plain text where a structure is expected", () => {
    const config = stackConfig(validConfig());
    const values = { ...config.values, "dxbackup:hosts": "portal-1" };
    expectIssue(issuesOf({ ...config, values }), "dxbackup:hosts", /structured value/);
  });

  it("reports every problem at once, not just the first", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          hosts(c)[0].ssh = { port: 0 };
          schedules(c)[0].mode = "hot";
        }),
      ),
    );
    expect(issues.map((i) => i.path)).to.include.members(["dxbackup:hosts[0].ssh.port", "dxbackup:schedules[0].mode"]);
  });
});

describe("policy: cross-field rules", () => {
  it("a schedule that backs up the Portal file system must include IIM", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].targets = ["portalServer", "wpProfile"]))));
    expectIssue(issues, "dxbackup:schedules[0].targets", /without 'iim'.*three IBM Installation Manager directories/);
  });

  it("IIM is required with any IIM-installed product, also on a web server", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          hosts(c).push({ name: "web-1", address: "10.0.0.21", role: "webServer" });
          schedules(c)[0].targets = ["webServer", "wpProfile", "iim"];
          schedules(c).push({ name: "web", cron: "0 4 * * *", hosts: ["web-1"], targets: ["webServer"] });
        }),
      ),
    );
    expectIssue(issues, "dxbackup:schedules[1].targets", /IBM HTTP Server on 'web-1' without 'iim'/);
  });

  it("a profile-only schedule is fine without IIM (the profile is not installed by IIM)", () => {
    const policy = loadPolicy(stackConfig(withChange((c) => (schedules(c)[0].targets = ["wpProfile"]))));
    expect(policy.schedules[0].targets).to.deep.equal(["wpProfile"]);
  });

  it("offline schedules need a stop/start procedure on every host", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].mode = "offline"))));
    expectIssue(issues, "dxbackup:hosts[0].offline", /offline but host 'portal-1' has no stop\/start procedure/);
  });

  it("a database or directory server in an offline schedule needs no stop/start procedure (it runs no server to stop)", () => {
    const policy = loadPolicy(
      stackConfig(
        withChange((c) => {
          schedules(c)[0].mode = "offline";
          hosts(c)[0].offline = { stop: ["stop.sh"], start: ["start.sh"] };
          hosts(c).push(
            { name: "db-1", address: "10.0.0.21", role: "databaseServer" },
            { name: "ldap-1", address: "10.0.0.31", role: "directoryServer" },
          );
          c.databases = [{ domain: "customization", host: "db-1", derby: { url: "jdbc:derby:/srv/derby/cust" } }];
          c.ldap = { host: "ldap-1", openldap: { suffix: "dc=example,dc=com" } };
        }),
      ),
    );
    expect(policy.hosts.map((h) => `${h.name}:${h.role}:${h.offline ? "procedure" : "none"}`)).to.deep.equal([
      "portal-1:portalNode:procedure",
      "db-1:databaseServer:none",
      "ldap-1:directoryServer:none",
    ]);
    expect(policy.schedules[0].hosts).to.deep.equal(["portal-1", "db-1", "ldap-1"]);
  });

  it("DAM binaries belong to the dam domain, on a declared host", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          c.databases = [
            {
              domain: "customization",
              host: "portal-1",
              derby: { url: "jdbc:derby:/srv/derby/cust" },
              damBinaries: { host: "portal-1", path: "/dam" },
            },
            {
              domain: "dam",
              host: "portal-1",
              derby: { url: "jdbc:derby:/srv/derby/dam" },
              damBinaries: { host: "portal-9", path: "/dam" },
            },
          ];
        }),
      ),
    );
    expectIssue(
      issues,
      "dxbackup:databases[0].damBinaries",
      /only the dam domain has DAM binaries: remove it from 'customization'/,
    );
    expectIssue(issues, "dxbackup:databases[1].damBinaries.host", /no host is named 'portal-9'/);
  });

  it("a directory server has no Portal or WebSphere roots", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) =>
          hosts(c).push({ name: "ldap-1", address: "10.0.0.31", role: "directoryServer", roots: { wpProfile: "/x" } }),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:hosts[1].roots.wpProfile", /a directoryServer host has no wp_profile_root/);
  });

  it("an offline schedule with a procedure is accepted", () => {
    const policy = loadPolicy(
      stackConfig(
        withChange((c) => {
          schedules(c)[0].mode = "offline";
          hosts(c)[0].offline = { stop: ["stop.sh"], start: ["start.sh"] };
        }),
      ),
    );
    expect(policy.hosts[0].offline).to.deep.equal({ stop: ["stop.sh"], start: ["start.sh"] });
  });

  it("rejects an invalid cron expression", () => {
    const bad = ["0 2 * *", "61 * * * *", "0 2 L * *", "@daily", "0 0 2 * * *"];
    for (const cron of bad) {
      const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].cron = cron))));
      expectIssue(issues, "dxbackup:schedules[0].cron", /five|not portable|not a valid cron/);
    }
  });

  it("rejects an unknown time zone", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].timezone = "Europe/Berln"))));
    expectIssue(issues, "dxbackup:schedules[0].timezone", /unknown time zone 'Europe\/Berln'.*IANA/);
  });

  it("rejects a retention that keeps nothing", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (c.retention = { keepDaily: 0 }))));
    expectIssue(issues, "dxbackup:retention", /keeps nothing/);
  });

  it("rejects a schedule without any retention", () => {
    const c = validConfig();
    delete c.retention;
    expectIssue(issuesOf(stackConfig(c)), "dxbackup:schedules[0].retention", /has no retention/);
  });

  it("rejects a schedule naming an unknown host, with a suggestion", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].hosts = ["portal1"]))));
    expectIssue(issues, "dxbackup:schedules[0].hosts[0]", /no host is named 'portal1': did you mean 'portal-1'\?/);
  });

  it("rejects a root the host's role does not have", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) =>
          hosts(c).push({ name: "web-1", address: "w", role: "webServer", roots: { portalServer: "/x" } }),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:hosts[1].roots.portalServer", /webServer host has no PortalServer_root/);
  });

  it("rejects a target that no host of the schedule has", () => {
    const issues = issuesOf(stackConfig(withChange((c) => (schedules(c)[0].targets = ["dmgrProfile", "iim"]))));
    expectIssue(issues, "dxbackup:schedules[0].targets[0]", /no host of this schedule has Deployment Manager profile/);
  });

  it("rejects duplicate host and schedule names", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          hosts(c).push({ name: "portal-1", address: "10.0.0.12" });
          schedules(c).push({ name: "nightly", cron: "0 3 * * *" });
        }),
      ),
    );
    expectIssue(issues, "dxbackup:hosts[1].name", /declared twice/);
    expectIssue(issues, "dxbackup:schedules[1].name", /declared twice/);
  });

  it("rejects more than one storage kind, or none", () => {
    const two = issuesOf(
      stackConfig(withChange((c) => (c.storage = { ...(c.storage as object), filesystem: { path: "/b" } }))),
    );
    expectIssue(two, "dxbackup:storage", /keep exactly one storage kind/);
    const none = issuesOf(stackConfig(withChange((c) => (c.storage = {}))));
    expectIssue(none, "dxbackup:storage", /declare one storage kind/);
  });

  it("rejects a noncurrent-version expiry shorter than the object lock", () => {
    const issues = issuesOf(
      stackConfig(
        withChange(
          (c) => (c.storage = { s3: { region: "eu-central-1", noncurrentVersionDays: 30, objectLock: { days: 90 } } }),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:storage.s3.noncurrentVersionDays", /must be >= objectLock.days \(90\)/);
  });

  it("rejects replication into the bucket's own region", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => (c.storage = { s3: { region: "eu-central-1", replication: { region: "eu-central-1" } } })),
      ),
    );
    expectIssue(issues, "dxbackup:storage.s3.replication.region", /second region/);
  });

  it("requires every named secret, and requires it to be stored as a secret", () => {
    const { sshPrivateKey: _dropped, ...rest } = DEFAULT_SECRETS;
    const missing = issuesOf(stackConfig(validConfig(), rest));
    expectIssue(
      missing,
      "dxbackup:sshPrivateKey",
      /is required by dxbackup:hosts\[0\]\.ssh\.privateKeySecret.*--secret/,
    );

    const config = stackConfig(validConfig());
    const plain = new Set([...config.secretKeys].filter((k) => k !== "dxbackup:repositoryPassword"));
    expectIssue(issuesOf({ ...config, secretKeys: plain }), "dxbackup:repositoryPassword", /stored in plain text/);
  });
});

describe("policy: databases, directory and XMLAccess", () => {
  const db2 = (domain: string, archiveLogging = true) => ({
    domain,
    host: "portal-1",
    db2: { database: domain.toUpperCase(), archiveLogging },
  });
  const withDatabases = (databases: unknown[], change: (c: ConfigObject) => void = () => {}) =>
    withChange((c) => {
      c.databases = databases;
      change(c);
    });

  it("accepts the six domains and DAM, and names each engine", () => {
    const policy = loadPolicy(
      stackConfig(
        withDatabases(["release", "customization", "community", "jcr", "feedback", "likeminds"].map((d) => db2(d))),
      ),
    );
    expect(policy.databases.map((d) => `${d.domain}:${d.engine}`)).to.include("jcr:db2");
    expect(policy.schedules[0].databases).to.have.length(6);
  });

  it("rejects a domain declared twice", () => {
    const issues = issuesOf(stackConfig(withDatabases([db2("release"), db2("release")])));
    expectIssue(issues, "dxbackup:databases[1].domain", /'release' is declared twice/);
  });

  it("rejects online DB2 without archive logging, and says how to fix it", () => {
    const issues = issuesOf(stackConfig(withDatabases([db2("customization", false)])));
    expectIssue(
      issues,
      "dxbackup:databases[0].db2.archiveLogging",
      /online.*needs archive logging \(LOGARCHMETH1\).*archiveLogging: true.*offline/,
    );
  });

  it("rejects an embedded Derby database in an online schedule (Portal holds it open), and accepts the network server or an offline run", () => {
    const derby = (url: string) => ({ domain: "release", host: "portal-1", derby: { url } });
    const embedded = issuesOf(
      stackConfig(withDatabases([derby("jdbc:derby:/opt/HCL/wp_profile/PortalServer/derby/wps6")])),
    );
    expectIssue(
      embedded,
      "dxbackup:databases[0].derby.url",
      /online schedule 'nightly' backs up the embedded Derby database .* \(Derby answers XSDB6\): capture 'release' only in offline schedules .* or run the Derby Network Server and declare its URL \(jdbc:derby:\/\/host:1527\/<database path>\)/,
    );
    expect(() => loadPolicy(stackConfig(withDatabases([derby("jdbc:derby://localhost:1527/wps6")])))).to.not.throw();
    const offline = withDatabases([derby("jdbc:derby:/opt/wps6")], (c) => {
      schedules(c)[0].mode = "offline";
      (c.hosts as Array<Record<string, unknown>>)[0].offline = { stop: ["/bin/true"], start: ["/bin/true"] };
    });
    expect(() => loadPolicy(stackConfig(offline))).to.not.throw();
  });

  it("rejects SQL Server's view of a backup share without this host's (serverBackupDir needs backupDir)", () => {
    const sql = (extra: Record<string, string>) => ({
      domain: "community",
      host: "portal-1",
      sqlserver: { server: "db", database: "COMMDB", user: "sa", passwordSecret: "sqlPassword", ...extra },
    });
    const config = (extra: Record<string, string>) =>
      stackConfig(withDatabases([sql(extra)]), { ...DEFAULT_SECRETS, sqlPassword: "x" });
    expectIssue(
      issuesOf(config({ serverBackupDir: "D:\\DXBackup" })),
      "dxbackup:databases[0].sqlserver.serverBackupDir",
      /backupDir \(the same share as this host mounts it\) is not set/,
    );
    expectIssue(
      issuesOf(config({ backupDir: "/mnt/mssql", serverBackupDir: "DXBackup" })),
      "dxbackup:databases[0].sqlserver.serverBackupDir",
      /must be an absolute path as SQL Server names it/,
    );
    expect(() => loadPolicy(config({ backupDir: "/mnt/mssql", serverBackupDir: "\\\\nas\\dx" }))).to.not.throw();
  });

  it("a remoteSearch host: the Remote Search Service's profile and AppServer by default, its WebSphere configuration, IIM", () => {
    const policy = loadPolicy(
      stackConfig(
        withChange((c) => {
          (c.hosts as Array<Record<string, unknown>>).push({
            name: "search-1",
            address: "10.0.0.9",
            role: "remoteSearch",
          });
          (c.schedules as Array<Record<string, unknown>>)[0].hosts = ["portal-1", "search-1"];
        }),
      ),
    );
    const search = policy.hosts.find((h) => h.name === "search-1")!;
    expect(search.roots).to.deep.equal({
      appServer: "/opt/HCL/AppServer",
      searchProfile: "/opt/HCL/AppServer/profiles/prs_profile",
    });
    expect(selectPieces(policy.schedules[0], search, policy).map((p) => p.name)).to.deep.equal([
      "wasconfig-searchProfile",
    ]);
    expect(
      selectTargets(undefined, search)
        .filter((t) => t.paths.length)
        .map((t) => t.target),
    ).to.include.members(["searchProfile", "appServer", "iim"]);
  });

  it("rejects an offline idsdbback on a directory host that has no offline commands to stop the directory server", () => {
    const config = (offline?: Record<string, string[]>) =>
      stackConfig(
        withChange((c) => {
          (c.hosts as Array<Record<string, unknown>>).push({
            name: "ldap-1",
            address: "10.0.0.7",
            role: "directoryServer",
            ...(offline && { offline }),
          });
          (c.schedules as Array<Record<string, unknown>>).push({
            name: "weekly",
            cron: "0 3 * * 0",
            mode: "offline",
            hosts: ["ldap-1"],
          });
          c.ldap = { host: "ldap-1", isds: { instance: "dsrdbm01" } };
        }),
      );
    expectIssue(
      issuesOf(config()),
      "dxbackup:ldap.isds",
      /^offline schedule 'weekly' runs idsdbback on 'ldap-1' without -u, which needs the directory server stopped, but the host has no offline commands: add offline: \{stop: \[ibmslapd -I dsrdbm01 -k\], start: \[ibmslapd -I dsrdbm01\]\}/,
    );
    expect(() =>
      loadPolicy(config({ stop: ["ibmslapd -I dsrdbm01 -k"], start: ["ibmslapd -I dsrdbm01"] })),
    ).to.not.throw();
  });

  it("rejects a database that no schedule captures", () => {
    const issues = issuesOf(
      stackConfig(
        withDatabases([db2("customization"), db2("community")], (c) => (schedules(c)[0].databases = ["customization"])),
      ),
    );
    expectIssue(issues, "dxbackup:databases[1]", /'community' is in no schedule/);
  });

  it("rejects a schedule that captures release without jcr, feedback and likeminds (restored together)", () => {
    const issues = issuesOf(
      stackConfig(
        withDatabases(
          ["release", "jcr", "feedback", "likeminds"].map((d) => db2(d)),
          (c) => {
            schedules(c)[0].databases = ["release", "feedback", "likeminds"];
            schedules(c).push({ name: "jcr-only", cron: "0 4 * * *", databases: ["jcr"] });
          },
        ),
      ),
    );
    expectIssue(
      issues,
      "dxbackup:schedules[0].databases",
      /without jcr: HCL restores release, jcr, feedback and likeminds together/,
    );
  });

  it("rejects a database with no engine, or two", () => {
    const issues = issuesOf(
      stackConfig(
        withDatabases([
          { domain: "release", host: "portal-1" },
          { domain: "jcr", host: "portal-1", db2: { database: "J" }, derby: { url: "jdbc:derby:/x" } },
        ]),
      ),
    );
    expectIssue(issues, "dxbackup:databases[0]", /declare the engine of 'release'/);
    expectIssue(issues, "dxbackup:databases[1]", /declares db2 and derby: keep exactly one engine/);
  });

  it("rejects a database on an unknown host, and a schedule naming an undeclared domain", () => {
    const issues = issuesOf(
      stackConfig(
        withDatabases(
          [{ ...db2("release"), host: "portal-2" }],
          (c) => (schedules(c)[0].databases = ["release", "jcr"]),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:databases[0].host", /no host is named 'portal-2'/);
    expectIssue(issues, "dxbackup:schedules[0].databases[1]", /'jcr' is not declared/);
  });

  it("requires the password secrets of databases, the directory and XMLAccess", () => {
    const issues = issuesOf(
      stackConfig(
        withDatabases(
          [
            {
              domain: "dam",
              host: "portal-1",
              postgresql: { host: "db", database: "dam", user: "dam", passwordSecret: "damPassword" },
            },
          ],
          (c) => {
            c.ldap = {
              host: "portal-1",
              ldapsearch: { uri: "ldap://ldap:389", bindDn: "cn=x", passwordSecret: "ldapPassword", base: "o=acme" },
            };
            hosts(c)[0].xmlaccess = {
              url: "http://localhost:10039/wps/config",
              user: "wpsadmin",
              passwordSecret: "wpsPassword",
            };
          },
        ),
      ),
    );
    expectIssue(issues, "dxbackup:damPassword", /is required by dxbackup:databases\[0\]\.postgresql\.passwordSecret/);
    expectIssue(issues, "dxbackup:ldapPassword", /is required by dxbackup:ldap\.ldapsearch\.passwordSecret/);
    expectIssue(issues, "dxbackup:wpsPassword", /is required by dxbackup:hosts\[0\]\.xmlaccess\.passwordSecret/);
  });

  it("rejects XMLAccess on a host that is not a portal node", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) =>
          hosts(c).push({
            name: "web-1",
            address: "w",
            role: "webServer",
            xmlaccess: { url: "http://localhost:10039/wps/config", user: "u", passwordSecret: "sshPrivateKey" },
          }),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:hosts[1].xmlaccess", /run on a portal node; 'web-1' is a webServer/);
  });
});

describe("policy: restore drills", () => {
  it("a drill schedule needs no retention and captures nothing", () => {
    const c = validConfig();
    (c.schedules as unknown[]).push({ name: "drill", kind: "drill", cron: "0 10 * * 3" });
    const policy = loadPolicy(stackConfig(c));
    const drill = policy.schedules.find((s) => s.kind === "drill")!;
    expect(drill.retention).to.deep.equal({});
    expect(drill.databases).to.deep.equal([]);
  });
});

describe("policy: remote sources and the system tier", () => {
  const source = (extra: Record<string, unknown>) => ({
    name: "crm",
    kind: "externalDatabase",
    owner: "CRM team",
    rpo: "24h",
    ...extra,
  });

  it("in production, a remote source that nobody protects is an error; elsewhere the report warns", () => {
    const prod = issuesOf(
      stackConfig(
        withChange((c) => {
          c.environment = "prod";
          c.remoteSources = [source({})];
          hosts(c)[0].ssh = { hostKey: SAMPLE_HOST_KEY };
        }),
      ),
    );
    expectIssue(prod, "dxbackup:remoteSources[0]", /nobody protects 'crm' \(externalDatabase, owner CRM team\)/);
    const dev = loadPolicy(stackConfig(withChange((c) => (c.remoteSources = [source({})]))));
    expect(dev.remoteSources).to.have.length(1);
  });

  it("a remote source is either by us or delegated, by us with one way to dump it, on a host and schedule that exist", () => {
    const issues = issuesOf(
      stackConfig(
        withChange(
          (c) =>
            (c.remoteSources = [
              source({
                byUs: {
                  host: "portal-9",
                  schedules: ["weekly"],
                  command: { run: "x", filename: "x" },
                  postgresql: { host: "h", database: "d", user: "u", passwordSecret: "sshPrivateKey" },
                },
                delegated: { system: "s", frequency: "f", evidence: "e", lastVerified: "2026-01-01" },
              }),
            ]),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:remoteSources[0]", /is both byUs and delegated/);
    expectIssue(issues, "dxbackup:remoteSources[0].byUs.host", /no host is named 'portal-9'/);
    expectIssue(issues, "dxbackup:remoteSources[0].byUs", /either postgresql or command, not both/);
    expectIssue(issues, "dxbackup:remoteSources[0].byUs.schedules[0]", /no backup schedule is named 'weekly'/);
  });

  it("rejects an AWS Backup lifecycle that the vault lock or cold storage would refuse", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          hosts(c)[0].ec2 = true;
          c.system = {
            aws: {
              region: "eu-central-1",
              coldStorageAfterDays: 30,
              deleteAfterDays: 60,
              vaultLock: { minRetentionDays: 90, maxRetentionDays: 365 },
            },
          };
        }),
      ),
    );
    expectIssue(issues, "dxbackup:system.aws.deleteAfterDays", /at least coldStorageAfterDays \+ 90 \(120\)/);
    expectIssue(issues, "dxbackup:system.aws.deleteAfterDays", /within the vault lock \(90\.\.365 days\)/);
  });

  it("rejects an AWS Backup schedule AWS cannot run", () => {
    const issues = issuesOf(
      stackConfig(
        withChange(
          (c) => ((hosts(c)[0].ec2 = true), (c.system = { aws: { region: "eu-central-1", cron: "*/30 * * * *" } })),
        ),
      ),
    );
    expectIssue(issues, "dxbackup:system.aws.cron", /at most once an hour/);
  });

  it("a PostgreSQL stream cannot come from a host whose files go to TSM", () => {
    const issues = issuesOf(
      stackConfig(
        withChange((c) => {
          hosts(c)[0].fileEngine = "tsm";
          c.databases = [
            {
              domain: "dam",
              host: "portal-1",
              postgresql: { host: "db", database: "dam", user: "u", passwordSecret: "sshPrivateKey" },
            },
          ];
        }),
      ),
    );
    expectIssue(
      issues,
      "dxbackup:databases[0].host",
      /PostgreSQL stream into restic, but 'portal-1' uses the tsm engine/,
    );
  });
});

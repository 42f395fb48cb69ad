import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { captured, KeptLog, testContext, testHostConfig } from "../../support/agentHost";
import type { DrillStatus, PieceRecord } from "../../../shared/records";
import type { AgentContext } from "../../../agent/context";
import { DrillChecks, drillCommand, runDrill, type DrillPoint } from "../../../agent/drill";
import { derbyIj } from "../../../agent/engines/derby";
import { StepError, UsageError } from "../../../agent/errors";
import { iimPackages, packagesTsv } from "../../../agent/iim";
import { writeRecord } from "../../../agent/record";
import { statePaths } from "../../../agent/state";
import { statusCommand } from "../../../agent/statusVerb";

/** stderr, captured while F runs; what F threw is thrown. */
async function stderrOf<T>(f: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  const r = await captured(f);
  if (r.error) throw r.error;
  return { value: r.value as T, stderr: r.stderr };
}

const INSTALLED_XML = `<?xml version="1.0" encoding="UTF-8"?>
<installInfo>
  <location id='IBM WebSphere Application Server V9.0' path='/opt/IBM/WebSphere/AppServer'>
    <package id='com.ibm.websphere.ND.v90' version='9.0.5.20240509_1723' kind='offering'/>
    <package kind="offering" version="95.0.0.20241107_0200" id="com.ibm.websphere.PORTAL.SERVER.v95"/>
  </location>
</installInfo>
`;

/** A host with a real restic repository in a temp directory, and the files a recovery point holds. */
class DrillHost {
  readonly dir = mkdtempSync(path.join(tmpdir(), "dxb-drill-"));
  readonly portal = path.join(this.dir, "portal");
  readonly iimData = path.join(this.dir, "iim-data");
  readonly ctx: AgentContext;
  readonly log = new KeptLog();
  readonly staging: string;
  private n = 0;

  constructor() {
    writeFileSync(path.join(this.dir, "password"), "drill test passphrase\n", { mode: 0o600 });
    writeFileSync(path.join(this.dir, "env.json"), "{}");
    const stateDir = path.join(this.dir, "state");
    const config = testHostConfig(this.dir, {
      stateDir,
      iim: { installDir: "/opt/IBM/IM", agentDataDir: this.iimData, sharedDir: "/opt/IBM/IMShared" },
      pieces: {
        "db-release": {
          kind: "database",
          domain: "release",
          database: { engine: "derby", derby: { url: "jdbc:derby:/opt/release", command: "ij" } },
        },
      },
    });
    const state = statePaths(stateDir);
    this.staging = state.staging;
    mkdirSync(this.staging, { recursive: true });
    mkdirSync(path.join(this.portal, "config"), { recursive: true });
    writeFileSync(path.join(this.portal, "config", "portal.properties"), "a=1\n");
    mkdirSync(this.iimData);
    writeFileSync(path.join(this.iimData, "installed.xml"), INSTALLED_XML);
    this.ctx = testContext(config, this.log);
  }

  async init(): Promise<void> {
    const r = await this.ctx.restic.run(["init"]);
    expect(r.code, r.stderr).to.equal(0);
  }

  /** A staged file of a piece. */
  stage(rel: string, content: string): string {
    const file = path.join(this.staging, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  /** A real ZIP of a WebSphere config directory (made with zip), as backupConfig.sh writes. */
  stageZip(rel: string): string {
    const config = path.join(this.dir, "zip-src", "config");
    mkdirSync(path.join(config, "cells", "dxCell"), { recursive: true });
    writeFileSync(path.join(config, "cells", "dxCell", "cell.xml"), "<topology.cell:Cell name='dxCell'/>\n");
    writeFileSync(path.join(config, "cells", "dxCell", "security.xml"), "<security:Security/>\n");
    const file = path.join(this.staging, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const r = spawnSync("zip", ["-qr", "-X", file, "config"], { cwd: path.dirname(config), encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    return file;
  }

  /** A symbolic link in staging, to TARGET. */
  link(rel: string, target: string): string {
    const file = path.join(this.staging, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    symlinkSync(target, file);
    return file;
  }

  /** A streamed export: a snapshot of its own. */
  stream(filename: string, content: string): Promise<string> {
    return this.ctx.restic.backupStdin("piece:test", filename, ["--tag", "dxbackup"], {
      cmd: "printf",
      args: ["%s", content],
      what: "printf",
    });
  }

  /** A recovery point: its record and files snapshot, as a run leaves them. */
  async point(pieces: Array<Omit<PieceRecord, "completed">>, iimTsv?: string): Promise<DrillPoint> {
    const runId = `20261128T0200${String(++this.n).padStart(2, "0")}Z-1a2b3c`;
    const { state, config } = this.ctx;
    writeRecord(state.recoveryPoint, {
      record: {
        runId,
        policy: config.policy,
        host: config.host,
        schedule: "nightly",
        mode: "online",
        start: "2026-11-28T02:00:00Z",
        targets: [
          { target: "portal", path: this.portal },
          { target: "iim", path: this.iimData },
        ],
        pieces: pieces.map((p) => ({ ...p, completed: "2026-11-28T02:01:00Z" }) as PieceRecord),
      },
      iimAgentDataDir: this.iimData,
    });
    writeFileSync(
      path.join(state.recoveryPoint, "iim-packages.tsv"),
      iimTsv ?? packagesTsv(iimPackages(path.join(this.iimData, "installed.xml"))),
    );
    const r = await this.ctx.restic.backup([
      "--host",
      config.host,
      "--tag",
      `dxbackup,run:${runId},piece:files`,
      this.portal,
      this.iimData,
      this.staging,
      state.recoveryPoint,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    return { runId, filesSnapshot: r.summary!.snapshotId };
  }

  drill(point: DrillPoint, subset = "100%") {
    return stderrOf(() => runDrill(this.ctx, { spec: "latest", subset, resolve: async () => point }));
  }

  status(): DrillStatus {
    return JSON.parse(readFileSync(this.ctx.state.drillStatus, "utf8")) as DrillStatus;
  }

  metrics(): string {
    return readFileSync(path.join(this.ctx.state.metrics, "dxbackup-dx-t-drill.prom"), "utf8");
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe("agent drill: a restore that proves itself (real restic, Derby's ij, pg_restore)", function () {
  this.timeout(180000);
  let h: DrillHost;
  let derbyBackup: string;

  before(async () => {
    h = new DrillHost();
    await h.init();
    // A real Derby backup, as the db-release piece leaves it in staging.
    const db = path.join(h.dir, "derby", "release");
    derbyBackup = path.join(h.staging, "db-release");
    mkdirSync(derbyBackup, { recursive: true });
    await derbyIj(
      "setup",
      "backup",
      "ij",
      `connect 'jdbc:derby:${db};create=true';\ncreate table t (i int);\ninsert into t values (1);\nCALL SYSCS_UTIL.SYSCS_BACKUP_DATABASE('${derbyBackup}');\nexit;\n`,
      h.dir,
    );
  });
  after(() => h.remove());

  let verifiedAt = 0;

  it("verifies a recovery point: every check passes, the status, stamp and metrics say so, the scratch is gone", async () => {
    const cms = await h.stream("/dx-t/remote/cms-export.json", '{"export": "complete", "items": 3}\n');
    const ldif = "dn: dc=example,dc=com\nobjectClass: top\n\ndn: cn=admin,dc=example,dc=com\ncn: admin\n";
    h.stage("ldap/directory.ldif", ldif);
    h.stage("db-home/HOME.0.db2inst1.DBPART000.20261128020000.001", "image");
    h.stageZip("was/wp_profile.zip");
    h.stage(
      "xmlaccess-export/x.xml",
      '<?xml version="1.0"?>\n<request>\n<status element="all" result="ok"/>\n</request>\n',
    );
    const point = await h.point([
      { piece: "db-release", kind: "database", engine: "derby", file: path.join(derbyBackup, "release") },
      {
        piece: "db-home",
        kind: "database",
        engine: "db2",
        file: path.join(h.staging, "db-home"),
        backupTimestamp: "20261128020000",
      },
      {
        piece: "ldap",
        kind: "ldap",
        tool: "openldap",
        file: path.join(h.staging, "ldap", "directory.ldif"),
        entries: "2",
      },
      {
        piece: "remote-cms",
        kind: "remoteSource",
        engine: "command",
        snapshot: cms,
        file: "/dx-t/remote/cms-export.json",
      },
      { piece: "was", kind: "wasConfig", file: path.join(h.staging, "was", "wp_profile.zip") },
      { piece: "xmlaccess-export", kind: "xmlaccess", file: path.join(h.staging, "xmlaccess-export", "x.xml") },
    ]);

    const { value: code, stderr } = await h.drill(point, "5%");
    const status = h.status();
    expect(code, JSON.stringify(status)).to.equal(0);
    expect(stderr).to.equal(`dx-backup: drill of ${point.runId} verified\n`);
    expect(status).to.deep.include({
      recoveryPoint: point.runId,
      snapshot: point.filesSnapshot,
      result: "success",
      failedStep: null,
      message: null,
    });
    expect(status.drill).to.match(/^drill-\d{8}T\d{6}Z$/);
    expect(status.checks).to.deep.equal([
      "restic check --read-data-subset 5%: no errors",
      `restored snapshot ${point.filesSnapshot} and verified every file against it`,
      "the restored IIM state matches the levels recorded in the recovery point",
      // No db2ckbkp on this machine's PATH (the fake one is tested with the agent installed).
      "db-home: the DB2 image taken at 20261128020000 is present (db2ckbkp is not installed here to check it)",
      "db-release: the Derby backup restores into a throwaway database",
      "ldap: the LDIF holds all 2 entries",
      "remote-cms: the streamed export reads back in full",
      "was: the backupConfig archive reads back whole (5 entries, the cell configuration among them)",
      "xmlaccess-export: the XMLAccess export is well-formed XML and complete",
    ]);
    // Key order as bash wrote it.
    expect(Object.keys(status)).to.deep.equal([
      "drill",
      "recoveryPoint",
      "snapshot",
      "start",
      "end",
      "result",
      "failedStep",
      "message",
      "checks",
    ]);
    verifiedAt = Number(readFileSync(h.ctx.state.lastVerified, "utf8").trim());
    expect(verifiedAt).to.be.closeTo(Date.now() / 1000, 120);
    expect(h.metrics()).to.include(
      `dxbackup_last_verified_timestamp_seconds{policy="dx-t",host="portal-1"} ${verifiedAt}`,
    );
    expect(h.metrics()).to.include('dxbackup_last_drill_result{policy="dx-t",host="portal-1",result="success"} 1');
    expect(existsSync(h.ctx.state.drill), "the scratch directory is removed").to.equal(false);
    // Derby's own log lands in the state directory.
    expect(existsSync(path.join(h.ctx.state.dir, "derby.log"))).to.equal(true);
    expect(h.log.lines.filter((l) => l.event === "drill-check").map((l) => l.message)).to.deep.equal(status.checks);
    expect(h.log.lines.some((l) => l.level === "error")).to.equal(false);

    // The status verb shows it.
    const shown = JSON.parse(statusCommand(h.ctx)) as { lastRun: object; lastDrill: DrillStatus };
    expect(shown.lastRun).to.deep.equal({});
    expect(shown.lastDrill).to.deep.equal(status);
  });

  it("fails every piece that does not hold up, reports the first failure, and keeps the last verified time", async () => {
    h.log.lines = [];
    const garbage = await h.stream("/dx-t/db-dam.pgdump", "this is not a PostgreSQL custom-format dump");
    mkdirSync(path.join(h.staging, "bad-derby", "release"), { recursive: true });
    h.stage("bad-derby/release/service.properties", "not a Derby backup\n");
    h.stage("empty/HOME.0.db2inst1", "");
    h.stage("ldap3/directory.ldif", "dn: dc=example,dc=com\n\ndn: cn=admin,dc=example,dc=com\n");
    h.stage("xa/x.xml", '<request><status element="all" result="failed"/></request>\n');
    const point = await h.point(
      [
        { piece: "db-dam", kind: "database", engine: "postgresql", snapshot: garbage, file: "/dx-t/db-dam.pgdump" },
        { piece: "db-home", kind: "database", engine: "db2", file: path.join(h.staging, "empty") },
        {
          piece: "db-release",
          kind: "database",
          engine: "derby",
          file: path.join(h.staging, "bad-derby", "release"),
        },
        { piece: "escape", kind: "wasConfig", file: "/../../../../../../etc/hostname" },
        { piece: "gone", kind: "wasConfig", file: path.join(h.staging, "never-staged.zip") },
        { piece: "junk-zip", kind: "wasConfig", file: h.stage("junk/wp_profile.zip", "PK but not a zip") },
        // A symbolic link in the snapshot is data: the drill reads no file it points to.
        { piece: "linked-zip", kind: "wasConfig", file: h.link("linked/wp_profile.zip", h.stageZip("real/wp.zip")) },
        {
          piece: "ldap",
          kind: "ldap",
          tool: "openldap",
          file: path.join(h.staging, "ldap3", "directory.ldif"),
          entries: "3",
        },
        { piece: "remote-cms", kind: "remoteSource", engine: "command", snapshot: "deadbeef", file: "/dx-t/x.json" },
        { piece: "xmlaccess-export", kind: "xmlaccess", file: path.join(h.staging, "xa", "x.xml") },
      ],
      "com.ibm.websphere.ND.v90\t9.0.5.20230101_0000\toffering\n",
    );
    const { value: code, stderr } = await h.drill(point);
    const status = h.status();
    expect(code).to.equal(1);
    expect(status).to.deep.include({
      result: "failed",
      failedStep: "iim",
      message: "the restored IIM installed.xml does not match the recorded IIM levels",
    });
    expect(stderr).to.include(
      `dx-backup: DRILL of ${point.runId} FAILED at step iim: the restored IIM installed.xml does not match the recorded IIM levels\n`,
    );
    expect(status.checks).to.deep.equal([
      "restic check --read-data-subset 100%: no errors",
      `restored snapshot ${point.filesSnapshot} and verified every file against it`,
    ]);
    const failures = Object.fromEntries(
      h.log.lines.filter((l) => l.event === "drill-failed" && l.fields.step).map((l) => [l.fields.step, l.message]),
    );
    expect(Object.keys(failures)).to.deep.equal([
      "iim",
      "piece:db-dam",
      "piece:db-home",
      "piece:db-release",
      "piece:escape",
      "piece:gone",
      "piece:junk-zip",
      "piece:ldap",
      "piece:linked-zip",
      "piece:remote-cms",
      "piece:xmlaccess-export",
    ]);
    expect(failures["piece:db-dam"]).to.match(
      /^drill step piece:db-dam failed: pg_restore cannot read the dump \/dx-t\/db-dam\.pgdump \(.*pg_restore.*\)$/,
    );
    expect(failures["piece:db-home"]).to.equal(
      "drill step piece:db-home failed: the DB2 image taken at (no timestamp) is missing from the recovery point",
    );
    expect(failures["piece:linked-zip"]).to.match(/linked\/wp_profile\.zip is not a regular file$/);
    expect(failures["piece:junk-zip"]).to.match(
      /junk\/wp_profile\.zip is not a readable ZIP archive: End of central directory record signature not found/,
    );
    expect(failures["piece:db-release"]).to.match(
      /^drill step piece:db-release failed: Derby cannot restore the backup: ERROR [0-9A-Z]{5}/,
    );
    expect(failures["piece:escape"]).to.equal(
      "drill step piece:escape failed: /../../../../../../etc/hostname is missing from the recovery point",
    );
    expect(failures["piece:gone"]).to.match(/never-staged\.zip is missing from the recovery point$/);
    expect(failures["piece:ldap"]).to.equal(
      "drill step piece:ldap failed: the LDIF has 2 entries, the export recorded 3",
    );
    expect(failures["piece:remote-cms"]).to.equal(
      "drill step piece:remote-cms failed: restic cannot read /dx-t/x.json",
    );
    expect(failures["piece:xmlaccess-export"]).to.match(/x\.xml is not a successful XMLAccess export$/);
    // The earlier verification stands; this drill failed.
    expect(readFileSync(h.ctx.state.lastVerified, "utf8").trim()).to.equal(String(verifiedAt));
    expect(h.metrics()).to.include(
      `dxbackup_last_verified_timestamp_seconds{policy="dx-t",host="portal-1"} ${verifiedAt}`,
    );
    expect(h.metrics()).to.include('dxbackup_last_drill_result{policy="dx-t",host="portal-1",result="failed"} 1');
    expect(h.metrics()).to.include('dxbackup_last_drill_result{policy="dx-t",host="portal-1",result="success"} 0');
    expect(existsSync(h.ctx.state.drill)).to.equal(false);
  });

  it("fails at the restore when the snapshot cannot be restored, checking nothing after it", async () => {
    const { value: code } = await h.drill({ runId: "20261128T020000Z-000000", filesSnapshot: "0123abcd" });
    expect(code).to.equal(1);
    const status = h.status();
    expect(status.failedStep).to.equal("restore");
    expect(status.message).to.match(/^the restore of 0123abcd failed: /);
    expect(status.checks).to.have.length(1);
  });

  it("fails when the snapshot holds no recovery-point record", async () => {
    const r = await h.ctx.restic.backup(["--host", "portal-1", h.portal]);
    const { value: code } = await h.drill({ runId: "x", filesSnapshot: r.summary!.snapshotId });
    expect(code).to.equal(1);
    expect(h.status()).to.deep.include({
      failedStep: "record",
      message: `snapshot ${r.summary!.snapshotId} holds no recovery-point record this agent can read`,
    });
  });

  it("a recovery point that cannot be found is the operator's mistake: no status, the scratch removed", async () => {
    const before = readFileSync(h.ctx.state.drillStatus, "utf8");
    let error: unknown;
    await runDrill(h.ctx, {
      spec: "20261128T020000Z-ffffff",
      subset: "5%",
      resolve: () =>
        Promise.reject(new UsageError("no recovery point matches '20261128T020000Z-ffffff' on host portal-1")),
    }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(UsageError);
    expect(readFileSync(h.ctx.state.drillStatus, "utf8")).to.equal(before);
    expect(existsSync(h.ctx.state.drill)).to.equal(false);
  });

  it("a repository that cannot be read while resolving is a failed drill, recorded", async () => {
    const { value: code, stderr } = await stderrOf(() =>
      runDrill(h.ctx, {
        spec: "latest",
        subset: "5%",
        resolve: () =>
          Promise.reject(new StepError("snapshots", "restic snapshots failed (exit 1): Fatal: unable to open")),
      }),
    );
    expect(code).to.equal(1);
    expect(h.status()).to.deep.include({
      recoveryPoint: "",
      result: "failed",
      failedStep: "snapshots",
      message: "restic snapshots failed (exit 1): Fatal: unable to open",
      checks: [],
    });
    expect(stderr).to.include("FAILED at step snapshots: restic snapshots failed");
  });

  it("is not started while a run holds the lock (exit 75), and refuses a read-data-subset restic would not take", async () => {
    const holder = spawn("flock", ["-n", h.ctx.state.lock, "sleep", "60"], { stdio: "ignore" });
    try {
      // Until flock holds it.
      for (let i = 0; i < 100 && spawnSync("flock", ["-n", h.ctx.state.lock, "true"]).status === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      const { value: code, stderr } = await stderrOf(() => drillCommand(h.ctx, { spec: "latest" }));
      expect(code).to.equal(75);
      expect(stderr).to.equal(`dx-backup: drill not started: a run holds ${h.ctx.state.lock}\n`);
    } finally {
      holder.kill();
    }
    let error: unknown;
    await drillCommand(h.ctx, { spec: "latest", readDataSubset: "lots" }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(UsageError);
  });

  it("keeps the first failure and never reports success after one", () => {
    const c = new DrillChecks(h.ctx);
    expect(c.result).to.equal("success");
    c.ok("one");
    c.fail("check", "first");
    c.ok("two");
    c.fail("restore", "second");
    expect(c.result).to.equal("failed");
    expect([c.failedStep, c.message]).to.deep.equal(["check", "first"]);
    expect(c.checks).to.deep.equal(["one", "two"]);
  });
});

describe("agent drill on a damaged repository", function () {
  this.timeout(120000);
  let h: DrillHost;
  before(async () => {
    h = new DrillHost();
    await h.init();
  });
  after(() => h.remove());

  it("fails loudly at the check and records the failure", async () => {
    const point = await h.point([]);
    // Flip bytes in the middle of every pack file.
    const data = path.join(h.ctx.config.repository.url, "data");
    for (const sub of readdirSync(data))
      for (const pack of readdirSync(path.join(data, sub))) {
        const file = path.join(data, sub, pack);
        const bytes = readFileSync(file);
        for (let i = Math.floor(bytes.length / 2); i < Math.min(bytes.length, Math.floor(bytes.length / 2) + 64); i++)
          bytes[i] ^= 0xff;
        chmodSync(file, 0o644);
        writeFileSync(file, bytes);
      }
    const { value: code, stderr } = await h.drill(point, "100%");
    expect(code).to.equal(1);
    expect(stderr).to.match(/DRILL of \S+ FAILED at step check: restic check found errors/);
    const status = h.status();
    expect(status).to.deep.include({ result: "failed", failedStep: "check", checks: [] });
    expect(h.metrics()).to.include('dxbackup_last_drill_result{policy="dx-t",host="portal-1",result="failed"} 1');
    expect(h.metrics()).to.include('dxbackup_last_verified_timestamp_seconds{policy="dx-t",host="portal-1"} 0');
    expect(existsSync(h.ctx.state.lastVerified)).to.equal(false);
  });
});

describe("agent drill through its verb", function () {
  this.timeout(120000);
  let h: DrillHost;
  before(async () => {
    h = new DrillHost();
    await h.init();
  });
  after(() => h.remove());

  it("finds the latest recovery point, verifies it under the run lock and records it", async () => {
    const point = await h.point([]);
    const { value: code, stderr } = await stderrOf(() => drillCommand(h.ctx, { spec: "latest" }));
    expect(code, stderr).to.equal(0);
    const status = h.status();
    expect(status.recoveryPoint).to.equal(point.runId);
    expect(status.snapshot.startsWith(point.filesSnapshot)).to.equal(true);
    expect(status.checks[0]).to.equal("restic check --read-data-subset 5%: no errors");
    expect(stderr).to.equal(`dx-backup: drill of ${point.runId} verified\n`);
  });
});

import { expect } from "chai";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compareRestored } from "../../cli/local/compareTrees";
import { FAKE_IBM_TOOLS, installedXml } from "../../cli/local/portalTree";
import type { StackConfig } from "../../components/policy/load";
import { targetPaths } from "../../components/policy/targets";
import { TARGETS } from "../../components/policy/schema";
import { DerbyNetworkServer, ij, LdapServer, PostgresServer } from "../support/databases";
import { LocalPortalHost } from "../support/localHost";
import { pgrep, waitFor, writeBulk } from "../support/processes";

/**
 * Restores that cannot make things worse, for real: restic, s3rver, sshd,
 * PostgreSQL, OpenLDAP, Derby. DB2, sqlcmd and the WAS scripts are the
 * recording fakes of test/fakes/ibm-tools.
 */
describe("restore, the fix-pack guard, undo and drills (real restic, PostgreSQL, OpenLDAP, Derby; IBM tools faked)", function () {
  this.timeout(600_000);
  const host = new LocalPortalHost();
  const dbRoot = mkdtempSync(path.join(tmpdir(), "dxb-rs-"));
  chmodSync(dbRoot, 0o755);
  const pg = new PostgresServer(path.join(dbRoot, "pg"));
  const ldap = new LdapServer(path.join(dbRoot, "ldap"));
  // Online, Derby is backed up through the network server Portal shares (an embedded database is a config error).
  const derby = new DerbyNetworkServer(path.join(dbRoot, "derby"));
  const derbyDb = path.join(dbRoot, "derby", "wps6");
  const fakeLog = path.join(dbRoot, "fake-calls.log");
  const env = { DXB_FAKE_LOG: fakeLog };
  let config: StackConfig;

  const sources = () => {
    const { host: h } = host.policy(config);
    return [...new Set(TARGETS.flatMap((t) => targetPaths(h, t)))];
  };
  /** A byte-for-byte copy of every backed-up path, for comparing with later. */
  function reference(name: string): string {
    const ref = path.join(dbRoot, name);
    rmSync(ref, { recursive: true, force: true });
    mkdirSync(ref);
    // tar keeps modes, owners and symlinks, and takes any file name (the hostile one included).
    execFileSync("bash", [
      "-c",
      'tar -C / --numeric-owner -cf - "${@#/}" | tar -C "$0" --numeric-owner -xpf -',
      ref,
      ...sources(),
    ]);
    return ref;
  }
  /** restic restoring files in place: into a directory beside the roots (agent/restore/beside.ts). */
  const RESTIC_RESTORE_BESIDE = "restic .*restore [0-9a-f]+ --target \\S+/\\.dxbackup-restore-";
  /** Once restic has recreated a root beside it (the originals moved aside), it is writing files. */
  const writingBeside = () => {
    const parent = path.dirname(host.layout.portalServer);
    return readdirSync(parent)
      .filter((n) => n.startsWith(".dxbackup-restore-"))
      .some((n) =>
        [host.layout.portalServer, host.layout.appServer].some((root) => existsSync(path.join(parent, n) + root)),
      );
  };
  /** The installed agent, with the fake tools' environment extended by EXTRA. */
  const agentWith = (extra: NodeJS.ProcessEnv, ...args: string[]) => {
    const { host: h } = host.policy(config);
    return spawnSync(
      path.join(h.agent.installDir, "bin", "dxbackup-agent"),
      ["--config", path.join(h.agent.configDir, "agent.json"), ...args],
      { encoding: "utf8", env: { ...process.env, ...env, ...extra } },
    );
  };
  const agent = (...args: string[]) => agentWith({}, ...args);
  const derbyRows = () =>
    ij(`connect '${derby.url(derbyDb)}';\nselect id, body from feedback order by id;\nexit;\n`)
      .replace(/\s+/g, " ")
      .match(/ID \|BODY.*rows? selected/)?.[0];
  const damRows = () => pg.sql("SELECT count(*), md5(string_agg(id || name, ',' ORDER BY id)) FROM assets", "dam");

  before(async () => {
    await host.start();
    await pg.start();
    pg.createOwnedDatabase("dam", "dam", "dam-pw", "CREATE TABLE assets (id int PRIMARY KEY, name text)");
    pg.sql("INSERT INTO assets SELECT g, 'asset ' || g FROM generate_series(1, 2000) g", "dam");
    await ldap.start();
    await derby.start();
    mkdirSync(path.join(dbRoot, "mssql-share"));
    symlinkSync(path.join(dbRoot, "mssql-share"), path.join(dbRoot, "mssql-view"));
    ldap.seed(["wpsadmin"]);
    ij(
      `connect '${derby.url(derbyDb)};create=true';\ncreate table feedback(id int, body varchar(100));\ninsert into feedback values (1, 'great'), (2, 'slow');\nexit;\n`,
    );
    config = host.config({
      environment: "rs",
      schedules: [
        { name: "nightly", cron: "0 2 * * *", mode: "online" },
        { name: "drill", kind: "drill", cron: "0 10 * * 3" },
      ],
      host: {
        xmlaccess: { url: "http://localhost:10039/wps/config", user: "wpsadmin", passwordSecret: "wpsPassword" },
      },
      keys: {
        databases: [
          { domain: "release", host: "portal-1", derby: { url: derby.url(derbyDb) } },
          {
            domain: "customization",
            host: "portal-1",
            db2: { database: "CUSTDB", archiveLogging: true, command: path.join(FAKE_IBM_TOOLS, "db2") },
          },
          {
            domain: "community",
            host: "portal-1",
            sqlserver: {
              server: "localhost",
              database: "COMMDB",
              user: "sa",
              passwordSecret: "sqlPassword",
              // A share SQL Server mounts elsewhere: its own view is a symlink to the agent's.
              backupDir: path.join(dbRoot, "mssql-share"),
              serverBackupDir: path.join(dbRoot, "mssql-view"),
              command: path.join(FAKE_IBM_TOOLS, "sqlcmd"),
            },
          },
          {
            domain: "dam",
            host: "portal-1",
            postgresql: {
              host: "127.0.0.1",
              port: pg.port,
              database: "dam",
              user: "dam",
              passwordSecret: "damPassword",
            },
          },
        ],
        ldap: { host: "portal-1", openldap: { suffix: ldap.suffix, configFile: ldap.config } },
      },
      secrets: { damPassword: "dam-pw", sqlPassword: "sql-pw", wpsPassword: "wps-pw" },
    });
    await host.install(config);
  });

  after(async () => {
    await Promise.all([pg.stop(), ldap.stop(), derby.stop()]);
    await host.stop();
    rmSync(dbRoot, { recursive: true, force: true });
  });

  it("restores a whole recovery point in place: files byte for byte, databases row for row, the directory entry for entry", async () => {
    const { job, status } = await host.runSchedule(config, "nightly", env);
    expect(job.code, JSON.stringify(status)).to.equal(0);
    const run = status.runId as string;
    const ref = reference("before-changes");
    const beforeDam = damRows();
    const beforeDerby = derbyRows();
    const beforeLdap = LdapServer.entries(
      execFileSync("slapcat", ["-f", ldap.config, "-b", ldap.suffix], { encoding: "utf8" }),
    );

    // Damage: files changed, removed, added and re-moded; rows deleted and changed; a user deleted.
    const l = host.layout;
    writeFileSync(path.join(l.wpProfile, "config/cells/dxCell/resources.xml"), "<broken/>");
    unlinkSync(path.join(l.portalServer, "base/wp.base/shared/app/wp.base.jar"));
    writeFileSync(path.join(l.appServer, "lib/intruder.jar"), "x");
    chmodSync(path.join(l.ssl, "keystore.p12"), 0o644);
    pg.sql("DELETE FROM assets WHERE id > 1000; UPDATE assets SET name = 'changed'", "dam");
    // Through the server, which keeps the database booted: the restore must shut it down or Derby ignores restoreFrom.
    ij(`connect '${derby.url(derbyDb)}';\ndelete from feedback;\nexit;\n`);
    ldap.modify(`dn: uid=wpsadmin,${ldap.suffix}\nchangetype: delete\n`, false);
    expect(damRows()).to.not.equal(beforeDam);

    // The directory is loaded into an empty database with slapd stopped, as the runbook says.
    await ldap.stop();
    renameSync(path.join(ldap.dir, "data"), path.join(ldap.dir, "data.old"));
    mkdirSync(path.join(ldap.dir, "data"));
    rmSync(fakeLog, { force: true });

    const r = agent("restore", run, "--in-place", "--stop-servers", "--yes");
    expect(r.status, r.stdout + r.stderr).to.equal(0);

    expect(compareRestored(sources(), ref, host.policy(config).host.excludes).differences).to.deep.equal([]);
    expect(damRows()).to.equal(beforeDam);
    expect(derbyRows()).to.equal(beforeDerby);
    expect(
      LdapServer.entries(execFileSync("slapcat", ["-f", ldap.config, "-b", ldap.suffix], { encoding: "utf8" })),
    ).to.deep.equal(beforeLdap);
    await ldap.start();

    // DB2 (fake, with no archived logs, as on a lost database server): deactivated, restored with the
    // image's logs extracted beside it, rolled forward to the end of the backup with those logs.
    const calls = readFileSync(fakeLog, "utf8").trim().split("\n");
    const db2 = calls.filter((c) => /^db2 (deactivate|restore|rollforward)/.test(c));
    expect(db2).to.have.length(3);
    expect(db2[0]).to.equal("db2 deactivate database CUSTDB");
    const image =
      /^db2 restore database CUSTDB from (\/\S+\/staging\/db-customization) taken at \d{14} logtarget (\S+) replace existing without prompting$/.exec(
        db2[1],
      );
    expect(image, db2[1]).to.not.equal(null);
    expect(image![2]).to.equal(`${image![1]}.logs`);
    expect(db2[2]).to.equal(
      `db2 rollforward database CUSTDB to end of backup and complete overflow log path \\(${image![2]}\\)`,
    );
    expect(calls).to.satisfy((cs: string[]) =>
      cs.some((c) => /^restoreConfig\.sh \S+\/staging\/wasconfig-wpProfile\/wpProfile\.zip -nostop$/.test(c)),
    );
    // SQL Server and XMLAccess are left to their administrators, with the commands written out.
    // The backup SQL Server took of COMMDB, copied to the share, and named as the instance sees it.
    const share = path.join(dbRoot, "mssql-share", "COMMDB.restore.bak");
    expect(readFileSync(share, "utf8")).to.equal("fake SQL Server backup\n");
    expect(r.stdout).to.include(`the backup was copied for SQL Server to ${share} on this host`);
    const view = path.join(dbRoot, "mssql-view", "COMMDB.restore.bak");
    const verify = new RegExp(
      `(\\S+sqlcmd -S localhost -U sa -b) -Q "(RESTORE VERIFYONLY FROM DISK = N'${view}' WITH CHECKSUM)"`,
    ).exec(r.stdout);
    expect(verify, r.stdout).to.not.equal(null);
    expect(r.stdout).to.include(`RESTORE DATABASE [COMMDB] FROM DISK = N'${view}' WITH REPLACE, CHECKSUM`);
    // The instance reads it there: the printed VERIFYONLY passes (the fake checks the file is there).
    expect(
      spawnSync(FAKE_IBM_TOOLS + "/sqlcmd", ["-S", "localhost", "-Q", verify![2]], {
        encoding: "utf8",
        env: { ...process.env, ...env },
      }).stdout,
    ).to.include("The backup set on file 1 is valid.");
    expect(r.stdout).to.match(/xmlaccess-base: an XMLAccess export restores single applications/);
    // The files that were replaced are kept for undo.
    expect(agent("undo", "--list").stdout.trim().split("\n")).to.have.length(1);
  });

  it("restores into an empty directory by default and never touches the live system", () => {
    const target = path.join(dbRoot, "scratch");
    const before = readFileSync(path.join(host.layout.wpProfile, "config/cells/dxCell/security.xml"), "utf8");
    const r = agent("restore", "latest", "--target", target, "--piece", "target:wpProfile", "--piece", "db-dam");
    expect(r.status, r.stderr).to.equal(0);
    expect(readFileSync(path.join(target, host.layout.wpProfile, "config/cells/dxCell/security.xml"), "utf8")).to.equal(
      before,
    );
    expect(existsSync(path.join(target, host.layout.portalServer))).to.equal(false);
    expect(
      readFileSync(path.join(target, "dx-rs", "dam.pgdump"))
        .subarray(0, 5)
        .toString(),
    ).to.equal("PGDMP");
    const refused = agent("restore", "latest");
    expect(refused.status).to.equal(64);
    expect(refused.stderr).to.match(/needs --target DIR \(an empty directory\), or --in-place/);
  });

  describe("the fix-pack guard", () => {
    const installed = () => path.join(host.layout.iimAgentData, "installed.xml");

    it("refuses a Portal-files-only restore after a fix pack, naming both levels and the two safe choices", async () => {
      const { status } = await host.runSchedule(config, "nightly", env);
      const run = status.runId as string;
      // A fix pack is installed after the backup: IIM now records CF222.
      writeFileSync(installed(), installedXml(host.layout, "9.5.0.CF222"));
      writeFileSync(path.join(host.layout.portalServer, "base/fixpack-CF222.txt"), "new level\n");
      const ref = reference("after-fixpack");

      const r = agent("restore", run, "--in-place", "--piece", "target:portalServer", "--yes");
      expect(r.status).to.equal(2);
      expect(r.stderr).to.include("REFUSED: a fix pack changed IBM Installation Manager since recovery point");
      expect(r.stderr).to.include("com.hcl.dx.cf95: 9.5.0.CF221 in the recovery point, 9.5.0.CF222 installed now");
      expect(r.stderr).to.match(
        /1\. restore the Portal file systems and all three IIM directories together from this recovery point:\n\s+\S+ --config \S+ restore \S+ --in-place --piece files/,
      );
      expect(r.stderr).to.match(/2\. or pick a recovery point taken after the fix pack/);
      expect(r.stderr).to.include("--leave-portal-and-iim-at-different-levels");
      // Nothing was touched.
      expect(compareRestored(sources(), ref, host.policy(config).host.excludes).differences).to.deep.equal([]);

      // Portal files and IIM together, from the same recovery point: allowed, and both go back to CF221.
      const both = agent("restore", run, "--in-place", "--piece", "files", "--yes");
      expect(both.status, both.stderr).to.equal(0);
      expect(readFileSync(installed(), "utf8")).to.include("9.5.0.CF221");
      expect(existsSync(path.join(host.layout.portalServer, "base/fixpack-CF222.txt"))).to.equal(false);
    });
  });

  it("an in-place restore killed half-way is undone: every file as it was before the restore", async () => {
    const bulk = path.join(host.layout.portalServer, "base", "bulk");
    writeBulk(bulk, 16);
    const { status } = await host.runSchedule(config, "nightly", env);
    appendFileSync(path.join(host.layout.portalServer, "base/content/ünïcödé-名前.txt"), "changed after the backup\n");
    const ref = reference("before-restore");
    const undoBefore = agent("undo", "--list").stdout.trim().split("\n").filter(Boolean);

    const { host: h } = host.policy(config);
    const child = execFileSync("bash", [
      "-c",
      `setsid ${JSON.stringify(path.join(h.agent.installDir, "bin", "dxbackup-agent"))} --config ${JSON.stringify(path.join(h.agent.configDir, "agent.json"))} restore ${status.runId} --in-place --piece files --yes >/dev/null 2>&1 & echo $!`,
    ]).toString();
    const pid = Number(child.trim());
    // Wait for the restore beside the roots (not the first, small restore of the recovery-point record).
    const parent = path.dirname(host.layout.portalServer);
    await waitFor(
      "restic restore beside the roots",
      () => pgrep("-s", String(pid), "-f", RESTIC_RESTORE_BESIDE).length > 0,
    );
    await waitFor("restic restore writing", writingBeside);
    // Nothing half-restored in the live paths: they are moved aside, and nothing stands there yet.
    expect(existsSync(host.layout.portalServer) || existsSync(host.layout.appServer)).to.equal(false);
    await new Promise((res) => setTimeout(res, 200));
    process.kill(-pid, "SIGKILL");
    await new Promise((res) => setTimeout(res, 300));

    const stamps = agent("undo", "--list")
      .stdout.trim()
      .split("\n")
      .filter((s) => s && !undoBefore.includes(s));
    expect(stamps).to.have.length(1);
    const undo = agent("undo", stamps[0]);
    expect(undo.status, undo.stderr).to.equal(0);
    // Exactly as before, logs and temp files included (no excludes: undo is not a restore).
    expect(compareRestored(sources(), ref, []).differences).to.deep.equal([]);
    // The half-restored copy beside them (root's own, never live) is gone with the undo.
    expect(readdirSync(parent).filter((n) => n.startsWith(".dxbackup-"))).to.deep.equal([]);
    rmSync(bulk, { recursive: true });
  });

  describe("restores that cannot lie: a failed step fails the restore, names the piece and the step, and claims nothing", () => {
    let run = "";
    /** A process whose command line names the Portal profile, as a running Portal's java does. */
    let server: ReturnType<typeof spawn> | undefined;
    const startFakeServer = () => {
      server = spawn(
        "bash",
        ["-c", `exec -a "java -Dwas.profile=${host.layout.wpProfile} WebSphere_Portal" sleep 600`],
        {
          stdio: "ignore",
        },
      );
    };
    /** The fake WAS scripts' stop and start calls (they record into DXB_FAKE_LOG). */
    const serverCalls = () =>
      (existsSync(fakeLog) ? readFileSync(fakeLog, "utf8") : "")
        .split("\n")
        .filter((l) => /^(stop|start)Server/.test(l));
    const failedHonestly = (r: ReturnType<typeof agent>, piece: string, step: RegExp) => {
      const out = r.stdout + r.stderr;
      expect(r.status, out).to.equal(1);
      expect(out).to.include(piece);
      expect(out, out).to.match(step);
      expect(out).to.not.match(/restored \S+ in place|nothing on this host was changed/);
    };
    before(async () => {
      const { job, status } = await host.runSchedule(config, "nightly", env);
      expect(job.code, JSON.stringify(status)).to.equal(0);
      run = status.runId as string;
    });
    afterEach(() => {
      server?.kill("SIGKILL");
      server = undefined;
      rmSync(path.join(host.layout.wpProfile, "bin", "fail-restoreConfig.sh"), { force: true });
    });

    it("restic restore failing half-way: servers left stopped, the undo command printed, and undo puts everything back", async () => {
      // Enough data that restic is surely still writing when it dies.
      const bulk = path.join(host.layout.portalServer, "base", "bulk");
      writeBulk(bulk, 16);
      const { status } = await host.runSchedule(config, "nightly", env);
      const ref = reference("before-failed-restore");
      startFakeServer();
      rmSync(fakeLog, { force: true });
      const { host: h } = host.policy(config);
      const child = spawn(
        path.join(h.agent.installDir, "bin", "dxbackup-agent"),
        [
          "--config",
          path.join(h.agent.configDir, "agent.json"),
          "restore",
          String(status.runId),
          "--in-place",
          "--piece",
          "files",
          "--stop-servers",
          "--yes",
        ],
        { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      // restic dies while writing the files into / (as on an OOM kill): only restic, not the agent.
      const restic = () => pgrep("-P", String(child.pid), "-f", RESTIC_RESTORE_BESIDE);
      await waitFor("restic restore writing beside the roots", () => restic().length > 0 && writingBeside());
      spawnSync("kill", ["-KILL", ...restic()]);
      const code = await exited;
      failedHonestly({ status: code, stdout: out, stderr: "" } as ReturnType<typeof agent>, "files", /restic restore/);
      // Portal is never started on half-restored files.
      expect(serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal"]);
      const stamp = /undo (\d{8}T\d{6}Z\S*?)[`"\s]/.exec(out)?.[1];
      expect(stamp, out).to.be.a("string");
      const undo = agent("undo", stamp!);
      expect(undo.status, undo.stderr).to.equal(0);
      expect(compareRestored(sources(), ref, []).differences).to.deep.equal([]);
      rmSync(bulk, { recursive: true });
    });

    it("pg_restore failing (the database is missing) fails the restore at pg_restore", () => {
      pg.sql("DROP DATABASE dam");
      try {
        const r = agent("restore", run, "--in-place", "--piece", "db-dam", "--yes");
        failedHonestly(r, "db-dam", /pg_restore/);
      } finally {
        pg.sql("CREATE DATABASE dam OWNER dam");
      }
      // Once the database exists again, the same restore succeeds, row for row.
      const again = agent("restore", run, "--in-place", "--piece", "db-dam", "--yes");
      expect(again.status, again.stdout + again.stderr).to.equal(0);
      expect(pg.sql("SELECT count(*) FROM assets", "dam").trim()).to.equal("2000");
    });

    describe("DB2", () => {
      /** The in-place restore of the DB2 piece, with the fake tools' environment extended by EXTRA. */
      const restoreDb2 = (extra: NodeJS.ProcessEnv, ...more: string[]) => {
        rmSync(fakeLog, { force: true });
        return agentWith(extra, "restore", run, "--in-place", "--piece", "db-customization", "--yes", ...more);
      };
      const db2Calls = () => (existsSync(fakeLog) ? readFileSync(fakeLog, "utf8") : "");

      for (const [command, other] of [
        ["restore", "rollforward"],
        ["rollforward", "restore"],
      ]) {
        it(`${command} failing fails the restore at ${command}${command === "restore" ? ", and nothing rolls forward" : ""}`, () => {
          const r = restoreDb2({ DXB_FAKE_FAIL: `db2:${command}` });
          failedHonestly(r, "db-customization", new RegExp(command));
          if (command === "restore") expect(db2Calls()).to.not.include(`db2 ${other}`);
          else expect(db2Calls()).to.include(`db2 ${other} database CUSTDB`);
        });
      }

      it("applications still connected: fails at deactivate, says how to find and end them, restores nothing", () => {
        const r = restoreDb2({ DXB_FAKE_DB2_CONNECTED: "1" });
        failedHonestly(r, "db-customization", /failed at deactivate: applications are still connected to CUSTDB/);
        expect(r.stderr + r.stdout).to.include("db2 list applications for database CUSTDB");
        expect(db2Calls()).to.include("db2 deactivate database CUSTDB");
        expect(db2Calls()).to.not.include("db2 restore");
      });

      it("a database that does not exist yet (a rebuilt server): deactivate's SQL1013N is no failure, the restore creates it", () => {
        const r = restoreDb2({ DXB_FAKE_DB2_MISSING: "1" });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(db2Calls()).to.match(/^db2 restore database CUSTDB /m);
        expect(db2Calls()).to.match(/^db2 rollforward database CUSTDB to end of backup /m);
      });

      it("deactivate failing otherwise fails the restore at deactivate, before anything is restored", () => {
        const r = restoreDb2({ DXB_FAKE_FAIL: "db2:deactivate" });
        failedHonestly(
          r,
          "db-customization",
          /failed at deactivate: db2 deactivate database CUSTDB failed \(exit 4\): SQL2062N/,
        );
        expect(db2Calls()).to.not.include("db2 restore");
      });

      describe("--until", () => {
        const archive = path.join(dbRoot, "db2-archive");
        before(() => {
          mkdirSync(archive, { recursive: true });
          writeFileSync(path.join(archive, "S0000043.LOG"), "fake DB2 log written after the backup\n");
        });

        it("rolls forward through the archived logs to that time", () => {
          const r = restoreDb2({ DXB_FAKE_DB2_ARCHIVE: archive }, "--until", "2099-01-02 03:04:05");
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(db2Calls()).to.match(
            /^db2 rollforward database CUSTDB to 2099-01-02-03\.04\.05 using local time and complete overflow log path \\\(\S+\/db-customization\.logs\\\)$/m,
          );
        });

        it("without the archived logs fails at rollforward and says how to stop at the end of the backup", () => {
          const r = restoreDb2({}, "--until", "2099-01-02 03:04:05");
          failedHonestly(r, "db-customization", /failed at rollforward: .*SQL1273N.*S0000043\.LOG/);
          expect(r.stdout + r.stderr).to.include("restore again without --until to stop at the end of the backup");
        });

        it("before the recovery point is refused before anything is stopped or restored", () => {
          const r = restoreDb2({}, "--until", "2001-01-01 00:00");
          expect(r.status, r.stdout + r.stderr).to.equal(64); // a usage error
          expect(r.stderr).to.match(
            /--until 2001-01-01\S* is before db-customization's backup began \(\S+\): .*choose an earlier recovery point/,
          );
          expect(db2Calls()).to.equal("");
        });

        it("is refused for a restore without a DB2 or Oracle piece", () => {
          const r = agent("restore", run, "--in-place", "--piece", "db-dam", "--yes", "--until", "2099-01-01");
          expect(r.status, r.stdout + r.stderr).to.equal(64);
          expect(r.stderr).to.match(/--until \S+ applies to DB2 and Oracle pieces, and this restore has none/);
        });

        it("is refused outside an in-place restore", () => {
          const r = agent("restore", run, "--target", path.join(dbRoot, "until-target"), "--until", "2099-01-01");
          expect(r.status, r.stdout + r.stderr).to.equal(64); // a usage error
          expect(r.stderr).to.match(/--until applies to an in-place restore of a database/);
        });
      });
    });

    it("Derby restoreFrom failing (the database directory cannot be created) fails the restore at the Derby restore", () => {
      // The database's parent is a file: Derby reports XBM0H and restores nothing.
      const parent = path.dirname(derbyDb);
      renameSync(parent, `${parent}.saved`);
      writeFileSync(parent, "not a directory\n");
      try {
        const r = agent("restore", run, "--in-place", "--piece", "db-release", "--stop-servers", "--yes");
        // Derby's answer depends on the step that first finds the directory gone (marking the live
        // database, or the restore itself): whichever it is fails the restore there.
        failedHonestly(r, "db-release", /failed at restoreFrom: Derby restore failed: ERROR [0-9A-Z]{5}/);
      } finally {
        rmSync(parent, { force: true });
        renameSync(`${parent}.saved`, parent);
      }
      expect(derbyRows()).to.match(/2 rows selected/);
    });

    it("slapadd failing (the directory is not empty) fails the restore at slapadd", () => {
      const r = agent("restore", run, "--in-place", "--piece", "ldap", "--yes");
      failedHonestly(r, "ldap", /slapadd/);
    });

    it("restoreConfig.sh failing fails the restore, and leaves the servers stopped", () => {
      writeFileSync(path.join(host.layout.wpProfile, "bin", "fail-restoreConfig.sh"), "ADMU5505E: restore failed\n");
      startFakeServer();
      rmSync(fakeLog, { force: true });
      const r = agent("restore", run, "--in-place", "--piece", "wasconfig-wpProfile", "--stop-servers", "--yes");
      failedHonestly(r, "wasconfig-wpProfile", /restoreConfig\.sh/);
      expect(serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal"]);
    });

    it("removes its work files (extracts, password files) after a failure as after a success", () => {
      const { host: h } = host.policy(config);
      const work = path.join(h.agent.stateDir, "restore");
      // The failing restores above worked there: the check below is of something.
      expect(existsSync(work)).to.equal(true);
      const leftovers = existsSync(work)
        ? execFileSync(
            "find",
            [work, "-type", "f", "(", "-name", "*pgpass*", "-o", "-name", "*.pgdump", "-o", "-name", "*.zip", ")"],
            {
              encoding: "utf8",
            },
          ).trim()
        : "";
      expect(leftovers).to.equal("");
    });
  });

  describe("drills", () => {
    it("a drill (here through its own schedule) verifies the latest recovery point and records it", async () => {
      const { job } = await host.runSchedule(config, "drill", env);
      const { host: h } = host.policy(config);
      const drill = JSON.parse(readFileSync(path.join(h.agent.stateDir, "drill-status.json"), "utf8"));
      expect(job.code, JSON.stringify(drill)).to.equal(0);
      expect(drill.result).to.equal("success");
      expect(drill.checks.join("\n")).to.match(/restic check --read-data-subset 5%: no errors/);
      expect(drill.checks.join("\n")).to.match(/verified every file against it/);
      expect(drill.checks.join("\n")).to.match(/restored IIM state matches the levels recorded/);
      expect(drill.checks.join("\n")).to.match(/db-dam: the PostgreSQL dump is complete and readable to its last row/);
      expect(drill.checks.join("\n")).to.match(/db-release: the Derby backup restores into a throwaway database/);
      expect(drill.checks.join("\n")).to.match(/ldap: the LDIF holds all 2 entries/);
      expect(drill.checks.join("\n")).to.match(/db-customization: the DB2 image taken at \d{14} passes db2ckbkp/);
      expect(drill.checks.join("\n")).to.match(
        /wasconfig-wpProfile: the backupConfig archive reads back whole \(\d+ entries, the cell configuration among them\)/,
      );
      expect(drill.checks.join("\n")).to.match(/xmlaccess-base: the XMLAccess export is well-formed XML and complete/);
      expect(readFileSync(fakeLog, "utf8")).to.match(
        /^db2ckbkp \S+\/db-customization\/CUSTDB\.0\.db2inst1\.DBPART000\.\d{14}\.001$/m,
      );
      // Derby's own log lands in the agent's state directory, not in whatever directory the run started from.
      expect(existsSync(path.join(h.agent.stateDir, "derby.log"))).to.equal(true);
      const metrics = readFileSync(path.join(h.agent.stateDir, "metrics", "dxbackup-dx-rs-drill.prom"), "utf8");
      expect(metrics).to.match(/dxbackup_last_verified_timestamp_seconds\{policy="dx-rs",host="portal-1"\} [1-9]\d+/);
      expect(JSON.parse(agent("status").stdout).lastDrill.result).to.equal("success");
    });

    it("a DB2 image that db2ckbkp finds damaged fails the drill at its piece", () => {
      const r = agentWith({ DXB_FAKE_FAIL: "db2ckbkp" }, "drill");
      expect(r.status, r.stdout + r.stderr).to.equal(1);
      expect(r.stderr).to.match(
        /DRILL of \S+ FAILED at step piece:db-customization: db2ckbkp finds the DB2 image taken at \d{14} damaged: ERROR! No DB2 backup was found/,
      );
    });

    it("a backupConfig archive that is not a ZIP, and an XMLAccess export cut off mid-document, fail the drill", async () => {
      // Both tools report success; only what they wrote is wrong.
      const { job, status } = await host.runSchedule(config, "nightly", {
        ...env,
        DXB_FAKE_BROKEN: "backupConfig.sh xmlaccess.sh",
      });
      expect(job.code, JSON.stringify(status)).to.equal(0);
      const r = agent("drill", status.runId as string);
      expect(r.status, r.stdout + r.stderr).to.equal(1);
      // The first failure is the one reported; every failure is logged (JSON lines on stdout off a terminal).
      expect(r.stderr).to.match(
        /DRILL of \S+ FAILED at step piece:wasconfig-wpProfile: \S+wpProfile\.zip is not a readable ZIP archive: End of central directory record signature not found/,
      );
      expect(r.stdout).to.match(/xmlaccess-base\S* is not an XMLAccess export: not well-formed XML: .*\(line \d+\)/);
    });

    it("a drill on a corrupted repository fails loudly and records the failure", async () => {
      const repos = path.join(dbRoot, "nfs");
      const fsConfig = host.config({
        environment: "corrupt",
        storage: { filesystem: { path: repos } },
        schedules: [{ name: "nightly", cron: "0 2 * * *" }],
      });
      await host.install(fsConfig);
      const { job } = await host.runSchedule(fsConfig, "nightly", env);
      expect(job.code).to.equal(0);
      // Flip bytes in the middle of every pack file.
      const data = path.join(repos, "dx-corrupt", "portal-1", "data");
      for (const dir of readdirSync(data)) {
        for (const pack of readdirSync(path.join(data, dir))) {
          const file = path.join(data, dir, pack);
          const bytes = readFileSync(file);
          for (let i = Math.floor(bytes.length / 2); i < Math.min(bytes.length, Math.floor(bytes.length / 2) + 64); i++)
            bytes[i] ^= 0xff;
          chmodSync(file, 0o644);
          writeFileSync(file, bytes);
        }
      }
      const r = host.agent(fsConfig, "drill", "--read-data-subset", "100%");
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(/DRILL of \S+ FAILED at step check: restic check found errors/);
      const { host: h } = host.policy(fsConfig);
      const drill = JSON.parse(readFileSync(path.join(h.agent.stateDir, "drill-status.json"), "utf8"));
      expect(drill).to.deep.include({ result: "failed", failedStep: "check" });
      const metrics = readFileSync(path.join(h.agent.stateDir, "metrics", "dxbackup-dx-corrupt-drill.prom"), "utf8");
      expect(metrics).to.include('dxbackup_last_drill_result{policy="dx-corrupt",host="portal-1",result="failed"} 1');
      expect(metrics).to.include('dxbackup_last_verified_timestamp_seconds{policy="dx-corrupt",host="portal-1"} 0');
      await host.uninstall(fsConfig);
    });
  });
});

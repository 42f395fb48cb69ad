import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { StackConfig } from "../../components/policy/load";
import { FAKE_IBM_TOOLS } from "../../cli/local/portalTree";
import { DerbyNetworkServer, ij, LdapServer, PostgresServer } from "../support/databases";
import { LocalPortalHost } from "../support/localHost";
import { testUser } from "../support/osUser";
import { oracleTime } from "../../agent/restore/operator";
import { hostRepositoryPassword } from "../../shared/hostKeys";

const FAKES = path.join(__dirname, "..", "fakes");

/**
 * One recovery point for everything Portal keeps. PostgreSQL (DAM), Derby
 * and OpenLDAP are real; DB2, RMAN, sqlcmd, backupConfig.sh and xmlaccess.sh
 * are the recording fakes in test/fakes/ibm-tools, because they cannot be
 * installed here.
 */
describe("one recovery point: databases, LDAP, WAS config and XMLAccess with the files (real PostgreSQL, OpenLDAP, Derby; IBM tools faked)", function () {
  this.timeout(600_000);
  const host = new LocalPortalHost();
  const dbRoot = mkdtempSync(path.join(tmpdir(), "dxb-db-"));
  chmodSync(dbRoot, 0o755);
  const pg = new PostgresServer(path.join(dbRoot, "pg"));
  const ldap = new LdapServer(path.join(dbRoot, "ldap"));
  // Online, Derby is backed up through the network server Portal shares (an embedded database is a config error).
  const derby = new DerbyNetworkServer(path.join(dbRoot, "derby"));
  const derbyDb = path.join(dbRoot, "derby", "wps6");
  const fakeLog = path.join(dbRoot, "fake-calls.log");
  const passwords: Record<string, string> = {
    damPassword: "dam 'pw' $(not-run)",
    sqlPassword: 'Sql!Pa55 "word"',
    portalAdminPassword: "wps admin pw",
  };
  let config: StackConfig;

  /** The prod-like configuration: the six domains on four engines, DAM on PostgreSQL, LDAP, WAS, XMLAccess. */
  function prodLike(
    overrides: {
      pgDump?: string;
      derbyUrl?: string;
      ldapKind?: "openldap" | "ldapsearch" | "isds";
      /** ldapsearch: bind as this user instead of the root DN. */
      ldapBind?: { dn: string; password: string; readsPasswords: boolean };
      /** Oracle in NOARCHIVELOG mode: captured by the offline schedule only. */
      oracleNoArchivelog?: boolean;
      /** SQL Server's .bak on a share: this host's path and the instance's. */
      sqlServerShare?: { backupDir: string; serverBackupDir: string };
    } = {},
  ): StackConfig {
    const tool = (name: string) => path.join(FAKE_IBM_TOOLS, name);
    return host.config({
      environment: "rp",
      schedules: [
        {
          name: "nightly",
          cron: "0 2 * * *",
          mode: "online",
          ...(overrides.oracleNoArchivelog && {
            databases: ["release", "jcr", "likeminds", "customization", "feedback", "dam"],
          }),
        },
        { name: "weekly", cron: "0 3 * * 0", mode: "offline" },
      ],
      host: {
        xmlaccess: {
          url: "http://localhost:10039/wps/config",
          user: "wpsadmin",
          passwordSecret: "portalAdminPassword",
          virtualPortals: ["partners"],
        },
      },
      keys: {
        databases: [
          {
            domain: "release",
            host: "portal-1",
            // The fake's LOGARCHMETH1 is DISK:/db2/archive/: RELEASE declares that, JCRDB another path.
            db2: { database: "RELEASE", archiveLogging: true, archiveLogPath: "/db2/archive", command: tool("db2") },
          },
          {
            domain: "jcr",
            host: "portal-1",
            db2: { database: "JCRDB", archiveLogging: true, archiveLogPath: "/srv/jcr-archive", command: tool("db2") },
          },
          {
            domain: "likeminds",
            host: "portal-1",
            db2: { database: "LMDB", archiveLogging: true, command: tool("db2") },
          },
          {
            domain: "customization",
            host: "portal-1",
            sqlserver: {
              server: "localhost,1433",
              database: "CUSTDB",
              user: "dxbackup",
              passwordSecret: "sqlPassword",
              ...overrides.sqlServerShare,
              command: tool("sqlcmd"),
            },
          },
          {
            domain: "community",
            host: "portal-1",
            oracle: { sid: "COMMDB", archivelogMode: !overrides.oracleNoArchivelog, command: tool("rman") },
          },
          { domain: "feedback", host: "portal-1", derby: { url: overrides.derbyUrl ?? derby.url(derbyDb) } },
          {
            domain: "dam",
            host: "portal-1",
            postgresql: {
              host: "127.0.0.1",
              port: pg.port,
              database: "dam",
              user: "dam",
              passwordSecret: "damPassword",
              ...(overrides.pgDump ? { command: overrides.pgDump } : {}),
            },
          },
        ],
        ldap:
          overrides.ldapKind === "isds"
            ? { host: "portal-1", isds: { instance: "dsrdbm01", command: tool("idsdbback") } }
            : overrides.ldapKind === "ldapsearch"
              ? {
                  host: "portal-1",
                  ldapsearch: {
                    uri: ldap.uri,
                    bindDn: overrides.ldapBind?.dn ?? ldap.rootDn,
                    passwordSecret: "ldapBindPassword",
                    base: ldap.suffix,
                    readsPasswords: overrides.ldapBind?.readsPasswords ?? true,
                  },
                }
              : { host: "portal-1", openldap: { suffix: ldap.suffix, configFile: ldap.config } },
      },
      // Only the secrets the config names: a stray secret is a config error.
      secrets:
        overrides.ldapKind === "ldapsearch"
          ? { ...passwords, ldapBindPassword: overrides.ldapBind?.password ?? ldap.rootPassword }
          : passwords,
    });
  }

  const fakeCalls = () => (existsSync(fakeLog) ? readFileSync(fakeLog, "utf8").trim().split("\n") : []);
  const env = (extra: Record<string, string> = {}) => ({ DXB_FAKE_LOG: fakeLog, ...extra });

  before(async () => {
    await host.start();
    await pg.start();
    pg.createOwnedDatabase(
      "dam",
      "dam",
      passwords.damPassword,
      "CREATE TABLE assets (id int PRIMARY KEY, name text, data bytea)",
    );
    pg.sql("INSERT INTO assets SELECT g, 'asset ' || g, sha256(g::text::bytea) FROM generate_series(1, 5000) g", "dam");
    await ldap.start();
    await derby.start();
    ldap.seed(["wpsadmin", "alice", "bob"], "ou=people");
    ij(
      `connect '${derby.url(derbyDb)};create=true';\ncreate table feedback(id int, body varchar(100));\ninsert into feedback values (1, 'great'), (2, 'slow'), (3, 'ok');\nexit;\n`,
    );
    config = prodLike();
    await host.install(config);
  });

  after(async () => {
    await Promise.all([pg.stop(), ldap.stop(), derby.stop()]);
    await host.stop();
    rmSync(dbRoot, { recursive: true, force: true });
  });

  it("captures files, IIM, all seven domains, LDAP, WAS config and XMLAccess under one run id", async () => {
    rmSync(fakeLog, { force: true });
    const { job, status } = await host.runSchedule(config, "nightly", env());
    expect(job.code, JSON.stringify(status)).to.equal(0);
    expect(status.result).to.equal("success");
    const runId = status.runId as string;
    const pieces = (status.pieces as Array<Record<string, string>>).map((p) => p.piece);
    expect(pieces).to.deep.equal([
      "xmlaccess-base",
      "xmlaccess-vp-partners",
      // In the order the databases are declared.
      "db-release",
      "db-jcr",
      "db-likeminds",
      "db-customization",
      "db-community",
      "db-feedback",
      "db-dam",
      "ldap",
      "wasconfig-wpProfile",
    ]);
    // Every snapshot of the run carries its run id: the DAM stream and the files snapshot.
    const ofRun = host.snapshots(config).filter((s) => s.tags.includes(`run:${runId}`));
    expect(ofRun.map((s) => s.tags.find((t) => t.startsWith("piece:"))).sort()).to.deep.equal([
      "piece:db-dam",
      "piece:files",
    ]);
    expect(status.snapshotIds).to.have.length(2);
    // A declared DB2 archive that is not where DB2 archives is a warning in the log (the run succeeds).
    const log = readFileSync(path.join(host.policy(config).host.agent.stateDir, "agent.log"), "utf8");
    expect(log).to.match(
      /"level":"warn","event":"db2-archive".*DB2 JCRDB archives its logs with LOGARCHMETH1 = DISK:\/db2\/archive\/, not in \/srv\/jcr-archive as the config declares/,
    );
    expect(log).to.not.match(/DB2 RELEASE archives its logs/);
    // Each database records its backup timestamp (the roll-forward target); DB2 its image timestamp.
    const release = (status.pieces as Array<Record<string, string>>).find((p) => p.piece === "db-release")!;
    expect(release.backupTimestamp).to.match(/^\d{14}$/);
    expect(release).to.deep.include({ engine: "db2", domain: "release", database: "RELEASE", mode: "online" });
    // The recovery-point record inside the files snapshot lists the same pieces.
    const { host: h } = host.policy(config);
    const target = path.join(host.root, "restore-rp");
    const r = host.agent(config, "restore", (status.snapshotIds as string[])[1], "--target", target);
    expect(r.status, r.stderr).to.equal(0);
    const record = JSON.parse(
      readFileSync(path.join(target, h.agent.stateDir, "recovery-point", "recovery-point.json"), "utf8"),
    );
    expect(record.runId).to.equal(runId);
    expect(record.pieces.map((p: { piece: string }) => p.piece)).to.deep.equal(pieces);
    const staged = path.join(target, h.agent.stateDir, "staging");
    expect(readdirSync(staged).sort()).to.deep.equal(
      [
        "db-community",
        "db-customization",
        "db-feedback",
        "db-jcr",
        "db-likeminds",
        "db-release",
        "ldap",
        "wasconfig-wpProfile",
        "xmlaccess-base",
        "xmlaccess-vp-partners",
      ].sort(),
    );
    // Staged dumps were removed from the host after the snapshot.
    expect(existsSync(path.join(h.agent.stateDir, "staging"))).to.equal(false);
  });

  it("calls the IBM, Oracle and Microsoft tools with the exact command lines, and never with a password", () => {
    const { host: h } = host.policy(config);
    const staging = path.join(h.agent.stateDir, "staging");
    const calls = fakeCalls();
    const tool = (name: string) => path.join(FAKE_IBM_TOOLS, name);
    expect(calls).to.include.members([
      `db2 get db cfg for RELEASE`,
      `db2 backup database RELEASE online to ${staging}/db-release compress include logs`,
      `db2 backup database JCRDB online to ${staging}/db-jcr compress include logs`,
      `db2 backup database LMDB online to ${staging}/db-likeminds compress include logs`,
      `sqlcmd -S localhost\\,1433 -U dxbackup -b -Q BACKUP\\ DATABASE\\ \\[CUSTDB\\]\\ TO\\ DISK\\ =\\ N\\'${staging}/db-customization/CUSTDB.bak\\'\\ WITH\\ COPY_ONLY\\,\\ CHECKSUM\\,\\ COMPRESSION\\,\\ INIT\\,\\ FORMAT [SQLCMDPASSWORD set]`,
      `sqlcmd -S localhost\\,1433 -U dxbackup -b -Q RESTORE\\ VERIFYONLY\\ FROM\\ DISK\\ =\\ N\\'${staging}/db-customization/CUSTDB.bak\\'\\ WITH\\ CHECKSUM [SQLCMDPASSWORD set]`,
      `backupConfig.sh ${staging}/wasconfig-wpProfile/wpProfile.zip -nostop -quiet`,
      `xmlaccess.sh -useEncryptedCredentials ${h.agent.stateDir}/runs/${host.status(config).runId}/xmlaccess-base.credentials.properties -url http://localhost:10039/wps/config -in ${host.layout.portalServer}/doc/xml-samples/ExportRelease.xml -out ${staging}/xmlaccess-base/xmlaccess-base.xml [credentials user=wpsadmin]`,
      `xmlaccess.sh -useEncryptedCredentials ${h.agent.stateDir}/runs/${host.status(config).runId}/xmlaccess-vp-partners.credentials.properties -url http://localhost:10039/wps/config/partners -in ${host.layout.portalServer}/doc/xml-samples/ExportUniqueRelease.xml -out ${staging}/xmlaccess-vp-partners/xmlaccess-vp-partners.xml [credentials user=wpsadmin]`,
    ]);
    // The fake records the mode of the directory it writes the .bak into: no one else may write there.
    expect(calls).to.include(`sqlcmd-target-dir 700 root ${staging}/db-customization`);
    const rman = calls.find((c) => c.startsWith("rman "))!;
    expect(rman).to.match(/^rman target \/ <<< /);
    expect(rman).to.include("BACKUP AS COMPRESSED BACKUPSET DATABASE FORMAT");
    expect(rman).to.include("PLUS ARCHIVELOG FORMAT");
    expect(tool("db2")).to.satisfy(existsSync);
    for (const value of Object.values(passwords)) {
      for (const call of calls) expect(call, "a password reached a command line").to.not.include(value);
    }
  });

  it("no secret on any command line during a run, and the servers an offline run starts inherit no storage secret", async () => {
    const storage = [
      config.values["dxbackup:repositoryPassword"],
      hostRepositoryPassword(config.values["dxbackup:repositoryPassword"], "dx-rp", "portal-1"),
      config.values["dxbackup:s3SecretAccessKey"],
    ];
    const secrets = [...Object.values(passwords), ...storage];
    expect(storage.every((v) => typeof v === "string" && v.length >= 6)).to.equal(true);
    // Every process's argv and environment, sampled every few milliseconds while the run goes.
    const seen = new Map<string, { argv: string; environ: string; parent: string }>();
    const sample = () => {
      for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, "latin1");
          const key = `${pid} ${argv}`;
          if (!argv || seen.has(key)) continue;
          const ppid = /^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, "latin1"))?.[1];
          const parent = ppid ? readFileSync(`/proc/${ppid}/cmdline`, "latin1") : "";
          seen.set(key, { argv, environ: readFileSync(`/proc/${pid}/environ`, "latin1"), parent });
        } catch {
          // Gone before it could be read.
        }
      }
    };
    const timer = setInterval(sample, 2);
    const dump = path.join(dbRoot, "server-environment");
    rmSync(dump, { force: true });
    let result;
    try {
      result = await host.runSchedule(config, "weekly", env({ DXB_FAKE_ENV_DUMP: dump }));
    } finally {
      clearInterval(timer);
    }
    expect(result.job.code, JSON.stringify(result.status)).to.equal(0);
    const argvs = [...seen.values()].map((p) => p.argv);
    // The sampler saw the run: restic among its processes.
    expect(argvs.some((a) => /(^|\/)restic\0/.test(a))).to.equal(true);
    for (const { argv, environ, parent } of seen.values()) {
      for (const secret of secrets)
        expect(argv.includes(secret), `a secret on the command line ${argv.replace(/\0/g, " ")}`).to.equal(false);
      // Storage secrets are restic's alone; the SQL Server password is sqlcmd's (in SQLCMDPASSWORD), nobody else's.
      // Up to its third word: a script's interpreter comes first (`/usr/bin/env bash .../sqlcmd`).
      const program = argv.split("\0").slice(0, 3).join(" ");
      for (const secret of storage)
        if (!/^(\S*\/)?restic( |$)/.test(program))
          expect(environ.includes(secret), `a storage secret in the environment of ${program}`).to.equal(false);
      // (The fake sqlcmd is a bash script: what it runs inherits its environment, as it would.)
      if (!/sqlcmd/.test(program) && !/sqlcmd/.test(parent))
        expect(environ.includes(passwords.sqlPassword), `the SQL password in the environment of ${program}`).to.equal(
          false,
        );
      for (const secret of [passwords.damPassword, passwords.portalAdminPassword])
        expect(environ.includes(secret), `a password in the environment of ${program}`).to.equal(false);
    }
    // What a server started by the offline start command inherits (the stop and start scripts wrote it).
    const inherited = readFileSync(dump, "utf8");
    expect(inherited).to.match(/^PATH=/m);
    for (const secret of secrets) expect(inherited.includes(secret)).to.equal(false);
    expect(inherited).to.not.match(/^(AWS_|RESTIC_)/m);
  });

  it("an offline run of an ARCHIVELOG Oracle backs it up open, with its logs: no shutdown", async () => {
    rmSync(fakeLog, { force: true });
    const { job, status } = await host.runSchedule(config, "weekly", env());
    expect(job.code, JSON.stringify(status)).to.equal(0);
    const rman = fakeCalls().filter((c) => c.startsWith("rman "));
    expect(rman).to.have.length(1);
    expect(rman[0]).to.include("PLUS ARCHIVELOG FORMAT");
    expect(rman[0]).to.not.include("SHUTDOWN");
  });

  it("an Oracle restore prints RMAN's script for the DBA: through the backup's last log, and from its control file on a rebuilt server", () => {
    const piece = (host.status(config).pieces as Array<Record<string, string>>).find(
      (p) => p.piece === "db-community",
    )!;
    // The (fake) RMAN listed the logs it put in the backup set: the last is thread 1, sequence 42.
    expect(piece.lastArchivedLog).to.equal("1:42");
    const r = host.agent(config, "restore", "latest", "--in-place", "--piece", "db-community", "--yes");
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const { host: h } = host.policy(config);
    expect(r.stdout).to.include("SET UNTIL SEQUENCE 43 THREAD 1;");
    // The control file piece the (fake) RMAN wrote with the backup, as extracted for this restore.
    expect(r.stdout).to.match(
      new RegExp(`RESTORE CONTROLFILE FROM '\\S+${h.agent.stateDir}/staging/db-community/cf_fake01';`),
    );
    expect(r.stdout.indexOf("SET UNTIL SEQUENCE")).to.be.lessThan(r.stdout.indexOf("RESTORE DATABASE;"));
    // --until names a time instead.
    const later = new Date(Date.now() + 3600_000);
    later.setMinutes(0, 0, 0);
    const at = oracleTime(later); // local "YYYY-MM-DD HH:00:00"
    const u = host.agent(config, "restore", "latest", "--in-place", "--piece", "db-community", "--yes", "--until", at);
    expect(u.status, u.stdout + u.stderr).to.equal(0);
    expect(u.stdout).to.include(`SET UNTIL TIME "TO_DATE('${at}','YYYY-MM-DD HH24:MI:SS')";`);
  });

  it("IBM Security Directory Server: idsdbback takes the whole instance (online with -u), and a restore prints IBM's idsdbrestore procedure", async () => {
    const isds = prodLike({ ldapKind: "isds" });
    // The instance owner (the instance's name by default), who restores the DB2 image.
    const owner = testUser("dsrdbm01", path.join(dbRoot, "home", "dsrdbm01"), "");
    await host.install(isds);
    try {
      const { host: h } = host.policy(isds);
      const staged = path.join(h.agent.stateDir, "staging", "ldap");
      rmSync(fakeLog, { force: true });
      const weekly = await host.runSchedule(isds, "weekly", env());
      expect(weekly.job.code, JSON.stringify(weekly.status)).to.equal(0);
      expect(fakeCalls().filter((c) => c.startsWith("idsdbback"))).to.deep.equal([
        `idsdbback -I dsrdbm01 -k ${staged}`,
      ]);
      rmSync(fakeLog, { force: true });
      const nightly = await host.runSchedule(isds, "nightly", env());
      expect(nightly.job.code, JSON.stringify(nightly.status)).to.equal(0);
      // Online: -u.
      expect(fakeCalls().filter((c) => c.startsWith("idsdbback"))).to.deep.equal([
        `idsdbback -I dsrdbm01 -k ${staged} -u`,
      ]);
      const piece = (nightly.status.pieces as Array<Record<string, string>>).find((p) => p.piece === "ldap");
      expect(piece).to.deep.include({ tool: "isds", instance: "dsrdbm01", mode: "online", file: staged });
      const r = host.agent(isds, "restore", "latest", "--in-place", "--piece", "ldap", "--yes");
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      const text = r.stdout.slice(r.stdout.indexOf("ldap (isds):"));
      const restore = path.join(FAKE_IBM_TOOLS, "idsdbrestore");
      const extracted = new RegExp(`^  ${restore} -I dsrdbm01 -k (\\S+)$`, "m").exec(text)?.[1];
      expect(extracted, r.stdout).to.be.a("string");
      // IBM's order: the instance stopped, idsdbrestore, the online image rolled forward, started.
      expect(text.split("\n").slice(2, 6)).to.deep.equal([
        "  ibmslapd -I dsrdbm01 -k",
        `  ${restore} -I dsrdbm01 -k ${extracted}`,
        "  su - dsrdbm01 -c 'db2 rollforward db DSRDBM01 to end of logs and stop'",
        "  ibmslapd -I dsrdbm01",
      ]);
      // The directory it names holds the instance as idsdbback left it, and the instance owner can read it.
      expect(readdirSync(extracted!)).to.include.members(["ibmslapd.conf", "ibmslapddir.ksf"]);
      // This test's root is a mkdtemp (0700), and <root>/agent the install's: on a host, /var and /var/lib.
      for (const d of [host.root, path.join(host.root, "agent")]) chmodSync(d, statSync(d).mode | 0o001);
      const asOwner = spawnSync("runuser", ["-u", "dsrdbm01", "--", "cat", path.join(extracted!, "ibmslapddir.ksf")], {
        encoding: "utf8",
      });
      expect(asOwner.stdout, asOwner.stderr).to.equal("fake key stash\n");
      // A drill checks the same of the backup.
      const drill = host.agent(isds, "drill", "latest");
      const checks = JSON.parse(readFileSync(path.join(h.agent.stateDir, "drill-status.json"), "utf8")).checks.join(
        "\n",
      );
      expect(checks, drill.stdout + drill.stderr).to.include(
        "ldap: the idsdbback backup holds the instance's configuration, key stash and DB2 image",
      );
    } finally {
      await host.install(config);
      owner.remove();
    }
  });

  it("an offline run of a NOARCHIVELOG Oracle backs it up mounted after a clean shutdown, then opens it again", async () => {
    rmSync(fakeLog, { force: true });
    const noArchivelog = prodLike({ oracleNoArchivelog: true });
    await host.install(noArchivelog);
    const { job, status } = await host.runSchedule(noArchivelog, "weekly", env());
    await host.install(config);
    expect(job.code, JSON.stringify(status)).to.equal(0);
    const rman = fakeCalls().filter((c) => c.startsWith("rman "));
    expect(rman).to.have.length(2);
    const [backup, open] = rman;
    const steps = [
      "SHUTDOWN IMMEDIATE;",
      "STARTUP FORCE DBA;",
      "SHUTDOWN IMMEDIATE;",
      "STARTUP MOUNT;",
      "BACKUP AS COMPRESSED BACKUPSET DATABASE FORMAT",
      "BACKUP CURRENT CONTROLFILE FORMAT",
    ];
    let at = -1;
    for (const step of steps) {
      const next = backup.indexOf(step, at + 1);
      expect(next, `${step} after the step before it in ${backup}`).to.be.greaterThan(at);
      at = next;
    }
    // NOARCHIVELOG: there are no archived logs to back up (RMAN-06149 if asked to).
    expect(backup).to.not.include("ARCHIVELOG");
    expect(open).to.match(/^rman target \/ <<< .*ALTER DATABASE OPEN;/);
  });

  it("PostgreSQL round trip: the dump streamed into restic restores row for row", async () => {
    const before = pg.sql(
      "SELECT count(*), md5(string_agg(id || name || encode(data, 'hex'), ',' ORDER BY id)) FROM assets",
      "dam",
    );
    pg.sql("DELETE FROM assets WHERE id % 2 = 0; UPDATE assets SET name = 'changed'", "dam");
    expect(pg.sql("SELECT count(*) FROM assets", "dam")).to.equal("2500");
    const dam = host
      .snapshots(config)
      .filter((s) => s.tags.includes("piece:db-dam"))
      .pop()!;
    const dump = execFileSync(
      "restic",
      ["-r", repository(), "--cacert", host.services.caCertificate, "dump", dam.id, "/dx-rp/dam.pgdump"],
      {
        env: resticEnv(),
        maxBuffer: 1 << 28,
      },
    );
    pg.restore(dump, "dam_restored");
    expect(
      pg.sql(
        "SELECT count(*), md5(string_agg(id || name || encode(data, 'hex'), ',' ORDER BY id)) FROM assets",
        "dam_restored",
      ),
    ).to.equal(before);
  });

  it("Derby round trip: SYSCS_BACKUP_DATABASE staged in the snapshot restores with restoreFrom", () => {
    ij(
      `connect '${derby.url(derbyDb)}';\ndelete from feedback where id = 2;\ninsert into feedback values (9, 'added later');\nexit;\n`,
    );
    const { host: h } = host.policy(config);
    const backup = path.join(host.root, "restore-rp", h.agent.stateDir, "staging", "db-feedback", "wps6");
    expect(existsSync(backup)).to.equal(true);
    const restored = path.join(dbRoot, "derby", "restored");
    const out = ij(
      `connect 'jdbc:derby:${restored};restoreFrom=${backup}';\nselect id, body from feedback order by id;\nexit;\n`,
    );
    expect(out.replace(/\s+/g, " ")).to.match(/1 \|great 2 \|slow 3 \|ok 3 rows selected/);
  });

  it("OpenLDAP round trip: the slapcat export loads into an empty directory with the same entries", () => {
    const { host: h } = host.policy(config);
    const ldif = readFileSync(
      path.join(host.root, "restore-rp", h.agent.stateDir, "staging", "ldap", "directory.ldif"),
      "utf8",
    );
    const original = LdapServer.entries(ldif);
    expect(original.filter((e) => e.includes("uid:"))).to.have.length(3);
    ldap.modify(`dn: uid=bob,ou=people,${ldap.suffix}\nchangetype: delete\n`, false);
    // slapadd the exported LDIF into a fresh, empty database, then compare it with the export.
    const fresh = path.join(dbRoot, "ldap-restored");
    const conf = path.join(dbRoot, "ldap-restored.conf");
    ldap.writeConfig(fresh, conf);
    const ldifFile = path.join(dbRoot, "restore.ldif");
    writeFileSync(ldifFile, ldif);
    execFileSync("slapadd", ["-f", conf, "-b", ldap.suffix, "-l", ldifFile, "-q"]);
    const reloaded = LdapServer.entries(execFileSync("slapcat", ["-f", conf, "-b", ldap.suffix], { encoding: "utf8" }));
    expect(reloaded).to.deep.equal(original);
  });

  it("a generic ldapsearch export works too, with the bind password in a file", async () => {
    const cfg = prodLike({ ldapKind: "ldapsearch" });
    await host.install(cfg);
    const { job, status } = await host.runSchedule(cfg, "nightly", env());
    expect(job.code, JSON.stringify(status)).to.equal(0);
    const piece = (status.pieces as Array<Record<string, string>>).find((p) => p.piece === "ldap")!;
    // The root DN reads every password hash (bob was deleted by the round trip above).
    expect(piece).to.deep.include({ tool: "ldapsearch", entries: "4", passwords: "2/2" });
    await host.install(config);
  });

  it("an ldapsearch export pages past the server's size limit, leaves operational attributes out, and counts the password hashes it could read", async () => {
    const alice = `uid=alice,ou=people,${ldap.suffix}`;
    const cfg = prodLike({
      ldapKind: "ldapsearch",
      ldapBind: { dn: alice, password: LdapServer.password("alice"), readsPasswords: false },
    });
    await host.install(cfg);
    try {
      // Without paged results slapd stops alice's search after 2 entries (exit 4, size limit exceeded).
      const { job, status } = await host.runSchedule(cfg, "nightly", env());
      expect(job.code, JSON.stringify(status)).to.equal(0);
      const piece = (status.pieces as Array<Record<string, string>>).find((p) => p.piece === "ldap")!;
      // alice may not read userPassword: the export has the people, not their hashes.
      expect(piece).to.deep.include({ tool: "ldapsearch", entries: "4", passwords: "0/2" });
      const { host: h } = host.policy(cfg);
      const target = path.join(host.root, "restore-ldapsearch");
      const r = host.agent(cfg, "restore", status.runId as string, "--target", target, "--piece", "ldap");
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      const ldif = readFileSync(path.join(target, h.agent.stateDir, "staging", "ldap", "directory.ldif"), "utf8");
      expect(ldif).to.match(/^dn: uid=alice,ou=people,dc=acme,dc=com$/m);
      expect(ldif).to.not.match(/^(entryUUID|createTimestamp|modifiersName):/im);
      expect(ldif).to.not.match(/^userPassword/im);
    } finally {
      rmSync(path.join(host.root, "restore-ldapsearch"), { recursive: true, force: true });
      await host.install(config);
    }
  });

  describe("a piece that fails fails the run, and leaves no snapshot claiming success", () => {
    it("a database image that the staging file system cannot hold: refused before the tool starts", async () => {
      const { host: h } = host.policy(config);
      const runs = path.join(h.agent.stateDir, "runs.jsonl");
      const history = readFileSync(runs, "utf8");
      // The last successful run staged a 1 PiB image of RELEASE: no file system here has that much free.
      writeFileSync(
        runs,
        `${history}${JSON.stringify({ result: "success", pieces: [{ piece: "db-release", stagedBytes: String(2 ** 50) }] })}\n`,
      );
      try {
        rmSync(fakeLog, { force: true });
        const { status } = await failingRun(config, {});
        expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-release" });
        expect(status.message).to.match(
          /^not enough free space to stage db-release under \S+\/staging: its last image was 1048576\.00 GiB, so about 1153433\.60 GiB is needed, and [\d.]+ [GMK]i?B is free there; free space on that file system, or move the agent's stateDir to a larger one$/,
        );
        // DB2 was never asked to write an image that could not fit.
        expect(fakeCalls().filter((c) => c.includes("RELEASE"))).to.deep.equal([]);
      } finally {
        writeFileSync(runs, history);
      }
      // A successful run records what it staged, for the next run's check.
      const { status } = await host.runSchedule(config, "nightly", env());
      const release = (status.pieces as Array<Record<string, string>>).find((p) => p.piece === "db-release")!;
      expect(Number(release.stagedBytes)).to.be.greaterThan(0);
      expect((status.pieces as Array<Record<string, string>>).find((p) => p.piece === "db-dam")).to.not.have.property(
        "stagedBytes",
      );
    });

    it("an ldapsearch export declared to read password hashes that has none", async () => {
      const alice = `uid=alice,ou=people,${ldap.suffix}`;
      const cfg = prodLike({
        ldapKind: "ldapsearch",
        ldapBind: { dn: alice, password: LdapServer.password("alice"), readsPasswords: true },
      });
      const { status } = await failingRun(cfg, {});
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:ldap" });
      expect(status.message).to.match(
        /none of the 2 person entries in the ldapsearch export carries userPassword: uid=alice,ou=people,dc=acme,dc=com cannot read password hashes/,
      );
    });

    async function failingRun(cfg: StackConfig, extraEnv: Record<string, string>, schedule = "nightly") {
      await host.install(cfg);
      const before = host.snapshots(cfg).length;
      const { job, status } = await host.runSchedule(cfg, schedule, env(extraEnv));
      const after = host.snapshots(cfg);
      await host.install(config);
      const { host: h } = host.policy(cfg);
      expect(
        existsSync(path.join(h.agent.stateDir, "staging")),
        "staged dumps are removed after a failure too",
      ).to.equal(false);
      expect(
        after.filter((s) => s.tags.includes(`run:${status.runId}`)),
        "a snapshot of the failed run",
      ).to.deep.equal([]);
      expect(after).to.have.length(before);
      return { job, status };
    }

    it("a pg_dump that dies half-way", async () => {
      const { job, status } = await failingRun(prodLike({ pgDump: path.join(FAKES, "failing-pg-dump") }), {});
      expect(job.code).to.equal(1);
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-dam" });
      expect(status.message).to.match(/failed \(exit 1\); nothing of its output was kept/);
    });

    it("an online DB2 backup with archive logging off, with the fix in the message", async () => {
      const { status } = await failingRun(config, { DXB_FAKE_DB2_LOGARCHMETH1: "OFF" });
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-release" });
      expect(status.message).to.match(
        /needs archive logging, but LOGARCHMETH1 is OFF: run 'db2 update db cfg for RELEASE using LOGARCHMETH1/,
      );
    });

    for (const [tool, step] of [
      ["db2", "piece:db-release"],
      ["rman", "piece:db-community"],
      ["sqlcmd", "piece:db-customization"],
      ["backupConfig.sh", "piece:wasconfig-wpProfile"],
      ["xmlaccess.sh", "piece:xmlaccess-base"],
    ]) {
      it(`a failing ${tool} (fake)`, async () => {
        const { job, status } = await failingRun(config, { DXB_FAKE_FAIL: tool });
        expect(job.code).to.equal(1);
        expect(status).to.deep.include({ result: "failed", failedStep: step });
      });
    }

    it("an idsdbback backup without the key stash (a rebuilt server could not decrypt the directory)", async () => {
      const { status } = await failingRun(prodLike({ ldapKind: "isds" }), { DXB_FAKE_BROKEN: "idsdbback" });
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:ldap" });
      expect(status.message).to.match(
        /^idsdbback wrote an incomplete backup into \S+\/staging\/ldap: the key stash \(\*\.ksf\) missing$/,
      );
    });

    it("a serverBackupDir that is not the share backupDir names: the old .bak is never passed off as the new one", async () => {
      const share = { backupDir: path.join(dbRoot, "share"), serverBackupDir: path.join(dbRoot, "elsewhere") };
      mkdirSync(share.backupDir, { recursive: true });
      mkdirSync(share.serverBackupDir, { recursive: true });
      writeFileSync(path.join(share.backupDir, "CUSTDB.bak"), "yesterday's backup\n");
      const { status } = await failingRun(prodLike({ sqlServerShare: share }), {});
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-customization" });
      expect(status.message).to.equal(
        `SQL Server wrote ${share.serverBackupDir}/CUSTDB.bak, but there is no ${share.backupDir}/CUSTDB.bak here: serverBackupDir (${share.serverBackupDir}) and backupDir (${share.backupDir}) must name the same share`,
      );
    });

    it("a Derby error, although ij exits 0", async () => {
      const { status } = await failingRun(prodLike({ derbyUrl: derby.url(`${dbRoot}/no-such-db`) }), {});
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-feedback" });
      expect(status.message).to.match(/Derby backup failed: ERROR 08004: .*no-such-db was not found/);
    });

    it("an offline run whose database backup fails still starts the servers again", async () => {
      rmSync(fakeLog, { force: true });
      const { status } = await failingRun(config, { DXB_FAKE_FAIL: "db2" }, "weekly");
      expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-release" });
      const serverCalls = fakeCalls().filter((c) => /^(stop|start)Server/.test(c));
      expect(serverCalls).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
    });

    describe("an offline Oracle backup always opens the database again", () => {
      /** The weekly run of a NOARCHIVELOG Oracle, with these RMAN steps failing. */
      const noArchivelogRun = (fail: string) =>
        failingRun(prodLike({ oracleNoArchivelog: true }), { DXB_FAKE_FAIL: fail }, "weekly");

      it("after a failed backup: the run fails with RMAN's error, the open was still run", async () => {
        rmSync(fakeLog, { force: true });
        const { status } = await noArchivelogRun("rman:backup");
        expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-community" });
        expect(status.message).to.match(
          /^RMAN offline backup of COMMDB failed: RMAN-03009: .* \/ ORA-19502: write error on file$/,
        );
        const rman = fakeCalls().filter((c) => c.startsWith("rman "));
        expect(rman[rman.length - 1]).to.include("ALTER DATABASE OPEN;");
        const serverCalls = fakeCalls().filter((c) => /^(stop|start)Server/.test(c));
        expect(serverCalls).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
      });

      it("a database that does not open again fails the run and says so", async () => {
        const { status } = await noArchivelogRun("rman:open");
        expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-community" });
        expect(status.message).to.match(
          /the database COMMDB could not be opened again \(RMAN-03002: .* \/ ORA-01113: file 1 needs media recovery\): THE DATABASE IS NOT OPEN/,
        );
      });

      it("when the backup and the open both fail, the message says both", async () => {
        const { status } = await noArchivelogRun("rman:backup rman:open");
        expect(status).to.deep.include({ result: "failed", failedStep: "piece:db-community" });
        expect(status.message).to.match(
          /^RMAN offline backup of COMMDB failed: RMAN-03009: .*; then the database COMMDB could not be opened again \(RMAN-03002: .* \/ ORA-01113: .*\): THE DATABASE IS NOT OPEN/,
        );
      });
    });
  });

  function repository(): string {
    return `s3:https://127.0.0.1:${host.s3Port}/dxb/dx-rp/portal-1`;
  }

  function resticEnv() {
    return {
      ...process.env,
      RESTIC_PASSWORD: hostRepositoryPassword(config.values["dxbackup:repositoryPassword"], "dx-rp", "portal-1"),
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    };
  }
});

import { execFileSync } from "node:child_process";
import { expect } from "chai";
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { HostConfig } from "../../../shared/hostConfig";
import { testContext, testHostConfig } from "../../support/agentHost";
import type { AgentContext } from "../../../agent/context";
import { UsageError } from "../../../agent/errors";
import { Logger } from "../../../agent/log";
import { writeList } from "../../../agent/record";
import { fixPackRefusal } from "../../../agent/restore/index";
import { databaseCommands, db2Until, operatorPending, oracleTime, tsmPit } from "../../../agent/restore/operator";
import { slapaddCommand } from "../../../agent/restore/pieces";
import { handOverBak } from "../../../agent/restore/sqlserver";
import { handOver } from "../../../agent/restore/handover";
import { giveDir, readRegularFile } from "../../../agent/files";
import { isdsBackupProblem } from "../../../agent/pieces/others";
import { serverFile } from "../../../agent/engines/sqlserver";
import { untilProblem } from "../../../agent/restore/until";
import { newest, pickLatest } from "../../../agent/restore/resolve";
import {
  configTargets,
  isCleanAbsolute,
  isInside,
  outermost,
  planPiece,
  restoreOrder,
  selectRestore,
  type TargetPath,
} from "../../../agent/restore/select";
import { regexLiteral } from "../../../agent/restore/servers";
import { asidePath, journalFile, moveAside, undoJournal, undoStamps } from "../../../agent/restore/undo";
import { checkTarget, cleanWork, createTarget, safeDest } from "../../../agent/restore/work";
import { NOT_A_RECOVERY_POINT_TAG } from "../../../shared/records";

const STATE = "/var/lib/dxbackup/dx-t";

function restoreTestConfig(over: { stateDir?: string; dir?: string } = {}): HostConfig {
  const dir = over.dir ?? "/etc/dxbackup/dx-t";
  return testHostConfig(dir, {
    role: "portalNode",
    stateDir: over.stateDir ?? STATE,
    iim: { installDir: "/opt/HCL/IM", agentDataDir: "/var/ibm/InstallationManager", sharedDir: "/opt/HCL/IMShared" },
    schedules: {
      nightly: {
        kind: "backup",
        mode: "online",
        cron: "0 2 * * *",
        timezone: "UTC",
        targets: [
          { target: "portalServer", path: "/opt/HCL/PortalServer" },
          { target: "dmgrProfile", path: "/opt/HCL/AppServer/profiles/Dmgr01" },
          { target: "appServer", path: "/opt/HCL/AppServer" },
          { target: "iim", path: "/opt/HCL/IM" },
          { target: "custom", path: "/srv/custom" },
        ],
        retention: { keepDaily: 7 },
        pieces: [],
      },
      weekly: {
        kind: "backup",
        mode: "offline",
        cron: "0 3 * * 0",
        timezone: "UTC",
        targets: [{ target: "wpProfile", path: "/opt/HCL/wp_profile" }],
        retention: { keepDaily: 7 },
        pieces: [],
      },
    },
    pieces: {
      "db-dam": {
        kind: "database",
        domain: "dam",
        database: {
          engine: "postgresql",
          postgresql: {
            host: "127.0.0.1",
            port: 5432,
            database: "dam",
            user: "dam",
            passwordFile: path.join(dir, "dam"),
            dumpCommand: "pg_dump",
          },
        },
      },
      "db-release": {
        kind: "database",
        domain: "release",
        database: { engine: "db2", db2: { database: "RELEASE", command: "db2" } },
      },
      "db-community": {
        kind: "database",
        domain: "community",
        database: {
          engine: "sqlserver",
          sqlserver: {
            server: "localhost,1433",
            database: "COMMDB",
            user: "sa",
            passwordFile: path.join(dir, "sql"),
            command: "sqlcmd",
          },
        },
      },
      "db-customization": {
        kind: "database",
        domain: "customization",
        database: {
          engine: "sqlserver",
          sqlserver: {
            server: "db",
            database: "CUSTDB",
            user: "sa",
            passwordFile: path.join(dir, "sql"),
            backupDir: "/mnt/share",
            command: "sqlcmd",
          },
        },
      },
      "db-jcr": {
        kind: "database",
        domain: "jcr",
        database: { engine: "oracle", oracle: { sid: "JCR", osUser: "oracle", archivelogMode: true, command: "rman" } },
      },
      ldap: { kind: "ldap", ldap: { tool: "openldap", suffix: "dc=example,dc=com", command: "/usr/sbin/slapcat" } },
      "wasconfig-wpProfile": { kind: "wasConfig", profile: "/opt/HCL/wp_profile", profileRoot: "wpProfile" },
      "xmlaccess-base": {
        kind: "xmlaccess",
        command: "/opt/HCL/wp_profile/PortalServer/bin/xmlaccess.sh",
        url: "http://localhost:10039/wps/config",
        request: "/opt/HCL/PortalServer/doc/xml-samples/ExportRelease.xml",
        user: "wpsadmin",
        passwordFile: path.join(dir, "wps"),
      },
      "remote-crm": {
        kind: "remoteSource",
        source: "crm",
        by: { kind: "command", run: "echo x", filename: "crm.json" },
      },
    },
  });
}

const RECORD_TARGETS: TargetPath[] = [
  { target: "portalServer", path: "/opt/HCL/PortalServer" },
  { target: "dmgrProfile", path: "/opt/HCL/AppServer/profiles/Dmgr01" },
  { target: "appServer", path: "/opt/HCL/AppServer" },
  { target: "iim", path: "/opt/HCL/IM" },
  { target: "custom", path: "/srv/custom" },
  { target: "webServer", path: "/opt/IBM/HTTPServer" },
];

const pairs = (o: Record<string, string>) => Object.entries(o) as Array<[string, string]>;

describe("agent restore: what is restored (pure)", () => {
  describe("paths", () => {
    it("outermost keeps the paths no other one contains, once, in order", () => {
      expect(
        outermost([
          "/opt/HCL/AppServer/profiles/Dmgr01",
          "/opt/HCL/AppServer/",
          "/opt/HCL/PortalServer",
          "/opt/HCL/AppServer",
          "/opt/HCL/AppServer2",
        ]),
      ).to.deep.equal(["/opt/HCL/AppServer", "/opt/HCL/PortalServer", "/opt/HCL/AppServer2"]);
      expect(outermost(["/a/b", "/a/b/c/d", "/a/b/c"])).to.deep.equal(["/a/b"]);
      expect(outermost(["/", "/a"])).to.deep.equal(["/"]);
    });

    it("isInside is about path components, not string prefixes", () => {
      expect(isInside("/opt/a/b", "/opt/a")).to.equal(true);
      expect(isInside("/opt/ab", "/opt/a")).to.equal(false);
      expect(isInside("/opt/a", "/opt/a")).to.equal(false);
      expect(isInside("/x", "/")).to.equal(true);
    });

    it("a clean absolute path has no .., no ., no //, no trailing slash", () => {
      for (const ok of ["/", "/a", "/var/lib/dxbackup/staging/db-x/f.bak"])
        expect(isCleanAbsolute(ok), ok).to.equal(true);
      for (const bad of ["a", "/a/../b", "/a/./b", "/a//b", "/a/", "/a\0b", ""])
        expect(isCleanAbsolute(bad), bad).to.equal(false);
    });

    it("the current targets are the record's schedule's, or every schedule's when the config no longer has it", () => {
      const c = restoreTestConfig();
      expect(configTargets(c, "weekly")).to.deep.equal([{ target: "wpProfile", path: "/opt/HCL/wp_profile" }]);
      expect(configTargets(c, "gone").map((t) => t.target)).to.deep.equal([
        "portalServer",
        "dmgrProfile",
        "appServer",
        "iim",
        "custom",
        "wpProfile",
      ]);
    });
  });

  describe("selection", () => {
    const current = configTargets(restoreTestConfig(), "nightly");
    const record = { targets: RECORD_TARGETS, pieces: ["db-dam", "ldap"] };

    it("files: every current path the point holds; nested targets restored through the outermost one", () => {
      const s = selectRestore(record, current, []);
      expect(s.wanted).to.deep.equal(["files", "db-dam", "ldap"]);
      expect(s.paths.map((p) => p.path)).to.deep.equal([
        "/opt/HCL/PortalServer",
        "/opt/HCL/AppServer/profiles/Dmgr01",
        "/opt/HCL/AppServer",
        "/opt/HCL/IM",
        "/srv/custom",
      ]);
      expect(s.outermost).to.deep.equal(["/opt/HCL/PortalServer", "/opt/HCL/AppServer", "/opt/HCL/IM", "/srv/custom"]);
      expect(s.pieces).to.deep.equal(["db-dam", "ldap"]);
      expect(s).to.include({ hasIim: true, hasPortalFs: true });
      // A path of the record the config no longer has is never restored, and said so.
      expect(s.notes).to.deep.equal([
        "the recovery point holds /opt/IBM/HTTPServer (target webServer), which is not a target of this host's config: not restored",
      ]);
    });

    it("target:appServer brings the Deployment Manager profile inside it along, and says so", () => {
      const s = selectRestore(record, current, ["target:appServer"]);
      expect(s.paths.map((p) => p.target)).to.deep.equal(["dmgrProfile", "appServer"]);
      expect(s.outermost).to.deep.equal(["/opt/HCL/AppServer"]);
      expect(s.notes[0]).to.match(
        /Dmgr01 \(target dmgrProfile\) lies inside \/opt\/HCL\/AppServer: it is restored with it/,
      );
      expect(s).to.include({ hasIim: false, hasPortalFs: true });
    });

    it("target:dmgrProfile restores only the inner profile", () => {
      const s = selectRestore(record, current, ["target:dmgrProfile"]);
      expect(s.outermost).to.deep.equal(["/opt/HCL/AppServer/profiles/Dmgr01"]);
      expect(s.pieces).to.deep.equal([]);
    });

    it("custom and iim alone are no Portal file system (no fix-pack guard)", () => {
      expect(selectRestore(record, current, ["target:custom", "target:iim"])).to.include({
        hasIim: true,
        hasPortalFs: false,
      });
    });

    it("refuses what the point does not have, and a target the config no longer has", () => {
      expect(() => selectRestore(record, current, ["target:plugins"])).to.throw(
        UsageError,
        /the recovery point has no target 'plugins' \(it has: .*appServer.*\)/,
      );
      expect(() => selectRestore(record, current, ["db-jcr"])).to.throw(
        UsageError,
        "the recovery point has no piece 'db-jcr' (it has: files db-dam ldap)",
      );
      expect(() => selectRestore(record, current, ["target:webServer"])).to.throw(
        UsageError,
        /target webServer of the recovery point \(\/opt\/IBM\/HTTPServer\) is not a target of this host's config/,
      );
      expect(() => selectRestore(record, current, ["../etc"])).to.throw(UsageError, /--piece takes files/);
    });

    it("paths are compared in normal form (a trailing slash in the record matches)", () => {
      const s = selectRestore({ targets: [{ target: "custom", path: "/srv/custom/" }], pieces: [] }, current, []);
      expect(s.paths).to.deep.equal([{ target: "custom", path: "/srv/custom" }]);
    });
  });

  describe("piece records, checked against the current config", () => {
    const c = restoreTestConfig();
    const staging = `${STATE}/staging`;

    it("a staged piece's file must lie under its staging directory", () => {
      const ok = planPiece(
        c,
        "wasconfig-wpProfile",
        pairs({
          piece: "wasconfig-wpProfile",
          kind: "wasConfig",
          profile: "/somewhere/else",
          file: `${staging}/wasconfig-wpProfile/wpProfile.zip`,
        }),
        true,
      );
      expect(ok).to.deep.include({
        file: `${staging}/wasconfig-wpProfile/wpProfile.zip`,
        extract: `${staging}/wasconfig-wpProfile`,
      });
      expect(ok.config).to.deep.include({ profile: "/opt/HCL/wp_profile" });
      for (const file of [
        `${staging}/wasconfig-wpProfile/../../../../etc/shadow`,
        `${staging}/ldap/directory.ldif`,
        "/etc/passwd",
        `${staging}/wasconfig-wpProfileX/a.zip`,
        "relative/file",
      ])
        expect(() => planPiece(c, "wasconfig-wpProfile", pairs({ kind: "wasConfig", file }), true), file).to.throw(
          UsageError,
          /refused/,
        );
    });

    it("a streamed piece's file must be the name its config implies, its snapshot an id", () => {
      const dam = { kind: "database", engine: "postgresql", snapshot: "1a2b3c4d", file: "/dx-t/dam.pgdump" };
      expect(planPiece(c, "db-dam", pairs(dam), true)).to.deep.include({
        snapshot: "1a2b3c4d",
        file: "/dx-t/dam.pgdump",
      });
      expect(() => planPiece(c, "db-dam", pairs({ ...dam, file: "/dx-t/other.pgdump" }), true)).to.throw(
        UsageError,
        /names the file \/dx-t\/other.pgdump, not \/dx-t\/dam.pgdump: refused/,
      );
      for (const snapshot of ["1a2b", "--host=x", "1A2B3C4D", "1a2b3c4d;rm"])
        expect(() => planPiece(c, "db-dam", pairs({ ...dam, snapshot }), true), snapshot).to.throw(
          UsageError,
          /not a snapshot id/,
        );
      // Staged where the config streams: the engine changed under the same name.
      expect(() =>
        planPiece(c, "db-dam", pairs({ kind: "database", engine: "postgresql", file: `${staging}/db-dam/x` }), true),
      ).to.throw(UsageError, /staged with the files, which its engine in this host's config is not/);
      const remote = { kind: "remoteSource", engine: "command", snapshot: "abcdef01", file: "/dx-t/remote/crm.json" };
      expect(planPiece(c, "remote-crm", pairs(remote), true).file).to.equal("/dx-t/remote/crm.json");
    });

    it("in place, a piece the config no longer has, or has with another engine, is refused with --target as the way out", () => {
      expect(() =>
        planPiece(
          c,
          "db-feedback",
          pairs({ kind: "database", engine: "derby", file: `${staging}/db-feedback/wps6` }),
          true,
        ),
      ).to.throw(
        UsageError,
        "db-feedback is not configured on this host any more: restore it with --target and its engine's tools",
      );
      expect(() =>
        planPiece(c, "db-release", pairs({ kind: "database", engine: "derby", file: `${staging}/db-release/x` }), true),
      ).to.throw(
        UsageError,
        /is a database\/derby backup, but this host's config has database\/db2 for it: restore it with --target/,
      );
      // Into a directory, it is still extracted (its file must be safe all the same).
      const p = planPiece(
        c,
        "db-feedback",
        pairs({ kind: "database", engine: "derby", file: `${staging}/db-feedback/wps6` }),
        false,
      );
      expect(p).to.deep.include({ config: undefined, extract: `${staging}/db-feedback` });
      const s = planPiece(
        c,
        "db-old",
        pairs({ kind: "database", engine: "postgresql", snapshot: "abcdef01", file: "/dx-t/old.pgdump" }),
        false,
      );
      expect(s.file).to.equal("/dx-t/old.pgdump");
      expect(() =>
        planPiece(c, "db-old", pairs({ kind: "database", snapshot: "abcdef01", file: "/etc/cron.d/x" }), false),
      ).to.throw(UsageError, /not one under \/dx-t\/: refused/);
    });

    it("DB2: the image timestamp and the mode are checked before anything runs", () => {
      const db2 = {
        kind: "database",
        engine: "db2",
        mode: "online",
        backupTimestamp: "20261128020000",
        file: `${staging}/db-release`,
      };
      expect(planPiece(c, "db-release", pairs(db2), true).file).to.equal(`${staging}/db-release`);
      expect(() => planPiece(c, "db-release", pairs({ ...db2, backupTimestamp: "now; rm" }), true)).to.throw(
        /not a DB2 timestamp/,
      );
      expect(() => planPiece(c, "db-release", pairs({ ...db2, mode: "x" }), true)).to.throw(/not online or offline/);
    });

    it("a SQL Server backup on a share is the config's file there", () => {
      const p = planPiece(
        c,
        "db-customization",
        pairs({ kind: "database", engine: "sqlserver", file: "/mnt/share/CUSTDB.bak" }),
        true,
      );
      expect(p.extract).to.equal("/mnt/share/CUSTDB.bak");
      expect(() =>
        planPiece(
          c,
          "db-customization",
          pairs({ kind: "database", engine: "sqlserver", file: "/mnt/share/OTHER.bak" }),
          true,
        ),
      ).to.throw(/refused/);
    });

    it("a piece name that is no piece name is refused", () => {
      expect(() => planPiece(c, "../x", pairs({ kind: "ldap", tool: "openldap", file: "/x" }), false)).to.throw(
        /not a piece name/,
      );
    });

    it("pieces are restored in HCL's order: the directory, WebSphere, the databases by domain, XMLAccess, remote sources", () => {
      const names = [
        "remote-crm",
        "xmlaccess-base",
        "db-dam",
        "db-community",
        "db-release",
        "db-jcr",
        "wasconfig-wpProfile",
        "ldap",
        "db-customization",
      ];
      const order = restoreOrder(names.map((name) => ({ name, config: c.pieces[name] })));
      expect(order.map((p) => p.name)).to.deep.equal([
        "ldap",
        "wasconfig-wpProfile",
        "db-release",
        "db-jcr",
        "db-customization",
        "db-community",
        "db-dam",
        "xmlaccess-base",
        "remote-crm",
      ]);
    });
  });

  describe("what is left for the operator", () => {
    const c = restoreTestConfig();
    const at = new Date(2026, 10, 28, 2, 3, 4);

    it("SQL Server: VERIFYONLY, then RESTORE WITH REPLACE, from the extracted file, with the config's server and user", () => {
      const file = `/var/lib/dxbackup/dx-t/restore/x/extract${STATE}/staging/db-community/COMMDB.bak`;
      const p = operatorPending("db-community", c.pieces["db-community"], file, at)!;
      expect(p.keep).to.deep.equal([file]);
      expect(p.text).to.match(/^db-community \(sqlserver\):\n/);
      expect(p.text).to.match(/RESTORE VERIFYONLY FROM DISK = N'\S+\/db-community\/COMMDB\.bak' WITH CHECKSUM/);
      expect(p.text).to.match(/RESTORE DATABASE \[COMMDB\] FROM DISK = N'\S+COMMDB\.bak' WITH REPLACE, CHECKSUM/);
      expect(p.text).to.include("sqlcmd -S localhost,1433 -U sa -b -Q");
    });

    it("SQL Server: the restore hands the .bak to the instance on the share, named as the instance sees it", () => {
      const dir = mkdtempSync(path.join(tmpdir(), "dxb-mssql-"));
      try {
        const extracted = path.join(dir, "extract-COMMDB.bak");
        writeFileSync(extracted, "the backup");
        const share = path.join(dir, "share");
        mkdirSync(share);
        // Something another host planted where the copy goes: replaced, never written through.
        const elsewhere = path.join(dir, "elsewhere");
        writeFileSync(elsewhere, "not yours");
        symlinkSync(elsewhere, path.join(share, "COMMDB.restore.bak"));
        const target = { server: "db", database: "COMMDB", user: "sa", passwordFile: "/p", command: "sqlcmd" };
        const onWindows = handOverBak(
          { ...target, backupDir: share, serverBackupDir: "D:\\DXBackup" },
          dir,
          "db-x",
          extracted,
        );
        expect(onWindows).to.deep.equal({
          agentFile: path.join(share, "COMMDB.restore.bak"),
          serverFile: "D:\\DXBackup\\COMMDB.restore.bak",
        });
        expect(readFileSync(onWindows.agentFile, "utf8")).to.equal("the backup");
        expect(readFileSync(elsewhere, "utf8")).to.equal("not yours");
        expect(serverFile("\\\\nas\\dx\\", "a.bak")).to.equal("\\\\nas\\dx\\a.bak");
        // SQL Server on this host: its own directory under the state dir, not staging (every run empties that).
        const local = handOverBak(target, dir, "db-x", extracted);
        expect(local.agentFile).to.equal(path.join(dir, "handover", "db-x", "COMMDB.restore.bak"));
        expect(local.serverFile).to.equal(local.agentFile);
        expect(statSync(path.join(dir, "handover")).mode & 0o777).to.equal(0o711);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("IBM Security Directory Server: IBM's idsdbrestore procedure, rolled forward only for an online image", () => {
      const isds = {
        kind: "ldap" as const,
        ldap: {
          tool: "isds" as const,
          instance: "dsrdbm01",
          database: "DSRDBM01",
          instanceUser: "dsrdbm01",
          command: "/opt/IBM/ldap/V6.4/sbin/idsdbback",
        },
      };
      const online = operatorPending("ldap", isds, "/w/extract/staging/ldap", at, { online: true })!;
      expect(online.keep).to.deep.equal(["/w/extract/staging/ldap"]);
      expect(online.text.split("\n").slice(2)).to.deep.equal([
        "  ibmslapd -I dsrdbm01 -k",
        "  /opt/IBM/ldap/V6.4/sbin/idsdbrestore -I dsrdbm01 -k /w/extract/staging/ldap",
        "  su - dsrdbm01 -c 'db2 rollforward db DSRDBM01 to end of logs and stop'",
        "  ibmslapd -I dsrdbm01",
      ]);
      const offline = operatorPending("ldap", isds, "/w/extract/staging/ldap", at)!;
      expect(offline.text).to.not.include("rollforward");
    });

    it("an idsdbback directory without the instance's configuration, key stash or DB2 image is incomplete", () => {
      const whole = ["ibmslapd.conf", "ibmslapddir.ksf", "DSRDBM01.0.dsrdbm01.DBPART000.20261129120000.001"];
      expect(isdsBackupProblem(whole)).to.equal(undefined);
      expect(isdsBackupProblem(whole.slice(0, 2))).to.equal("a DB2 backup image missing");
      expect(isdsBackupProblem([whole[2]])).to.equal("ibmslapd.conf, the key stash (*.ksf) missing");
    });

    it("a hand-over to another user: filled while root's, each entry given without following links, the directory last", () => {
      const dir = mkdtempSync(path.join(tmpdir(), "dxb-handover-"));
      try {
        const backup = path.join(dir, "wpProfile.zip");
        writeFileSync(backup, "zip");
        const copy = handOver(dir, "wasconfig-wpProfile", backup, "wpProfile.zip", { uid: 65534, gid: 65534 });
        expect(copy).to.equal(path.join(dir, "handover", "wasconfig-wpProfile", "wpProfile.zip"));
        expect(readFileSync(copy, "utf8")).to.equal("zip");
        expect([statSync(copy).uid, statSync(path.dirname(copy)).uid]).to.deep.equal([65534, 65534]);
        expect(statSync(path.dirname(copy)).mode & 0o777).to.equal(0o700);
        // A link among the entries is handed over itself: what it points to stays root's.
        const secret = path.join(dir, "root-only");
        writeFileSync(secret, "x", { mode: 0o600 });
        const given = path.join(dir, "given");
        mkdirSync(given);
        symlinkSync(secret, path.join(given, "link"));
        giveDir(given, { uid: 65534, gid: 65534 });
        expect(lstatSync(path.join(given, "link")).uid).to.equal(65534);
        expect(statSync(secret).uid).to.equal(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a file another user wrote is read only when it is a regular file: not through a link, not from a FIFO", () => {
      const dir = mkdtempSync(path.join(tmpdir(), "dxb-regular-"));
      try {
        writeFileSync(path.join(dir, "result.xml"), 'result="ok"');
        expect(readRegularFile(path.join(dir, "result.xml"))).to.equal('result="ok"');
        symlinkSync(path.join(dir, "result.xml"), path.join(dir, "link.xml"));
        expect(readRegularFile(path.join(dir, "link.xml"))).to.equal(undefined);
        execFileSync("mkfifo", [path.join(dir, "fifo.xml")]);
        expect(readRegularFile(path.join(dir, "fifo.xml"))).to.equal(undefined);
        expect(readRegularFile(path.join(dir, "missing.xml"))).to.equal(undefined);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("T-SQL and shell quoting of hostile names", () => {
      const cfg = restoreTestConfig();
      const d = cfg.pieces["db-community"];
      if (d.kind !== "database" || d.database.engine !== "sqlserver") throw new Error("fixture");
      d.database.sqlserver.database = "a]b";
      const lines = databaseCommands(d, "/x/it's $(x)`y`.bak", at);
      expect(lines[1]).to.include(
        `-Q "RESTORE DATABASE [a]]b] FROM DISK = N'/x/it''s \\$(x)\\\`y\\\`.bak' WITH REPLACE, CHECKSUM"`,
      );
    });

    it("Oracle: SET UNTIL TIME before RESTORE in one RUN block, and the disaster path from the backup's control file", () => {
      const p = operatorPending("db-jcr", c.pieces["db-jcr"], "/w/extract/staging/db-jcr", at, {
        controlfile: "cf_0a1b2c_1_1",
      })!;
      const lines = p.text.split("\n").map((l) => l.trim());
      const run = [
        "CATALOG START WITH '/w/extract/staging/db-jcr/' NOPROMPT;",
        "RUN {",
        `SET UNTIL TIME "TO_DATE('2026-11-28 02:03:04','YYYY-MM-DD HH24:MI:SS')";`,
        "RESTORE DATABASE;",
        "RECOVER DATABASE;",
        "}",
        "ALTER DATABASE OPEN RESETLOGS;",
        "EOF",
      ];
      // The control file is intact: mount it.
      const first = lines.indexOf("STARTUP FORCE MOUNT;");
      expect(lines.slice(first + 1, first + 1 + run.length)).to.deep.equal(run);
      // It is lost (a rebuilt server): the one in the backup, then the same recovery.
      const second = lines.indexOf("STARTUP FORCE NOMOUNT;");
      expect(second).to.be.greaterThan(first);
      expect(lines.slice(second + 1, second + 3 + run.length)).to.deep.equal([
        "RESTORE CONTROLFILE FROM '/w/extract/staging/db-jcr/cf_0a1b2c_1_1';",
        "ALTER DATABASE MOUNT;",
        ...run,
      ]);
      expect(lines.filter((l) => l === "env ORACLE_SID=JCR rman target / <<'EOF'")).to.have.length(2);
      expect(p.text).to.include("as oracle");
    });

    it("Oracle: through the last log the backup holds (SET UNTIL SEQUENCE), unless --until names a time", () => {
      const text = (extra: Parameters<typeof operatorPending>[4]) =>
        operatorPending("db-jcr", c.pieces["db-jcr"], "/w/x", at, extra)!.text;
      expect(text({ lastArchivedLog: "1:42" })).to.include("SET UNTIL SEQUENCE 43 THREAD 1;");
      expect(text({ lastArchivedLog: "1:42" })).to.not.include("SET UNTIL TIME");
      expect(text({ lastArchivedLog: "1:42", until: true })).to.include(
        `SET UNTIL TIME "TO_DATE('2026-11-28 02:03:04','YYYY-MM-DD HH24:MI:SS')";`,
      );
      // A record value that is not thread:sequence is not used.
      expect(text({ lastArchivedLog: "1:42; DROP" })).to.include("SET UNTIL TIME");
    });

    it("Oracle in NOARCHIVELOG mode: the backup's own control file, no redo to apply (RECOVER DATABASE NOREDO)", () => {
      const cfg = restoreTestConfig();
      const d = cfg.pieces["db-jcr"];
      if (d.kind !== "database" || d.database.engine !== "oracle") throw new Error("fixture");
      d.database.oracle.archivelogMode = false;
      const text = operatorPending("db-jcr", d, "/w/x", at)!.text;
      expect(text).to.include("RECOVER DATABASE NOREDO;");
      expect(text).to.include(`SET UNTIL TIME "TO_DATE('2026-11-28 02:03:04','YYYY-MM-DD HH24:MI:SS')";`);
      expect(text).to.include("RESTORE CONTROLFILE FROM '/w/x/cf_<piece>';");
      expect(text).to.not.include("STARTUP FORCE MOUNT;");
    });

    it("XMLAccess, remote sources and WebSphere: explained, never loaded", () => {
      expect(operatorPending("xmlaccess-base", c.pieces["xmlaccess-base"], "/w/x.xml", at)!.text).to.equal(
        "xmlaccess-base: an XMLAccess export restores single applications, not the portal; import it only if you mean to: /opt/HCL/wp_profile/PortalServer/bin/xmlaccess.sh -in /w/x.xml -url http://localhost:10039/wps/config -useEncryptedCredentials <file>",
      );
      expect(operatorPending("remote-crm", c.pieces["remote-crm"], "/w/crm.json", at)).to.deep.equal({
        text: "remote-crm: the backup of the remote source is extracted for its owner: /w/crm.json",
        keep: ["/w/crm.json"],
      });
      expect(operatorPending("wasconfig-wpProfile", c.pieces["wasconfig-wpProfile"], "/w/wp.zip", at)).to.deep.include({
        keep: [],
      });
      // What the agent restores itself leaves nothing.
      expect(operatorPending("db-dam", c.pieces["db-dam"], "/w/x", at)).to.equal(undefined);
      expect(operatorPending("ldap", c.pieces.ldap, "/w/x", at)).to.equal(undefined);
    });

    it("--until: only for images with logs to apply, and not before the image began", () => {
      const db2 = (mode: string, ts = "20261128020000") => ({
        name: "db-release",
        file: "/x",
        config: {
          kind: "database" as const,
          domain: "release" as const,
          database: { engine: "db2" as const, db2: { database: "RELEASE", command: "db2" } },
        },
        pairs: [
          ["mode", mode],
          ["backupTimestamp", ts],
        ] as Array<[string, string]>,
      });
      const later = new Date(2026, 10, 28, 3, 0, 0);
      expect(untilProblem(later, [db2("online")])).to.equal(undefined);
      expect(untilProblem(later, [db2("offline")])).to.match(
        /^--until: db-release is an offline DB2 image, restored as it was taken \(without rolling forward\)/,
      );
      expect(untilProblem(new Date(2026, 10, 28, 1, 0, 0), [db2("online")])).to.match(
        /is before db-release's backup began/,
      );
      const noArchivelog = restoreTestConfig().pieces["db-jcr"];
      if (noArchivelog.kind !== "database" || noArchivelog.database.engine !== "oracle") throw new Error("fixture");
      noArchivelog.database.oracle.archivelogMode = false;
      expect(untilProblem(later, [{ name: "db-jcr", file: "/x", config: noArchivelog, pairs: [] }])).to.match(
        /db-jcr is a NOARCHIVELOG Oracle backup, which has no redo/,
      );
      expect(
        untilProblem(later, [{ name: "ldap", file: "/x", config: restoreTestConfig().pieces.ldap, pairs: [] }]),
      ).to.match(/applies to DB2 and Oracle pieces, and this restore has none/);
    });

    it("local times for DB2, Oracle and dsmc", () => {
      expect(db2Until(at)).to.equal("2026-11-28-02.03.04");
      expect(oracleTime(at)).to.equal("2026-11-28 02:03:04");
      expect(tsmPit(at)).to.deep.equal(["-dateformat=3", "-pitdate=2026-11-28", "-timeformat=1", "-pittime=02:03:04"]);
    });

    it("slapadd next to slapcat; pgrep patterns match only the path", () => {
      expect(slapaddCommand("/usr/sbin/slapcat")).to.equal("/usr/sbin/slapadd");
      expect(slapaddCommand("slapcat")).to.equal("slapadd");
      expect(slapaddCommand("/opt/ol/bin/my-slapcat")).to.equal("/opt/ol/bin/my-slapadd");
      expect(slapaddCommand("/opt/ol/bin/export")).to.equal("/opt/ol/bin/slapadd");
      expect(regexLiteral("/opt/a.b/[x]+(y)")).to.equal("/opt/a\\.b/\\[x\\]\\+\\(y\\)");
    });

    it("the fix-pack guard's refusal names both levels and the two safe choices, as the integration tests read it", () => {
      const text = fixPackRefusal({
        runId: "20261128T020000Z-1a2b3c",
        changes: ["  com.hcl.dx.cf95: 9.5.0.CF221 in the recovery point, 9.5.0.CF222 installed now"],
        agent: "/opt/dxbackup/dx-t/bin/dxbackup-agent --config /etc/dxbackup/dx-t/agent.json",
        after: { runId: "20261129T020000Z-4d5e6f" },
        wanted: ["target:portalServer"],
      });
      expect(text).to.include(
        "REFUSED: a fix pack changed IBM Installation Manager since recovery point 20261128T020000Z-1a2b3c:",
      );
      expect(text).to.include("com.hcl.dx.cf95: 9.5.0.CF221 in the recovery point, 9.5.0.CF222 installed now");
      expect(text).to.match(
        /1\. restore the Portal file systems and all three IIM directories together from this recovery point:\n\s+\S+ --config \S+ restore \S+ --in-place --piece files/,
      );
      expect(text).to.match(
        /2\. or pick a recovery point taken after the fix pack, such as 20261129T020000Z-4d5e6f:\n\s+\S+ --config \S+ restore 20261129T020000Z-4d5e6f --in-place --piece target:portalServer\n/,
      );
      expect(text).to.include("--leave-portal-and-iim-at-different-levels");
      expect(fixPackRefusal({ runId: "r", changes: [], agent: "a", after: {}, wanted: [] })).to.match(
        /2\. or pick a recovery point taken after the fix pack \(none exists yet: take one now with 'run'\)\./,
      );
    });
  });

  describe("latest never picks a point that is not one", () => {
    const snap = (id: string, time: string, tags: string[]) => ({ id, time, tags });
    const all = [
      snap("a", "2026-11-27T02:00:00Z", ["piece:files", "run:A"]),
      snap("b", "2026-11-28T02:00:00.5+01:00", ["piece:files", "run:B"]),
      snap("c", "2026-11-29T02:00:00Z", ["piece:files", "run:C", NOT_A_RECOVERY_POINT_TAG]),
      snap("d", "2026-11-29T03:00:00Z", ["piece:db-dam", "run:D"]),
    ];
    it("the newest files snapshot that is a recovery point, before --before if given", () => {
      expect(pickLatest(all)?.id).to.equal("b");
      expect(pickLatest(all, new Date("2026-11-28T01:00:00Z"))?.id).to.equal("a");
      expect(pickLatest(all, new Date("2026-11-28T01:00:00.5Z"))?.id).to.equal("a");
      expect(pickLatest(all, new Date("2026-11-01T00:00:00Z"))).to.equal(undefined);
      expect(newest(all)?.id).to.equal("d");
    });
  });
});

/** A context over a temp directory (no repository is opened). */
function tempContext(dir: string): AgentContext {
  writeFileSync(path.join(dir, "env.json"), "{}");
  const config = restoreTestConfig({ dir, stateDir: path.join(dir, "state") });
  return testContext(config, new Logger("portal-1", false));
}

/** Every file, directory and symlink under ROOT with its content: what "exactly as before" means. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(root, p);
      if (e.isSymbolicLink()) out[rel] = "-> link";
      else if (e.isDirectory()) {
        out[rel] = "dir";
        walk(p);
      } else out[rel] = readFileSync(p, "utf8");
    }
  };
  walk(root);
  return out;
}

describe("agent restore: undo journal (temp directories)", () => {
  let dir: string;
  let ctx: AgentContext;
  let root: string;
  const put = (rel: string, content: string) => {
    const f = path.join(root, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, content);
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-undo-"));
    ctx = tempContext(dir);
    root = path.join(dir, "opt");
    put("AppServer/lib/a.jar", "app 1");
    put("AppServer/profiles/Dmgr01/config/cell.xml", "dmgr 1");
    put("PortalServer/base/p.jar", "portal 1");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("moves only the outermost paths aside and puts everything back exactly, nested targets included", () => {
    const before = tree(root);
    const app = path.join(root, "AppServer");
    const missing = path.join(root, "wp_profile");
    moveAside(
      ctx,
      "20261128T020000Z",
      outermost([path.join(app, "profiles/Dmgr01"), app, path.join(root, "PortalServer"), missing]),
    );
    expect(readdirSync(root).sort()).to.deep.equal([
      "AppServer.dxbackup-before-20261128T020000Z",
      "PortalServer.dxbackup-before-20261128T020000Z",
    ]);
    // The restore writes new trees, a path that did not exist before included.
    put("AppServer/lib/a.jar", "app 2");
    put("AppServer/profiles/Dmgr01/config/cell.xml", "dmgr 2");
    put("PortalServer/base/p.jar", "portal 2");
    put("wp_profile/x", "new");
    expect(undoStamps(ctx)).to.deep.equal(["20261128T020000Z"]);
    const said: string[] = [];
    undoJournal(ctx, "20261128T020000Z", (l) => said.push(l));
    const now = tree(root);
    for (const [k, v] of Object.entries(before)) expect(now[k], k).to.equal(v);
    // What the restore wrote is kept aside, never deleted.
    expect(
      readFileSync(
        path.join(root, "AppServer.dxbackup-undone-20261128T020000Z/profiles/Dmgr01/config/cell.xml"),
        "utf8",
      ),
    ).to.equal("dmgr 2");
    expect(readFileSync(path.join(root, "wp_profile.dxbackup-undone-20261128T020000Z/x"), "utf8")).to.equal("new");
    expect(
      Object.keys(now)
        .filter((k) => !k.includes(".dxbackup-undone-"))
        .sort(),
    ).to.deep.equal(Object.keys(before).sort());
    expect(said).to.include(`restored ${app} as it was before the restore`);
    expect(undoStamps(ctx)).to.deep.equal([]);
  });

  it("undoes a restore killed before its restore started, and a bash journal of nested paths moved one by one", () => {
    const before = tree(root);
    const app = path.join(root, "AppServer");
    const dmgr = path.join(app, "profiles/Dmgr01");
    // The bash agent moved Dmgr01 aside inside AppServer, then AppServer itself.
    const stamp = "20261127T020000Z";
    mkdirSync(ctx.state.undo, { recursive: true });
    writeList(journalFile(ctx, stamp), [
      [dmgr, asidePath(dmgr, stamp)],
      [app, asidePath(app, stamp)],
    ]);
    renameSync(dmgr, asidePath(dmgr, stamp));
    renameSync(app, asidePath(app, stamp));
    put("AppServer/profiles/Dmgr01/config/cell.xml", "restored");
    undoJournal(ctx, stamp, () => undefined);
    const now = tree(root);
    for (const [k, v] of Object.entries(before)) expect(now[k], k).to.equal(v);
  });

  it("a journal entry written before its move that never happened is left as it is", () => {
    const stamp = "20261128T030000Z";
    mkdirSync(ctx.state.undo, { recursive: true });
    const p = path.join(root, "PortalServer");
    writeList(journalFile(ctx, stamp), [[p, asidePath(p, stamp)]]);
    const said: string[] = [];
    undoJournal(ctx, stamp, (l) => said.push(l));
    expect(said).to.deep.equal([`${p} was not moved aside by the restore: left as it is`]);
    expect(readFileSync(path.join(p, "base/p.jar"), "utf8")).to.equal("portal 1");
  });

  it("refuses a journal entry it did not write, and an aside name that is taken", () => {
    const stamp = "20261128T040000Z";
    mkdirSync(ctx.state.undo, { recursive: true });
    writeList(journalFile(ctx, stamp), [["/etc", "/tmp/evil"]]);
    expect(() => undoJournal(ctx, stamp, () => undefined)).to.throw(/did not write/);
    const p = path.join(root, "PortalServer");
    mkdirSync(asidePath(p, "20261128T050000Z"));
    expect(() => moveAside(ctx, "20261128T050000Z", [p])).to.throw(UsageError, /exists already/);
    expect(readFileSync(path.join(p, "base/p.jar"), "utf8")).to.equal("portal 1");
  });
});

describe("agent restore: the target directory and the work directory", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "dxb-target-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("--target: missing is fine, non-empty needs --force, a symlink, a file and / are refused", () => {
    expect(checkTarget(path.join(dir, "new"), false)).to.equal(path.join(dir, "new"));
    writeFileSync(path.join(dir, "f"), "x");
    expect(() => checkTarget(dir, false)).to.throw(
      UsageError,
      `target ${dir} is not empty: choose an empty directory, or add --force`,
    );
    expect(checkTarget(dir, true)).to.equal(dir);
    // Over files, only when no one else can enter it.
    chmodSync(dir, 0o755);
    expect(() => checkTarget(dir, true)).to.throw(
      UsageError,
      `target ${dir} holds files and others can enter it: restore over it only when it is root's alone (chmod 700 ${dir}), or choose an empty directory`,
    );
    chmodSync(dir, 0o700);
    symlinkSync(path.join(dir, "new"), path.join(dir, "link"));
    expect(() => checkTarget(path.join(dir, "link"), true)).to.throw(UsageError, /symbolic link/);
    expect(() => checkTarget(path.join(dir, "f"), true)).to.throw(UsageError, /not a directory/);
    expect(() => checkTarget("/", true)).to.throw(UsageError, /--in-place/);
  });

  it("--target: a directory another user owns or can write, or one under such a directory, is refused (root restores there)", () => {
    const theirs = path.join(dir, "theirs");
    mkdirSync(theirs);
    chownSync(theirs, 65534, 65534);
    const refused = (t: string, why: string) =>
      expect(() => checkTarget(t, false)).to.throw(
        UsageError,
        `target ${t} is not safe to restore into as root: ${why}; give a directory that root owns and only root can write, or one that does not exist yet in such a directory`,
      );
    refused(theirs, `${theirs} is owned by uid 65534`);
    // Not there yet: the directory it would be created in decides.
    refused(path.join(theirs, "new", "deeper"), `${theirs} is owned by uid 65534`);
    const open = path.join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    refused(open, `${open} is writable by every user`);
    // A world-writable sticky directory (/tmp) may hold a new target: others cannot rename root's entries there.
    chmodSync(open, 0o1777);
    expect(checkTarget(path.join(open, "new"), false)).to.equal(path.join(open, "new"));
    refused(open, `${open} is writable by every user`);
    // The user made it between the check and the restore (a race in /tmp): refused when it is created.
    const raced = path.join(open, "raced");
    mkdirSync(raced);
    chownSync(raced, 65534, 65534);
    expect(() => createTarget(raced)).to.throw(UsageError, `${raced} is owned by uid 65534`);
  });

  it("a file the restore writes never goes through a symlink in a --force target", () => {
    mkdirSync(path.join(dir, "elsewhere"));
    symlinkSync(path.join(dir, "elsewhere"), path.join(dir, "dx-t"));
    expect(() => safeDest(dir, "/dx-t/dam.pgdump")).to.throw(UsageError, /not a directory/);
    expect(safeDest(dir, "/dx-u/dam.pgdump")).to.equal(`${dir}/dx-u/dam.pgdump`);
  });

  it("the work directory goes, except what is left for the operator", () => {
    const work = path.join(dir, "restore", "20261128T020000Z");
    const keepFile = path.join(work, "extract/state/staging/db-community/COMMDB.bak");
    mkdirSync(path.dirname(keepFile), { recursive: true });
    writeFileSync(keepFile, "bak");
    mkdirSync(path.join(work, "extract/state/staging/db-release"), { recursive: true });
    mkdirSync(path.join(work, "record/state/recovery-point"), { recursive: true });
    writeFileSync(path.join(work, "db-dam.pgpass"), "secret");
    cleanWork(work, [keepFile]);
    expect(tree(path.join(dir, "restore"))).to.deep.equal({
      "20261128T020000Z": "dir",
      "20261128T020000Z/extract": "dir",
      "20261128T020000Z/extract/state": "dir",
      "20261128T020000Z/extract/state/staging": "dir",
      "20261128T020000Z/extract/state/staging/db-community": "dir",
      "20261128T020000Z/extract/state/staging/db-community/COMMDB.bak": "bak",
    });
    cleanWork(work, []);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});

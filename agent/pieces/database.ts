import { chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { isoSeconds } from "../log";
import { removeTree } from "../files";
import { must, run, type CommandResult } from "../exec";
import { StepError } from "../errors";
import { derbyIj, derbyUrl, sqlLiteral } from "../engines/derby";
import { isDerbyNetworkUrl } from "../../shared/derbyUrl";
import { pgConnection, writePgpass, type PostgresTarget } from "../engines/postgres";
import { bakLocation, serverFile, tsqlName, tsqlString } from "../engines/sqlserver";
import type { DatabasePieceConfig } from "../../shared/hostConfig";
import type { PieceOutcome, PieceRun } from "./types";

/**
 * A fresh, empty staging directory for the piece, optionally owned by the tool's OS user.
 * An owner the system does not know is an error, unless `ifOwnerExists` (then root keeps it).
 */
export function freshDir(dir: string, owner?: string, ifOwnerExists = false): string {
  removeTree(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner) {
    const ids = osIds(owner);
    if (ids) chownSync(dir, ids.uid, ids.gid);
    else if (!ifOwnerExists) throw new Error(`the OS user ${owner} does not exist on this host`);
  }
  return dir;
}

/** uid and gid of an OS user; undefined when the system has no such user. */
export function osIds(name: string): { uid: number; gid: number } | undefined {
  const id = (flag: string) => spawnSync("id", [flag, name], { encoding: "utf8" });
  const u = id("-u");
  const g = u.status === 0 ? id("-g") : u;
  return u.status === 0 && g.status === 0 ? { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) } : undefined;
}

/**
 * RMAN's error, if it printed one (it may exit 0 after one): its first RMAN- line (which command
 * failed) and its first ORA- line (why), as RMAN prints them.
 */
function rmanErrorOf(r: CommandResult): string | undefined {
  const lines = `${r.stdout}\n${r.stderr}`.split("\n").map((l) => l.trim());
  // RMAN-00571 and RMAN-00569 are the banner around its error stack, not an error.
  const rmanLine = lines.find((l) => /^RMAN-\d+/.test(l) && !/^RMAN-0057[01]|^RMAN-00569/.test(l));
  const found = [rmanLine, lines.find((l) => /ORA-\d+/.test(l))].filter(Boolean);
  return found.length ? found.join(" / ") : undefined;
}

/**
 * The last archived log a `BACKUP ... PLUS ARCHIVELOG` backed up, `<thread>:<sequence>`, from
 * RMAN's `input archived log thread=1 sequence=42 ...` lines; undefined for several threads
 * (RAC: a sequence bounds one thread only) or none.
 */
export function lastArchivedLog(rmanOutput: string): string | undefined {
  const logs = [...rmanOutput.matchAll(/input archived log thread=(\d+) sequence=(\d+)/g)];
  const threads = new Set(logs.map((m) => m[1]));
  if (threads.size !== 1) return undefined;
  return `${logs[0][1]}:${Math.max(...logs.map((m) => Number(m[2])))}`;
}

/** pg_dump streamed into a snapshot of its own: no copy of the database on disk. */
export async function streamPgDump(p: PieceRun, pg: PostgresTarget, file: string, what: string): Promise<string> {
  const passfile = path.join(p.runDir, `${p.name}.pgpass`);
  writePgpass(passfile, pg);
  try {
    return await p.ctx.restic.backupStdin(p.step, file, [...p.tags, "--tag", `piece:${p.name}`], {
      cmd: pg.dumpCommand,
      args: ["--format=custom", ...pgConnection(pg)],
      env: { PGPASSFILE: passfile },
      what,
    });
  } finally {
    rmSync(passfile, { force: true });
  }
}

export async function captureDatabase(p: PieceRun): Promise<PieceOutcome> {
  const piece = p.piece as DatabasePieceConfig;
  const d = piece.database;
  const { config } = p.ctx;
  const now = () => isoSeconds(new Date());
  const base = { engine: d.engine, domain: piece.domain };
  switch (d.engine) {
    case "postgresql": {
      const file = `/${config.policy}/${piece.domain}.pgdump`;
      const snapshot = await streamPgDump(p, d.postgresql, file, `pg_dump of ${d.postgresql.database}`);
      return {
        record: { ...base, database: d.postgresql.database, snapshot, file, backupTimestamp: now() },
        snapshot,
      };
    }
    case "derby": {
      // The network server writes the backup itself, as the profile's owner when there is one.
      const dir = freshDir(p.staging, isDerbyNetworkUrl(d.derby.url) ? config.runAs?.user : undefined);
      await derbyIj(
        p.step,
        "backup",
        d.derby.command,
        `connect ${sqlLiteral(derbyUrl(d.derby))};\nCALL SYSCS_UTIL.SYSCS_BACKUP_DATABASE(${sqlLiteral(dir)});\nexit;\n`,
        config.stateDir,
        p.logFile,
      );
      const backup = readdirSync(dir).find((f) => statSync(path.join(dir, f)).isDirectory());
      if (!backup) throw new StepError(p.step, `Derby wrote no backup into ${dir}`);
      return { record: { ...base, database: d.derby.url, file: path.join(dir, backup), backupTimestamp: now() } };
    }
    case "db2": {
      const db2 = d.db2;
      const dir = freshDir(p.staging, db2.instanceUser);
      const opts = { asUser: db2.instanceUser, logFile: p.logFile, errorLine: /SQL\d+N/ };
      let args: string[];
      if (p.mode === "online") {
        // Online backups need archive logging: check it first, and say how to fix it.
        const cfg = await must(
          p.step,
          `db2 get db cfg for ${db2.database}`,
          db2.command,
          ["get", "db", "cfg", "for", db2.database],
          opts,
        );
        const logarch = /\(LOGARCHMETH1\) *= *(\S*)/.exec(cfg.stdout)?.[1] ?? "";
        if (!logarch || logarch === "OFF")
          throw new StepError(
            p.step,
            `online backup of DB2 ${db2.database} needs archive logging, but LOGARCHMETH1 is ${logarch || "not set"}: run 'db2 update db cfg for ${db2.database} using LOGARCHMETH1 DISK:<archive dir>' and take one offline backup, or capture '${piece.domain}' only in offline schedules`,
          );
        // The archive the config declares (and coverage checks is captured) must be the one DB2 uses.
        const disk = /^DISK:(.+?)\/?$/.exec(logarch)?.[1];
        const declared = db2.archiveLogPath?.replace(/\/$/, "");
        if (declared && disk !== declared)
          p.ctx.log.warn(
            "db2-archive",
            `DB2 ${db2.database} archives its logs with LOGARCHMETH1 = ${logarch}, not in ${declared} as the config declares: set archiveLogPath to where DB2 archives, so that the archived logs are captured`,
          );
        args = ["backup", "database", db2.database, "online", "to", dir, "compress", "include", "logs"];
      } else {
        args = ["backup", "database", db2.database, "to", dir, "compress"];
      }
      const out = await must(p.step, `db2 backup of ${db2.database}`, db2.command, args, opts);
      const ts = /timestamp for this backup image is *: *(\d{14})/.exec(out.stdout)?.[1];
      if (!ts) throw new StepError(p.step, `db2 backup of ${db2.database} reported no image timestamp`);
      return { record: { ...base, database: db2.database, mode: p.mode, file: dir, backupTimestamp: ts } };
    }
    case "oracle": {
      const o = d.oracle;
      const dir = freshDir(p.staging, o.osUser);
      const env = ["env", `ORACLE_SID=${o.sid}`, ...(o.oracleHome ? [`ORACLE_HOME=${o.oracleHome}`] : [])];
      const rmanOutput = (script: string) =>
        run(env[0], [...env.slice(1), o.command, "target", "/"], {
          asUser: o.osUser,
          input: script,
          logFile: p.logFile,
        }).then((r) => ({ r, error: rmanErrorOf(r) }));
      const rman = async (what: string, script: string) => {
        const { r, error } = await rmanOutput(script);
        if (error !== undefined || r.code !== 0 || r.signal)
          throw new StepError(p.step, `${what} failed: ${error ?? `exit ${r.code ?? r.signal}`}`);
        return r;
      };
      let lastLog: string | undefined;
      const database = `DATABASE FORMAT ${sqlLiteral(`${dir}/db_%U`)}`;
      const controlfile = `BACKUP CURRENT CONTROLFILE FORMAT ${sqlLiteral(`${dir}/cf_%U`)};`;
      if (p.mode === "online" || o.archivelogMode) {
        // In ARCHIVELOG mode the open database's backup with its logs is consistent once recovered,
        // also in an offline schedule (Portal is stopped): no need to shut the instance down.
        const r = await rman(
          `RMAN backup of ${o.sid}`,
          `RUN {\n  BACKUP AS COMPRESSED BACKUPSET ${database} PLUS ARCHIVELOG FORMAT ${sqlLiteral(`${dir}/arch_%U`)};\n  ${controlfile}\n}\nEXIT;\n`,
        );
        lastLog = lastArchivedLog(r.stdout);
      } else {
        // Oracle Database Backup and Recovery User's Guide, "Backing Up a Database in NOARCHIVELOG
        // Mode" (https://docs.oracle.com/en/database/oracle/oracle-database/19/bradv/backing-up-database.html):
        // a consistent backup is taken with the database mounted, after a clean shutdown (STARTUP
        // FORCE DBA and a second SHUTDOWN IMMEDIATE make it clean even if it was not); the open
        // database's `BACKUP ... PLUS ARCHIVELOG` fails there with RMAN-06149.
        let failed: unknown;
        try {
          await rman(
            `RMAN offline backup of ${o.sid}`,
            `SHUTDOWN IMMEDIATE;\nSTARTUP FORCE DBA;\nSHUTDOWN IMMEDIATE;\nSTARTUP MOUNT;\nRUN {\n  BACKUP AS COMPRESSED BACKUPSET ${database};\n  ${controlfile}\n}\nEXIT;\n`,
          );
        } catch (e) {
          failed = e;
        }
        // Always, as the servers are started again: the database is opened whatever the backup did.
        // ORA-01531: it is open already (the backup failed before its shutdown).
        const open = await rmanOutput("ALTER DATABASE OPEN;\nEXIT;\n");
        if (
          (open.error !== undefined && !/ORA-01531/.test(open.error)) ||
          (open.error === undefined && open.r.code !== 0)
        )
          throw new StepError(
            p.step,
            `${failed ? `${(failed as Error).message}; then ` : ""}the database ${o.sid} could not be opened again (${open.error ?? `exit ${open.r.code ?? open.r.signal}`}): THE DATABASE IS NOT OPEN; open it with ALTER DATABASE OPEN`,
          );
        if (failed) throw failed;
      }
      return {
        record: {
          ...base,
          database: o.sid,
          mode: p.mode,
          file: dir,
          backupTimestamp: now(),
          // How far this backup's own logs reach: a restore recovers through them, not to a time after.
          ...(lastLog ? { lastArchivedLog: lastLog } : {}),
        },
      };
    }
    case "sqlserver": {
      const s = d.sqlserver;
      const where = bakLocation(s, p.staging);
      const extraPaths: string[] = [];
      if (s.backupDir) {
        extraPaths.push(`${s.backupDir}/${s.database}.bak`);
      } else {
        // SQL Server on Linux writes the .bak as its service account, mssql: the directory is that
        // account's alone, never writable by others (a .bak planted or swapped by a local user).
        // Without that account the server is elsewhere and cannot write here: backupDir names a
        // share both see.
        freshDir(p.staging, "mssql", true);
      }
      const file = `${where.agentDir}/${s.database}.bak`;
      // What the instance writes and verifies: the same file, as it names it. Yesterday's copy goes
      // first, so that a serverBackupDir naming another directory cannot pass off an old one.
      const onServer = serverFile(where.serverDir, `${s.database}.bak`);
      rmSync(file, { force: true });
      const password = readFileSync(s.passwordFile, "utf8").replace(/\n$/, "");
      const opts = { env: { SQLCMDPASSWORD: password }, logFile: p.logFile, errorLine: /^Msg \d+/ };
      const sqlcmd = ["-S", s.server, "-U", s.user, "-b"];
      await must(
        p.step,
        `SQL Server backup of ${s.database}`,
        s.command,
        [
          ...sqlcmd,
          "-Q",
          // COPY_ONLY: the DBA's own full and differential backups keep their differential base
          // (https://learn.microsoft.com/en-us/sql/relational-databases/backup-restore/copy-only-backups-sql-server).
          `BACKUP DATABASE ${tsqlName(s.database)} TO DISK = ${tsqlString(onServer)} WITH COPY_ONLY, CHECKSUM, COMPRESSION, INIT, FORMAT`,
        ],
        opts,
      );
      await must(
        p.step,
        `RESTORE VERIFYONLY of ${onServer}`,
        s.command,
        [...sqlcmd, "-Q", `RESTORE VERIFYONLY FROM DISK = ${tsqlString(onServer)} WITH CHECKSUM`],
        opts,
      );
      if (!lstatSync(file, { throwIfNoEntry: false })?.isFile())
        throw new StepError(
          p.step,
          `SQL Server wrote ${onServer}, but there is no ${file} here: serverBackupDir (${where.serverDir}) and backupDir (${where.agentDir}) must name the same share`,
        );
      return {
        record: {
          ...base,
          database: s.database,
          file,
          verified: "RESTORE VERIFYONLY WITH CHECKSUM",
          backupTimestamp: now(),
        },
        extraPaths,
      };
    }
  }
}

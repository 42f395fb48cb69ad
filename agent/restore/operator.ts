import * as path from "node:path";
import type { PieceConfig } from "../../shared/hostConfig";
import { describe } from "../exec";
import { sqlLiteral } from "../engines/derby";
import { tsqlName, tsqlString } from "../engines/sqlserver";

/**
 * What the operator does by hand: the engines the agent does not drive
 * (SQL Server, Oracle), the exports that are not loaded on purpose (XMLAccess,
 * a remote source's backup for its owner), and what follows a WebSphere
 * configuration restore. Pure: rendered from the host's config and the
 * extracted file.
 */
export interface Pending {
  /** One or more lines, without the final newline. */
  text: string;
  /** Extracted files the text refers to: kept for the operator. */
  keep: string[];
}

/** What a restore knows from the piece's record besides its time. */
export interface RestoreExtra {
  /** The control file piece in the extracted backup (cf_%U). */
  controlfile?: string;
  /** `<thread>:<sequence>` of the last log the backup holds: recovered through, unless `until`. */
  lastArchivedLog?: string;
  /** The operator asked for a time (`--until`): it wins over the backup's last log. */
  until?: boolean;
  /** ISDS: the image was taken online, so the database rolls forward after idsdbrestore. */
  online?: boolean;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Local wall-clock parts of a time (the databases and dsmc take local time). */
function local(d: Date) {
  return {
    Y: pad(d.getFullYear(), 4),
    M: pad(d.getMonth() + 1),
    D: pad(d.getDate()),
    h: pad(d.getHours()),
    m: pad(d.getMinutes()),
    s: pad(d.getSeconds()),
  };
}

/** `2026-11-28-02.00.00`: DB2's `rollforward ... to TIME using local time`. */
export function db2Until(d: Date): string {
  const t = local(d);
  return `${t.Y}-${t.M}-${t.D}-${t.h}.${t.m}.${t.s}`;
}

/** `2026-11-28 02:00:00`: Oracle's TO_DATE(..., 'YYYY-MM-DD HH24:MI:SS'). */
export function oracleTime(d: Date): string {
  const t = local(d);
  return `${t.Y}-${t.M}-${t.D} ${t.h}:${t.m}:${t.s}`;
}

/**
 * dsmc's point in time, local time, in the ISO forms named on the same command line:
 * dsmc reads -pitdate/-pittime in the client's DATEFORMAT/TIMEFORMAT, which dsm.opt may set to
 * anything (4 = DD.MM.YYYY in German installs), so the formats travel with the values
 * (`-dateformat=3` is YYYY-MM-DD, `-timeformat=1` is HH:MM:SS).
 */
export function tsmPit(d: Date): string[] {
  const t = local(d);
  return ["-dateformat=3", `-pitdate=${t.Y}-${t.M}-${t.D}`, "-timeformat=1", `-pittime=${t.h}:${t.m}:${t.s}`];
}

/** A double-quoted shell word (the T-SQL inside has single quotes). */
export function dq(s: string): string {
  return `"${s.replace(/[\\"$`]/g, "\\$&")}"`;
}

/**
 * The commands of a database the agent does not restore itself; FILE is the extracted backup,
 * TIME the point to recover to.
 */
export function databaseCommands(
  c: Extract<PieceConfig, { kind: "database" }>,
  file: string,
  time: Date,
  extra: RestoreExtra = {},
): string[] {
  const d = c.database;
  switch (d.engine) {
    case "sqlserver": {
      const s = d.sqlserver;
      const sqlcmd = describe(s.command, ["-S", s.server, "-U", s.user, "-b"]);
      return [
        `  ${sqlcmd} -Q ${dq(`RESTORE VERIFYONLY FROM DISK = ${tsqlString(file)} WITH CHECKSUM`)}`,
        `  ${sqlcmd} -Q ${dq(`RESTORE DATABASE ${tsqlName(s.database)} FROM DISK = ${tsqlString(file)} WITH REPLACE, CHECKSUM`)}`,
        `  (sqlcmd takes the password from SQLCMDPASSWORD, or asks for it)`,
      ];
    }
    case "oracle": {
      const o = d.oracle;
      const env = [`ORACLE_SID=${o.sid}`, ...(o.oracleHome ? [`ORACLE_HOME=${o.oracleHome}`] : [])];
      // RMAN restores the newest backup it knows unless SET UNTIL comes first, in the same RUN
      // block (https://docs.oracle.com/en/database/oracle/oracle-database/19/bradv/rman-performing-flashback-dbpitr.html).
      // By default it recovers through the last log the backup itself holds (a time after it would
      // ask for the next log, RMAN-06054, which a lost server no longer has).
      const noArchivelog = !o.archivelogMode;
      const log = extra.lastArchivedLog && !extra.until ? /^(\d+):(\d+)$/.exec(extra.lastArchivedLog) : null;
      const until = log
        ? `SET UNTIL SEQUENCE ${Number(log[2]) + 1} THREAD ${log[1]};`
        : `SET UNTIL TIME "TO_DATE('${oracleTime(time)}','YYYY-MM-DD HH24:MI:SS')";`;
      const run = [
        `  CATALOG START WITH ${sqlLiteral(`${file}/`)} NOPROMPT;`,
        `  RUN {`,
        `    ${until}`,
        `    RESTORE DATABASE;`,
        // A NOARCHIVELOG backup has no redo to apply.
        `    RECOVER DATABASE${noArchivelog ? " NOREDO" : ""};`,
        `  }`,
        `  ALTER DATABASE OPEN RESETLOGS;`,
      ];
      const rman = `  ${describe("env", [...env, o.command, "target", "/"])} <<'EOF'`;
      const fromBackup = [
        rman,
        `  STARTUP FORCE NOMOUNT;`,
        `  RESTORE CONTROLFILE FROM ${sqlLiteral(extra.controlfile ? `${file}/${extra.controlfile}` : `${file}/cf_<piece>`)};`,
        `  ALTER DATABASE MOUNT;`,
        ...run,
        `  EOF`,
      ];
      const asUser = o.osUser ? [`  as ${o.osUser} (the backup pieces must be readable by that user):`] : [];
      // NOARCHIVELOG: the datafiles go back to the backup's own point, so the control file must be
      // the backup's too (the current one knows a newer database: ORA-01152 at the open).
      if (noArchivelog)
        return [...asUser, `  (NOARCHIVELOG: the control file of this backup comes back with it)`, ...fromBackup];
      return [
        ...asUser,
        rman,
        `  STARTUP FORCE MOUNT;`,
        ...run,
        `  EOF`,
        `  If the control file is lost too (a rebuilt server), mount the one in the backup instead:`,
        ...fromBackup,
      ];
    }
    default:
      return [];
  }
}

/** What is left for the operator for one piece, or undefined when the agent restored it completely. */
export function operatorPending(
  name: string,
  c: PieceConfig,
  file: string,
  time: Date,
  extra: RestoreExtra = {},
): Pending | undefined {
  switch (c.kind) {
    case "database": {
      const lines = databaseCommands(c, file, time, extra);
      return lines.length
        ? { text: [`${name} (${c.database.engine}):`, ...lines].join("\n"), keep: [file] }
        : undefined;
    }
    case "ldap":
      if (c.ldap.tool === "isds")
        return { text: [`${name} (isds):`, ...isdsCommands(c.ldap, file, extra)].join("\n"), keep: [file] };
      return c.ldap.tool === "openldap"
        ? undefined
        : { text: `${name}: load ${file} with the directory's own tools (ldapadd)`, keep: [file] };
    case "wasConfig":
      return {
        text: `${name}: in a cluster, resynchronise the nodes with the Deployment Manager (syncNode.sh <dmgr host> <soap port>) before starting them`,
        keep: [],
      };
    case "remoteSource":
      return { text: `${name}: the backup of the remote source is extracted for its owner: ${file}`, keep: [file] };
    case "xmlaccess":
      return {
        text: `${name}: an XMLAccess export restores single applications, not the portal; import it only if you mean to: ${describe(c.command, ["-in", file, "-url", c.url, "-useEncryptedCredentials"])} <file>`,
        keep: [file],
      };
  }
}

/**
 * IBM's procedure for an idsdbback backup (https://www.ibm.com/docs/en/svd/10.0.1?topic=utilities-idsdbrestore-dbrestore):
 * idsdbrestore with the instance stopped, which brings back its database, configuration and key
 * stash; an online image then rolls forward before the server starts.
 */
function isdsCommands(
  l: Extract<Extract<PieceConfig, { kind: "ldap" }>["ldap"], { tool: "isds" }>,
  dir: string,
  extra: RestoreExtra,
): string[] {
  const restore = path.posix.join(path.posix.dirname(l.command), "idsdbrestore");
  const tool = l.command.includes("/") ? restore : "idsdbrestore";
  return [
    `  (the whole instance: its database, ibmslapd.conf, schema and key stash; on a local disk, not NFS)`,
    `  ${describe("ibmslapd", ["-I", l.instance, "-k"])}`,
    `  ${describe(tool, ["-I", l.instance, "-k", dir])}`,
    ...(extra.online
      ? [`  ${describe("su", ["-", l.instanceUser, "-c", `db2 rollforward db ${l.database} to end of logs and stop`])}`]
      : []),
    `  ${describe("ibmslapd", ["-I", l.instance])}`,
  ];
}

import { mkdirSync } from "node:fs";
import type { AgentContext } from "../context";
import { CLP_ERROR, CLP_OK, type Db2Target } from "../engines/db2";
import { giveToUser } from "../files";
import { errorLineOf, must } from "../exec";
import { db2Until } from "./operator";

/**
 * A DB2 database back from the image of a recovery point, as IBM's procedure has it:
 * RESTORE DATABASE (https://www.ibm.com/docs/en/db2/11.5.x?topic=commands-restore-database)
 * with LOGTARGET, so that the logs an online image holds (`include logs`) are extracted
 * beside it, then ROLLFORWARD DATABASE
 * (https://www.ibm.com/docs/en/db2/11.5.x?topic=commands-rollforward-database) with
 * OVERFLOW LOG PATH naming them: without it DB2 looks for those logs only in the archive,
 * and when the archive is gone (a lost database server) the database stays in roll-forward
 * pending. `TO END OF BACKUP` is the earliest consistent point and needs no other log;
 * `--until` rolls on through the archived logs to a later time.
 */

export interface Db2Restore {
  /** The extracted image directory. */
  image: string;
  /** The image's timestamp from the recovery point's record (checked as 14 digits when the restore was planned). */
  timestamp: string;
  /** Taken online (`include logs`): rolled forward; offline images are restored without rolling forward. */
  online: boolean;
  /** Roll forward to this time instead of the end of the backup. */
  until?: Date;
  logFile: string;
  /** The state directory: the instance owner gets to traverse it to the image. */
  stateDir: string;
}

/** `restore database DB from IMAGE taken at TS [logtarget LOGS] replace existing [without rolling forward] without prompting`. */
export function db2RestoreArgs(database: string, r: Db2Restore, logs: string): string[] {
  return [
    "restore",
    "database",
    database,
    "from",
    r.image,
    "taken",
    "at",
    r.timestamp,
    ...(r.online ? ["logtarget", logs] : []),
    "replace",
    "existing",
    ...(r.online ? [] : ["without", "rolling", "forward"]),
    // No question on the agent's closed stdin (SQL2523W-style prompts answer themselves "no").
    "without",
    "prompting",
  ];
}

/** `rollforward database DB to (end of backup | TIME using local time) and complete overflow log path (LOGS)`. */
export function db2RollforwardArgs(database: string, until: Date | undefined, logs: string): string[] {
  const to = until ? [db2Until(until), "using", "local", "time"] : ["end", "of", "backup"];
  return ["rollforward", "database", database, "to", ...to, "and", "complete", "overflow", "log", "path", `(${logs})`];
}

/**
 * The restore itself. `at(sub, f, hint)` turns a failure of `f` into the piece's StepError
 * naming the sub-step; the image's logs go to `<image>.logs`, a directory made here.
 */
export async function restoreDb2(
  ctx: AgentContext,
  db2: Db2Target,
  r: Db2Restore,
  at: <T>(sub: string, f: () => Promise<T>, hint?: string) => Promise<T>,
): Promise<void> {
  const { database } = db2;
  const logs = `${r.image}.logs`;
  if (r.online) mkdirSync(logs, { mode: 0o700 });
  await at("chown", () =>
    giveToUser("chown", db2.instanceUser, r.stateDir, r.online ? [r.image, logs] : [r.image], r.logFile),
  );
  const opts = { asUser: db2.instanceUser, logFile: r.logFile, errorLine: CLP_ERROR, okCodes: CLP_OK };

  // RESTORE ... REPLACE EXISTING needs the database without connections. DEACTIVATE ends
  // DB2's own; applications still connected are Portal servers (or a DBA's session), which
  // the agent does not end behind the administrator's back. A database that does not exist
  // (a rebuilt server, SQL1013N) is what the restore creates.
  await at("deactivate", async () => {
    const r = await must(
      "deactivate",
      `db2 deactivate database ${database}`,
      db2.command,
      ["deactivate", "database", database],
      {
        ...opts,
        okCodes: [...CLP_OK, 4],
      },
    );
    const said = r.stdout + r.stderr;
    if (/SQL1495W/.test(said))
      throw new Error(
        `applications are still connected to ${database}: stop the Portal servers that use it (list them with 'db2 list applications for database ${database}', end one with 'db2 "force application (<handle>)"'), then run the restore again`,
      );
    if (r.code === 4 && !/SQL1013N/.test(said))
      throw new Error(`db2 deactivate database ${database} failed (exit 4): ${errorLineOf(said, CLP_ERROR)}`);
  });

  const restored = await at("restore", () =>
    must("restore", `db2 restore database ${database}`, db2.command, db2RestoreArgs(database, r, logs), opts),
  );
  if (restored.code === 2)
    ctx.log.warn(
      "restore",
      `db2 restore of ${database} warned: ${/SQL\d+W.*/.exec(restored.stdout)?.[0] ?? "see the log"}`,
    );
  if (!r.online) return;
  await at(
    "rollforward",
    () =>
      must(
        "rollforward",
        `db2 rollforward database ${database} to ${r.until ? db2Until(r.until) : "end of backup"}`,
        db2.command,
        db2RollforwardArgs(database, r.until, logs),
        opts,
      ),
    r.until
      ? `; the archived logs up to ${db2Until(r.until)} must be in the archive: restore again without --until to stop at the end of the backup (its logs are in the image)`
      : "",
  );
}

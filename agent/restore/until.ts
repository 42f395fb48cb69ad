import type { PieceConfig } from "../../shared/hostConfig";
import { listGet } from "../record";
import type { PiecePlan } from "./select";

/**
 * `--until TIME`: DB2 rolls forward, Oracle recovers to it. Only an image with logs to apply
 * can go there: an offline DB2 image is restored without rolling forward, a NOARCHIVELOG
 * Oracle backup has no redo. Refused before anything is stopped or restored, rather than
 * restoring to another time than the one asked for.
 */
export function untilProblem(until: Date, plans: readonly PiecePlan[]): string | undefined {
  const shown = until.toISOString();
  const databases = plans.filter((p) => p.config?.kind === "database" && ["db2", "oracle"].includes(engine(p.config)));
  if (!databases.length)
    return `--until ${shown} applies to DB2 and Oracle pieces, and this restore has none: leave --until out`;
  for (const p of databases) {
    const c = (p.config as Extract<PieceConfig, { kind: "database" }>).database;
    if (c.engine === "db2" && listGet(p.pairs, "mode") !== "online")
      return `--until: ${p.name} is an offline DB2 image, restored as it was taken (without rolling forward): leave --until out, or choose a recovery point with an online image`;
    if (c.engine === "oracle" && !c.oracle.archivelogMode)
      return `--until: ${p.name} is a NOARCHIVELOG Oracle backup, which has no redo to recover to another time: leave --until out`;
    const started = imageStart(listGet(p.pairs, "backupTimestamp") ?? "");
    if (started && until < started)
      return `--until ${shown} is before ${p.name}'s backup began (${started.toISOString()}): a database rolls forward only from its backup on; choose an earlier recovery point`;
  }
  return undefined;
}

function engine(c: PieceConfig | undefined): string {
  return c?.kind === "database" ? c.database.engine : "";
}

/** A DB2 image timestamp (YYYYMMDDhhmmss, local time) or an ISO time, as the records hold them. */
function imageStart(ts: string): Date | undefined {
  const db2 = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(ts);
  const d = db2 ? new Date(+db2[1], +db2[2] - 1, +db2[3], +db2[4], +db2[5], +db2[6]) : new Date(ts);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

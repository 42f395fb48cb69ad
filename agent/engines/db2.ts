import * as path from "node:path";
import type { PieceConfig } from "../../shared/hostConfig";

/** One DB2 database of the host's config. */
export type Db2Target = Extract<Extract<PieceConfig, { kind: "database" }>["database"], { engine: "db2" }>["db2"];

/** DB2's CLP exits 2 for a warning (the command happened), 4 and 8 for errors. */
export const CLP_OK = [0, 2];
/** The line of a CLP answer that explains an error. */
export const CLP_ERROR = /SQL\d+N/;

/** db2ckbkp beside the configured db2 (both live in the instance's sqllib/bin); from PATH otherwise. */
export function db2ckbkpCommand(db2: string): string {
  return db2.includes("/") ? path.posix.join(path.posix.dirname(db2), "db2ckbkp") : "db2ckbkp";
}

/** The files of the image taken at TS in an image directory (DB.0.INSTANCE.DBPART000.TS.001, ...). */
export function imageFiles(names: readonly string[], ts: string): string[] {
  return /^\d{14}$/.test(ts) ? names.filter((n) => n.includes(`.${ts}.`)).sort() : [];
}

import { chmodSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { freshDir } from "../pieces/database";

/**
 * A fresh directory, `<state dir>/handover/<piece>`, owned by the OS user of the tool that
 * restores the piece (SQL Server's mssql, the WebSphere profile's owner), for the copy of the
 * extracted backup that tool reads: the restore's own work directory is root's alone. Not under
 * staging, which every run empties. `handover/` itself lets them pass and lists nothing.
 */
export function handoverDir(stateDir: string, piece: string, owner?: string, ifOwnerExists = false): string {
  const handover = path.join(stateDir, "handover");
  mkdirSync(handover, { recursive: true, mode: 0o711 });
  chmodSync(handover, 0o711);
  return freshDir(path.join(handover, piece), owner, ifOwnerExists);
}

import { chmodSync, constants, copyFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { giveDir } from "../files";
import { freshDir } from "../pieces/database";

/**
 * Copies FILE, as NAME, into a fresh `<state dir>/handover/<piece>` for the OS user of the tool
 * that restores it (SQL Server's mssql, the WebSphere profile's owner): the restore's own work
 * directory is root's alone. Not under staging, which every run empties; `handover/` itself lets
 * them pass and lists nothing. The copy is made while the directory is still root's, and handed
 * over with it afterwards (giveDir). Returns the copy.
 */
export function handOver(
  stateDir: string,
  piece: string,
  file: string,
  name: string,
  owner?: { uid: number; gid: number },
): string {
  const handover = path.join(stateDir, "handover");
  mkdirSync(handover, { recursive: true, mode: 0o711 });
  chmodSync(handover, 0o711);
  const dir = freshDir(path.join(handover, piece));
  const copy = path.join(dir, name);
  copyFileSync(file, copy, constants.COPYFILE_EXCL);
  if (owner) giveDir(dir, owner);
  return copy;
}

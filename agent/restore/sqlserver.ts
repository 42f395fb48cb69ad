import { copyFileSync, constants, rmSync } from "node:fs";
import * as path from "node:path";
import { bakLocation, serverFile, type SqlServerTarget } from "../engines/sqlserver";
import { osIds } from "../pieces/database";
import { handOver } from "./handover";

/**
 * SQL Server restores only what its service account can read on its own host, and the .bak
 * extracted under the agent's root-only work directory is neither. The restore copies it to
 * where the instance reads its backups: the share (`backupDir`, which the instance names
 * `serverBackupDir`), or, with SQL Server on this host, `<state dir>/handover/<piece>`, owned by
 * its `mssql` account (not staging: every run empties that). Returns the copy as this host sees
 * it and as the instance names it.
 */
export function handOverBak(
  s: SqlServerTarget,
  stateDir: string,
  piece: string,
  extracted: string,
): { agentFile: string; serverFile: string } {
  const name = `${s.database}.restore.bak`;
  if (!s.backupDir) {
    // SQL Server on this host: a directory of mssql's (root's when there is no such user).
    const agentFile = handOver(stateDir, piece, extracted, name, osIds("mssql"));
    return { agentFile, serverFile: agentFile };
  }
  const agentFile = path.join(s.backupDir, name);
  // On a share others write to: whatever is there (a planted link) goes, and the copy is new.
  rmSync(agentFile, { force: true });
  copyFileSync(extracted, agentFile, constants.COPYFILE_EXCL);
  return { agentFile, serverFile: serverFile(bakLocation(s, s.backupDir).serverDir, name) };
}

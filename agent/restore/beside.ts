import { lstatSync, mkdirSync, renameSync } from "node:fs";
import * as path from "node:path";
import { StepError, UsageError } from "../errors";
import { lexists, removeTree } from "../files";
import { notRootOnly } from "../trust";
import { isInside } from "./select";

/**
 * An in-place restore never writes into the live paths. The Portal owner can write in what the
 * restore puts back (it has their owners), so a link they plant there during the restore would
 * take root's writes anywhere (tried: a loop of `ln -sT` redirected one into /etc/profile.d).
 * Each path is restored into a directory of root's alone beside it, `<parent>/.dxbackup-restore-<stamp>`
 * (the same file system: the move is a rename), and moved into place once whole. That is only safe
 * when no one else can change the parent: checked before anything is moved.
 */
export const besideDir = (parent: string, stamp: string): string => path.join(parent, `.dxbackup-restore-${stamp}`);

/**
 * Refuses (before anything is moved) a path whose parent another user can change, or, on a
 * rebuilt host where the parent is not there yet, whose nearest existing ancestor they can;
 * and a directory beside it that is there already (someone else's).
 */
export function checkParents(outermost: readonly string[], stamp: string): void {
  for (const p of outermost) {
    let at = path.dirname(p);
    while (!lexists(at)) at = path.dirname(at);
    const why = notRootOnly(at, { stickyOk: true });
    if (why)
      throw new UsageError(
        `cannot restore ${p} in place safely: ${why}, so the restore could be redirected; restore it with --target and move it into place yourself, or make ${at} root's and writable by root only; nothing was restored`,
      );
    if (lexists(besideDir(path.dirname(p), stamp)))
      throw new UsageError(
        `${besideDir(path.dirname(p), stamp)} is there already: remove it first; nothing was restored`,
      );
  }
}

/** A directory beside a path that this agent made: root's, 0700, not a link. */
export function isOurBesideDir(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st !== undefined && st.isDirectory() && st.uid === 0 && (st.mode & 0o777) === 0o700;
}

/** The outermost paths grouped by their parent directory: one restore beside each group. */
export function byParent(outermost: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const p of outermost) groups.set(path.dirname(p), [...(groups.get(path.dirname(p)) ?? []), p]);
  return groups;
}

/**
 * Restores the PATHS under the outermost paths TOPS, all in PARENT, through a directory beside
 * them: RESTORE_INTO writes the snapshot's paths under the directory it is given; each top that
 * came back is then renamed into place (they were moved aside before). The directory goes,
 * whatever happens.
 */
export async function restoreBeside(
  parent: string,
  tops: readonly string[],
  paths: readonly string[],
  stamp: string,
  restoreInto: (dir: string, paths: string[]) => Promise<void>,
): Promise<void> {
  const dir = besideDir(parent, stamp);
  mkdirSync(parent, { recursive: true, mode: 0o755 }); // a rebuilt host: the parent comes back as root's
  mkdirSync(dir, { mode: 0o700 }); // fails if it is there: never someone else's
  try {
    await restoreInto(
      dir,
      paths.filter((p) => tops.some((t) => p === t || isInside(p, t))),
    );
    for (const t of tops) {
      // The path was moved aside: what stands there now came from elsewhere, and is not replaced.
      if (lexists(t))
        throw new StepError("restore", `${t} appeared during the restore (not by this agent): it is left as it is`);
      // The recovery point has nothing of it: say so, rather than leave it gone without a word.
      if (!lexists(dir + t))
        throw new StepError("restore", `the recovery point holds nothing of ${t}: it stays moved aside`);
      renameSync(dir + t, t);
    }
  } catch (e) {
    // The restore's own failure is the one to report, whatever the clean-up then says.
    try {
      removeTree(dir);
    } catch {
      // Left for undo, which removes it.
    }
    throw e;
  }
  removeTree(dir);
}

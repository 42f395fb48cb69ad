import { mkdirSync, renameSync, rmSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../errors";
import { lexists } from "../files";
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

/** Refuses (before anything is moved) a path whose parent another user can change. */
export function checkParents(outermost: readonly string[]): void {
  for (const p of outermost) {
    const why = notRootOnly(path.dirname(p), { stickyOk: true });
    if (why)
      throw new UsageError(
        `cannot restore ${p} in place safely: ${why}, so the restore could be redirected; restore it with --target and move it into place yourself, or make ${path.dirname(p)} root's and writable by root only; nothing was restored`,
      );
  }
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
  mkdirSync(dir, { mode: 0o700 }); // fails if it is there: never someone else's
  try {
    await restoreInto(
      dir,
      paths.filter((p) => tops.some((t) => p === t || isInside(p, t))),
    );
    for (const t of tops) if (lexists(dir + t)) renameSync(dir + t, t);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

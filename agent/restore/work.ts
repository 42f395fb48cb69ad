import { existsSync, lstatSync, mkdirSync, readdirSync, rmdirSync } from "node:fs";
import * as path from "node:path";
import type { AgentContext } from "../context";
import { UsageError } from "../errors";
import { isoSeconds } from "../log";
import { removeTree } from "../files";
import { notRootOnly } from "../trust";
import { isInside } from "./select";
import { stampFree } from "./undo";

/** The restore's stamp (its work directory and undo journal): the UTC second, made unique. */
export function newStamp(ctx: AgentContext, now = new Date()): string {
  const base = isoSeconds(now).replace(/[-:]/g, "");
  let stamp = base;
  for (let i = 2; !stampFree(ctx, stamp); i++) stamp = `${base}-${i}`;
  return stamp;
}

/**
 * `--target DIR`: absolute; a directory or nothing yet (created 0700 when
 * the restore starts); never a symlink; empty unless --force; never `/`.
 * Root writes there with the backup's owners and modes, so no other user may
 * be able to change it or any directory above it: one could swap in a symlink
 * during the restore (restic's final chmod once made a root-only file 1777).
 */
export function checkTarget(target: string, force: boolean): string {
  const abs = path.resolve(target);
  if (abs === "/")
    throw new UsageError("--target / is the live system: restore with --in-place, which keeps what it replaces");
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) throw new UsageError(`target ${target} is a symbolic link: give the directory itself`);
  if (st && !st.isDirectory()) throw new UsageError(`target ${target} is not a directory`);
  untrustedTarget(abs, st !== undefined);
  const full = st !== undefined && readdirSync(abs).length > 0;
  if (full && !force) throw new UsageError(`target ${target} is not empty: choose an empty directory, or add --force`);
  // What an earlier restore left there has the backup's owners: others who can reach it could
  // plant links in their own directories for this restore to write through.
  if (full && st.mode & 0o011)
    throw new UsageError(
      `target ${target} holds files and others can enter it: restore over it only when it is root's alone (chmod 700 ${target}), or choose an empty directory`,
    );
  return abs;
}

/** Refuses a target (or, before it exists, the directory it is created in) that others can change. */
function untrustedTarget(abs: string, exists: boolean): void {
  let at = abs;
  if (!exists) while (!lstatSync(at, { throwIfNoEntry: false })) at = path.dirname(at);
  const why = exists ? notRootOnly(abs) : notRootOnly(at, { stickyOk: true });
  if (why)
    throw new UsageError(
      `target ${abs} is not safe to restore into as root: ${why}; give a directory that root owns and only root can write, or one that does not exist yet in such a directory`,
    );
}

export function createTarget(abs: string): void {
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  if (lstatSync(abs).isSymbolicLink() || !lstatSync(abs).isDirectory())
    throw new UsageError(`target ${abs} is not a directory`);
  // Another user may have made it between the check and now (in /tmp): it must be root's.
  untrustedTarget(abs, true);
}

/**
 * TARGET + FILE for a file the restore writes itself: every directory on the
 * way that exists already must be a real directory (a symlink in a --force
 * target never redirects the write).
 */
export function safeDest(target: string, file: string): string {
  const dest = target + file;
  let d = target;
  for (const part of file.split("/").filter(Boolean).slice(0, -1)) {
    d = path.join(d, part);
    const st = lstatSync(d, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new UsageError(`${d} is not a directory: cannot write ${dest}`);
  }
  const st = lstatSync(dest, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw new UsageError(`${dest} exists and is not a file: refused`);
  return dest;
}

/**
 * Removes the work directory, except KEEP (extracted backups left for the
 * operator) and the directories leading to them. Password files never stay.
 */
export function cleanWork(work: string, keep: readonly string[]): void {
  if (!existsSync(work)) return;
  const prune = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const p = path.join(dir, entry);
      if (keep.includes(p)) continue;
      const st = lstatSync(p);
      if (st.isDirectory() && keep.some((k) => isInside(k, p))) prune(p);
      else removeTree(p);
    }
  };
  if (keep.some((k) => isInside(k, work))) prune(work);
  else removeTree(work);
  try {
    rmdirSync(path.dirname(work)); // `restore/`, when nothing else is in it
  } catch {
    // Another restore's kept files.
  }
}

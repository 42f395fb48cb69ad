import { lexists, removeTree } from "../files";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from "node:fs";
import * as path from "node:path";
import type { AgentContext } from "../context";
import { EXIT, StepError, UsageError } from "../errors";
import { readList } from "../record";
import { isCleanAbsolute } from "./select";
import { holdLock } from "../lock";
import { besideDir, isOurBesideDir } from "./beside";

/**
 * The undo journal of an in-place restore: `<stateDir>/undo/<stamp>.list`,
 * NUL-separated pairs of (path, where it was moved aside). Each entry is
 * written and synced BEFORE its path is moved, so a restore killed at any
 * point leaves a journal that undo can follow; an empty second value means
 * the path did not exist before the restore (undo moves what the restore
 * created there aside). Only the outermost restored paths are moved, so no
 * journalled path lies inside another. Nothing live is ever deleted: what undo
 * replaces is kept as `<path>.dxbackup-undone-<stamp>`; only the half-restored
 * copy a killed restore left beside a path goes.
 */

export const STAMP = /^[0-9TZ-]+$/;

export const asidePath = (p: string, stamp: string) => `${p}.dxbackup-before-${stamp}`;

export function journalFile(ctx: AgentContext, stamp: string): string {
  return path.join(ctx.state.undo, `${stamp}.list`);
}

/** Exists, as a file, a directory or a symlink (dangling included). */

function appendSynced(file: string, text: string): void {
  const fd = openSync(file, "a", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function freeName(base: string): string {
  if (!lexists(base)) return base;
  for (let i = 2; ; i++) if (!lexists(`${base}.${i}`)) return `${base}.${i}`;
}

/** Whether a stamp is free: no work directory and no journal of it, done or not. */
export function stampFree(ctx: AgentContext, stamp: string): boolean {
  const j = journalFile(ctx, stamp);
  return !existsSync(ctx.state.restore(stamp)) && !existsSync(j) && !existsSync(`${j}.undone`);
}

/**
 * Moves every path aside, journalled. Refuses (UsageError) before moving
 * anything when a path's aside name is taken; when a move fails (a mount
 * point), puts back what was moved and refuses: nothing was restored.
 */
export function moveAside(ctx: AgentContext, stamp: string, paths: readonly string[]): void {
  for (const p of paths) {
    if (!isCleanAbsolute(p) || p === "/")
      throw new UsageError(`cannot restore ${p} in place: not a path to move aside`);
    if (lexists(asidePath(p, stamp)))
      throw new UsageError(`${asidePath(p, stamp)} exists already: move it away first, nothing was restored`);
  }
  mkdirSync(ctx.state.undo, { recursive: true, mode: 0o700 });
  const journal = journalFile(ctx, stamp);
  closeSync(openSync(journal, "wx", 0o600));
  for (const p of paths) {
    const existed = lexists(p);
    appendSynced(journal, `${p}\0${existed ? asidePath(p, stamp) : ""}\0`);
    if (!existed) continue;
    try {
      renameSync(p, asidePath(p, stamp));
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      ctx.log.error("undo", `cannot move ${p} aside (${why}: a mount point?); putting back what was moved`);
      undoJournal(ctx, stamp, () => undefined);
      throw new UsageError(`nothing was restored: move ${p} aside by hand, or restore into a directory with --target`);
    }
  }
}

/**
 * Puts back what the restore STAMP moved aside, newest entry first (a journal
 * of the bash agent, which moved nested paths one by one, undoes the same
 * way). What stands in a path now is kept next to it.
 */
export function undoJournal(ctx: AgentContext, stamp: string, say: (line: string) => void): void {
  const journal = journalFile(ctx, stamp);
  const entries = readList(journal).reverse();
  const problems: string[] = [];
  for (const [orig, aside] of entries) {
    if (!isCleanAbsolute(orig) || orig === "/" || (aside !== "" && aside !== asidePath(orig, stamp)))
      throw new StepError(
        "undo",
        `${journal} has an entry this agent did not write (${JSON.stringify(orig)}): refused`,
      );
    try {
      // What a restore killed half-way left beside the path (beside.ts): a copy of the backup's,
      // never live. Only a directory this agent made (root's, 0700) goes.
      const beside = besideDir(path.dirname(orig), stamp);
      if (isOurBesideDir(beside)) removeTree(beside);
      if (aside === "") {
        if (lexists(orig)) {
          const kept = freeName(`${orig}.dxbackup-undone-${stamp}`);
          renameSync(orig, kept);
          say(`${orig} did not exist before the restore: what the restore put there is kept as ${kept}`);
        }
      } else if (lexists(aside)) {
        if (lexists(orig)) renameSync(orig, freeName(`${orig}.dxbackup-undone-${stamp}`));
        renameSync(aside, orig);
        say(`restored ${orig} as it was before the restore`);
      } else if (lexists(orig)) {
        say(`${orig} was not moved aside by the restore: left as it is`);
      } else {
        problems.push(`${orig}: neither it nor ${aside} exists`);
      }
    } catch (e) {
      throw new StepError(
        "undo",
        `cannot put back ${orig}: ${(e as Error).message}; ${journal} is kept: fix it and run undo ${stamp} again`,
      );
    }
  }
  if (problems.length)
    throw new StepError("undo", `${problems.join("; ")}; ${journal} is kept: run undo ${stamp} again once it is found`);
  renameSync(journal, `${journal}.undone`);
}

/** `undo --list`: the stamps that can be undone, oldest first. */
export function undoStamps(ctx: AgentContext): string[] {
  if (!existsSync(ctx.state.undo)) return [];
  return readdirSync(ctx.state.undo)
    .filter((f) => f.endsWith(".list"))
    .map((f) => f.slice(0, -".list".length))
    .sort();
}

/** `undo STAMP` puts back what an in-place restore replaced; `undo` or `undo --list` lists the stamps. */
export async function undoCommand(ctx: AgentContext, stamp: string | undefined): Promise<number> {
  if (stamp === undefined || stamp === "--list" || stamp === "") {
    for (const s of undoStamps(ctx)) process.stdout.write(`${s}\n`);
    return 0;
  }
  if (!STAMP.test(stamp)) throw new UsageError("undo needs a stamp from 'undo --list'");
  if (!existsSync(journalFile(ctx, stamp))) throw new UsageError(`no in-place restore ${stamp} on this host`);
  const release = holdLock(ctx.state.lock);
  if (!release) {
    process.stderr.write(`dx-backup: undo not started: a run or restore holds ${ctx.state.lock}\n`);
    return EXIT.locked;
  }
  try {
    undoJournal(ctx, stamp, (line) => process.stdout.write(`${line}\n`));
  } finally {
    release();
  }
  return 0;
}

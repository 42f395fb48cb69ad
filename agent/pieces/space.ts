import { existsSync, lstatSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import * as path from "node:path";
import { StepError } from "../errors";
import { humanBytes } from "../log";
import type { PieceRun } from "./types";

/**
 * Database images are staged under the state directory before the snapshot. A file system
 * that cannot hold the next image fails the tool half-way, after minutes of work, with a
 * half-written image and the tool's own words for it. Checked first, against the size of the
 * same piece's image in the last successful run: the piece fails at once, saying how much is
 * needed and where. A piece never staged before is not checked (nothing to compare with).
 */

/** The next image may have grown since: ask for this much more than the last one. */
export const GROWTH = 1.1;

/** Bytes of the regular files at or under P (symbolic links are not followed). */
export function stagedBytes(p: string): number {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  return readdirSync(p).reduce((n, e) => n + stagedBytes(path.join(p, e)), 0);
}

/** The staged size of PIECE in the newest successful (or partial) run of runs.jsonl that recorded one. */
export function lastStagedBytes(runsJsonl: string, piece: string): number | undefined {
  const lines = runsJsonl.split("\n").filter(Boolean).reverse();
  for (const line of lines) {
    let run: { result?: unknown; pieces?: unknown };
    try {
      run = JSON.parse(line) as typeof run;
    } catch {
      continue; // a torn line: the history is data, never a reason to fail
    }
    // A partial run (Spectrum Protect skipped a file) staged its images all the same.
    if ((run.result !== "success" && run.result !== "partial") || !Array.isArray(run.pieces)) continue;
    const p = (run.pieces as Array<Record<string, unknown>>).find((x) => x.piece === piece);
    const bytes = Number(p?.stagedBytes);
    if (p && Number.isSafeInteger(bytes) && bytes >= 0) return bytes;
  }
  return undefined;
}

/** Why the next image of PIECE does not fit in FREE bytes; undefined when it does. */
export function spaceProblem(piece: string, dir: string, free: number, last: number | undefined): string | undefined {
  if (last === undefined) return undefined;
  const needed = Math.ceil(last * GROWTH);
  if (free >= needed) return undefined;
  return `not enough free space to stage ${piece} under ${dir}: its last image was ${humanBytes(last)}, so about ${humanBytes(needed)} is needed, and ${humanBytes(free)} is free there; free space on that file system, or move the agent's stateDir to a larger one`;
}

/** Fails the piece before its tool starts when the staging file system cannot hold its image. */
export function checkStagingSpace(p: PieceRun): void {
  const { state } = p.ctx;
  if (!existsSync(state.runs)) return;
  const last = lastStagedBytes(readFileSync(state.runs, "utf8"), p.name);
  const dir = path.dirname(p.staging);
  const fs = statfsSync(dir);
  const problem = spaceProblem(p.name, dir, fs.bavail * fs.bsize, last);
  if (problem) throw new StepError(p.step, problem);
}

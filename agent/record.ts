import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { PieceRecord, RecoveryPointRecord } from "../shared/records";
import { parsePackagesTsv } from "./iim";
import type { IimPackage } from "../shared/records";

/**
 * The recovery-point record: a directory every files snapshot of a run
 * contains (`<stateDir>/recovery-point`), the same layout whichever agent
 * wrote it:
 *
 *   recovery-point.json   what the point holds (RecoveryPointRecord)
 *   targets.list          target, path pairs (NUL-separated)
 *   pieces/<piece>.list   each piece's key, value pairs (NUL-separated)
 *   run.list              runId, schedule, mode, start, iimAgentDataDir
 *   iim-packages.tsv      id, version, kind of every IIM package (when IIM is a target)
 *   runs.jsonl            the host's run history (status from the repository alone)
 *   drill-status.json     the host's last drill
 *
 * A record read back from a snapshot is data, never instructions: a restore
 * takes paths, profiles and commands from the host's current config and only
 * compares the record's values with it.
 */

export function writeList(file: string, pairs: ReadonlyArray<readonly [string, string]>): void {
  writeFileSync(file, pairs.map(([k, v]) => `${k}\0${v}\0`).join(""));
}

export function readList(file: string): Array<[string, string]> {
  const parts = readFileSync(file, "utf8").split("\0");
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) pairs.push([parts[i], parts[i + 1]]);
  return pairs;
}

export function listGet(pairs: ReadonlyArray<readonly [string, string]>, key: string): string | undefined {
  return pairs.find(([k]) => k === key)?.[1];
}

export interface RecordWrite {
  record: RecoveryPointRecord;
  iimAgentDataDir: string;
  /** Copied in when present: the history that makes status readable from the repository. */
  history?: { runs?: string; drillStatus?: string };
}

export function writeRecord(dir: string, w: RecordWrite): void {
  mkdirSync(dir, { recursive: true });
  const { record } = w;
  writeFileSync(path.join(dir, "recovery-point.json"), `${JSON.stringify(record)}\n`);
  writeList(
    path.join(dir, "targets.list"),
    record.targets.map((t) => [t.target, t.path] as const),
  );
  rmSync(path.join(dir, "pieces"), { recursive: true, force: true });
  if (record.pieces.length) {
    mkdirSync(path.join(dir, "pieces"));
    for (const p of record.pieces) {
      const { piece, kind, completed: _completed, ...rest } = p;
      writeList(path.join(dir, "pieces", `${piece}.list`), [["piece", piece], ["kind", kind], ...Object.entries(rest)]);
    }
  }
  writeList(path.join(dir, "run.list"), [
    ["runId", record.runId],
    ["schedule", record.schedule],
    ["mode", record.mode],
    ["start", record.start],
    ["iimAgentDataDir", w.iimAgentDataDir],
  ]);
  for (const f of ["runs.jsonl", "drill-status.json"]) rmSync(path.join(dir, f), { force: true });
  if (w.history?.runs !== undefined) writeFileSync(path.join(dir, "runs.jsonl"), w.history.runs);
  if (w.history?.drillStatus !== undefined) writeFileSync(path.join(dir, "drill-status.json"), w.history.drillStatus);
}

/** A record as read back from a snapshot (restored into a private work directory). */
export interface RecordRead {
  runId: string;
  schedule: string;
  mode: string;
  start: string;
  iimAgentDataDir: string;
  targets: Array<{ target: string; path: string }>;
  /** Piece name → its key/value pairs. */
  pieces: Map<string, Array<[string, string]>>;
  /** Absent when IIM was not a target of the run. */
  iimPackages?: IimPackage[];
}

export function readRecord(dir: string): RecordRead {
  const run = readList(path.join(dir, "run.list"));
  const pieces = new Map<string, Array<[string, string]>>();
  const piecesDir = path.join(dir, "pieces");
  if (existsSync(piecesDir))
    for (const f of readdirSync(piecesDir)
      .filter((x) => x.endsWith(".list"))
      .sort()) {
      const pairs = readList(path.join(piecesDir, f));
      const name = listGet(pairs, "piece");
      if (name && `${name}.list` === f) pieces.set(name, pairs);
    }
  const tsv = path.join(dir, "iim-packages.tsv");
  return {
    runId: listGet(run, "runId") ?? "",
    schedule: listGet(run, "schedule") ?? "",
    mode: listGet(run, "mode") ?? "",
    start: listGet(run, "start") ?? "",
    iimAgentDataDir: listGet(run, "iimAgentDataDir") ?? "",
    targets: readList(path.join(dir, "targets.list")).map(([target, p]) => ({ target, path: p })),
    pieces,
    iimPackages: existsSync(tsv) ? parsePackagesTsv(readFileSync(tsv, "utf8")) : undefined,
  };
}

export type { PieceRecord };

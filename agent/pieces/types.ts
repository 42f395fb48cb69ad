import type { PieceConfig } from "../../shared/hostConfig";
import type { AgentContext } from "../context";

/** One piece of one run: where it stages, how it tags its own snapshots. */
export interface PieceRun {
  ctx: AgentContext;
  name: string;
  piece: PieceConfig;
  mode: "online" | "offline";
  runId: string;
  /** The run's private work directory (password files, nothing kept). */
  runDir: string;
  /** `<staging>/<piece>`: snapshotted with the file systems, then removed. */
  staging: string;
  /** The run's tags, as restic arguments. */
  tags: string[];
  /** `piece:<name>`: the step a failure names. */
  step: string;
  logFile: string;
}

/** What a captured piece adds to the run. */
export interface PieceOutcome {
  /** Key/value pairs of the piece record (piece, kind and completed are added). */
  record: Record<string, string>;
  /** A snapshot of its own (a streamed dump): part of the run, forgotten if the run fails. */
  snapshot?: string;
  /** Files outside staging that the files snapshot must include (a SQL Server backup share). */
  extraPaths?: string[];
}

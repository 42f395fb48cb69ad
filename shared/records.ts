/**
 * What the agent writes and `dxbackup status` reads: the run status
 * (status.json, one line of runs.jsonl), the pieces of a recovery point and
 * the drill status. Pure: shared by the agent and the control plane.
 */
import { z } from "zod";

/** One piece a run captured: string values only (they travel as NUL-separated lists too). */
export interface PieceRecord {
  piece: string;
  kind: string;
  completed: string;
  [key: string]: string;
}

export interface IimPackage {
  id: string;
  version: string;
  kind: string;
}

export type RunResult = "success" | "partial" | "failed";

/** status.json, and one line of runs.jsonl. */
export interface RunStatus {
  runId: string;
  policy: string;
  host: string;
  schedule: string;
  mode: "online" | "offline";
  start: string;
  end: string;
  durationSeconds: number;
  result: RunResult;
  failedStep: string | null;
  message: string | null;
  snapshotIds: string[];
  pieces: PieceRecord[];
  bytesAdded: number;
  bytesProcessed: number;
  files: number;
  filesNew: number;
  filesChanged: number;
  missingPaths: string[];
  downtimeSeconds: number;
  pruned: boolean;
  iim: { packagesDigest: string; stateDigest: string; packages: IimPackage[] };
  repository: string;
  agentVersion: number;
  /** Whether the run's snapshots are a recovery point that `latest` and `--before` may pick. */
  recoveryPoint: boolean;
  /**
   * The restic that ran (`restic 0.18.1`), how many restic processes the run started, and for how
   * many seconds at least one of them ran (the rest of the run's time is the agent's own).
   */
  restic?: { version: string; processes: number; seconds?: number };
  /** The agent's own peak resident memory during the run (restic's not included). */
  agentPeakRssBytes?: number;
}

/** recovery-point.json: what the recovery point holds (informational: restores take paths from the host's config). */
export interface RecoveryPointRecord {
  runId: string;
  policy: string;
  host: string;
  schedule: string;
  mode: string;
  start: string;
  targets: Array<{ target: string; path: string }>;
  pieces: PieceRecord[];
}

export interface DrillStatus {
  drill: string;
  recoveryPoint: string;
  snapshot: string;
  start: string;
  end: string;
  result: "success" | "failed";
  failedStep: string | null;
  message: string | null;
  checks: string[];
}

/** Tag of a run's snapshots when a failure after the snapshot means they are no recovery point. */
export const NOT_A_RECOVERY_POINT_TAG = "not-a-recovery-point";

/**
 * `restic tag` that makes a run's snapshots no recovery point. schedule:<name>
 * goes too: retention of the schedule neither counts them in its keep-* slots
 * (a good point would be forgotten for them) nor forgets them (nothing is
 * lost). The agent runs it, or `dxbackup prune` where the host cannot.
 */
export function disownTagArgs(runId: string, schedule: string): string[] {
  return [
    "tag",
    "--tag",
    `run:${runId}`,
    "--add",
    NOT_A_RECOVERY_POINT_TAG,
    "--add",
    `failed-schedule:${schedule}`,
    "--remove",
    `schedule:${schedule}`,
  ];
}

/**
 * What `dxbackup status` reads of a run: one line of runs.jsonl, as any agent
 * version wrote it (the bash agent's lines have fewer fields). Read from a
 * host, so checked, never trusted: a line that does not parse is an error.
 */
export const runSummarySchema = z.object({
  runId: z.string(),
  schedule: z.string(),
  end: z.string(),
  result: z.enum(["success", "partial", "failed"]),
  failedStep: z.string().nullable().default(null),
  message: z.string().nullable().default(null),
  snapshotIds: z.array(z.string()).default([]),
  /** Absent in lines of agents before the tag existed: their failed runs took no recovery point. */
  recoveryPoint: z.boolean().optional(),
});
export type RunSummary = z.output<typeof runSummarySchema>;

/** What `dxbackup status` reads of drill-status.json. */
export const drillSummarySchema = z.object({
  result: z.enum(["success", "failed"]),
  end: z.string(),
  failedStep: z.string().nullable().default(null),
  message: z.string().nullable().default(null),
});
export type DrillSummary = z.output<typeof drillSummarySchema>;

// The agent writes RunStatus and DrillStatus; status reads them with the schemas above. If a field
// they read changes its name or type on the writing side, these stop compiling.
export const writtenRunIsReadable = (r: RunStatus): z.input<typeof runSummarySchema> => r;
export const writtenDrillIsReadable = (d: DrillStatus): z.input<typeof drillSummarySchema> => d;

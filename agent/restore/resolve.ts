import { existsSync, mkdirSync, statSync } from "node:fs";
import * as path from "node:path";
import type { HostConfig } from "../../shared/hostConfig";
import { NOT_A_RECOVERY_POINT_TAG } from "../../shared/records";
import type { AgentContext } from "../context";
import { errorLineOf, must } from "../exec";
import { StepError, UsageError } from "../errors";
import { isoSeconds } from "../log";
import { readRecord, type RecordRead } from "../record";
import { globLiteral, RESTIC_ERROR, shortId, tagValue, type SnapshotJson } from "../restic";
import { tsmPit } from "./operator";
import { RUN_ID, SCHEDULE_NAME, SNAPSHOT_ID } from "./select";

/** A recovery point: the run, its files snapshot and its time. */
export interface RecoveryPoint {
  runId: string;
  /** The full id of the files snapshot (`tsm:<run>` on a Spectrum Protect host). */
  filesSnapshot: string;
  time: Date;
}

const FULL_ID = /^[0-9a-f]{64}$/;

const timeOf = (s: SnapshotJson) => new Date(s.time).getTime();
const isRecoveryPoint = (s: SnapshotJson) => !(s.tags ?? []).includes(NOT_A_RECOVERY_POINT_TAG);

/** The newest of the snapshots (restic lists them oldest first; the time decides). */
export function newest(snapshots: readonly SnapshotJson[]): SnapshotJson | undefined {
  let best: SnapshotJson | undefined;
  for (const s of snapshots) if (!best || timeOf(s) >= timeOf(best)) best = s;
  return best;
}

/**
 * What `latest` picks: the newest files snapshot that is a recovery point, before BEFORE if given.
 * `disowned` are the runs an append-only repository marked with a snapshot of their own.
 */
export function pickLatest(
  snapshots: readonly SnapshotJson[],
  before?: Date,
  disowned: ReadonlySet<string> = new Set(),
): SnapshotJson | undefined {
  return newest(
    snapshots.filter(
      (s) =>
        isRecoveryPoint(s) &&
        !disowned.has(tagValue(s, "run") ?? "") &&
        tagValue(s, "piece") === "files" &&
        (!before || timeOf(s) < before.getTime()),
    ),
  );
}

/**
 * The runs a marker snapshot says are no recovery point (an append-only repository cannot re-tag
 * them). Markers are made on a rest-server only: read there even once appendOnly is turned off
 * (the runs marked before are not re-tagged yet), and nowhere else, where the listing would
 * cost every restore a restic process for nothing.
 */
export async function disownedRuns(ctx: AgentContext): Promise<Set<string>> {
  const { repository } = ctx.config;
  if (!repository.appendOnly && !repository.url.startsWith("rest:")) return new Set();
  const markers = await ctx.restic.snapshots(["--tag", NOT_A_RECOVERY_POINT_TAG]);
  return new Set(markers.map((m) => tagValue(m, "run")).filter((r): r is string => r !== undefined));
}

function point(ctx: AgentContext, s: SnapshotJson, disowned: ReadonlySet<string>): RecoveryPoint {
  const runId = tagValue(s, "run") ?? "";
  if (!FULL_ID.test(s.id) || !RUN_ID.test(runId) || Number.isNaN(timeOf(s)))
    throw new UsageError(`snapshot ${shortId(s.id)} of host ${ctx.config.host} is not a dx-backup recovery point`);
  if (!isRecoveryPoint(s) || disowned.has(runId))
    throw new UsageError(
      `run ${runId} is not a recovery point: its snapshots are tagged ${NOT_A_RECOVERY_POINT_TAG} (the run failed after taking them); pick another one with 'snapshots'`,
    );
  return { runId, filesSnapshot: s.id, time: new Date(s.time) };
}

/**
 * The recovery point SPEC names: `latest` (the newest files snapshot, of
 * SCHEDULE if given, taken before BEFORE if given), a run id, or the id of
 * any snapshot of a run. `latest` and `--before` never pick a point tagged
 * not-a-recovery-point; naming one explicitly is refused.
 */
export async function resolveRecoveryPoint(
  ctx: AgentContext,
  spec: string,
  before?: Date,
  schedule?: string,
): Promise<RecoveryPoint> {
  const { restic, config } = ctx;
  const none = () =>
    new UsageError(
      `no recovery point matches '${spec}'${before ? ` before ${isoSeconds(before)}` : ""} on host ${config.host}`,
    );
  const filesOfRun = async (run: string) => newest(await restic.snapshots(["--tag", `run:${run},piece:files`]));
  const disowned = await disownedRuns(ctx);
  let found: SnapshotJson | undefined;
  if (RUN_ID.test(spec)) {
    found = await filesOfRun(spec);
  } else if (SNAPSHOT_ID.test(spec)) {
    // restic ignores --host for an explicit id: the host is checked here.
    const named = (await restic.snapshots([spec])).filter(
      (s) => s.hostname === undefined || s.hostname === config.host,
    );
    if (!named.length) throw new UsageError(`no snapshot ${spec} of host ${config.host}`);
    const run = tagValue(named[0], "run");
    if (run === undefined || !RUN_ID.test(run)) throw none();
    found = await filesOfRun(run);
  } else if (spec === "latest") {
    if (schedule !== undefined && !SCHEDULE_NAME.test(schedule))
      throw new UsageError(`--schedule takes a schedule name, not '${schedule}'`);
    found = pickLatest(
      await restic.snapshots(["--tag", `piece:files${schedule ? `,schedule:${schedule}` : ""}`]),
      before,
      disowned,
    );
  } else {
    throw new UsageError("a recovery point is 'latest', a run id (20261128T020000Z-1a2b3c) or a snapshot id");
  }
  if (!found) throw none();
  return point(ctx, found, disowned);
}

/** Where a snapshot keeps the recovery-point record, and where it lands under WORK. */
export function recordDirs(config: HostConfig, work: string): { inSnapshot: string; restored: string } {
  const inSnapshot = path.posix.join(config.stateDir, "recovery-point");
  return { inSnapshot, restored: path.join(work, "record") + inSnapshot };
}

export function readRestoredRecord(dir: string, what: string): RecordRead {
  if (!existsSync(path.join(dir, "targets.list")) || !existsSync(path.join(dir, "run.list")))
    throw new UsageError(`${what} holds no recovery-point record this agent can read`);
  try {
    return readRecord(dir);
  } catch (e) {
    throw new UsageError(`${what} holds no recovery-point record this agent can read (${(e as Error).message})`);
  }
}

/** The recovery-point record inside the files snapshot, restored into WORK/record. */
export async function fetchRecord(
  ctx: AgentContext,
  rp: RecoveryPoint,
  work: string,
  logFile?: string,
): Promise<RecordRead> {
  const dirs = recordDirs(ctx.config, work);
  const r = await ctx.restic.run(
    ["restore", rp.filesSnapshot, "--target", path.join(work, "record"), "--include", globLiteral(dirs.inSnapshot)],
    { logFile },
  );
  if (r.code !== 0)
    throw new StepError(
      "record",
      `cannot read the recovery-point record of snapshot ${shortId(rp.filesSnapshot)}: ${errorLineOf(r.stderr, RESTIC_ERROR)}`,
    );
  const record = readRestoredRecord(dirs.restored, `snapshot ${shortId(rp.filesSnapshot)}`);
  if (record.runId !== rp.runId)
    throw new UsageError(
      `snapshot ${shortId(rp.filesSnapshot)} of run ${rp.runId} holds the record of run ${JSON.stringify(record.runId)}: refused`,
    );
  return record;
}

// ------------------------------------------------------------------ TSM ----

/** dsmc with the host's options appended (the bash agent's `tsm`); any return code but 0 fails STEP. */
export function tsm(config: HostConfig, step: string, what: string, args: string[], logFile?: string) {
  return must(step, what, config.tsm.dsmc, [...args, ...config.tsm.options], {
    logFile,
    errorLine: /ANS\d{4}[ESW]/,
  });
}

const isFile = (p: string) => {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
};

/** Each path back from Spectrum Protect, under DEST ("" = in place), at the point in time PIT. */
export async function tsmRestorePaths(
  config: HostConfig,
  step: string,
  dest: string,
  paths: readonly string[],
  pit: string[],
  logFile?: string,
): Promise<void> {
  for (const p of paths) {
    mkdirSync(path.dirname(dest + p), { recursive: true, mode: 0o700 });
    // Targets are directories (a file target is restored as a file while it still exists).
    if (isFile(p))
      await tsm(config, step, `dsmc restore of ${p}`, ["restore", p, dest + p, "-replace=all", ...pit], logFile);
    else {
      const dir = p.replace(/\/+$/, "");
      await tsm(
        config,
        step,
        `dsmc restore of ${p}`,
        ["restore", `${dir}/`, `${dest}${dir}/`, "-subdir=yes", "-replace=all", ...pit],
        logFile,
      );
    }
  }
}

/**
 * On a Spectrum Protect host a recovery point is a point in time: `latest`,
 * or the newest before --before. Its record, restored at that point, says
 * what it holds.
 */
export async function tsmResolve(
  ctx: AgentContext,
  spec: string,
  before: Date | undefined,
  work: string,
  logFile?: string,
): Promise<{ rp: RecoveryPoint; record: RecordRead; pit: string[] }> {
  if (spec !== "latest")
    throw new UsageError("on a Spectrum Protect host, pick a recovery point with 'latest' and --before TIME");
  const pit = before ? tsmPit(before) : [];
  const dirs = recordDirs(ctx.config, work);
  try {
    await tsmRestorePaths(ctx.config, "record", path.join(work, "record"), [dirs.inSnapshot], pit, logFile);
  } catch (e) {
    throw new UsageError(
      `dsmc cannot restore the recovery-point record${before ? ` before ${isoSeconds(before)}` : ""}: ${(e as Error).message}`,
    );
  }
  const record = readRestoredRecord(dirs.restored, "Spectrum Protect");
  const time = new Date(record.start);
  if (!RUN_ID.test(record.runId) || Number.isNaN(time.getTime()))
    throw new UsageError("no recovery-point record this agent can read came back from Spectrum Protect");
  return { rp: { runId: record.runId, filesSnapshot: `tsm:${record.runId}`, time }, record, pit };
}

import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  copyFileSync,
  appendFileSync,
} from "node:fs";
import * as path from "node:path";
import type { ScheduleConfig } from "../../shared/hostConfig";
import {
  disownTagArgs,
  NOT_A_RECOVERY_POINT_TAG,
  type PieceRecord,
  type RunResult,
  type RunStatus,
} from "../../shared/records";
import { forgetArgs, keepFlags } from "../../shared/retention";
import type { AgentContext } from "../context";
import { EXIT, StepError, UsageError } from "../errors";
import { errorLineOf, killRunning } from "../exec";
import { lexists, publish, removeTree } from "../files";
import { iimState, packagesTsv, type IimState } from "../iim";
import { tryLock } from "../lock";
import { humanBytes, isoSeconds } from "../log";
import { capturePiece, piecePhase } from "../pieces";
import { writeRecord } from "../record";
import { removePreviousKey } from "../rekey";
import { backupFeatures, RESTIC_ERROR, type BackupSummary } from "../restic";
import { serversLeftStoppedBy, startServers, stopServers } from "../servers";
import { renderRunMetrics, writeMetricsFile } from "../metrics";
import { dsmc, tsmCounts, tsmSpecs } from "./tsm";
import { markStarted, ping } from "../alerts";

export const AGENT_VERSION = 2;
/** How many lines of runs.jsonl each recovery point carries: months of hourly runs. */
const HISTORY_IN_RECORD = 2000;

/** Everything a run learns, in one place: what status.json will say. */
class RunState {
  result?: RunResult;
  failedStep?: string;
  message?: string;
  step = "start";
  summary?: BackupSummary;
  filesSnapshot?: string;
  streamed: string[] = [];
  pieces: PieceRecord[] = [];
  extraPaths: string[] = [];
  missing: string[] = [];
  downtimeSeconds = 0;
  stoppedAt = 0;
  pruned = false;
  iim?: IimState;
  /** A failure after the snapshot: the snapshots exist but are no recovery point. */
  afterSnapshot = false;
  scheduleName = "";
  /** The restic that runs (`restic 0.18.1`), or `dsmc` on a Spectrum Protect host. */
  resticVersion = "unknown";
  /** The run's snapshots once tagged not-a-recovery-point (tagging gives them new ids). */
  disowned?: string[];

  fail(step: string, message: string) {
    // The first failure wins; a partial before it is not the run's result any more.
    if (!this.failedStep || this.result === "partial") {
      this.failedStep = step;
      this.message = message;
    }
    this.result = "failed";
  }
  partial(step: string, message: string) {
    if (this.result) return;
    this.result = "partial";
    this.failedStep = step;
    this.message = message;
  }
}

export interface RunOptions {
  schedule: string;
  baseline: boolean;
}

/** `run SCHEDULE` (and `baseline SCHEDULE`): one recovery point. Returns the exit code. */
export async function runCommand(ctx: AgentContext, o: RunOptions): Promise<number> {
  const { config, state, log } = ctx;
  const schedule: ScheduleConfig | undefined = config.schedules[o.schedule];
  if (!/^[a-z][a-z0-9-]*$/.test(o.schedule)) throw new UsageError("run needs a schedule name");
  if (!schedule)
    throw new UsageError(
      `unknown schedule '${o.schedule}' (this host has: ${Object.keys(config.schedules).join(" ")})`,
    );

  mkdirSync(state.dir, { recursive: true, mode: 0o700 });
  if (!tryLock(state.lock)) {
    log.error("locked", `another dx-backup run of policy ${config.policy} is in progress on this host; not starting`);
    process.stderr.write(`dx-backup: not started: another run holds ${state.lock}\n`);
    return EXIT.locked;
  }

  const start = new Date();
  const runId = `${start
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
  log.runId = runId;
  const runDir = state.runDir(runId);
  const runLog = state.runLog;
  removeTree(state.staging);
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  mkdirSync(state.recoveryPoint, { recursive: true });
  mkdirSync(state.staging, { recursive: true });
  // Tools running as a DB2 instance owner or oracle write into staging: let them traverse.
  chmodSync(state.dir, 0o711);
  chmodSync(state.staging, 0o711);
  writeFileSync(runLog, "");
  ctx.restic.logFile = runLog;
  const tags = [
    "dxbackup",
    `policy:${config.policy}`,
    `schedule:${o.schedule}`,
    `run:${runId}`,
    `mode:${schedule.mode}`,
  ].flatMap((t) => ["--tag", t]);
  const s = new RunState();
  s.scheduleName = o.schedule;
  s.resticVersion = config.fileEngine === "restic" ? await ctx.restic.version() : "dsmc";

  // A signal ends the run as a failure at the step it interrupted. The tools of that step (restic,
  // dumps) are stopped, so it ends soon; a stop or start command is never killed: it finishes, and
  // no later step begins. Further signals change nothing: the servers are started again whatever.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    log.warn("interrupted", `interrupted by ${sig} during ${s.step}: stopping it, then starting the servers`);
    killRunning("SIGINT");
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const sig of signals) process.on(sig, onSignal);

  markStarted(ctx, o.schedule, runId);
  await ping(config, log, o.schedule, "start");
  log.info("run-started", `dx-backup: run ${runId} of schedule ${o.schedule} (${schedule.mode}) on ${config.host}`, {
    schedule: o.schedule,
  });

  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    if (interrupted) throw new StepError(s.step, `interrupted by ${interrupted}`);
    s.step = name;
    try {
      return await work();
    } finally {
      // The step's own failure (a killed tool) reads as what it was: the interruption.
      if (interrupted) s.fail(name, `interrupted by ${interrupted}`);
    }
  };

  try {
    // A previous run was killed while the servers were down: bring them back first.
    const leftBy = serversLeftStoppedBy(ctx);
    if (leftBy !== undefined) {
      log.warn("recover", `servers were left stopped by run ${leftBy}, which did not finish; starting them`);
      await step("start-servers", () => startServers(ctx, runLog));
    }
    const hasIim = schedule.targets.some((t) => t.target === "iim");
    rmSync(path.join(state.recoveryPoint, "iim-packages.tsv"), { force: true });
    if (config.fileEngine === "restic") await step("repository", () => ensureRepository(ctx));

    const pieceRun = (name: string) => ({
      ctx,
      name,
      piece: config.pieces[name],
      mode: schedule.mode,
      runId,
      runDir,
      staging: path.join(state.staging, name),
      tags,
      step: `piece:${name}`,
      logFile: runLog,
    });
    const capture = async (phase: "before-stop" | "main") => {
      for (const name of schedule.pieces.filter((n) => piecePhase(n) === phase)) {
        log.info("step", `capturing ${name}`, { step: `piece:${name}` });
        const { record, outcome } = await step(`piece:${name}`, () => capturePiece(pieceRun(name)));
        s.pieces.push(record);
        if (outcome.snapshot) s.streamed.push(outcome.snapshot);
        s.extraPaths.push(...(outcome.extraPaths ?? []));
      }
    };

    await capture("before-stop");
    if (hasIim) {
      await step("iim-state", async () => {
        const iim = iimState(config.iim.agentDataDir);
        if (!iim)
          throw new StepError(
            "iim-state",
            `no IIM installed.xml at ${config.iim.agentDataDir}/installed.xml: set hosts[].iim.agentDataDir to cic.appDataLocation from <IIM install dir>/eclipse/configuration/config.ini`,
          );
        s.iim = iim;
        writeFileSync(path.join(state.recoveryPoint, "iim-packages.tsv"), packagesTsv(iim.packages));
      });
    }
    if (schedule.mode === "offline") {
      log.info("step", "stopping servers for an offline backup", { step: "stop-servers" });
      s.stoppedAt = Date.now();
      await step("stop-servers", () => stopServers(ctx, runId, runLog));
    }
    await capture("main");
    writeRecord(state.recoveryPoint, {
      record: {
        runId,
        policy: config.policy,
        host: config.host,
        schedule: o.schedule,
        mode: schedule.mode,
        start: isoSeconds(start),
        targets: schedule.targets,
        pieces: s.pieces,
      },
      iimAgentDataDir: config.iim.agentDataDir,
      history: {
        runs: existsSync(state.runs) ? tail(readFileSync(state.runs, "utf8"), HISTORY_IN_RECORD) : undefined,
        drillStatus: existsSync(state.drillStatus) ? readFileSync(state.drillStatus, "utf8") : undefined,
      },
    });
    await step("backup", () => backup(ctx, o, schedule, tags, s));
    if (schedule.mode === "offline") {
      s.afterSnapshot = true;
      await step("start-servers", () => restartServers(ctx, s, runLog));
    }
    if (!s.result) {
      s.afterSnapshot = true;
      await step("retention", () => retention(ctx, o, schedule, s));
      await previousKey(ctx);
      s.result = "success";
    }
  } catch (e) {
    const [failedStep, message] =
      e instanceof StepError
        ? [e.step, e.message]
        : [s.step, `the agent stopped unexpectedly: ${(e as Error).message}`];
    s.fail(failedStep, message);
    log.error("step-failed", `step ${failedStep} failed: ${message}`, { step: failedStep });
  } finally {
    // Whatever happened, servers this run (or a killed one) stopped are started again.
    if (existsSync(state.serversStopped)) {
      try {
        s.step = "start-servers";
        await restartServers(ctx, s, runLog);
      } catch (e) {
        s.fail("start-servers", (e as Error).message);
        log.error("step-failed", `step start-servers failed: ${(e as Error).message}`, { step: "start-servers" });
      }
    }
  }

  if (s.result === "failed") await disown(ctx, s, runId, runLog);
  const status = runStatus(ctx, o.schedule, schedule, runId, start, s);
  try {
    writeStatus(ctx, o.schedule, status);
  } catch (e) {
    log.error("status", `could not write the status: ${(e as Error).message}`);
  }
  removeTree(state.staging);
  removeTree(runDir);
  const code = report(ctx, status);
  await ping(config, log, o.schedule, status.result === "success" ? "success" : "fail", summaryLine(status));
  for (const sig of signals) process.off(sig, onSignal);
  return code;
}

/** Counted from the start of the first stop to the end of the last start command. */
async function restartServers(ctx: AgentContext, s: RunState, runLog: string): Promise<void> {
  if (!existsSync(ctx.state.serversStopped)) return;
  ctx.log.info("step", "starting servers again", { step: "start-servers" });
  try {
    await startServers(ctx, runLog);
  } finally {
    if (s.stoppedAt) s.downtimeSeconds = Math.round((Date.now() - s.stoppedAt) / 1000);
    s.stoppedAt = 0;
  }
}

/**
 * Makes sure the repository exists: initialises it on the very first run
 * only. `restic init` refuses to touch an existing repository, so trying it
 * is the cheapest probe, and a marker spares every later run the process.
 */
async function ensureRepository(ctx: AgentContext): Promise<void> {
  const { config, state, restic, log } = ctx;
  const marker = state.repositoryInitialized;
  if (existsSync(marker) && readFileSync(marker, "utf8").trim() === config.repository.url) return;
  const r = await restic.run(["init"]);
  const out = `${r.stdout}${r.stderr}`;
  if (r.code === 0) {
    log.info("repository-init", `initialised the restic repository ${config.repository.url}`);
    // A new repository has nothing to prune yet: start the prune cadence now.
    writeFileSync(state.lastPrune, `${Math.floor(Date.now() / 1000)}\n`);
  } else if (!/already exists|already initialized/.test(out)) {
    throw new StepError(
      "repository",
      `the repository ${config.repository.url} cannot be opened or created: ${errorLineOf(out, RESTIC_ERROR)}`,
    );
  }
  writeFileSync(marker, `${config.repository.url}\n`);
}

async function backup(
  ctx: AgentContext,
  o: RunOptions,
  schedule: ScheduleConfig,
  tags: string[],
  s: RunState,
): Promise<void> {
  const { config, state, log, restic } = ctx;
  const paths: string[] = [];
  for (const { path: p } of schedule.targets) {
    if (lexists(p)) paths.push(p);
    else s.missing.push(p);
  }
  paths.push(state.recoveryPoint);
  if (readdirSync(state.staging).length) paths.push(state.staging);
  paths.push(...s.extraPaths);
  const runTags = [
    ...tags,
    "--tag",
    "piece:files",
    ...(s.iim ? ["--tag", `iim:${s.iim.packagesDigest.slice(0, 16)}`] : []),
  ];
  const missing = () => {
    if (s.missing.length) s.partial("backup", `missing on this host: ${s.missing.join(" ")}`);
  };
  if (config.fileEngine === "tsm") {
    log.info("step", `backing up ${paths.length} paths with IBM Spectrum Protect`, { step: "backup" });
    const action = o.baseline ? "archive" : "incremental";
    const args =
      action === "archive"
        ? ["archive", ...tsmSpecs(paths), "-subdir=yes", `-description=dx-backup baseline ${log.runId}`]
        : ["incremental", ...tsmSpecs(paths), "-subdir=yes"];
    const r = await dsmc(config, args, state.runLog);
    const out = `${r.stdout}${r.stderr}`;
    const counts = tsmCounts(out);
    s.summary = {
      snapshotId: `tsm-${action}-${log.runId}`,
      dataAdded: 0,
      filesProcessed: counts.inspected ?? 0,
      bytesProcessed: 0,
      filesNew: counts.stored ?? 0,
      filesChanged: 0,
    };
    s.filesSnapshot = s.summary.snapshotId;
    if (r.code === 4 || r.code === 8) {
      // 4: some files were skipped; 8: warnings. The point in time exists, incomplete.
      s.partial("backup", `dsmc ${action} returned ${r.code}: ${errorLineOf(out, /ANS\d+[EW]/) || "see the log"}`);
    } else if (r.code !== 0) {
      s.filesSnapshot = undefined;
      throw new StepError("backup", `dsmc ${action} failed (return code ${r.code}): ${errorLineOf(out, /ANS\d+[ES]/)}`);
    }
    missing();
    return;
  }
  if (o.baseline) runTags.push("--tag", "baseline");
  const excludes = config.excludes.flatMap((e) => ["--exclude", e]);
  log.info("step", `backing up ${paths.length} paths to ${config.repository.url}`, { step: "backup" });
  const onProgress = log.interactive
    ? (p: { percent: number; filesDone: number; totalFiles: number; bytesDone: number; totalBytes: number }) =>
        log.progress(
          `  backup: ${String(Math.floor(p.percent * 100)).padStart(3)}%  ${p.filesDone}/${p.totalFiles} files  ${humanBytes(p.bytesDone)} / ${humanBytes(p.totalBytes)}`,
        )
    : undefined;
  const r = await restic.backup(
    [
      "--host",
      config.host,
      ...backupFeatures(s.resticVersion, onProgress !== undefined),
      ...runTags,
      ...excludes,
      "--",
      ...paths,
    ],
    onProgress,
  );
  log.endProgress();
  s.summary = r.summary;
  s.filesSnapshot = r.summary?.snapshotId;
  if (r.code === 3 && r.summary) {
    s.partial(
      "backup",
      `some files could not be read (snapshot ${r.summary.snapshotId} is incomplete; see ${state.runLog})`,
    );
    return;
  }
  if (r.code !== 0 || !r.summary) {
    s.filesSnapshot = undefined;
    throw new StepError("backup", `restic backup exited ${r.code}: ${errorLineOf(r.stderr, RESTIC_ERROR)}`);
  }
  missing();
}

/**
 * Retention after a fully successful run only; prune at its cadence. Grouped
 * by host and paths, so every piece (files, each database stream) keeps its
 * own restore points; baselines are never forgotten.
 */
async function retention(ctx: AgentContext, o: RunOptions, schedule: ScheduleConfig, s: RunState): Promise<void> {
  const { config, state, log, restic } = ctx;
  const keep = keepFlags(schedule.retention);
  if (!keep.length) return;
  if (config.fileEngine === "tsm") {
    log.info("step", "retention is the Spectrum Protect server's management class", { step: "retention" });
    return;
  }
  if (config.repository.appendOnly) {
    // The storage refuses deletes, so a forget here could only fail the run: the storage server
    // applies the same rules (dxbackup prune), with credentials no host holds.
    log.info(
      "step",
      `retention (${keep.join(" ")}) is applied by dxbackup prune on the storage server: this host's repository is append-only`,
      {
        step: "retention",
      },
    );
    return;
  }
  const lastPrune = existsSync(state.lastPrune) ? Number(readFileSync(state.lastPrune, "utf8").trim()) || 0 : 0;
  const prune = Date.now() / 1000 - lastPrune >= config.pruneEveryDays * 86400;
  log.info("step", `applying retention (${keep.join(" ")})${prune ? " and pruning" : ""}`, { step: "retention" });
  await restic.must(
    "retention",
    "restic forget",
    [...forgetArgs(config.host, o.schedule, schedule.retention), ...(prune ? ["--prune"] : [])],
    { logFile: state.runLog },
  );
  if (prune) {
    writeFileSync(state.lastPrune, `${Math.floor(Date.now() / 1000)}\n`);
    s.pruned = true;
  }
}

/**
 * The keys of previous repository passwords that an install could not remove
 * (a lock held then): tried again after every successful run, never failing it.
 */
async function previousKey(ctx: AgentContext): Promise<void> {
  const { state, config, log } = ctx;
  if (config.fileEngine !== "restic" || config.repository.appendOnly || !existsSync(state.rekeyPending)) return;
  for (const name of readdirSync(state.rekeyPending)) {
    const file = path.join(state.rekeyPending, name);
    const removal = await removePreviousKey(ctx, file);
    if (removal.kept) log.warn("previous-key", removal.message);
    else {
      rmSync(file, { force: true });
      log.info("previous-key", removal.message);
    }
  }
}

/**
 * A failed run is no recovery point. Before its files snapshot exists, the
 * database streams it already stored are forgotten; after (the servers did
 * not start, retention failed), every snapshot of the run is tagged
 * not-a-recovery-point, so `latest` and `--before` never pick it. An
 * append-only repository keeps whatever the run stored and gets a marker
 * snapshot tagged not-a-recovery-point and run:<id> instead, which the
 * restore reads the same way. Stale locks are retried like every other
 * repository write.
 */
async function disown(ctx: AgentContext, s: RunState, runId: string, runLog: string): Promise<void> {
  const { restic, log, config } = ctx;
  if (config.fileEngine !== "restic") return;
  try {
    if (config.repository.appendOnly && (s.filesSnapshot || s.streamed.length)) {
      // Re-tagging deletes the snapshots it rewrites, which append-only storage refuses: a
      // marker snapshot of the run says instead that none of its snapshots is a recovery point.
      const schedule = s.scheduleName;
      await restic.must(
        "discard",
        "restic backup (marker)",
        [
          "backup",
          "--stdin",
          "--stdin-filename",
          NOT_A_RECOVERY_POINT_TAG,
          "--host",
          config.host,
          "--tag",
          `${NOT_A_RECOVERY_POINT_TAG},run:${runId},failed-schedule:${schedule}`,
        ],
        { logFile: runLog, input: `run ${runId} failed after its snapshots were taken: it is not a recovery point\n` },
      );
      s.disowned = [...s.streamed, ...(s.filesSnapshot ? [s.filesSnapshot] : [])].map((id) => id.slice(0, 8));
      s.streamed = [];
      s.filesSnapshot = undefined;
      s.summary = undefined;
      log.warn(
        "not-a-recovery-point",
        `run ${runId} is marked ${NOT_A_RECOVERY_POINT_TAG} by a snapshot of its own (the repository is append-only): ${s.disowned.join(" ")}`,
      );
    } else if (s.afterSnapshot && s.filesSnapshot) {
      await restic.must("discard", "restic tag", disownTagArgs(runId, s.scheduleName), { logFile: runLog });
      const now = await restic.snapshots(["--tag", `run:${runId}`]);
      s.streamed = [];
      s.filesSnapshot = undefined;
      s.summary = undefined;
      s.disowned = now.map((x) => x.id.slice(0, 8));
      log.warn(
        "not-a-recovery-point",
        `the snapshots of run ${runId} are tagged ${NOT_A_RECOVERY_POINT_TAG}: ${s.disowned.join(" ")}`,
      );
    } else if (s.streamed.length) {
      await restic.must("discard", "restic forget", ["forget", ...s.streamed], { logFile: runLog });
      log.info("discarded", `forgot the snapshots of the failed run: ${s.streamed.join(" ")}`);
      s.streamed = [];
    }
  } catch (e) {
    log.warn(
      "discard-failed",
      `could not mark or forget the snapshots of the failed run (${(e as Error).message}); they are tagged run:${runId}`,
    );
  }
}

function runStatus(
  ctx: AgentContext,
  name: string,
  schedule: ScheduleConfig,
  runId: string,
  start: Date,
  s: RunState,
): RunStatus {
  const { config, restic } = ctx;
  const end = new Date();
  const ids = s.disowned ?? [...s.streamed, ...(s.filesSnapshot ? [s.filesSnapshot] : [])];
  return {
    runId,
    policy: config.policy,
    host: config.host,
    schedule: name,
    mode: schedule.mode,
    start: isoSeconds(start),
    end: isoSeconds(end),
    durationSeconds: Math.round((end.getTime() - start.getTime()) / 1000),
    result: s.result ?? "failed",
    failedStep: s.failedStep ?? null,
    message: s.message ?? null,
    snapshotIds: ids,
    pieces: s.pieces,
    bytesAdded: s.summary?.dataAdded ?? 0,
    bytesProcessed: s.summary?.bytesProcessed ?? 0,
    files: s.summary?.filesProcessed ?? 0,
    filesNew: s.summary?.filesNew ?? 0,
    filesChanged: s.summary?.filesChanged ?? 0,
    missingPaths: s.missing,
    downtimeSeconds: s.downtimeSeconds,
    pruned: s.pruned,
    iim: {
      packagesDigest: s.iim?.packagesDigest ?? "",
      stateDigest: s.iim?.stateDigest ?? "",
      packages: s.iim?.packages ?? [],
    },
    repository: config.repository.url,
    agentVersion: AGENT_VERSION,
    recoveryPoint: s.result !== "failed" && s.disowned === undefined,
    restic: { version: s.resticVersion, processes: restic.processes, seconds: Math.round(restic.busyMs) / 1000 },
    // ru_maxrss, in KiB on Linux.
    agentPeakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function writeStatus(ctx: AgentContext, schedule: string, status: RunStatus): void {
  const { state, config } = ctx;
  const line = `${JSON.stringify(status)}\n`;
  publish(state.status, line);
  copyFileSync(state.status, state.statusOf(schedule));
  appendFileSync(state.runs, line);
  const endEpoch = Math.floor(Date.parse(status.end) / 1000);
  if (status.result === "success") writeFileSync(state.lastSuccess(schedule), `${endEpoch}\n`);
  const lastSuccess = existsSync(state.lastSuccess(schedule))
    ? Number(readFileSync(state.lastSuccess(schedule), "utf8").trim()) || 0
    : 0;
  writeMetricsFile(
    state.metrics,
    config.policy,
    schedule,
    renderRunMetrics({
      policy: config.policy,
      host: config.host,
      schedule,
      start: Math.floor(Date.parse(status.start) / 1000),
      end: endEpoch,
      lastSuccess,
      bytesAdded: status.bytesAdded,
      files: status.files,
      downtimeSeconds: status.downtimeSeconds,
      result: status.result,
    }),
  );
}

function summaryLine(st: RunStatus): string {
  return st.result === "success"
    ? `run ${st.runId} succeeded: ${st.files} files, ${humanBytes(st.bytesAdded)} added`
    : `run ${st.runId} ${st.result.toUpperCase()} at step ${st.failedStep}: ${st.message}`;
}

function report(ctx: AgentContext, st: RunStatus): number {
  const { log } = ctx;
  const snapshot = st.snapshotIds[st.snapshotIds.length - 1] ?? "";
  switch (st.result) {
    case "success":
      log.info(
        "run-succeeded",
        `dx-backup: run ${st.runId} (${st.schedule}) succeeded: snapshot ${snapshot}, ${st.files} files, ${humanBytes(st.bytesAdded)} added, ${st.durationSeconds}s`,
        { snapshot },
      );
      return EXIT.ok;
    case "partial":
      log.warn(
        "run-partial",
        `dx-backup: run ${st.runId} (${st.schedule}) PARTIAL at step ${st.failedStep}: ${st.message}`,
        {
          step: st.failedStep ?? "",
          snapshot,
        },
      );
      return EXIT.partial;
    default: {
      const summary = `dx-backup: run ${st.runId} (${st.schedule}) FAILED at step ${st.failedStep}: ${st.message}`;
      log.error("run-failed", summary, { step: st.failedStep ?? "" });
      // The last line names the failed step, also under a timer.
      if (!log.interactive) process.stderr.write(`${summary}\n`);
      return EXIT.failed;
    }
  }
}

function tail(text: string, lines: number): string {
  const all = text.split("\n").filter(Boolean);
  return all.length ? `${all.slice(-lines).join("\n")}\n` : "";
}

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { shQuote } from "../../components/render/shell";
import type { AgentContext } from "../context";
import { describe, failure, scrubSecrets } from "../exec";
import { EXIT, StepError, UsageError } from "../errors";
import { iimState, levelChanges, type IimState } from "../iim";
import { isoSeconds } from "../log";
import type { RecordRead } from "../record";
import { globLiteral, RESTIC_ERROR, shortId, tagValue } from "../restic";
import type { Pending } from "./operator";
import { restorePiece } from "./pieces";
import { untilProblem } from "./until";
import {
  fetchRecord,
  disownedRuns,
  pickLatest,
  readRestoredRecord,
  recordDirs,
  resolveRecoveryPoint,
  tsmResolve,
  tsmRestorePaths,
  type RecoveryPoint,
} from "./resolve";
import {
  allConfigTargets,
  configTargets,
  isInside,
  planPiece,
  restoreOrder,
  RUN_ID,
  SCHEDULE_NAME,
  selectRestore,
  wantedValid,
  type PiecePlan,
  type Selection,
} from "./select";
import { RestoreServers, confirm } from "./servers";
import { asidePath, moveAside, undoCommand } from "./undo";
import { lexists } from "../files";
import { holdLock } from "../lock";
import { checkTarget, cleanWork, createTarget, newStamp, safeDest } from "./work";
import { byParent, checkParents, restoreBeside } from "./beside";

/**
 * Restores that cannot lie. A recovery point (a run's files snapshot, its
 * record and the pieces it names) goes back into a directory, or in place
 * with the servers stopped, the current files moved aside for `undo`, and
 * the fix-pack guard. Paths, engines and profiles come from the host's
 * current config; the record read out of the snapshot is only compared with
 * it. Every command must succeed: a failed step fails the restore, names the
 * piece and the step, leaves the servers stopped and says how to undo.
 */

export interface RestoreOptions {
  /** latest | run id | snapshot id */
  spec: string;
  target?: string;
  inPlace: boolean;
  force: boolean;
  /** files | target:NAME | piece name; none = files and every piece */
  pieces: string[];
  before?: Date;
  /** In place: DB2 rolls forward (Oracle recovers) to this time instead of the end of the backup. */
  until?: Date;
  schedule?: string;
  stopServers: boolean;
  yes: boolean;
  leavePortalAndIimAtDifferentLevels: boolean;
}

export { resolveRecoveryPoint, undoCommand };
export type { RecoveryPoint };

const includes = (paths: readonly string[]) => paths.flatMap((p) => ["--include", globLiteral(p)]);

export async function restoreCommand(ctx: AgentContext, o: RestoreOptions): Promise<number> {
  if (o.inPlace && o.target !== undefined) throw new UsageError("give --target DIR or --in-place, not both");
  if (!o.inPlace && o.target === undefined)
    throw new UsageError("restore needs --target DIR (an empty directory), or --in-place to overwrite the live system");
  if (o.until && !o.inPlace)
    throw new UsageError("--until applies to an in-place restore of a database: add --in-place, or leave --until out");
  for (const w of o.pieces)
    if (!wantedValid(w)) throw new UsageError(`--piece takes files, target:NAME or a piece name, not '${w}'`);
  const target = o.target !== undefined ? checkTarget(o.target, o.force) : undefined;

  const { state } = ctx;
  mkdirSync(state.dir, { recursive: true });
  // In place, no run may start (an offline run would stop and start the servers mid-restore).
  const release = o.inPlace ? holdLock(state.lock) : () => undefined;
  if (!release) {
    process.stderr.write(`dx-backup: restore not started: a run holds ${state.lock}\n`);
    return EXIT.locked;
  }
  try {
    return await restoreLocked(ctx, o, target);
  } finally {
    release();
  }
}

async function restoreLocked(ctx: AgentContext, o: RestoreOptions, target: string | undefined): Promise<number> {
  const { config, state } = ctx;
  const stamp = newStamp(ctx);
  const work = state.restore(stamp);
  const keep: string[] = [];
  try {
    mkdirSync(work, { recursive: true, mode: 0o700 });
    const logFile = path.join(state.dir, "last-restore.log");
    writeFileSync(logFile, "", { mode: 0o600 });
    // A whole recovery point into a directory: one restic restore of its files snapshot (the record
    // comes with it), then the record read from there. One restic process less, one key derivation less.
    if (target !== undefined && !o.pieces.length && config.fileEngine === "restic")
      return await wholePointIntoDirectory(ctx, o, target, logFile);
    let rp: RecoveryPoint;
    let record: RecordRead;
    let pit: string[] = [];
    if (config.fileEngine === "tsm") ({ rp, record, pit } = await tsmResolve(ctx, o.spec, o.before, work, logFile));
    else {
      rp = await resolveRecoveryPoint(ctx, o.spec, o.before, o.schedule);
      record = await fetchRecord(ctx, rp, work, logFile);
    }

    // What to restore: paths of the current config the point holds, pieces checked against the config.
    const sel = selectRestore(
      { targets: record.targets, pieces: [...record.pieces.keys()] },
      configTargets(config, record.schedule),
      o.pieces,
    );
    const plans = sel.pieces.map((name) => planPiece(config, name, record.pieces.get(name)!, o.inPlace));
    for (const n of sel.notes) ctx.log.warn("restore", n);
    if (!sel.paths.length && !plans.length)
      throw new UsageError(`nothing to restore: none of ${sel.wanted.join(" ")} is in recovery point ${rp.runId}`);
    const untilRefused = o.until && untilProblem(o.until, plans);
    if (untilRefused) throw new UsageError(untilRefused);
    const shown = rp.filesSnapshot.startsWith("tsm:") ? rp.filesSnapshot : shortId(rp.filesSnapshot);
    ctx.log.info(
      "restore",
      `recovery point ${rp.runId} (${isoSeconds(rp.time)}), snapshot ${shown}: ${sel.wanted.join(" ")}${o.inPlace ? " IN PLACE" : ` into ${target}`}`,
    );

    // The fix-pack guard: Portal files restored without the IIM state of the
    // same recovery point, while IIM is now at another level, is what HCL calls
    // unrecoverable.
    if (sel.hasPortalFs && !sel.hasIim && record.iimPackages) {
      const now = currentIim(ctx);
      const changes = now ? levelChanges(record.iimPackages, now.packages) : [];
      if (changes.length) {
        if (o.inPlace && !o.leavePortalAndIimAtDifferentLevels) {
          const after = await pointAfterFixPack(ctx, now!);
          process.stderr.write(
            fixPackRefusal({
              runId: rp.runId,
              changes,
              agent: describe(ctx.agentPath, ["--config", ctx.configFile]),
              after,
              wanted: sel.wanted,
            }),
          );
          return EXIT.refused;
        }
        ctx.log.warn("iim-levels", `Portal and IIM levels differ from the recovery point:\n${changes.join("\n")}`);
      }
    }

    if (target !== undefined) return await intoDirectory(ctx, { rp, sel, plans, target, pit, logFile });
    return await inPlace(ctx, o, { rp, sel, plans, stamp, work, pit, logFile, keep });
  } finally {
    cleanWork(work, keep);
  }
}

function currentIim(ctx: AgentContext): IimState | undefined {
  try {
    return iimState(ctx.config.iim.agentDataDir);
  } catch (e) {
    ctx.log.warn(
      "iim-levels",
      `cannot read IIM's installed.xml in ${ctx.config.iim.agentDataDir} (${(e as Error).message}): the IIM levels are not compared`,
    );
    return undefined;
  }
}

/** The newest recovery point taken at the IIM levels installed now, if the repository says. */
async function pointAfterFixPack(ctx: AgentContext, now: IimState): Promise<{ runId?: string; note?: string }> {
  if (ctx.config.fileEngine === "tsm")
    return { note: "on this Spectrum Protect host: 'latest' with --before a time after it" };
  try {
    const disowned = await disownedRuns(ctx);
    const s = pickLatest(
      await ctx.restic.snapshots(["--tag", `piece:files,iim:${now.packagesDigest.slice(0, 16)}`]),
      undefined,
      disowned,
    );
    const run = s ? tagValue(s, "run") : undefined;
    return run && RUN_ID.test(run) ? { runId: run } : { note: "none exists yet: take one now with 'run'" };
  } catch (e) {
    return { note: `the repository could not be listed to find one: ${(e as Error).message}` };
  }
}

/** The fix-pack guard's refusal (exit 2), worded as the bash agent's. */
export function fixPackRefusal(r: {
  runId: string;
  changes: string[];
  /** `<agent> --config <file>` */
  agent: string;
  /** The newest point at the levels installed now, or what to say instead. */
  after: { runId?: string; note?: string };
  wanted: string[];
}): string {
  const lines = [
    `REFUSED: a fix pack changed IBM Installation Manager since recovery point ${r.runId}:`,
    ...r.changes,
    "Restoring the Portal file systems without IIM would leave Portal and IIM at different levels,",
    "which HCL calls unrecoverable. The two safe choices:",
    "  1. restore the Portal file systems and all three IIM directories together from this recovery point:",
    `     ${r.agent} restore ${r.runId} --in-place --piece files`,
  ];
  if (r.after.runId)
    lines.push(
      `  2. or pick a recovery point taken after the fix pack, such as ${r.after.runId}:`,
      `     ${r.agent} restore ${r.after.runId} --in-place ${r.wanted.map((w) => `--piece ${w}`).join(" ")}`,
    );
  else
    lines.push(
      `  2. or pick a recovery point taken after the fix pack (${r.after.note ?? "none exists yet: take one now with 'run'"}).`,
    );
  lines.push("(--leave-portal-and-iim-at-different-levels does it anyway; it is named for what it does.)");
  return `${lines.join("\n")}\n`;
}

interface Resolved {
  rp: RecoveryPoint;
  sel: Selection;
  plans: PiecePlan[];
  pit: string[];
  logFile: string;
}

/** `restore [POINT] --target DIR` without --piece: the whole files snapshot, then its streamed pieces. */
async function wholePointIntoDirectory(
  ctx: AgentContext,
  o: RestoreOptions,
  target: string,
  logFile: string,
): Promise<number> {
  const { config } = ctx;
  const recordIn = path.join(target, recordDirs(config, "").inSnapshot);
  if (o.schedule !== undefined && !SCHEDULE_NAME.test(o.schedule))
    throw new UsageError(`--schedule takes a schedule name, not '${o.schedule}'`);
  // Only into an empty target (what restic wrote may have to go again), and with schedules to filter by.
  const overlapped =
    o.spec === "latest" &&
    o.before === undefined &&
    Object.keys(config.schedules).length > 0 &&
    (!lexists(target) || !readdirSync(target).length);
  const rp = overlapped
    ? await latestOverlapped(ctx, o, target, logFile)
    : await resolveRecoveryPoint(ctx, o.spec, o.before, o.schedule);
  const shown = shortId(rp.filesSnapshot);
  if (!overlapped) {
    createTarget(target);
    ctx.log.info(
      "restore",
      `recovery point ${rp.runId} (${isoSeconds(rp.time)}), snapshot ${shown}: everything into ${target}`,
    );
    await restoreSnapshot(ctx, rp.filesSnapshot, target, logFile);
  }
  // Read back as data: the streamed pieces' snapshots and file names are checked against the config.
  const record = readRestoredRecord(recordIn, `snapshot ${shown}`);
  if (record.runId !== rp.runId)
    throw new UsageError(
      `snapshot ${shown} of run ${rp.runId} holds the record of run ${JSON.stringify(record.runId)}: refused`,
    );
  const sel = selectRestore(
    { targets: record.targets, pieces: [...record.pieces.keys()] },
    configTargets(config, record.schedule),
    [],
  );
  for (const n of sel.notes) ctx.log.warn("restore", n);
  for (const p of sel.pieces
    .map((name) => planPiece(config, name, record.pieces.get(name)!, false))
    .filter((x) => x.snapshot)) {
    const dest = safeDest(target, p.file);
    mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
    await ctx.restic.dumpToFile(`piece:${p.name}`, p.snapshot!, p.file, dest);
  }
  ctx.log.info("restore", `restored into ${target}; nothing on this host was changed`);
  return EXIT.ok;
}

function restoreSnapshot(ctx: AgentContext, snapshot: string, target: string, logFile: string) {
  return ctx.restic.must(
    "restore",
    `restic restore of ${snapshot === "latest" ? "the latest recovery point" : shortId(snapshot)} into ${target}`,
    ["restore", snapshot, "--target", target],
    { logFile },
  );
}

/**
 * `restore latest --target EMPTY`: the restore starts at once, of restic's
 * `latest` among the files snapshots of the host's schedules (a run that
 * failed after its snapshot lost its schedule tag), while a second restic
 * lists the snapshots to find the recovery point exactly as `resolve` does.
 * Each restic process pays a key derivation first; side by side they pay it
 * once in wall time. The snapshot restic names as the one it restores must
 * be that point's files snapshot: otherwise (an older agent's discarded run
 * kept its schedule tag; the newest point is of a schedule the host no longer
 * has) what it wrote is removed and the point restored by its id. When there
 * is no recovery point, the restore is stopped and the target left as it was.
 */
async function latestOverlapped(
  ctx: AgentContext,
  o: RestoreOptions,
  target: string,
  logFile: string,
): Promise<RecoveryPoint> {
  const { restic, config, log } = ctx;
  const created = !lexists(target);
  createTarget(target);
  const schedules = o.schedule !== undefined ? [o.schedule] : Object.keys(config.schedules);
  const filters = schedules.flatMap((s) => ["--tag", `piece:files,schedule:${s}`]);
  const unwanted = new AbortController();
  const listing = resolveRecoveryPoint(ctx, "latest", undefined, o.schedule).then(
    (rp) => {
      log.info(
        "restore",
        `recovery point ${rp.runId} (${isoSeconds(rp.time)}), snapshot ${shortId(rp.filesSnapshot)}: everything into ${target}`,
      );
      return rp;
    },
    (e: unknown) => {
      unwanted.abort();
      throw e;
    },
  );
  const restoring = restic.run(["restore", "latest", "--host", config.host, ...filters, "--target", target], {
    logFile,
    abort: unwanted.signal,
  });
  const [point, r] = await Promise.all([
    listing.then(
      (rp) => ({ rp }),
      (e: unknown) => ({ error: e }),
    ),
    restoring,
  ]);
  if ("error" in point) {
    emptyTarget(target, created);
    throw point.error;
  }
  const { rp } = point;
  const what = `restic restore of ${shortId(rp.filesSnapshot)} into ${target}`;
  const restored = /^restoring <?snapshot ([0-9a-f]{8,})/im.exec(r.stdout)?.[1];
  if (restored !== undefined && rp.filesSnapshot.startsWith(restored)) {
    if (r.code !== 0 || r.signal) throw failure("restore", what, r, RESTIC_ERROR);
    return rp;
  }
  // An interruption stops the restore; anything else restic did is set right below.
  if (r.signal) throw failure("restore", what, r, RESTIC_ERROR);
  log.info(
    "restore",
    `restic's latest was ${restored === undefined ? "no snapshot" : `snapshot ${restored}`}, not recovery point ${rp.runId}: restoring that one instead`,
  );
  emptyTarget(target, false);
  await restoreSnapshot(ctx, rp.filesSnapshot, target, logFile);
  return rp;
}

/** Removes what a restore wrote into a target that was empty before (and the target, if it created it). */
function emptyTarget(target: string, created: boolean): void {
  for (const entry of readdirSync(target)) rmSync(path.join(target, entry), { recursive: true, force: true });
  if (created) rmSync(target, { recursive: true, force: true });
}

/** Into a directory: nothing on the host changes. The record comes along: it says what the files are. */
async function intoDirectory(ctx: AgentContext, r: Resolved & { target: string }): Promise<number> {
  const { config } = ctx;
  const { rp, sel, plans, target, pit, logFile } = r;
  createTarget(target);
  const recordDir = recordDirs(config, "").inSnapshot;
  for (const p of plans.filter((x) => x.snapshot)) {
    const dest = safeDest(target, p.file);
    mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
    await ctx.restic.dumpToFile(`piece:${p.name}`, p.snapshot!, p.file, dest);
  }
  const staged = plans.filter((x) => x.extract).map((x) => x.extract!);
  if (config.fileEngine === "tsm") {
    await tsmRestorePaths(config, "restore", target, [recordDir, ...sel.outermost, ...staged], pit, logFile);
  } else {
    await ctx.restic.must(
      "restore",
      `restic restore of ${shortId(rp.filesSnapshot)} into ${target}`,
      [
        "restore",
        rp.filesSnapshot,
        "--target",
        target,
        ...includes([recordDir, ...sel.paths.map((p) => p.path), ...staged]),
      ],
      { logFile },
    );
  }
  ctx.log.info("restore", `restored into ${target}; nothing on this host was changed`);
  return EXIT.ok;
}

/** In place: agreed first, servers down, current files moved aside (undo), then every piece in HCL's order. */
async function inPlace(
  ctx: AgentContext,
  o: RestoreOptions,
  r: Resolved & { stamp: string; work: string; keep: string[] },
): Promise<number> {
  const { config } = ctx;
  const { rp, sel, plans, stamp, work, pit, logFile, keep } = r;
  for (const p of sel.outermost) {
    if (p === config.stateDir || isInside(config.stateDir, p))
      throw new UsageError(`${p} holds the agent's state directory ${config.stateDir}: restore it with --target`);
    if (lexists(asidePath(p, stamp)))
      throw new UsageError(`${asidePath(p, stamp)} exists already: move it away first, nothing was restored`);
  }
  if (sel.paths.length) checkParents(sel.outermost, stamp);
  if (!(await confirm(`Restore ${sel.wanted.join(" ")} of ${rp.runId} over the live system on ${config.host}?`, o.yes)))
    throw new UsageError("not confirmed (add --yes to confirm)");

  const servers = new RestoreServers(ctx, logFile);
  // Portal must be down for its files, its configuration and a Derby database (which it holds
  // open embedded, and reconnects to through the network server).
  const needDown =
    sel.paths.length > 0 ||
    plans.some(
      (p) => p.config?.kind === "wasConfig" || (p.config?.kind === "database" && p.config.database.engine === "derby"),
    );
  if (needDown)
    await servers.ensureStopped(
      allConfigTargets(config)
        .filter((t) => t.target !== "custom" && t.target !== "iim")
        .map((t) => t.path),
      o,
    );

  const undo = describe(ctx.agentPath, ["--config", ctx.configFile, "undo", stamp]);
  const extract = path.join(work, "extract");
  const pending: Pending[] = [];
  let changed = false;
  try {
    if (sel.paths.length) {
      try {
        moveAside(ctx, stamp, sel.outermost);
      } catch (e) {
        if (e instanceof UsageError) await startAgainOrSay(ctx, servers, logFile);
        throw e;
      }
      changed = true;
      ctx.log.info("restore", `the current files are kept: undo with \`${undo}\``);
      // Beside each path, in a directory of root's alone, then renamed into place (beside.ts).
      for (const [parent, tops] of byParent(sel.outermost))
        await stepOf("restore", "restoring the files", () =>
          restoreBeside(
            parent,
            tops,
            sel.paths.map((p) => p.path),
            stamp,
            async (dir, paths) => {
              if (config.fileEngine === "tsm") await tsmRestorePaths(config, "dsmc restore", dir, tops, pit, logFile);
              else
                await ctx.restic.must(
                  "restic restore",
                  `restic restore of ${shortId(rp.filesSnapshot)} beside ${tops.join(", ")}`,
                  ["restore", rp.filesSnapshot, "--target", dir, ...includes(paths)],
                  { logFile },
                );
            },
          ),
        );
    }
    // Staged pieces come out of the files snapshot into the work directory.
    const staged = plans.filter((p) => p.extract).map((p) => p.extract!);
    if (staged.length) {
      await stepOf("extract", "extracting the staged pieces", () =>
        config.fileEngine === "tsm"
          ? tsmRestorePaths(config, "dsmc restore", extract, staged, pit, logFile)
          : ctx.restic.must(
              "restic restore",
              `restic restore of the staged pieces of ${shortId(rp.filesSnapshot)}`,
              ["restore", rp.filesSnapshot, "--target", extract, ...includes(staged)],
              { logFile },
            ),
      );
    }
    for (const plan of restoreOrder(plans)) {
      ctx.log.info("restore", `restoring ${plan.name}`);
      changed = true;
      const p = await restorePiece(ctx, plan, { work, extract, time: rp.time, until: o.until, logFile });
      if (p) pending.push(p);
    }
  } catch (e) {
    if (!changed) {
      // Nothing on the host was changed yet: the servers can run again.
      await startAgainOrSay(ctx, servers, logFile);
    } else {
      ctx.log.error(
        "restore-failed",
        `the in-place restore of ${rp.runId} did not complete (see ${logFile}); what was restored before the failure stays restored`,
      );
      if (sel.paths.length)
        ctx.log.error("restore-failed", `the files it replaced are kept: put them back with \`${undo}\``);
      if (servers.stoppedByUs)
        ctx.log.error(
          "restore-failed",
          `the servers are left STOPPED, so that nothing runs on half-restored data; once it is fixed (or undone), start them with: ${config.offline.start.map(scrubSecrets).join("; ") || "your start procedure"}`,
        );
      else if (needDown) ctx.log.error("restore-failed", "do not start the servers before it is fixed (or undone)");
    }
    leaveForOperator(pending, extract, work, keep);
    throw e;
  }

  const failedStarts = await servers.startAgain();
  const undoHint = sel.paths.length ? `; the previous files are kept: undo with \`${undo}\`` : "";
  ctx.log.info("restore", `restored ${rp.runId} in place${undoHint}`);
  leaveForOperator(pending, extract, work, keep);
  if (failedStarts.length)
    throw new StepError(
      "start-servers",
      `start command failed: ${failedStarts.join("; ")} (see ${logFile}); THE SERVERS MAY BE DOWN`,
    );
  return EXIT.ok;
}

/** Runs F; its failure fails STEP as "<what> failed at <its step>: <why>". */
async function stepOf(step: string, what: string, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof StepError) throw new StepError(step, `${what} failed at ${e.step}: ${e.message}`);
    throw e;
  }
}

async function startAgainOrSay(ctx: AgentContext, servers: RestoreServers, logFile: string): Promise<void> {
  const failed = await servers.startAgain();
  if (failed.length)
    ctx.log.error("servers", `start command failed: ${failed.join("; ")} (see ${logFile}); THE SERVERS MAY BE DOWN`);
}

/** What is left for the operator, on stdout; the extracted backups it refers to are kept, and said so. */
function leaveForOperator(pending: readonly Pending[], extract: string, work: string, keep: string[]): void {
  if (!pending.length) return;
  const kept = pending.flatMap((p) => p.keep);
  process.stdout.write(
    `Left for the operator${kept.length ? ` (backups extracted under ${extract})` : ""}:\n${pending.map((p) => `${p.text}\n`).join("")}`,
  );
  if (kept.length)
    process.stdout.write(`The extracted backups are kept until you remove them: rm -rf ${shQuote(work)}\n`);
  keep.push(...kept);
}

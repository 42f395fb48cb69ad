import {
  accessSync,
  constants,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { HostConfig } from "../shared/hostConfig";
import type { DrillStatus } from "../shared/records";
import { XML_PARSE_LIMIT, xmlProblem, zipEntries } from "./archives";
import type { AgentContext } from "./context";
import { db2ckbkpCommand, imageFiles } from "./engines/db2";
import { derbyIj, sqlLiteral } from "./engines/derby";
import { pgRestoreCommand, type PostgresTarget } from "./engines/postgres";
import { EXIT, StepError, UsageError } from "./errors";
import { errorLineOf, run } from "./exec";
import { giveToUser, publish, removeTree } from "./files";
import { iimPackages, packagesTsv } from "./iim";
import { isdsBackupProblem } from "./pieces/others";
import { tryLock } from "./lock";
import { isoSeconds } from "./log";
import { epochStamp, renderDrillMetrics, writeMetricsFile } from "./metrics";
import { listGet, readRecord, type RecordRead } from "./record";
import { resolveRecoveryPoint } from "./restore/index";
import { isLocked, shortId } from "./restic";

/**
 * A restore that proves itself: restic reads a sample of the repository's
 * data back, the recovery point is restored into a scratch directory and every
 * file checked against the snapshot (restore --verify), the IIM state is
 * compared with the recorded one, and each piece is checked as far as this
 * host can. Every check runs its tools through exec/Restic: a tool that fails
 * or cannot be run is a failed check, never a pass.
 */

/** What a drill verifies: the recovery point's run and its files snapshot. */
export interface DrillPoint {
  runId: string;
  filesSnapshot: string;
}

const SUBSET = /^\d+(\.\d+)?%$|^\d+\/\d+$/;

/** The checks that passed and the first failure (later failures are logged, the first one is reported). */
export class DrillChecks {
  readonly checks: string[] = [];
  failedStep: string | null = null;
  message: string | null = null;
  private failed = false;

  constructor(private readonly ctx: AgentContext) {}

  ok(check: string): void {
    this.checks.push(check);
    this.ctx.log.info("drill-check", check);
  }

  fail(step: string, message: string): void {
    if (this.failedStep === null) {
      this.failedStep = step;
      this.message = message;
    }
    this.failed = true;
    this.ctx.log.error("drill-failed", `drill step ${step} failed: ${message}`, { step });
  }

  get result(): DrillStatus["result"] {
    return this.failed ? "failed" : "success";
  }
}

/** `drill [latest|RUN] [--read-data-subset N%]`: exit 0 verified, 1 failed, 75 locked, 64 usage. */
export async function drillCommand(
  ctx: AgentContext,
  o: { spec: string; readDataSubset?: string; runIdForLog?: string },
): Promise<number> {
  const subset = o.readDataSubset ?? ctx.config.drill.readDataSubset;
  if (!SUBSET.test(subset))
    throw new UsageError(`--read-data-subset takes a percentage (5%) or one of n subsets (1/7), not '${subset}'`);
  const { state } = ctx;
  mkdirSync(state.dir, { recursive: true });
  if (!tryLock(state.lock)) {
    process.stderr.write(`dx-backup: drill not started: a run holds ${state.lock}\n`);
    return EXIT.locked;
  }
  return runDrill(ctx, { spec: o.spec, subset, runIdForLog: o.runIdForLog, resolve: resolveRecoveryPoint });
}

export interface DrillOptions {
  spec: string;
  subset: string;
  runIdForLog?: string;
  /** Finds the recovery point SPEC names (resolveRecoveryPoint; a test passes its own). */
  resolve: (ctx: AgentContext, spec: string) => Promise<DrillPoint>;
}

/**
 * The drill itself, under the caller's lock: resolves the point, checks it,
 * publishes the drill status, the last-verified stamp and the drill metrics,
 * and says how it went. The work directory is removed whatever happened.
 * A spec that names no recovery point is a usage error (no status written).
 */
export async function runDrill(ctx: AgentContext, o: DrillOptions): Promise<number> {
  const { state, config, log } = ctx;
  const start = new Date();
  const drillId = `drill-${isoSeconds(start).replace(/[-:]/g, "")}`;
  log.runId = o.runIdForLog ?? drillId;
  const work = state.drill;
  removeTree(work);
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const checks = new DrillChecks(ctx);
  let point: DrillPoint = { runId: "", filesSnapshot: "" };
  let step = "resolve";
  try {
    log.info("drill-started", `restore drill of ${o.spec} on ${config.host}`);
    point = await o.resolve(ctx, o.spec);
    step = "drill";
    await checkRecoveryPoint(ctx, checks, point, o.subset, work);
  } catch (e) {
    // No recovery point matches: the operator's mistake, as in bash (exit 64, no status).
    if (e instanceof UsageError) throw e;
    // Anything else that stopped the drill (the repository unreachable) is a failed drill.
    checks.fail(e instanceof StepError ? e.step : step, (e as Error).message);
  } finally {
    removeTree(work);
  }

  const status: DrillStatus = {
    drill: drillId,
    recoveryPoint: point.runId,
    snapshot: point.filesSnapshot,
    start: isoSeconds(start),
    end: isoSeconds(new Date()),
    result: checks.result,
    failedStep: checks.failedStep,
    message: checks.message,
    checks: checks.checks,
  };
  try {
    writeDrillStatus(ctx, status);
  } catch (e) {
    process.stderr.write(`dx-backup: ERROR: the drill status could not be written: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
  if (status.result === "success") {
    log.info("drill-succeeded", `dx-backup: drill of ${point.runId} verified (${status.checks.length} checks)`);
    if (!log.interactive) process.stderr.write(`dx-backup: drill of ${point.runId} verified\n`);
    return EXIT.ok;
  }
  log.error("drill-failed", `dx-backup: DRILL FAILED at step ${status.failedStep}: ${status.message}`);
  process.stderr.write(`dx-backup: DRILL of ${point.runId} FAILED at step ${status.failedStep}: ${status.message}\n`);
  return EXIT.failed;
}

/** drill-status.json, the last-verified stamp (a success only) and dxbackup-<policy>-drill.prom. */
export function writeDrillStatus(ctx: AgentContext, status: DrillStatus): void {
  const { state, config } = ctx;
  publish(state.drillStatus, `${JSON.stringify(status)}\n`);
  const end = Math.floor(Date.parse(status.end) / 1000);
  if (status.result === "success") writeFileSync(state.lastVerified, `${end}\n`);
  const lastVerified = existsSync(state.lastVerified) ? epochStamp(readFileSync(state.lastVerified, "utf8")) : 0;
  writeMetricsFile(
    state.metrics,
    config.policy,
    "drill",
    renderDrillMetrics({ policy: config.policy, host: config.host, end, lastVerified, result: status.result }),
  );
}

/**
 * The checks, in bash's order: the repository's data (restic check), then the
 * restore with --verify; only a readable, restorable point has its IIM state
 * and pieces checked. Every piece is checked even after one failed.
 */
export async function checkRecoveryPoint(
  ctx: AgentContext,
  checks: DrillChecks,
  point: DrillPoint,
  subset: string,
  work: string,
): Promise<void> {
  const check = await resticRetryingLock(ctx, ["check", "--read-data-subset", subset]);
  if (check.code === 0 && !check.signal) {
    checks.ok(`restic check --read-data-subset ${subset}: no errors`);
  } else {
    process.stderr.write(check.output);
    checks.fail(
      "check",
      `restic check found errors in the repository: ${explain(check.output, /error|fatal|invalid|mismatch/i, check.code)}`,
    );
    return;
  }

  const id = point.filesSnapshot;
  const files = path.join(work, "files");
  if (!/^[0-9a-f]{8,64}$/.test(id)) {
    checks.fail("restore", `'${id}' is not a snapshot id`);
    return;
  }
  const restored = await resticRetryingLock(ctx, ["restore", id, "--target", files, "--verify"]);
  const restoreOutput = restored.output;
  if (restored.code === 0 && !restored.signal) {
    checks.ok(`restored snapshot ${shortId(id)} and verified every file against it`);
  } else {
    process.stderr.write(restoreOutput);
    checks.fail(
      "restore",
      `the restore of ${shortId(id)} failed: ${explain(restoreOutput, /error|fatal|invalid/i, restored.code)}`,
    );
    return;
  }

  const recordDir = path.join(files, ctx.state.recoveryPoint);
  let record: RecordRead;
  try {
    record = readRecord(recordDir);
  } catch {
    checks.fail("record", `snapshot ${shortId(id)} holds no recovery-point record this agent can read`);
    return;
  }
  if (record.iimPackages !== undefined) checkIim(checks, record, files);
  for (const [name, pairs] of record.pieces) {
    try {
      await checkPiece(ctx, checks, name, pairs, files, work);
    } catch (e) {
      // A check that could not even run its tool is a failed check.
      checks.fail(`piece:${name}`, (e as Error).message);
    }
  }
}

/** The restored installed.xml lists exactly the packages the recovery point recorded. */
function checkIim(checks: DrillChecks, record: RecordRead, files: string): void {
  const installed = inside(files, path.posix.join(record.iimAgentDataDir || "/", "installed.xml"));
  let matches = false;
  try {
    matches =
      installed !== undefined &&
      statSync(installed).isFile() &&
      packagesTsv(iimPackages(installed)) === packagesTsv(record.iimPackages ?? []);
  } catch {
    matches = false;
  }
  if (matches) checks.ok("the restored IIM state matches the levels recorded in the recovery point");
  else checks.fail("iim", "the restored IIM installed.xml does not match the recorded IIM levels");
}

/** One piece of the restored recovery point (bash `drill_piece`). */
async function checkPiece(
  ctx: AgentContext,
  checks: DrillChecks,
  piece: string,
  pairs: Array<[string, string]>,
  files: string,
  work: string,
): Promise<void> {
  const { restic, config, state } = ctx;
  const step = `piece:${piece}`;
  const kind = listGet(pairs, "kind") ?? "";
  const engine = listGet(pairs, "engine") ?? "";
  const file = listGet(pairs, "file") ?? "";
  const snapshot = listGet(pairs, "snapshot") ?? "";
  const pieceConfig = config.pieces[piece];

  if (snapshot) {
    // A streamed export: a snapshot of its own.
    if (!/^[0-9a-f]{8,64}$/.test(snapshot) || !file.startsWith("/")) {
      checks.fail(step, `the record names no snapshot and file this agent can read (${snapshot} ${file})`);
      return;
    }
    const cannotRead = () => checks.fail(step, `restic cannot read ${file}`);
    if (engine !== "postgresql") {
      if (!(await dumpReads(ctx, step, snapshot, file))) return cannotRead();
      checks.ok(`${piece}: the streamed export reads back in full`);
      return;
    }
    // pg_restore turns all of the dump, every table's data included, into the SQL it
    // would run (and fails on anything truncated or corrupt).
    const pgRestore = available(pgRestoreFor(pieceConfig));
    if (pgRestore) {
      try {
        await restic.dumpInto(step, snapshot, file, {
          cmd: pgRestore,
          args: ["--file=/dev/null"],
          what: "pg_restore",
        });
      } catch (e) {
        checks.fail(step, `pg_restore cannot read the dump ${file} (${(e as Error).message})`);
        return;
      }
      checks.ok(`${piece}: the PostgreSQL dump is complete and readable to its last row (pg_restore)`);
    } else {
      if (!(await dumpReads(ctx, step, snapshot, file))) return cannotRead();
      checks.ok(`${piece}: the dump reads back (pg_restore is not installed here to check it further)`);
    }
    return;
  }

  const at = file.startsWith("/") ? inside(files, file) : undefined;
  if (!at || !existsSync(at)) {
    checks.fail(step, `${file} is missing from the recovery point`);
    return;
  }
  if (kind === "database" && engine === "derby") {
    const ij = available(
      pieceConfig?.kind === "database" && pieceConfig.database.engine === "derby"
        ? pieceConfig.database.derby.command
        : "ij",
    );
    if (!ij) {
      checks.ok(`${piece}: the Derby backup is present (ij is not installed here to restore it)`);
      return;
    }
    const url = `jdbc:derby:${path.join(work, "derby-check")};restoreFrom=${at}`;
    try {
      await derbyIj(
        step,
        "restore",
        ij,
        `connect ${sqlLiteral(url)};\nselect count(*) from sys.systables;\nexit;\n`,
        state.dir,
        restic.logFile,
      );
    } catch (e) {
      checks.fail(
        step,
        `Derby cannot restore the backup: ${(e as Error).message.replace(/^Derby restore failed: /, "")}`,
      );
      return;
    }
    checks.ok(`${piece}: the Derby backup restores into a throwaway database`);
    return;
  }
  if (kind === "database" && engine === "db2") {
    await checkDb2Image(ctx, checks, piece, pairs, at, pieceConfig);
    return;
  }
  if (kind === "ldap" && listGet(pairs, "tool") === "isds") {
    // lstat: a symbolic link in a snapshot is data, never a way to make the drill read another directory.
    if (!lstatSync(at).isDirectory()) return checks.fail(step, `${file} is not an idsdbback directory`);
    const problem = isdsBackupProblem(readdirSync(at));
    if (problem) return checks.fail(step, `the idsdbback backup is incomplete: ${problem}`);
    checks.ok(`${piece}: the idsdbback backup holds the instance's configuration, key stash and DB2 image`);
    return;
  }
  if (kind === "ldap") {
    const entries = await countLines(at, (l) => l.startsWith("dn:"));
    const recorded = listGet(pairs, "entries") ?? "";
    if (String(entries) !== recorded) {
      checks.fail(step, `the LDIF has ${entries} entries, the export recorded ${recorded}`);
      return;
    }
    checks.ok(`${piece}: the LDIF holds all ${entries} entries`);
    return;
  }
  if (kind === "xmlaccess") {
    // lstat: a symbolic link in a snapshot is data, never a way to make the drill read another file.
    const problem = lstatSync(at).isFile() ? xmlProblem(at, "request") : "it is not a regular file";
    if (problem) return checks.fail(step, `${file} is not an XMLAccess export: ${problem}`);
    if ((await countLines(at, (l) => l.includes('result="ok"'), 1)) === 0) {
      checks.fail(step, `${file} is not a successful XMLAccess export`);
      return;
    }
    checks.ok(
      `${piece}: the XMLAccess export is ${statSync(at).size > XML_PARSE_LIMIT ? "an XML <request> from start to end" : "well-formed XML"} and complete`,
    );
    return;
  }
  if (kind === "wasConfig") {
    // backupConfig.sh zips the profile's config directory: every cell has cells/<cell>/cell.xml.
    let entries: string[];
    if (!lstatSync(at).isFile()) return checks.fail(step, `${file} is not a regular file`);
    try {
      entries = await zipEntries(at);
    } catch (e) {
      return checks.fail(step, `${file} is not a readable ZIP archive: ${(e as Error).message}`);
    }
    if (!entries.some((n) => /(^|\/)cells\/[^/]+\/cell\.xml$/.test(n)))
      return checks.fail(
        step,
        `${file} holds no cell configuration (cells/<cell>/cell.xml): not a backupConfig archive`,
      );
    checks.ok(
      `${piece}: the backupConfig archive reads back whole (${entries.length} entries, the cell configuration among them)`,
    );
    return;
  }
  if (!hasNonEmptyFile(at)) {
    checks.fail(step, `${file} is empty`);
    return;
  }
  checks.ok(`${piece}: the ${engine}${engine ? " " : ""}backup files are present and were verified with the snapshot`);
}

/**
 * DB2's own check of the image the record names: db2ckbkp reads every page of it
 * (https://www.ibm.com/docs/en/db2/11.5.x?topic=commands-db2ckbkp-check-backup), as the
 * instance owner who runs the CLP. A host without db2ckbkp checks presence only, and says so.
 */
async function checkDb2Image(
  ctx: AgentContext,
  checks: DrillChecks,
  piece: string,
  pairs: Array<[string, string]>,
  at: string,
  pieceConfig: HostConfig["pieces"][string] | undefined,
): Promise<void> {
  const step = `piece:${piece}`;
  const ts = listGet(pairs, "backupTimestamp") ?? "";
  const images = statSync(at).isDirectory() ? imageFiles(readdirSync(at), ts).map((n) => path.join(at, n)) : [];
  if (!images.length)
    return checks.fail(step, `the DB2 image taken at ${ts || "(no timestamp)"} is missing from the recovery point`);
  const db2 =
    pieceConfig?.kind === "database" && pieceConfig.database.engine === "db2" ? pieceConfig.database.db2 : undefined;
  const logFile = ctx.restic.logFile;
  if (db2) await giveToUser(step, db2.instanceUser, ctx.state.dir, [at], logFile);
  const r = await run(db2ckbkpCommand(db2?.command ?? "db2"), images, { asUser: db2?.instanceUser, logFile });
  if (r.code === 127) {
    checks.ok(`${piece}: the DB2 image taken at ${ts} is present (db2ckbkp is not installed here to check it)`);
    return;
  }
  if (r.code !== 0 || r.signal || !/Image Verification Complete - successful/.test(r.stdout))
    return checks.fail(
      step,
      `db2ckbkp finds the DB2 image taken at ${ts} damaged: ${explain(r.stdout + r.stderr, /ERROR|SQL\d+N/, r.code)}`,
    );
  checks.ok(`${piece}: the DB2 image taken at ${ts} passes db2ckbkp`);
}

/** `restic dump SNAPSHOT FILE >/dev/null` succeeded. */
async function dumpReads(ctx: AgentContext, step: string, snapshot: string, file: string): Promise<boolean> {
  try {
    await ctx.restic.dumpToFile(step, snapshot, file, "/dev/null");
    return true;
  } catch (e) {
    if (e instanceof StepError) return false;
    throw e;
  }
}

/** pg_restore next to the piece's configured pg_dump; the one on PATH otherwise. */
function pgRestoreFor(p: HostConfig["pieces"][string] | undefined): string {
  let pg: PostgresTarget | undefined;
  if (p?.kind === "database" && p.database.engine === "postgresql") pg = p.database.postgresql;
  if (p?.kind === "remoteSource" && p.by.kind === "postgresql") pg = p.by.postgresql;
  const next = pg ? pgRestoreCommand(pg) : "pg_restore";
  return next.includes("/") && !available(next) ? "pg_restore" : next;
}

/** The command as it will be run when it can be (an executable path, or a name found on PATH); undefined otherwise. */
function available(cmd: string): string | undefined {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) return executable(cmd) ? cmd : undefined;
  return (process.env.PATH ?? "").split(":").some((d) => d && executable(path.join(d, cmd))) ? cmd : undefined;
}

/** ROOT + P for an absolute P recorded in the recovery point, when that stays under ROOT. */
function inside(root: string, p: string): string | undefined {
  if (!p.startsWith("/")) return undefined;
  const joined = path.join(root, p);
  return joined === root || joined.startsWith(`${root}/`) ? joined : undefined;
}

/** The lines of FILE that match, counted without reading it whole (stops at `stopAt`). */
async function countLines(file: string, match: (line: string) => boolean, stopAt = Infinity): Promise<number> {
  if (!statSync(file).isFile()) return 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    if (match(line) && ++n >= stopAt) break;
  }
  lines.close();
  return n;
}

/** A regular file of at least one byte at or under P (symbolic links are not followed: `find -type f -size +0`). */
function hasNonEmptyFile(p: string): boolean {
  const st = lstatSync(p);
  if (st.isFile()) return st.size > 0;
  if (!st.isDirectory()) return false;
  return readdirSync(p).some((n) => hasNonEmptyFile(path.join(p, n)));
}

/** restic, with a stale lock (a killed prune) removed once and the command retried; output as bash's 2>&1. */
async function resticRetryingLock(ctx: AgentContext, args: string[]) {
  let r = await ctx.restic.run(args);
  if (r.code !== 0 && isLocked(r.stderr)) {
    await ctx.restic.unlock();
    r = await ctx.restic.run(args);
  }
  return { code: r.code, signal: r.signal, output: `${r.stdout}${r.stderr}` };
}

/** The line that explains a failed tool: the first that matches, else its last line, else its exit status. */
function explain(output: string, pattern: RegExp, code: number): string {
  const hit = output.split("\n").find((l) => pattern.test(l));
  return (hit ?? errorLineOf(output)).slice(0, 300) || `exit ${code}`;
}

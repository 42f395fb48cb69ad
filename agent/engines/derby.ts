import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { run, type CommandResult } from "../exec";
import { StepError } from "../errors";

export interface DerbyTarget {
  url: string;
  user?: string;
  passwordFile?: string;
  command: string;
}

/** A SQL string literal: single quotes doubled. */
export function sqlLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** The Derby URL with its credentials: for ij's stdin only, never an argument. */
export function derbyUrl(d: DerbyTarget): string {
  let url = d.url;
  if (d.user) url += `;user=${d.user}`;
  if (d.passwordFile) url += `;password=${readFileSync(d.passwordFile, "utf8").replace(/\n$/, "")}`;
  return url;
}

/**
 * A script through ij (on stdin: the password never appears in an argument).
 * ij exits 0 even when a statement fails: its output decides. Derby writes
 * derby.log into the working directory: ij runs in `cwd` (the state dir).
 * Error lines matching `expected` are answers the script asked for.
 */
export async function derbyIj(
  step: string,
  what: string,
  command: string,
  script: string,
  cwd: string,
  logFile?: string,
  expected?: RegExp,
): Promise<CommandResult> {
  const r = await run(command, [], { input: script, cwd, logFile });
  const text = `${r.stdout}\n${r.stderr}`;
  // Derby reports a failure and then its cause ("XJ040 Failed to start database", then "XBM0H
  // Directory ... cannot be created"): both go into the message.
  const errors = text
    .split("\n")
    .map((l) => l.replace(/^(ij> )*/, "").trim())
    .filter((l) => /^ERROR [0-9A-Z]{5}/.test(l) && !expected?.test(l));
  if (errors.length) throw new StepError(step, `Derby ${what} failed: ${errors.join(" / ")}`);
  if (r.code !== 0)
    throw new StepError(step, `Derby ${what} failed: ij exited ${r.code}: ${r.stderr.trim().split("\n").pop() ?? ""}`);
  return r;
}

/**
 * Shuts down a database that the Derby Network Server has booted, before a restore.
 * Derby ignores `restoreFrom` for a booted database without a word (tried on 10.14:
 * the connection succeeds and the old rows stay), so a restore through the server
 * shuts the database down first. 08006 is the shutdown's normal answer; 08004 "not
 * found" is what the server answers for a database it has not booted (a rebuilt
 * host). Anything else, such as refused credentials, fails the step.
 */
export async function derbyShutdown(step: string, d: DerbyTarget, cwd: string, logFile?: string): Promise<void> {
  await derbyIj(
    step,
    "shutdown",
    d.command,
    `connect ${sqlLiteral(`${derbyUrl(d)};shutdown=true`)};\nexit;\n`,
    cwd,
    logFile,
    /^ERROR 08006|^ERROR 08004: .* was not found/,
  );
}

/**
 * Restores a database through the Derby Network Server and proves it happened. Derby ignores
 * `restoreFrom` for a database the server has booted, without a word, and anything that
 * connects between the shutdown and the restore (a Portal still running, a pool reconnecting)
 * boots it again. So a table of a name never used before is made in the live database first;
 * the restored database, a copy of the backup, cannot have it. If it is still there the restore
 * did not happen: the table is dropped again and the step fails.
 */
export async function derbyNetworkRestore(
  step: string,
  d: DerbyTarget,
  backup: string,
  cwd: string,
  logFile?: string,
): Promise<void> {
  const mark = `DXBACKUP_RESTORE_${randomBytes(6).toString("hex").toUpperCase()}`;
  // A database the server cannot boot (missing on a rebuilt host, or damaged: the usual reason to
  // restore) cannot be marked, and no client can boot it again either: it is restored unproven.
  const marking = await derbyIj(
    step,
    "restore",
    d.command,
    `connect ${sqlLiteral(derbyUrl(d))};\ncreate table ${mark} (x int);\nexit;\n`,
    cwd,
    logFile,
    /^ERROR /,
  );
  const marked = !/^(ij> )*ERROR /m.test(`${marking.stdout}\n${marking.stderr}`);
  const dropMark = () =>
    derbyIj(
      step,
      "clean-up",
      d.command,
      `connect ${sqlLiteral(derbyUrl(d))};\ndrop table ${mark};\nexit;\n`,
      cwd,
      logFile,
    );
  let r: CommandResult;
  try {
    await derbyShutdown(step, d, cwd, logFile);
    r = await derbyIj(
      step,
      "restore",
      d.command,
      `connect ${sqlLiteral(`${derbyUrl(d)};restoreFrom=${backup}`)};\nselect count(*) from sys.systables where tablename = '${mark}';\nexit;\n`,
      cwd,
      logFile,
    );
  } catch (e) {
    // Nothing was restored: the live database keeps no trace of the attempt.
    if (marked) await dropMark().catch(() => undefined);
    throw e;
  }
  const count = /-{3,}\s+(\d+)/.exec(r.stdout)?.[1];
  if (count !== "0") {
    if (count !== undefined) await dropMark();
    throw new StepError(
      step,
      `Derby did not restore ${d.url}: the database was in use again between its shutdown and the restore (${count === undefined ? "no answer to the check" : "the live database answered"}); stop everything that connects to it (Portal) and restore again`,
    );
  }
}

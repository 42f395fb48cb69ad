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

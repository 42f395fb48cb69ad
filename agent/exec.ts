import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { shQuote } from "../components/render/shell";
import { StepError } from "./errors";
import { secretInput, withSecretVariables } from "../shared/secretRefs";

/**
 * The one way the agent runs an external command. `run` resolves with a
 * typed result whatever the exit status; `must` turns any status it was not
 * told to accept into a StepError naming the step, the command and its last
 * error line, so that no step can go on after a failed command.
 */

export interface CommandResult {
  command: string;
  code: number;
  signal: NodeJS.Signals | null;
  /** Stopped by the agent after `timeoutMs`. */
  timedOut?: boolean;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to the agent's environment (which holds no storage secret). */
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, then closed; stdin is /dev/null otherwise. */
  input?: string;
  cwd?: string;
  /** Run through `su - USER -c` (a DB2 instance owner, the Oracle user). */
  asUser?: string;
  /** With asUser: bash as the login shell (a service account may have none) and this umask. */
  umask?: string;
  /** Also appended here: the run's log. */
  logFile?: string;
  /** Exit codes that are not a failure (default: 0). */
  okCodes?: number[];
  /** The line of the output that explains a failure: the first match, else the last non-empty line. */
  errorLine?: RegExp;
  /** Stop the command (SIGTERM) after this long: a probe that must answer quickly. */
  timeoutMs?: number;
  /** Stop the command (SIGTERM) when this fires: its work turned out not to be wanted. */
  abort?: AbortSignal;
}

/**
 * An operator's command as it may be shown: the value after a password option (`-password x`,
 * `--passwd=x`, `-DWasPassword=x`, `-DPortalAdminPwd=x`) or in a password variable
 * (`WAS_PASSWORD=x`) becomes `****`. WebSphere's stopServer.sh and ConfigEngine.sh take their
 * passwords that way; the log and status.json are readable by more than root.
 */
export function scrubSecrets(command: string): string {
  // A value: a single- or double-quoted word, or a plain word up to a space or shell operator.
  const option = /(-{1,2}(?:password|passwd|pwd)(?:=|\s+))('[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|]+)/gi;
  const property = /(-D[\w.]*(?:password|passwd|pwd)=)('[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|]+)/gi;
  const variable = /(\b[A-Za-z_]*(?:PASSWORD|PASSWD)=)('[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|]+)/gi;
  // A secret reference ("{{secret:KEY}}") holds no secret: it stays, and says where the value comes from.
  const hide = (match: string, name: string, value: string) =>
    /^"\{\{secret:[A-Za-z][A-Za-z0-9_-]*\}\}"$/.test(value) ? match : `${name}****`;
  return command.replace(option, hide).replace(property, hide).replace(variable, hide);
}

/** How the command line is shown in messages: what was run, never a secret (secrets go in files or stdin). */
export function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[A-Za-z0-9._/=:@%+,-]+$/.test(a) ? a : shQuote(a))).join(" ");
}

export function withUser(cmd: string, args: readonly string[], user?: string, umask?: string): [string, string[]] {
  if (!user) return [cmd, [...args]];
  const line = [cmd, ...args].map(shQuote).join(" ");
  if (umask === undefined) return ["su", ["-", user, "-c", line]];
  return ["su", ["-s", "/bin/bash", "-", user, "-c", `umask ${umask} && exec ${line}`]];
}

/** Who runs the WebSphere profile's tools: its owner (hosts[].runAs), or root. */
export interface RunAs {
  user: string;
  umask: string;
}

/** RunOptions that run a tool as the profile's owner, when there is one. */
export function asOwner(runAs: RunAs | undefined): Pick<RunOptions, "asUser" | "umask"> {
  return runAs ? { asUser: runAs.user, umask: runAs.umask } : {};
}

/** Where PATH finds a command (a path is taken as it is); undefined when it does not. */
export function onPath(cmd: string): string | undefined {
  if (cmd.includes("/")) return cmd;
  return (process.env.PATH ?? "")
    .split(":")
    .map((d) => path.join(d, cmd))
    .find((p) => existsSync(p));
}

/** The line that explains a failure. */
export function errorLineOf(text: string, pattern?: RegExp): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const hit = pattern ? lines.find((l) => pattern.test(l)) : undefined;
  return (hit ?? lines[lines.length - 1] ?? "").slice(0, 400);
}

/**
 * Tracks the tools that run (restic, dumps, database tools), so that a signal
 * can stop them before the agent cleans up. SIGINT: restic removes its lock on it.
 * The operator's stop and start commands are not tracked: they always finish.
 */
const running = new Set<ChildProcess>();
export function killRunning(signal: NodeJS.Signals = "SIGINT"): void {
  for (const c of running) c.kill(signal);
}

export function spawnTracked(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdio: StdioOptions },
): ChildProcess {
  const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: opts.stdio });
  running.add(child);
  child.once("close", () => running.delete(child));
  child.once("error", () => running.delete(child));
  return child;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [file, argv] = withUser(cmd, args, opts.asUser, opts.umask);
  const command = describe(cmd, args);
  return new Promise((resolve) => {
    const child = spawnTracked(file, argv, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => undefined); // a tool that exits without reading its stdin
      child.stdin!.end(opts.input);
    }
    let spawnError: Error | undefined;
    child.on("error", (e) => (spawnError = e));
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGTERM");
          }, opts.timeoutMs);
    const stop = () => child.kill("SIGTERM");
    opts.abort?.addEventListener("abort", stop, { once: true });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.abort?.removeEventListener("abort", stop);
      const stdout = Buffer.concat(out).toString("utf8");
      let stderr = Buffer.concat(err).toString("utf8");
      if (spawnError)
        stderr += `${cmd}: ${(spawnError as NodeJS.ErrnoException).code === "ENOENT" ? "command not found" : spawnError.message}\n`;
      if (opts.logFile) appendLog(opts.logFile, `$ ${command}\n${stdout}${stderr}`);
      // A command that could not be started is 127, as in a shell (Node reports a negative errno).
      resolve({ command, code: spawnError ? 127 : (code ?? 128), signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs the command; any exit status not in okCodes fails `step` with the command's own explanation. */
export async function must(
  step: string,
  what: string,
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const r = await run(cmd, args, opts);
  if (!(opts.okCodes ?? [0]).includes(r.code) || r.signal) throw failure(step, what, r, opts.errorLine);
  return r;
}

export function failure(step: string, what: string, r: CommandResult, pattern?: RegExp): StepError {
  const why = errorLineOf(r.stderr, pattern) || errorLineOf(r.stdout, pattern);
  const status = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return new StepError(step, `${what} failed (${status})${why ? `: ${why}` : ""}`);
}

/**
 * The operator's own shell code (offline stop and start commands), its output
 * straight into the log file as it comes: a command that leaves a daemon
 * behind (`nohup ... &`) holds no pipe of ours, and `tail -f` shows a start as
 * it happens. Done when the command exits. A `"{{secret:KEY}}"` in it is read
 * from `secretFiles[KEY]` and reaches the shell on its stdin, into a variable
 * it never exports: never a command line or an environment. The log shows the
 * reference.
 */
export function runShell(
  command: string,
  logFile: string,
  runAs?: RunAs,
  secretFiles: Record<string, string> = {},
): Promise<CommandResult> {
  appendLog(logFile, `$ ${scrubSecrets(command)}${runAs ? `  (as ${runAs.user})` : ""}`);
  const { script, variables } = withSecretVariables(command);
  const values: string[] = [];
  for (const key of Object.values(variables)) {
    const file = secretFiles[key];
    try {
      if (!file) throw new Error("this host's config names no file for it");
      values.push(readFileSync(file, "utf8"));
    } catch (e) {
      appendLog(logFile, `dx-backup: the secret ${key} this command refers to cannot be read: ${(e as Error).message}`);
      return Promise.resolve({ command, code: 127, signal: null, stdout: "", stderr: "" });
    }
  }
  const [file, args] = runAs
    ? ["su", ["-s", "/bin/bash", "-", runAs.user, "-c", `umask ${runAs.umask} && ${script}`]]
    : ["bash", ["-c", script]];
  const fd = openSync(logFile, "a", 0o600);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: [values.length ? "pipe" : "ignore", fd, fd] });
    // A shell that exits before reading everything closes the pipe: that is its failure to report, not ours.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(secretInput(values));
    let spawnError = false;
    child.on("error", () => (spawnError = true));
    child.on("exit", (code, signal) => {
      closeSync(fd);
      resolve({ command, code: spawnError ? 127 : (code ?? 128), signal, stdout: "", stderr: "" });
    });
  });
}

export function appendLog(file: string, text: string): void {
  try {
    appendFileSync(file, text.endsWith("\n") || text === "" ? text : `${text}\n`);
  } catch {
    // The log is for the operator; a full disk must not hide the run's real result.
  }
}

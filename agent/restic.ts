import type { ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { HostConfig } from "../shared/hostConfig";
import { storageEnvironment } from "./config";
import {
  appendLog,
  describe,
  errorLineOf,
  failure,
  run,
  spawnTracked,
  type CommandResult,
  type RunOptions,
  onPath,
} from "./exec";
import { StepError } from "./errors";

/** What `restic backup --json` reports at the end. */
export interface BackupSummary {
  /** The short (8-character) id: restic 0.14 reports it, 0.17+ the full one; the record keeps one form. */
  snapshotId: string;
  dataAdded: number;
  filesProcessed: number;
  bytesProcessed: number;
  filesNew: number;
  filesChanged: number;
}

export interface Progress {
  percent: number;
  filesDone: number;
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
}

export interface SnapshotJson {
  id: string;
  short_id?: string;
  time: string;
  tags?: string[];
  paths?: string[];
  hostname?: string;
  program_version?: string;
}

/** A producer whose stdout becomes a snapshot of its own (a database dump). */
export interface Producer {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What it is, for messages ("pg_dump of release"). */
  what: string;
}

export const shortId = (id: string) => id.slice(0, 8);

/**
 * restic's environment for the repository at URL with the storage's
 * credentials. A rest-server user and password go into the URL, as every
 * restic since 0.9 reads them (RESTIC_REST_USERNAME and _PASSWORD are 0.17's);
 * the URL stays in the environment, never on a command line, and restic
 * prints it without the password.
 */
export function repositoryEnvironment(url: string, storage: Record<string, string>): Record<string, string> {
  const { RESTIC_REST_USERNAME: user, RESTIC_REST_PASSWORD: password, ...rest } = storage;
  if (user === undefined || password === undefined || !url.startsWith("rest:"))
    return { ...storage, RESTIC_REPOSITORY: url };
  const server = new URL(url.slice("rest:".length));
  // Encoded here: the URL setters leave a "%" as it is, which Go would read as an escape.
  server.username = encodeURIComponent(user);
  server.password = encodeURIComponent(password);
  return { ...rest, RESTIC_REPOSITORY: `rest:${server.href}` };
}

/**
 * restic for one host's repository: the repository, password file, cache and
 * storage credentials reach restic (and only restic) through its environment.
 * Counts the processes it starts: each one that opens the repository costs a
 * key derivation.
 */
export class Restic {
  processes = 0;
  /** Milliseconds during which at least one restic process ran: the run's time minus this is the agent's own. */
  busyMs = 0;
  private active = 0;
  private busySince = 0;
  /** Told when a stale lock (a killed run's) is removed before a retry. */
  onStaleLock?: () => void;
  private readonly env: NodeJS.ProcessEnv;
  private readonly global: string[];

  constructor(
    readonly config: HostConfig,
    /** Where tool output goes: the run's log during a run. */
    public logFile?: string,
    passwordFile = config.repository.passwordFile,
  ) {
    this.env = {
      ...repositoryEnvironment(config.repository.url, storageEnvironment(config)),
      RESTIC_PASSWORD_FILE: passwordFile,
      RESTIC_CACHE_DIR: path.join(config.stateDir, "cache"),
    };
    this.global = config.repository.options;
  }

  /** The same repository opened with another password file (rekey). */
  withPassword(file: string): Restic {
    return new Restic(this.config, this.logFile, file);
  }

  /** Counts a restic process that starts now; the returned function is called once it has ended. */
  private started(): () => void {
    this.processes++;
    if (this.active++ === 0) this.busySince = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.active === 0) this.busyMs += performance.now() - this.busySince;
    };
  }

  /** A restic child process, counted from its start to its close. */
  private spawn(args: string[], opts: Parameters<typeof spawnTracked>[2]): ChildProcess {
    const child = spawnTracked(this.config.restic, [...this.global, ...args], opts);
    // Counted once spawned: a spawn that throws leaves nothing running.
    const ended = this.started();
    child.on("close", ended);
    child.on("error", ended);
    return child;
  }

  run(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const ended = this.started();
    return run(this.config.restic, [...this.global, ...args], {
      logFile: this.logFile,
      ...opts,
      env: { ...this.env, ...opts.env },
    }).finally(ended);
  }

  /** Fails `step` unless restic succeeds; a stale lock (a killed prune) is removed once and the command retried. */
  async must(step: string, what: string, args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    let r = await this.run(args, opts);
    if (r.code !== 0 && isLocked(r.stderr)) {
      this.onStaleLock?.();
      await this.unlock();
      r = await this.run(args, opts);
    }
    if (!(opts.okCodes ?? [0]).includes(r.code) || r.signal) throw failure(step, what, r, RESTIC_ERROR);
    return r;
  }

  /** restic with the operator's terminal: output streams straight through (snapshots, check). */
  inherit(args: string[]): Promise<number> {
    const child = this.spawn(args, {
      env: { ...process.env, ...this.env },
      stdio: ["inherit", "inherit", "inherit"],
    });
    return new Promise((resolve) => {
      child.on("error", () => resolve(127));
      child.on("close", (code) => resolve(code ?? 128));
    });
  }

  unlock(): Promise<CommandResult> {
    return this.run(["unlock"]);
  }

  async snapshots(filters: string[]): Promise<SnapshotJson[]> {
    const r = await this.must("snapshots", "restic snapshots", [
      "snapshots",
      "--json",
      "--host",
      this.config.host,
      ...filters,
    ]);
    return (JSON.parse(r.stdout) as SnapshotJson[] | null) ?? [];
  }

  /**
   * `restic backup --json`, its output read line by line (a 50k-file tree
   * never sits in memory), progress shown in a terminal. Exit 3 (some files
   * unreadable) still yields a snapshot; the caller decides.
   */
  async backup(
    args: string[],
    onProgress?: (p: Progress) => void,
  ): Promise<{ code: number; stderr: string; summary?: BackupSummary }> {
    const attempt = async () => {
      const child = this.spawn(["backup", "--json", ...args], {
        env: { ...process.env, ...this.env, ...(onProgress ? { RESTIC_PROGRESS_FPS: "2" } : {}) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const err: Buffer[] = [];
      child.stderr!.on("data", (b: Buffer) => err.push(b));
      let summary: BackupSummary | undefined;
      const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
      const closed = new Promise<number>((resolve) => {
        child.on("error", () => resolve(127));
        child.on("close", (code) => resolve(code ?? 128));
      });
      for await (const line of lines) {
        if (line.startsWith('{"message_type":"status"')) {
          if (!onProgress) continue;
          const s = JSON.parse(line) as Record<string, number>;
          onProgress({
            percent: s.percent_done ?? 0,
            filesDone: s.files_done ?? 0,
            totalFiles: s.total_files ?? 0,
            bytesDone: s.bytes_done ?? 0,
            totalBytes: s.total_bytes ?? 0,
          });
        } else if (line.startsWith('{"message_type":"summary"')) {
          const s = JSON.parse(line) as Record<string, number | string>;
          summary = {
            snapshotId: shortId(String(s.snapshot_id ?? "")),
            dataAdded: Number(s.data_added ?? 0),
            filesProcessed: Number(s.total_files_processed ?? 0),
            bytesProcessed: Number(s.total_bytes_processed ?? 0),
            filesNew: Number(s.files_new ?? 0),
            filesChanged: Number(s.files_changed ?? 0),
          };
        }
      }
      const code = await closed;
      const stderr = Buffer.concat(err).toString("utf8");
      if (this.logFile) appendLog(this.logFile, stderr);
      return { code, stderr, summary: summary?.snapshotId ? summary : undefined };
    };
    let r = await attempt();
    if (r.code !== 0 && isLocked(r.stderr)) {
      this.onStaleLock?.();
      await this.unlock();
      r = await attempt();
    }
    return r;
  }

  /**
   * The producer's stdout becomes a snapshot of its own (`backup --stdin`),
   * with no copy on disk. restic's stdin is closed only after the producer
   * exited 0: a dump that died half-way is killed with restic before restic
   * ever sees end-of-file, so it never becomes a snapshot.
   */
  async backupStdin(step: string, filename: string, tags: string[], producer: Producer): Promise<string> {
    const restic = this.spawn(
      ["backup", "--json", "--stdin", "--stdin-filename", filename, "--host", this.config.host, ...tags],
      { env: { ...process.env, ...this.env }, stdio: ["pipe", "pipe", "pipe"] },
    );
    const dump = spawnTracked(producer.cmd, producer.args, {
      env: { ...process.env, ...producer.env },
      cwd: producer.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (s: NodeJS.ReadableStream | null) => {
      const parts: Buffer[] = [];
      s?.on("data", (b: Buffer) => parts.push(b));
      return () => Buffer.concat(parts).toString("utf8");
    };
    const resticOut = collect(restic.stdout);
    const resticErr = collect(restic.stderr);
    const dumpErr = collect(dump.stderr);
    restic.stdin!.on("error", () => undefined);
    dump.stdout!.pipe(restic.stdin!, { end: false });
    const exited = (c: typeof dump) =>
      new Promise<{ code: number; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
        let error: Error | undefined;
        c.on("error", (e) => {
          error = e;
        });
        c.on("close", (code, signal) => resolve({ code: code ?? (error ? 127 : 128), signal, error }));
      });
    const resticDone = exited(restic);
    // restic gone before the producer finished (a stale lock, storage unreachable): the producer
    // would block on a full pipe forever. Stop it; the step fails with restic's reason.
    let resticEarly = false;
    void resticDone.then(() => {
      if (dump.exitCode === null && dump.signalCode === null) {
        resticEarly = true;
        dump.stdout!.unpipe();
        dump.stdout!.resume();
        dump.kill("SIGTERM");
      }
    });
    const d = await exited(dump);
    if (this.logFile) appendLog(this.logFile, `$ ${describe(producer.cmd, producer.args)}\n${dumpErr()}`);
    if (resticEarly) {
      const r = await resticDone;
      if (this.logFile) appendLog(this.logFile, resticErr());
      throw new StepError(
        step,
        `restic backup --stdin of ${filename} failed (exit ${r.code}) before ${producer.what} finished: ${errorLineOf(resticErr(), RESTIC_ERROR)}`,
      );
    }
    if (d.code !== 0 || d.signal) {
      restic.kill("SIGINT");
      await resticDone;
      const why = d.error ? `${producer.cmd}: command not found` : errorLineOf(dumpErr());
      throw new StepError(
        step,
        `${producer.what} failed (${d.signal ? `killed by ${d.signal}` : `exit ${d.code}`}); nothing of its output was kept${why ? `: ${why}` : ""}`,
      );
    }
    restic.stdin!.end();
    const r = await resticDone;
    if (this.logFile) appendLog(this.logFile, resticErr());
    if (r.code !== 0)
      throw new StepError(
        step,
        `restic backup --stdin of ${filename} failed (exit ${r.code}): ${errorLineOf(resticErr(), RESTIC_ERROR)}`,
      );
    const summary = resticOut()
      .split("\n")
      .find((l) => l.startsWith('{"message_type":"summary"'));
    const id = summary ? String((JSON.parse(summary) as { snapshot_id?: string }).snapshot_id ?? "") : "";
    if (!id) throw new StepError(step, `restic did not report a snapshot for ${filename}`);
    return shortId(id);
  }

  /** `restic dump SNAPSHOT FILE` into a file (never through memory). */
  async dumpToFile(step: string, snapshot: string, file: string, dest: string): Promise<void> {
    const out = createWriteStream(dest, { mode: 0o600 });
    const child = this.spawn(["dump", snapshot, file], {
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const err: Buffer[] = [];
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    child.stdout!.pipe(out);
    // A destination that cannot be written (a full disk) stops restic: it must not block on a full pipe.
    let writeError: Error | undefined;
    const written = new Promise<void>((resolve) => {
      out.on("finish", () => resolve());
      out.on("error", (e) => {
        writeError = e;
        child.kill("SIGTERM");
        resolve();
      });
    });
    const code = await new Promise<number>((resolve) => {
      child.on("error", () => resolve(127));
      child.on("close", (c) => resolve(c ?? 128));
    });
    await written;
    if (writeError) throw new StepError(step, `writing ${dest} failed: ${writeError.message}`);
    if (code !== 0)
      throw failure(
        step,
        `restic dump of ${file} from ${snapshot}`,
        { command: "restic dump", code, signal: null, stdout: "", stderr: Buffer.concat(err).toString("utf8") },
        RESTIC_ERROR,
      );
  }

  /** `restic dump` piped into a consumer (pg_restore): both must succeed. */
  async dumpInto(step: string, snapshot: string, file: string, consumer: Producer): Promise<CommandResult> {
    const dump = this.spawn(["dump", snapshot, file], {
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const sink = spawnTracked(consumer.cmd, consumer.args, {
      env: { ...process.env, ...consumer.env },
      cwd: consumer.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    // A consumer that is gone must never leave restic blocked on a full pipe; one that failed needs no more input.
    sink.stdin!.on("error", () => dump.stdout!.resume());
    dump.stdout!.pipe(sink.stdin!);
    sink.once("exit", (code, signal) => {
      if ((code !== 0 || signal) && dump.exitCode === null && dump.signalCode === null) dump.kill("SIGTERM");
    });
    const texts = (c: typeof dump, keepStdout: boolean) => {
      const o: Buffer[] = [];
      const e: Buffer[] = [];
      if (keepStdout) c.stdout?.on("data", (b: Buffer) => o.push(b));
      c.stderr?.on("data", (b: Buffer) => e.push(b));
      return new Promise<CommandResult>((resolve) => {
        let error = false;
        c.on("error", () => (error = true));
        c.on("close", (code, signal) =>
          resolve({
            command: "",
            code: code ?? (error ? 127 : 128),
            signal,
            stdout: Buffer.concat(o).toString("utf8"),
            stderr: Buffer.concat(e).toString("utf8") + (error ? "command not found\n" : ""),
          }),
        );
      });
    };
    const [d, s] = await Promise.all([texts(dump, false), texts(sink, true)]);
    if (this.logFile) appendLog(this.logFile, `$ ${describe(consumer.cmd, consumer.args)}\n${s.stdout}${s.stderr}`);
    const sinkFailed = s.code !== 0 || s.signal !== null;
    // restic stopped because the consumer failed: the consumer's error is what explains it.
    if (d.code !== 0 && !(sinkFailed && d.signal === "SIGTERM"))
      throw failure(step, `restic dump of ${file} from ${snapshot}`, d, RESTIC_ERROR);
    if (sinkFailed) throw failure(step, consumer.what, s);
    return s;
  }

  /**
   * The restic version, cached per binary (path, size, mtime) under the state
   * directory, so that a run does not pay a process for it.
   */
  async version(): Promise<string> {
    const cache = path.join(this.config.stateDir, "restic-version.json");
    let stamp = this.config.restic;
    try {
      const which = onPath(this.config.restic) ?? this.config.restic;
      const st = statSync(which);
      stamp = `${which}:${st.size}:${st.mtimeMs}`;
      if (existsSync(cache)) {
        const c = JSON.parse(readFileSync(cache, "utf8")) as { stamp: string; version: string };
        if (c.stamp === stamp) return c.version;
      }
    } catch {
      // Not cached: ask restic.
    }
    const r = await run(this.config.restic, ["version"]);
    const version = /restic (\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
    if (!version) return "unknown";
    try {
      writeFileSync(cache, JSON.stringify({ stamp, version: `restic ${version}` }));
    } catch {
      // A cache only.
    }
    return `restic ${version}`;
  }
}

export const RESTIC_ERROR = /fatal|error/i;

/** Whether VERSION (`restic 0.18.1`, as `version()` gives it) is at least MAJOR.MINOR. */
export function resticAtLeast(version: string, major: number, minor: number): boolean {
  const m = /(\d+)\.(\d+)\.\d+/.exec(version);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

/**
 * What newer restic versions add to a backup. 0.15+: `--no-scan` when nobody
 * watches the progress (a scheduled run): the scan only estimates the total
 * for the progress bar, and walks the whole tree a second time to do it.
 * Not `--skip-if-unchanged` (0.17+): every run must leave a snapshot with its
 * run tag and record, or its recovery point would not exist.
 */
export function backupFeatures(version: string, interactive: boolean): string[] {
  return !interactive && resticAtLeast(version, 0, 15) ? ["--no-scan"] : [];
}

export function isLocked(stderr: string): boolean {
  return /already locked/.test(stderr);
}

/** A restic pattern that matches only this path. */
export function globLiteral(p: string): string {
  return p.replace(/[\\*?[]/g, (c) => `\\${c}`);
}

/** `tag:value` of a snapshot. */
export function tagValue(s: SnapshotJson, name: string): string | undefined {
  return s.tags?.find((t) => t.startsWith(`${name}:`))?.slice(name.length + 1);
}

import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import type { Stats } from "node:fs";
import Module from "node:module";
import * as path from "node:path";
import { Script } from "node:vm";

/**
 * V8's code cache for the agent, kept beside the agent file.
 *
 * Compiling the bundled agent (about 850 KB of JavaScript) is most of what a run costs
 * before its first restic process: Node 20 has no compile cache of its own for scripts
 * (`module.enableCompileCache` is Node 22), so the agent keeps the one `vm.Script` produces.
 * V8 checks its own version and flags, but matches the source by length only, and checks its
 * data's checksum only in debug builds: the header names the body's sha256 (a cache of another
 * agent of the same length is never used) and the data's (a damaged cache is never loaded).
 *
 * Running what the cache holds is running code, so it is used only when this user owns it
 * and its directory and no one else can write either; anything else, and any error, means
 * compiling from source: a cache can make the agent slower, never wrong.
 */

const FORMAT = "dxbackup-code-cache 2";

/** What a cache file says about itself: which body, Node and verb it was made by. */
export interface CacheHeader {
  bodySha256: string;
  node: string;
  /** The verb of the run that made it: its functions are the ones compiled in the cache. */
  verb: string;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function headerLine(h: CacheHeader, data: Buffer): string {
  return `${FORMAT} ${h.bodySha256} ${h.node} ${h.verb} ${sha256(data)}\n`;
}

/** Owned by this user and writable by no one else (a file, or the directory holding it). */
function private_(s: Stats): boolean {
  return process.geteuid !== undefined && s.uid === process.geteuid() && (s.mode & 0o022) === 0;
}

/** The directory may hold the cache: a real directory of this user's that no one else can write. */
function trustedDir(dir: string): boolean {
  try {
    const s = lstatSync(dir);
    return s.isDirectory() && private_(s);
  } catch {
    return false;
  }
}

/** The cached data of `file` when it was made for this body and this Node, else undefined. */
export function readCodeCache(file: string, bodySha256: string): { data: Buffer; verb: string } | undefined {
  if (!trustedDir(path.dirname(file))) return undefined;
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a symlink planted in place of the cache is not followed.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const s = fstatSync(fd);
    if (!s.isFile() || !private_(s) || s.size > 64 * 1024 * 1024) return undefined;
    const bytes = Buffer.alloc(s.size);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n === 0) return undefined;
      got += n;
    }
    const nl = bytes.indexOf(10);
    if (nl < 0) return undefined;
    const [format, version, sha, node, verb, dataSha] = bytes.subarray(0, nl).toString("utf8").split(" ");
    if (`${format} ${version}` !== FORMAT || sha !== bodySha256 || node !== process.version) return undefined;
    const data = bytes.subarray(nl + 1);
    if (sha256(data) !== dataSha) return undefined;
    return { data, verb: verb ?? "" };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Replaces `file` with a cache of `data` (a new file renamed over it: readers see the old one or this one). */
export function writeCodeCache(file: string, header: CacheHeader, data: Buffer): boolean {
  const dir = path.dirname(file);
  if (!trustedDir(dir)) return false;
  // Leftovers of agents killed while writing (their pid is in the name).
  const prefix = `${path.basename(file)}.`;
  for (const name of readdirSync(dir))
    if (name.startsWith(prefix) && name.endsWith(".tmp")) rmSync(path.join(dir, name), { force: true });
  const tmp = `${file}.${process.pid}.tmp`;
  let created = false;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    created = true;
    try {
      for (const part of [Buffer.from(headerLine(header, data)), data])
        for (let done = 0; done < part.length;) done += writeSync(fd, part, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return true;
  } catch {
    if (created) rmSync(tmp, { force: true });
    return false;
  }
}

/** The agent verb of a command line (`--config FILE` may come first): the cache records it. */
export function verbOf(args: string[]): string {
  let i = 0;
  while (args[i] === "--config") i += 2;
  return args[i] ?? "";
}

/** Verbs whose run leaves too little compiled to be worth caching (the installer's `--version` probe). */
const NOT_CACHED = new Set(["", "--version", "--help", "-h", "help"]);

export interface BodyOptions {
  /** The agent's program, as esbuild bundled it (CommonJS). */
  body: string;
  bodySha256: string;
  /** Where the cache lives (beside the agent file). */
  cacheFile: string;
  /** The agent file itself: stack traces name it. */
  filename: string;
  verb: string;
  module: NodeJS.Module;
  require: NodeJS.Require;
}

/**
 * Compiles and runs the agent's body with the code cache, as Node would run it as the main
 * module (the body sees this module, its require and file name). A missing or rejected cache
 * is written when the process exits; a scheduled `run` replaces a cache another verb made,
 * since the run is what the timers start and its functions are the ones worth having compiled.
 */
export function runBody(o: BodyOptions): void {
  const cached = readCodeCache(o.cacheFile, o.bodySha256);
  const script = new Script(Module.wrap(o.body), { filename: o.filename, cachedData: cached?.data });
  const usable = cached !== undefined && !script.cachedDataRejected;
  const worth =
    !NOT_CACHED.has(o.verb) &&
    (!usable || (o.verb === "run" && cached.verb !== "run")) &&
    trustedDir(path.dirname(o.cacheFile));
  if (worth)
    process.on("exit", () => {
      // An agent uninstalled while it ran leaves nothing behind.
      if (!existsSync(o.filename)) return;
      try {
        writeCodeCache(
          o.cacheFile,
          { bodySha256: o.bodySha256, node: process.version, verb: o.verb },
          script.createCachedData(),
        );
      } catch {
        // Best effort: the next run compiles from source again.
      }
    });
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(o.module.exports, o.module.exports, o.require, o.module, o.filename, path.dirname(o.filename));
}

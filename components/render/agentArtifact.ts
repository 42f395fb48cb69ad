import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { agentCacheDir, agentFile, type AgentRef } from "../hosts/agentCache";
import { agentBundle } from "./agentBundle";

/** How the agent runs on a host: the JavaScript bundle with the host's Node.js, or a self-contained executable. */
export type AgentRuntime = AgentRef["runtime"];

/**
 * The agent as it is sent to a host, named by its digest: the bytes are a file
 * in this user's cache (`agentFile`), so the engine's state holds only these two words.
 */
export type AgentArtifact = AgentRef;

/** Node's single-executable-application fuse: the mark postject flips when it injects the blob. */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Node's SEA config: no code cache (V8's differs from build to build, and so would the digest). */
const SEA_CONFIG = JSON.stringify({ main: "agent.js", output: "agent.blob", disableExperimentalSEAWarning: true });

/** Artifacts not used for this long are removed from the cache (each use renews a file's time). */
const CACHE_KEEP_DAYS = 30;

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

function postjectVersion(): string {
  return (JSON.parse(readFileSync(require.resolve("postject/package.json"), "utf8")) as { version: string }).version;
}

/**
 * Removes what a killed build left (staged files, build directories) and
 * artifacts unused for CACHE_KEEP_DAYS: every agent change adds up to 100 MB.
 */
function prune(dir: string, now = Date.now()): void {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (!st) continue;
    const age = now - st.mtimeMs;
    const leftover = name.startsWith(".build-") || name.endsWith(".new");
    if ((leftover && age > 3600_000) || age > CACHE_KEEP_DAYS * 86_400_000)
      rmSync(file, { recursive: true, force: true });
  }
}

/** Writes `data` as `<dir>/<digest><suffix>` unless that file already holds exactly it. */
function keep(dir: string, data: Buffer, suffix: string): string {
  const digest = sha256(data);
  const file = path.join(dir, `${digest}${suffix}`);
  if (!existsSync(file) || sha256(readFileSync(file)) !== digest) {
    const staged = `${file}.${process.pid}.new`;
    writeFileSync(staged, data, { mode: 0o700 });
    renameSync(staged, file);
  }
  return file;
}

/** Runs a build step; its output is shown only when it fails (postject prints LIEF warnings). */
function step(what: string, command: string, args: string[], cwd: string): void {
  const r = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) {
    const out = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n").slice(-5).join("\n");
    throw new Error(`agent.runtime linux-x64: ${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${out}`);
  }
}

/**
 * The agent as a Node single executable application: the bundle injected into
 * a copy of the Node.js binary that runs this program (`process.execPath`).
 * Same bundle and same Node binary give the same bytes (no code cache: V8's
 * cache differs from build to build), so an unchanged agent is never resent.
 * Cached by the digests of both inputs: building copies ~100 MB.
 */
function seaExecutable(bundle: string, dir: string): string {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `hosts[].agent.runtime: linux-x64 is built from the Node.js binary that runs pulumi, which is ${process.platform}-${process.arch} here: ` +
        "run pulumi on Linux x64, or set hosts[].agent.runtime: node (the host then needs Node.js 20 or later)",
    );
  }
  const node = readFileSync(process.execPath);
  if (!node.includes(SEA_FUSE)) {
    throw new Error(
      `hosts[].agent.runtime: linux-x64 needs a Node.js built with single-executable support, and ${process.execPath} (${process.version}) is not: ` +
        "run pulumi with a nodejs.org or NodeSource build of Node.js 20 or later, or set hosts[].agent.runtime: node",
    );
  }
  const key = sha256(`${sha256(bundle)}\0${sha256(node)}\0${postjectVersion()}\0${SEA_CONFIG}`);
  const index = path.join(dir, `sea-${key}`);
  if (existsSync(index)) {
    const known = path.join(dir, readFileSync(index, "utf8").trim());
    if (/^[0-9a-f]{64}$/.test(path.basename(known)) && existsSync(known)) {
      // In use: the index lives as long as the executable it names (see prune).
      const now = new Date();
      utimesSync(index, now, now);
      return known;
    }
  }
  const work = mkdtempSync(path.join(dir, ".build-"));
  try {
    writeFileSync(path.join(work, "agent.js"), bundle);
    writeFileSync(path.join(work, "sea.json"), SEA_CONFIG);
    step("node --experimental-sea-config", process.execPath, ["--experimental-sea-config", "sea.json"], work);
    copyFileSync(process.execPath, path.join(work, "agent"));
    chmodSync(path.join(work, "agent"), 0o700);
    const postject = require.resolve("postject/dist/cli.js");
    step(
      "postject",
      process.execPath,
      [postject, "agent", "NODE_SEA_BLOB", "agent.blob", "--sentinel-fuse", SEA_FUSE],
      work,
    );
    const file = keep(dir, readFileSync(path.join(work, "agent")), "");
    writeFileSync(index, `${path.basename(file)}\n`);
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const built = new Map<AgentRuntime, AgentArtifact>();

export { agentFile };

/** The agent for `runtime`, built once per program run and kept in the private cache. */
export function agentArtifact(runtime: AgentRuntime): AgentArtifact {
  let a = built.get(runtime);
  if (a === undefined) {
    const dir = agentCacheDir();
    const bundle = agentBundle();
    prune(dir);
    const file = runtime === "node" ? keep(dir, Buffer.from(bundle), ".js") : seaExecutable(bundle, dir);
    a = { runtime, digest: sha256(readFileSync(file)) };
    // The file's name is its digest: anything else is a cache entry changed behind our back.
    if (agentFile(a) !== file)
      throw new Error(`the agent cache file ${file} does not have the digest of its name: remove it and run again`);
    const now = new Date();
    utimesSync(file, now, now);
    built.set(runtime, a);
  }
  return a;
}

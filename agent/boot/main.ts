import { realpathSync } from "node:fs";
import * as path from "node:path";
import { runBody, verbOf } from "./codeCache";

/**
 * The agent file's entry point: runs the bundled agent (agent/main.ts) through V8's code
 * cache (see codeCache.ts). The bundle build defines both constants: the body as a string,
 * so one file still carries the whole agent, and its sha256, which names the cache it may use.
 */
declare const AGENT_BODY: string;
declare const AGENT_BODY_SHA256: string;

/** The agent file: the executable itself under the linux-x64 runtime, else the script Node runs. */
function agentFile(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if ((require("node:sea") as { isSea(): boolean }).isSea()) return process.execPath;
  } catch {
    // node:sea exists from Node 20.12 on; before, this cannot be a single executable.
  }
  // Before Node 20.12 a single executable has no node:sea, and its argv[1] repeats argv[0].
  const script = process.argv[1];
  if (script === undefined || script === process.argv[0]) return process.execPath;
  try {
    return realpathSync(script);
  } catch {
    return path.resolve(script);
  }
}

const file = agentFile();
runBody({
  body: AGENT_BODY,
  bodySha256: AGENT_BODY_SHA256,
  cacheFile: path.join(path.dirname(file), `.${path.basename(file)}.v8cache`),
  filename: file,
  verb: verbOf(process.argv.slice(2)),
  module,
  require,
});

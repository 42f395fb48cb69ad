import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

let cached: string | undefined;

/**
 * The agent as one JavaScript file for Node ≥ 20 (agent/main.ts and what it
 * imports, zod and the shared config schema included), built from source
 * whenever the program runs, so a host never gets an agent older than the
 * code beside it. The output depends only on the sources and esbuild's
 * pinned version: the same tree gives the same bytes, hence the same digest.
 *
 * The file is a small boot (agent/boot) holding the bundled agent as a string:
 * the boot compiles it with V8's code cache, so a scheduled run does not pay
 * for compiling 850 KB of JavaScript each time.
 */
export function agentBundle(): string {
  if (cached === undefined) {
    const body = build("agent/main.ts").text;
    if (/@pulumi\//.test(body)) throw new Error("agentBundle: the agent must not import Pulumi");
    cached = build("agent/boot/main.ts", {
      AGENT_BODY: JSON.stringify(body),
      AGENT_BODY_SHA256: JSON.stringify(createHash("sha256").update(body).digest("hex")),
    }).text;
  }
  return cached;
}

function build(entry: string, define?: Record<string, string>) {
  return buildSync({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    write: false,
    define,
    // Whitespace and syntax only: names stay, so a stack trace from a host still reads.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    ...(define && {
      banner: {
        js: "#!/usr/bin/env node\n// dx-backup host agent. Built by Pulumi (dx-backup) from agent/; do not edit it on the host.",
      },
    }),
    logLevel: "silent",
  }).outputFiles[0];
}

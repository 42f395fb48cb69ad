import { buildSync } from "esbuild";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

let cached: string | undefined;

/**
 * The agent as one JavaScript file for Node ≥ 20 (agent/main.ts and what it
 * imports, zod and the shared config schema included), built from source
 * whenever the program runs, so a host never gets an agent older than the
 * code beside it. The output depends only on the sources and esbuild's
 * pinned version: the same tree gives the same bytes, hence the same digest.
 */
export function agentBundle(): string {
  if (cached === undefined) {
    const r = buildSync({
      absWorkingDir: ROOT,
      entryPoints: ["agent/main.ts"],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      write: false,
      // Whitespace and syntax only: names stay, so a stack trace from a host still reads.
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: "none",
      banner: {
        js: "#!/usr/bin/env node\n// dx-backup host agent. Built by Pulumi (dx-backup) from agent/; do not edit it on the host.",
      },
      logLevel: "silent",
    });
    cached = r.outputFiles[0].text;
    if (/@pulumi\//.test(cached)) throw new Error("agentBundle: the agent must not import Pulumi");
  }
  return cached;
}

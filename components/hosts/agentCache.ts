import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

/**
 * Where the agents built for the hosts are kept, and how the AgentInstall
 * provider reads one back. Only Node built-ins: the engine serializes the
 * provider with what it references, and this is all it needs.
 */

/** An agent as the engine knows it: its runtime and the sha256 of its bytes. */
export interface AgentRef {
  runtime: "node" | "linux-x64";
  digest: string;
}

/**
 * A private, per-user cache (`$DXBACKUP_CACHE_DIR`, else `$XDG_CACHE_HOME/dx-backup`, else
 * `~/.cache/dx-backup`): the artifacts are code that runs as root on the hosts. The provider
 * re-checks each file's digest before sending it, so a changed file is refused, never sent.
 */
export function agentCacheDir(): string {
  const base =
    process.env.DXBACKUP_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "dx-backup");
  const dir = path.join(base, "agents");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/** Where the cache keeps an artifact: `<digest>.js` for Node, `<digest>` for the executable. */
export function agentFile(a: AgentRef): string {
  return path.join(agentCacheDir(), `${a.digest}${a.runtime === "node" ? ".js" : ""}`);
}

/**
 * The artifact's bytes, as the provider sends them: from this user's cache,
 * refused unless they still have the digest the engine planned with.
 */
export function readAgentArtifact(a: AgentRef): Buffer {
  const file = agentFile(a);
  if (!existsSync(file)) {
    throw new Error(
      `the ${a.runtime} agent ${a.digest.slice(0, 12)} is not in ${path.dirname(file)}: run pulumi up as the user (and with the DXBACKUP_CACHE_DIR) that ran the program`,
    );
  }
  const data = readFileSync(file);
  const digest = createHash("sha256").update(data).digest("hex");
  if (digest !== a.digest) {
    throw new Error(
      `the agent file ${file} changed since the plan (sha256 ${digest}, expected ${a.digest}): nothing was sent; run pulumi up again`,
    );
  }
  return data;
}

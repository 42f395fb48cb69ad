import { spawnSync } from "node:child_process";
import { openSync } from "node:fs";

/**
 * Runs never overlap. The lock is flock(2) on the open file: `flock` locks
 * the description the agent shares with it, so the lock lives exactly as long
 * as the agent holds the descriptor, and the kernel releases it even on SIGKILL.
 */
export function tryLock(file: string, waitSeconds = 0): boolean {
  const fd = openSync(file, "a", 0o600);
  const args = waitSeconds > 0 ? ["-w", String(waitSeconds), "3"] : ["-n", "3"];
  const r = spawnSync("flock", args, { stdio: ["ignore", "ignore", "pipe", fd] });
  if (r.error) throw new Error(`flock (util-linux) is needed to lock ${file}: ${r.error.message}`);
  // The descriptor stays open (and the lock held) until the agent exits.
  return r.status === 0;
}

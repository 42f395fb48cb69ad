import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/**
 * Runs, drills and in-place restores never overlap. The lock is flock(2) on
 * the open file: `flock` locks the open file description the agent shares
 * with it, so the lock lives exactly as long as the agent holds the
 * descriptor, and the kernel releases it even on SIGKILL.
 *
 * Returns the release (closing the descriptor), or undefined when another
 * process holds the lock (after `waitSeconds`).
 */
export function holdLock(file: string, waitSeconds = 0): (() => void) | undefined {
  const fd = openSync(file, "a", 0o600);
  const args = waitSeconds > 0 ? ["-w", String(waitSeconds), "3"] : ["-n", "3"];
  const r = spawnSync("flock", args, { stdio: ["ignore", "ignore", "pipe", fd] });
  if (r.error || r.status !== 0) {
    closeSync(fd);
    if (r.error) throw new Error(`flock (util-linux) is needed to lock ${file}: ${r.error.message}`);
    return undefined;
  }
  return () => closeSync(fd);
}

/** The lock for the rest of the process: true when taken. */
export function tryLock(file: string, waitSeconds = 0): boolean {
  return holdLock(file, waitSeconds) !== undefined;
}

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";

/** COUNT files of 16 MiB of random data in DIR: enough that restic is surely still busy when a test interrupts it. */
export function writeBulk(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("bash", [
    "-c",
    `for i in $(seq 1 ${count}); do head -c 16777216 /dev/urandom > ${JSON.stringify(dir)}/blob-$i.bin; done`,
  ]);
}

/** The pids `pgrep ARGS` finds; empty when none. */
export function pgrep(...args: string[]): string[] {
  return spawnSync("pgrep", args, { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
}

/** Polls CHECK every 20 ms until it holds, for at most a minute; then fails naming WHAT never happened. */
export async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} never happened`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

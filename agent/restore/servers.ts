import { createInterface } from "node:readline";
import type { AgentContext } from "../context";
import { must, runShell, scrubSecrets } from "../exec";
import { untrustedOfflineCommand } from "../trust";
import { UsageError } from "../errors";

/**
 * The servers around an in-place restore. Unlike a run, a restore writes no
 * servers-stopped marker: servers it leaves stopped after a failure must stay
 * stopped (nothing may start Portal on half-restored data, not the next run).
 */

/** The operator must see what is about to happen, and agree when it is interactive. */
export async function confirm(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // Ctrl-C or Ctrl-D at the prompt is a no, never an exit 0 with nothing done.
    const answer = await new Promise<string>((resolve) => {
      rl.on("close", () => resolve(""));
      rl.on("SIGINT", () => resolve(""));
      rl.question(`${question} [y/N] `, resolve);
    });
    return /^[yY]/.test(answer);
  } finally {
    rl.close();
  }
}

/** A path as a pgrep (extended) regular expression matching only itself. */
export function regexLiteral(p: string): string {
  return p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Processes of the Portal, WebSphere or IHS whose command lines name one of the paths. */
export async function runningServers(paths: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const p of paths) {
    const r = await must("servers", "pgrep", "pgrep", ["-f", "--", regexLiteral(p)], { okCodes: [0, 1] });
    for (const line of r.stdout.split("\n")) if (/^\d+$/.test(line.trim())) pids.add(Number(line.trim()));
  }
  pids.delete(process.pid);
  pids.delete(process.ppid);
  return [...pids].sort((a, b) => a - b);
}

export class RestoreServers {
  /** The servers were running and this restore stopped them. */
  stoppedByUs = false;

  constructor(
    private readonly ctx: AgentContext,
    private readonly logFile: string,
  ) {}

  /** In place, the servers must be down: stop them when asked (or confirmed). */
  async ensureStopped(paths: readonly string[], o: { stopServers: boolean; yes: boolean }): Promise<void> {
    const pids = await runningServers(paths);
    if (!pids.length) return;
    const list = pids.join(" ");
    if (
      !o.stopServers &&
      !(await confirm(`Servers are running (pids ${list}). Stop them now with the configured stop commands?`, o.yes))
    )
      throw new UsageError(
        `servers are running (pids ${list}): stop them first, or add --stop-servers (they are started again afterwards)`,
      );
    const { stop } = this.ctx.config.offline;
    if (!stop.length)
      throw new UsageError("servers are running and this host has no offline.stop commands: stop them by hand first");
    const refused = untrustedOfflineCommand(this.ctx.config.offline, this.ctx.config.runAs);
    if (refused) throw new UsageError(`${refused}; nothing was stopped or restored`);
    this.stoppedByUs = true;
    this.ctx.log.info("servers", "stopping the servers for the restore");
    for (const cmd of stop) {
      const r = await runShell(cmd, this.logFile, this.ctx.config.runAs, this.ctx.config.offline.secretFiles);
      if (r.code !== 0 || r.signal) {
        const failed = await this.startAgain();
        throw new UsageError(
          `stop command failed: ${scrubSecrets(cmd)} (see ${this.logFile}); nothing was restored, ${failed.length ? `and start commands failed too: ${failed.join("; ")}: THE SERVERS MAY BE DOWN` : "the servers were started again"}`,
        );
      }
    }
  }

  /** Starts the servers this restore stopped; every start command runs. Returns the ones that failed. */
  async startAgain(): Promise<string[]> {
    if (!this.stoppedByUs) return [];
    this.ctx.log.info("servers", "starting the servers again");
    const failed: string[] = [];
    for (const cmd of this.ctx.config.offline.start) {
      const r = await runShell(cmd, this.logFile, this.ctx.config.runAs, this.ctx.config.offline.secretFiles);
      if (r.code !== 0 || r.signal) failed.push(scrubSecrets(cmd));
    }
    this.stoppedByUs = false;
    return failed;
  }
}

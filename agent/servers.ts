import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AgentContext } from "./context";
import { runShell, scrubSecrets } from "./exec";
import { StepError } from "./errors";
import { untrustedOfflineCommand } from "./trust";

/**
 * The operator's offline stop and start commands (shell code on purpose:
 * their own procedure). A marker is written before the first stop command:
 * if the agent is killed, even with SIGKILL, the next run finds it and starts
 * the servers first.
 */
export async function stopServers(ctx: AgentContext, by: string, logFile: string): Promise<void> {
  const refused = untrustedOfflineCommand(ctx.config.offline, ctx.config.runAs);
  if (refused) throw new StepError("stop-servers", refused);
  writeFileSync(ctx.state.serversStopped, `${by}\n`);
  for (const cmd of ctx.config.offline.stop) {
    const r = await runShell(cmd, logFile, ctx.config.runAs, ctx.config.offline.secretFiles);
    if (r.code !== 0 || r.signal)
      throw new StepError("stop-servers", `stop command failed: ${scrubSecrets(cmd)} (see ${logFile})`);
  }
}

/** Starts the servers a run (or a killed run) stopped. Every start command runs, even after one failed. */
export async function startServers(ctx: AgentContext, logFile: string): Promise<void> {
  if (!existsSync(ctx.state.serversStopped)) return;
  const failed: string[] = [];
  const refused = untrustedOfflineCommand(ctx.config.offline, ctx.config.runAs);
  if (refused) throw new StepError("start-servers", `${refused}; THE SERVERS MAY BE DOWN`);
  for (const cmd of ctx.config.offline.start) {
    const r = await runShell(cmd, logFile, ctx.config.runAs, ctx.config.offline.secretFiles);
    if (r.code !== 0 || r.signal) failed.push(scrubSecrets(cmd));
  }
  if (failed.length)
    throw new StepError(
      "start-servers",
      `start command failed: ${failed.join("; ")} (see ${logFile}); THE SERVERS MAY BE DOWN`,
    );
  rmSync(ctx.state.serversStopped, { force: true });
}

/** Which run left the servers stopped, if one did. */
export function serversLeftStoppedBy(ctx: AgentContext): string | undefined {
  return existsSync(ctx.state.serversStopped) ? readFileSync(ctx.state.serversStopped, "utf8").trim() : undefined;
}

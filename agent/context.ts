import type { HostConfig } from "../shared/hostConfig";
import type { Logger } from "./log";
import type { Restic } from "./restic";
import type { StatePaths } from "./state";

/** What every verb works with: the validated config, its state files, the log and restic. */
export interface AgentContext {
  /** The config file, as given with --config (shown in the commands the agent prints). */
  configFile: string;
  /** The agent's own path, for the commands it prints. */
  agentPath: string;
  config: HostConfig;
  state: StatePaths;
  log: Logger;
  restic: Restic;
}

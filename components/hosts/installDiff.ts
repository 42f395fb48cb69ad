/**
 * What the engine does with an agent install when its inputs change: the one
 * definition the AgentInstall provider answers the engine with and
 * `dxbackup plan` reports. Pure, no Pulumi import.
 */

/** The inputs the diff looks at (plain values: the engine hands the provider unwrapped secrets). */
export interface InstallInputs {
  /** Where and as whom; not secret, so that state and plans show which host an install is on. */
  connection: { host: string; port?: number; user?: string; hostKey?: string };
  /** The SSH private key the deploy logs in with (secret). */
  privateKey: string;
  install: string;
  uninstall: string;
  /** The config files and secrets, and the digest of the agent they go with (see renderBundle). */
  bundle: string;
  /** The agent sent beside the bundle, by digest (its bytes are in the deploying user's cache, never in state). */
  agent: { runtime: "node" | "linux-x64"; digest: string };
  configDigest: string;
  decommissioned?: boolean;
}

export interface InstallDiff {
  changes: boolean;
  /** Input paths whose change makes the engine replace the install (create the new one, then delete the old). */
  replaces: string[];
}

/**
 * Another address is another machine as far as the deploy can tell: install
 * there, then uninstall from the old address (the old install's own identity
 * guards a machine that merely changed address; a machine that is gone is
 * decommissioned first). Everything else, agent, config, schedules, secrets,
 * login, SSH port, is an in-place update that runs the idempotent installer
 * again, never an uninstall.
 */
const REPLACING_INPUTS = ["connection.host"] as const;

const UPDATING_INPUTS = [
  "connection.port",
  "connection.user",
  "connection.hostKey",
  "privateKey",
  "install",
  "uninstall",
  "bundle",
  "agent.runtime",
  "agent.digest",
  "configDigest",
  "decommissioned",
] as const;

function at(inputs: InstallInputs, key: string): unknown {
  return key.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], inputs);
}

export function installDiff(olds: InstallInputs, news: InstallInputs): InstallDiff {
  // A decommissioned host is never contacted again: no change reaches it.
  if (news.decommissioned === true) return { changes: olds.decommissioned !== true, replaces: [] };
  const differs = (key: string) => (at(olds, key) ?? null) !== (at(news, key) ?? null);
  const replaces = REPLACING_INPUTS.filter(differs);
  return { changes: replaces.length > 0 || UPDATING_INPUTS.some(differs), replaces: [...replaces] };
}

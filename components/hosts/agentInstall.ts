import * as pulumi from "@pulumi/pulumi";
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { installDiff, type InstallInputs } from "./installDiff";
import { openAgentArtifact } from "./agentCache";
import { runOverSsh, type SshResult } from "./ssh";

/** The state of one install, as the provider stores it. */
interface InstallState extends InstallInputs {
  /** The install's identity on the host (`<stateDir>/install-id`), chosen at create, kept by updates. */
  installId: string;
  /** The installer's summary line. */
  installOutput: string;
}

/** The installer's answer when the host has not received the agent the bundle names (see install.sh). */
const AGENT_MISSING = 3;

class AgentMissing extends Error {}

/** How the scripts reach a host: a command string and its stdin in, the exit status and output back. */
export type ScriptRunner = (command: string, stdin: string | Buffer | Readable) => Promise<SshResult>;

/** The provider's runner: one SSH session per script, to the host of INPUTS. */
function overSsh(inputs: InstallInputs): ScriptRunner {
  return (command, stdin) => runOverSsh({ ...inputs.connection, privateKey: inputs.privateKey }, command, stdin);
}

/**
 * Runs the installer or uninstaller with `args` after the script; a non-zero
 * exit fails the step with the script's last lines.
 */
async function runScript(
  run: ScriptRunner,
  step: string,
  inputs: InstallInputs,
  command: string,
  args: string,
  stdin: string | Buffer | Readable = "",
) {
  const result = await run(`${command} ${args}`, stdin).catch((err: Error) => {
    const gone =
      step === "uninstall"
        ? " (a host that is gone for good: set hosts[].decommissioned: true and run pulumi up, then remove it)"
        : "";
    throw new Error(`${step}: ${err.message}${gone}`);
  });
  if (result.code !== 0) {
    // The cause and the script's verdict: the last lines, not only the last one.
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-10).join("\n");
    const message = `${step} on ${inputs.connection.host} exited ${result.code}:\n${tail}`;
    throw result.code === AGENT_MISSING && /AGENT-MISSING/.test(tail) ? new AgentMissing(message) : new Error(message);
  }
  return result.stdout.trim();
}

/** The words after the script: checked, since they are put on a command line. */
function words(installId: string, ...more: string[]): string {
  // The id is a UUID (checked by the scripts too); the runtime and digest are checked here.
  for (const w of [installId, ...more]) {
    if (!/^[0-9a-z-]+$/.test(w)) throw new Error(`install: refusing the command-line word '${w}'`);
  }
  return [installId, ...more].join(" ");
}

/**
 * What the provider's create and update run: the installer, with the bundle of
 * config files on stdin. The agent itself (up to ~100 MB for the linux-x64
 * executable) is sent only when the host answers AGENT-MISSING, which it does
 * before changing anything: then it is uploaded, streamed, and the install
 * runs again. An unchanged agent costs nothing; a new one, one more session.
 */
export async function installAgent(run: ScriptRunner, inputs: InstallInputs, installId: string): Promise<string> {
  const install = () => runScript(run, "install", inputs, inputs.install, words(installId), inputs.bundle);
  try {
    return await install();
  } catch (e) {
    if (!(e instanceof AgentMissing)) throw e;
  }
  const { runtime, digest } = inputs.agent;
  const agent = openAgentArtifact(inputs.agent);
  const received = await runScript(
    run,
    "upload",
    inputs,
    inputs.install,
    words(installId, "upload", runtime, digest, String(agent.size)),
    agent.open(),
  );
  return `${received}\n${await install()}`;
}

/** What the provider's create and update run: `installAgent` over SSH. */
export function installOverSsh(inputs: InstallInputs, installId: string): Promise<string> {
  return installAgent(overSsh(inputs), inputs, installId);
}

/** What the provider's delete runs: the uninstaller, which leaves an install of another identity alone. */
export function uninstallOverSsh(inputs: InstallInputs, installId: string): Promise<string> {
  return runScript(overSsh(inputs), "uninstall", inputs, inputs.uninstall, words(installId));
}

/**
 * The provider behind AgentInstall, run by the engine's Node.js dynamic
 * provider host. Unlike a command-provider `remote.Command`, whose `triggers`
 * are replace-on-change (the old resource's `delete` would then uninstall
 * the agent the new `create` had just installed), every change but a new
 * address is an in-place update; see `installDiff`.
 */

const provider: pulumi.dynamic.ResourceProvider<InstallInputs, InstallState> = {
  async diff(_id, olds, news) {
    const diff = installDiff(olds, news);
    // The engine runs a delete with the provider code stored at the last create or update: a new
    // version of this code takes over by an update (the installer changes nothing that is current).
    const code = (r: object) => (r as { __provider?: string }).__provider;
    const newCode = !news.decommissioned && code(olds) !== code(news);
    return { ...diff, changes: diff.changes || newCode };
  },
  async create(inputs) {
    const installId = randomUUID();
    const installOutput = await installOverSsh(inputs, installId);
    return { id: installId, outs: { ...inputs, installId, installOutput } };
  },
  async update(id, olds, news) {
    const installId = olds.installId ?? id;
    // Decommissioning only records that the host is gone: nothing reaches it any more.
    if (news.decommissioned === true) return { outs: { ...olds, decommissioned: true } };
    const installOutput = await installOverSsh(news, installId);
    return { outs: { ...news, installId, installOutput } };
  },
  async delete(id, props) {
    if (props.decommissioned === true) return;
    await uninstallOverSsh(props, props.installId ?? id);
  },
};

/** Inputs of AgentInstall; secrets stay secret in state (the engine re-marks outputs of secret inputs). */
export type AgentInstallArgs = {
  [K in keyof InstallInputs]: K extends "connection"
    ? { [C in keyof InstallInputs["connection"]]: pulumi.Input<InstallInputs["connection"][C]> }
    : pulumi.Input<InstallInputs[K]>;
};

/**
 * The backup agent installed on one host over SSH: create and update run the
 * idempotent installer with the bundle on stdin (secrets never on a command
 * line), delete runs the uninstaller, which removes the schedule and keeps
 * the backups. The state holds the agent's runtime and digest, never the
 * agent itself.
 */
export class AgentInstall extends pulumi.dynamic.Resource {
  declare readonly installId: pulumi.Output<string>;
  declare readonly installOutput: pulumi.Output<string>;
  declare readonly configDigest: pulumi.Output<string>;

  constructor(name: string, args: AgentInstallArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, installId: undefined, installOutput: undefined },
      { ...opts, additionalSecretOutputs: ["bundle", "privateKey"] },
      "dxbackup",
      "AgentInstall",
    );
  }
}

/** The type token the engine records for an agent install. */
export const AGENT_INSTALL_TYPE = "pulumi-nodejs:dynamic/dxbackup:AgentInstall";

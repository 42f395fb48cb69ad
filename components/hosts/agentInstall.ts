import * as pulumi from "@pulumi/pulumi";
import { randomUUID } from "node:crypto";
import { installDiff, type InstallInputs } from "./installDiff";
import { runOverSsh } from "./ssh";

/** The state of one install, as the provider stores it. */
interface InstallState extends InstallInputs {
  /** The install's identity on the host (`<stateDir>/install-id`), chosen at create, kept by updates. */
  installId: string;
  /** The installer's summary line. */
  installOutput: string;
}

/** Runs the installer or uninstaller over SSH; a non-zero exit fails the step with the script's last lines. */
async function runScript(step: string, inputs: InstallInputs, command: string, installId: string, stdin = "") {
  const connection = { ...inputs.connection, privateKey: inputs.privateKey };
  // The id is a UUID (checked by the scripts too): safe as a bare word on the command line.
  const result = await runOverSsh(connection, `${command} ${installId}`, stdin).catch((err: Error) => {
    const gone =
      step === "uninstall"
        ? " (a host that is gone for good: set hosts[].decommissioned: true and run pulumi up, then remove it)"
        : "";
    throw new Error(`${step}: ${err.message}${gone}`);
  });
  if (result.code !== 0) {
    // The cause and the script's verdict: the last lines, not only the last one.
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-10).join("\n");
    throw new Error(`${step} on ${inputs.connection.host} exited ${result.code}:\n${tail}`);
  }
  return result.stdout.trim();
}

/** What the provider's create and update run: the installer, with the bundle on stdin. */
export function installOverSsh(inputs: InstallInputs, installId: string): Promise<string> {
  return runScript("install", inputs, inputs.install, installId, inputs.bundle);
}

/** What the provider's delete runs: the uninstaller, which leaves an install of another identity alone. */
export function uninstallOverSsh(inputs: InstallInputs, installId: string): Promise<string> {
  return runScript("uninstall", inputs, inputs.uninstall, installId);
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
 * the backups.
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

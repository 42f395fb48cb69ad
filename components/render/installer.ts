import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { Host } from "../policy/types";
import { agentLayout } from "./agentConfig";
import { shAssign, shQuote } from "./shell";

const SCRIPTS = path.join(__dirname, "..", "hosts", "scripts");

function body(file: string): string {
  return readFileSync(path.join(SCRIPTS, file), "utf8").replace(/^#!.*\n/, "");
}

/** The variables both scripts start from: the policy's paths on this host. */
function header(policyName: string, host: Host): string {
  const layout = agentLayout(host);
  const a = host.agent;
  return [
    "#!/usr/bin/env bash",
    shAssign("POLICY", policyName),
    shAssign("HOST_NAME", host.name),
    shAssign("INSTALL_DIR", a.installDir),
    shAssign("CONFIG_DIR", a.configDir),
    shAssign("STATE_DIR", a.stateDir),
    shAssign("SYSTEMD_DIR", a.systemdDir),
    shAssign("CRON_DIR", a.cronDir),
    shAssign("AGENT", layout.agent),
    shAssign("AGENT_CONFIG", layout.config),
    shAssign("PASSWORD_FILE", layout.passwordFile),
    shAssign("SCHEDULER", a.scheduler),
    // The engine the agent cannot work without: restic, or the Spectrum Protect client.
    shAssign("FILE_ENGINE", host.fileEngine),
    shAssign("ENGINE_COMMAND", host.fileEngine === "tsm" ? (host.tsm?.dsmc ?? "dsmc") : host.agent.restic),
  ].join("\n");
}

export function renderInstallScript(policyName: string, host: Host): string {
  return `${header(policyName, host)}\n${body("install.sh")}`;
}

export function renderUninstallScript(policyName: string, host: Host): string {
  return `${header(policyName, host)}\n${body("uninstall.sh")}`;
}

/**
 * The command string the SSH session runs: the remote login shell may not be
 * bash, so the script is handed to bash as one quoted argument; non-root
 * logins go through `sudo -n` (never prompting: a deploy must not hang).
 */
export function remoteCommand(script: string, sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}bash -c ${shQuote(script)} dxbackup`;
}

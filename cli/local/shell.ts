import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { installAgent } from "../../components/hosts/agentInstall";
import type { InstallInputs } from "../../components/hosts/installDiff";
import type { SshResult } from "../../components/hosts/ssh";
import type { Host, Policy } from "../../components/policy/types";
import { renderBundle, type BundleAgent, type BundleFile } from "../../components/render/bundle";
import { remoteCommand, renderInstallScript, renderUninstallScript } from "../../components/render/installer";

/**
 * Runs a command string the way an SSH session does, on this machine: through
 * the login shell (sh), stdin attached. The installer's runner where the host
 * is this machine (the installer's tests, the agent bench).
 */
export function runLocally(command: string, stdin: string | Buffer | Readable = ""): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    // A script that exits without reading all of its stdin (AGENT-MISSING) is not an error here.
    child.stdin.on("error", () => undefined);
    child.on("error", reject);
    child.on("close", (code) => {
      if (stdin instanceof Readable) stdin.destroy();
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    if (stdin instanceof Readable) stdin.pipe(child.stdin);
    else child.stdin.end(stdin);
  });
}

/**
 * What the AgentInstall provider does (`installAgent`: the install, and the
 * agent uploaded only when the host answers AGENT-MISSING), with this machine
 * as the host.
 */
export function installLocally(
  policy: Policy,
  host: Host,
  files: readonly BundleFile[],
  agent: BundleAgent,
  installId = "00000000-0000-4000-8000-000000000000",
): Promise<string> {
  const inputs: InstallInputs = {
    connection: { host: "localhost" },
    privateKey: "",
    install: remoteCommand(renderInstallScript(policy.name, host), false),
    uninstall: remoteCommand(renderUninstallScript(policy.name, host), false),
    bundle: renderBundle(files, agent),
    agent,
    configDigest: "",
  };
  return installAgent(runLocally, inputs, installId);
}

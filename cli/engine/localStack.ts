import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { buildStack } from "../../stacks/program";
import { engineEnv, pulumiBinary } from "./toolchain";

const PROJECT = "dx-backup";

export interface LocalStackArgs {
  /**
   * A directory of the caller's own: the file backend's state, the
   * passphrase, PULUMI_HOME and the workspace live here. Created 0700; an
   * existing one must be a root-owned (or caller-owned) real directory, not a
   * symlink, since it holds the passphrase.
   */
  dir: string;
  stack: string;
  /** The stack's non-secret config, `dxbackup:key` -> value (structured values as objects). */
  config: Record<string, unknown>;
  /** Secret config, `dxbackup:key` -> value: set with `pulumi config set --secret`. */
  secrets: Record<string, string>;
}

function ownDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} must be a directory owned by uid ${uid} with mode 0700 (it holds the stack's passphrase)`);
  }
}

/**
 * A stack of this project on the real Pulumi engine (the CLI built by
 * setup.sh), with a local file backend and passphrase secrets: the stack
 * program runs in this process as an Automation API inline program (the CLI
 * connects to it, so no separate language host is needed), host installs run
 * in the engine's Node.js dynamic provider host over real SSH.
 */
export async function localStack(args: LocalStackArgs): Promise<Stack> {
  ownDirectory(args.dir);
  const state = path.join(args.dir, "state");
  const work = path.join(args.dir, "workspace");
  const home = path.join(args.dir, "home");
  for (const d of [state, work, home]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const passphraseFile = path.join(args.dir, "passphrase");
  if (!existsSync(passphraseFile)) writeFileSync(passphraseFile, randomBytes(32).toString("base64"), { mode: 0o600 });

  const bin = pulumiBinary();
  const pulumiCommand = await PulumiCommand.get(
    bin.includes("/") ? { root: path.dirname(path.dirname(bin)) } : { skipVersionCheck: false },
  );
  const envVars = engineEnv({
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
  });
  // The non-secret config goes into the workspace's stack file as it is in stacks/; secrets
  // are set through the CLI below, encrypted with this stack's own passphrase.
  writeFileSync(path.join(work, `Pulumi.${args.stack}.yaml`), stringify({ config: args.config }), { mode: 0o600 });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: args.stack, projectName: PROJECT, program: async () => buildStack() },
    {
      workDir: work,
      pulumiHome: home,
      pulumiCommand,
      envVars,
      secretsProvider: "passphrase",
      projectSettings: { name: PROJECT, runtime: "nodejs", backend: { url: `file://${state}` } },
    },
  );
  for (const [key, value] of Object.entries(args.secrets)) await stack.setConfig(key, { value, secret: true });
  return stack;
}

/**
 * Runs the stack's own `pulumi` with the workspace's environment, as a user
 * would type it in the workspace (`stack export`, `preview --policy-pack ...`).
 * The Automation API's own exportStack adds --show-secrets; this does not.
 */
export function pulumiCli(stack: Stack, args: string[]): SpawnSyncReturns<string> {
  const ws = stack.workspace as LocalWorkspace;
  return spawnSync(ws.pulumiCommand.command, [...args, "--stack", stack.name, "--non-interactive"], {
    cwd: ws.workDir,
    env: ws.envVars,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}

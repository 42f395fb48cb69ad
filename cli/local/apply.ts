import type { PlannedResource } from "../plan/evaluate";
import { runOverSsh, type SshResult } from "./ssh";

const COMMAND = "command:remote:Command";

interface CommandInputs {
  connection: { host: string; port?: number; user?: string; privateKey: string };
  create: string;
  update?: string;
  delete?: string;
  stdin?: string;
}

/** The remote commands a stack registered (recorded with revealSecrets). */
export function remoteCommands(resources: PlannedResource[]): Array<{ name: string; inputs: CommandInputs }> {
  return resources
    .filter((r) => r.type === COMMAND)
    .map((r) => ({ name: r.name, inputs: r.inputs as unknown as CommandInputs }));
}

async function run(
  name: string,
  inputs: CommandInputs,
  command: string | undefined,
  stdin?: string,
): Promise<SshResult> {
  if (!command) throw new Error(`${name}: no command to run`);
  const result = await runOverSsh(inputs.connection, command, stdin);
  if (result.code !== 0) {
    throw new Error(`${name} exited ${result.code} on ${inputs.connection.host}:\n${result.stderr || result.stdout}`);
  }
  return result;
}

/**
 * What `pulumi up` does for a remote.Command: connect over SSH and run its
 * `create` (or `update`) with its `stdin`. Used where there is no Pulumi CLI:
 * the local demo and the integration tests.
 */
export function applyCreate(
  c: { name: string; inputs: CommandInputs },
  phase: "create" | "update" = "create",
): Promise<SshResult> {
  return run(
    c.name,
    c.inputs,
    phase === "create" ? c.inputs.create : (c.inputs.update ?? c.inputs.create),
    c.inputs.stdin,
  );
}

/** What `pulumi destroy` does for a remote.Command: run its `delete` over SSH. */
export function applyDelete(c: { name: string; inputs: CommandInputs }): Promise<SshResult> {
  return run(c.name, c.inputs, c.inputs.delete);
}

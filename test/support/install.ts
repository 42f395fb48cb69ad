import { AGENT_INSTALL_TYPE, installOverSsh, uninstallOverSsh } from "../../components/hosts/agentInstall";
import type { InstallInputs } from "../../components/hosts/installDiff";
import type { PlannedResource } from "../../cli/plan/evaluate";

/** The agent installs a stack registered (recorded under mocks with revealSecrets). */
export function agentInstalls(resources: PlannedResource[]): Array<{ name: string; inputs: InstallInputs }> {
  return resources
    .filter((r) => r.type === AGENT_INSTALL_TYPE)
    .map((r) => ({ name: r.name, inputs: r.inputs as unknown as InstallInputs }));
}

/**
 * Installs an agent the way the AgentInstall provider's create does (the very
 * same function), for the agent's integration tests, which do not need the
 * engine around it; the engine's part is proven by the lifecycle tests.
 */
export function applyCreate(c: { inputs: InstallInputs }, installId = "00000000-0000-4000-8000-000000000000") {
  return installOverSsh(c.inputs, installId);
}

/** What the provider's delete runs. */
export function applyDelete(c: { inputs: InstallInputs }, installId = "00000000-0000-4000-8000-000000000000") {
  return uninstallOverSsh(c.inputs, installId);
}

import { ROLES_WITH_IIM } from "./defaults";
import { ROOT_KEYS, TARGETS, type RootKey, type Target } from "./schema";
import type { Host, TargetSelection } from "./types";

/** Products installed by IBM Installation Manager: their files must be captured with IIM's state. */
export const IIM_MANAGED: ReadonlySet<Target> = new Set<Target>(["portalServer", "appServer", "webServer", "plugins"]);

/** The paths of one target on one host (empty when the host does not have it). */
export function targetPaths(host: Host, target: Target): string[] {
  switch (target) {
    case "iim":
      return ROLES_WITH_IIM.has(host.role) ? [host.iim.installDir, host.iim.agentDataDir, host.iim.sharedDir] : [];
    case "custom":
      return host.customPaths.map((c) => c.path);
    default: {
      if (!(ROOT_KEYS as readonly string[]).includes(target)) return []; // captured by tools, not as paths
      const root = host.roots[target as RootKey];
      return root ? [root] : [];
    }
  }
}

/**
 * What a schedule captures on a host: the declared targets (or all of them)
 * that the host actually has, in a stable order.
 */
export function selectTargets(declared: readonly Target[] | undefined, host: Host): TargetSelection[] {
  const wanted = new Set(declared ?? TARGETS);
  return TARGETS.filter((t) => wanted.has(t))
    .map((target) => ({ target, paths: targetPaths(host, target) }))
    .filter((s) => s.paths.length > 0);
}

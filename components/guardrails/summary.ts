import type { Target } from "../policy/schema";
import { selectTargets } from "../policy/targets";
import type { Policy, ScheduleTiming } from "../policy/types";

/**
 * What guardrails need to know of a policy beyond its cloud resources, as a
 * plain object. BackupPolicy carries it as its input, so a policy pack sees it
 * in `pulumi preview` exactly as `dxbackup plan` sees it under mocks.
 */
export interface PolicySummary {
  environment: string;
  production: boolean;
  pruneEveryDays: number;
  schedules: Array<
    ScheduleTiming & {
      /** Per host: the file-system targets a run captures. */
      targets: Record<string, Target[]>;
    }
  >;
}

export function policySummary(policy: Policy): PolicySummary {
  return {
    environment: policy.environment,
    production: policy.production,
    pruneEveryDays: policy.agent.pruneEveryDays,
    schedules: policy.schedules.map((s) => ({
      name: s.name,
      kind: s.kind,
      cron: s.cron,
      timezone: s.timezone,
      mode: s.mode,
      retention: s.retention,
      targets: Object.fromEntries(
        policy.hosts
          .filter((h) => s.hosts.includes(h.name))
          .map((h) => [h.name, s.kind === "drill" ? [] : selectTargets(s.targets, h).map((t) => t.target)]),
      ),
    })),
  };
}

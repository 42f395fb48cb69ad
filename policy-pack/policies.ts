import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { DEFAULT_GUARDRAIL_CONFIG, GUARDRAILS, type GuardrailConfig } from "../components/guardrails/rules";

/** A resource as CrossGuard hands it over, in the shape the shared rules take. */
export function toGuardrailResource(r: Pick<PolicyResource, "type" | "name" | "props">) {
  return { type: r.type, name: r.name, props: r.props };
}

/**
 * One stack policy per guardrail. The rules themselves live in
 * components/guardrails (shared with `dxbackup plan`), so a review without
 * the Pulumi CLI and `pulumi preview --policy-pack` report the same
 * violations for the same config.
 */
export const policies: StackValidationPolicy[] = Object.entries(GUARDRAILS).map(([name, rule]) => ({
  name,
  description: rule.description,
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minProductionRetentionDays: { type: "integer", default: DEFAULT_GUARDRAIL_CONFIG.minProductionRetentionDays },
    },
  },
  validateStack: (args, reportViolation) => {
    const config: GuardrailConfig = { ...DEFAULT_GUARDRAIL_CONFIG, ...args.getConfig<Partial<GuardrailConfig>>() };
    for (const v of rule.check(args.resources.map(toGuardrailResource), config)) {
      const resource = args.resources.find((r) => r.name === v.resource);
      reportViolation(`${v.resource ? `${v.resource}: ` : ""}${v.message}`, resource?.urn);
    }
  },
}));

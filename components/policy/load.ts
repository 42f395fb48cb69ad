import { configSchema, KEY_KINDS, REPOSITORY_PASSWORD_KEY, type PolicyInput } from "./configSchema";
import { fromZodIssues, NAMESPACE, PolicyError, type PolicyIssue } from "./errors";
import { scheduleDomains } from "./pieces";
import { policyName, resolveDatabase, resolveHost, resolveLdap, resolveStorage } from "./resolve";
import { POLICY_RULES, scheduleHosts, secretReferences, secretsRule, unknownKeysRule } from "./rules";
import type { Policy } from "./types";

/**
 * A stack's configuration as Pulumi hands it to a program: every key in
 * `namespace:key` form with a string value (structured values as JSON), and
 * which keys are secrets. Secret values may be placeholders: the policy
 * keeps only references to them.
 */
export interface StackConfig {
  values: Readonly<Record<string, string>>;
  secretKeys: ReadonlySet<string>;
}

function parseKey(key: keyof PolicyInput, raw: string, issues: PolicyIssue[]): unknown {
  const path = `${NAMESPACE}:${key}`;
  switch (KEY_KINDS[key]) {
    case "string":
      return raw;
    case "boolean":
      if (raw === "true" || raw === "false") return raw === "true";
      issues.push({ path, message: `must be true or false, not '${raw}'` });
      return undefined;
    case "object":
      try {
        return JSON.parse(raw);
      } catch {
        issues.push({ path, message: "must be a structured value (a YAML mapping or list), not plain text" });
        return undefined;
      }
  }
}

/** The policy keys of `config`, parsed and checked against the schema (problems of the values go to `issues`). */
function parseInput(config: StackConfig, issues: PolicyIssue[]) {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(KEY_KINDS) as Array<keyof PolicyInput>) {
    const value = config.values[`${NAMESPACE}:${key}`];
    if (value !== undefined) raw[key] = parseKey(key, value, issues);
  }
  return configSchema.safeParse(raw);
}

/**
 * The secret config keys a stack's policy names (`dxbackup:repositoryPassword`, ...), or none when
 * the config does not parse (then `loadPolicy` says why).
 */
export function referencedSecretKeys(config: StackConfig): string[] {
  const parsed = parseInput(config, []);
  return parsed.success ? [...new Set(secretReferences(parsed.data).map((r) => `${NAMESPACE}:${r.key}`))] : [];
}

/**
 * Validates a stack's config and returns the resolved policy, or throws a
 * `PolicyError` listing every problem with its config path. Pure: no
 * resources, no I/O, so `dxbackup plan` and tests call exactly what the
 * stack program calls.
 */
export function loadPolicy(config: StackConfig): Policy {
  const issues: PolicyIssue[] = [];
  const configKeys = new Set(Object.keys(config.values));
  const parsed = parseInput(config, issues);
  if (!parsed.success) {
    issues.push(...fromZodIssues(parsed.error.issues, configSchema));
    // Typos among top-level keys often explain "is required" errors: report them too.
    issues.push(...unknownKeysRule(configKeys, Object.keys(KEY_KINDS), [REPOSITORY_PASSWORD_KEY]).filter(isTypo));
    throw new PolicyError(issues);
  }
  if (issues.length) throw new PolicyError(issues);

  const input = parsed.data;
  const name = policyName(input);
  const hosts = input.hosts.map((h) => resolveHost(h, name));
  const databases = input.databases.map(resolveDatabase);
  const ldap = input.ldap && resolveLdap(input.ldap);
  const referenced = secretReferences(input).map((r) => r.key);
  issues.push(
    ...POLICY_RULES.flatMap((rule) => rule({ input, hosts, databases, ldap })),
    ...secretsRule(input, configKeys, config.secretKeys),
    ...unknownKeysRule(configKeys, Object.keys(KEY_KINDS), referenced),
  );
  if (issues.length) throw new PolicyError(issues);

  return {
    name,
    environment: input.environment,
    production: input.production ?? ["prod", "production"].includes(input.environment),
    storage: resolveStorage(input.storage),
    hosts,
    schedules: input.schedules.map((s) => ({
      name: s.name,
      kind: s.kind,
      cron: s.cron.trim().split(/\s+/).join(" "),
      timezone: s.timezone,
      mode: s.mode,
      targets: s.targets,
      hosts: scheduleHosts(s, hosts).map((h) => h.name),
      databases: s.kind === "drill" ? [] : scheduleDomains(s, databases),
      // The retention rule guarantees one of the two exists for backups; drills keep nothing.
      retention: s.kind === "drill" ? {} : (s.retention ?? input.retention)!,
    })),
    databases,
    ldap,
    remoteSources: input.remoteSources,
    system: input.system,
    coverage: input.coverage,
    agent: input.agent,
    secrets: { repositoryPassword: REPOSITORY_PASSWORD_KEY, all: [...new Set(referenced)] },
  };
}

function isTypo(i: PolicyIssue): boolean {
  return i.message.includes("did you mean");
}

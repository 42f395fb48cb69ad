/**
 * Secret references in the operator's offline commands: `"{{secret:KEY}}"`
 * stands for the value of the stack secret KEY (`pulumi config set --secret
 * dxbackup:KEY`). The value is never written into the agent's config, its
 * log, status.json or the runbook: the agent reads it from the host's secret
 * file at run time and hands it to the command's shell in a variable, which
 * the shell expands where the reference stood. Pure: used by the policy
 * rules, the runbook and the agent alike.
 */

/** One reference: `{{secret:KEY}}`, KEY a config key name. */
const REFERENCE = /\{\{secret:([A-Za-z][A-Za-z0-9_-]*)\}\}/g;

/** The config keys a command refers to, each once, in order. */
export function secretKeysIn(command: string): string[] {
  return [...new Set([...command.matchAll(REFERENCE)].map((m) => m[1]))];
}

/**
 * A reference outside double quotes (`-password {{secret:x}}`): the shell
 * would split a value with a space into several words, or expand a `*` in it.
 * Returns the first such reference, if any.
 */
export function unquotedReference(command: string): string | undefined {
  for (const m of command.matchAll(REFERENCE)) {
    const before = command[m.index - 1];
    const after = command[m.index + m[0].length];
    if (before !== '"' || after !== '"') return m[0];
  }
  return undefined;
}

/** The shell variable that carries KEY's value: DXB_SECRET_<n>, n its place among the command's keys. */
export function variableFor(keys: readonly string[], key: string): string {
  return `DXB_SECRET_${keys.indexOf(key)}`;
}

/**
 * The command as the shell runs it: each reference replaced by an expansion
 * of its variable (inside the double quotes the rules require), and which
 * variable carries which key.
 */
export function withSecretVariables(command: string): { script: string; variables: Record<string, string> } {
  const keys = secretKeysIn(command);
  const script = command.replace(REFERENCE, (_, key: string) => `\${${variableFor(keys, key)}}`);
  return { script, variables: Object.fromEntries(keys.map((k) => [variableFor(keys, k), k])) };
}

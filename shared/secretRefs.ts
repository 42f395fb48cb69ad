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
 * What is wrong with the command's references, if anything: one that stands
 * outside double quotes (a value with a space or `*` would split or expand;
 * inside single quotes it would not expand at all), or a `{{secret:` that is
 * not a reference (a misspelt key would reach the command as text). The
 * shell's quoting is followed as bash reads it: quotes, and backslashes
 * outside single quotes.
 */
export function referenceProblem(command: string): string | undefined {
  let quote: "" | "'" | '"' = "";
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (command.startsWith("{{secret:", i)) {
      const m = /^\{\{secret:([A-Za-z][A-Za-z0-9_-]*)\}\}/.exec(command.slice(i));
      if (!m)
        return `has ${command.slice(i, i + 40)}, which is not a secret reference: write "{{secret:KEY}}", KEY a config key`;
      if (quote !== '"')
        return `has ${m[0]} outside double quotes: write "${m[0]}", so that the shell passes the secret's value as one word (a space or * in it would otherwise split or expand it)`;
      i += m[0].length - 1;
    } else if (c === "\\" && quote !== "'") i++;
    else if (quote === "" && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = "";
  }
  return undefined;
}

/** The shell variable that carries KEY's value: DXB_SECRET_<n>, n its place among the command's keys. */
export function variableFor(keys: readonly string[], key: string): string {
  return `DXB_SECRET_${keys.indexOf(key)}`;
}

/**
 * The command as bash runs it: each reference replaced by an expansion of its
 * variable (inside the double quotes the rules require), after a prologue
 * that reads the variables' values from stdin, each ended by a NUL, and then
 * gives the command no stdin. The values reach neither a command line nor an
 * environment (`/proc/<pid>/environ` of the shell, or of the servers it
 * starts), and any `su` passes stdin on. `variables` lists the keys in the
 * order their values must be written.
 */
export function withSecretVariables(command: string): { script: string; variables: Record<string, string> } {
  const keys = secretKeysIn(command);
  if (!keys.length) return { script: command, variables: {} };
  const body = command.replace(REFERENCE, (_, key: string) => `\${${variableFor(keys, key)}}`);
  const reads = keys.map((k) => `IFS= read -r -d '' ${variableFor(keys, k)}; `).join("");
  return {
    script: `${reads}exec </dev/null; ${body}`,
    variables: Object.fromEntries(keys.map((k) => [variableFor(keys, k), k])),
  };
}

/** What the shell of withSecretVariables reads on stdin: each value, NUL-ended, in `variables` order. */
export function secretInput(values: readonly string[]): string {
  return values.map((v) => `${v}\0`).join("");
}

import type { z } from "zod";

/** One problem with the config, at a config path such as `dxbackup:hosts[0].ssh.port`. */
export interface PolicyIssue {
  path: string;
  message: string;
}

/** Thrown when a policy is invalid; carries every problem found, not just the first. */
export class PolicyError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(`invalid dx-backup configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
    this.name = "PolicyError";
  }
}

export const NAMESPACE = "dxbackup";

/** `["hosts", 0, "ssh"]` -> `dxbackup:hosts[0].ssh`. */
export function configPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const [i, s] of segments.entries()) {
    if (typeof s === "number") out += `[${s}]`;
    else out += i === 0 ? `${NAMESPACE}:${String(s)}` : `.${String(s)}`;
  }
  return out;
}

/** Levenshtein distance, for "did you mean" hints on typos. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(
        row[j] + 1,
        row[j - 1] + 1,
        diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The closest of `candidates` to `word`, if it is close enough to be a typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const hint = suggest(key, known);
  return hint
    ? `unknown key '${key}': did you mean '${hint}'?`
    : `unknown key '${key}': remove it (allowed here: ${known.join(", ")})`;
}

/** Known keys of the object schema at `path` inside `schema`, for typo hints. */
function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  // Walk the zod definition the same way the value was walked.
  let s: unknown = schema;
  for (const seg of path) {
    s = unwrap(s);
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (typeof seg === "number" && def?.type === "array") s = def.element;
    else if (typeof seg === "string" && def?.shape) s = def.shape[seg];
    else return [];
  }
  const def = (unwrap(s) as { def?: { shape?: Record<string, unknown> } }).def;
  return def?.shape ? Object.keys(def.shape) : [];
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { type?: string; innerType?: unknown } } | undefined;
  while (cur?.def && ["optional", "default", "nullable", "prefault"].includes(cur.def.type ?? "")) {
    cur = cur.def.innerType as typeof cur;
  }
  return cur;
}

/** Turns zod's issues into config-path issues whose messages say what to do. */
export function fromZodIssues(
  issues: z.core.$ZodIssue[],
  schema: z.ZodType,
  prefix: PropertyKey[] = [],
): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys)
        out.push({ path: configPath([...path, key]), message: unknownKeyMessage(key, known) });
      continue;
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && /received undefined$/.test(message))
      message = `is required (${issue.expected})`;
    else if (issue.code === "invalid_type")
      message = `${message}: write ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
    else if (issue.code === "invalid_value" && "values" in issue) {
      message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    out.push({ path: configPath(path), message });
  }
  return out;
}

export { unknownKeyMessage };

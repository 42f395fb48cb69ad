import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { referencedSecretKeys, type StackConfig } from "../../components/policy/load";

/** What stands in for an encrypted value: the plan never sees real secrets. */
export const SECRET_PLACEHOLDER = "[secret]";

const PROJECT = "dx-backup";

export const STACKS_DIR = path.join(__dirname, "..", "..", "stacks");

export function stackFilePath(stack: string): string {
  return path.join(STACKS_DIR, `Pulumi.${stack}.yaml`);
}

function isSecure(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** Replaces nested `secure:` values by the placeholder; reports whether there were any. */
function replaceSecure(v: unknown): { value: unknown; secret: boolean } {
  if (isSecure(v)) return { value: SECRET_PLACEHOLDER, secret: true };
  if (Array.isArray(v)) {
    const items = v.map(replaceSecure);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (v && typeof v === "object") {
    const entries = Object.entries(v).map(([k, x]) => [k, replaceSecure(x)] as const);
    return {
      value: Object.fromEntries(entries.map(([k, x]) => [k, x.value])),
      secret: entries.some(([, x]) => x.secret),
    };
  }
  return { value: v, secret: false };
}

/**
 * Turns the text of a `Pulumi.<stack>.yaml` into config as Pulumi would hand
 * it to the program: `namespace:key` -> string (structured values as JSON),
 * `secure:` values as opaque secrets.
 */
export function parseStackConfig(text: string, source: string): StackConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || Array.isArray(config)) throw new Error(`${source}: 'config' must be a mapping`);
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [rawKey, rawValue] of Object.entries(config as Record<string, unknown>)) {
    const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
    const { value, secret } = replaceSecure(rawValue);
    if (secret) secretKeys.add(key);
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  // A stack file need not hold its secrets (each team sets them with its own secrets provider, and
  // the samples in stacks/ carry none): the plan stands a placeholder in for each one not set yet.
  for (const key of referencedSecretKeys({ values, secretKeys })) {
    if (values[key] !== undefined) continue;
    values[key] = SECRET_PLACEHOLDER;
    secretKeys.add(key);
  }
  return { values, secretKeys };
}

/**
 * The config of a stack file as `pulumi` keeps it, without its `secure:`
 * values (they are encrypted for another secrets provider): what a new stack
 * of one's own starts from, before `pulumi config set --secret`.
 */
export function plainStackConfig(file: string): Record<string, unknown> {
  const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return Object.fromEntries(Object.entries(doc?.config ?? {}).filter(([, v]) => !isSecure(v)));
}

export function readStackConfig(file: string): StackConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`cannot read stack config ${file}: does the stack exist? (stacks/Pulumi.<name>.yaml)`);
  }
  return parseStackConfig(text, file);
}

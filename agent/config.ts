import { accessSync, constants, readFileSync } from "node:fs";
import { hostConfigSchema, secretFiles, type HostConfig } from "../shared/hostConfig";
import { UsageError } from "./errors";

/**
 * Reads and validates agent.json with the schema that generated it: unknown
 * keys, wrong types and missing secret files are errors naming the key.
 */
export function loadHostConfig(file: string): HostConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read the config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not JSON (${(e as Error).message}): it is written by pulumi up; run it again`);
  }
  const parsed = hostConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(top level)"}: ${i.message}`).join("\n");
    throw new UsageError(
      `${file} is not a valid dx-backup host config (written by pulumi up; run it again):\n${issues}`,
    );
  }
  for (const { key, file: secret } of secretFiles(parsed.data)) {
    try {
      accessSync(secret, constants.R_OK);
    } catch {
      throw new UsageError(
        `${file}: ${key} names ${secret}, which cannot be read: pulumi up installs it; run it again`,
      );
    }
  }
  return parsed.data;
}

/** The storage credentials: for restic's environment only, never the agent's own. */
export function storageEnvironment(c: HostConfig): Record<string, string> {
  const raw = JSON.parse(readFileSync(c.repository.storageEnvFile, "utf8")) as unknown;
  if (typeof raw !== "object" || raw === null || Object.values(raw).some((v) => typeof v !== "string"))
    throw new UsageError(`${c.repository.storageEnvFile} must hold a JSON object of strings`);
  return raw as Record<string, string>;
}

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";

/** The repository's root (this file is cli/engine/toolchain.ts). */
const REPO_ROOT = path.join(__dirname, "..", "..");

/** Where scripts/build-pulumi.sh puts the Pulumi CLI and links the plugin shims (git-ignored). */
const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");

/** The CLI version the SDKs in package.json go with; setup builds exactly this one. */
function expectedPulumiVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return `v${(require("@pulumi/pulumi/package.json") as { version: string }).version}`;
}

/**
 * The Pulumi CLI to run: setup's build under .tools/bin, else a `pulumi` on
 * PATH of the expected version. Anything else is an error that says how to
 * get the right one: never a download.
 */
export function pulumiBinary(): string {
  const want = expectedPulumiVersion();
  const candidates = [path.join(TOOLS_BIN, "pulumi"), "pulumi"];
  const found: string[] = [];
  for (const bin of candidates) {
    if (bin.includes("/") && !existsSync(bin)) continue;
    try {
      const version = execFileSync(bin, ["version"], { encoding: "utf8", env: engineEnv({}) }).trim();
      if (version === want) return bin;
      found.push(`${bin} is ${version}`);
    } catch {
      // not on PATH
    }
  }
  throw new Error(
    `no Pulumi CLI ${want} found (${found.join(", ") || "none on PATH"}): run ./scripts/setup.sh, which builds it from its Go module into .tools/bin`,
  );
}

/**
 * The environment every engine run gets: plugins only from .tools/bin and
 * PATH (a missing one is an error, never a download), no update check, and
 * the caller's own settings (backend, passphrase file, PULUMI_HOME).
 */
export function engineEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    // The CLI and, linked beside it by setup, the plugin shims (tools/pulumi/plugins).
    PATH: `${TOOLS_BIN}${path.delimiter}${env.PATH ?? ""}`,
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    ...extra,
  };
}

import { expect } from "chai";
import { PolicyError, type PolicyIssue } from "../../components/policy/errors";
import { loadPolicy, type StackConfig } from "../../components/policy/load";
import type { SystemBackupArgs } from "../../components/system/systemBackup";

/** A stack's `dxbackup:` keys as plain objects, the way they read in Pulumi.<stack>.yaml. */
export type ConfigObject = Record<string, unknown>;

/** A small valid policy: one Portal node, S3-compatible storage, a nightly schedule. */
export function validConfig(): ConfigObject {
  return {
    environment: "test",
    storage: { s3Compatible: { endpoint: "https://s3.example.com", bucket: "dx-backups" } },
    hosts: [{ name: "portal-1", address: "10.0.0.11" }],
    schedules: [{ name: "nightly", cron: "0 2 * * *", timezone: "Europe/Berlin" }],
    retention: { keepDaily: 7, keepWeekly: 4 },
  };
}

/** The `agent` key of a host whose every agent directory lives under `root`, scheduled by cron.d files. */
export function agentDirsUnder(root: string) {
  return {
    installDir: `${root}/opt/dxbackup`,
    configDir: `${root}/etc/dxbackup`,
    stateDir: `${root}/var/lib/dxbackup`,
    systemdDir: `${root}/etc/systemd/system`,
    cronDir: `${root}/etc/cron.d`,
    scheduler: "cron",
    // scripts/test-restic-newest.sh runs the suites again with another restic.
    ...(process.env.DXB_TEST_RESTIC ? { restic: process.env.DXB_TEST_RESTIC } : {}),
  };
}

/** A host key line as `ssh-keyscan` prints it (a sample: no host has it). */
export const SAMPLE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO3nZ7X23fsOEhi81qLvDtw5/lW6VE/vKtzi1b3+Ee+E";

export const DEFAULT_SECRETS: Record<string, string> = {
  repositoryPassword: "correct horse battery staple",
  sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nTESTKEY\n-----END OPENSSH PRIVATE KEY-----\n",
  s3AccessKeyId: "AKIATESTACCESSKEY",
  s3SecretAccessKey: "TESTSECRETACCESSKEYVALUE",
};

/** Config as Pulumi hands it over: namespaced keys, JSON for structured values, secrets listed. */
export function stackConfig(config: ConfigObject, secrets: Record<string, string> = DEFAULT_SECRETS): StackConfig {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) values[`dxbackup:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  const secretKeys = new Set<string>();
  for (const [k, v] of Object.entries(secrets)) {
    values[`dxbackup:${k}`] = v;
    secretKeys.add(`dxbackup:${k}`);
  }
  return { values, secretKeys };
}

/** The issues `loadPolicy` reports for a config (fails the test when it accepts it). */
export function issuesOf(config: StackConfig): PolicyIssue[] {
  try {
    loadPolicy(config);
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  expect.fail("the configuration was accepted, but it should have been refused");
}

/** Asserts there is an issue at `path` whose message matches `message`. */
export function expectIssue(issues: PolicyIssue[], path: string, message: RegExp): void {
  const at = issues.filter((i) => i.path === path);
  expect(
    at,
    `no issue at ${path}; got:\n${issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`,
  ).to.have.length.greaterThan(0);
  expect(at.map((i) => i.message).join("\n")).to.match(message);
}

/** A validated `system.aws` (AWS Backup nightly, copied to a second region, alerts mailed), with `extra` on top. */
export function systemAws(extra: Partial<SystemBackupArgs["aws"]> = {}): SystemBackupArgs["aws"] {
  return {
    region: "eu-central-1",
    cron: "0 23 * * *",
    timezone: "Europe/Berlin",
    startWindowMinutes: 60,
    completionWindowMinutes: 480,
    coldStorageAfterDays: 30,
    deleteAfterDays: 365,
    copyToRegion: "eu-west-1",
    notifyEmail: "dx-ops@acme.example",
    ...extra,
  };
}

import * as pulumi from "@pulumi/pulumi";
import { BackupPolicy } from "../components/backupPolicy";
import { NAMESPACE } from "../components/policy/errors";
import { loadPolicy, type StackConfig } from "../components/policy/load";

/**
 * The stack's configuration as the Pulumi engine hands it over: all keys,
 * and which are secrets. The runtime's own record of the secret keys works
 * for a program the language host started (PULUMI_CONFIG_SECRET_KEYS) and for
 * an Automation API inline program alike.
 */
export function currentStackConfig(): StackConfig {
  // Internal to @pulumi/pulumi (not in its typings), like the mocks harness's waitForRPCs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
  const values = pulumi.runtime.allConfig();
  return { values, secretKeys: new Set(Object.keys(values).filter((key) => isConfigSecret(key))) };
}

/**
 * The stack program: validate the whole configuration first (nothing is
 * created from an invalid one), then build the policy. `dxbackup plan` runs
 * exactly this under mocks.
 */
export function buildStack(config: StackConfig = currentStackConfig()) {
  const policy = loadPolicy(config);
  const cfg = new pulumi.Config(NAMESPACE);
  const secrets = Object.fromEntries(policy.secrets.all.map((key) => [key, cfg.requireSecret(key)] as const));
  const backup = new BackupPolicy(policy.name, { policy, secrets });
  return {
    policy: policy.name,
    environment: policy.environment,
    repositories: backup.repositories,
    runbook: backup.runbook,
    hostConfigDigests: pulumi.all(
      Object.fromEntries(Object.entries(backup.hosts).map(([h, c]) => [h, c.configDigest])),
    ),
    // Only AWS storage has buckets; an undefined stack output would only draw a warning.
    ...(backup.store.bucketName ? { bucketName: backup.store.bucketName } : {}),
    ...(backup.store.replicaBucketName ? { replicaBucketName: backup.store.replicaBucketName } : {}),
    // The rest-server's htpasswd file (pulumi stack output restHtpasswd --show-secrets).
    ...(backup.store.restHtpasswd ? { restHtpasswd: backup.store.restHtpasswd } : {}),
    // Each host's SFTP user and public key, for the SFTP server's authorized_keys (not secret).
    ...(backup.sftpAuthorizedKeys ? { sftpAuthorizedKeys: backup.sftpAuthorizedKeys } : {}),
    ...(policy.storage.kind === "s3" || policy.system?.aws ? { keyArns: backup.keyArns } : {}),
  };
}

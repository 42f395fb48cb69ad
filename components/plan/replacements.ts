import { AGENT_INSTALL_TYPE } from "../hosts/agentInstall";
import { installDiff, type InstallInputs } from "../hosts/installDiff";

/**
 * Inputs whose change makes the provider replace the resource (the AWS
 * provider's "force new" attributes) for the types this project creates. A
 * replacement of a protected resource is refused by the engine; of anything
 * else, it is a delete and a create: the plan must say so where the engine would.
 * From the AWS provider's resource schemas (v7); any input of a resource that
 * has no update at all (backup selections and vault notifications) replaces it.
 */
const FORCE_NEW: Record<string, readonly string[] | "all"> = {
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
  "aws:s3/bucketVersioning:BucketVersioning": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
    "bucket",
    "expectedBucketOwner",
  ],
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["bucket"],
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["bucket"],
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketPolicy:BucketPolicy": ["bucket"],
  "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketReplicationConfig:BucketReplicationConfig": ["bucket"],
  "aws:kms/key:Key": ["customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion", "customKeyStoreId"],
  "aws:iam/accessKey:AccessKey": ["user", "pgpKey"],
  "aws:iam/role:Role": ["name", "namePrefix"],
  "aws:iam/userPolicy:UserPolicy": ["user", "name", "namePrefix"],
  "aws:iam/rolePolicy:RolePolicy": ["role", "name", "namePrefix"],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["role", "policyArn"],
  "aws:backup/vault:Vault": ["name", "kmsKeyArn"],
  "aws:backup/vaultLockConfiguration:VaultLockConfiguration": ["backupVaultName"],
  "aws:backup/selection:Selection": "all",
  "aws:backup/vaultNotifications:VaultNotifications": "all",
  "aws:backup/restoreTestingPlan:RestoreTestingPlan": ["name"],
  "aws:backup/restoreTestingSelection:RestoreTestingSelection": [
    "name",
    "restoreTestingPlanName",
    "protectedResourceType",
  ],
  "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
  "aws:sns/topicPolicy:TopicPolicy": ["arn"],
  "aws:sns/topicSubscription:TopicSubscription": ["topic", "protocol", "endpoint"],
};

/**
 * Optional inputs the provider also computes: leaving one out keeps the value
 * in state (no diff), so only a new value forces the replacement. A stack
 * that once set `objectLockEnabled` and no longer does keeps its bucket.
 */
const COMPUTED_WHEN_ABSENT: Record<string, readonly string[]> = {
  "aws:s3/bucket:Bucket": ["objectLockEnabled"],
};

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The inputs of a changed resource that make the engine replace it rather
 * than update it in place; empty for an update. Agent installs answer with
 * the very rule their provider gives the engine.
 */
export function replacingInputs(type: string, olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
  if (type === AGENT_INSTALL_TYPE) {
    return installDiff(olds as unknown as InstallInputs, news as unknown as InstallInputs).replaces;
  }
  const rule = FORCE_NEW[type];
  if (rule === undefined) return [];
  const keys = rule === "all" ? [...new Set([...Object.keys(olds), ...Object.keys(news)])] : rule;
  const computed = COMPUTED_WHEN_ABSENT[type] ?? [];
  return keys.filter((k) => !same(olds[k], news[k]) && !(news[k] === undefined && computed.includes(k))).sort();
}

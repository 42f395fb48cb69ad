/**
 * The AWS Backup alert documents, as pure functions so they can be
 * golden-tested and read in a review without AWS.
 */
import type { PolicyDocument } from "../storage/documents";

/**
 * The vault events the alerts subscribe to. AWS Backup reports a failed,
 * aborted, expired or partial job as `BACKUP_JOB_COMPLETED` (or
 * `RESTORE_JOB_COMPLETED`) with a `State` other than `COMPLETED`: the
 * `BACKUP_JOB_FAILED`/`RESTORE_JOB_FAILED` names of older lists are
 * deprecated and never sent. The S3 events matter when the selection tag
 * also catches buckets.
 */
export const VAULT_EVENTS = [
  "BACKUP_JOB_COMPLETED",
  "COPY_JOB_FAILED",
  "RESTORE_JOB_COMPLETED",
  "S3_BACKUP_OBJECT_FAILED",
  "S3_RESTORE_OBJECT_FAILED",
];

/**
 * The subscription filter (on the message attributes AWS Backup sets): a
 * person is mailed what went wrong, not every nightly success. A message
 * without a `State` passes too: one mail too many beats a failure lost.
 */
export function failureFilterPolicy(): Record<string, unknown> {
  return {
    $or: [{ State: [{ "anything-but": ["COMPLETED"] }] }, { State: [{ exists: false }] }],
  };
}

/**
 * The key the alert topic is encrypted with. The AWS-managed `alias/aws/sns`
 * cannot be used: its policy cannot be changed to let AWS Backup publish,
 * so every alert would be dropped. The account administers the key; the
 * service may only generate data keys and decrypt (what SNS needs from a
 * publishing AWS service).
 */
export function alertsKeyPolicy(args: { partition: string; accountId: string }): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministersTheKey",
        Effect: "Allow",
        Principal: { AWS: `arn:${args.partition}:iam::${args.accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      // No condition: SNS asks KMS on the publisher's behalf, and the key serves nothing but this
      // topic (whose own policy admits only this account's vaults).
      {
        Sid: "BackupPublishesEncryptedAlerts",
        Effect: "Allow",
        Principal: { Service: "backup.amazonaws.com" },
        Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
        Resource: "*",
      },
    ],
  };
}

/**
 * Only AWS Backup, on behalf of this account's vaults in this region, may
 * publish (`aws:SourceAccount`/`aws:SourceArn` keep another account's
 * vaults out: the confused deputy). `IfExists`: AWS documents neither key
 * for AWS Backup's notifications, and a condition on a key that is not sent
 * never matches, which would drop every alert again.
 */
export function alertsTopicPolicy(args: {
  topicArn: string;
  partition: string;
  region: string;
  accountId: string;
}): PolicyDocument {
  const { topicArn, partition, region, accountId } = args;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "BackupPublishesVaultEvents",
        Effect: "Allow",
        Principal: { Service: "backup.amazonaws.com" },
        Action: "SNS:Publish",
        Resource: topicArn,
        Condition: {
          StringEqualsIfExists: { "aws:SourceAccount": accountId },
          ArnLikeIfExists: { "aws:SourceArn": `arn:${partition}:backup:${region}:${accountId}:backup-vault:*` },
        },
      },
    ],
  };
}

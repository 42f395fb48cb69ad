import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, childTags, companionOptions, type ChildOptions } from "../childOptions";
import type { SystemInput } from "../policy/systemSchema";
import { toAwsCron } from "./awsCron";
import { alertsKeyPolicy, alertsTopicPolicy, failureFilterPolicy, VAULT_EVENTS } from "./documents";

type AwsSystem = NonNullable<SystemInput["aws"]>;

export interface SystemBackupArgs {
  /** The validated `dxbackup:system.aws`. */
  aws: AwsSystem;
  /** The policy name: the default selection tag value and resource names. */
  policyName: string;
  tags?: Record<string, string>;
  /** Tags and resource options per child. */
  children?: SystemBackupChildren;
}

/**
 * Per-child tags and resource options. The defaults protect the vaults and
 * retain their keys: recovery points outlive the stack, and they cannot be
 * read without the key they were encrypted with.
 */
export interface SystemBackupChildren {
  /** The vault (default: protected; a provider here also manages its lock and notifications). */
  vault?: ChildOptions;
  /** The vault's KMS key (default: retained on delete). */
  vaultKey?: ChildOptions;
  /** The copy's vault in the second region (default: protected). */
  drVault?: ChildOptions;
  /** The copy vault's KMS key (default: retained on delete). */
  drVaultKey?: ChildOptions;
  /** The alert topic and its KMS key (a provider here also manages the topic's policy and subscription). */
  alerts?: ChildOptions;
  /** The backup plan. */
  plan?: ChildOptions;
}

const backupServiceRole = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/**
 * The system tier for Portal hosts on EC2: an AWS Backup vault (KMS, optional
 * vault lock), a plan whose rule comes from the policy (schedule, windows,
 * lifecycle, a copy to a vault in a second region), a selection by tag or
 * instance, failure notifications to SNS, and a restore testing plan.
 */
export class SystemBackup extends pulumi.ComponentResource {
  /** The vault recovery points are stored in (protected). */
  readonly vault: aws.backup.Vault;
  /** The key the vault encrypts recovery points with (retained on delete). */
  readonly vaultKey: aws.kms.Key;
  /** The vault copies go to, with `copyToRegion` (protected). */
  readonly drVault?: aws.backup.Vault;
  /** The copy vault's key (retained on delete). */
  readonly drVaultKey?: aws.kms.Key;
  /** The backup plan: the schedule, windows, lifecycle and copy from the policy. */
  readonly plan: aws.backup.Plan;
  /** Where AWS Backup publishes failed jobs. */
  readonly alertsTopic: aws.sns.Topic;
  /** The customer-managed key the alerts are encrypted with (AWS Backup may use it). */
  readonly alertsKey: aws.kms.Key;
  readonly vaultName: pulumi.Output<string>;
  readonly planId: pulumi.Output<string>;
  /** The ARNs of the keys this component created, by resource name. */
  readonly keyArns: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: SystemBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dxbackup:system:SystemBackup", name, {}, opts);
    const cfg = args.aws;
    const tags = args.tags ?? {};
    const children = args.children ?? {};
    const o = { parent: this };
    const region = cfg.region;
    const selection = cfg.selectionTag ?? { key: "dxbackup:policy", value: args.policyName };

    const key = new aws.kms.Key(
      `${name}-vault-key`,
      {
        region,
        description: `dx-backup system tier vault (${name})`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags: childTags(tags, children.vaultKey),
      },
      childOptions(this, { retainOnDelete: true }, children.vaultKey),
    );
    const vault = new aws.backup.Vault(
      `${name}-vault`,
      { region, kmsKeyArn: key.arn, tags: childTags(tags, children.vault) },
      childOptions(this, { protect: true }, children.vault),
    );
    if (cfg.vaultLock) {
      new aws.backup.VaultLockConfiguration(
        `${name}-vault-lock`,
        {
          region,
          backupVaultName: vault.name,
          minRetentionDays: cfg.vaultLock.minRetentionDays,
          maxRetentionDays: cfg.vaultLock.maxRetentionDays,
          changeableForDays: cfg.vaultLock.changeableForDays,
        },
        // Retained like the vault: a destroy must not lift a lock still in its grace period.
        companionOptions(this, children.vault, { retainOnDelete: true }),
      );
    }
    let copyActions: aws.types.input.backup.PlanRuleCopyAction[] | undefined;
    if (cfg.copyToRegion) {
      const drKey = new aws.kms.Key(
        `${name}-dr-vault-key`,
        {
          region: cfg.copyToRegion,
          description: `dx-backup system tier DR vault (${name})`,
          enableKeyRotation: true,
          deletionWindowInDays: 30,
          tags: childTags(tags, children.drVaultKey),
        },
        childOptions(this, { retainOnDelete: true }, children.drVaultKey),
      );
      const drVault = new aws.backup.Vault(
        `${name}-dr-vault`,
        { region: cfg.copyToRegion, kmsKeyArn: drKey.arn, tags: childTags(tags, children.drVault) },
        childOptions(this, { protect: true }, children.drVault),
      );
      this.drVault = drVault;
      this.drVaultKey = drKey;
      copyActions = [{ destinationVaultArn: drVault.arn, lifecycle: { deleteAfter: cfg.deleteAfterDays } }];
    }

    const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: backupServiceRole, tags }, o);
    for (const [suffix, policy] of [
      ["backup", "AWSBackupServiceRolePolicyForBackup"],
      ["restore", "AWSBackupServiceRolePolicyForRestores"],
    ]) {
      new aws.iam.RolePolicyAttachment(
        `${name}-role-${suffix}`,
        { role: role.name, policyArn: `arn:aws:iam::aws:policy/service-role/${policy}` },
        o,
      );
    }

    const plan = new aws.backup.Plan(
      `${name}-plan`,
      {
        region,
        rules: [
          {
            ruleName: "portal-hosts",
            targetVaultName: vault.name,
            schedule: toAwsCron(cfg.cron),
            scheduleExpressionTimezone: cfg.timezone,
            startWindow: cfg.startWindowMinutes,
            completionWindow: cfg.completionWindowMinutes,
            lifecycle: { coldStorageAfter: cfg.coldStorageAfterDays, deleteAfter: cfg.deleteAfterDays },
            copyActions,
            recoveryPointTags: { "dxbackup:policy": args.policyName },
          },
        ],
        tags: childTags(tags, children.plan),
      },
      childOptions(this, {}, children.plan),
    );
    new aws.backup.Selection(
      `${name}-selection`,
      {
        region,
        iamRoleArn: role.arn,
        planId: plan.id,
        ...(cfg.instanceArns
          ? { resources: cfg.instanceArns }
          : { selectionTags: [{ type: "STRINGEQUALS", key: selection.key, value: selection.value }] }),
      },
      o,
    );

    // Alerts: a customer-managed key (AWS Backup cannot publish to a topic under alias/aws/sns),
    // the events AWS Backup really sends, and a filter that lets only failures through.
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    const alertOpts = childOptions(this, {}, children.alerts);
    const alertsKey = new aws.kms.Key(
      `${name}-alerts-key`,
      {
        region,
        description: `dx-backup AWS Backup alerts (${name})`,
        enableKeyRotation: true,
        policy: pulumi
          .all([partition, identity.accountId])
          .apply(([p, accountId]) => JSON.stringify(alertsKeyPolicy({ partition: p, accountId }))),
        tags: childTags(tags, children.alerts),
      },
      alertOpts,
    );
    const topic = new aws.sns.Topic(
      `${name}-alerts`,
      { region, kmsMasterKeyId: alertsKey.arn, tags: childTags(tags, children.alerts) },
      alertOpts,
    );
    const topicPolicy = new aws.sns.TopicPolicy(
      `${name}-alerts-policy`,
      {
        region,
        arn: topic.arn,
        policy: pulumi
          .all([topic.arn, partition, identity.accountId])
          .apply(([topicArn, p, accountId]) =>
            JSON.stringify(alertsTopicPolicy({ topicArn, partition: p, region, accountId })),
          ),
      },
      companionOptions(this, children.alerts),
    );
    new aws.backup.VaultNotifications(
      `${name}-notifications`,
      { region, backupVaultName: vault.name, snsTopicArn: topic.arn, backupVaultEvents: VAULT_EVENTS },
      {
        ...companionOptions(this, children.vault, { dependsOn: [topicPolicy] }),
        // Every input change replaces it, and old and new share one id (the vault): created first,
        // the old one's delete would clear the new settings and leave the vault without alerts.
        deleteBeforeReplace: true,
      },
    );
    if (cfg.notifyEmail) {
      new aws.sns.TopicSubscription(
        `${name}-alerts-email`,
        {
          region,
          topic: topic.arn,
          protocol: "email",
          endpoint: cfg.notifyEmail,
          filterPolicyScope: "MessageAttributes",
          filterPolicy: JSON.stringify(failureFilterPolicy()),
        },
        companionOptions(this, children.alerts),
      );
    }

    if (cfg.restoreTesting) {
      // Restore testing plan names allow letters, digits and underscores only.
      const testingName = `${args.policyName.replace(/[^A-Za-z0-9]/g, "_")}_restore_testing`;
      const testing = new aws.backup.RestoreTestingPlan(
        `${name}-restore-testing`,
        {
          region,
          name: testingName,
          recoveryPointSelection: {
            algorithm: "LATEST_WITHIN_WINDOW",
            includeVaults: [vault.arn],
            recoveryPointTypes: ["SNAPSHOT"],
            selectionWindowDays: 7,
          },
          scheduleExpression: toAwsCron(cfg.restoreTesting.cron),
          scheduleExpressionTimezone: cfg.restoreTesting.timezone,
          startWindowHours: 8,
          tags,
        },
        o,
      );
      new aws.backup.RestoreTestingSelection(
        `${name}-restore-testing-selection`,
        {
          region,
          name: `${testingName}_ec2`,
          restoreTestingPlanName: testing.name,
          protectedResourceType: "EC2",
          iamRoleArn: role.arn,
          ...(cfg.instanceArns
            ? { protectedResourceArns: cfg.instanceArns }
            : {
                protectedResourceConditions: {
                  stringEquals: [{ key: `aws:ResourceTag/${selection.key}`, value: selection.value }],
                },
              }),
          validationWindowHours: 4,
        },
        o,
      );
    }

    this.vault = vault;
    this.vaultKey = key;
    this.plan = plan;
    this.alertsTopic = topic;
    this.alertsKey = alertsKey;
    this.vaultName = vault.name;
    this.planId = plan.id;
    this.keyArns = pulumi.all({
      [`${name}-vault-key`]: key.arn,
      ...(this.drVaultKey ? { [`${name}-dr-vault-key`]: this.drVaultKey.arn } : {}),
      [`${name}-alerts-key`]: alertsKey.arn,
    });
    this.registerOutputs({ vaultName: this.vaultName, planId: this.planId, keyArns: this.keyArns });
  }
}

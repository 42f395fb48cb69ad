import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SystemInput } from "../policy/systemSchema";
import { toAwsCron } from "./awsCron";

type AwsSystem = NonNullable<SystemInput["aws"]>;

export interface SystemBackupArgs {
  /** The validated `dxbackup:system.aws`. */
  aws: AwsSystem;
  /** The policy name: the default selection tag value and resource names. */
  policyName: string;
  tags?: Record<string, string>;
}

/** The vault events that mean something went wrong. */
export const FAILURE_EVENTS = ["BACKUP_JOB_FAILED", "COPY_JOB_FAILED", "RESTORE_JOB_FAILED", "S3_BACKUP_OBJECT_FAILED"];

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
  readonly vaultName: pulumi.Output<string>;
  readonly planId: pulumi.Output<string>;

  constructor(name: string, args: SystemBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dxbackup:system:SystemBackup", name, {}, opts);
    const cfg = args.aws;
    const tags = args.tags ?? {};
    const o = { parent: this };
    const region = cfg.region;
    const selection = cfg.selectionTag ?? { key: "dxbackup:policy", value: args.policyName };

    const key = new aws.kms.Key(
      `${name}-vault-key`,
      { region, description: `dx-backup system tier vault (${name})`, enableKeyRotation: true, tags },
      o,
    );
    const vault = new aws.backup.Vault(`${name}-vault`, { region, kmsKeyArn: key.arn, tags }, { ...o, protect: true });
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
        o,
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
          tags,
        },
        o,
      );
      const drVault = new aws.backup.Vault(
        `${name}-dr-vault`,
        { region: cfg.copyToRegion, kmsKeyArn: drKey.arn, tags },
        { ...o, protect: true },
      );
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
        tags,
      },
      o,
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

    const topic = new aws.sns.Topic(`${name}-alerts`, { region, kmsMasterKeyId: "alias/aws/sns", tags }, o);
    new aws.sns.TopicPolicy(
      `${name}-alerts-policy`,
      {
        region,
        arn: topic.arn,
        policy: topic.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "SNS:Publish", Resource: arn },
            ],
          }),
        ),
      },
      o,
    );
    new aws.backup.VaultNotifications(
      `${name}-notifications`,
      { region, backupVaultName: vault.name, snsTopicArn: topic.arn, backupVaultEvents: FAILURE_EVENTS },
      o,
    );
    if (cfg.notifyEmail) {
      new aws.sns.TopicSubscription(
        `${name}-alerts-email`,
        { region, topic: topic.arn, protocol: "email", endpoint: cfg.notifyEmail },
        o,
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

    this.vaultName = vault.name;
    this.planId = plan.id;
    this.registerOutputs({ vaultName: this.vaultName, planId: this.planId });
  }
}

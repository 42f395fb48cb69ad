import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { recordResources, SECRET_MASK, type PlannedResource } from "../../cli/plan/evaluate";
import { BackupPolicy } from "../../components/backupPolicy";
import { AGENT_INSTALL_TYPE } from "../../components/hosts/agentInstall";
import { loadPolicy } from "../../components/policy/load";
import { BackupStore } from "../../components/storage/backupStore";
import { hostCredentialPolicy } from "../../components/storage/documents";
import { SystemBackup } from "../../components/system/systemBackup";
import { DEFAULT_SECRETS, SAMPLE_HOST_KEY, stackConfig, systemAws, validConfig } from "../support/config";
import { expectGolden } from "../support/golden";
import { resourceNamed, s3Storage } from "../support/planned";

const s3 = s3Storage({ bucketName: "acme-dx-backups" });
const byName = resourceNamed;

describe("BackupStore on AWS (mocks)", () => {
  let resources: PlannedResource[] = [];
  let environmentIsSecret = false;

  before(async () => {
    const rec = await recordResources(
      () => {
        const store = new BackupStore("store", {
          storage: s3,
          policyName: "dx-prod",
          hostNames: ["portal-1", "portal-2"],
        });
        return {
          secret: pulumi.isSecret(store.hosts["portal-1"].environment),
          url: store.hosts["portal-1"].repositoryUrl,
        };
      },
      { stack: "test" },
    );
    resources = rec.resources;
    environmentIsSecret = await rec.result.secret;
    expect(rec.result.url).to.equal("s3:https://s3.eu-central-1.amazonaws.com/acme-dx-backups/dx-prod/portal-1");
  });

  it("creates exactly the hardened bucket, its replica, and one credential set per host", () => {
    const got = resources
      .filter((r) => r.type !== "pulumi:pulumi:Stack")
      .map((r) => `${r.type} ${r.name}`)
      .sort();
    const bucketParts = (p: string) => [
      `aws:kms/key:Key store-${p}key`,
      `aws:s3/bucket:Bucket store-${p}bucket`,
      `aws:s3/bucketVersioning:BucketVersioning store-${p}versioning`,
      `aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration store-${p}encryption`,
      `aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock store-${p}public-access-block`,
      `aws:s3/bucketOwnershipControls:BucketOwnershipControls store-${p}ownership`,
      `aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration store-${p}lifecycle`,
      `aws:s3/bucketPolicy:BucketPolicy store-${p}tls-only`,
      `aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration store-${p}object-lock`,
    ];
    const hostParts = (h: string) => [
      `aws:iam/user:User store-${h}-user`,
      `aws:iam/userPolicy:UserPolicy store-${h}-policy`,
      `aws:iam/accessKey:AccessKey store-${h}-access-key`,
    ];
    expect(got).to.deep.equal(
      [
        "dxbackup:storage:BackupStore store",
        ...bucketParts(""),
        ...bucketParts("replica-"),
        "aws:iam/role:Role store-replication-role",
        "aws:iam/rolePolicy:RolePolicy store-replication-policy",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig store-replication",
        ...hostParts("portal-1"),
        ...hostParts("portal-2"),
      ].sort(),
    );
  });

  it("hardens the bucket: versioning, KMS, no public access, owner-enforced, lifecycle, TLS only, object lock", () => {
    expect(byName(resources, "store-bucket").inputs).to.deep.equal({
      bucket: "acme-dx-backups",
      region: "eu-central-1",
      forceDestroy: false,
      tags: {},
    });
    expect(byName(resources, "store-versioning").inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
    expect(byName(resources, "store-encryption").inputs.rules).to.deep.equal([
      {
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: "aws:kms",
          kmsMasterKeyId: "arn:aws:kms:eu-central-1:123456789012:key/store-key",
        },
        bucketKeyEnabled: true,
      },
    ]);
    expect(byName(resources, "store-public-access-block").inputs).to.deep.include({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(byName(resources, "store-ownership").inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
    expect(byName(resources, "store-lifecycle").inputs.rules).to.deep.equal([
      {
        id: "abort-incomplete-multipart-uploads",
        status: "Enabled",
        filter: {},
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      },
      {
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: 120 },
      },
    ]);
    expect(byName(resources, "store-object-lock").inputs).to.deep.include({
      objectLockEnabled: "Enabled",
      rule: { defaultRetention: { mode: "COMPLIANCE", days: 35 } },
    });
    expectGolden(
      "tls-only-bucket-policy.json",
      `${JSON.stringify(JSON.parse(byName(resources, "store-tls-only").inputs.policy as string), null, 2)}\n`,
    );
  });

  it("replicates to the second region, encrypted with the replica's own key", () => {
    expect(byName(resources, "store-replica-bucket").inputs.region).to.equal("eu-west-1");
    const rules = byName(resources, "store-replication").inputs.rules as Array<Record<string, unknown>>;
    expect(rules[0]).to.deep.include({ status: "Enabled", deleteMarkerReplication: { status: "Enabled" } });
    expect(rules[0].destination).to.deep.equal({
      bucket: "arn:aws:s3:::store-replica-bucket",
      storageClass: "STANDARD_IA",
      encryptionConfiguration: { replicaKmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/store-replica-key" },
    });
  });

  it("limits each host to its own prefix and denies deleting versions or changing the bucket (golden)", () => {
    const policy = JSON.parse(byName(resources, "store-portal-1-policy").inputs.policy as string);
    expectGolden("host-credential-policy.json", `${JSON.stringify(policy, null, 2)}\n`);
    const deny = policy.Statement.find((s: { Effect: string }) => s.Effect === "Deny");
    expect(deny.Action).to.include.members([
      "s3:DeleteObjectVersion",
      "s3:PutBucketPolicy",
      "s3:PutLifecycleConfiguration",
    ]);
    const allowed = policy.Statement.filter((s: { Effect: string }) => s.Effect === "Allow").flatMap(
      (s: { Resource: string }) => s.Resource,
    );
    expect(allowed).to.include("arn:aws:s3:::acme-dx-backups/dx-prod/portal-1/*");
    expect(JSON.stringify(allowed)).to.not.include("portal-2");
  });

  it("keeps the hosts' credentials secret", () => {
    expect(environmentIsSecret).to.equal(true);
  });

  it("hostCredentialPolicy lets portal-1 list only its own prefix, not portal-10's", () => {
    const doc = hostCredentialPolicy({ bucketArn: "arn:aws:s3:::b", prefix: "dx-prod/portal-1", kmsKeyArn: "k" });
    const list = doc.Statement.find((s) => s.Sid === "ListOwnPrefix");
    const allowed = (list?.Condition as { StringLike: Record<string, string[]> }).StringLike["s3:prefix"];
    // IAM's StringLike: '*' matches any run of characters; nothing else is a wildcard.
    const matches = (value: string) =>
      allowed.some((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(value));
    expect(matches("dx-prod/portal-1/")).to.equal(true);
    expect(matches("dx-prod/portal-1/snapshots/")).to.equal(true);
    expect(matches("dx-prod/portal-1")).to.equal(false);
    expect(matches("dx-prod/portal-10/")).to.equal(false);
    expect(matches("dx-prod/portal-1*")).to.equal(false);
  });

  it("hostCredentialPolicy never grants a version delete, whatever the prefix", () => {
    const doc = hostCredentialPolicy({ bucketArn: "arn:aws:s3:::b", prefix: "h", kmsKeyArn: "k" });
    const allowed = doc.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => [s.Action].flat());
    expect(allowed).to.not.include("s3:DeleteObjectVersion");
    expect(allowed.some((a) => String(a).includes("*"))).to.equal(false);
  });
});

function secretsFor(c: Record<string, unknown>): Record<string, string> {
  const { s3AccessKeyId, s3SecretAccessKey, ...rest } = DEFAULT_SECRETS;
  return "s3Compatible" in (c.storage as object) ? { ...rest, s3AccessKeyId, s3SecretAccessKey } : rest;
}

describe("BackupPolicy (mocks)", () => {
  async function record(configs: Array<Record<string, unknown>>) {
    return recordResources(
      () =>
        configs.map((c) => {
          // Only the secrets this policy names: a stray secret key is a config error.
          const policy = loadPolicy(stackConfig(c, secretsFor(c)));
          const secrets = Object.fromEntries(Object.entries(DEFAULT_SECRETS).map(([k, v]) => [k, pulumi.secret(v)]));
          return new BackupPolicy(policy.name, { policy, secrets }).repositories;
        }),
      { stack: "test" },
    );
  }

  it("installs the agent on each host with one AgentInstall: installer, uninstaller, secret bundle and key, pinned host key", async () => {
    const c = validConfig();
    (c.hosts as unknown[]).push({
      name: "portal-2",
      address: "10.0.0.12",
      ssh: { user: "dxbackup", hostKey: SAMPLE_HOST_KEY },
    });
    const { resources } = await record([c]);
    const installs = resources.filter((r) => r.type === AGENT_INSTALL_TYPE);
    expect(installs.map((r) => r.name)).to.deep.equal(["dx-test-portal-1-install", "dx-test-portal-2-install"]);
    const [one, two] = installs.map((r) => r.inputs);
    expect(one.install).to.match(/^bash -c '#!\/usr\/bin\/env bash\nPOLICY='\\''dx-test'\\''/);
    expect(two.install).to.match(/^sudo -n bash -c /);
    expect(one.uninstall).to.match(/dx-backup uninstall/);
    expect(one.bundle).to.equal(SECRET_MASK);
    expect(one.privateKey).to.equal(SECRET_MASK);
    expect(one.connection).to.deep.equal({ host: "10.0.0.11", port: 22, user: "root" });
    expect(two.connection).to.deep.equal({ host: "10.0.0.12", port: 22, user: "dxbackup", hostKey: SAMPLE_HOST_KEY });
    expect(one.configDigest).to.match(/^[0-9a-f]{64}$/);
    expect(one.decommissioned).to.equal(false);
    // The serialized provider is the engine's: it is not part of what the plan records.
    expect(one).to.not.have.property("__provider");
    expect(resources.find((r) => r.name === "dx-test-portal-1")?.type).to.equal("dxbackup:hosts:PortalHostBackup");
  });

  it("never lets a secret value reach a recorded input or a command line", async () => {
    const c = validConfig();
    (c.hosts as unknown[]).push({ name: "web-1", address: "10.0.0.21", role: "webServer" });
    const { resources } = await record([c]);
    const everything = JSON.stringify(resources);
    for (const value of Object.values(DEFAULT_SECRETS)) expect(everything).to.not.include(value.trim());
  });

  it("two policies side by side share no resource name and no host path", async () => {
    const a = { ...validConfig(), environment: "staging" };
    const b = {
      ...validConfig(),
      environment: "prod",
      storage: { s3: { region: "eu-central-1" } },
      hosts: [{ name: "portal-1", address: "10.0.0.11", ssh: { hostKey: SAMPLE_HOST_KEY } }],
    };
    const { resources, result } = await record([a, b]);
    const names = resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(names).size).to.equal(names.length);
    const installs = resources.filter((r) => r.type === AGENT_INSTALL_TYPE);
    expect(installs[0].inputs.install).to.include("/etc/dxbackup/dx-staging").and.not.include("/etc/dxbackup/dx-prod'");
    expect(installs[1].inputs.install).to.include("/etc/dxbackup/dx-prod").and.not.include("dx-staging");
    expect(result[0]).to.deep.equal({ "portal-1": "s3:https://s3.example.com/dx-backups/dx-staging/portal-1" });
    expect(result[1]).to.deep.equal({
      "portal-1": "s3:https://s3.eu-central-1.amazonaws.com/dx-prod-store-bucket/dx-prod/portal-1",
    });
  });
});

describe("SystemBackup: AWS Backup for EC2-hosted Portal hosts (mocks)", () => {
  it("creates the vault, lock, plan, selection, copy, notifications and restore testing with exact inputs (golden)", async () => {
    const { resources } = await recordResources(
      () =>
        new SystemBackup("dx-prod-system", {
          policyName: "dx-prod",
          aws: systemAws({
            vaultLock: { minRetentionDays: 7, maxRetentionDays: 400 },
            restoreTesting: { cron: "0 6 * * 0", timezone: "Europe/Berlin" },
          }),
        }),
      { stack: "prod" },
    );
    const children = resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    expectGolden("system-backup.json", `${JSON.stringify(children, null, 2)}\n`);
    const plan = byName(children, "dx-prod-system-plan").inputs.rules as Array<Record<string, unknown>>;
    expect(plan[0]).to.deep.include({
      schedule: "cron(0 23 * * ? *)",
      scheduleExpressionTimezone: "Europe/Berlin",
      startWindow: 60,
      completionWindow: 480,
      lifecycle: { coldStorageAfter: 30, deleteAfter: 365 },
    });
    expect((plan[0].copyActions as Array<Record<string, unknown>>)[0].destinationVaultArn).to.match(
      /backup-vault:dx-prod-system-dr-vault$/,
    );
    expect(byName(children, "dx-prod-system-vault-lock").inputs).to.deep.include({
      minRetentionDays: 7,
      maxRetentionDays: 400,
    });
    expect(byName(children, "dx-prod-system-selection").inputs.selectionTags).to.deep.equal([
      { type: "STRINGEQUALS", key: "dxbackup:policy", value: "dx-prod" },
    ]);
    expect(byName(children, "dx-prod-system-notifications").inputs.backupVaultEvents).to.include(
      "BACKUP_JOB_COMPLETED",
    );
    expect(byName(children, "dx-prod-system-restore-testing").inputs).to.deep.include({
      name: "dx_prod_restore_testing",
      scheduleExpression: "cron(0 6 ? * SUN *)",
    });
  });
});

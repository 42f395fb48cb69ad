import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { recordResources, type PlannedResource } from "../../cli/plan/evaluate";
import { BackupPolicy } from "../../components/backupPolicy";
import { loadPolicy } from "../../components/policy/load";
import type { Storage } from "../../components/policy/types";
import { resourceNamed, s3Storage } from "../support/planned";
import { BackupStore } from "../../components/storage/backupStore";
import { SystemBackup } from "../../components/system/systemBackup";
import { DEFAULT_SECRETS, SAMPLE_HOST_KEY, stackConfig, systemAws } from "../support/config";

/**
 * The AWS resources on their second `pulumi up` and at `pulumi destroy`, as
 * the engine will see them: inputs and the options the engine acts on
 * (protect, retainOnDelete, dependsOn), recorded under mocks.
 */
const KEY = (name: string) => `arn:aws:kms:eu-central-1:123456789012:key/${name}`;

const s3 = s3Storage;
const find = resourceNamed;
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: string | string[] };
const statements = (r: PlannedResource) =>
  (JSON.parse(r.inputs.policy as string) as { Statement: Statement[] }).Statement;
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
/** The keys a policy lets its holder use for `action`. */
const keysFor = (r: PlannedResource, action: string) =>
  statements(r)
    .filter((s) => s.Effect === "Allow" && list(s.Action).includes(action))
    .flatMap((s) => list(s.Resource))
    .sort();

async function store(storage: Storage, children?: ConstructorParameters<typeof BackupStore>[1]["children"]) {
  return recordResources(
    () => {
      const st = new BackupStore("dx-prod-store", {
        storage,
        policyName: "dx-prod",
        hostNames: ["portal-1"],
        children,
      });
      return {
        bucketIsBucket: st.bucket instanceof aws.s3.Bucket,
        keyIsKey: st.key instanceof aws.kms.Key,
        userIsUser: st.hostCredentials?.["portal-1"]?.user instanceof aws.iam.User,
        roleIsRole: st.replicationRole instanceof aws.iam.Role,
        bucketUrn: st.bucket?.urn,
        replicaKeyArn: st.replicaKey?.arn,
      };
    },
    { stack: "prod" },
  );
}

describe("AWS resources that survive day two (mocks)", () => {
  describe("KMS keys outlive the data they encrypt", () => {
    it("retains every key and the replication role on delete, and protects the buckets", async () => {
      const { resources } = await store(s3());
      for (const name of ["dx-prod-store-key", "dx-prod-store-replica-key"]) {
        expect(find(resources, name).options, name).to.deep.equal({ retainOnDelete: true });
      }
      for (const name of ["dx-prod-store-replication-role", "dx-prod-store-replication-policy"]) {
        expect(find(resources, name).options, name).to.deep.equal({ retainOnDelete: true });
      }
      for (const name of ["dx-prod-store-bucket", "dx-prod-store-replica-bucket"]) {
        expect(find(resources, name).options, name).to.deep.equal({ protect: true });
      }
    });

    it("keeps the stack's key and the hosts' kms:Decrypt on it when kmsKeyArn names another key", async () => {
      const { resources } = await store(s3({ kmsKeyArn: KEY("acme-2026") }));
      expect(find(resources, "dx-prod-store-key").options).to.deep.equal({ retainOnDelete: true });
      const rules = find(resources, "dx-prod-store-encryption").inputs.rules as Array<Record<string, unknown>>;
      expect(rules[0].applyServerSideEncryptionByDefault).to.deep.equal({
        sseAlgorithm: "aws:kms",
        kmsMasterKeyId: KEY("acme-2026"),
      });
      const policy = find(resources, "dx-prod-store-portal-1-policy");
      expect(keysFor(policy, "kms:GenerateDataKey")).to.deep.equal([KEY("acme-2026")]);
      expect(keysFor(policy, "kms:Decrypt")).to.deep.equal([KEY("acme-2026"), KEY("dx-prod-store-key")]);
      // Replication reads the source objects, old ones included.
      expect(keysFor(find(resources, "dx-prod-store-replication-policy"), "kms:Decrypt")).to.deep.equal([
        KEY("acme-2026"),
        KEY("dx-prod-store-key"),
      ]);
    });

    it("keeps kms:Decrypt on formerKmsKeyArns when one key of yours follows another", async () => {
      const { resources } = await store(s3({ kmsKeyArn: KEY("acme-2026"), formerKmsKeyArns: [KEY("acme-2025")] }));
      const policy = find(resources, "dx-prod-store-portal-1-policy");
      expect(keysFor(policy, "kms:Encrypt")).to.deep.equal([KEY("acme-2026")]);
      expect(keysFor(policy, "kms:Decrypt")).to.deep.equal([
        KEY("acme-2025"),
        KEY("acme-2026"),
        KEY("dx-prod-store-key"),
      ]);
    });

    const prodWithS3 = (s3: Record<string, unknown>) => ({
      environment: "prod",
      storage: { s3: { region: "eu-central-1", ...s3 } },
      hosts: [{ name: "portal-1", address: "10.0.0.11", ssh: { hostKey: SAMPLE_HOST_KEY } }],
      schedules: [{ name: "nightly", cron: "0 2 * * *", timezone: "Europe/Berlin" }],
      retention: { keepDaily: 40 },
    });
    const { s3AccessKeyId: _a, s3SecretAccessKey: _b, ...secrets } = DEFAULT_SECRETS;
    const load = (s3: Record<string, unknown>) => () => loadPolicy(stackConfig(prodWithS3(s3), secrets));

    it("rejects an alias or a key of another region, naming the key and why", () => {
      expect(load({ formerKmsKeyArns: ["arn:aws:kms:eu-central-1:123456789012:alias/old"] })).to.throw(
        /storage\.s3\.formerKmsKeyArns\[0\]: must be a KMS key ARN \(arn:aws:kms:<region>:<account>:key\/<key id>\), not an alias/,
      );
      expect(load({ kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/abc-1" })).to.throw(
        /storage\.s3\.kmsKeyArn: is a key in eu-west-1: the bucket is in eu-central-1/,
      );
      expect(load({ formerKmsKeyArns: KEY("abc-0") })).to.throw(/storage\.s3\.formerKmsKeyArns: .*write an array/);
      expect(load({ kmsKeyArn: KEY("abc-1"), formerKmsKeyArns: [KEY("abc-0")] })).to.not.throw();
    });
  });

  it("enables object lock through its own configuration, never by replacing the bucket", async () => {
    const { resources } = await store(s3());
    for (const prefix of ["dx-prod-store-", "dx-prod-store-replica-"]) {
      expect(find(resources, `${prefix}bucket`).inputs).to.not.have.property("objectLockEnabled");
      const lock = find(resources, `${prefix}object-lock`);
      expect(lock.inputs).to.deep.include({
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: "COMPLIANCE", days: 35 } },
      });
    }
    // S3 requires versioning first; a locked object cannot replicate into a bucket not yet locked.
    expect(find(resources, "dx-prod-store-replica-object-lock").options?.dependsOn).to.deep.equal([
      "dx-prod-store-replica-versioning",
    ]);
    expect(find(resources, "dx-prod-store-object-lock").options?.dependsOn).to.deep.equal([
      "dx-prod-store-replica-object-lock",
      "dx-prod-store-versioning",
    ]);
    expect(find(resources, "dx-prod-store-replication").options?.dependsOn).to.include(
      "dx-prod-store-replica-object-lock",
    );
  });

  it("keeps a kept bucket's configuration when the stack is destroyed (retained like the bucket)", async () => {
    const { resources } = await store(s3());
    const parts = [
      "versioning",
      "encryption",
      "public-access-block",
      "ownership",
      "lifecycle",
      "tls-only",
      "object-lock",
    ];
    for (const prefix of ["dx-prod-store-", "dx-prod-store-replica-"]) {
      for (const part of parts) {
        expect(find(resources, `${prefix}${part}`).options?.retainOnDelete, `${prefix}${part}`).to.equal(true);
      }
    }
    expect(find(resources, "dx-prod-store-replication").options?.retainOnDelete).to.equal(true);
  });

  it("sees protect as the engine does: a child inherits its component's", async () => {
    const { resources } = await recordResources(
      () =>
        new BackupStore(
          "dx-prod-store",
          { storage: s3(), policyName: "dx-prod", hostNames: ["portal-1"] },
          { protect: true },
        ).bucketName,
      { stack: "prod" },
    );
    expect(find(resources, "dx-prod-store-key").options).to.deep.equal({ protect: true, retainOnDelete: true });
    expect(find(resources, "dx-prod-store-portal-1-user").options).to.deep.equal({ protect: true });
  });

  describe("AWS Backup alerts that arrive", () => {
    let resources: PlannedResource[] = [];
    before(async () => {
      ({ resources } = await recordResources(
        () =>
          new SystemBackup("dx-prod-system", {
            policyName: "dx-prod",
            aws: systemAws(),
          }),
        { stack: "prod" },
      ));
    });

    it("encrypts the topic with a key the stack creates, whose policy lets AWS Backup use it", () => {
      const topic = find(resources, "dx-prod-system-alerts");
      expect(topic.inputs.kmsMasterKeyId).to.equal(KEY("dx-prod-system-alerts-key"));
      const backup = statements(find(resources, "dx-prod-system-alerts-key")).find(
        (s) => (s as unknown as { Principal: { Service?: string } }).Principal.Service === "backup.amazonaws.com",
      );
      expect(backup?.Action).to.deep.equal(["kms:GenerateDataKey*", "kms:Decrypt"]);
    });

    it("subscribes to the events AWS Backup sends, and mails only the failed states", () => {
      const events = find(resources, "dx-prod-system-notifications").inputs.backupVaultEvents as string[];
      expect(events).to.include.members(["BACKUP_JOB_COMPLETED", "RESTORE_JOB_COMPLETED", "COPY_JOB_FAILED"]);
      // Deprecated names: AWS Backup never sends them.
      expect(events).to.not.include.members(["BACKUP_JOB_FAILED"]);
      expect(events).to.not.include("RESTORE_JOB_FAILED");
      const email = find(resources, "dx-prod-system-alerts-email").inputs;
      expect(email.filterPolicyScope).to.equal("MessageAttributes");
      // Every state but success, and a message without a State (one mail too many beats a lost failure).
      expect(JSON.parse(email.filterPolicy as string)).to.deep.equal({
        $or: [{ State: [{ "anything-but": ["COMPLETED"] }] }, { State: [{ exists: false }] }],
      });
    });

    it("lets only this account's vaults publish (aws:SourceAccount, aws:SourceArn)", () => {
      const [publish] = statements(find(resources, "dx-prod-system-alerts-policy")) as Array<
        Statement & { Condition: unknown }
      >;
      expect(publish.Condition).to.deep.equal({
        StringEqualsIfExists: { "aws:SourceAccount": "123456789012" },
        ArnLikeIfExists: { "aws:SourceArn": "arn:aws:backup:eu-central-1:123456789012:backup-vault:*" },
      });
      // Replaced on any change (it has no update), and old and new share the vault's id: the old
      // one goes first, or its delete would clear the new settings.
      expect(find(resources, "dx-prod-system-notifications").options).to.deep.equal({
        deleteBeforeReplace: true,
        dependsOn: ["dx-prod-system-alerts-policy"],
      });
    });

    it("retains the vault keys and protects the vaults", () => {
      for (const name of ["dx-prod-system-vault-key", "dx-prod-system-dr-vault-key"]) {
        expect(find(resources, name).options, name).to.deep.equal({ retainOnDelete: true });
      }
      for (const name of ["dx-prod-system-vault", "dx-prod-system-dr-vault"]) {
        expect(find(resources, name).options, name).to.deep.equal({ protect: true });
      }
    });
  });

  it("installs a host's agent only after its IAM policy, its key, the bucket policy and the default encryption", async () => {
    const config = {
      environment: "prod",
      storage: { s3: { region: "eu-central-1" } },
      hosts: [{ name: "portal-1", address: "10.0.0.11", ssh: { hostKey: SAMPLE_HOST_KEY } }],
      schedules: [
        { name: "nightly", cron: "0 2 * * *", timezone: "Europe/Berlin" },
        { name: "drill", kind: "drill", cron: "0 6 * * 0", timezone: "Europe/Berlin" },
      ],
      retention: { keepDaily: 40 },
    };
    const { s3AccessKeyId: _a, s3SecretAccessKey: _b, ...secrets } = DEFAULT_SECRETS;
    const { resources, result } = await recordResources(
      () => {
        const policy = loadPolicy(stackConfig(config, secrets));
        return new BackupPolicy("dx-prod", {
          policy,
          secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, pulumi.secret(v)])),
        }).keyArns;
      },
      { stack: "prod" },
    );
    expect(find(resources, "dx-prod-portal-1-install").options?.dependsOn).to.deep.equal([
      "dx-prod-store-encryption",
      "dx-prod-store-portal-1-access-key",
      "dx-prod-store-portal-1-policy",
      "dx-prod-store-tls-only",
    ]);
    // The ARNs an administrator needs after a destroy (the keys stay) or for formerKmsKeyArns.
    expect(result).to.deep.equal({ "dx-prod-store-key": KEY("dx-prod-store-key") });
  });

  describe("components users can extend", () => {
    it("exposes the bucket, keys, role and host users as typed resources", async () => {
      const { result } = await store(s3());
      expect(result).to.deep.include({ bucketIsBucket: true, keyIsKey: true, userIsUser: true, roleIsRole: true });
      expect(result.bucketUrn).to.match(/::dx-prod-store-bucket$/);
      expect(result.replicaKeyArn).to.equal("arn:aws:kms:eu-west-1:123456789012:key/dx-prod-store-replica-key");
    });

    it("takes tags and resource options per child: the user's win over the defaults, dependsOn adds up", async () => {
      const { resources } = await recordResources(
        () => {
          const marker = new aws.s3.Bucket("audit-marker", {});
          return new BackupStore("dx-prod-store", {
            storage: s3(),
            policyName: "dx-prod",
            hostNames: ["portal-1"],
            tags: { team: "dx" },
            children: {
              bucket: { tags: { costCentre: "4711" }, opts: { retainOnDelete: true } },
              key: { opts: { protect: true } },
              replicaBucket: { opts: { protect: false } },
              hostCredentials: { tags: { owner: "ops" }, opts: { dependsOn: [marker] } },
            },
          }).bucketName;
        },
        { stack: "prod" },
      );
      expect(find(resources, "dx-prod-store-bucket").inputs.tags).to.deep.equal({ team: "dx", costCentre: "4711" });
      expect(find(resources, "dx-prod-store-bucket").options).to.deep.equal({ protect: true, retainOnDelete: true });
      expect(find(resources, "dx-prod-store-key").options).to.deep.equal({ protect: true, retainOnDelete: true });
      expect(find(resources, "dx-prod-store-replica-bucket").options).to.equal(undefined);
      expect(find(resources, "dx-prod-store-portal-1-user").inputs.tags).to.deep.equal({ team: "dx", owner: "ops" });
      expect(find(resources, "dx-prod-store-portal-1-access-key").options).to.deep.equal({
        dependsOn: ["audit-marker"],
      });
    });

    it("hands a provider to the child it is given to, and only to that one", async () => {
      const { resources } = await recordResources(
        () => {
          const dr = new aws.Provider("dr-account", { region: "eu-west-1" });
          return new SystemBackup("dx-prod-system", {
            policyName: "dx-prod",
            aws: systemAws({ notifyEmail: undefined }),
            children: { drVault: { opts: { provider: dr } }, drVaultKey: { opts: { provider: dr } } },
          }).vaultName;
        },
        { stack: "prod" },
      );
      expect(find(resources, "dx-prod-system-dr-vault").options).to.deep.equal({
        protect: true,
        provider: "dr-account",
      });
      expect(find(resources, "dx-prod-system-dr-vault-key").options?.provider).to.equal("dr-account");
      expect(find(resources, "dx-prod-system-vault").options).to.deep.equal({ protect: true });
    });

    it("a bucket's provider manages its configuration too, not the other bucket's", async () => {
      const { resources } = await recordResources(
        () => {
          const other = new aws.Provider("backup-account", { region: "eu-central-1" });
          return new BackupStore("dx-prod-store", {
            storage: s3(),
            policyName: "dx-prod",
            hostNames: ["portal-1"],
            children: { bucket: { opts: { provider: other } } },
          }).bucketName;
        },
        { stack: "prod" },
      );
      for (const part of ["bucket", "versioning", "encryption", "tls-only", "lifecycle", "object-lock"]) {
        expect(find(resources, `dx-prod-store-${part}`).options?.provider, part).to.equal("backup-account");
      }
      expect(find(resources, "dx-prod-store-replica-bucket").options?.provider).to.equal(undefined);
      expect(find(resources, "dx-prod-store-replica-versioning").options?.provider).to.equal(undefined);
    });
  });
});

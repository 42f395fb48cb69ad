import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { S3Storage } from "../policy/schema";
import type { Storage } from "../policy/types";
import { hostCredentialPolicy, replicationRolePolicy, s3AssumeRolePolicy, tlsOnlyBucketPolicy } from "./documents";
import { repositoryPrefix, repositoryUrl } from "./repository";

export interface BackupStoreArgs {
  /** Where the repositories live (validated policy storage). */
  storage: Storage;
  /** The policy's name: repositories live under `<policy>/<host>`. */
  policyName: string;
  /** Names of the hosts that get a repository (and, on AWS, their own credentials). */
  hostNames: string[];
  /** Names a host had before, by its current name: its credentials keep their identity (aliases). */
  formerHostNames?: Record<string, string[]>;
  /** Credentials for an existing S3-compatible endpoint (secrets). */
  s3Credentials?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
  /** Tags for every AWS resource. */
  tags?: Record<string, string>;
}

/** What one host needs to reach its repository. */
export interface HostStorageAccess {
  /** restic repository URL. */
  repositoryUrl: pulumi.Output<string>;
  /** Environment variables restic needs (credentials); always a secret. */
  environment: pulumi.Output<Record<string, string>>;
}

/**
 * The home of the restic repositories. For AWS it creates a hardened bucket
 * (versioned, KMS-encrypted, private, TLS-only, lifecycle-managed, optionally
 * object-locked and replicated to a second region) and one IAM user per host
 * limited to that host's prefix. Other kinds need no resources: the
 * component only hands each host its repository URL and credentials.
 */
export class BackupStore extends pulumi.ComponentResource {
  /** Per host name: repository URL and credentials. */
  readonly hosts: Record<string, HostStorageAccess>;
  readonly bucketName?: pulumi.Output<string>;
  readonly bucketArn?: pulumi.Output<string>;
  readonly replicaBucketName?: pulumi.Output<string>;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dxbackup:storage:BackupStore", name, {}, opts);
    const { storage } = args;
    this.hosts = {};

    if (storage.kind === "s3") {
      const tags = args.tags ?? {};
      const primary = hardenedBucket(this, name, "", storage.s3, storage.s3.region, tags);
      this.bucketName = primary.bucket.bucket;
      this.bucketArn = primary.bucket.arn;
      if (storage.s3.replication) {
        const replica = hardenedBucket(this, name, "replica-", storage.s3, storage.s3.replication.region, tags);
        this.replicaBucketName = replica.bucket.bucket;
        replicate(this, name, storage.s3.region, primary, replica, storage.s3.replication.storageClass, tags);
      }
      for (const host of args.hostNames) {
        // A renamed host keeps its IAM user, policy and key: the policy's prefix is updated in place.
        const renamed = (role: string): pulumi.CustomResourceOptions => ({
          parent: this,
          aliases: (args.formerHostNames?.[host] ?? []).map((former) => ({ name: `${name}-${former}-${role}` })),
        });
        const user = new aws.iam.User(`${name}-${host}-user`, { path: "/dxbackup/", tags }, renamed("user"));
        new aws.iam.UserPolicy(
          `${name}-${host}-policy`,
          {
            user: user.name,
            policy: pulumi
              .all([primary.bucket.arn, primary.keyArn])
              .apply(([bucketArn, kmsKeyArn]) =>
                JSON.stringify(
                  hostCredentialPolicy({ bucketArn, prefix: repositoryPrefix(args.policyName, host), kmsKeyArn }),
                ),
              ),
          },
          renamed("policy"),
        );
        const key = new aws.iam.AccessKey(`${name}-${host}-access-key`, { user: user.name }, renamed("access-key"));
        this.hosts[host] = {
          repositoryUrl: primary.bucket.bucket.apply((b) => repositoryUrl(storage, args.policyName, host, b)),
          environment: s3Environment(key.id, key.secret),
        };
      }
    } else {
      const credentials = args.s3Credentials;
      if (storage.kind === "s3Compatible" && !credentials) {
        throw new Error("BackupStore: s3Compatible storage needs s3Credentials");
      }
      for (const host of args.hostNames) {
        this.hosts[host] = {
          repositoryUrl: pulumi.output(repositoryUrl(storage, args.policyName, host)),
          environment: credentials
            ? s3Environment(credentials.accessKeyId, credentials.secretAccessKey)
            : pulumi.secret(pulumi.output<Record<string, string>>({})),
        };
      }
    }

    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      replicaBucketName: this.replicaBucketName,
    });
  }
}

/** restic's S3 credentials as environment variables, kept secret. */
function s3Environment(id: pulumi.Input<string>, secret: pulumi.Input<string>): pulumi.Output<Record<string, string>> {
  return pulumi.secret(
    pulumi.all([id, secret]).apply(([AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]): Record<string, string> => ({
      AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY,
    })),
  );
}

interface HardenedBucket {
  bucket: aws.s3.Bucket;
  keyArn: pulumi.Output<string>;
  versioning: aws.s3.BucketVersioning;
}

/**
 * A bucket with everything a backup bucket must have. `role` ("" or
 * "replica-") keeps the child names of the primary and the replica apart.
 */
function hardenedBucket(
  parent: pulumi.Resource,
  name: string,
  role: string,
  s3: S3Storage,
  region: string,
  tags: Record<string, string>,
): HardenedBucket {
  const opts = { parent };
  const prefix = `${name}-${role}`;
  const keyArn =
    s3.kmsKeyArn && role === ""
      ? pulumi.output(s3.kmsKeyArn)
      : new aws.kms.Key(
          `${prefix}key`,
          {
            region,
            description: `dx-backup ${role ? "replica " : ""}repository encryption (${name})`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
          },
          opts,
        ).arn;
  const bucket = new aws.s3.Bucket(
    `${prefix}bucket`,
    {
      region,
      bucket: s3.bucketName && role === "" ? s3.bucketName : undefined,
      objectLockEnabled: s3.objectLock ? true : undefined,
      // Never let `pulumi destroy` delete backups together with the bucket.
      forceDestroy: false,
      tags,
    },
    { ...opts, protect: true },
  );
  const versioning = new aws.s3.BucketVersioning(
    `${prefix}versioning`,
    { region, bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    opts,
  );
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${prefix}encryption`,
    {
      region,
      bucket: bucket.id,
      rules: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
          bucketKeyEnabled: true,
        },
      ],
    },
    opts,
  );
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${prefix}public-access-block`,
    {
      region,
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketOwnershipControls(
    `${prefix}ownership`,
    { region, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  new aws.s3.BucketLifecycleConfiguration(
    `${prefix}lifecycle`,
    {
      region,
      bucket: bucket.id,
      rules: [
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: s3.abortIncompleteUploadDays },
        },
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: {},
          noncurrentVersionExpiration: { noncurrentDays: s3.noncurrentVersionDays },
        },
      ],
    },
    { ...opts, dependsOn: [versioning] },
  );
  new aws.s3.BucketPolicy(
    `${prefix}tls-only`,
    { region, bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
    { ...opts, dependsOn: [publicAccess] },
  );
  if (s3.objectLock) {
    new aws.s3.BucketObjectLockConfiguration(
      `${prefix}object-lock`,
      {
        region,
        bucket: bucket.id,
        rule: { defaultRetention: { mode: s3.objectLock.mode, days: s3.objectLock.days } },
      },
      { ...opts, dependsOn: [versioning] },
    );
  }
  return { bucket, keyArn, versioning };
}

/** Replicates every object version, delete markers included, into the replica bucket. */
function replicate(
  parent: pulumi.Resource,
  name: string,
  region: string,
  primary: HardenedBucket,
  replica: HardenedBucket,
  storageClass: string,
  tags: Record<string, string>,
): void {
  const opts = { parent };
  const role = new aws.iam.Role(
    `${name}-replication-role`,
    { assumeRolePolicy: JSON.stringify(s3AssumeRolePolicy()), tags },
    opts,
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-replication-policy`,
    {
      role: role.id,
      policy: pulumi
        .all([primary.bucket.arn, replica.bucket.arn, primary.keyArn, replica.keyArn])
        .apply(([sourceBucketArn, replicaBucketArn, sourceKeyArn, replicaKeyArn]) =>
          JSON.stringify(replicationRolePolicy({ sourceBucketArn, replicaBucketArn, sourceKeyArn, replicaKeyArn })),
        ),
    },
    opts,
  );
  new aws.s3.BucketReplicationConfig(
    `${name}-replication`,
    {
      region,
      bucket: primary.bucket.id,
      role: role.arn,
      rules: [
        {
          id: "replicate-everything",
          status: "Enabled",
          filter: {},
          deleteMarkerReplication: { status: "Enabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: {
            bucket: replica.bucket.arn,
            storageClass,
            encryptionConfiguration: { replicaKmsKeyId: replica.keyArn },
          },
        },
      ],
    },
    { ...opts, dependsOn: [primary.versioning, replica.versioning, rolePolicy] },
  );
}

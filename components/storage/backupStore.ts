import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, childTags, companionOptions, type ChildOptions } from "../childOptions";
import type { S3Storage } from "../policy/schema";
import type { Storage } from "../policy/types";
import { hostCredentialPolicy, replicationRolePolicy, s3AssumeRolePolicy, tlsOnlyBucketPolicy } from "./documents";
import { renderHtpasswd } from "./htpasswd";
import { repositoryPrefix, repositoryUrl } from "./repository";
import { hostRestPassword, restUser } from "../../shared/hostKeys";

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
  /** The secret each host's rest-server password is derived from (`rest` storage). */
  restPassword?: pulumi.Input<string>;
  /** Tags for every AWS resource. */
  tags?: Record<string, string>;
  /** Tags and resource options per child (AWS storage only). */
  children?: BackupStoreChildren;
}

/**
 * Per-child tags and resource options. The defaults protect the buckets and
 * retain the keys and the replication role: a `pulumi destroy` (even with
 * `--exclude-protected`) never takes what the backups need to be read.
 */
export interface BackupStoreChildren {
  /** The primary bucket (default: protected). */
  bucket?: ChildOptions;
  /** The stack's own KMS key of the primary bucket (default: retained on delete). */
  key?: ChildOptions;
  /** The replica bucket in the second region (default: protected). */
  replicaBucket?: ChildOptions;
  /** The replica bucket's KMS key (default: retained on delete). */
  replicaKey?: ChildOptions;
  /** The role S3 replicates with, and its policy (default: retained on delete). */
  replicationRole?: ChildOptions;
  /** Each host's IAM user, user policy and access key. */
  hostCredentials?: ChildOptions;
}

/** One host's AWS identity: limited to its own prefix of the bucket. */
export interface HostCredentials {
  /** The host's IAM user (path `/dxbackup/`). */
  user: aws.iam.User;
  /** Its inline policy: its own prefix, the bucket's keys, never a version delete. */
  policy: aws.iam.UserPolicy;
  /** The access key the host's restic uses (its secret is a Pulumi secret). */
  accessKey: aws.iam.AccessKey;
}

/** What one host needs to reach its repository. */
export interface HostStorageAccess {
  /** restic repository URL. */
  repositoryUrl: pulumi.Output<string>;
  /** Environment variables restic needs (credentials); always a secret. */
  environment: pulumi.Output<Record<string, string>>;
  /**
   * What must exist before the host's first backup: its IAM policy and key,
   * the bucket's policy, default encryption and object lock. An install
   * depends on them, so it starts after AWS accepted them (IAM then
   * propagates within seconds, before the first scheduled run) and no object
   * is written before KMS and the lock are the bucket's defaults.
   */
  dependsOn?: pulumi.Resource[];
}

/**
 * The home of the restic repositories. For AWS it creates a hardened bucket
 * (versioned, KMS-encrypted, private, TLS-only, lifecycle-managed, optionally
 * object-locked and replicated to a second region) and one IAM user per host
 * limited to that host's prefix. For a rest-server, each host gets a user of
 * its own and the component renders the server's htpasswd file. Other kinds
 * need no resources: the component only hands each host its repository URL
 * and the one set of credentials the storage has.
 */
export class BackupStore extends pulumi.ComponentResource {
  /** Per host name: repository URL and credentials. */
  readonly hosts: Record<string, HostStorageAccess>;
  /** The primary bucket (AWS). */
  readonly bucket?: aws.s3.Bucket;
  /** The stack's own key of the primary bucket (AWS), kept even when `kmsKeyArn` names another. */
  readonly key?: aws.kms.Key;
  /** The replica bucket in the second region (AWS, with replication). */
  readonly replicaBucket?: aws.s3.Bucket;
  /** The replica bucket's key. */
  readonly replicaKey?: aws.kms.Key;
  /** The role S3 replicates with. */
  readonly replicationRole?: aws.iam.Role;
  /** Per host name: its IAM user, policy and access key (AWS). */
  readonly hostCredentials: Record<string, HostCredentials>;
  readonly bucketName?: pulumi.Output<string>;
  readonly bucketArn?: pulumi.Output<string>;
  readonly replicaBucketName?: pulumi.Output<string>;
  /** The rest-server's htpasswd file, one user per host (`rest` storage; secret). */
  readonly restHtpasswd?: pulumi.Output<string>;
  /** The ARNs of the keys this component created, by resource name (empty for other kinds). */
  readonly keyArns: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dxbackup:storage:BackupStore", name, {}, opts);
    const { storage } = args;
    const children = args.children ?? {};
    this.hosts = {};
    this.hostCredentials = {};

    if (storage.kind === "s3") {
      const tags = args.tags ?? {};
      const s3 = storage.s3;
      // The replica first: the primary's object lock waits for the replica's.
      const replica = s3.replication
        ? hardenedBucket(this, `${name}-replica-`, s3, s3.replication.region, tags, {
            bucket: children.replicaBucket,
            key: children.replicaKey,
            description: `dx-backup replica repository encryption (${name})`,
          })
        : undefined;
      const primary = hardenedBucket(this, `${name}-`, s3, s3.region, tags, {
        bucket: children.bucket,
        key: children.key,
        bucketName: s3.bucketName,
        description: `dx-backup repository encryption (${name})`,
        encryptionKeyArn: s3.kmsKeyArn,
        lockAfter: replica?.lock ? [replica.lock] : [],
      });
      this.bucket = primary.bucket;
      this.key = primary.key;
      this.bucketName = primary.bucket.bucket;
      this.bucketArn = primary.bucket.arn;
      // New objects use your key when you name one; everything written before keeps its key.
      const currentKey = primary.encryptionKeyArn;
      const readableKeys = pulumi.all([primary.key.arn, ...s3.formerKmsKeyArns]);
      if (s3.replication && replica) {
        this.replicaBucket = replica.bucket;
        this.replicaKey = replica.key;
        this.replicaBucketName = replica.bucket.bucket;
        this.replicationRole = replicate(this, name, {
          region: s3.region,
          primary,
          sourceKeyArns: pulumi.all([currentKey, readableKeys]).apply(([c, r]) => [c, ...r]),
          replica,
          storageClass: s3.replication.storageClass,
          tags,
          child: children.replicationRole,
        });
      }
      for (const host of args.hostNames) {
        // A renamed host keeps its IAM user, policy and key: the policy's prefix is updated in place.
        const renamed = (role: string): pulumi.CustomResourceOptions =>
          childOptions(
            this,
            { aliases: (args.formerHostNames?.[host] ?? []).map((former) => ({ name: `${name}-${former}-${role}` })) },
            children.hostCredentials,
          );
        const userTags = childTags(tags, children.hostCredentials);
        const user = new aws.iam.User(`${name}-${host}-user`, { path: "/dxbackup/", tags: userTags }, renamed("user"));
        const policy = new aws.iam.UserPolicy(
          `${name}-${host}-policy`,
          {
            user: user.name,
            policy: pulumi
              .all([primary.bucket.arn, currentKey, readableKeys])
              .apply(([bucketArn, kmsKeyArn, formerKmsKeyArns]) =>
                JSON.stringify(
                  hostCredentialPolicy({
                    bucketArn,
                    prefix: repositoryPrefix(args.policyName, host),
                    kmsKeyArn,
                    formerKmsKeyArns,
                  }),
                ),
              ),
          },
          renamed("policy"),
        );
        const accessKey = new aws.iam.AccessKey(
          `${name}-${host}-access-key`,
          { user: user.name },
          renamed("access-key"),
        );
        this.hostCredentials[host] = { user, policy, accessKey };
        this.hosts[host] = {
          repositoryUrl: primary.bucket.bucket.apply((b) => repositoryUrl(storage, args.policyName, host, b)),
          environment: s3Environment(accessKey.id, accessKey.secret),
          dependsOn: [policy, accessKey, primary.policy, primary.encryption, ...(primary.lock ? [primary.lock] : [])],
        };
      }
    } else if (storage.kind === "rest") {
      // Each host its own rest-server user and password: with --private-repos no host reaches
      // another's repository, and with --append-only none deletes a snapshot, not even its own.
      const secret = args.restPassword;
      if (secret === undefined) throw new Error("BackupStore: rest storage needs restPassword");
      for (const host of args.hostNames) {
        this.hosts[host] = {
          repositoryUrl: pulumi.output(repositoryUrl(storage, args.policyName, host)),
          environment: pulumi.secret(
            pulumi.output(secret).apply((s): Record<string, string> => ({
              RESTIC_REST_USERNAME: restUser(args.policyName, host),
              RESTIC_REST_PASSWORD: hostRestPassword(s, args.policyName, host),
            })),
          ),
          dependsOn: [],
        };
      }
      this.restHtpasswd = pulumi.secret(
        pulumi.output(secret).apply((s) => renderHtpasswd(s, args.policyName, args.hostNames)),
      );
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
          dependsOn: [],
        };
      }
    }

    this.keyArns = pulumi.all({
      ...(this.key ? { [`${name}-key`]: this.key.arn } : {}),
      ...(this.replicaKey ? { [`${name}-replica-key`]: this.replicaKey.arn } : {}),
    });
    this.registerOutputs({
      keyArns: this.keyArns,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      replicaBucketName: this.replicaBucketName,
      restHtpasswd: this.restHtpasswd,
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
  key: aws.kms.Key;
  versioning: aws.s3.BucketVersioning;
  policy: aws.s3.BucketPolicy;
  /** The default encryption: the key new objects are written with. */
  encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  /** The ARN of that key. */
  encryptionKeyArn: pulumi.Output<string>;
  /** The object lock, when the policy declares one. */
  lock?: aws.s3.BucketObjectLockConfiguration;
}

/**
 * A bucket with everything a backup bucket must have, and its own KMS key.
 * `prefix` (`<name>-` or `<name>-replica-`) keeps the child names of the
 * primary and the replica apart; they are the names stacks have in state.
 */
function hardenedBucket(
  parent: pulumi.Resource,
  prefix: string,
  s3: S3Storage,
  region: string,
  tags: Record<string, string>,
  own: {
    bucket?: ChildOptions;
    key?: ChildOptions;
    bucketName?: string;
    description: string;
    /** A key of the user's for new objects; the bucket's own key otherwise. */
    encryptionKeyArn?: string;
    /** What the object lock must wait for (the replica's lock: a locked object cannot replicate to an unlocked bucket). */
    lockAfter?: pulumi.Resource[];
  },
): HardenedBucket {
  // The bucket's configuration outlives the stack with the bucket: a destroy that keeps the
  // (protected) bucket must not strip its encryption default, policy or lifecycle, nor try to
  // suspend versioning (which S3 refuses on a locked bucket, failing the destroy).
  const config = (dependsOn?: pulumi.Resource[]) =>
    companionOptions(parent, own.bucket, { retainOnDelete: true, dependsOn });
  // Retained: every pack file ever written is encrypted with a data key under it, and the data
  // outlives the stack (the bucket is protected). Deleting the key would delete the backups.
  const key = new aws.kms.Key(
    `${prefix}key`,
    {
      region,
      description: own.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      tags: childTags(tags, own.key),
    },
    childOptions(parent, { retainOnDelete: true }, own.key),
  );
  const bucket = new aws.s3.Bucket(
    `${prefix}bucket`,
    {
      region,
      bucket: own.bucketName,
      // Never let `pulumi destroy` delete backups together with the bucket.
      forceDestroy: false,
      tags: childTags(tags, own.bucket),
    },
    // Object lock is enabled by its configuration below, never by `objectLockEnabled` here: that
    // input forces a replacement, which `protect` refuses, so the lock could not be turned on later.
    childOptions(parent, { protect: true }, own.bucket),
  );
  const versioning = new aws.s3.BucketVersioning(
    `${prefix}versioning`,
    { region, bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    config(),
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
    config(),
  );
  new aws.s3.BucketOwnershipControls(
    `${prefix}ownership`,
    { region, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    config(),
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
    config([versioning]),
  );
  const policy = new aws.s3.BucketPolicy(
    `${prefix}tls-only`,
    { region, bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
    config([publicAccess]),
  );
  let lock: aws.s3.BucketObjectLockConfiguration | undefined;
  if (s3.objectLock) {
    // Works on a new and on an existing bucket alike, once versioning is on (S3's own requirement).
    lock = new aws.s3.BucketObjectLockConfiguration(
      `${prefix}object-lock`,
      {
        region,
        bucket: bucket.id,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: s3.objectLock.mode, days: s3.objectLock.days } },
      },
      config([versioning, ...(own.lockAfter ?? [])]),
    );
  }
  const encryptionKeyArn = own.encryptionKeyArn ? pulumi.output(own.encryptionKeyArn) : key.arn;
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
    `${prefix}encryption`,
    {
      region,
      bucket: bucket.id,
      rules: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: encryptionKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    },
    config(),
  );
  return { bucket, key, versioning, policy, encryption, encryptionKeyArn, lock };
}

/**
 * Replicates every object version, delete markers included, into the replica
 * bucket. The role is retained like the buckets: a destroy that keeps them
 * must not leave a replication configuration pointing at a deleted role.
 */
function replicate(
  parent: pulumi.Resource,
  name: string,
  args: {
    region: string;
    primary: HardenedBucket;
    sourceKeyArns: pulumi.Output<string[]>;
    replica: HardenedBucket;
    storageClass: string;
    tags: Record<string, string>;
    child?: ChildOptions;
  },
): aws.iam.Role {
  const { primary, replica } = args;
  const retained = childOptions(parent, { retainOnDelete: true }, args.child);
  const role = new aws.iam.Role(
    `${name}-replication-role`,
    { assumeRolePolicy: JSON.stringify(s3AssumeRolePolicy()), tags: childTags(args.tags, args.child) },
    retained,
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-replication-policy`,
    {
      role: role.id,
      policy: pulumi
        .all([primary.bucket.arn, replica.bucket.arn, args.sourceKeyArns, replica.key.arn])
        .apply(([sourceBucketArn, replicaBucketArn, sourceKeyArns, replicaKeyArn]) =>
          JSON.stringify(replicationRolePolicy({ sourceBucketArn, replicaBucketArn, sourceKeyArns, replicaKeyArn })),
        ),
    },
    retained,
  );
  new aws.s3.BucketReplicationConfig(
    `${name}-replication`,
    {
      region: args.region,
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
            storageClass: args.storageClass,
            encryptionConfiguration: { replicaKmsKeyId: replica.key.arn },
          },
        },
      ],
    },
    // Retained like the buckets; started once the replica accepts what the primary holds (its lock).
    companionOptions(parent, undefined, {
      retainOnDelete: true,
      dependsOn: [primary.versioning, replica.versioning, rolePolicy, ...(replica.lock ? [replica.lock] : [])],
    }),
  );
  return role;
}

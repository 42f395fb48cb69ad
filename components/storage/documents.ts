/**
 * IAM and bucket policy documents, as pure functions of ARNs so they can be
 * golden-tested and read in a review without AWS.
 */

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Array<Record<string, unknown>>;
}

/** Deny every request that does not use TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/**
 * What a host may do: read, write and delete *current* objects under its own
 * prefix (restic needs that for locks, packs and prune), and nothing else.
 * It may never delete object versions or change the bucket, so with
 * versioning on a compromised host cannot destroy history.
 */
export function hostCredentialPolicy(args: {
  bucketArn: string;
  prefix: string;
  /** The key new objects are encrypted with. */
  kmsKeyArn: string;
  /** Keys older objects may still be encrypted with: decrypt only. */
  formerKmsKeyArns?: string[];
}): PolicyDocument {
  const { bucketArn, prefix, kmsKeyArn } = args;
  const former = [...new Set(args.formerKmsKeyArns ?? [])].filter((k) => k !== kmsKeyArn);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListOwnPrefix",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucketArn,
        // Anchored with "/": a bare "dx-prod/portal-1" would also list "dx-prod/portal-10/...".
        // restic lists its directories with the trailing slash.
        Condition: { StringLike: { "s3:prefix": [`${prefix}/`, `${prefix}/*`] } },
      },
      { Sid: "LocateBucket", Effect: "Allow", Action: "s3:GetBucketLocation", Resource: bucketArn },
      {
        Sid: "ReadWriteOwnPrefix",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: `${bucketArn}/${prefix}/*`,
      },
      {
        Sid: "UseBucketKey",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
        Resource: kmsKeyArn,
      },
      // restic reads pack files written years ago: losing decrypt on an old key loses that history.
      ...(former.length
        ? [{ Sid: "ReadObjectsOfFormerKeys", Effect: "Allow", Action: "kms:Decrypt", Resource: former }]
        : []),
      {
        Sid: "NeverDestroyHistoryOrChangeTheBucket",
        Effect: "Deny",
        Action: [
          "s3:DeleteObjectVersion",
          "s3:DeleteBucket",
          "s3:DeleteBucketPolicy",
          "s3:PutBucketPolicy",
          "s3:PutBucketVersioning",
          "s3:PutLifecycleConfiguration",
          "s3:PutEncryptionConfiguration",
          "s3:PutBucketPublicAccessBlock",
          "s3:PutBucketOwnershipControls",
          "s3:PutBucketObjectLockConfiguration",
          "s3:PutReplicationConfiguration",
          "s3:PutObjectRetention",
          "s3:PutObjectLegalHold",
          "s3:BypassGovernanceRetention",
        ],
        Resource: [bucketArn, `${bucketArn}/*`],
      },
    ],
  };
}

/** Lets S3 assume the replication role. */
export function s3AssumeRolePolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}

/** What S3 replication needs: read versions from the source, replicate into the replica, use both keys. */
export function replicationRolePolicy(args: {
  sourceBucketArn: string;
  replicaBucketArn: string;
  /** Every key the source bucket's objects may be encrypted with (current and former). */
  sourceKeyArns: string[];
  replicaKeyArn: string;
}): PolicyDocument {
  const { sourceBucketArn, replicaBucketArn, replicaKeyArn } = args;
  const sourceKeyArns = [...new Set(args.sourceKeyArns)];
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: sourceBucketArn,
      },
      {
        Effect: "Allow",
        Action: [
          "s3:GetObjectVersionForReplication",
          "s3:GetObjectVersionAcl",
          "s3:GetObjectVersionTagging",
          "s3:GetObjectRetention",
          "s3:GetObjectLegalHold",
        ],
        Resource: `${sourceBucketArn}/*`,
      },
      {
        Effect: "Allow",
        Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        Resource: `${replicaBucketArn}/*`,
      },
      {
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: sourceKeyArns.length === 1 ? sourceKeyArns[0] : sourceKeyArns,
      },
      { Effect: "Allow", Action: ["kms:Encrypt", "kms:GenerateDataKey"], Resource: replicaKeyArn },
    ],
  };
}

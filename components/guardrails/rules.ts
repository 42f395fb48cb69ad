import { IIM_MANAGED } from "../policy/targets";
import { simulateRetention, type RetentionOutcome } from "../schedule/retention";
import type { PolicySummary } from "./summary";

/**
 * Organisation rules for backup stacks, over resources as both a Pulumi
 * policy pack (at `pulumi preview`/`up`) and `dxbackup plan` (under mocks)
 * see them: a type, a name and its properties. Pure; the same function
 * serves both, so both report the same violations.
 */
export interface GuardrailResource {
  type: string;
  name: string;
  props: Record<string, unknown>;
}

export interface Violation {
  rule: string;
  resource?: string;
  message: string;
}

export interface GuardrailConfig {
  /** Production stacks keep restore points for at least this many days. */
  minProductionRetentionDays: number;
}

export const DEFAULT_GUARDRAIL_CONFIG: GuardrailConfig = { minProductionRetentionDays: 30 };

const T = {
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  backupPlan: "aws:backup/plan:Plan",
  vaultLock: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
  backupPolicy: "dxbackup:index:BackupPolicy",
};

/** A bucket's companions are named after it: `<prefix>bucket` -> `<prefix>versioning` ... */
function companion(resources: GuardrailResource[], bucket: GuardrailResource, type: string, suffix: string) {
  const prefix = bucket.name.replace(/bucket$/, "");
  return resources.find((r) => r.type === type && r.name === `${prefix}${suffix}`);
}

type Rule = (resources: GuardrailResource[], config: GuardrailConfig) => Violation[];

/** Backup buckets are versioned, KMS-encrypted, private and TLS-only. */
export const bucketHardened: Rule = (resources) => {
  const out: Violation[] = [];
  for (const bucket of resources.filter((r) => r.type === T.bucket)) {
    const v = (message: string) => out.push({ rule: "backup-bucket-hardened", resource: bucket.name, message });
    const versioning = companion(resources, bucket, T.versioning, "versioning");
    if ((versioning?.props.versioningConfiguration as { status?: string } | undefined)?.status !== "Enabled")
      v("is not versioned: a deleted or overwritten backup would be gone");
    const rules = companion(resources, bucket, T.encryption, "encryption")?.props.rules as
      Array<{ applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } }> | undefined;
    if (rules?.[0]?.applyServerSideEncryptionByDefault?.sseAlgorithm !== "aws:kms") v("is not encrypted with KMS");
    const pab = companion(resources, bucket, T.publicAccess, "public-access-block")?.props ?? {};
    if (
      !["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every(
        (k) => pab[k] === true,
      )
    )
      v("does not block all public access");
    const policy = companion(resources, bucket, T.policy, "tls-only")?.props.policy;
    // Unknown during a preview (it depends on the bucket's ARN): checked at `up`.
    if (!policy || (typeof policy === "string" && !/"aws:SecureTransport":\s*"false"/.test(policy)))
      v("does not deny requests without TLS");
  }
  return out;
};

/** Object versions cannot expire before their lock ends, and pruning should not outrun the lock either. */
export const retentionVsImmutability: Rule = (resources) => {
  const out: Violation[] = [];
  let longestLock = 0;
  for (const bucket of resources.filter((r) => r.type === T.bucket)) {
    const days = (
      companion(resources, bucket, T.objectLock, "object-lock")?.props.rule as
        { defaultRetention?: { days?: number } } | undefined
    )?.defaultRetention?.days;
    if (!days) continue;
    longestLock = Math.max(longestLock, days);
    const rules = (companion(resources, bucket, T.lifecycle, "lifecycle")?.props.rules ?? []) as Array<{
      noncurrentVersionExpiration?: { noncurrentDays?: number };
    }>;
    const expiry = rules.find((r) => r.noncurrentVersionExpiration)?.noncurrentVersionExpiration?.noncurrentDays;
    if (expiry !== undefined && expiry < days) {
      out.push({
        rule: "retention-vs-immutability",
        resource: bucket.name,
        message: `noncurrent versions expire after ${expiry} days, before the object lock of ${days} days ends`,
      });
    }
  }
  for (const p of resources.filter((r) => r.type === T.backupPolicy)) {
    const summary = p.props.summary as PolicySummary | undefined;
    if (summary && longestLock && summary.pruneEveryDays < longestLock) {
      out.push({
        rule: "retention-vs-immutability",
        resource: p.name,
        message: `prunes every ${summary.pruneEveryDays} days while object versions are locked for ${longestLock}: a prune cannot free locked data, it only adds delete markers; set agent.pruneEveryDays to ${longestLock} or more`,
      });
    }
  }
  const locks = resources.filter((r) => r.type === T.vaultLock);
  for (const plan of resources.filter((r) => r.type === T.backupPlan)) {
    for (const rule of (plan.props.rules ?? []) as Array<{ lifecycle?: { deleteAfter?: number } }>) {
      for (const lock of locks) {
        const min = lock.props.minRetentionDays as number | undefined;
        const deleteAfter = rule.lifecycle?.deleteAfter;
        if (min !== undefined && deleteAfter !== undefined && deleteAfter < min) {
          out.push({
            rule: "retention-vs-immutability",
            resource: plan.name,
            message: `deletes recovery points after ${deleteAfter} days, before the vault lock minimum of ${min}`,
          });
        }
      }
    }
  }
  return out;
};

const KEEP_KEYS = ["keepDaily", "keepWeekly", "keepMonthly", "keepYearly", "keepHourly", "keepLast"] as const;

/**
 * What a schedule's retention spans and which value would meet the minimum: N daily points
 * reach N-1 days back (the newest is today's), which is why keepDaily: 30 is 29 days.
 */
function retentionHint(b: PolicySummary["schedules"][number], o: RetentionOutcome, min: number, now: Date): string {
  const r = b.retention;
  const set = KEEP_KEYS.filter((k) => typeof r[k] === "number");
  const spans = `schedule ${b.name} (${set.map((k) => `${k}: ${r[k]}`).join(", ") || "its retention"}) holds ${o.restorePoints} restore points, the oldest ${Math.floor(o.oldestDays)} days before the newest`;
  for (const k of set) {
    // The smallest value of this one key that reaches back far enough (everything else unchanged).
    for (let v = (r[k] as number) + 1; v <= (r[k] as number) + 800; v++) {
      if (simulateRetention(b.cron, b.timezone, { ...r, [k]: v }, now).oldestDays >= min)
        return `${spans}; ${k}: ${v} meets the minimum`;
    }
  }
  return `${spans}; keep more points (keepDaily, keepWeekly, keepMonthly) until the oldest is ${min} days back`;
}

/** Production keeps enough history and proves its restores. */
export const productionHistory: Rule = (resources, config) => {
  const out: Violation[] = [];
  for (const p of resources.filter((r) => r.type === T.backupPolicy)) {
    const s = p.props.summary as PolicySummary | undefined;
    if (!s?.production) continue;
    const backups = s.schedules.filter((x) => x.kind === "backup");
    const now = new Date();
    const outcomes = backups.map((b) => ({ b, o: simulateRetention(b.cron, b.timezone, b.retention, now) }));
    const best = outcomes.reduce<(typeof outcomes)[number] | undefined>(
      (a, x) => (!a || x.o.oldestDays > a.o.oldestDays ? x : a),
      undefined,
    );
    const horizon = best?.o.oldestDays ?? 0;
    const min = config.minProductionRetentionDays;
    if (horizon < min) {
      out.push({
        rule: "production-history",
        resource: p.name,
        message: `keeps restore points for ${Math.floor(horizon)} days; production keeps at least ${min}${best ? `: ${retentionHint(best.b, best.o, min, now)}` : ""}`,
      });
    }
    if (!s.schedules.some((x) => x.kind === "drill")) {
      out.push({
        rule: "production-history",
        resource: p.name,
        message: "has no restore drill schedule (kind: drill)",
      });
    }
  }
  return out;
};

/** Every IIM-installed Portal target is backed up with IIM. */
export const portalFilesCarryIim: Rule = (resources) => {
  const out: Violation[] = [];
  for (const p of resources.filter((r) => r.type === T.backupPolicy)) {
    const s = p.props.summary as PolicySummary | undefined;
    for (const schedule of s?.schedules ?? []) {
      for (const [host, targets] of Object.entries(schedule.targets)) {
        const managed = targets.filter((t) => IIM_MANAGED.has(t));
        if (managed.length && !targets.includes("iim")) {
          out.push({
            rule: "portal-files-carry-iim",
            resource: p.name,
            message: `schedule ${schedule.name} backs up ${managed.join(", ")} on ${host} without IIM`,
          });
        }
      }
    }
  }
  return out;
};

export const GUARDRAILS: Record<string, { description: string; check: Rule }> = {
  "backup-bucket-hardened": {
    description: "Backup buckets are versioned, KMS-encrypted, private and TLS-only.",
    check: bucketHardened,
  },
  "retention-vs-immutability": {
    description:
      "Noncurrent-version expiry, prune cadence and AWS Backup deletion are not shorter than the object lock or vault lock.",
    check: retentionVsImmutability,
  },
  "production-history": {
    description: "Production stacks keep at least N days of restore points and have a restore drill.",
    check: productionHistory,
  },
  "portal-files-carry-iim": {
    description: "Every Portal file-system target is backed up together with IBM Installation Manager.",
    check: portalFilesCarryIim,
  },
};

/** Every guardrail over a stack's resources. */
export function checkGuardrails(
  resources: GuardrailResource[],
  config: GuardrailConfig = DEFAULT_GUARDRAIL_CONFIG,
): Violation[] {
  return Object.values(GUARDRAILS).flatMap((g) => g.check(resources, config));
}

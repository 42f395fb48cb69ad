import type { Change } from "./diff";
import type { PlanResource } from "./report";

const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const KEY = "aws:kms/key:Key";
/** The policies that read the bucket: each host's user policy and the replication role's. */
const READERS = ["aws:iam/userPolicy:UserPolicy", "aws:iam/rolePolicy:RolePolicy"];

/** The KMS key a bucket's default encryption names. */
function encryptionKey(r: PlanResource): string | undefined {
  const rules = r.inputs.rules as Array<{ applyServerSideEncryptionByDefault?: { kmsMasterKeyId?: string } }>;
  return rules?.[0]?.applyServerSideEncryptionByDefault?.kmsMasterKeyId;
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]) as string[];

/** The keys an IAM policy document (as the plan holds it, a JSON string) lets its holder decrypt with. */
function decryptKeys(policy: unknown): Set<string> {
  if (typeof policy !== "string") return new Set();
  const doc = JSON.parse(policy) as { Statement: Array<{ Effect: string; Action: unknown; Resource: unknown }> };
  return new Set(
    doc.Statement.filter(
      (s) => s.Effect === "Allow" && asList(s.Action).some((a) => a === "kms:Decrypt" || a === "kms:*"),
    ).flatMap((s) => asList(s.Resource)),
  );
}

/**
 * Key changes in words a reviewer can act on. Losing `kms:Decrypt` on a key
 * makes every object written under it unreadable: restic reads old pack
 * files for as long as the repository lives, so that is weaker backups. A
 * new default key with the old one still readable is a loud warning, since
 * scheduling the old key for deletion would destroy the history.
 */
export function encryptionKeyChanges(base: PlanResource[], head: PlanResource[]): Change[] {
  // The plan's ARNs of the stack's own keys are made up: name those keys as the state does.
  const ownKeys = [...base, ...head].filter((r) => r.type === KEY).map((r) => r.name);
  const label = (arn: string) => {
    const own = ownKeys.find((name) => arn.endsWith(`:key/${name}`));
    return own ? `the stack's key ${own} (its ARN: pulumi stack output keyArns)` : arn;
  };
  const out: Change[] = [];
  const lost = new Map<string, string[]>();
  for (const h of head.filter((r) => READERS.includes(r.type))) {
    const b = base.find((r) => r.type === h.type && r.name === h.name);
    if (!b) continue;
    const now = decryptKeys(h.inputs.policy);
    for (const key of decryptKeys(b.inputs.policy)) {
      if (!now.has(key) && !now.has("*")) lost.set(key, [...(lost.get(key) ?? []), h.name]);
    }
  }
  for (const [key, readers] of lost) {
    out.push({
      kind: "weaker",
      text: `${readers.join(", ")} lose kms:Decrypt on ${label(key)}, which every object written under it needs: restic could no longer read that history. Keep the key in storage.s3.formerKmsKeyArns`,
    });
  }
  for (const h of head.filter((r) => r.type === ENCRYPTION)) {
    const b = base.find((r) => r.type === ENCRYPTION && r.name === h.name);
    const [before, after] = [b && encryptionKey(b), encryptionKey(h)];
    if (!before || !after || before === after || lost.has(before)) continue;
    out.push({
      kind: "warning",
      text: `${h.name.replace(/-encryption$/, "")}: new objects are encrypted with ${label(after)}; objects written before stay encrypted with ${label(before)}, which hosts keep decrypting: never schedule it for deletion while the bucket holds them, versions included`,
    });
  }
  return out;
}

import type { Change } from "./diff";
import type { PlanResource } from "./report";

const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const USER_POLICY = "aws:iam/userPolicy:UserPolicy";

/** The KMS key a bucket's default encryption names. */
function encryptionKey(r: PlanResource): string | undefined {
  const rules = r.inputs.rules as Array<{ applyServerSideEncryptionByDefault?: { kmsMasterKeyId?: string } }>;
  return rules?.[0]?.applyServerSideEncryptionByDefault?.kmsMasterKeyId;
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]) as string[];

/** Whether an IAM policy document (as the plan holds it, a JSON string) lets its holder decrypt with `key`. */
function allowsDecrypt(policy: unknown, key: string): boolean {
  if (typeof policy !== "string") return false;
  const doc = JSON.parse(policy) as { Statement: Array<{ Effect: string; Action: unknown; Resource: unknown }> };
  return doc.Statement.some(
    (s) =>
      s.Effect === "Allow" &&
      asList(s.Action).some((a) => a === "kms:Decrypt" || a === "kms:*") &&
      asList(s.Resource).some((r) => r === key || r === "*"),
  );
}

/**
 * A bucket whose default encryption moves to another key: every object
 * written before (every pack file restic will ever read again) stays
 * encrypted with the old one. Worse backups when a host policy no longer
 * allows decrypting with it; a loud warning otherwise, since scheduling that
 * key for deletion would destroy the history.
 */
export function encryptionKeyChanges(base: PlanResource[], head: PlanResource[]): Change[] {
  const out: Change[] = [];
  const hostPolicies = head.filter((r) => r.type === USER_POLICY);
  for (const h of head.filter((r) => r.type === ENCRYPTION)) {
    const b = base.find((r) => r.type === ENCRYPTION && r.name === h.name);
    const [before, after] = [b && encryptionKey(b), encryptionKey(h)];
    if (!before || !after || before === after) continue;
    const bucket = h.name.replace(/-encryption$/, "");
    const blind = hostPolicies.filter((p) => !allowsDecrypt(p.inputs.policy, before)).map((p) => p.name);
    if (blind.length) {
      out.push({
        kind: "weaker",
        text: `${bucket}: new objects are encrypted with ${after}, and ${blind.join(", ")} lose kms:Decrypt on ${before}, which every object written before needs: restic could no longer read those repositories. Add ${before} to storage.s3.formerKmsKeyArns`,
      });
    } else {
      out.push({
        kind: "warning",
        text: `${bucket}: encryption key ${before} → ${after}. Objects written before stay encrypted with ${before} (hosts keep kms:Decrypt on it): never schedule it for deletion while the bucket holds them, versions included`,
      });
    }
  }
  return out;
}

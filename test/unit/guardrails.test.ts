import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { expect } from "chai";
import { computePlan } from "../../cli/plan/command";
import { evaluateStack } from "../../cli/plan/evaluate";
import { readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { checkGuardrails, type GuardrailResource } from "../../components/guardrails/rules";
import type { StackConfig } from "../../components/policy/load";
import { policies } from "../../policy-pack/policies";

const NOW = new Date("2026-11-28T03:00:00Z");

/** Runs every policy of the pack the way `pulumi preview --policy-pack` does, collecting violations. */
async function runPack(resources: GuardrailResource[], config: Record<string, unknown> = {}): Promise<string[]> {
  const violations: string[] = [];
  const shaped = resources.map(
    (r) => ({ ...r, urn: `urn:pulumi:prod::dx-backup::${r.type}::${r.name}` }) as unknown as PolicyResource,
  );
  for (const p of policies) {
    const args = {
      resources: shaped,
      stackTags: new Map(),
      getConfig: () => config,
      notApplicable: () => undefined as never,
    } as unknown as StackValidationArgs;
    await p.validateStack(args, (message: string) => violations.push(`${p.name}: ${message}`));
  }
  return violations;
}

function withProd(change: (values: Record<string, string>) => void): StackConfig {
  const prod = readStackConfig(stackFilePath("prod"));
  const values = { ...prod.values };
  change(values);
  return { values, secretKeys: prod.secretKeys };
}

async function resourcesOf(config: StackConfig): Promise<GuardrailResource[]> {
  const { resources } = await evaluateStack(config, "prod");
  return resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
}

describe("guardrails (policy pack and dxbackup plan)", function () {
  this.timeout(60_000);

  it("the prod stack passes every guardrail", async () => {
    expect(await runPack(await resourcesOf(readStackConfig(stackFilePath("prod"))))).to.deep.equal([]);
  });

  it("backup buckets must be versioned, KMS-encrypted, private and TLS-only", async () => {
    const bucket = (name: string) => ({ type: "aws:s3/bucket:Bucket", name: `${name}-bucket`, props: {} });
    const violations = await runPack([
      bucket("bad"),
      {
        type: "aws:s3/bucketVersioning:BucketVersioning",
        name: "bad-versioning",
        props: { versioningConfiguration: { status: "Suspended" } },
      },
      {
        type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        name: "bad-public-access-block",
        props: { blockPublicAcls: true },
      },
    ]);
    expect(violations).to.deep.equal([
      "backup-bucket-hardened: bad-bucket: is not versioned: a deleted or overwritten backup would be gone",
      "backup-bucket-hardened: bad-bucket: is not encrypted with KMS",
      "backup-bucket-hardened: bad-bucket: does not block all public access",
      "backup-bucket-hardened: bad-bucket: does not deny requests without TLS",
    ]);
  });

  it("retention may not be shorter than immutability: S3 object lock and AWS Backup vault lock", async () => {
    const violations = await runPack([
      { type: "aws:s3/bucket:Bucket", name: "s-bucket", props: {} },
      {
        type: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        name: "s-object-lock",
        props: { rule: { defaultRetention: { days: 90 } } },
      },
      {
        type: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        name: "s-lifecycle",
        props: { rules: [{ noncurrentVersionExpiration: { noncurrentDays: 30 } }] },
      },
      { type: "aws:backup/plan:Plan", name: "sys-plan", props: { rules: [{ lifecycle: { deleteAfter: 5 } }] } },
      {
        type: "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
        name: "sys-vault-lock",
        props: { minRetentionDays: 7 },
      },
      {
        type: "dxbackup:index:BackupPolicy",
        name: "dx-prod",
        props: { summary: { production: false, pruneEveryDays: 7, schedules: [] } },
      },
    ]);
    expect(violations.filter((v) => v.startsWith("retention-vs-immutability"))).to.deep.equal([
      "retention-vs-immutability: s-bucket: noncurrent versions expire after 30 days, before the object lock of 90 days ends",
      "retention-vs-immutability: dx-prod: prunes every 7 days while object versions are locked for 90: a prune cannot free locked data, it only adds delete markers; set agent.pruneEveryDays to 90 or more",
      "retention-vs-immutability: sys-plan: deletes recovery points after 5 days, before the vault lock minimum of 7",
    ]);
  });

  it("production keeps N days (configurable) and has a restore drill; Portal files carry IIM", async () => {
    const summary = {
      production: true,
      pruneEveryDays: 7,
      schedules: [
        {
          name: "nightly",
          kind: "backup",
          cron: "0 1 * * *",
          timezone: "UTC",
          mode: "online",
          retention: { keepDaily: 7 } as Record<string, number>,
          targets: { "portal-1": ["portalServer", "wpProfile"] },
        },
      ],
    };
    const resources = [{ type: "dxbackup:index:BackupPolicy", name: "dx-prod", props: { summary } }];
    expect(await runPack(resources)).to.deep.equal([
      "production-history: dx-prod: keeps restore points for 6 days; production keeps at least 30: schedule nightly (keepDaily: 7) holds 7 restore points, the oldest 6 days before the newest; keepDaily: 31 meets the minimum",
      "production-history: dx-prod: has no restore drill schedule (kind: drill)",
      "portal-files-carry-iim: dx-prod: schedule nightly backs up portalServer on portal-1 without IIM",
    ]);
    expect(
      (await runPack(resources, { minProductionRetentionDays: 5 })).filter((v) => v.includes("keeps restore points")),
    ).to.deep.equal([]);
    // keepDaily: 30 spans 29 days (the newest point is today's): the message says so, and which value is enough.
    summary.schedules[0].retention = { keepDaily: 30 };
    expect((await runPack(resources)).filter((v) => v.includes("keeps restore points"))).to.deep.equal([
      "production-history: dx-prod: keeps restore points for 29 days; production keeps at least 30: schedule nightly (keepDaily: 30) holds 30 restore points, the oldest 29 days before the newest; keepDaily: 31 meets the minimum",
    ]);
    // A weekly schedule: the next keepWeekly that reaches 30 days back.
    summary.schedules[0].cron = "0 1 * * 0";
    summary.schedules[0].retention = { keepWeekly: 4 };
    expect((await runPack(resources)).filter((v) => v.includes("keeps restore points"))).to.deep.equal([
      "production-history: dx-prod: keeps restore points for 21 days; production keeps at least 30: schedule nightly (keepWeekly: 4) holds 4 restore points, the oldest 21 days before the newest; keepWeekly: 6 meets the minimum",
    ]);
  });

  it("reports the same violations as dxbackup plan for the same config", async () => {
    const weakened = withProd((v) => {
      v["dxbackup:agent"] = JSON.stringify({ pruneEveryDays: 7 });
      const schedules = JSON.parse(v["dxbackup:schedules"]).filter((s: { kind?: string }) => s.kind !== "drill");
      v["dxbackup:schedules"] = JSON.stringify(schedules);
    });
    const plan = await computePlan("prod", weakened, NOW);
    const fromPlan = plan.findings
      .filter((f) => f.path.startsWith("guardrail:"))
      .map((f) => `${f.path.slice(10)}: ${f.message}`);
    const fromPack = await runPack(await resourcesOf(weakened));
    expect(fromPack).to.have.length(2);
    expect(fromPack.map((v) => v.replace(/^([^:]+): ([^:]+): /, "$1: $2 "))).to.deep.equal(fromPlan);
    expect(checkGuardrails(await resourcesOf(weakened))).to.have.length(2);
  });
});

import { expect } from "chai";
import type { PlannedResource } from "../../cli/plan/evaluate";
import type { Storage } from "../../components/policy/types";

/** The recorded resource of that name; fails the test, listing what there is, when there is none. */
export function resourceNamed(resources: PlannedResource[], name: string): PlannedResource {
  const r = resources.find((x) => x.name === name);
  if (!r) expect.fail(`no resource named ${name}; have ${resources.map((x) => x.name).join(", ")}`);
  return r;
}

/** Validated AWS storage as the prod sample has it (locked, replicated), with `extra` on top. */
export function s3Storage(extra: Record<string, unknown> = {}): Storage {
  return {
    kind: "s3",
    s3: {
      region: "eu-central-1",
      noncurrentVersionDays: 120,
      abortIncompleteUploadDays: 7,
      formerKmsKeyArns: [],
      objectLock: { mode: "COMPLIANCE", days: 35 },
      replication: { region: "eu-west-1", storageClass: "STANDARD_IA" },
      ...extra,
    },
  };
}

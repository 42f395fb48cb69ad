// Plan scale: how `dxbackup plan` grows with the number of hosts. Prints, for
// 10, 100 and 500 generated Portal hosts, the resources the plan creates and
// the time it takes, with ratios against the 10-host run of the same process.
// Both should grow linearly: a fixed handful of resources per host and no
// per-target work.
import { performance } from "node:perf_hooks";
import { computePlan } from "../cli/plan/command";
import type { StackConfig } from "../components/policy/load";
import { BENCH_SECRETS, generatedPolicy } from "./generated";
import { printTable } from "./table";

function generatedStack(hosts: number): StackConfig {
  const policy = generatedPolicy(hosts, {
    s3: { region: "eu-central-1", objectLock: { days: 30 }, replication: { region: "eu-west-1" } },
  });
  const values: Record<string, string> = { ...BENCH_SECRETS };
  for (const [key, value] of Object.entries(policy))
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  return { values, secretKeys: new Set(Object.keys(BENCH_SECRETS)) };
}

async function measure(hosts: number): Promise<{ ms: number; resources: number }> {
  const now = new Date("2026-11-28T03:00:00Z");
  const start = performance.now();
  const plan = await computePlan("bench", generatedStack(hosts), now);
  return { ms: performance.now() - start, resources: plan.resources.length };
}

export async function benchPlan(): Promise<void> {
  await measure(10); // warm up module loading and JIT
  const sizes = [10, 100, 500];
  const rows = [];
  for (const hosts of sizes) rows.push({ hosts, ...(await measure(hosts)) });
  const base = rows[0];
  console.log("plan scale (generated Portal hosts, 2 schedules, S3 with object lock and replication)");
  printTable(
    "hosts  resources  per host  time ms  ms/host  resources ratio  time ratio  (vs 10 hosts; linear = hosts ratio)",
    [5, 10, 9, 8, 8, 16, 11, 0],
    rows.map((r) => [
      r.hosts,
      r.resources,
      (r.resources / r.hosts).toFixed(1),
      r.ms.toFixed(0),
      (r.ms / r.hosts).toFixed(2),
      (r.resources / base.resources).toFixed(1),
      (r.ms / base.ms).toFixed(1),
      `  hosts ratio ${(r.hosts / base.hosts).toFixed(0)}`,
    ]),
  );
}

if (require.main === module) {
  benchPlan().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

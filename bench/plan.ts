// Plan scale: how `dxbackup plan` grows with the number of hosts. Prints, for
// 10, 100 and 500 generated Portal hosts, the resources the plan creates and
// the time it takes, with ratios against the 10-host run of the same process.
// Both should grow linearly: a fixed handful of resources per host and no
// per-target work.
import { performance } from "node:perf_hooks";
import { computePlan } from "../cli/plan/command";
import type { StackConfig } from "../components/policy/load";

function generatedStack(hosts: number): StackConfig {
  const values: Record<string, string> = {
    "dxbackup:environment": "bench",
    "dxbackup:storage": JSON.stringify({
      s3: { region: "eu-central-1", objectLock: { days: 30 }, replication: { region: "eu-west-1" } },
    }),
    "dxbackup:hosts": JSON.stringify(
      Array.from({ length: hosts }, (_, i) => ({
        name: `portal-${i + 1}`,
        address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        customPaths: [{ name: "keystores", path: "/opt/HCL/ssl" }],
        offline: {
          stop: ["/opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal"],
          start: ["/opt/HCL/wp_profile/bin/startServer.sh WebSphere_Portal"],
        },
      })),
    ),
    "dxbackup:schedules": JSON.stringify([
      { name: "nightly", cron: "30 1 * * 1-6", timezone: "Europe/Berlin" },
      { name: "weekly", cron: "0 3 * * 0", timezone: "Europe/Berlin", mode: "offline" },
    ]),
    "dxbackup:retention": JSON.stringify({ keepDaily: 14, keepWeekly: 8, keepMonthly: 12 }),
    "dxbackup:repositoryPassword": "bench-password",
    "dxbackup:sshPrivateKey": "bench-key",
  };
  return { values, secretKeys: new Set(["dxbackup:repositoryPassword", "dxbackup:sshPrivateKey"]) };
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
  console.log(
    "hosts  resources  per host  time ms  ms/host  resources ratio  time ratio  (vs 10 hosts; linear = hosts ratio)",
  );
  for (const r of rows) {
    console.log(
      [
        String(r.hosts).padStart(5),
        String(r.resources).padStart(10),
        (r.resources / r.hosts).toFixed(1).padStart(9),
        r.ms.toFixed(0).padStart(8),
        (r.ms / r.hosts).toFixed(2).padStart(8),
        (r.resources / base.resources).toFixed(1).padStart(16),
        (r.ms / base.ms).toFixed(1).padStart(11),
        `  hosts ratio ${(r.hosts / base.hosts).toFixed(0)}`,
      ].join(" "),
    );
  }
}

if (require.main === module) {
  benchPlan().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

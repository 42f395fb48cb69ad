// The real engine: `pulumi preview` (the CLI built by scripts/build-pulumi.sh,
// a file backend) of generated stacks of 10 and 50 Portal hosts on file-system
// storage (nothing but the hosts' installs and components: no cloud plugin is
// needed). Prints the engine steps and the time of each, and the ratios of 50
// to 10 hosts in the same run: linear is the hosts ratio (5), a few engine
// steps per host. A preview contacts no host.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { localStack } from "../cli/engine/localStack";

function generatedConfig(hosts: number): { config: Record<string, unknown>; secrets: Record<string, string> } {
  return {
    config: {
      "dxbackup:environment": "bench",
      "dxbackup:storage": { filesystem: { path: "/mnt/dx-backups" } },
      "dxbackup:hosts": Array.from({ length: hosts }, (_, i) => ({
        name: `portal-${i + 1}`,
        address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        customPaths: [{ name: "keystores", path: "/opt/HCL/ssl" }],
        offline: {
          stop: ["/opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal"],
          start: ["/opt/HCL/wp_profile/bin/startServer.sh WebSphere_Portal"],
        },
      })),
      "dxbackup:schedules": [
        { name: "nightly", cron: "30 1 * * 1-6", timezone: "Europe/Berlin" },
        { name: "weekly", cron: "0 3 * * 0", timezone: "Europe/Berlin", mode: "offline" },
      ],
      "dxbackup:retention": { keepDaily: 14, keepWeekly: 8, keepMonthly: 12 },
    },
    secrets: { "dxbackup:repositoryPassword": "bench-password", "dxbackup:sshPrivateKey": "bench-key" },
  };
}

async function measure(dir: string, hosts: number): Promise<{ ms: number; steps: number }> {
  const { config, secrets } = generatedConfig(hosts);
  const stack = await localStack({ dir, stack: `bench-${hosts}`, config, secrets });
  const start = performance.now();
  const result = await stack.preview({ color: "never" });
  const ms = performance.now() - start;
  const steps = Object.values(result.changeSummary).reduce((a, b) => a + (b ?? 0), 0);
  return { ms, steps };
}

export async function benchEngine(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "dxb-bench-engine-"));
  try {
    await measure(dir, 2); // warm up the CLI, plugins and module loading
    const rows = [];
    for (const hosts of [10, 50]) rows.push({ hosts, ...(await measure(dir, hosts)) });
    const [base, big] = rows;
    console.log("pulumi preview on the real engine (generated Portal hosts, file-system storage, file backend)");
    console.log("hosts  engine steps  steps/host  time ms  ms/host");
    for (const r of rows) {
      console.log(
        [
          String(r.hosts).padStart(5),
          String(r.steps).padStart(13),
          (r.steps / r.hosts).toFixed(1).padStart(11),
          r.ms.toFixed(0).padStart(8),
          (r.ms / r.hosts).toFixed(1).padStart(8),
        ].join(" "),
      );
    }
    console.log(
      `ratio 50/10 hosts: steps ${(big.steps / base.steps).toFixed(2)}, time ${(big.ms / base.ms).toFixed(2)} (linear = 5.00; time includes the CLI's fixed start-up)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchEngine().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

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
import { BENCH_SECRETS, generatedPolicy } from "./generated";
import { printTable } from "./table";

async function measure(dir: string, hosts: number): Promise<{ ms: number; steps: number }> {
  const config = generatedPolicy(hosts, { filesystem: { path: "/mnt/dx-backups" } });
  const stack = await localStack({ dir, stack: `bench-${hosts}`, config, secrets: BENCH_SECRETS });
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
    printTable(
      "hosts  engine steps  steps/host  time ms  ms/host",
      [5, 13, 11, 8, 8],
      rows.map((r) => [r.hosts, r.steps, (r.steps / r.hosts).toFixed(1), r.ms.toFixed(0), (r.ms / r.hosts).toFixed(1)]),
    );
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

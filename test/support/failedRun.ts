import { expect } from "chai";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../../components/policy/load";
import type { LocalPortalHost } from "./localHost";

/**
 * A good weekly (offline) run, then one whose start command fails after its snapshot was taken:
 * the statuses of both. The fake startServer.sh fails while its marker file exists.
 */
export async function goodThenFailedAfterSnapshot(
  host: LocalPortalHost,
  config: StackConfig,
): Promise<{ good: Record<string, unknown>; failed: Record<string, unknown> }> {
  const { status: good } = await host.runSchedule(config, "weekly");
  expect(good.result).to.equal("success");
  const marker = path.join(host.layout.wpProfile, "bin", "fail-startServer.sh");
  writeFileSync(marker, "ADMU3027E: An instance of the server may already be running\n");
  try {
    const { job, status: failed } = await host.runSchedule(config, "weekly");
    expect(job.code).to.equal(1);
    expect(failed).to.deep.include({ result: "failed", failedStep: "start-servers", recoveryPoint: false });
    return { good, failed };
  } finally {
    rmSync(marker);
  }
}

/** `restore latest` picks the good run, never the failed one, and naming the failed one is refused. */
export function expectLatestSkips(host: LocalPortalHost, config: StackConfig, good: string, failed: string): void {
  const target = path.join(host.root, "restore", `latest-${Date.now()}`);
  const latest = host.agent(
    config,
    ...["restore", "latest", "--schedule", "weekly", "--target", target, "--piece", "target:wpProfile"],
  );
  expect(latest.status, latest.stderr).to.equal(0);
  expect(latest.stdout + latest.stderr).to.include(`recovery point ${good}`);
  const named = host.agent(config, "restore", failed, "--target", `${target}-2`);
  expect(named.status).to.equal(64);
  expect(named.stderr).to.match(/not a recovery point/);
}

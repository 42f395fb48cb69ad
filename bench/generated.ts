/**
 * The policy keys of a generated stack of `hosts` Portal nodes on `storage` (two schedules, one
 * offline), as objects; secrets apart. The plan and engine benchmarks measure the same stacks.
 */
export function generatedPolicy(hosts: number, storage: Record<string, unknown>): Record<string, unknown> {
  return {
    "dxbackup:environment": "bench",
    "dxbackup:storage": storage,
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
  };
}

export const BENCH_SECRETS = { "dxbackup:repositoryPassword": "bench-password", "dxbackup:sshPrivateKey": "bench-key" };

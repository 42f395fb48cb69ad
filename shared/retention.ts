import type { Retention } from "../components/policy/schema";

/** restic forget flags for a retention. */
export function keepFlags(r: Retention): string[] {
  const flags: string[] = [];
  const add = (flag: string, v: number | string | undefined) => {
    if (v !== undefined && v !== 0) flags.push(flag, String(v));
  };
  add("--keep-last", r.keepLast);
  add("--keep-hourly", r.keepHourly);
  add("--keep-daily", r.keepDaily);
  add("--keep-weekly", r.keepWeekly);
  add("--keep-monthly", r.keepMonthly);
  add("--keep-yearly", r.keepYearly);
  add("--keep-within", r.keepWithin);
  return flags;
}

/**
 * `restic forget` for one schedule of one host: grouped by host and paths, so
 * that every piece (files, each database stream) keeps its own restore points;
 * baselines are never forgotten. The agent and `dxbackup prune` (for storage
 * the hosts cannot delete from) apply exactly these rules.
 */
export function forgetArgs(host: string, schedule: string, r: Retention): string[] {
  return [
    "forget",
    "--host",
    host,
    "--tag",
    `schedule:${schedule}`,
    "--group-by",
    "host,paths",
    "--keep-tag",
    "baseline",
    ...keepFlags(r),
  ];
}

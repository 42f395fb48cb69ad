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

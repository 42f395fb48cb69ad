import type { Retention } from "../../policy/schema";
import { formatDays } from "../../plan/warnings";
import type { PlanReport } from "../../plan/report";
import { formatWallClock, wallClock } from "../../schedule/wallClock";

/** "keep 7 daily, 4 weekly" */
export function retentionInWords(r: Retention): string {
  const parts: string[] = [];
  const add = (n: number | undefined, what: string) => {
    if (n) parts.push(`${n} ${what}`);
  };
  add(r.keepLast, "latest");
  add(r.keepHourly, "hourly");
  add(r.keepDaily, "daily");
  add(r.keepWeekly, "weekly");
  add(r.keepMonthly, "monthly");
  add(r.keepYearly, "yearly");
  if (r.keepWithin) parts.push(`all within ${r.keepWithin}`);
  return `keep ${parts.join(", ")}`;
}

/** "about 25 restore points per host, the oldest about 3 months old" */
export function restorePointsInWords(o: PlanReport["retention"][string]): string {
  const at = o.capped ? "at least " : "";
  return `${at}${o.restorePoints} restore point${o.restorePoints === 1 ? "" : "s"} per host, the oldest ${at}${formatDays(o.oldestDays)} old`;
}

/** `2026-11-29 02:00 +01:00`: wall-clock time in the schedule's own zone, with its UTC offset. */
export function localTime(iso: string, tz: string): string {
  const c = wallClock(new Date(iso), tz);
  return `${formatWallClock(c)} ${c.offset}`;
}

/** Resource counts by type, for a compact summary. */
export function countByType(resources: PlanReport["resources"]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts.entries()];
}

import type { Retention } from "../policy/schema";
import { previousRuns } from "./cron";
import { wallClock } from "./wallClock";

/**
 * What a restic retention policy keeps, simulated for the plan.
 *
 * This mirrors restic's `forget` algorithm (internal/restic/snapshot_policy.go):
 * snapshots newest first; each `keep-*` bucket keeps a snapshot when its count
 * is not used up and the snapshot falls into a different period than the last
 * one that bucket kept; `keep-within` keeps everything within that duration of
 * the newest snapshot. It never touches a repository: the agent runs the real
 * `restic forget`.
 */

type BucketName = "last" | "hourly" | "daily" | "weekly" | "monthly" | "yearly";

/** ISO-8601 week-numbering year and week of a calendar date (as Go's time.ISOWeek). */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const d = new Date(Date.UTC(year, month - 1, day));
  const weekday = (d.getUTCDay() + 6) % 7; // Monday = 0
  d.setUTCDate(d.getUTCDate() - weekday + 3); // Thursday of this week decides the year
  const isoYear = d.getUTCFullYear();
  const dayOfYear = (d.getTime() - Date.UTC(isoYear, 0, 1)) / 86400000;
  return { year: isoYear, week: Math.floor(dayOfYear / 7) + 1 };
}

function bucketValue(bucket: BucketName, t: Date, tz: string, index: number): number {
  if (bucket === "last") return index;
  const p = wallClock(t, tz);
  switch (bucket) {
    case "hourly":
      return ((p.year * 100 + p.month) * 100 + p.day) * 100 + p.hour;
    case "daily":
      return (p.year * 100 + p.month) * 100 + p.day;
    case "weekly": {
      const w = isoWeek(p.year, p.month, p.day);
      return w.year * 100 + w.week;
    }
    case "monthly":
      return p.year * 100 + p.month;
    case "yearly":
      return p.year;
  }
}

/** Steps `newest` back by a restic `keep-within` duration (y, m, d, h). */
export function subtractDuration(newest: Date, duration: string): Date {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(duration);
  if (!m) throw new Error(`invalid duration ${duration}`);
  const [years, months, days, hours] = m.slice(1).map((v) => Number(v ?? 0));
  // restic: t.AddDate(-y, -m, -d).Add(-h * time.Hour), in UTC here.
  const d = new Date(newest.getTime());
  d.setUTCFullYear(d.getUTCFullYear() - years, d.getUTCMonth() - months, d.getUTCDate() - days);
  return new Date(d.getTime() - hours * 3600_000);
}

const BUCKETS: Array<[BucketName, keyof Retention]> = [
  ["last", "keepLast"],
  ["hourly", "keepHourly"],
  ["daily", "keepDaily"],
  ["weekly", "keepWeekly"],
  ["monthly", "keepMonthly"],
  ["yearly", "keepYearly"],
];

/** True when the policy keeps at least one snapshot. */
export function retentionKeepsSomething(r: Retention | undefined): boolean {
  if (!r) return false;
  return BUCKETS.some(([, key]) => ((r[key] as number | undefined) ?? 0) > 0) || r.keepWithin !== undefined;
}

/**
 * restic's forget, fed snapshot times newest first, one at a time, so the
 * caller can stream fire times lazily and stop when nothing older can be kept.
 */
export class ForgetSimulation {
  private readonly remaining = new Map<BucketName, number>();
  private readonly last = new Map<BucketName, number>();
  private withinLimit: Date | undefined;
  private index = 0;
  readonly kept: Date[] = [];

  constructor(
    private readonly retention: Retention,
    private readonly tz: string,
  ) {
    for (const [bucket, key] of BUCKETS) this.remaining.set(bucket, (retention[key] as number | undefined) ?? 0);
  }

  /** Feed the next older snapshot; returns whether restic would keep it. */
  offer(t: Date): boolean {
    if (this.index === 0 && this.retention.keepWithin)
      this.withinLimit = subtractDuration(t, this.retention.keepWithin);
    let keep = this.withinLimit !== undefined && t.getTime() > this.withinLimit.getTime();
    for (const [bucket] of BUCKETS) {
      const count = this.remaining.get(bucket) ?? 0;
      if (count <= 0) continue;
      const value = bucketValue(bucket, t, this.tz, this.index);
      if (value !== this.last.get(bucket)) {
        keep = true;
        this.last.set(bucket, value);
        this.remaining.set(bucket, count - 1);
      }
    }
    this.index++;
    if (keep) this.kept.push(t);
    return keep;
  }

  /** True once no older snapshot could be kept any more. */
  done(t: Date): boolean {
    const bucketsLeft = [...this.remaining.values()].some((n) => n > 0);
    const withinLeft = this.withinLimit !== undefined && t.getTime() > this.withinLimit.getTime();
    return !bucketsLeft && !withinLeft;
  }
}

export interface RetentionOutcome {
  /** How many restore points a host holds for this schedule in steady state. */
  restorePoints: number;
  /** Age of the oldest restore point, in days (steady state). */
  oldestDays: number;
  /** True when the simulation stopped at its limit, so the counts are lower bounds. */
  capped: boolean;
}

/** Simulates a schedule's snapshots backwards from `now` and applies the retention to them. */
export function simulateRetention(
  cron: string,
  tz: string,
  retention: Retention,
  now: Date,
  limit = 200_000,
): RetentionOutcome {
  const sim = new ForgetSimulation(retention, tz);
  let n = 0;
  let newest: Date | undefined;
  let capped = true;
  for (const t of previousRuns(cron, tz, now)) {
    newest ??= t;
    if (n > 0 && sim.done(t)) {
      capped = false;
      break;
    }
    sim.offer(t);
    if (++n >= limit) break;
  }
  const oldest = sim.kept[sim.kept.length - 1];
  const oldestDays = oldest && newest ? (newest.getTime() - oldest.getTime()) / 86400_000 : 0;
  return { restorePoints: sim.kept.length, oldestDays, capped };
}

import { runsBetween } from "../schedule/cron";

export interface Timed {
  cron: string;
  timezone: string;
}

/**
 * The worst-case recovery point objective that a set of schedules achieves:
 * the longest time between two consecutive runs of any of them (their runs
 * merged), over `days` days from `from`, in minutes. Time zones and their
 * summer-time changes are taken as the timers take them. Undefined when the
 * schedules run fewer than twice in the window.
 */
export function worstCaseRpoMinutes(schedules: readonly Timed[], from: Date, days = 365): number | undefined {
  const to = new Date(from.getTime() + days * 86_400_000);
  const times = [
    ...new Set(schedules.flatMap((s) => runsBetween(s.cron, s.timezone, from, to).map((d) => d.getTime()))),
  ].sort((a, b) => a - b);
  if (times.length < 2) return undefined;
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i] - times[i - 1]);
  return worst / 60_000;
}

/** `30m`, `24h`, `7d` in minutes. */
export function durationMinutes(d: string): number {
  const m = /^(\d+)([mhd])$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2] as "m" | "h" | "d"];
}

/** 90 -> "1h30m", 2880 -> "2d". */
export function formatMinutes(minutes: number): string {
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = Math.round(minutes % 60);
  return [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : ""].join("") || "0m";
}

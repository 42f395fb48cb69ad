import { compressValues } from "../schedule/compress";
import { cronFields } from "../schedule/cron";

const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const compress = (values: number[], fmt: (v: number) => string) => compressValues(values, fmt, "-");

/** Why a five-field cron cannot be an AWS Backup schedule, or undefined. */
export function awsCronProblem(cron: string): string | undefined {
  const f = cronFields(cron);
  if (f.domRestricted && f.dowRestricted) {
    return "AWS schedules take a day of month or a day of week, not both: leave one of them '*'";
  }
  if (f.minute.length !== 1) return "AWS Backup runs at most once an hour: give one minute, e.g. '0 1 * * *'";
  return undefined;
}

/**
 * A five-field cron as AWS's six-field `cron(...)`, where day-of-month or
 * day-of-week must be `?` and weekdays are names (AWS numbers them 1-7 from
 * Sunday, cron 0-6).
 */
export function toAwsCron(cron: string): string {
  const problem = awsCronProblem(cron);
  if (problem) throw new Error(problem);
  const f = cronFields(cron);
  const num = (v: number) => String(v);
  const all = (values: number[], n: number) => values.length === n;
  const minute = compress(f.minute, num);
  const hour = all(f.hour, 24) ? "*" : compress(f.hour, num);
  const month = all(f.month, 12) ? "*" : compress(f.month, num);
  const dom = f.dowRestricted ? "?" : all(f.dayOfMonth, 31) ? "*" : compress(f.dayOfMonth, num);
  const dow = f.dowRestricted ? compress(f.dayOfWeek, (d) => DAYS[d]) : "?";
  return `cron(${minute} ${hour} ${dom} ${month} ${dow} *)`;
}

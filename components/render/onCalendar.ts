import { compressValues } from "../schedule/compress";
import { cronFields } from "../schedule/cron";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const compress = (values: number[], fmt: (v: number) => string) => compressValues(values, fmt, "..");

const pad = (v: number) => String(v).padStart(2, "0");

/**
 * A five-field cron expression as systemd `OnCalendar=` values, in the
 * schedule's time zone. cron fires when day-of-month OR day-of-week matches
 * if both are restricted, while systemd requires both: that case becomes two
 * OnCalendar lines.
 */
export function cronToOnCalendar(cron: string, timezone: string): string[] {
  const f = cronFields(cron);
  const month = f.month.length === 12 ? "*" : compress(f.month, pad);
  const dom = f.dayOfMonth.length === 31 ? "*" : compress(f.dayOfMonth, pad);
  // cron: 0 = Sunday; systemd order: Monday first.
  const dowValues = f.dayOfWeek.map((d) => (d === 0 ? 7 : d)).sort((a, b) => a - b);
  const dow = dowValues.length === 7 ? "" : compress(dowValues, (d) => WEEKDAYS[d - 1]);
  const hour = f.hour.length === 24 ? "*" : compress(f.hour, pad);
  const minute = f.minute.length === 60 ? "*" : compress(f.minute, pad);
  const time = `${hour}:${minute}:00`;
  const line = (weekday: string, day: string) => `${weekday ? `${weekday} ` : ""}*-${month}-${day} ${time} ${timezone}`;
  if (f.domRestricted && f.dowRestricted) return [line(dow, "*"), line("", dom)];
  if (f.dowRestricted) return [line(dow, "*")];
  return [line("", dom)];
}

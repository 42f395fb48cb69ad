import { cronFields } from "../schedule/cron";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** [1,2,3,5] -> ["1..3", "5"], formatting each value with `fmt`. */
function compress(values: number[], fmt: (v: number) => string): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    parts.push(
      j - i >= 2
        ? `${fmt(values[i])}..${fmt(values[j])}`
        : values
            .slice(i, j + 1)
            .map(fmt)
            .join(","),
    );
    i = j + 1;
  }
  return parts.join(",");
}

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

/** Wall-clock reading of an instant in an IANA time zone. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** UTC offset, e.g. `+01:00`. */
  offset: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** What a clock in `tz` shows at `t`. The one place that reads time zones. */
export function wallClock(t: Date, tz: string): WallClock {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      timeZoneName: "longOffset",
    });
    formatters.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const { type, value } of f.formatToParts(t)) p[type] = value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
    offset: p.timeZoneName === "GMT" ? "+00:00" : p.timeZoneName.replace("GMT", ""),
  };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `2026-11-29 02:00`, optionally with `:ss`. */
export function formatWallClock(c: WallClock, seconds = false): string {
  return `${c.year}-${pad(c.month)}-${pad(c.day)} ${pad(c.hour)}:${pad(c.minute)}${seconds ? `:${pad(c.second)}` : ""}`;
}

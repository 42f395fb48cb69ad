import { CronExpressionParser, type CronExpression } from "cron-parser";
import cronstrue from "cronstrue";
import { wallClock } from "./wallClock";

/**
 * Cron expressions as the policy uses them: the classic five fields
 * (minute hour day-of-month month day-of-week), read in an IANA time zone.
 * Only the portable vixie-cron syntax is accepted (numbers, names, `*`,
 * ranges, steps, lists), because every schedule is also rendered as a
 * systemd `OnCalendar=` and as a cron.d line.
 */

const TOKEN = String.raw`(\d+|[A-Za-z]{3})`;
const ITEM = String.raw`(\*|${TOKEN}(-${TOKEN})?)(\/\d+)?`;
const FIELD = new RegExp(`^${ITEM}(,${ITEM})*$`);
const FIELD_NAMES = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/** Returns why `tz` is not an IANA time zone, or undefined when it is one. */
export function timeZoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone '${tz}': use an IANA name such as Europe/Berlin, America/New_York or UTC`;
  }
}

/** Returns why `expr` is not an accepted five-field cron expression, or undefined when it is one. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `'${expr}' has ${fields.length} field(s): write five (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'`;
  }
  for (const [i, field] of fields.entries()) {
    if (!FIELD.test(field)) {
      return `'${expr}': the ${FIELD_NAMES[i]} field '${field}' uses syntax that is not portable; use numbers, names, '*', ranges (1-5), steps (*/15) and lists (1,15)`;
    }
  }
  try {
    CronExpressionParser.parse(expr, { tz: "UTC" });
    return undefined;
  } catch (err) {
    return `'${expr}' is not a valid cron expression: ${(err as Error).message}`;
  }
}

function parse(expr: string, tz: string, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(expr, { tz, currentDate });
}

/**
 * True when `t` shows, on the wall clock of `tz`, a minute and hour the
 * expression names. A local time that does not exist (skipped when summer
 * time starts) makes cron-parser shift the run by an hour; systemd timers
 * skip it instead, and the plan must say what the timers will do.
 */
function onTheWallClock(t: Date, tz: string, fields: { minute: Set<number>; hour: Set<number> }): boolean {
  const c = wallClock(t, tz);
  return fields.minute.has(c.minute) && fields.hour.has(c.hour);
}

/**
 * True when the wall clock showed the same minute an hour (or half an hour)
 * before `t`: `t` is the second pass through the hour that repeats when summer
 * time ends. systemd timers fire only on the first pass, and so does the plan.
 */
function repeatsEarlierWallClock(t: Date, tz: string): boolean {
  const c = wallClock(t, tz);
  return [60, 30].some((back) => {
    const e = wallClock(new Date(t.getTime() - back * 60_000), tz);
    return e.hour === c.hour && e.minute === c.minute && e.day === c.day;
  });
}

function* runs(expr: string, tz: string, from: Date, direction: "next" | "prev"): Generator<Date> {
  const it = parse(expr, tz, from);
  const f = cronFields(expr);
  const fields = { minute: new Set(f.minute), hour: new Set(f.hour) };
  let last = Number.NaN;
  for (;;) {
    const t = it[direction]().toDate();
    if (t.getTime() === last || !onTheWallClock(t, tz, fields) || repeatsEarlierWallClock(t, tz)) continue;
    last = t.getTime();
    yield t;
  }
}

/** The next `count` fire times strictly after `from`, as a systemd timer fires them. */
export function nextRuns(expr: string, tz: string, from: Date, count: number): Date[] {
  const out: Date[] = [];
  for (const t of runs(expr, tz, from, "next")) {
    out.push(t);
    if (out.length >= count) break;
  }
  return out;
}

/** Fire times from `from` backwards (newest first), lazily. */
export function previousRuns(expr: string, tz: string, from: Date): Generator<Date> {
  return runs(expr, tz, from, "prev");
}

/** The schedule in words, e.g. "At 02:00, Monday through Friday (Europe/Berlin)". */
export function describeCron(expr: string, tz: string): string {
  return `${cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: false })} (${tz})`;
}

/** The expanded values of each field, and whether day-of-month / day-of-week were restricted. */
export function cronFields(expr: string): {
  minute: number[];
  hour: number[];
  dayOfMonth: number[];
  month: number[];
  dayOfWeek: number[];
  domRestricted: boolean;
  dowRestricted: boolean;
} {
  const raw = expr.trim().split(/\s+/);
  const f = CronExpressionParser.parse(expr, { tz: "UTC" }).fields;
  const dayOfWeek = [...new Set((f.dayOfWeek.values as number[]).map((d) => d % 7))].sort((a, b) => a - b);
  return {
    minute: [...(f.minute.values as number[])],
    hour: [...(f.hour.values as number[])],
    dayOfMonth: [...(f.dayOfMonth.values as (number | string)[])].filter((v): v is number => typeof v === "number"),
    month: [...(f.month.values as number[])],
    dayOfWeek,
    domRestricted: raw[2] !== "*",
    dowRestricted: raw[4] !== "*",
  };
}

/** Every fire time in (from, to], oldest first. */
export function runsBetween(expr: string, tz: string, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (const t of runs(expr, tz, from, "next")) {
    if (t.getTime() > to.getTime()) break;
    out.push(t);
  }
  return out;
}

import { CronExpressionParser, type CronExpression } from "cron-parser";
import cronstrue from "cronstrue";

/**
 * Cron expressions as the policy uses them: the classic five fields
 * (minute hour day-of-month month day-of-week), read in an IANA time zone.
 * Only the portable vixie-cron syntax is accepted (numbers, names, `*`,
 * ranges, steps, lists), because every schedule is also rendered as a
 * systemd `OnCalendar=` and as a cron.d line.
 */

const FIELD = /^(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?)*$/;
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

/** The next `count` fire times strictly after `from`. */
export function nextRuns(expr: string, tz: string, from: Date, count: number): Date[] {
  const it = parse(expr, tz, from);
  return Array.from({ length: count }, () => it.next().toDate());
}

/** Fire times from `from` backwards (newest first), lazily. */
export function* previousRuns(expr: string, tz: string, from: Date): Generator<Date> {
  const it = parse(expr, tz, from);
  for (;;) yield it.prev().toDate();
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

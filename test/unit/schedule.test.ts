import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { cronToOnCalendar } from "../../components/render/onCalendar";
import { cronProblem, describeCron, nextRuns, timeZoneProblem } from "../../components/schedule/cron";
import { wallClock } from "../../components/schedule/wallClock";

/** Fire times systemd itself computes for OnCalendar expressions (systemd-analyze, the real parser). */
function systemdRuns(calendars: string[], base: Date, count: number): number[] {
  const out = execFileSync(
    "systemd-analyze",
    ["calendar", `--iterations=${count}`, `--base-time=@${Math.floor(base.getTime() / 1000)}`, ...calendars],
    { env: { ...process.env, TZ: "UTC" }, encoding: "utf8" },
  );
  const times = [...out.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) =>
    Date.parse(`${m[1].replace(" ", "T")}Z`),
  );
  // Several OnCalendar lines fire at the union of their times.
  return [...new Set(times)].sort((a, b) => a - b).slice(0, count);
}

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"];

const values = (min: number, max: number) => fc.integer({ min, max });
const field = (min: number, max: number) =>
  fc.oneof(
    fc.constant("*"),
    values(min, max).map(String),
    fc.tuple(values(min, max), values(min, max)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    values(2, Math.max(2, Math.floor((max - min) / 2))).map((s) => `*/${s}`),
    fc.uniqueArray(values(min, max), { minLength: 2, maxLength: 4 }).map((xs) => xs.join(",")),
  );
const cronArb = fc.tuple(field(0, 59), field(0, 23), field(1, 28), field(1, 12), field(0, 6)).map((f) => f.join(" "));

describe("schedules: cron expressions", () => {
  it("accepts the portable five-field syntax and explains what is wrong otherwise", () => {
    expect(cronProblem("30 1 * * 1-6")).to.equal(undefined);
    expect(cronProblem("*/15 0-6,22,23 1,15 jan-jun mon")).to.equal(undefined);
    expect(cronProblem("0 2 * *")).to.match(/has 4 field\(s\)/);
    expect(cronProblem("0 2 ? * MON")).to.match(/day-of-month field '\?' uses syntax that is not portable/);
    expect(cronProblem("0 25 * * *")).to.match(/not a valid cron expression/);
    expect(timeZoneProblem("Europe/Berlin")).to.equal(undefined);
    expect(timeZoneProblem("CEST+2")).to.match(/unknown time zone/);
  });

  it("describes a schedule in words with its time zone", () => {
    expect(describeCron("30 1 * * 1-6", "Europe/Berlin")).to.equal("At 01:30, Monday through Saturday (Europe/Berlin)");
  });

  it("computes next runs in the schedule's time zone, across a DST change", () => {
    // Berlin leaves summer time on 2026-10-25 at 03:00 CEST: that day 02:00 comes twice and the
    // run happens once, at the first (00:00Z, CEST); the day after 02:00 CET is 01:00Z.
    const runs = nextRuns("0 2 * * *", "Europe/Berlin", new Date("2026-10-24T12:00:00Z"), 3).map((d) =>
      d.toISOString(),
    );
    expect(runs).to.deep.equal(["2026-10-25T00:00:00.000Z", "2026-10-26T01:00:00.000Z", "2026-10-27T01:00:00.000Z"]);
    // Entering summer time on 2026-03-29, 02:30 does not exist: no run that day (as systemd does).
    const spring = nextRuns("30 2 * * *", "Europe/Berlin", new Date("2026-03-28T12:00:00Z"), 2).map((d) =>
      d.toISOString(),
    );
    expect(spring).to.deep.equal(["2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"]);
  });

  it("renders day-of-month OR day-of-week as two OnCalendar lines", () => {
    expect(cronToOnCalendar("0 3 1,15 * 1-5", "UTC")).to.deep.equal([
      "Mon..Fri *-*-* 03:00:00 UTC",
      "*-*-01,15 03:00:00 UTC",
    ]);
  });

  it("OnCalendar fires exactly when cron does (property test against systemd-analyze)", function () {
    this.timeout(120_000);
    fc.assert(
      fc.property(cronArb, fc.constantFrom(...ZONES), fc.integer({ min: 0, max: 365 * 24 }), (cron, tz, hours) => {
        const base = new Date(Date.UTC(2026, 0, 1) + hours * 3600_000);
        const expected = nextRuns(cron, tz, base, 12).map((d) => d.getTime());
        const actual = systemdRuns(cronToOnCalendar(cron, tz), base, 12);
        expect(
          actual.map((t) => new Date(t).toISOString()),
          `${cron} ${tz} from ${base.toISOString()}`,
        ).to.deep.equal(expected.map((t) => new Date(t).toISOString()));
      }),
      { numRuns: 150 },
    );
  });

  it("OnCalendar and the plan agree across DST changes too (property test against systemd-analyze)", function () {
    this.timeout(120_000);
    // Transitions in 2026: Berlin 03-29 / 10-25, New York 03-08 / 11-01, Sydney 04-05 / 10-04.
    const transitions: Array<[string, string]> = [
      ["Europe/Berlin", "2026-03-28T12:00:00Z"],
      ["Europe/Berlin", "2026-10-24T12:00:00Z"],
      ["America/New_York", "2026-03-07T12:00:00Z"],
      ["America/New_York", "2026-10-31T12:00:00Z"],
      ["Australia/Sydney", "2026-04-04T00:00:00Z"],
      ["Australia/Sydney", "2026-10-03T00:00:00Z"],
    ];
    const nightly = fc
      .tuple(
        field(0, 59),
        fc.oneof(values(0, 4).map(String), fc.constant("1-3"), fc.constant("*/2"), fc.constant("*")),
        field(0, 6),
      )
      .map(([m, h, dow]) => `${m} ${h} * * ${dow}`);
    fc.assert(
      fc.property(
        nightly,
        fc.constantFrom(...transitions),
        fc.integer({ min: 0, max: 36 }),
        (cron, [tz, at], hours) => {
          const base = new Date(Date.parse(at) + hours * 3600_000);
          // A running timer never computes from inside the repeated autumn hour (it fired there
          // on the first pass already); systemd-analyze, asked from there, would fire again.
          const now = wallClock(base, tz);
          const hourBefore = wallClock(new Date(base.getTime() - 3600_000), tz);
          fc.pre(!(now.hour === hourBefore.hour && now.day === hourBefore.day));
          const expected = nextRuns(cron, tz, base, 8).map((d) => d.toISOString());
          const actual = systemdRuns(cronToOnCalendar(cron, tz), base, 8).map((t) => new Date(t).toISOString());
          expect(actual, `${cron} ${tz} from ${base.toISOString()}`).to.deep.equal(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});

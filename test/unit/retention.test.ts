import { expect } from "chai";
import fc from "fast-check";
import type { Retention } from "../../components/policy/schema";
import { keepFlags } from "../../shared/retention";
import { previousRuns } from "../../components/schedule/cron";
import { ForgetSimulation, isoWeek, simulateRetention } from "../../components/schedule/retention";
import { TempRepository } from "../support/restic";
import { formatWallClock, wallClock } from "../../components/schedule/wallClock";

const TZ = "Europe/Berlin";

function take(gen: Iterator<Date>, n: number): Date[] {
  return Array.from({ length: n }, () => gen.next().value as Date);
}

describe("retention: the plan's simulation of restic forget", () => {
  it("numbers ISO weeks as Go's time.ISOWeek does", () => {
    expect(isoWeek(2026, 1, 1)).to.deep.equal({ year: 2026, week: 1 });
    expect(isoWeek(2027, 1, 1)).to.deep.equal({ year: 2026, week: 53 });
    expect(isoWeek(2024, 12, 30)).to.deep.equal({ year: 2025, week: 1 });
    expect(isoWeek(2026, 11, 28)).to.deep.equal({ year: 2026, week: 48 });
  });

  it("counts restore points and the oldest one for a nightly schedule", () => {
    // Saturday 2026-11-28: daily keeps Nov 22..28; weekly keeps the newest of ISO weeks 48 and 47
    // (Nov 28 and Nov 22, already kept), 46 (Nov 15) and 45 (Nov 8): 9 points, the oldest 20 days.
    const out = simulateRetention("0 2 * * *", TZ, { keepDaily: 7, keepWeekly: 4 }, new Date("2026-11-28T12:00:00Z"));
    expect(out.restorePoints).to.equal(9);
    expect(Math.round(out.oldestDays)).to.equal(20);
    expect(out.capped).to.equal(false);
  });

  describe("keeps exactly what real restic forget keeps", function () {
    this.timeout(300_000);
    const repo = new TempRepository();
    // Newest first: six hourly runs, a month of nightly runs (across the end of summer time
    // on 2026-10-25) and seven months of weekly runs before that.
    const now = new Date("2026-11-27T12:00:00Z");
    const hourly = take(previousRuns("0 6-11 * * *", TZ, now), 6);
    const nightly = take(previousRuns("0 2 * * *", TZ, hourly[hourly.length - 1]), 32);
    const weekly = take(previousRuns("0 3 * * 0", TZ, nightly[nightly.length - 1]), 30);
    const times = [...hourly, ...nightly, ...weekly];

    before(async () =>
      repo.snapshotsAt(
        times.map((t) => formatWallClock(wallClock(t, TZ), true)),
        TZ,
      ),
    );
    after(() => repo.remove());

    function resticKeeps(r: Retention): string[] {
      const groups = JSON.parse(repo.run(["forget", "--dry-run", "--json", ...keepFlags(r)])) as Array<{
        keep: Array<{ time: string }>;
      }>;
      return groups.flatMap((g) => g.keep.map((s) => new Date(s.time).toISOString())).sort();
    }

    function simulationKeeps(r: Retention): string[] {
      const sim = new ForgetSimulation(r, TZ);
      for (const t of times) sim.offer(t);
      return sim.kept.map((t) => t.toISOString()).sort();
    }

    const policies: Retention[] = [
      { keepDaily: 7 },
      { keepDaily: 14, keepWeekly: 4 },
      { keepLast: 3, keepHourly: 10 },
      { keepWeekly: 5, keepMonthly: 3 },
      { keepWithin: "10d", keepMonthly: 2 },
      { keepYearly: 1, keepDaily: 3 },
      { keepDaily: 35, keepWeekly: 12, keepMonthly: 12 },
    ];
    for (const policy of policies) {
      it(`for ${JSON.stringify(policy)}`, () => {
        expect(simulationKeeps(policy)).to.deep.equal(resticKeeps(policy));
      });
    }

    it("for random policies (property test)", () => {
      const count = fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined });
      const policy = fc
        .record({
          keepLast: count,
          keepHourly: count,
          keepDaily: count,
          keepWeekly: count,
          keepMonthly: count,
          keepYearly: count,
          keepWithin: fc.option(fc.constantFrom("2d", "1m", "3d12h"), { nil: undefined }),
        })
        .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Retention)
        .filter((r) => Object.keys(r).length > 0);
      fc.assert(
        fc.property(policy, (r) => {
          expect(simulationKeeps(r)).to.deep.equal(resticKeeps(r));
        }),
        { numRuns: 25 },
      );
    });
  });
});

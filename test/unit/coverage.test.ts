import { expect } from "chai";
import fc from "fast-check";
import { readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { computePlan } from "../../cli/plan/command";
import { worstCaseRpoMinutes, durationMinutes, formatMinutes } from "../../components/coverage/rpo";
import { cronFields } from "../../components/schedule/cron";
import { wallClock } from "../../components/schedule/wallClock";
import { toAwsCron } from "../../components/system/awsCron";
import { PolicyError } from "../../components/policy/errors";
import type { StackConfig } from "../../components/policy/load";

const NOW = new Date("2026-11-28T03:00:00Z");

/**
 * The reference: every minute of the year, in UTC, turned into the wall clock
 * of the zone; a schedule fires when the wall clock matches its fields (cron's
 * day-of-month OR day-of-week rule), once per wall-clock minute (the repeated
 * autumn hour fires once, at its first occurrence; the skipped spring hour
 * never), as systemd timers do.
 */
function bruteForceRpo(crons: Array<{ cron: string; timezone: string }>, from: Date, days: number): number | undefined {
  const fires = new Set<number>();
  for (const { cron, timezone } of crons) {
    const f = cronFields(cron);
    const sets = {
      minute: new Set(f.minute),
      hour: new Set(f.hour),
      dom: new Set(f.dayOfMonth),
      month: new Set(f.month),
      dow: new Set(f.dayOfWeek),
    };
    const seen = new Set<string>();
    // The zone's offset changes only on the hour: read it once an hour.
    let offsetMinutes = 0;
    const start = Math.ceil(from.getTime() / 60_000) + 1;
    const end = start + days * 1440;
    for (let m = start; m <= end; m++) {
      if (m === start || m % 60 === 0) {
        const c = wallClock(new Date(m * 60_000), timezone);
        const wall = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute);
        offsetMinutes = wall / 60_000 - m;
      }
      const local = new Date((m + offsetMinutes) * 60_000);
      const [minute, hour, dom, month, dow] = [
        local.getUTCMinutes(),
        local.getUTCHours(),
        local.getUTCDate(),
        local.getUTCMonth() + 1,
        local.getUTCDay(),
      ];
      if (!sets.minute.has(minute) || !sets.hour.has(hour) || !sets.month.has(month)) continue;
      const dayOk =
        f.domRestricted && f.dowRestricted
          ? sets.dom.has(dom) || sets.dow.has(dow)
          : sets.dom.has(dom) && sets.dow.has(dow);
      if (!dayOk) continue;
      const key = local.toISOString();
      if (seen.has(key)) continue; // the repeated autumn hour
      seen.add(key);
      fires.add(m);
    }
  }
  const times = [...fires].sort((a, b) => a - b);
  if (times.length < 2) return undefined;
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i] - times[i - 1]);
  return worst;
}

describe("coverage: worst-case RPO", () => {
  it("a nightly run at 02:00 in Berlin skips the spring-forward night: the worst gap is 47 hours", () => {
    expect(worstCaseRpoMinutes([{ cron: "0 2 * * *", timezone: "Europe/Berlin" }], NOW)).to.equal(47 * 60);
    expect(worstCaseRpoMinutes([{ cron: "0 1 * * *", timezone: "Europe/Berlin" }], NOW)).to.equal(25 * 60);
    expect(worstCaseRpoMinutes([{ cron: "0 1 * * *", timezone: "UTC" }], NOW)).to.equal(24 * 60);
  });

  it("merges schedules: a weekly run on Sunday fills the nightly's gap", () => {
    expect(worstCaseRpoMinutes([{ cron: "30 1 * * 1-6", timezone: "UTC" }], NOW)).to.equal(48 * 60);
    expect(
      worstCaseRpoMinutes(
        [
          { cron: "30 1 * * 1-6", timezone: "UTC" },
          { cron: "0 3 * * 0", timezone: "UTC" },
        ],
        NOW,
      ),
    ).to.equal(25.5 * 60); // Saturday 01:30 to Sunday 03:00
  });

  it("equals a brute-force enumeration of every minute of a year, across DST changes (property test)", function () {
    this.timeout(300_000);
    const value = (min: number, max: number) => fc.integer({ min, max });
    const field = (min: number, max: number) =>
      fc.oneof(
        fc.constant("*"),
        value(min, max).map(String),
        fc.tuple(value(min, max), value(min, max)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
        fc.uniqueArray(value(min, max), { minLength: 2, maxLength: 3 }).map((xs) => xs.join(",")),
      );
    // Hours and minutes around the clock changes (01:00-03:59) are where it goes wrong.
    const cron = fc
      .tuple(
        fc.oneof(value(0, 59).map(String), fc.constant("0,30")),
        fc.oneof(value(0, 4).map(String), fc.constant("1-3"), field(0, 23)),
        field(1, 28),
        fc.constant("*"),
        field(0, 6),
      )
      .map((f) => f.join(" "));
    const zone = fc.constantFrom("Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC");
    fc.assert(
      fc.property(fc.array(fc.record({ cron, timezone: zone }), { minLength: 1, maxLength: 2 }), (crons) => {
        expect(worstCaseRpoMinutes(crons, NOW, 365), JSON.stringify(crons)).to.equal(bruteForceRpo(crons, NOW, 365));
      }),
      { numRuns: Number(process.env.DXB_PROPERTY_RUNS ?? 40) },
    );
  });

  it("reads and writes durations", () => {
    expect(durationMinutes("90m")).to.equal(90);
    expect(durationMinutes("25h")).to.equal(1500);
    expect(formatMinutes(1500)).to.equal("1d1h");
    expect(formatMinutes(47 * 60)).to.equal("1d23h");
  });

  it("writes AWS Backup schedules: one of day-of-month and day-of-week is '?', weekdays by name", () => {
    expect(toAwsCron("30 1 * * 1-6")).to.equal("cron(30 1 ? * MON-SAT *)");
    expect(toAwsCron("0 23 * * *")).to.equal("cron(0 23 * * ? *)");
    expect(toAwsCron("0 6 * * 0")).to.equal("cron(0 6 ? * SUN *)");
    expect(() => toAwsCron("0 6 1 * 0")).to.throw(/not both/);
    expect(() => toAwsCron("*/15 * * * *")).to.throw(/at most once an hour/);
  });
});

describe("coverage: the report", function () {
  this.timeout(120_000);
  const prod = readStackConfig(stackFilePath("prod"));

  /** The prod config with one key changed. */
  /** prod's database server, by name (hosts[5]). */
  const db1 = (k: Record<string, unknown>) =>
    (k.hosts as Array<Record<string, unknown>>).find((h) => h.name === "db-1")!;

  function changed(change: (keys: Record<string, unknown>) => void): StackConfig {
    const keys: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(prod.values)) {
      if (!k.startsWith("dxbackup:") || prod.secretKeys.has(k)) continue;
      try {
        keys[k.slice(9)] = JSON.parse(v);
      } catch {
        keys[k.slice(9)] = v;
      }
    }
    change(keys);
    const values = Object.fromEntries(
      Object.entries(prod.values).filter(([k]) => prod.secretKeys.has(k) || !k.startsWith("dxbackup:")),
    );
    for (const [k, v] of Object.entries(keys)) values[`dxbackup:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return { values, secretKeys: prod.secretKeys };
  }

  /** Every finding (or validation problem) for a config, as "path: message" lines. */
  async function findingsOf(config: StackConfig): Promise<string[]> {
    try {
      const plan = await computePlan("prod", config, NOW);
      return plan.findings.map((f) => `${f.severity} ${f.path}: ${f.message}`);
    } catch (err) {
      if (err instanceof PolicyError) return err.issues.map((i) => `invalid ${i.path}: ${i.message}`);
      throw err;
    }
  }

  it("prod covers every tier and data source with no gap", async () => {
    const plan = await computePlan("prod", prod, NOW);
    expect(plan.findings).to.deep.equal([]);
    expect(plan.coverage.filter((r) => r.status !== "ok")).to.deep.equal([]);
    const tiers = new Set(plan.coverage.map((r) => r.tier));
    expect([...tiers]).to.have.members(["system", "middleware", "databases", "directory", "application", "remote"]);
    expect(plan.coverage.find((r) => r.source.startsWith("jcr"))).to.deep.include({
      schedules: ["nightly", "databases-midday"],
      rpoMinutes: 13 * 60,
    });
  });

  const schedules = (k: Record<string, unknown>) => k.schedules as Array<Record<string, unknown>>;
  const FILES = [
    "portalServer",
    "wpProfile",
    "dmgrProfile",
    "appServer",
    "webServer",
    "plugins",
    "iim",
    "custom",
    "wasConfig",
  ];
  /** Sets the targets of the nightly and the weekly-offline run (the database server is only in the nightly). */
  const withTargets = (k: Record<string, unknown>, extra: string[]) => {
    schedules(k)[0].targets = [...FILES, ...extra, "databases"];
    schedules(k)[2].targets = [...FILES, ...extra];
  };
  const removals: Array<[string, (k: Record<string, unknown>) => void, RegExp]> = [
    [
      "the databases' midday run",
      (k) => (k.schedules = schedules(k).filter((s) => s.name !== "databases-midday")),
      // One finding for every database the nightly alone leaves 25 hours apart, and why: the autumn night.
      /^error dxbackup:schedules\[0\]\.cron: worst-case RPO 1d1h misses the target 1d \(nightly\) for \d+ sources: .*jcr \(db2\).*Only the daylight-saving change in Europe\/Berlin makes the gap/m,
    ],
    [
      "the directory from every schedule",
      (k) => withTargets(k, ["xmlaccess"]),
      /dxbackup:ldap: the directory is in no schedule: add .ldap. to the targets/,
    ],
    ["XMLAccess", (k) => withTargets(k, ["ldap"]), /portal-1: XMLAccess exports is captured by no schedule/],
    ["the system tier", (k) => delete k.system, /db-1: whole host: an EC2 host without dxbackup:system\.aws/],
    [
      "the protection of a remote source",
      (k) => delete (k.remoteSources as Array<Record<string, unknown>>)[1].delegated,
      /nobody protects 'wcm-share'/,
    ],
    [
      "portal-2 from the nightly",
      (k) => (schedules(k)[0].hosts = ["dmgr", "portal-1", "web-1", "db-1"]),
      // A real gap (weekly), not the clock change: no daylight-saving explanation.
      /^error dxbackup:schedules\[2\]\.cron: worst-case RPO 7d1h misses the target 1d \(weekly-offline\) for \d+ sources: portal-2: PortalServer_root, [^\n]*$(?<!daylight[^\n]*)/m,
    ],
    [
      "where DB2 archives its logs",
      (k) => delete (k.databases as Array<{ db2: Record<string, unknown> }>)[0].db2.archiveLogPath,
      /^warning dxbackup:databases\[0\]\.db2\.archiveLogPath: DB2 RELEASE: where its logs are archived is not declared/m,
    ],
    [
      "DB2's archived logs from db-1's files",
      (k) => {
        delete db1(k).customPaths;
        schedules(k)[1].targets = ["databases"];
      },
      /^warning dxbackup:databases\[3\]\.db2\.archiveLogPath: DB2 JCRDB: its archived logs in \/db2\/archive are captured by no schedule on db-1.*add \{ name: db2-archive-jcrdb, path: \/db2\/archive \} to hosts\[5\]\.customPaths/m,
    ],
    [
      "the DAM binaries",
      (k) => delete (k.databases as Array<Record<string, unknown>>)[6].damBinaries,
      /^error dxbackup:databases\[6\]\.damBinaries: dam: only the DAM database is declared, which holds the assets' metadata/m,
    ],
    [
      "the DAM volume from db-1's files",
      (k) => {
        const host = db1(k) as { customPaths: Array<{ name: string }> };
        host.customPaths = host.customPaths.filter((c) => c.name !== "dam-binaries");
      },
      /^error dxbackup:databases\[6\]\.damBinaries: dam binaries \(db-1: \/mnt\/dx-dam-binaries\) is captured by no schedule/m,
    ],
    [
      "the directory's password hashes (readsPasswords)",
      (k) => delete (k.ldap as { ldapsearch: Record<string, unknown> }).ldapsearch.readsPasswords,
      /^error dxbackup:ldap\.ldapsearch\.readsPasswords: LDAP directory \(ldapsearch\): the export holds no password hashes unless cn=dxbackup,ou=service,o=acme may read userPassword/m,
    ],
    [
      "the jcr database from every schedule",
      (k) => schedules(k).forEach((s) => s.name !== "drill" && (s.databases = ["customization", "community", "dam"])),
      /'jcr' is in no schedule/,
    ],
  ];
  for (const [what, change, expected] of removals) {
    it(`removing ${what} from prod produces a finding that names it`, async () => {
      const findings = await findingsOf(changed(change));
      expect(findings.join("\n")).to.match(expected);
    });
  }

  it("a delegated backup verified too long ago is a warning", async () => {
    const findings = await findingsOf(
      changed(
        (k) =>
          ((k.remoteSources as Array<{ delegated: { lastVerified: string } }>)[1].delegated.lastVerified =
            "2026-01-10"),
      ),
    );
    expect(findings).to.satisfy((fs: string[]) =>
      fs.some((f) =>
        /^warning dxbackup:remoteSources\[1\]\.delegated\.lastVerified: .*last verified 322 days ago, more than 120/.test(
          f,
        ),
      ),
    );
  });
});

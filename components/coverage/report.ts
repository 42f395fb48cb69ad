import { TARGET_LABELS } from "../policy/defaults";
import { configPath } from "../policy/errors";
import { selectPieces, WAS_PROFILE_ROOTS, type Piece } from "../policy/pieces";
import type { CoverageInput } from "../policy/systemSchema";
import { selectTargets } from "../policy/targets";
import type { Host, Policy, Schedule } from "../policy/types";
import type { RetentionOutcome } from "../schedule/retention";
import { durationMinutes, formatMinutes, worstCaseRpoMinutes, type Timed } from "./rpo";

export type Severity = "error" | "warning";

export interface Finding {
  severity: Severity;
  path: string;
  message: string;
}

export type Tier = "system" | "middleware" | "databases" | "directory" | "application" | "remote";

/** One thing that must be recoverable, and how well it is. */
export interface CoverageRow {
  tier: Tier;
  /** e.g. "portal-1: PortalServer_root", "jcr", "remote crm-db". */
  source: string;
  /** Who protects it: dx-backup (restic or TSM), a delegated system, AWS Backup, or nobody. */
  protection: string;
  /** Our schedules (or the external schedule's description) that capture it. */
  schedules: string[];
  /** The longest time between two recovery points, over the next year (minutes). */
  rpoMinutes?: number;
  targetMinutes?: number;
  /** Age of the oldest restore point kept (days). */
  retentionDays?: number;
  /** partial: captured, but what is captured cannot bring the source back whole (see the finding). */
  status: "ok" | "not protected" | "RPO missed" | "evidence stale" | "unchecked" | "partial";
}

export interface CoverageReport {
  rows: CoverageRow[];
  findings: Finding[];
}

type Category = keyof CoverageInput["rpo"];

function target(coverage: CoverageInput, category: Category): number {
  return durationMinutes(coverage.rpo[category] ?? coverage.rpo.default);
}

const daysBetween = (from: string, to: Date) => (to.getTime() - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

/**
 * The coverage of every tier and data source against the schedules that
 * capture it: the worst-case RPO those schedules achieve against the target,
 * the retention horizon, and a finding for every gap. Pure: policy, the
 * retention outcomes and a clock in, report out.
 */
export function coverageReport(policy: Policy, retention: Record<string, RetentionOutcome>, now: Date): CoverageReport {
  const rows: CoverageRow[] = [];
  const findings: Finding[] = [];
  const gapSeverity: Severity = policy.production ? "error" : "warning";
  const backups = policy.schedules.filter((s) => s.kind === "backup");
  const rpoCache = new Map<string, number | undefined>();
  const rpoOf = (timed: Timed[]) => {
    const key = timed
      .map((t) => `${t.cron}@${t.timezone}`)
      .sort()
      .join("|");
    if (!rpoCache.has(key)) rpoCache.set(key, worstCaseRpoMinutes(timed, now));
    return rpoCache.get(key);
  };

  /** A row for something our schedules capture (or do not). */
  const ours = (args: {
    tier: Tier;
    source: string;
    category: Category;
    capturing: Schedule[];
    path: string;
    host?: Host;
    /** The source's own objective, when it has one (remote sources). */
    targetMinutes?: number;
  }) => {
    const { capturing } = args;
    const targetMinutes = args.targetMinutes ?? target(policy.coverage, args.category);
    const server = args.host?.tsm?.serverSchedule;
    const fileRow = args.host?.fileEngine === "tsm" && ["files", "iim"].includes(args.category);
    if (fileRow && server) {
      // The Spectrum Protect server schedules this node's file backups.
      const rpo = rpoOf([server]);
      return push({
        ...args,
        protection: `TSM server schedule ${server.name}`,
        schedules: [server.name],
        rpoMinutes: rpo,
        targetMinutes,
        timed: [server],
      });
    }
    if (capturing.length === 0) {
      findings.push({
        severity: gapSeverity,
        path: args.path,
        message: `${args.source} is captured by no schedule: nothing restores it`,
      });
      return push({ ...args, protection: "nobody", schedules: [], targetMinutes, status: "not protected" });
    }
    const rpoMinutes = rpoOf(capturing);
    const retentionDays = Math.max(...capturing.map((s) => retention[s.name]?.oldestDays ?? 0));
    const engine = fileRow ? "dx-backup (TSM)" : "dx-backup (restic)";
    return push({
      ...args,
      protection: engine,
      schedules: capturing.map((s) => s.name),
      rpoMinutes,
      targetMinutes,
      retentionDays,
      timed: capturing,
    });
  };

  /** RPO misses of the same schedules by the same margin: one finding for all their sources. */
  const misses = new Map<
    string,
    { sources: string[]; path: string; rpo: number; target: number; schedules: string[]; timed?: Timed[] }
  >();
  const push = (
    r: Omit<CoverageRow, "status"> & {
      status?: CoverageRow["status"];
      path: string;
      category?: Category;
      /** The schedules' times, to tell a daylight-saving night from a real gap. */
      timed?: Timed[];
    },
  ) => {
    let status = r.status ?? "ok";
    if (status === "ok" && r.targetMinutes !== undefined) {
      if (r.rpoMinutes === undefined) status = "unchecked";
      else if (r.rpoMinutes > r.targetMinutes) {
        status = "RPO missed";
        const key = `${r.schedules.join(",")}|${r.rpoMinutes}|${r.targetMinutes}`;
        const miss = misses.get(key) ?? {
          sources: [],
          path: r.path,
          rpo: r.rpoMinutes,
          target: r.targetMinutes,
          schedules: r.schedules,
          timed: r.timed,
        };
        miss.sources.push(r.source);
        misses.set(key, miss);
      }
    }
    rows.push({
      tier: r.tier,
      source: r.source,
      protection: r.protection,
      schedules: r.schedules,
      rpoMinutes: r.rpoMinutes,
      targetMinutes: r.targetMinutes,
      retentionDays: r.retentionDays,
      status,
    });
  };

  /** The backup schedules that capture FILE on HOST with its file systems (FILE at or under a target path). */
  const capturingPath = (host: Host, file: string) =>
    backups.filter(
      (s) =>
        s.hosts.includes(host.name) &&
        selectTargets(s.targets, host).some((t) =>
          t.paths.some((root) => file === root || file.startsWith(`${root.replace(/\/$/, "")}/`)),
        ),
    );
  const capturingPiece = (host: Host, match: (p: Piece) => boolean) =>
    backups.filter((s) => s.hosts.includes(host.name) && selectPieces(s, host, policy).some(match));

  // Middleware and application tiers, host by host.
  policy.hosts.forEach((host, hi) => {
    const all = selectTargets(undefined, host);
    for (const t of all) {
      const capturing = backups.filter(
        (s) => s.hosts.includes(host.name) && selectTargets(s.targets, host).some((x) => x.target === t.target),
      );
      const path =
        t.target === "iim"
          ? configPath(["hosts", hi, "iim"])
          : t.target === "custom"
            ? configPath(["hosts", hi, "customPaths"])
            : configPath(["hosts", hi, "roots", t.target]);
      ours({
        tier: "middleware",
        source: `${host.name}: ${TARGET_LABELS[t.target]}`,
        category: t.target === "iim" ? "iim" : "files",
        capturing,
        path,
        host,
      });
    }
    for (const root of WAS_PROFILE_ROOTS) {
      if (!host.roots[root]) continue;
      ours({
        tier: "middleware",
        source: `${host.name}: WebSphere configuration of ${TARGET_LABELS[root]}`,
        category: "wasConfig",
        capturing: capturingPiece(host, (p) => p.kind === "wasConfig" && p.profileRoot === root),
        path: configPath(["hosts", hi, "roots", root]),
      });
    }
    if (host.xmlaccess) {
      ours({
        tier: "application",
        source: `${host.name}: XMLAccess exports`,
        category: "xmlaccess",
        capturing: capturingPiece(host, (p) => p.kind === "xmlaccess"),
        path: configPath(["hosts", hi, "xmlaccess"]),
      });
    }
  });

  // Databases and the directory.
  policy.databases.forEach((d, i) => {
    const host = policy.hosts.find((h) => h.name === d.host);
    ours({
      tier: "databases",
      source: `${d.domain} (${d.engine})`,
      category: "databases",
      capturing: host ? capturingPiece(host, (p) => p.kind === "database" && p.database.domain === d.domain) : [],
      path: configPath(["databases", i]),
    });
    if (d.db2?.archiveLogging && host) findings.push(...db2ArchiveFindings(d.db2, host, i));
    if (d.domain === "dam") damBinaries(d, i);
  });
  if (policy.ldap) {
    const host = policy.hosts.find((h) => h.name === policy.ldap?.host);
    const source = `LDAP directory (${policy.ldap.kind})`;
    ours({
      tier: "directory",
      source,
      category: "ldap",
      capturing: host ? capturingPiece(host, (p) => p.kind === "ldap") : [],
      path: configPath(["ldap"]),
    });
    const search = policy.ldap.ldapsearch;
    if (search && !search.readsPasswords) {
      // Entries without their password hashes: a rebuilt directory has users nobody can log in as.
      const row = rows.find((r) => r.source === source);
      if (row?.status === "ok") row.status = "partial";
      findings.push({
        severity: gapSeverity,
        path: configPath(["ldap", "ldapsearch", "readsPasswords"]),
        message: `${source}: the export holds no password hashes unless ${search.bindDn} may read userPassword, so it cannot rebuild the directory (every user would need a new password): bind as a user who can read them and set readsPasswords: true (the agent then checks every export), or protect the directory with its own tools`,
      });
    }
  }

  // Remote information sources.
  policy.remoteSources.forEach((r, i) => {
    const path = configPath(["remoteSources", i]);
    const targetMinutes = durationMinutes(r.rpo);
    const source = `remote ${r.name} (${r.kind}, ${r.owner})`;
    if (r.byUs) {
      const host = policy.hosts.find((h) => h.name === r.byUs?.host);
      ours({
        tier: "remote",
        source,
        category: "default",
        capturing: host ? capturingPiece(host, (p) => p.kind === "remoteSource" && p.source.name === r.name) : [],
        path,
        targetMinutes,
      });
    } else if (r.delegated) {
      const age = daysBetween(r.delegated.lastVerified, now);
      const stale = age > policy.coverage.maxEvidenceAgeDays;
      if (stale) {
        findings.push({
          severity: "warning",
          path: configPath(["remoteSources", i, "delegated", "lastVerified"]),
          message: `${source}: the delegated backup (${r.delegated.system}) was last verified ${Math.floor(age)} days ago, more than ${policy.coverage.maxEvidenceAgeDays}: ask ${r.owner} for a restore test`,
        });
      }
      rows.push({
        tier: "remote",
        source,
        protection: `delegated: ${r.delegated.system}, ${r.delegated.frequency}; evidence ${r.delegated.evidence}, verified ${r.delegated.lastVerified}`,
        schedules: [],
        targetMinutes,
        status: stale ? "evidence stale" : "ok",
      });
    } else {
      findings.push({
        severity: gapSeverity,
        path,
        message: `${source}: nobody protects it: back it up byUs or declare it delegated with evidence`,
      });
      rows.push({
        tier: "remote",
        source,
        protection: "nobody",
        schedules: [],
        targetMinutes,
        status: "not protected",
      });
    }
  });

  // The system tier: whole hosts.
  const sys = policy.system;
  policy.hosts.forEach((host, hi) => {
    const source = `${host.name}: whole host`;
    const targetMinutes = target(policy.coverage, "system");
    const external = sys?.external.find((e) => e.hosts.includes(host.name));
    if (host.ec2 && sys?.aws) {
      push({
        tier: "system",
        source,
        protection: `AWS Backup${sys.aws.copyToRegion ? `, copied to ${sys.aws.copyToRegion}` : ""}${sys.aws.vaultLock ? ", vault lock" : ""}`,
        schedules: [`AWS Backup ${sys.aws.cron} (${sys.aws.timezone})`],
        rpoMinutes: rpoOf([{ cron: sys.aws.cron, timezone: sys.aws.timezone }]),
        targetMinutes,
        retentionDays: sys.aws.deleteAfterDays,
        path: configPath(["system", "aws"]),
      });
    } else if (external) {
      const age = daysBetween(external.lastVerified, now);
      const stale = age > policy.coverage.maxEvidenceAgeDays;
      if (stale) {
        findings.push({
          severity: "warning",
          path: configPath(["system", "external", sys!.external.indexOf(external), "lastVerified"]),
          message: `${source}: ${external.tool} was last verified ${Math.floor(age)} days ago, more than ${policy.coverage.maxEvidenceAgeDays}: ask ${external.owner} for a bare-metal restore test`,
        });
      }
      push({
        tier: "system",
        source,
        protection: `external: ${external.tool} (${external.owner}); evidence ${external.evidence}, verified ${external.lastVerified}`,
        schedules: [`${external.tool} ${external.cron} (${external.timezone})`],
        rpoMinutes: rpoOf([{ cron: external.cron, timezone: external.timezone }]),
        targetMinutes,
        status: stale ? "evidence stale" : undefined,
        path: configPath(["system", "external", sys!.external.indexOf(external)]),
      });
    } else {
      findings.push({
        severity: gapSeverity,
        path: configPath(["hosts", hi]),
        message: host.ec2
          ? `${source}: an EC2 host without dxbackup:system.aws: nothing brings the whole host back`
          : `${source}: no system backup is declared for it (dxbackup:system.external): nothing brings the whole host back`,
      });
      rows.push({
        tier: "system",
        source,
        protection: "nobody",
        schedules: [],
        targetMinutes,
        status: "not protected",
      });
    }
  });

  /**
   * DAM is its database and its binaries: the database alone restores metadata that points
   * at asset files nobody captured. The binaries are a row of their own, with their RPO.
   */
  function damBinaries(d: Policy["databases"][number], i: number): void {
    const path = configPath(["databases", i, "damBinaries"]);
    const bin = d.damBinaries;
    const host = bin && policy.hosts.find((h) => h.name === bin.host);
    if (!bin || !host) {
      findings.push({
        severity: gapSeverity,
        path,
        message:
          "dam: only the DAM database is declared, which holds the assets' metadata; the binaries (DAM's persistent volume) are the other half: declare damBinaries: { host, path } where the volume is mounted, and add that path to the host's customPaths",
      });
      return;
    }
    ours({
      tier: "application",
      source: `dam binaries (${host.name}: ${bin.path})`,
      category: "databases",
      // In the same recovery point as the DAM database.
      capturing: capturingPath(host, bin.path).filter((s) => s.databases.includes("dam")),
      path,
      host,
    });
  }

  /**
   * A DB2 database rolls forward past the end of its backup (`restore --until`) only with
   * its archived logs: they are captured with the host's files, or coverage says they are not.
   */
  function db2ArchiveFindings(db2: NonNullable<Policy["databases"][number]["db2"]>, host: Host, i: number): Finding[] {
    const at = configPath(["databases", i, "db2", "archiveLogPath"]);
    const hi = policy.hosts.indexOf(host);
    if (!db2.archiveLogPath)
      return [
        {
          severity: "warning",
          path: at,
          message: `DB2 ${db2.database}: where its logs are archived is not declared, so nothing captures them and a restore can roll forward only to the end of a backup: set archiveLogPath to the path of LOGARCHMETH1 (DISK:<path>) and add that path to the customPaths of the host DB2 runs on (hosts[${hi}], ${host.name}, when that is the one)`,
        },
      ];
    const archive = db2.archiveLogPath;
    return capturingPath(host, archive).length
      ? []
      : [
          {
            severity: "warning",
            path: at,
            message: `DB2 ${db2.database}: its archived logs in ${archive} are captured by no schedule on ${host.name}, so a restore can roll forward only to the end of a backup: add { name: db2-archive-${db2.database.toLowerCase()}, path: ${archive} } to hosts[${hi}].customPaths (and 'custom' to the targets of a schedule that lists targets)`,
          },
        ];
  }

  for (const m of misses.values()) {
    // Many sources: the schedule is what to change.
    const si = policy.schedules.findIndex((x) => x.name === m.schedules[0]);
    const path = m.sources.length > 1 && si >= 0 ? configPath(["schedules", si, "cron"]) : m.path;
    findings.push({ severity: gapSeverity, path, message: rpoMissMessage(m) });
  }

  /**
   * One finding for every source one set of schedules misses by the same margin. A daily run at
   * a fixed wall-clock time is 25 hours after the previous one on the night the clocks go back:
   * when the same schedules would meet the target in UTC, that night is the whole miss, and the
   * finding says so (instead of one finding per file system that does not say why).
   */
  function rpoMissMessage(m: {
    sources: string[];
    rpo: number;
    target: number;
    schedules: string[];
    timed?: Timed[];
  }): string {
    const what = `worst-case RPO ${formatMinutes(m.rpo)} misses the target ${formatMinutes(m.target)} (${m.schedules.join(", ")})`;
    const head =
      m.sources.length === 1
        ? `${m.sources[0]}: ${what}`
        : `${what} for ${m.sources.length} sources: ${m.sources.join(", ")}`;
    const zones = [...new Set((m.timed ?? []).map((t) => t.timezone))];
    const inUtc = m.timed?.length ? rpoOf(m.timed.map((t) => ({ cron: t.cron, timezone: "UTC" }))) : undefined;
    if (zones.length !== 1 || zones[0] === "UTC" || inUtc === undefined || inUtc > m.target) return head;
    return `${head}. Only the daylight-saving change in ${zones[0]} makes the gap: on the night the clocks go back, a run at the same wall-clock time comes ${formatMinutes(m.rpo)} after the one before. Add a second run on that day (or every day), or accept ${formatMinutes(m.rpo)} in dxbackup:coverage.rpo`;
  }

  const order: Tier[] = ["system", "middleware", "databases", "directory", "application", "remote"];
  rows.sort((a, b) => order.indexOf(a.tier) - order.indexOf(b.tier));
  return { rows, findings };
}

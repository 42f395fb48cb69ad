import { TARGET_LABELS } from "../policy/defaults";
import type { PolicyIssue } from "../policy/errors";
import type { Retention, Target } from "../policy/schema";
import { selectPieces, type Piece } from "../policy/pieces";
import type { Domain } from "../policy/captureSchema";
import { selectTargets } from "../policy/targets";
import type { Policy, ScheduleTiming, Storage } from "../policy/types";
import { describeCron, nextRuns } from "../schedule/cron";
import { simulateRetention, type RetentionOutcome } from "../schedule/retention";
import { coverageReport, type CoverageRow, type Finding } from "../coverage/report";
import { checkGuardrails } from "../guardrails/rules";
import { renderRunbook } from "../render/runbook";
import { policyWarnings } from "./warnings";

/** A resource as the plan lists it (inputs with secrets masked). */
export interface PlanResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** The lifecycle options the engine acts on, where the program set them. */
  options?: PlanResourceOptions;
}

/** What the engine does with a resource beyond its inputs: what a reviewer must see in a plan. */
export interface PlanResourceOptions {
  /** The engine refuses to delete (or replace) it. */
  protect?: true;
  /** A delete (a destroy, a removal from the program) leaves it in the cloud. */
  retainOnDelete?: true;
  /** A replacement deletes the old one before it creates the new one. */
  deleteBeforeReplace?: true;
  /** Names of the resources it is created after. */
  dependsOn?: string[];
  /** The name of the explicit provider it is managed with (none: the default provider). */
  provider?: string;
}

/** "  [protected]" or "  [retained on delete]" after a resource's name; "" for neither. */
export function lifecycleNote(r: { options?: PlanResourceOptions }): string {
  const notes = [r.options?.protect && "protected", r.options?.retainOnDelete && "retained on delete"].filter(Boolean);
  return notes.length ? `  [${notes.join(", ")}]` : "";
}

export interface PlanTarget {
  target: Target;
  label: string;
  paths: string[];
}

/** A piece a tool captures, as the plan lists it. */
export interface PlanPiece {
  name: string;
  kind: Piece["kind"];
  label: string;
}

const ENGINE_LABELS: Record<string, string> = {
  db2: "DB2",
  oracle: "Oracle RMAN",
  sqlserver: "SQL Server",
  derby: "Derby",
  postgresql: "PostgreSQL",
};

/** "database jcr (DB2 JCRDB, online with logs)" and the like. */
export function pieceLabel(p: Piece, mode: "online" | "offline"): string {
  switch (p.kind) {
    case "database": {
      const d = p.database;
      const name =
        d.db2?.database ?? d.oracle?.sid ?? d.sqlserver?.database ?? d.derby?.url ?? d.postgresql?.database ?? "";
      const how =
        d.engine === "db2"
          ? mode === "online"
            ? "online, include logs"
            : "offline"
          : d.engine === "oracle"
            ? "plus archive logs"
            : d.engine === "sqlserver"
              ? "with checksum, verified"
              : d.engine === "postgresql"
                ? "pg_dump streamed"
                : "SYSCS_BACKUP_DATABASE";
      return `database ${d.domain} (${ENGINE_LABELS[d.engine]} ${name}, ${how})`;
    }
    case "ldap":
      return `LDAP directory (${p.ldap.kind === "openldap" ? "slapcat" : p.ldap.kind === "isds" ? "idsdbback" : "ldapsearch"})`;
    case "wasConfig":
      return `WebSphere configuration (backupConfig -nostop of ${TARGET_LABELS[p.profileRoot]})`;
    case "xmlaccess":
      return p.virtualPortal
        ? `XMLAccess export of virtual portal ${p.virtualPortal}`
        : "XMLAccess export of the base portal";
    case "remoteSource":
      return `remote source ${p.source.name} (${p.source.byUs?.postgresql ? "pg_dump streamed" : `output of \`${p.source.byUs?.command?.run}\``})`;
  }
}

/** Everything `dxbackup plan` reports; the JSON format is exactly this. */
export interface PlanReport {
  stack: string;
  policy: string;
  environment: string;
  production: boolean;
  /** The clock the next runs and retention were computed from. */
  now: string;
  storage: { kind: Storage["kind"]; description: string };
  resources: PlanResource[];
  hosts: Array<{
    name: string;
    address: string;
    port: number;
    user: string;
    role: string;
    scheduler: string;
    offlineProcedure: boolean;
    schedules: string[];
    /** Names the host had before (its resources are aliased to them). */
    formerNames: string[];
  }>;
  schedules: Array<
    ScheduleTiming & {
      description: string;
      nextRuns: string[];
      hosts: string[];
      /** Per host: what one run captures. */
      captures: Record<string, PlanTarget[]>;
      /** Per host: what tools capture in the same run. */
      pieces: Record<string, PlanPiece[]>;
      /** The database domains the schedule captures, on whichever host. */
      databases: Domain[];
    }
  >;
  /** The database domains the stack declares. */
  databases: Domain[];
  /** Per schedule: what its retention keeps on each host in steady state. */
  retention: Record<string, RetentionOutcome & { policy: Retention }>;
  warnings: PolicyIssue[];
  /** Every tier and data source against the schedules that capture it, with the RPO they achieve. */
  coverage: CoverageRow[];
  /** Every gap and warning, with its severity (`--fail-on` gates on these). */
  findings: Finding[];
  /** The restore runbook (Markdown), as the stack exports it. */
  runbook: string;
}

export function describeStorage(storage: Storage): string {
  switch (storage.kind) {
    case "s3": {
      const s = storage.s3;
      const parts = [
        `new AWS S3 bucket${s.bucketName ? ` '${s.bucketName}'` : ""} in ${s.region}`,
        "versioned",
        "KMS-encrypted",
        "TLS only",
      ];
      if (s.objectLock) parts.push(`object lock ${s.objectLock.mode} ${s.objectLock.days} days`);
      if (s.replication) parts.push(`replicated to ${s.replication.region}`);
      parts.push(`old versions expire after ${s.noncurrentVersionDays} days`);
      return parts.join(", ");
    }
    case "s3Compatible":
      return `existing S3-compatible bucket '${storage.s3Compatible.bucket}' at ${storage.s3Compatible.endpoint}`;
    case "sftp":
      return `SFTP ${storage.sftp.user}@${storage.sftp.host}:${storage.sftp.path}`;
    case "rest":
      return `rest-server ${storage.rest.url}, one user per host${storage.rest.appendOnly ? ", append-only (retention by dxbackup prune on the server)" : ""}`;
    case "filesystem":
      return `directory ${storage.filesystem.path} on each host`;
  }
}

/** Builds the plan from a validated policy and the resources the program registered. Pure. */
export function buildPlanReport(args: {
  stack: string;
  policy: Policy;
  resources: PlanResource[];
  now: Date;
  nextRunCount?: number;
}): PlanReport {
  const { policy, now } = args;
  const retention: PlanReport["retention"] = {};
  for (const s of policy.schedules.filter((x) => x.kind === "backup")) {
    retention[s.name] = { policy: s.retention, ...simulateRetention(s.cron, s.timezone, s.retention, now) };
  }
  const coverage = coverageReport(policy, retention, now);
  // The organisation's guardrails, exactly as the policy pack runs them at `pulumi preview`.
  const guardrails: Finding[] = checkGuardrails(
    args.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs })),
  ).map((v) => ({
    severity: "error",
    path: `guardrail:${v.rule}`,
    message: `${v.resource ? `${v.resource} ` : ""}${v.message}`,
  }));
  const findings: Finding[] = [
    ...guardrails,
    ...coverage.findings.filter((f) => f.severity === "error"),
    ...policyWarnings(policy, retention, now).map((w) => ({ severity: "warning" as const, ...w })),
    ...coverage.findings.filter((f) => f.severity === "warning"),
  ];
  return {
    stack: args.stack,
    policy: policy.name,
    environment: policy.environment,
    production: policy.production,
    now: now.toISOString(),
    storage: { kind: policy.storage.kind, description: describeStorage(policy.storage) },
    resources: args.resources,
    hosts: policy.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: h.ssh.port,
      user: h.ssh.user,
      role: h.role,
      scheduler: h.agent.scheduler,
      offlineProcedure: h.offline !== undefined,
      schedules: policy.schedules.filter((s) => s.hosts.includes(h.name)).map((s) => s.name),
      formerNames: h.formerNames,
    })),
    schedules: policy.schedules.map((s) => ({
      name: s.name,
      kind: s.kind,
      cron: s.cron,
      timezone: s.timezone,
      mode: s.mode,
      description: describeCron(s.cron, s.timezone),
      nextRuns: nextRuns(s.cron, s.timezone, now, args.nextRunCount ?? 5).map((d) => d.toISOString()),
      hosts: s.hosts,
      captures: Object.fromEntries(
        policy.hosts
          .filter((h) => s.hosts.includes(h.name))
          .map((h) => [
            h.name,
            s.kind === "drill"
              ? []
              : selectTargets(s.targets, h).map((t) => ({ ...t, label: TARGET_LABELS[t.target] })),
          ]),
      ),
      pieces: Object.fromEntries(
        policy.hosts
          .filter((h) => s.hosts.includes(h.name))
          .map((h) => [
            h.name,
            selectPieces(s, h, policy).map((p) => ({ name: p.name, kind: p.kind, label: pieceLabel(p, s.mode) })),
          ]),
      ),
      databases: policy.databases
        .filter((d) => s.databases.includes(d.domain) && s.hosts.includes(d.host))
        .map((d) => d.domain),
      retention: s.retention,
    })),
    databases: policy.databases.map((d) => d.domain),
    retention,
    warnings: findings.filter((f) => f.severity === "warning").map(({ path, message }) => ({ path, message })),
    coverage: coverage.rows,
    findings,
    runbook: renderRunbook(
      policy,
      policy.storage.kind === "s3" ? (policy.storage.s3.bucketName ?? "<bucket>") : undefined,
    ),
  };
}

import { readFileSync } from "node:fs";
import type { Finding } from "../components/coverage/report";
import { PolicyError } from "../components/policy/errors";
import { loadPolicy, type StackConfig } from "../components/policy/load";
import type { Policy, Schedule } from "../components/policy/types";
import { previousRuns } from "../components/schedule/cron";
import {
  fetchStateFromRepository,
  fetchStateOverSsh,
  type HostState,
  readStateDir,
  type RepositoryAccess,
  UnreadableState,
} from "./hostState";
import type { CommandResult } from "./plan/command";

export interface ScheduleStatus {
  schedule: string;
  lastRun?: { runId: string; end: string; result: string; failedStep?: string | null; message?: string | null };
  lastSuccess?: string;
  lastFailure?: { end: string; result: string; failedStep?: string | null; message?: string | null };
  /** Fire times since the last success that produced no successful run. */
  missedRuns: string[];
}

export interface HostStatus {
  host: string;
  reachable: boolean;
  /** Reached, but its runs.jsonl or drill-status.json is not what an agent writes. */
  unreadable?: boolean;
  error?: string;
  schedules: ScheduleStatus[];
  lastVerified?: string;
  lastDrill?: { result: string; end: string; failedStep?: string | null };
}

export interface StatusReport {
  stack: string;
  now: string;
  hosts: HostStatus[];
  findings: Finding[];
}

/** A run that starts on time may take this long before its status shows it. */
const GRACE_MS = 3 * 3600_000;

/**
 * A successful run, or one known only from the recovery point it left in the
 * repository (`recorded`: its status travels with the next run's record).
 */
function producedRecoveryPoint(run: HostState["runs"][number]): boolean {
  return run.result === "success" || run.result === "recorded";
}

/** Fire times of a schedule after `since` (or in the last week when never) that are older than the grace period. */
function expectedSince(s: Schedule, since: Date | undefined, now: Date): Date[] {
  const out: Date[] = [];
  const floor = since ?? new Date(now.getTime() - 7 * 86_400_000);
  for (const t of previousRuns(s.cron, s.timezone, now)) {
    if (t.getTime() <= floor.getTime()) break;
    if (now.getTime() - t.getTime() > GRACE_MS) out.push(t);
  }
  return out.reverse();
}

/**
 * Drift and evidence: for every host and schedule, the last success, the
 * last failure and its step, the runs that should have happened since the
 * last success and did not (missed runs are findings), and the last verified
 * drill against the drill schedule. Pure: the policy, each host's state and a
 * clock in.
 */
export function statusReport(
  stack: string,
  policy: Policy,
  states: Record<string, HostState | Error>,
  now: Date,
): StatusReport {
  const findings: Finding[] = [];
  const hosts: HostStatus[] = policy.hosts.map((host, hi) => {
    const state = states[host.name];
    if (!state || state instanceof Error) {
      findings.push({
        severity: "error",
        path: `dxbackup:hosts[${hi}]`,
        message: `${host.name}: cannot read the agent's status (${state instanceof Error ? state.message : "no state"})`,
      });
      return {
        host: host.name,
        reachable: false,
        ...(state instanceof UnreadableState ? { unreadable: true } : {}),
        error: state instanceof Error ? state.message : "no state",
        schedules: [],
      };
    }
    const schedules = policy.schedules.filter((s) => s.hosts.includes(host.name) && s.kind === "backup");
    const statuses = schedules.map((s): ScheduleStatus => {
      const runs = state.runs.filter((r) => r.schedule === s.name);
      const last = runs[runs.length - 1];
      const success = [...runs].reverse().find((r) => r.result === "success");
      const newestPoint = [...runs].reverse().find((r) => producedRecoveryPoint(r));
      const failure = [...runs].reverse().find((r) => !producedRecoveryPoint(r));
      const since = newestPoint ? new Date(newestPoint.end) : undefined;
      const missed = expectedSince(s, since, now).map((d) => d.toISOString());
      if (missed.length) {
        findings.push({
          severity: policy.production ? "error" : "warning",
          path: `dxbackup:schedules[${policy.schedules.indexOf(s)}]`,
          message: `${host.name} / ${s.name}: ${missed.length} run(s) since ${newestPoint ? `the last ${newestPoint.result === "success" ? "success" : "recovery point"} at ${newestPoint.end}` : "the last week"} produced no recovery point (the first due ${missed[0]})${failure ? `; the last failure: ${failure.result} at step ${failure.failedStep}` : ""}`,
        });
      }
      return {
        schedule: s.name,
        lastRun: last && {
          runId: last.runId,
          end: last.end,
          result: last.result,
          failedStep: last.failedStep,
          message: last.message,
        },
        lastSuccess: success?.end,
        lastFailure: failure && {
          end: failure.end,
          result: failure.result,
          failedStep: failure.failedStep,
          message: failure.message,
        },
        missedRuns: missed,
      };
    });
    const drill = state.drill;
    const verified = drill?.result === "success" ? drill.end : undefined;
    for (const d of policy.schedules.filter((s) => s.kind === "drill" && s.hosts.includes(host.name))) {
      const due = expectedSince(d, verified ? new Date(verified) : undefined, now);
      if (due.length) {
        findings.push({
          severity: "warning",
          path: `dxbackup:schedules[${policy.schedules.indexOf(d)}]`,
          message: `${host.name}: no verified restore drill since ${verified ?? "the last week"} although '${d.name}' was due ${due.length} time(s)${drill?.result === "failed" ? `; the last drill failed at step ${drill.failedStep}` : ""}`,
        });
      }
    }
    return {
      host: host.name,
      reachable: true,
      schedules: statuses,
      lastVerified: verified,
      lastDrill: drill && { result: drill.result, end: drill.end, failedStep: drill.failedStep },
    };
  });
  return { stack, now: now.toISOString(), hosts, findings };
}

export function renderStatusText(r: StatusReport): string {
  const out = [`dx-backup status of stack '${r.stack}' at ${r.now}`, ""];
  for (const h of r.hosts) {
    out.push(`${h.host}${h.reachable ? "" : `: ${h.unreadable ? "STATE UNREADABLE" : "UNREACHABLE"} (${h.error})`}`);
    for (const s of h.schedules) {
      const last = !s.lastRun
        ? "never ran"
        : s.lastRun.result === "recorded"
          ? `recorded at ${s.lastRun.end} (its recovery point is in the repository; its status comes with the next run)`
          : `${s.lastRun.result} at ${s.lastRun.end}`;
      out.push(`  ${s.schedule}: last run ${last}; last success ${s.lastSuccess ?? "never"}`);
      if (s.lastFailure)
        out.push(
          `    last failure: ${s.lastFailure.result} at ${s.lastFailure.end}, step ${s.lastFailure.failedStep}: ${s.lastFailure.message}`,
        );
      if (s.missedRuns.length) out.push(`    MISSED ${s.missedRuns.length} run(s), the first due ${s.missedRuns[0]}`);
    }
    if (h.reachable)
      out.push(
        `  restore drill: last verified ${h.lastVerified ?? "never"}${h.lastDrill ? ` (last drill ${h.lastDrill.result} at ${h.lastDrill.end})` : ""}`,
      );
  }
  out.push("");
  if (!r.findings.length) out.push("Findings: none");
  else {
    out.push(`Findings (${r.findings.length}):`);
    for (const f of r.findings) out.push(`  ${f.severity === "error" ? "ERROR" : "warning"} ${f.path}: ${f.message}`);
  }
  return `${out.join("\n")}\n`;
}

export interface StatusOptions {
  stack: string;
  config: StackConfig;
  /** The SSH private key the hosts accept (as `pulumi config get --show-secrets dxbackup:sshPrivateKey` prints it). */
  sshKeyFile?: string;
  /** host=dir: read that host's state from a local copy instead of over SSH. */
  stateDirs?: Record<string, string>;
  /** Read the hosts' state from their restic repositories instead of over SSH. */
  repository?: RepositoryAccess;
  format: "text" | "json";
  now?: Date;
  failOn?: "warning" | "error";
}

/** `dxbackup status`: reads every host's agent state and reports drift and evidence. */
export async function statusCommand(opts: StatusOptions): Promise<CommandResult> {
  let policy: Policy;
  try {
    policy = loadPolicy(opts.config);
  } catch (err) {
    if (err instanceof PolicyError)
      return { exitCode: 2, stdout: "", stderr: err.issues.map((i) => `${i.path}: ${i.message}\n`).join("") };
    throw err;
  }
  const key = opts.sshKeyFile ? readFileSync(opts.sshKeyFile, "utf8") : undefined;
  const states: Record<string, HostState | Error> = {};
  await Promise.all(
    policy.hosts.map(async (h) => {
      try {
        if (opts.stateDirs?.[h.name]) states[h.name] = readStateDir(opts.stateDirs[h.name]);
        else if (opts.repository) states[h.name] = await fetchStateFromRepository(policy, h, opts.repository);
        else if (key) states[h.name] = await fetchStateOverSsh(h, key);
        else states[h.name] = new Error("give --password-file FILE, --ssh-key FILE or --state-dir host=DIR");
      } catch (err) {
        states[h.name] = err as Error;
      }
    }),
  );
  const report = statusReport(opts.stack, policy, states, opts.now ?? new Date());
  const gate = report.findings.some(
    (f) => opts.failOn === "warning" || (opts.failOn === "error" && f.severity === "error"),
  );
  return {
    exitCode: gate ? 1 : 0,
    stdout: opts.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderStatusText(report),
    stderr: "",
  };
}

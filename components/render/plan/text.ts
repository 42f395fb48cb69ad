import { lifecycleNote, type PlanReport } from "../../plan/report";
import { formatMinutes } from "../../coverage/rpo";
import { formatDays } from "../../plan/warnings";
import { localTime, restorePointsInWords, retentionInWords } from "./words";

/** The plan for people at a terminal. */
export function renderPlanText(plan: PlanReport): string {
  const out: string[] = [];
  const env = `${plan.environment}${plan.production ? ", production" : ""}`;
  out.push(`dx-backup plan for stack '${plan.stack}' (environment ${env}), policy ${plan.policy}`);
  out.push(`computed at ${plan.now}`);
  out.push("");
  out.push(`Storage: ${plan.storage.description}`);
  out.push("  one restic repository per host, encrypted with the stack's repository password");
  out.push("");
  out.push(`Resources: pulumi up would create ${plan.resources.length}`);
  const width = Math.max(...plan.resources.map((r) => r.type.length));
  for (const r of plan.resources) out.push(`  + ${r.type.padEnd(width)}  ${r.name}${lifecycleNote(r)}`);
  out.push("");
  out.push(`Hosts (${plan.hosts.length}):`);
  for (const h of plan.hosts) {
    out.push(`  ${h.name}: ${h.role}, ${h.user}@${h.address}:${h.port}, scheduler ${h.scheduler}`);
    out.push(`    schedules: ${h.schedules.length ? h.schedules.join(", ") : "none (nothing is backed up)"}`);
  }
  out.push("");
  out.push(`Schedules (${plan.schedules.length}):`);
  for (const s of plan.schedules) {
    const r = plan.retention[s.name];
    if (s.kind === "drill") {
      out.push(`  ${s.name}: restore drill, ${s.description}  [cron '${s.cron}']`);
      out.push(
        `    restores the latest recovery point of ${s.hosts.join(", ")} into a scratch directory and verifies it`,
      );
      out.push(`    next runs: ${s.nextRuns.map((d) => localTime(d, s.timezone)).join("; ")}`);
      continue;
    }
    out.push(`  ${s.name}: ${s.mode}, ${s.description}  [cron '${s.cron}']`);
    for (const host of s.hosts) {
      out.push(`    ${host} captures:`);
      for (const t of s.captures[host]) out.push(`      ${t.label}: ${t.paths.join(", ")}`);
      for (const p of s.pieces[host]) out.push(`      ${p.label}`);
    }
    const missing = plan.databases.filter((d) => !s.databases.includes(d));
    if (plan.databases.length) {
      out.push(
        `    databases: ${s.databases.join(", ") || "none"}${missing.length ? `; NOT captured: ${missing.join(", ")}` : ""}`,
      );
    }
    out.push(`    next runs: ${s.nextRuns.map((d) => localTime(d, s.timezone)).join("; ")}`);
    out.push(`    retention: ${retentionInWords(s.retention)} -> ${restorePointsInWords(r)}`);
  }
  out.push("");
  out.push("Coverage (worst-case RPO over the next year, against the target):");
  for (const r of plan.coverage) {
    const rpo = r.rpoMinutes === undefined ? "-" : formatMinutes(r.rpoMinutes);
    const goal = r.targetMinutes === undefined ? "-" : formatMinutes(r.targetMinutes);
    const kept = r.retentionDays === undefined ? "" : `, kept ${formatDays(r.retentionDays)}`;
    out.push(`  [${r.status === "ok" ? "ok" : r.status.toUpperCase()}] ${r.tier}: ${r.source}`);
    out.push(
      `      ${r.protection}${r.schedules.length ? ` (${r.schedules.join(", ")})` : ""}; RPO ${rpo} / target ${goal}${kept}`,
    );
  }
  out.push("");
  if (plan.findings.length === 0) out.push("Findings: none");
  else {
    out.push(`Findings (${plan.findings.length}):`);
    for (const f of plan.findings)
      out.push(`  ${f.severity === "error" ? "ERROR" : "warning"} ${f.path}: ${f.message}`);
  }
  return `${out.join("\n")}\n`;
}

import type { PlanReport } from "../../plan/report";
import { runsBetween } from "../../schedule/cron";

const pad = (n: number) => String(n).padStart(2, "0");
const utc = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;

/**
 * One week of runs per host as a Mermaid gantt chart (code hosts render it
 * as a picture): offline runs, when the servers are down, are marked
 * critical; drills are marked active. Times in UTC.
 */
export function renderWeekGantt(plan: PlanReport, runMinutes = 30): string {
  const from = new Date(plan.now);
  const to = new Date(from.getTime() + 7 * 86_400_000);
  const lines = [
    "```mermaid",
    "gantt",
    `  title One week of runs from ${utc(from)} UTC (offline runs in red: servers stopped)`,
    "  dateFormat YYYY-MM-DD HH:mm",
    "  axisFormat %a %H:%M",
  ];
  for (const host of plan.hosts) {
    const mine = plan.schedules.filter((s) => s.hosts.includes(host.name));
    if (!mine.length) continue;
    lines.push(`  section ${host.name}`);
    for (const s of mine) {
      const tag = s.kind === "drill" ? "active, " : s.mode === "offline" ? "crit, " : "";
      for (const t of runsBetween(s.cron, s.timezone, from, to))
        lines.push(`    ${s.name} :${tag}${utc(t)}, ${runMinutes}m`);
    }
  }
  lines.push("```");
  return lines.join("\n");
}

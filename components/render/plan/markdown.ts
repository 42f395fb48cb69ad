import { lifecycleNote, type PlanReport } from "../../plan/report";
import { formatMinutes } from "../../coverage/rpo";
import { formatDays } from "../../plan/warnings";
import { countByType, localTime, restorePointsInWords, retentionInWords } from "./words";

/** Table cells may not contain '|' or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
}

/** The plan for a pull-request comment. */
export function renderPlanMarkdown(plan: PlanReport): string {
  const out: string[] = [];
  out.push(`## dx-backup plan: \`${plan.stack}\``);
  out.push("");
  out.push(
    `Policy **${plan.policy}**, environment **${plan.environment}**${plan.production ? " (production)" : ""}. Computed at ${plan.now}.`,
  );
  out.push("");
  if (plan.findings.length) {
    out.push(`### ⚠️ Findings (${plan.findings.length})`);
    out.push("");
    for (const f of plan.findings)
      out.push(`- ${f.severity === "error" ? "**error**" : "warning"} \`${f.path}\`: ${f.message}`);
    out.push("");
  }
  out.push("### Coverage");
  out.push("");
  out.push(
    ...table(
      ["Tier", "Data", "Protected by", "Worst-case RPO", "Target", "Oldest restore point", "Status"],
      plan.coverage.map((r) => [
        r.tier,
        r.source,
        `${r.protection}${r.schedules.length ? ` (${r.schedules.join(", ")})` : ""}`,
        r.rpoMinutes === undefined ? "—" : formatMinutes(r.rpoMinutes),
        r.targetMinutes === undefined ? "—" : formatMinutes(r.targetMinutes),
        r.retentionDays === undefined ? "—" : formatDays(r.retentionDays),
        r.status === "ok" ? "✅" : `❌ ${r.status}`,
      ]),
    ),
  );
  out.push("");
  out.push("### Schedules");
  out.push("");
  out.push(
    ...table(
      ["Schedule", "Mode", "When", "Hosts", "Retention", "Restore points"],
      plan.schedules.map((s) =>
        s.kind === "drill"
          ? [
              `\`${s.name}\``,
              "restore drill",
              `${s.description} (\`${s.cron}\`)`,
              s.hosts.join(", "),
              "—",
              "verifies the latest",
            ]
          : [
              `\`${s.name}\``,
              s.mode,
              `${s.description} (\`${s.cron}\`)`,
              s.hosts.join(", "),
              retentionInWords(s.retention),
              restorePointsInWords(plan.retention[s.name]),
            ],
      ),
    ),
  );
  out.push("");
  out.push("Next runs:");
  out.push("");
  for (const s of plan.schedules)
    out.push(`- \`${s.name}\`: ${s.nextRuns.map((d) => localTime(d, s.timezone)).join(", ")}`);
  out.push("");
  out.push("### Pieces of each recovery point");
  out.push("");
  const has = (s: PlanReport["schedules"][number], kind: string) =>
    s.hosts.some((h) => s.pieces[h].some((p) => p.kind === kind));
  const mark = (yes: boolean) => (yes ? "✅" : "❌");
  out.push(
    ...table(
      ["Schedule", "Files", "IIM", ...plan.databases, "LDAP", "WAS config", "XMLAccess"],
      plan.schedules
        .filter((s) => s.kind === "backup")
        .map((s) => [
          `\`${s.name}\``,
          mark(s.hosts.some((h) => s.captures[h].some((t) => t.target !== "iim"))),
          mark(s.hosts.some((h) => s.captures[h].some((t) => t.target === "iim"))),
          ...plan.databases.map((d) => mark(s.databases.includes(d))),
          mark(has(s, "ldap")),
          mark(has(s, "wasConfig")),
          mark(has(s, "xmlaccess")),
        ]),
    ),
  );
  out.push("");
  out.push("### What each run captures");
  out.push("");
  out.push(
    ...table(
      ["Schedule", "Host", "Target", "Paths"],
      plan.schedules.flatMap((s) =>
        s.hosts.flatMap((h) => [
          ...s.captures[h].map((t) => [`\`${s.name}\``, h, t.label, t.paths.map((p) => `\`${p}\``).join(", ")]),
          ...s.pieces[h].map((p) => [`\`${s.name}\``, h, p.label, "(made by the tool, in the same run)"]),
        ]),
      ),
    ),
  );
  out.push("");
  out.push("### Hosts");
  out.push("");
  out.push(
    ...table(
      ["Host", "Role", "SSH", "Scheduler", "Schedules"],
      plan.hosts.map((h) => [
        h.name,
        h.role,
        `${h.user}@${h.address}:${h.port}`,
        h.scheduler,
        h.schedules.join(", ") || "**none**",
      ]),
    ),
  );
  out.push("");
  out.push(`### Storage`);
  out.push("");
  out.push(plan.storage.description);
  out.push("");
  out.push(`<details><summary>Resources: <code>pulumi up</code> would create ${plan.resources.length}</summary>`);
  out.push("");
  out.push(
    ...table(
      ["Type", "Count"],
      countByType(plan.resources).map(([t, n]) => [`\`${t}\``, String(n)]),
    ),
  );
  out.push("");
  out.push(
    ...table(
      ["Type", "Name"],
      plan.resources.map((r) => [`\`${r.type}\``, `\`${r.name}\`${lifecycleNote(r)}`]),
    ),
  );
  out.push("");
  out.push("</details>");
  out.push("");
  out.push("<details><summary>Restore runbook</summary>");
  out.push("");
  // The runbook's own headings, one level down inside the plan.
  out.push(plan.runbook.replace(/^(#+) /gm, "###$1 ").trimEnd());
  out.push("");
  out.push("</details>");
  return `${out.join("\n")}\n`;
}

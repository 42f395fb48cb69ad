import type { PlanDiff } from "../../plan/diff";
import type { PlanReport } from "../../plan/report";
import { renderWeekGantt } from "./week";

// Pulumi's own symbols: +- is a replacement (delete and create).
const SYMBOL = { create: "+", update: "~", replace: "+-", delete: "-" } as const;

function resourceSummary(diff: PlanDiff): string {
  const n = (op: string) => diff.resources.filter((r) => r.op === op).length;
  const replaced = n("replace") ? `, ${n("replace")} to replace` : "";
  return `${n("create")} to create, ${n("update")} to update${replaced}, ${n("delete")} to delete`;
}

/** "(replaced: connection.host changed)" after a replacement; what the engine will do instead, where it differs. */
const why = (r: PlanDiff["resources"][number]) =>
  (r.op === "replace" ? ` (replaced: ${r.because?.join(", ")} changed)` : "") +
  (r.refused ? " REFUSED: the resource is protected, so pulumi up fails" : "") +
  (r.retained ? " (retained: it leaves the stack and stays in the cloud)" : "");

/** The first thing to say about a change `pulumi up` would refuse. */
const refusal = (diff: PlanDiff) =>
  `CANNOT BE APPLIED: pulumi up would fail, since it would replace or delete protected ${diff.refused.join(", ")} (see REFUSED below). Undo that part of the change, or move the data first and unprotect the resource on purpose (pulumi state unprotect).`;

/** The diff for a terminal: the verdict in the first line. */
export function renderDiffText(diff: PlanDiff): string {
  const out: string[] = [];
  if (diff.refused.length) out.push(refusal(diff));
  const weaker = diff.changes.filter((c) => c.kind === "weaker");
  out.push(
    weaker.length
      ? `WEAKER BACKUPS: this change to stack '${diff.stack}' (against ${diff.base}) makes ${weaker.length} thing(s) harder to recover:`
      : `No weaker backups: this change to stack '${diff.stack}' (against ${diff.base}) weakens nothing.`,
  );
  for (const c of weaker) out.push(`  - ${c.text}`);
  const warnings = diff.changes.filter((c) => c.kind === "warning");
  if (warnings.length) {
    out.push("", "WARNINGS (safe as planned, one careless step from losing data):");
    for (const c of warnings) out.push(`  ! ${c.text}`);
  }
  const other = diff.changes.filter((c) => c.kind === "changed" || c.kind === "stronger");
  if (other.length) {
    out.push("", "Other changes:");
    for (const c of other) out.push(`  ${c.kind === "stronger" ? "+" : "~"} ${c.text}`);
  }
  out.push("", `Resources: ${resourceSummary(diff)}`);
  for (const r of diff.resources) out.push(`  ${SYMBOL[r.op]} ${r.type}  ${r.name}${why(r)}`);
  return `${out.join("\n")}\n`;
}

/** The diff for a pull-request comment, with a week of runs as a chart. */
export function renderDiffMarkdown(diff: PlanDiff, head: PlanReport): string {
  const out: string[] = [];
  const weaker = diff.changes.filter((c) => c.kind === "weaker");
  out.push(`## dx-backup: \`${diff.stack}\` compared with \`${diff.base}\``, "");
  if (diff.refused.length) out.push(`> [!CAUTION]`, `> ${refusal(diff)}`, "");
  if (weaker.length) {
    out.push(`> ⚠️ **This change weakens the backups of \`${diff.stack}\`:**`, ">");
    for (const c of weaker) out.push(`> - ${c.text}`);
  } else {
    out.push("> ✅ This change weakens no backup.");
  }
  out.push("");
  const warnings = diff.changes.filter((c) => c.kind === "warning");
  if (warnings.length) {
    out.push("> [!WARNING]", "> Safe as planned, one careless step from losing data:", ">");
    for (const c of warnings) out.push(`> - ${c.text}`);
    out.push("");
  }
  const other = diff.changes.filter((c) => c.kind === "changed" || c.kind === "stronger");
  if (other.length) {
    out.push("### Other changes", "");
    for (const c of other) out.push(`- ${c.kind === "stronger" ? "stronger" : "changed"}: ${c.text}`);
    out.push("");
  }
  out.push(`### Resources: ${resourceSummary(diff)}`, "");
  if (diff.resources.length) {
    out.push("| | Type | Name |", "|---|---|---|");
    for (const r of diff.resources) out.push(`| ${SYMBOL[r.op]} | \`${r.type}\` | \`${r.name}\`${why(r)} |`);
    out.push("");
  }
  out.push("### One week of runs", "", renderWeekGantt(head), "");
  return `${out.join("\n")}\n`;
}

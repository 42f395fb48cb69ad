import { formatMinutes } from "../coverage/rpo";
import type { CoverageRow } from "../coverage/report";
import { encryptionKeyChanges } from "./keyChanges";
import { replacingInputs } from "./replacements";
import type { PlanReport } from "./report";
import { formatDays } from "./warnings";

/**
 * One change in backup terms. `weaker` changes make recovery worse; a
 * `warning` is safe as planned but one careless step away from data loss.
 */
export interface Change {
  kind: "weaker" | "warning" | "stronger" | "changed";
  /** Plain words, e.g. "prod / jcr (db2): worst-case RPO 13h → 7d". */
  text: string;
}

export interface ResourceChange {
  /** `replace`: the engine deletes and creates it (refused for a protected resource). */
  op: "create" | "update" | "replace" | "delete";
  type: string;
  name: string;
  /** For a replacement, the inputs that force it. */
  because?: string[];
  /** A replace or delete of a protected resource: the engine refuses it, and `pulumi up` fails. */
  refused?: true;
  /** A delete of a resource retained on delete: it leaves the stack and stays in the cloud. */
  retained?: true;
}

export interface PlanDiff {
  stack: string;
  base: string;
  changes: Change[];
  resources: ResourceChange[];
  /** True when any change makes recovery worse. */
  weakened: boolean;
  /** Protected resources the change would replace or delete: `pulumi up` refuses, and fails. */
  refused: string[];
}

const rpo = (m: number | undefined) => (m === undefined ? "none" : formatMinutes(m));
const horizon = (d: number | undefined) => (d === undefined ? "none" : formatDays(d));

/** Object lock, vault lock and the like, read from the resources `pulumi up` would create. */
function immutability(plan: PlanReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of plan.resources) {
    if (r.type === "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") {
      const days = (r.inputs.rule as { defaultRetention?: { days?: number } } | undefined)?.defaultRetention?.days;
      if (days) out[`object lock of ${r.name.replace(/-object-lock$/, "")}`] = days;
    }
    if (r.type === "aws:backup/vaultLockConfiguration:VaultLockConfiguration") {
      const days = r.inputs.minRetentionDays as number | undefined;
      if (days) out[`vault lock of ${r.name.replace(/-vault-lock$/, "")}`] = days;
    }
  }
  return out;
}

function restorePoints(plan: PlanReport): Record<string, number> {
  return Object.fromEntries(Object.entries(plan.retention).map(([s, r]) => [s, r.restorePoints]));
}

/**
 * What a change to a stack does to recoverability, not which lines moved:
 * coverage and worst-case RPO per data source, retention horizon and restore
 * points per schedule, immutability, schedules, and the resources a preview
 * would show. Weakening changes come first.
 */
export function diffPlans(base: PlanReport, head: PlanReport, baseRef: string): PlanDiff {
  const changes: Change[] = [];
  const s = head.stack;
  const push = (kind: Change["kind"], text: string) => changes.push({ kind, text: `${s} / ${text}` });

  const baseRows = new Map(base.coverage.map((r) => [`${r.tier}|${r.source}`, r]));
  const headRows = new Map(head.coverage.map((r) => [`${r.tier}|${r.source}`, r]));
  const protectedRow = (r: CoverageRow | undefined) => r !== undefined && r.status !== "not protected";
  for (const [key, b] of baseRows) {
    const h = headRows.get(key);
    if (protectedRow(b) && !protectedRow(h))
      push("weaker", `${b.source}: no longer backed up${h ? "" : " (removed from the stack)"}`);
    else if (!protectedRow(b) && protectedRow(h)) push("stronger", `${b.source}: now backed up (${h?.protection})`);
    if (!h || !protectedRow(b) || !protectedRow(h)) continue;
    if ((b.rpoMinutes ?? Infinity) !== (h.rpoMinutes ?? Infinity)) {
      push(
        (h.rpoMinutes ?? Infinity) > (b.rpoMinutes ?? Infinity) ? "weaker" : "stronger",
        `${b.source}: worst-case RPO ${rpo(b.rpoMinutes)} → ${rpo(h.rpoMinutes)}`,
      );
    }
    if (
      b.retentionDays !== undefined &&
      h.retentionDays !== undefined &&
      Math.round(b.retentionDays) !== Math.round(h.retentionDays)
    ) {
      push(
        h.retentionDays < b.retentionDays ? "weaker" : "stronger",
        `${b.source}: oldest restore point ${horizon(b.retentionDays)} → ${horizon(h.retentionDays)}`,
      );
    }
  }
  for (const [key, h] of headRows) {
    if (!baseRows.has(key))
      push(
        protectedRow(h) ? "stronger" : "weaker",
        `${h.source}: new, ${protectedRow(h) ? `protected by ${h.protection}` : "NOT protected"}`,
      );
  }

  const bPoints = restorePoints(base);
  const hPoints = restorePoints(head);
  for (const [name, n] of Object.entries(bPoints)) {
    if (!(name in hPoints)) push("weaker", `schedule ${name}: removed`);
    else if (hPoints[name] !== n)
      push(
        hPoints[name] < n ? "weaker" : "stronger",
        `schedule ${name}: restore points per host ${n} → ${hPoints[name]}`,
      );
  }
  for (const name of Object.keys(hPoints)) if (!(name in bPoints)) push("stronger", `schedule ${name}: added`);
  const bSched = new Map(base.schedules.map((x) => [x.name, x]));
  for (const h of head.schedules) {
    const b = bSched.get(h.name);
    if (b && (b.cron !== h.cron || b.timezone !== h.timezone || b.mode !== h.mode)) {
      push("changed", `schedule ${h.name}: ${b.mode} '${b.cron}' ${b.timezone} → ${h.mode} '${h.cron}' ${h.timezone}`);
    }
  }
  const bDrills = base.schedules.filter((x) => x.kind === "drill").length;
  const hDrills = head.schedules.filter((x) => x.kind === "drill").length;
  if (bDrills > 0 && hDrills === 0) push("weaker", "restore drills: none any more");

  const bImm = immutability(base);
  const hImm = immutability(head);
  for (const [what, days] of Object.entries(bImm)) {
    if (!(what in hImm))
      push(
        "weaker",
        `${what}: ${days} days → none for new objects (versions locked so far stay locked until their retention ends; a bucket's lock cannot be turned off)`,
      );
    else if (hImm[what] !== days)
      push(hImm[what] < days ? "weaker" : "stronger", `${what}: ${days} → ${hImm[what]} days`);
  }
  for (const [what, days] of Object.entries(hImm))
    if (!(what in bImm)) push("stronger", `${what}: none → ${days} days`);

  const alerts = (p: PlanReport) =>
    p.resources
      .filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription")
      .map((r) => String(r.inputs.endpoint));
  for (const gone of alerts(base).filter((e) => !alerts(head).includes(e)))
    push("weaker", `AWS Backup failure alerts to ${gone}: removed (nobody is told of a failed backup or restore job)`);

  const bErrors = base.findings.filter((f) => f.severity === "error").length;
  const hErrors = head.findings.filter((f) => f.severity === "error").length;
  if (hErrors > bErrors) push("weaker", `coverage errors ${bErrors} → ${hErrors}`);

  const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
  const bRes = new Map(base.resources.map((r) => [key(r), r]));
  // A host renamed with formerNames keeps its resources (aliases): pair each base resource named
  // after the former name with the head resource named after the new one, as the engine does.
  const headKeys = new Set(head.resources.map(key));
  for (const h of head.hosts) {
    for (const former of h.formerNames) {
      const segment = new RegExp(`(^|-)${former}(-|$)`);
      const rename = (text: string) => text.replace(segment, `$1${h.name}$2`);
      for (const [k, r] of [...bRes]) {
        // Names derived from the resource name (an aliased IAM user keeps its physical name) follow it.
        const inputs = JSON.parse(JSON.stringify(r.inputs), (_k, v: unknown) =>
          typeof v === "string" ? rename(v) : v,
        );
        const renamed = { ...r, name: rename(r.name), inputs };
        if (renamed.name === r.name || headKeys.has(k) || !headKeys.has(key(renamed))) continue;
        bRes.delete(k);
        bRes.set(key(renamed), renamed);
      }
    }
  }
  const hRes = new Map(head.resources.map((r) => [key(r), r]));
  const resources: ResourceChange[] = [];
  for (const [k, r] of hRes) {
    const b = bRes.get(k);
    if (!b) resources.push({ op: "create", type: r.type, name: r.name });
    else if (JSON.stringify(b.inputs) !== JSON.stringify(r.inputs)) {
      const because = replacingInputs(r.type, b.inputs, r.inputs);
      resources.push(
        because.length
          ? { op: "replace", type: r.type, name: r.name, because, ...(b.options?.protect ? { refused: true } : {}) }
          : { op: "update", type: r.type, name: r.name },
      );
    }
  }
  for (const [k, r] of bRes) {
    if (hRes.has(k)) continue;
    const { protect, retainOnDelete } = r.options ?? {};
    resources.push({
      op: "delete",
      type: r.type,
      name: r.name,
      ...(protect ? { refused: true } : retainOnDelete ? { retained: true } : {}),
    });
  }
  for (const c of encryptionKeyChanges(base.resources, head.resources)) push(c.kind, c.text);

  const order = { weaker: 0, warning: 1, changed: 2, stronger: 3 };
  changes.sort((a, b) => order[a.kind] - order[b.kind]);
  return {
    stack: s,
    base: baseRef,
    changes,
    resources,
    weakened: changes.some((c) => c.kind === "weaker"),
    refused: resources.filter((r) => r.refused).map((r) => r.name),
  };
}

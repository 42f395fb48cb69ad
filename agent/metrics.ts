import { chmodSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { publish } from "./files";

/**
 * Prometheus textfile metrics (node_exporter's textfile collector): one file
 * per schedule and one for the drills, with exactly the names, labels and
 * help texts the bash agent wrote, so dashboards and alerts keep working.
 * The renderers are pure; `writeMetricsFile` publishes their text.
 */

/** A label value in the exposition format: backslash, quote and newline escaped. */
function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** name="value",… in the order given. */
export function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}="${labelValue(v)}"`).join(",");
}

/** One gauge: HELP, TYPE and one sample (bash `gauge NAME LABELS VALUE HELP`). */
export function gauge(name: string, labelText: string, value: number, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}{${labelText}} ${value}\n`;
}

/** A gauge with one sample per possible result, 1 for the one that happened. */
function resultGauge(
  name: string,
  help: string,
  labelText: string,
  results: readonly string[],
  result: string,
): string {
  let text = `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
  for (const r of results) text += `${name}{${labelText},result="${r}"} ${r === result ? 1 : 0}\n`;
  return text;
}

export interface RunMetrics {
  policy: string;
  host: string;
  schedule: string;
  /** Epoch seconds. */
  start: number;
  end: number;
  /** Epoch seconds of the last fully successful run of the schedule (0: none yet). */
  lastSuccess: number;
  bytesAdded: number;
  files: number;
  downtimeSeconds: number;
  result: "success" | "partial" | "failed";
}

/** dxbackup-<policy>-<schedule>.prom (bash `write_metrics`). */
export function renderRunMetrics(m: RunMetrics): string {
  const l = labels([
    ["policy", m.policy],
    ["host", m.host],
    ["schedule", m.schedule],
  ]);
  return (
    gauge("dxbackup_last_run_timestamp_seconds", l, m.end, "End of the last run.") +
    gauge("dxbackup_last_success_timestamp_seconds", l, m.lastSuccess, "End of the last fully successful run.") +
    gauge("dxbackup_last_run_duration_seconds", l, m.end - m.start, "Duration of the last run.") +
    gauge("dxbackup_last_run_bytes_added", l, m.bytesAdded, "Bytes the last run added to the repository.") +
    gauge("dxbackup_last_run_files", l, m.files, "Files the last run processed.") +
    gauge(
      "dxbackup_last_run_downtime_seconds",
      l,
      m.downtimeSeconds,
      "Seconds the servers were stopped (offline runs).",
    ) +
    resultGauge(
      "dxbackup_last_run_result",
      "1 for the result of the last run.",
      l,
      ["success", "partial", "failed"],
      m.result,
    )
  );
}

export interface DrillMetrics {
  policy: string;
  host: string;
  /** Epoch seconds. */
  end: number;
  /** Epoch seconds of the last drill that verified a recovery point (0: none yet). */
  lastVerified: number;
  result: "success" | "failed";
}

/** dxbackup-<policy>-drill.prom (bash `write_drill_status`). */
export function renderDrillMetrics(m: DrillMetrics): string {
  const l = labels([
    ["policy", m.policy],
    ["host", m.host],
  ]);
  return (
    gauge("dxbackup_last_drill_timestamp_seconds", l, m.end, "End of the last restore drill.") +
    gauge(
      "dxbackup_last_verified_timestamp_seconds",
      l,
      m.lastVerified,
      "End of the last restore drill that verified a recovery point.",
    ) +
    resultGauge("dxbackup_last_drill_result", "1 for the result of the last drill.", l, ["success", "failed"], m.result)
  );
}

/** `<metricsDir>/dxbackup-<policy>-<name>.prom`, replaced in one step (the collector never reads half a file). */
export function writeMetricsFile(metricsDir: string, policy: string, name: string, text: string): string {
  mkdirSync(metricsDir, { recursive: true });
  // node_exporter's textfile collector does not run as root: the metrics (no secrets in them) are
  // the one thing in the state dir others may read (the installer makes the state dir 0711).
  chmodSync(metricsDir, 0o755);
  const file = path.join(metricsDir, `dxbackup-${policy}-${name}.prom`);
  publish(file, text, 0o644);
  return file;
}

/** The epoch seconds in a stamp file (last-success-<schedule>, last-verified); 0 when there is none. */
export function epochStamp(text: string | undefined): number {
  const n = Number((text ?? "").trim());
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

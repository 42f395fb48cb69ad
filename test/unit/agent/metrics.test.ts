import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { epochStamp, gauge, renderDrillMetrics, renderRunMetrics, writeMetricsFile } from "../../../agent/metrics";

describe("agent metrics: the Prometheus textfile gauges of the bash agent", () => {
  it("renders one gauge as bash's gauge NAME LABELS VALUE HELP", () => {
    expect(gauge("dxbackup_x", 'policy="p"', 42, "Some help.")).to.equal(
      '# HELP dxbackup_x Some help.\n# TYPE dxbackup_x gauge\ndxbackup_x{policy="p"} 42\n',
    );
  });

  it("renders a run's metrics with exactly the names, labels and help texts of write_metrics", () => {
    const text = renderRunMetrics({
      policy: "dx-prod",
      host: "portal-1",
      schedule: "nightly",
      start: 1795831200,
      end: 1795831500,
      lastSuccess: 1795745100,
      bytesAdded: 123456,
      files: 5000,
      downtimeSeconds: 0,
      result: "partial",
    });
    const l = 'policy="dx-prod",host="portal-1",schedule="nightly"';
    expect(text).to.equal(
      [
        "# HELP dxbackup_last_run_timestamp_seconds End of the last run.",
        "# TYPE dxbackup_last_run_timestamp_seconds gauge",
        `dxbackup_last_run_timestamp_seconds{${l}} 1795831500`,
        "# HELP dxbackup_last_success_timestamp_seconds End of the last fully successful run.",
        "# TYPE dxbackup_last_success_timestamp_seconds gauge",
        `dxbackup_last_success_timestamp_seconds{${l}} 1795745100`,
        "# HELP dxbackup_last_run_duration_seconds Duration of the last run.",
        "# TYPE dxbackup_last_run_duration_seconds gauge",
        `dxbackup_last_run_duration_seconds{${l}} 300`,
        "# HELP dxbackup_last_run_bytes_added Bytes the last run added to the repository.",
        "# TYPE dxbackup_last_run_bytes_added gauge",
        `dxbackup_last_run_bytes_added{${l}} 123456`,
        "# HELP dxbackup_last_run_files Files the last run processed.",
        "# TYPE dxbackup_last_run_files gauge",
        `dxbackup_last_run_files{${l}} 5000`,
        "# HELP dxbackup_last_run_downtime_seconds Seconds the servers were stopped (offline runs).",
        "# TYPE dxbackup_last_run_downtime_seconds gauge",
        `dxbackup_last_run_downtime_seconds{${l}} 0`,
        "# HELP dxbackup_last_run_result 1 for the result of the last run.",
        "# TYPE dxbackup_last_run_result gauge",
        `dxbackup_last_run_result{${l},result="success"} 0`,
        `dxbackup_last_run_result{${l},result="partial"} 1`,
        `dxbackup_last_run_result{${l},result="failed"} 0`,
        "",
      ].join("\n"),
    );
  });

  it("renders a drill's metrics with exactly the names, labels and help texts of write_drill_status", () => {
    const text = renderDrillMetrics({
      policy: "dx-corrupt",
      host: "portal-1",
      end: 1795831500,
      lastVerified: 0,
      result: "failed",
    });
    const l = 'policy="dx-corrupt",host="portal-1"';
    expect(text).to.equal(
      [
        "# HELP dxbackup_last_drill_timestamp_seconds End of the last restore drill.",
        "# TYPE dxbackup_last_drill_timestamp_seconds gauge",
        `dxbackup_last_drill_timestamp_seconds{${l}} 1795831500`,
        "# HELP dxbackup_last_verified_timestamp_seconds End of the last restore drill that verified a recovery point.",
        "# TYPE dxbackup_last_verified_timestamp_seconds gauge",
        `dxbackup_last_verified_timestamp_seconds{${l}} 0`,
        "# HELP dxbackup_last_drill_result 1 for the result of the last drill.",
        "# TYPE dxbackup_last_drill_result gauge",
        `dxbackup_last_drill_result{${l},result="success"} 0`,
        `dxbackup_last_drill_result{${l},result="failed"} 1`,
        "",
      ].join("\n"),
    );
    // The lines the integration suites look for.
    expect(text).to.include('dxbackup_last_drill_result{policy="dx-corrupt",host="portal-1",result="failed"} 1');
    expect(text).to.include('dxbackup_last_verified_timestamp_seconds{policy="dx-corrupt",host="portal-1"} 0');
  });

  it("escapes a label value the exposition format cannot take as it is", () => {
    const text = renderDrillMetrics({ policy: "p", host: 'a"b\\c', end: 1, lastVerified: 1, result: "success" });
    expect(text).to.include('dxbackup_last_drill_result{policy="p",host="a\\"b\\\\c",result="success"} 1');
  });

  it("publishes dxbackup-<policy>-<name>.prom world-readable, creating the directory", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-metrics-"));
    try {
      const file = writeMetricsFile(path.join(dir, "metrics"), "dx-prod", "drill", "x 1\n");
      expect(file).to.equal(path.join(dir, "metrics", "dxbackup-dx-prod-drill.prom"));
      expect(readFileSync(file, "utf8")).to.equal("x 1\n");
      expect(statSync(file).mode & 0o777).to.equal(0o644);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a stamp file as epoch seconds, 0 for none or garbage", () => {
    expect(epochStamp("1795831500\n")).to.equal(1795831500);
    expect(epochStamp(undefined)).to.equal(0);
    expect(epochStamp("")).to.equal(0);
    expect(epochStamp("yesterday")).to.equal(0);
  });
});

import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { compareRestored } from "../../cli/local/compareTrees";
import { S3RVER_CREDENTIALS } from "../../cli/local/s3rver";
import { statusCommand } from "../../cli/status";
import { targetPaths } from "../../components/policy/targets";
import { TARGETS } from "../../components/policy/schema";
import type { StackConfig } from "../../components/policy/load";
import { hostRepositoryPassword } from "../../shared/hostKeys";
import { SAMPLE_HOST_KEY } from "../support/config";
import { expectLatestSkips, goodThenFailedAfterSnapshot } from "../support/failedRun";
import { LocalPortalHost } from "../support/localHost";
import { pgrep, waitFor, writeBulk } from "../support/processes";

/**
 * The agent for real: restic, s3rver over HTTPS and sshd on 127.0.0.1, a
 * sample Portal tree. Only WebSphere's stopServer.sh / startServer.sh are
 * fakes (test/fakes/ibm-tools), because they cannot be installed here.
 */
/** How bash's printf %q writes a word (what the fake WebSphere scripts record). */
function shellQuoted(word: string): string {
  return execFileSync("bash", ["-c", 'printf %q "$1"', "_", word], { encoding: "utf8" });
}

describe("host agent, installed over SSH and run as cron runs it (real restic, sshd, s3rver)", function () {
  this.timeout(300_000);
  const host = new LocalPortalHost();
  let config: StackConfig;

  before(async () => {
    await host.start();
    config = host.config({ environment: "it" });
  });
  after(async () => host.stop());

  /** Restores `snapshot` into a fresh dir and compares every backed-up path with the live tree. */
  function restoreAndCompare(cfg: StackConfig, snapshot: string) {
    const { host: h } = host.policy(cfg);
    const target = path.join(host.root, "restore", `${snapshot}-${Date.now()}`);
    const r = host.agent(cfg, "restore", snapshot, "--target", target);
    expect(r.status, r.stderr).to.equal(0);
    const sources = [...new Set(TARGETS.flatMap((t) => targetPaths(h, t)))];
    return { target, comparison: compareRestored(sources, target, h.excludes) };
  }

  it("installs with the component's exact create command, twice without changes, and writes the schedule", async () => {
    const first = await host.install(config);
    expect(first[0].stdout).to.match(/scheduler=cron files=5 changed=5 removed=0/);
    const second = await host.install(config);
    expect(second[0].stdout).to.match(/files=5 changed=0 removed=0/);
    const { host: h } = host.policy(config);
    const cron = readFileSync(path.join(h.agent.cronDir, "dxbackup-dx-it"), "utf8");
    expect(cron).to.match(
      /^0 2 \* \* \* root umask 077; '.*dxbackup-agent' '--config' '.*agent\.json' 'run' 'nightly'/m,
    );
    expect(cron).to.match(/^0 3 \* \* 0 root .* 'run' 'weekly'/m);
  });

  it("backs up as the timer runs it, and the restore is identical: content, modes, owners, symlinks, hostile names", async () => {
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    expect(status).to.deep.include({
      result: "success",
      failedStep: null,
      schedule: "nightly",
      mode: "online",
      policy: "dx-it",
    });
    expect(status.snapshotIds).to.have.length(1);
    expect(status.files as number).to.be.greaterThan(200);
    // The scheduled run used the host's configured restic (agent.restic), whatever the scheduler's
    // PATH: restic 0.17 and later record their version in the snapshot, 0.14 records none.
    const version = /^restic (\d+)\.(\d+)\.(\d+)/.exec(
      execFileSync(process.env.DXB_TEST_RESTIC ?? "restic", ["version"], { encoding: "utf8" }),
    );
    if (!version) expect.fail("restic version printed nothing recognisable");
    const [major, minor] = [Number(version[1]), Number(version[2])];
    const snapshot = host.snapshots(config).find((s) => s.short_id === (status.snapshotIds as string[])[0]);
    if (!snapshot) expect.fail(`no snapshot ${(status.snapshotIds as string[])[0]} in the repository`);
    expect((snapshot as { program_version?: string }).program_version).to.equal(
      major > 0 || minor >= 17 ? `restic ${version.slice(1).join(".")}` : undefined,
    );

    const { comparison, target } = restoreAndCompare(config, (status.snapshotIds as string[])[0]);
    expect(comparison.differences).to.deep.equal([]);
    expect(comparison.files).to.be.greaterThan(200);
    // The hostile directory came back as data; nothing in its name ever ran.
    expect(readFileSync(path.join(target, host.hostileDir, "it's $(here).txt"), "utf8")).to.equal("kept as data\n");
    for (const dir of [host.root, process.cwd(), "/", path.join(host.root, "host")]) {
      expect(
        readdirSync(dir).filter((n) => n.startsWith("PWNED")),
        dir,
      ).to.deep.equal([]);
    }
    // Logs, temp and dumps were excluded by default.
    expect(existsSync(path.join(target, host.layout.wpProfile, "logs"))).to.equal(false);
    expect(existsSync(path.join(target, host.layout.wpProfile, "temp"))).to.equal(false);
  });

  it("records the IIM packages and a digest of IIM state in the snapshot and its tags", async () => {
    const status = host.status(config);
    const iim = status.iim as { packagesDigest: string; packages: Array<{ id: string; version: string }> };
    expect(iim.packagesDigest).to.match(/^[0-9a-f]{64}$/);
    expect(iim.packages).to.deep.include({ id: "com.hcl.dx.cf95", version: "9.5.0.CF221", kind: "offering" });
    const snap = host.snapshots(config).find((s) => s.short_id === (status.snapshotIds as string[])[0]);
    expect(snap?.tags).to.include.members([
      "dxbackup",
      "policy:dx-it",
      "schedule:nightly",
      `run:${status.runId}`,
      `iim:${iim.packagesDigest.slice(0, 16)}`,
    ]);
    const { host: h } = host.policy(config);
    const dumped = host.agent(config, "restore", snap!.id, "--target", path.join(host.root, "iim-check"));
    expect(dumped.status).to.equal(0);
    const record = path.join(host.root, "iim-check", h.agent.stateDir, "recovery-point");
    expect(readFileSync(path.join(record, "iim-packages.tsv"), "utf8")).to.include(
      "com.hcl.dx.cf95\t9.5.0.CF221\toffering",
    );
    expect(JSON.parse(readFileSync(path.join(record, "recovery-point.json"), "utf8")).runId).to.equal(status.runId);
  });

  it("writes Prometheus textfile metrics", () => {
    const { host: h } = host.policy(config);
    const metrics = readFileSync(path.join(h.agent.stateDir, "metrics", "dxbackup-dx-it-nightly.prom"), "utf8");
    const labels = 'policy="dx-it",host="portal-1",schedule="nightly"';
    expect(metrics).to.match(new RegExp(`dxbackup_last_success_timestamp_seconds\\{${labels}\\} [1-9]\\d+`));
    expect(metrics).to.include(`dxbackup_last_run_result{${labels},result="success"} 1`);
    expect(metrics).to.include(`dxbackup_last_run_result{${labels},result="failed"} 0`);
  });

  it("a node_exporter that is not root reads the metrics, and nothing else of the state", async () => {
    const { host: h } = host.policy(config);
    // The agent's files and the log the cron line's shell created (the runs above) are private:
    // checked before the installs below, which would take back what was not.
    for (const f of ["status.json", "runs.jsonl", "last-run.log", "agent.log", "repository-initialized"])
      expect(statSync(path.join(h.agent.stateDir, f)).mode & 0o077, f).to.equal(0);
    // This test's root is a mkdtemp (0700), and the installer made <root>/agent for the install dir
    // first (0700): the installer says which parent keeps node_exporter out, and the fix.
    const again = await host.install(config);
    expect(again[0].stdout).to.include(
      `warning: ${path.join(host.root, "agent")} is not searchable by other users, so a node_exporter or a database instance owner that is not root cannot reach ${h.agent.stateDir} (chmod o+x ${path.join(host.root, "agent")} to allow it)`,
    );
    // What the administrator does then, for the two directories the test made (on a host, /var and
    // /var/lib are searchable already); the installer created the rest of the state dir's parents 0755.
    for (const d of [host.root, path.join(host.root, "agent")]) chmodSync(d, statSync(d).mode | 0o001);
    expect((await host.install(config))[0].stdout).to.not.include("warning:");
    const asNobody = (...args: string[]) =>
      spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...args], { encoding: "utf8" });
    const prom = path.join(h.agent.stateDir, "metrics", "dxbackup-dx-it-nightly.prom");
    const read = asNobody("cat", prom);
    expect(read.stdout, read.stderr).to.include("dxbackup_last_run_result");
    for (const f of ["status.json", "runs.jsonl", "last-run.log", "agent.log", "repository-initialized"]) {
      const file = path.join(h.agent.stateDir, f);
      expect(existsSync(file), f).to.equal(true);
      expect(asNobody("cat", file).status, f).to.not.equal(0);
    }
    expect(asNobody("ls", h.agent.stateDir).status, "the state dir cannot be listed").to.not.equal(0);
  });

  it("an offline run stops the servers, backs up, starts them again and records the downtime", async () => {
    host.clearServerCalls();
    const { job, status } = await host.runSchedule(config, "weekly");
    expect(job.code).to.equal(0);
    expect(status).to.deep.include({ result: "success", mode: "offline" });
    expect(host.serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
    expect(status.downtimeSeconds as number).to.be.at.least(0);
  });

  /** restic 0.17 and later retry an unreachable backend for 15 minutes (not configurable) before failing. */
  const resticRetriesOutages = () => {
    const v = /restic (\d+)\.(\d+)/.exec(
      execFileSync(process.env.DXB_TEST_RESTIC ?? "restic", ["version"], { encoding: "utf8" }),
    );
    return Number(v?.[1]) > 0 || Number(v?.[2]) >= 17;
  };

  it("storage unreachable: the run fails, retention is untouched and the servers are started again", async function () {
    // With restic 0.17+, the same outage would last 15 minutes here; the next test covers those.
    if (resticRetriesOutages()) this.skip();
    const before = host
      .snapshots(config)
      .map((s) => s.id)
      .sort();
    host.clearServerCalls();
    await host.services.stopS3();
    try {
      const { job, status } = await host.runSchedule(config, "weekly");
      expect(job.code).to.equal(1);
      expect(status).to.deep.include({ result: "failed", failedStep: "backup" });
      expect(host.serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
      const { host: h } = host.policy(config);
      expect(existsSync(path.join(h.agent.stateDir, "servers-stopped"))).to.equal(false);
      const log = readFileSync(path.join(h.agent.stateDir, "agent.log"), "utf8").trim().split("\n");
      expect(log[log.length - 1]).to.match(/FAILED at step backup/);
    } finally {
      await host.services.startS3();
    }
    expect(
      host
        .snapshots(config)
        .map((s) => s.id)
        .sort(),
    ).to.deep.equal(before);
  });

  it("storage unreachable for a moment: restic 0.17+ retries, and the run succeeds with the servers started again", async function () {
    if (!resticRetriesOutages()) this.skip();
    host.clearServerCalls();
    await host.services.stopS3();
    const job = host.startSchedule(config, "weekly");
    await new Promise((r) => setTimeout(r, 4000));
    await host.services.startS3();
    const done = await job.done;
    const status = host.status(config);
    expect(done.code, JSON.stringify(status)).to.equal(0);
    expect(status).to.deep.include({ result: "success", schedule: "weekly" });
    expect(host.serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
  });

  it("a stop command that fails fails the run at stop-servers, and the servers are started again", async () => {
    const marker = path.join(host.layout.wpProfile, "bin", "fail-stopServer.sh");
    writeFileSync(marker, "ADMU3011E: Server launched but failed initialization\n");
    host.clearServerCalls();
    try {
      const { job, status } = await host.runSchedule(config, "weekly");
      expect(job.code).to.equal(1);
      expect(status).to.deep.include({ result: "failed", failedStep: "stop-servers" });
      expect(status.snapshotIds).to.deep.equal([]);
      expect(host.serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
    } finally {
      rmSync(marker);
    }
  });

  it("stop and start commands that carry a password: what the run writes shows **** instead", async () => {
    const bin = path.join(host.layout.wpProfile, "bin");
    const cfg = host.config({
      environment: "itpw",
      host: {
        offline: {
          stop: [`${bin}/stopServer.sh WebSphere_Portal -username wpsadmin -password 'stop s3cret'`],
          start: [`WAS_PASSWORD=start-s3cret ${bin}/startServer.sh WebSphere_Portal -DPortalAdminPwd=pwd-s3cret`],
        },
      },
    });
    await host.install(cfg);
    const markers = ["stopServer.sh", "startServer.sh"].map((s) => path.join(bin, `fail-${s}`));
    for (const m of markers) writeFileSync(m, "ADMU0111E: failing on purpose\n");
    try {
      const { job, status } = await host.runSchedule(cfg, "weekly");
      expect(job.code).to.equal(1);
      expect(status).to.deep.include({ result: "failed", failedStep: "stop-servers" });
      expect(status.message).to.include("-password ****");
      // Nothing under the state directory (status, history, logs) holds any of the three secrets.
      const { host: h } = host.policy(cfg);
      const found = spawnSync("grep", ["-rl", "s3cret", h.agent.stateDir], { encoding: "utf8" });
      expect(found.stdout, "files holding a secret").to.equal("");
      expect(found.status, found.stderr).to.equal(1); // grep: no match (2 would be an error)
      const log = readFileSync(path.join(h.agent.stateDir, "agent.log"), "utf8");
      expect(log).to.include("-DPortalAdminPwd=****");
    } finally {
      for (const m of markers) rmSync(m, { force: true });
      await host.uninstall(cfg);
    }
  });

  it("a secret reference in a stop command: the command gets the value; config, log, status and the servers' environment never do", async () => {
    const bin = path.join(host.layout.wpProfile, "bin");
    const value = "was s3cret * $(touch pwned)";
    const cfg = host.config({
      environment: "itref",
      host: {
        offline: {
          stop: [`${bin}/stopServer.sh WebSphere_Portal -username wpsadmin -password "{{secret:wasAdminPassword}}"`],
          start: [`${bin}/startServer.sh WebSphere_Portal`],
        },
      },
      secrets: { wasAdminPassword: value },
    });
    await host.install(cfg);
    const envDump = path.join(host.root, "itref-env");
    host.clearServerCalls();
    try {
      const { job, status } = await host.runSchedule(cfg, "weekly", { DXB_FAKE_ENV_DUMP: envDump });
      expect(job.code, JSON.stringify(status)).to.equal(0);
      // The value reached stopServer.sh as one word, unexpanded.
      const calls = readFileSync(path.join(host.layout.wpProfile, "logs", "fake-was-calls.log"), "utf8");
      expect(calls).to.include(`stopServer.sh WebSphere_Portal -username wpsadmin -password ${shellQuoted(value)}\n`);
      const { host: h } = host.policy(cfg);
      for (const dir of [h.agent.stateDir, path.join(h.agent.configDir, "agent.json")]) {
        const found = spawnSync("grep", ["-rlF", "-e", "s3cret", "--", dir], { encoding: "utf8" });
        expect(found.status, `${dir} holds the secret: ${found.stdout}`).to.equal(1);
      }
      // The run's log shows the command as written, with its reference.
      const log = readFileSync(path.join(h.agent.stateDir, "last-run.log"), "utf8");
      expect(log).to.include('-password "{{secret:wasAdminPassword}}"');
      // Neither stopServer.sh nor startServer.sh (what a started server inherits) had it in its environment.
      expect(readFileSync(envDump, "utf8")).to.not.include("s3cret").and.not.include("DXB_SECRET_");
      expect(existsSync(path.join(host.root, "pwned"))).to.equal(false);
    } finally {
      await host.uninstall(cfg);
    }
  });

  it("a start command that fails after the snapshot: the run fails, its snapshots are no recovery point, and latest never picks them", async () => {
    const { good, failed } = await goodThenFailedAfterSnapshot(host, config);
    expect(failed.message).to.match(/THE SERVERS MAY BE DOWN/);
    // The snapshot exists (nothing is lost) but is marked, under its new id.
    const mine = host.snapshots(config).filter((x) => x.tags.includes(`run:${failed.runId}`));
    expect(mine).to.have.length(1);
    expect(mine[0].tags).to.include("not-a-recovery-point");
    expect(failed.snapshotIds).to.deep.equal([mine[0].short_id]);
    // latest skips it, and naming it is refused.
    expectLatestSkips(host, config, String(good.runId), String(failed.runId));
    // The next run starts the servers the failed one could not start.
    host.clearServerCalls();
    const { job: next } = await host.runSchedule(config, "weekly");
    expect(next.code).to.equal(0);
    // Out of its schedule's retention: neither counted in its keep slots nor forgotten by it.
    const kept = host.snapshots(config).filter((x) => x.tags.includes(`run:${failed.runId}`));
    expect(kept.map((x) => x.short_id)).to.deep.equal([mine[0].short_id]);
    expect(kept[0].tags).to.include("failed-schedule:weekly").and.not.include("schedule:weekly");
  });

  it("a run killed with SIGKILL mid-backup, then a good run: servers back, restic check clean, nothing lost", async () => {
    // Enough data that the backup is surely still running when it is killed.
    const big = path.join(host.layout.portalServer, "base", "bulk");
    writeBulk(big, 24);
    host.clearServerCalls();
    const job = host.startSchedule(config, "weekly");
    // Wait until restic is uploading, then kill the whole job (agent and restic) at once.
    await waitFor("restic backup", () => pgrep("-g", String(job.pid), "-f", "restic .*backup").length > 0);
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-job.pid, "SIGKILL");
    const killed = await job.done;
    expect(killed.signal).to.equal("SIGKILL");
    // The job's shell is gone; wait until every process of the group has exited too.
    while (
      spawnSync("ps", ["-o", "stat=", "-g", String(job.pid)], { encoding: "utf8" })
        .stdout.split("\n")
        .some((stat) => stat.trim() && !stat.startsWith("Z"))
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(host.serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal"]);
    const { host: h } = host.policy(config);
    expect(existsSync(path.join(h.agent.stateDir, "servers-stopped"))).to.equal(true);

    const { job: next, status } = await host.runSchedule(config, "weekly");
    expect(next.code, JSON.stringify(status)).to.equal(0);
    // The next run first started the servers the killed run had left stopped.
    expect(host.serverCalls()).to.deep.equal([
      "stopServer.sh WebSphere_Portal",
      "startServer.sh WebSphere_Portal",
      "stopServer.sh WebSphere_Portal",
      "startServer.sh WebSphere_Portal",
    ]);
    // The killed restic left its lock behind; the agent removed it as stale and carried on.
    const runLog = readFileSync(path.join(h.agent.stateDir, "agent.log"), "utf8");
    expect(runLog).to.include(`"event":"stale-lock"`);
    const check = host.agent(config, "check");
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    expect(check.stdout).to.match(/no errors were found/);
    const { comparison } = restoreAndCompare(config, (status.snapshotIds as string[])[0]);
    expect(comparison.differences).to.deep.equal([]);
    rmSync(big, { recursive: true });
  });

  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    it(`a run stopped with ${signal} mid-backup fails as interrupted, and starts the servers again first`, async () => {
      const big = path.join(host.layout.portalServer, "base", "bulk");
      writeBulk(big, 16);
      host.clearServerCalls();
      const job = host.startSchedule(config, "weekly");
      await waitFor("restic backup", () => pgrep("-g", String(job.pid), "-f", "restic .*backup").length > 0);
      // The agent alone gets the signal, as from systemctl stop (KillMode=process) or a closed terminal.
      spawnSync("pkill", [`-${signal.slice(3)}`, "-g", String(job.pid), "-f", "agent.json run weekly"]);
      const done = await job.done;
      const status = host.status(config);
      expect(done.code, JSON.stringify(status)).to.equal(1);
      expect(status).to.deep.include({ result: "failed", failedStep: "backup", recoveryPoint: false });
      expect(status.message).to.equal(`interrupted by ${signal}`);
      expect(host.serverCalls()).to.deep.equal(["stopServer.sh WebSphere_Portal", "startServer.sh WebSphere_Portal"]);
      const { host: h } = host.policy(config);
      expect(existsSync(path.join(h.agent.stateDir, "servers-stopped"))).to.equal(false);
      // restic was stopped with the run: nothing of it is left running.
      expect(spawnSync("pgrep", ["-g", String(job.pid)], { encoding: "utf8" }).stdout.trim()).to.equal("");
      rmSync(big, { recursive: true });
    });
  }

  it("never runs twice at once", async () => {
    const first = host.startSchedule(config, "nightly");
    const deadline = Date.now() + 30_000;
    const { host: h } = host.policy(config);
    // Wait until the first run holds the lock (earlier tests' run directories say nothing about this
    // one), read from /proc/locks: probing with flock would itself take the lock for a moment.
    const lock = path.join(h.agent.stateDir, "run.lock");
    const held = () =>
      existsSync(lock) &&
      readFileSync("/proc/locks", "utf8")
        .split("\n")
        .some((l) => l.includes("FLOCK") && l.split(/\s+/)[5]?.endsWith(`:${statSync(lock).ino}`));
    while (!held()) {
      if (Date.now() > deadline) throw new Error("first run did not take the lock");
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = host.agent(config, "run", "nightly");
    expect(second.status).to.equal(75);
    expect(second.stderr).to.match(/another run holds/);
    expect((await first.done).code).to.equal(0);
  });

  it("a root missing on the host makes the run partial: snapshot kept, no retention, exit 3", async () => {
    const partial = host.config({
      environment: "it",
      customPaths: [{ name: "gone", path: path.join(host.root, "does-not-exist") }],
      retention: { keepLast: 1 },
    });
    await host.install(partial);
    const before = host.snapshots(partial).length;
    const { job, status } = await host.runSchedule(partial, "nightly");
    expect(job.code).to.equal(3);
    expect(status).to.deep.include({ result: "partial", failedStep: "backup" });
    expect(status.missingPaths).to.deep.equal([path.join(host.root, "does-not-exist")]);
    // keepLast 1 would have removed older snapshots: retention did not run.
    expect(host.snapshots(partial).length).to.equal(before + 1);
    await host.install(config);
  });

  it("dxbackup status reads every host's status over SSH: last success, last failure and its step, missed runs", async () => {
    const now = new Date();
    const r = await statusCommand({
      stack: "it",
      config,
      sshKeyFile: path.join(host.root, "svc", "ssh", "client_ed25519"),
      format: "json",
      now,
    });
    expect(r.exitCode, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    const portal = report.hosts[0];
    expect(portal).to.deep.include({ host: "portal-1", reachable: true });
    const weekly = portal.schedules.find((s: { schedule: string }) => s.schedule === "weekly");
    expect(weekly.lastSuccess).to.be.a("string");
    expect(weekly.lastFailure).to.deep.include({ result: "failed" });
    expect(["backup", "stop-servers", "start-servers"]).to.include(weekly.lastFailure.failedStep);
    // Three days later with no run: the nightly's runs since the last success are missed.
    const later = await statusCommand({
      stack: "it",
      config,
      sshKeyFile: path.join(host.root, "svc", "ssh", "client_ed25519"),
      format: "text",
      now: new Date(now.getTime() + 3 * 86_400_000),
      failOn: "warning",
    });
    expect(later.exitCode).to.equal(1);
    expect(later.stdout).to.match(
      /portal-1 \/ nightly: [23] run\(s\) since the last success at \S+ produced no recovery point/,
    );
  });

  it("dxbackup status over SSH verifies the pinned host key: another key is refused before logging in", async () => {
    const hosts = JSON.parse(config.values["dxbackup:hosts"]) as Array<{ ssh?: Record<string, unknown> }>;
    const pin = (hostKey: string): StackConfig => ({
      ...config,
      values: {
        ...config.values,
        "dxbackup:hosts": JSON.stringify(hosts.map((h) => ({ ...h, ssh: { ...h.ssh, hostKey } }))),
      },
    });
    const read = async (c: StackConfig) =>
      JSON.parse(
        (
          await statusCommand({
            stack: "it",
            config: c,
            sshKeyFile: path.join(host.root, "svc", "ssh", "client_ed25519"),
            format: "json",
          })
        ).stdout,
      ).hosts[0];
    // A man in the middle (or a rebuilt host) presents another key: nothing is read from it.
    const impostor = await read(pin(SAMPLE_HOST_KEY));
    expect(impostor).to.deep.include({ host: "portal-1", reachable: false });
    expect(impostor.error).to.match(/the host's SSH key is not the pinned hostKey; nothing was sent/);
    expect(await read(pin(host.services.hostKey))).to.deep.include({ host: "portal-1", reachable: true });
  });

  it("dxbackup status reads the same evidence from the repository alone, without SSH to the host", async () => {
    const now = new Date();
    const passwordFile = path.join(host.root, "repository-password");
    writeFileSync(passwordFile, config.values["dxbackup:repositoryPassword"], { mode: 0o600 });
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    const read = async (from: "ssh" | "repository") =>
      JSON.parse(
        (
          await statusCommand({
            stack: "it",
            config,
            ...(from === "ssh"
              ? { sshKeyFile: path.join(host.root, "svc", "ssh", "client_ed25519") }
              : { repository: { passwordFile, env } }),
            format: "json",
            now,
          })
        ).stdout,
      ).hosts[0];
    const [overSsh, fromRepository] = [await read("ssh"), await read("repository")];
    expect(fromRepository).to.deep.include({ host: "portal-1", reachable: true });
    // The weekly's history travelled with the newest recovery point: the same success and failure as on the host.
    const weekly = (h: { schedules: Array<{ schedule: string }> }) => h.schedules.find((s) => s.schedule === "weekly");
    expect(weekly(fromRepository)).to.deep.equal(weekly(overSsh));
    expect(weekly(fromRepository)!).to.have.property("lastFailure").that.deep.includes({ result: "failed" });
    // The newest run (the partial nightly above) is known from its snapshot; its status comes with the next run.
    const nightly = fromRepository.schedules.find((s: { schedule: string }) => s.schedule === "nightly");
    const nightlyOnHost = overSsh.schedules.find((s: { schedule: string }) => s.schedule === "nightly");
    expect(nightlyOnHost.lastRun).to.deep.include({ result: "partial" });
    expect(nightly.lastRun).to.deep.include({ runId: nightlyOnHost.lastRun.runId, result: "recorded" });
    // Only a run the history calls a success is the last success.
    expect(nightly.lastSuccess).to.equal(nightlyOnHost.lastSuccess);
    // A wrong password is a clear error for that host, not a crash.
    writeFileSync(passwordFile, "wrong");
    const wrong = await statusCommand({ stack: "it", config, repository: { passwordFile, env }, format: "text", now });
    expect(wrong.stdout).to.match(
      /portal-1: UNREACHABLE \(cannot read the repository: .*(wrong password|no key found)/,
    );
  });

  it("uninstall removes the schedule and the agent, keeps the state and every snapshot", async () => {
    const snapshots = host.snapshots(config).map((s) => s.id);
    const result = await host.uninstall(config);
    expect(result[0].stdout).to.match(/removed 5 file\(s\) and the schedule; kept .* and the backup repository/);
    const { host: h } = host.policy(config);
    expect(existsSync(path.join(h.agent.cronDir, "dxbackup-dx-it"))).to.equal(false);
    expect(existsSync(h.agent.installDir)).to.equal(false);
    expect(existsSync(path.join(h.agent.stateDir, "status.json"))).to.equal(true);
    // The data is still there, readable with plain restic and the password.
    const env = {
      ...process.env,
      RESTIC_PASSWORD: hostRepositoryPassword(config.values["dxbackup:repositoryPassword"], "dx-it", "portal-1"),
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    };
    const repo = `s3:https://127.0.0.1:${host.s3Port}/dxb/dx-it/portal-1`;
    const out = execFileSync("restic", ["-r", repo, "--cacert", host.services.caCertificate, "snapshots", "--json"], {
      env,
      encoding: "utf8",
    });
    expect(JSON.parse(out).map((s: { id: string }) => s.id)).to.have.members(snapshots);
    const again = await host.uninstall(config);
    expect(again[0].stdout).to.match(/nothing installed/);
  });

  describe("other repository kinds", () => {
    it("SFTP (restic's sftp backend against this sshd, host key pinned)", async () => {
      const hostKey = readFileSync(path.join(host.root, "svc", "ssh", "server", "host_ed25519.pub"), "utf8")
        .trim()
        .split(" ")
        .slice(0, 2)
        .join(" ");
      const sftp = host.config({
        environment: "sftp",
        storage: {
          sftp: {
            host: "127.0.0.1",
            port: host.sshPort,
            user: "root",
            path: path.join(host.root, "sftp-repos"),
            hostKey,
          },
        },
        schedules: [{ name: "nightly", cron: "0 2 * * *" }],
      });
      await host.install(sftp);
      const { job, status } = await host.runSchedule(sftp, "nightly");
      expect(job.code, JSON.stringify(status)).to.equal(0);
      expect(existsSync(path.join(host.root, "sftp-repos", "dx-sftp", "portal-1", "config"))).to.equal(true);
      expect(restoreAndCompare(sftp, "latest").comparison.differences).to.deep.equal([]);
      await host.uninstall(sftp);
    });

    it("a local or NFS path", async () => {
      const fs = host.config({
        environment: "nfs",
        storage: { filesystem: { path: path.join(host.root, "nfs") } },
        schedules: [{ name: "nightly", cron: "0 2 * * *" }],
      });
      await host.install(fs);
      const { job, status } = await host.runSchedule(fs, "nightly");
      expect(job.code, JSON.stringify(status)).to.equal(0);
      expect(existsSync(path.join(host.root, "nfs", "dx-nfs", "portal-1", "config"))).to.equal(true);
      expect(restoreAndCompare(fs, "latest").comparison.differences).to.deep.equal([]);
      await host.uninstall(fs);
    });
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadHostConfig } from "../../../agent/config";
import { StepError, UsageError } from "../../../agent/errors";
import { errorLineOf, must, run, runShell } from "../../../agent/exec";
import { alertCommand, request } from "../../../agent/alerts";
import { KeptLog, testContext, testHostConfig } from "../../support/agentHost";
import { holdLock } from "../../../agent/lock";
import { backupFeatures, Restic, resticAtLeast } from "../../../agent/restic";
import { renderHostConfig } from "../../../components/render/agentConfig";
import { loadPolicy } from "../../../components/policy/load";
import { stackConfig, validConfig } from "../../support/config";
import { hostPieces } from "../../../components/hosts/hostFiles";

describe("agent core: the one command runner, the host config, the run lock", () => {
  let dir = "";
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "dxb-core-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe("the command runner", () => {
    it("returns a typed result whatever the exit status, and never throws for one", async () => {
      const r = await run("bash", ["-c", "echo out; echo err >&2; exit 7"]);
      expect(r).to.deep.include({ code: 7, signal: null, stdout: "out\n", stderr: "err\n" });
      const missing = await run("/nonexistent/tool", []);
      expect(missing.code).to.equal(127);
      expect(missing.stderr).to.include("command not found");
    });

    it("stops a command when its abort signal fires (work that turned out not to be wanted)", async () => {
      const unwanted = new AbortController();
      const running = run("sleep", ["30"], { abort: unwanted.signal });
      setTimeout(() => unwanted.abort(), 100);
      expect(await running).to.deep.include({ signal: "SIGTERM" });
    });

    it("must fails the step with the command's own error line, and passes only accepted codes", async () => {
      const failing = must(
        "piece:db-dam",
        "pg_dump of dam",
        "bash",
        [
          "-c",
          "echo 'pg_dump: connecting'; echo 'pg_dump: error: connection refused' >&2; echo 'pg_dump: exiting' >&2; exit 1",
        ],
        { errorLine: /error/ },
      );
      const e = await failing.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(StepError);
      expect((e as StepError).step).to.equal("piece:db-dam");
      expect((e as StepError).message).to.equal("pg_dump of dam failed (exit 1): pg_dump: error: connection refused");
      const partial = await must("backup", "restic backup", "bash", ["-c", "exit 3"], { okCodes: [0, 3] });
      expect(partial.code).to.equal(3);
    });

    it("a command killed by a signal is a failure even when a code would pass", async () => {
      const e = await must("backup", "tool", "bash", ["-c", "kill -9 $$"], { okCodes: [0, 137] }).catch((x) => x);
      expect((e as StepError).message).to.match(/killed by SIGKILL/);
    });

    it("the error line is the first matching line, else the last non-empty one", () => {
      expect(errorLineOf("a\nSQL2062N media error\nb\n", /SQL\d+N/)).to.equal("SQL2062N media error");
      expect(errorLineOf("a\nlast\n\n")).to.equal("last");
    });
  });

  describe("the host config (agent.json), validated on the host by the schema that generated it", () => {
    function written(mutate: (c: Record<string, unknown>) => void = () => undefined): string {
      const policy = loadPolicy(stackConfig(validConfig()));
      const host = policy.hosts[0];
      const config = renderHostConfig(
        policy,
        host,
        { url: "/repo", options: [] },
        hostPieces(policy, host),
      ) as unknown as Record<string, unknown>;
      const repo = config.repository as Record<string, string>;
      repo.passwordFile = path.join(dir, "pw");
      repo.storageEnvFile = path.join(dir, "env.json");
      writeFileSync(repo.passwordFile, "pw\n");
      writeFileSync(repo.storageEnvFile, "{}");
      mutate(config);
      const file = path.join(dir, "agent.json");
      writeFileSync(file, JSON.stringify(config));
      return file;
    }

    it("loads what the control plane renders", () => {
      expect(loadHostConfig(written()).version).to.equal(2);
    });

    it("an unknown key, a wrong type and a missing secret file are errors naming the key", () => {
      expect(() => loadHostConfig(written((c) => (c.pruneEvryDays = 3)))).to.throw(UsageError, /pruneEvryDays/);
      expect(() => loadHostConfig(written((c) => (c.pruneEveryDays = "7")))).to.throw(
        UsageError,
        /pruneEveryDays: .*number/,
      );
      expect(() =>
        loadHostConfig(
          written((c) => ((c.repository as Record<string, string>).passwordFile = path.join(dir, "gone"))),
        ),
      ).to.throw(UsageError, /repository\.passwordFile names .*gone, which cannot be read/);
      writeFileSync(path.join(dir, "broken.json"), "{");
      expect(() => loadHostConfig(path.join(dir, "broken.json"))).to.throw(UsageError, /is not JSON/);
    });
  });

  it("the run lock is exclusive across processes, released with the holder, and reported as held otherwise", () => {
    const lock = path.join(dir, "run.lock");
    const release = holdLock(lock);
    expect(release).to.be.a("function");
    // flock(1) in another process sees it held.
    expect(spawnSync("flock", ["-n", lock, "true"]).status).to.equal(1);
    release!();
    expect(spawnSync("flock", ["-n", lock, "true"]).status).to.equal(0);
  });

  it("counts the restic processes it starts and the time any of them ran, overlapping ones once", async () => {
    writeFileSync(path.join(dir, "env.json"), "{}");
    const restic = new Restic(testHostConfig(dir));
    const t0 = performance.now();
    await restic.run(["version"]);
    const one = restic.busyMs;
    expect(one)
      .to.be.greaterThan(0)
      .and.at.most(performance.now() - t0);
    const t1 = performance.now();
    // Started together, so they overlap: their shared time counts once.
    await Promise.all([restic.run(["version"]), restic.run(["version"]), restic.run(["version"])]);
    expect(restic.processes).to.equal(4);
    expect(restic.busyMs - one)
      .to.be.greaterThan(0)
      .and.at.most(performance.now() - t1);
  });
});

describe("agent core: newer restic features, by version", () => {
  it("compares restic versions as numbers", () => {
    expect(resticAtLeast("restic 0.15.0", 0, 15)).to.equal(true);
    expect(resticAtLeast("restic 0.9.6", 0, 15)).to.equal(false);
    expect(resticAtLeast("restic 0.14.0", 0, 15)).to.equal(false);
    expect(resticAtLeast("restic 1.0.0", 0, 15)).to.equal(true);
    expect(resticAtLeast("unknown", 0, 15)).to.equal(false);
  });

  it("skips the progress scan for scheduled runs with restic 0.15+, never with 0.14 or in a terminal", () => {
    expect(backupFeatures("restic 0.18.1", false)).to.deep.equal(["--no-scan"]);
    expect(backupFeatures("restic 0.18.1", true)).to.deep.equal([]);
    expect(backupFeatures("restic 0.14.0", false)).to.deep.equal([]);
    expect(backupFeatures("unknown", false)).to.deep.equal([]);
  });

  it("each restic here (Debian's, and the newest built by setup) takes exactly the flags the agent gives it", () => {
    const newest = path.join(__dirname, "..", "..", "..", ".tools", "restic-newest", "restic");
    const versions = new Set<string>();
    for (const bin of ["restic", ...(existsSync(newest) ? [newest] : [])]) {
      const version = spawnSync(bin, ["version"], { encoding: "utf8" }).stdout;
      versions.add(version.split(" ")[1]);
      const help = spawnSync(bin, ["backup", "--help"], { encoding: "utf8" }).stdout;
      for (const f of backupFeatures(version, false)) expect(help, `${version}: ${f}`).to.include(f);
      // 0.14 has no --no-scan: giving it would fail every run.
      if (!resticAtLeast(version, 0, 15)) expect(help).to.not.include("--no-scan");
    }
    expect(versions.size, "scripts/setup.sh builds the newest restic beside Debian's").to.equal(2);
  });
});

describe("agent core: failure paths of the streams and commands (real restic, bash)", function () {
  this.timeout(120_000);
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-streams-"));
    writeFileSync(path.join(dir, "password"), "streams test\n");
    writeFileSync(path.join(dir, "env.json"), "{}");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a restic that fails before the dump ends stops the dump: the step fails, nothing hangs on a full pipe", async () => {
    // No repository at all: restic exits at once while 200 MiB are still to come.
    const { restic } = testContext(testHostConfig(dir));
    const e = await restic
      .backupStdin("piece:db-dam", "/dx-t/dam.pgdump", [], {
        cmd: "head",
        args: ["-c", String(200 << 20), "/dev/zero"],
        what: "pg_dump of dam",
      })
      .catch((x: unknown) => x);
    expect(e).to.be.instanceOf(StepError);
    expect((e as StepError).message).to.match(
      /restic backup --stdin of \/dx-t\/dam\.pgdump failed .* before pg_dump of dam finished/,
    );
  });

  it("restic dump into a file that cannot be written fails the step", async () => {
    const { restic } = testContext(testHostConfig(dir));
    expect((await restic.run(["init"])).code).to.equal(0);
    writeFileSync(path.join(dir, "data.txt"), "x".repeat(100_000));
    const b = await restic.backup(["--", path.join(dir, "data.txt")]);
    expect(b.code, b.stderr).to.equal(0);
    const e = await restic
      .dumpToFile(
        "piece:remote-crm",
        b.summary!.snapshotId,
        path.join(dir, "data.txt"),
        path.join(dir, "no", "such", "dir", "out"),
      )
      .catch((x: unknown) => x);
    expect(e).to.be.instanceOf(StepError);
    expect((e as StepError).message).to.match(/writing .*no\/such\/dir\/out failed/);
  });

  it("an operator's command that leaves a daemon behind is done when it exits", async () => {
    const marker = `dxb-daemon-${process.pid}-${Date.now()}`;
    const log = path.join(dir, "run.log");
    const r = await runShell(`echo starting; exec -a ${marker} sleep 30 & echo started`, log);
    expect(r.code).to.equal(0);
    // Done, although the daemon it started still holds the log open.
    const alive = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" }).stdout.trim();
    expect(alive).to.not.equal("");
    spawnSync("pkill", ["-f", marker]);
    expect(readFileSync(log, "utf8")).to.include("started");
  });
});

describe("agent alerts: what is sent and what is not", () => {
  it("a URL with user:password@ is sent without them, with an Authorization header", () => {
    expect(request("https://hc-ping.com/abc")).to.deep.equal({ url: "https://hc-ping.com/abc", headers: {} });
    expect(request("https://bot:s%3Acret@hooks.example.com/x")).to.deep.equal({
      url: "https://hooks.example.com/x",
      headers: { authorization: `Basic ${Buffer.from("bot:s:cret").toString("base64")}` },
    });
  });

  it("a job that found the run lock held (exit 75) pages nobody and keeps its status", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-alert-"));
    try {
      writeFileSync(path.join(dir, "password"), "x\n");
      writeFileSync(path.join(dir, "env.json"), "{}");
      // A receiver that is not there: any attempt to send would be logged as alert-failed.
      writeFileSync(path.join(dir, "hook"), "http://127.0.0.1:9/hook\n");
      const log = new KeptLog();
      const ctx = testContext(testHostConfig(dir, { alerts: { webhookUrlFile: path.join(dir, "hook") } }), log);
      expect(await alertCommand(ctx, "nightly", 75)).to.equal(75);
      expect(log.lines).to.deep.equal([]);
      // The same hook for a failed job does try, and says so when it cannot.
      expect(await alertCommand(ctx, "nightly", 1)).to.equal(1);
      expect(log.text()).to.match(/alert-failed: the webhook could not be reached/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

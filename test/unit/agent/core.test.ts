import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadHostConfig } from "../../../agent/config";
import { StepError, UsageError } from "../../../agent/errors";
import { errorLineOf, must, run } from "../../../agent/exec";
import { holdLock } from "../../../agent/lock";
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
});

import { expect } from "chai";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StepError } from "../../../agent/errors";
import { startServers, stopServers } from "../../../agent/servers";
import { testContext, testHostConfig } from "../../support/agentHost";

/** The offline stop and start commands: what refuses them, and what a failure leaves behind. */
describe("agent: the offline stop and start commands fail for real, and say so", () => {
  let dir: string;
  let log: string;
  let ran: string;
  /** A stop or start script that records that it ran. */
  const script = (name: string) => {
    const file = path.join(dir, "bin", name);
    writeFileSync(file, `#!/bin/bash\necho "${name} $*" >> '${ran}'\n`, { mode: 0o755 });
    return file;
  };
  const context = (
    offline: { stop: string[]; start: string[]; secretFiles?: Record<string, string> },
    runAs?: string,
  ) =>
    testContext(
      testHostConfig(dir, {
        offline: { secretFiles: {}, ...offline },
        ...(runAs ? { runAs: { user: runAs, umask: "022" } } : {}),
      }),
    );
  const calls = () => (existsSync(ran) ? readFileSync(ran, "utf8") : "");

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-servers-"));
    mkdirSync(path.join(dir, "bin"));
    mkdirSync(path.join(dir, "state"));
    writeFileSync(path.join(dir, "env.json"), "{}");
    log = path.join(dir, "run.log");
    ran = path.join(dir, "ran");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses to start the servers with a start script another user owns: the marker stays, THE SERVERS MAY BE DOWN", async () => {
    const start = script("startServer.sh");
    const ctx = context({ stop: [script("stopServer.sh")], start: [start] });
    writeFileSync(ctx.state.serversStopped, "run-1\n");
    chownSync(start, 65534, 65534);
    const error = await startServers(ctx, log).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StepError);
    expect((error as StepError).step).to.equal("start-servers");
    expect((error as Error).message).to.match(
      new RegExp(
        `refusing to run the offline command ${start} as root: ${start} is owned by uid 65534.*; THE SERVERS MAY BE DOWN$`,
      ),
    );
    // The next run finds the marker and tries again; nothing ran as root.
    expect(existsSync(ctx.state.serversStopped)).to.equal(true);
    expect(calls()).to.equal("");
  });

  it("refuses to stop with such a script before anything stops, and leaves no marker", async () => {
    const stop = script("stopServer.sh");
    chownSync(stop, 65534, 65534);
    const ctx = context({ stop: [stop], start: [script("startServer.sh")] });
    const error = await stopServers(ctx, "run-1", log).catch((e: unknown) => e);
    expect((error as StepError).step).to.equal("stop-servers");
    expect(existsSync(ctx.state.serversStopped)).to.equal(false);
    expect(calls()).to.equal("");
  });

  it("fails a stop command whose secret file is missing, naming the key in the log, without running it", async () => {
    const stop = `${script("stopServer.sh")} -password "{{secret:wasAdminPassword}}"`;
    const ctx = context({
      stop: [stop],
      start: [script("startServer.sh")],
      secretFiles: { wasAdminPassword: path.join(dir, "gone") },
    });
    const error = await stopServers(ctx, "run-1", log).catch((e: unknown) => e);
    expect((error as Error).message).to.equal(`stop command failed: ${stop} (see ${log})`);
    expect(readFileSync(log, "utf8")).to.match(
      /the secret wasAdminPassword this command refers to cannot be read: .*ENOENT/,
    );
    expect(calls()).to.equal("");
    // Started again by the caller's finally: the marker says the stop was begun.
    expect(existsSync(ctx.state.serversStopped)).to.equal(true);
  });

  it("fails when the runAs user does not exist: su refuses, the stop and the start fail, naming the command", async () => {
    const ctx = context({ stop: [script("stopServer.sh")], start: [script("startServer.sh")] }, "dxb-no-such-user");
    const stop = await stopServers(ctx, "run-1", log).catch((e: unknown) => e);
    expect((stop as StepError).step).to.equal("stop-servers");
    const start = await startServers(ctx, log).catch((e: unknown) => e);
    expect((start as Error).message).to.match(/start command failed: .*startServer\.sh .*THE SERVERS MAY BE DOWN/);
    expect(readFileSync(log, "utf8")).to.match(/su: user dxb-no-such-user does not exist/);
    expect(calls()).to.equal("");
  });
});

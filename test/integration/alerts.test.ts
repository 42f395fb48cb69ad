import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { StackConfig } from "../../components/policy/load";
import { LocalPortalHost } from "../support/localHost";

interface Received {
  method: string;
  url: string;
  body: string;
}

/** A webhook and healthchecks-style receiver on loopback that records every request. */
async function receiver(): Promise<{ server: Server; port: number; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", () => {
      got.push({ method: req.method ?? "", url: req.url ?? "", body: Buffer.concat(parts).toString("utf8") });
      res.end("OK");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, got };
}

/**
 * Alerts reach a person without anyone reading status files: a ping per
 * schedule (start, success, fail), and a webhook for a failed, partial or
 * crashed run, sent by the scheduler's failure hook. Real agent, cron line,
 * restic and HTTP; the URLs' tokens never reach a log or a status file.
 */
describe("alerts: healthchecks-style pings and a webhook (real agent, cron line, HTTP receiver)", function () {
  this.timeout(300_000);
  const host = new LocalPortalHost();
  const TOKEN = "tok-3f9a1c";
  let config: StackConfig;
  let rx: Awaited<ReturnType<typeof receiver>>;
  const slug = "dxbackup-dx-al-portal-1-nightly";

  before(async () => {
    await host.start();
    rx = await receiver();
    config = host.config({
      environment: "al",
      customPaths: [{ name: "ssl", path: host.layout.ssl }],
      keys: { agent: { alerts: { webhookUrlSecret: "alertWebhook", pingUrlSecret: "alertPing" } } },
      secrets: {
        alertWebhook: `http://127.0.0.1:${rx.port}/hooks/${TOKEN}`,
        alertPing: `http://127.0.0.1:${rx.port}/ping/${TOKEN}`,
      },
    });
    await host.install(config);
  });
  after(async () => {
    rx.server.close();
    await host.stop();
  });

  it("a good run pings start and success, and sends no webhook", async () => {
    rx.got.length = 0;
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    expect(rx.got.map((g) => g.url)).to.deep.equal([`/ping/${TOKEN}/${slug}/start`, `/ping/${TOKEN}/${slug}`]);
  });

  it("a partial run pings fail and posts the webhook with the step; the job keeps exit 3", async () => {
    const partial = host.config({
      environment: "al",
      customPaths: [{ name: "gone", path: path.join(host.root, "not-there") }],
      keys: { agent: { alerts: { webhookUrlSecret: "alertWebhook", pingUrlSecret: "alertPing" } } },
      secrets: {
        alertWebhook: `http://127.0.0.1:${rx.port}/hooks/${TOKEN}`,
        alertPing: `http://127.0.0.1:${rx.port}/ping/${TOKEN}`,
      },
    });
    await host.install(partial);
    rx.got.length = 0;
    const { job } = await host.runSchedule(partial, "nightly");
    expect(job.code).to.equal(3);
    expect(rx.got.map((g) => g.url)).to.deep.equal([
      `/ping/${TOKEN}/${slug}/start`,
      `/ping/${TOKEN}/${slug}/fail`,
      `/hooks/${TOKEN}`,
    ]);
    expect(rx.got[1].body).to.match(/PARTIAL at step backup: missing on this host/);
    const hook = JSON.parse(rx.got[2].body);
    expect(hook).to.deep.include({
      source: "dx-backup",
      event: "run-partial",
      policy: "dx-al",
      host: "portal-1",
      schedule: "nightly",
      result: "partial",
      failedStep: "backup",
    });
    expect(hook.message).to.include("not-there");
    await host.install(config);
  });

  it("a run killed before it could record anything is reported as crashed by the cron line's failure hook", async () => {
    rx.got.length = 0;
    const { host: h } = host.policy(config);
    const job = host.startSchedule(config, "nightly");
    const started = path.join(h.agent.stateDir, "started-nightly");
    const before = existsSync(started) ? readFileSync(started, "utf8") : "";
    const deadline = Date.now() + 60_000;
    while (!existsSync(started) || readFileSync(started, "utf8") === before) {
      if (Date.now() > deadline) throw new Error("the run never started");
      await new Promise((r) => setTimeout(r, 20));
    }
    // Only the agent dies (as on an OOM kill); the job's shell runs the failure hook.
    spawnSync("pkill", ["-KILL", "-g", String(job.pid), "-f", "agent.json run nightly"]);
    const done = await job.done;
    expect(done.code).to.equal(137);
    const hooks = rx.got.filter((g) => g.url.startsWith("/hooks/"));
    expect(hooks).to.have.length(1);
    expect(JSON.parse(hooks[0].body)).to.deep.include({ event: "run-crashed", result: "failed", schedule: "nightly" });
    expect(rx.got.map((g) => g.url)).to.include(`/ping/${TOKEN}/${slug}/fail`);
  });

  it("the URLs' tokens are in their secret files only: not in agent.json, the cron file, logs or status", () => {
    const { host: h, policy } = host.policy(config);
    for (const f of [
      path.join(h.agent.configDir, "agent.json"),
      path.join(h.agent.cronDir, `dxbackup-${policy.name}`),
      path.join(h.agent.stateDir, "agent.log"),
      path.join(h.agent.stateDir, "last-run.log"),
      path.join(h.agent.stateDir, "status.json"),
      path.join(h.agent.stateDir, "runs.jsonl"),
    ])
      expect(readFileSync(f, "utf8"), f).to.not.include(TOKEN);
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import * as path from "node:path";
import { freePort } from "../../cli/local/process";
import { ensureCertificate } from "../../cli/local/s3rver";
import { evaluateStack } from "../../cli/plan/evaluate";
import { pruneCommand } from "../../cli/prune";
import type { StackConfig } from "../../components/policy/load";
import { renderHtpasswd } from "../../components/storage/htpasswd";
import { hostRepositoryPassword, hostRestPassword, restUser } from "../../shared/hostKeys";
import { expectLatestSkips, goodThenFailedAfterSnapshot } from "../support/failedRun";
import { LocalPortalHost } from "../support/localHost";
import { startRestServer, type RestServer } from "../support/restServer";

const REST_SECRET = "the rest-server secret 'quoted' $(not run)";
const RESTIC = process.env.DXB_TEST_RESTIC ?? "restic";

describe("storage.rest: restic's rest-server with a user per host, --private-repos, --append-only, TLS (real)", function () {
  this.timeout(600_000);
  const host = new LocalPortalHost();
  let rest: RestServer;
  let config: StackConfig;
  let policyName: string;
  let stackPassword: string;
  /** What root on portal-1 holds: its agent's secret files. */
  let own: { passwordFile: string; user: string; password: string };
  /** The weekly run that succeeded before one failed after its snapshot. */
  let goodWeekly = "";

  before(async () => {
    await host.start();
    const restDir = path.join(host.root, "rest");
    // The server's certificate and port first: the stack names them.
    const { cert } = ensureCertificate(path.join(restDir, "tls"));
    const port = await freePort();
    config = host.config({
      environment: "rest",
      storage: { rest: { url: `https://127.0.0.1:${port}`, caCertificatePath: cert } },
      retention: { keepLast: 1 },
      secrets: { restPassword: REST_SECRET },
    });
    policyName = host.policy(config).policy.name;
    stackPassword = config.values["dxbackup:repositoryPassword"];
    // The htpasswd file is the stack's output; a second host of the same policy is added as its stack would.
    const { result } = await evaluateStack(config, "it", { revealSecrets: true });
    const htpasswd = `${String(result.restHtpasswd)}${renderHtpasswd(REST_SECRET, policyName, ["portal-2"])}`;
    rest = await startRestServer(restDir, htpasswd, port);
    await host.install(config);
    const { host: h } = host.policy(config);
    const storage = JSON.parse(readFileSync(path.join(h.agent.configDir, "secrets", "storage.json"), "utf8"));
    own = {
      passwordFile: path.join(h.agent.configDir, "secrets", "repository-password"),
      user: storage.RESTIC_REST_USERNAME,
      password: storage.RESTIC_REST_PASSWORD,
    };
  });

  after(async () => {
    await rest?.server.stop();
    await host.stop();
  });

  /** restic as anyone holding `auth` would run it against the rest-server. */
  function resticAt(user: string, auth: { user: string; password: string }, passwordFile: string, ...args: string[]) {
    const url = new URL(`${rest.url}/${user}/`);
    url.username = encodeURIComponent(auth.user);
    url.password = encodeURIComponent(auth.password);
    return spawnSync(RESTIC, ["--cacert", rest.caCertificate, "--no-cache", ...args], {
      encoding: "utf8",
      env: { ...process.env, RESTIC_REPOSITORY: `rest:${url.href}`, RESTIC_PASSWORD_FILE: passwordFile },
    });
  }

  /** A raw HTTP request to the rest-server, as curl would send it: its status code. */
  function http(method: string, urlPath: string, auth: { user: string; password: string }, body = ""): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${rest.url}${urlPath}`,
        {
          method,
          ca: readFileSync(rest.caCertificate),
          auth: `${auth.user}:${auth.password}`,
          headers: { "Content-Length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  const repoDir = (h: string) => path.join(rest.data, restUser(policyName, h));
  const writeSecret = (name: string, value: string) => {
    const file = path.join(host.root, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return file;
  };

  it("backs up with the host's own user and repository password; no secret reaches the log, status or config", async () => {
    expect(own.user).to.equal(`${policyName}.portal-1`);
    expect(own.password).to.equal(hostRestPassword(REST_SECRET, policyName, "portal-1"));
    expect(readFileSync(own.passwordFile, "utf8")).to.equal(
      `${hostRepositoryPassword(stackPassword, policyName, "portal-1")}\n`,
    );
    for (let i = 0; i < 2; i++) {
      const { job, status } = await host.runSchedule(config, "nightly");
      expect(job.code, JSON.stringify(status)).to.equal(0);
    }
    expect(readdirSync(repoDir("portal-1"))).to.include("config");
    const { host: h } = host.policy(config);
    const log = readFileSync(path.join(h.agent.stateDir, "agent.log"), "utf8");
    // Retention is the storage server's: the host forgot nothing (keepLast 1, two runs).
    expect(log).to.include("is applied by dxbackup prune on the storage server: this host's repository is append-only");
    expect(host.snapshots(config).filter((s) => s.tags.includes("piece:files"))).to.have.length(2);
    const agentJson = readFileSync(path.join(h.agent.configDir, "agent.json"), "utf8");
    for (const secret of [own.password, REST_SECRET, stackPassword, readFileSync(own.passwordFile, "utf8").trim()]) {
      const found = spawnSync("grep", ["-rlF", "-e", secret, "--", h.agent.stateDir], { encoding: "utf8" });
      expect(found.stdout, "files under the state dir holding a secret").to.equal("");
      expect(found.status, found.stderr).to.equal(1); // no match (2 would be an error)
      expect(agentJson).to.not.include(secret);
    }
  });

  it("root on the host can neither delete nor overwrite its own snapshots", async () => {
    const before = host.snapshots(config);
    const victim = before[0].id;
    // What restic forget and prune send: every delete is refused, the snapshot's, a pack's and a key's.
    const [pack] = readdirSync(path.join(repoDir("portal-1"), "data"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
    expect(await http("DELETE", `/${own.user}/snapshots/${victim}`, own)).to.equal(403);
    expect(await http("DELETE", `/${own.user}/data/${pack}`, own)).to.equal(403);
    const key = readdirSync(path.join(repoDir("portal-1"), "keys"))[0];
    const keyBytes = readFileSync(path.join(repoDir("portal-1"), "keys", key));
    expect(await http("DELETE", `/${own.user}/keys/${key}`, own)).to.equal(403);
    expect(await http("POST", `/${own.user}/keys/${key}`, own, "overwritten")).to.be.within(400, 499);
    expect(readFileSync(path.join(repoDir("portal-1"), "keys", key))).to.deep.equal(keyBytes);
    expect(host.snapshots(config).map((s) => s.id)).to.have.members(before.map((s) => s.id));
  });

  it("root on the host cannot reach another host's repository, and its password opens no other", async () => {
    // portal-2 backs up with its own credentials, as its agent would.
    const other = {
      user: restUser(policyName, "portal-2"),
      password: hostRestPassword(REST_SECRET, policyName, "portal-2"),
    };
    const otherPassword = writeSecret("portal-2-pw", hostRepositoryPassword(stackPassword, policyName, "portal-2"));
    const data = path.join(host.root, "portal-2-data");
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, "secret.txt"), "portal-2 only\n");
    expect(resticAt(other.user, other, otherPassword, "init").status).to.equal(0);
    expect(resticAt(other.user, other, otherPassword, "backup", "--host", "portal-2", data).status).to.equal(0);
    // With portal-1's rest-server user: refused, whatever the request.
    expect(await http("GET", `/${other.user}/config`, own)).to.be.oneOf([401, 403]);
    expect(await http("POST", `/${other.user}/keys/0000`, own, "x")).to.be.oneOf([401, 403]);
    const listed = resticAt(other.user, own, own.passwordFile, "snapshots");
    expect(listed.status).to.not.equal(0);
    // Even with portal-2's files in hand (a leaked copy of the storage), portal-1's password opens nothing.
    const leaked = spawnSync(RESTIC, ["-r", repoDir("portal-2"), "--no-cache", "snapshots"], {
      encoding: "utf8",
      env: { ...process.env, RESTIC_PASSWORD_FILE: own.passwordFile },
    });
    expect(leaked.status).to.not.equal(0);
    expect(leaked.stderr).to.match(/wrong password|no key found/i);
    // ... while portal-2's own password does: the refusal above is the password's, not the copy's.
    const opened = spawnSync(RESTIC, ["-r", repoDir("portal-2"), "--no-cache", "snapshots"], {
      encoding: "utf8",
      env: { ...process.env, RESTIC_PASSWORD_FILE: otherPassword },
    });
    expect(opened.status, opened.stderr).to.equal(0);
  });

  it("a run that fails after its snapshot is marked by a snapshot of its own; latest and naming it skip it", async () => {
    const { good, failed } = await goodThenFailedAfterSnapshot(host, config);
    goodWeekly = String(good.runId);
    const mine = host.snapshots(config).filter((x) => x.tags.includes(`run:${failed.runId}`));
    // The run's own snapshot stays as it was (append-only), beside the marker.
    expect(mine.map((s) => s.tags.includes("not-a-recovery-point")).sort()).to.deep.equal([false, true]);
    expectLatestSkips(host, config, goodWeekly, String(failed.runId));
  });

  it("dxbackup prune on the storage server applies the hosts' retention, re-tags the failed run, and the hosts go on", async () => {
    const passwordFile = writeSecret("stack-pw", stackPassword);
    const files = () => host.snapshots(config).filter((s) => s.tags.includes("piece:files"));
    const before = files();
    expect(before.filter((s) => s.tags.includes("schedule:nightly"))).to.have.length(2);
    const prune = () =>
      pruneCommand({ stack: "it", config, passwordFile, repositories: rest.data, restic: RESTIC, progress: () => {} });
    // A repository of another user (the rest-server's) is refused: what root's restic wrote would lock the server out.
    const dir = repoDir("portal-1");
    const owner = statSync(dir);
    chownSync(dir, 65534, 65534);
    const refused = await prune().finally(() => chownSync(dir, owner.uid, owner.gid));
    expect(refused.exitCode).to.equal(1);
    expect(refused.stdout).to.match(
      /portal-1: .* belongs to uid 65534, the rest-server's user: run dxbackup prune as that user/,
    );
    expect(files()).to.have.length(before.length);
    // Root on the host plants a snapshot claiming an old time, for retention to keep it and forget a real one.
    const planted = resticAt(
      own.user,
      own,
      own.passwordFile,
      ...["backup", "--host", "portal-1"],
      ...["--tag", "schedule:nightly", "--time", "2026-01-01 00:00:00", path.join(host.root, "portal-2-data")],
    );
    expect(planted.status, planted.stderr).to.equal(0);
    const forged = await prune();
    expect(forged.exitCode).to.equal(1);
    expect(forged.stdout).to.match(
      /portal-1: nothing was forgotten: snapshot\(s\) [0-9a-f]{8} \(claims 2026-01-01T00:00:00.*, written .*\) claim a time their files on this server contradict/,
    );
    expect(files()).to.have.length(before.length);
    // The storage administrator removes it, as the message says, on the server.
    const onServer = (...args: string[]) =>
      spawnSync(RESTIC, ["-r", repoDir("portal-1"), "--no-cache", ...args], {
        encoding: "utf8",
        env: { ...process.env, RESTIC_PASSWORD: hostRepositoryPassword(stackPassword, policyName, "portal-1") },
      });
    const fake = (JSON.parse(onServer("snapshots", "--json").stdout) as Array<{ id: string; time: string }>).find((s) =>
      s.time.startsWith("2026-01-01"),
    )!;
    const all0 = host.snapshots(config);
    expect(onServer("forget", fake.id).status).to.equal(0);
    // A dry run names what it would forget and changes nothing.
    const said: string[] = [];
    const dry = await pruneCommand({
      ...{ stack: "it", config, passwordFile, repositories: rest.data, restic: RESTIC },
      ...{ dryRun: true, progress: (l: string) => said.push(l) },
    });
    expect(dry.exitCode, dry.stdout).to.equal(0);
    expect(dry.stdout).to.match(/portal-1: dry run: would forget \d+ snapshot\(s\)/);
    expect(said.join("")).to.match(/portal-1: would forget [0-9a-f]{8} \(nightly, /);
    expect(said.join("")).to.match(/portal-1: would mark run \S+ as no recovery point/);
    expect(host.snapshots(config)).to.have.length(all0.length - 1);
    const pruned = await prune();
    expect(pruned.exitCode, pruned.stdout).to.equal(0);
    const after = files();
    // keepLast 1 per schedule: one nightly, one weekly recovery point; the failed run stays, marked, counted nowhere.
    expect(after.filter((s) => s.tags.includes("schedule:nightly"))).to.have.length(1);
    expect(after.filter((s) => s.tags.includes("schedule:weekly")).map((s) => s.tags)).to.deep.equal([
      after.find((s) => s.tags.includes(`run:${goodWeekly}`))!.tags,
    ]);
    const all = host.snapshots(config);
    const failedRun = all.find((s) => s.tags.includes("not-a-recovery-point"))!.tags.find((t) => t.startsWith("run:"))!;
    const marked = all.filter((s) => s.tags.includes(failedRun));
    expect(marked.length).to.be.at.least(2);
    for (const s of marked) expect(s.tags).to.include("not-a-recovery-point").and.not.include("schedule:weekly");
    // Safe to run again, and the host backs up as before.
    expect((await prune()).exitCode).to.equal(0);
    const { job } = await host.runSchedule(config, "nightly");
    expect(job.code).to.equal(0);
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { hostFiles } from "../../components/hosts/hostFiles";
import type { Policy } from "../../components/policy/types";
import { renderBundle, type BundleAgent, type BundleFile } from "../../components/render/bundle";
import { remoteCommand, renderInstallScript, renderUninstallScript } from "../../components/render/installer";
import { agentArtifact, agentFile } from "../../components/render/agentArtifact";
import { policyWithAgentIn } from "../support/hostPolicy";
import { installLocally } from "../../cli/local/shell";

/** Runs a command string the way an SSH session does: through the login shell (sh), stdin attached. */
function runAsSsh(
  command: string,
  stdin: string | Buffer = "",
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("sh", ["-c", command], { input: stdin, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const INSTALL_ID = "00000000-0000-4000-8000-000000000000";
const agent = agentArtifact("node");

function filesFor(policy: Policy, pieces: Record<string, string> = {}): BundleFile[] {
  const secrets = {
    pieces,
    repositoryPassword: "pw'$(touch /tmp/x)",
    storageEnvironment: { AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s3cr3t" },
  };
  return hostFiles(policy, policy.hosts[0], "s3:https://s3.example.com/b/portal-1", secrets);
}

/** The installer as the provider runs it: `<script> ID [upload RUNTIME SHA256]`. */
function script(policy: Policy, ...args: string[]) {
  return `${remoteCommand(renderInstallScript(policy.name, policy.hosts[0]), false)} ${[INSTALL_ID, ...args].join(" ")}`;
}

/** What the provider's upload sends: the agent's bytes, named by their digest. */
function upload(
  policy: Policy,
  bytes: Buffer = readFileSync(agentFile(agent)),
  runtime = agent.runtime,
  digest = agent.digest,
) {
  return runAsSsh(script(policy, "upload", runtime, digest, String(bytes.length)), bytes);
}

/** The install step alone (the host must have the agent already). */
function installOnly(policy: Policy, files = filesFor(policy), a: BundleAgent = agent) {
  return runAsSsh(script(policy), renderBundle(files, a));
}

/** A create: upload, then install. */
function install(policy: Policy, files = filesFor(policy)) {
  const sent = upload(policy);
  if (sent.status !== 0) return sent;
  return installOnly(policy, files);
}

function uninstall(policy: Policy) {
  return runAsSsh(`${remoteCommand(renderUninstallScript(policy.name, policy.hosts[0]), false)} ${INSTALL_ID}`);
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe("host installer and uninstaller (real bash, as the SSH session runs them)", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("installs every file with its mode, then changes nothing on a second run", () => {
    const made = policyWithAgentIn();
    root = made.root;
    const first = install(made.policy);
    expect(first.stderr).to.equal("");
    expect(first.status).to.equal(0);
    expect(first.stdout).to.match(/scheduler=cron files=5 changed=5 removed=0/);
    const a = made.policy.hosts[0].agent;
    expect(mode(`${a.installDir}/bin/dxbackup-agent`)).to.equal("755");
    expect(mode(`${a.configDir}/secrets/repository-password`)).to.equal("600");
    expect(mode(`${a.configDir}/agent.json`)).to.equal("600");
    expect(mode(`${a.cronDir}/dxbackup-dx-test`)).to.equal("644");
    expect(readFileSync(`${a.configDir}/secrets/repository-password`, "utf8")).to.equal("pw'$(touch /tmp/x)\n");
    // cron is the scheduler here: no systemd units are written.
    expect(existsSync(`${a.systemdDir}/dxbackup-dx-test-nightly.timer`)).to.equal(false);

    const second = installOnly(made.policy);
    expect(second.status).to.equal(0);
    expect(second.stdout).to.match(/files=5 changed=0 removed=0 agent=unchanged/);
  });

  it("an install that names an agent the host has not received changes nothing and says AGENT-MISSING", () => {
    const made = policyWithAgentIn();
    root = made.root;
    const r = installOnly(made.policy);
    expect(r.status).to.equal(3);
    expect(r.stderr).to.match(
      /AGENT-MISSING node [0-9a-f]{64}: the host has not received this agent; nothing was changed/,
    );
    const a = made.policy.hosts[0].agent;
    for (const dir of [a.installDir, a.configDir, a.stateDir, `${a.cronDir}/dxbackup-dx-test`]) {
      expect(existsSync(dir), dir).to.equal(false);
    }
    // After the upload the same install goes through, and takes the received agent.
    expect(upload(made.policy).stdout).to.match(/agent received: node sha256 [0-9a-f]{12}/);
    const after = installOnly(made.policy);
    expect(after.stdout).to.match(/changed=5 removed=0 agent=installed node [0-9a-f]{12}/);
    expect(readFileSync(`${a.installDir}/bin/dxbackup-agent`)).to.deep.equal(readFileSync(agentFile(agent)));
    expect(readdirSync(`${a.installDir}/bin`)).to.deep.equal(["dxbackup-agent"]);
  });

  it("the provider sends the agent only when the host lacks it: at first, never again, and again once it is lost", async () => {
    const made = policyWithAgentIn();
    root = made.root;
    const h = made.policy.hosts[0];
    const first = await installLocally(made.policy, h, filesFor(made.policy), agent);
    expect(first).to.match(/^dx-backup install \[portal-1\]: agent received: node sha256 [0-9a-f]{12}\n/);
    expect(first).to.match(/agent=installed node [0-9a-f]{12}$/);
    const again = await installLocally(made.policy, h, filesFor(made.policy), agent);
    expect(again).to.not.include("agent received");
    expect(again).to.match(/changed=0 removed=0 agent=unchanged$/);
    rmSync(`${h.agent.installDir}/bin/dxbackup-agent`);
    const lost = await installLocally(made.policy, h, filesFor(made.policy), agent);
    expect(lost).to.match(/agent received: node/);
    expect(readFileSync(`${h.agent.installDir}/bin/dxbackup-agent`)).to.deep.equal(readFileSync(agentFile(agent)));
  });

  it("a new agent replaces the installed one; removing it on the host makes the next install ask for it", () => {
    const made = policyWithAgentIn();
    root = made.root;
    expect(install(made.policy).status).to.equal(0);
    const a = made.policy.hosts[0].agent;
    const next = Buffer.concat([readFileSync(agentFile(agent)), Buffer.from("\n// the next version\n")]);
    const nextAgent = { runtime: "node" as const, digest: createHash("sha256").update(next).digest("hex") };
    expect(upload(made.policy, next, "node", nextAgent.digest).status).to.equal(0);
    expect(installOnly(made.policy, filesFor(made.policy), nextAgent).stdout).to.match(
      /changed=1 removed=0 agent=installed/,
    );
    expect(readFileSync(`${a.installDir}/bin/dxbackup-agent`)).to.deep.equal(next);
    rmSync(`${a.installDir}/bin/dxbackup-agent`);
    expect(installOnly(made.policy, filesFor(made.policy), nextAgent).status).to.equal(3);
  });

  it("refuses an agent that arrives damaged, or does not run here, and leaves nothing behind", () => {
    const made = policyWithAgentIn();
    root = made.root;
    const a = made.policy.hosts[0].agent;
    const damaged = upload(made.policy, readFileSync(agentFile(agent)).subarray(0, 1000));
    expect(damaged.status).to.equal(1);
    expect(damaged.stderr).to.match(
      /the agent arrived damaged, or its file changed on the deploying machine \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); nothing was installed/,
    );
    expect(existsSync(a.installDir)).to.equal(false);

    const notAgent = Buffer.from("throw new Error('SyntaxError of another program')\n");
    const digest = createHash("sha256").update(notAgent).digest("hex");
    const r = upload(made.policy, notAgent, "node", digest);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/the node agent cannot run on this host \(Node\.js v\d+.*\); nothing was installed/);
    expect(existsSync(a.installDir)).to.equal(false);
  });

  it("refuses an upload that would leave less than 50 MiB free, before writing it", () => {
    const made = policyWithAgentIn();
    root = made.root;
    const opt = path.dirname(made.policy.hosts[0].agent.installDir);
    mkdirSync(opt, { recursive: true });
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=40m", "tmpfs", opt], { encoding: "utf8" });
    expect(mounted.status, `mount needs root: ${mounted.stderr}`).to.equal(0);
    try {
      const r = upload(made.policy);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(
        /not enough free space in .*\/opt\/dxbackup\/dx-test for the node agent: 40 MiB free, 50 MiB needed \(the agent and 50 MiB to spare\); nothing was installed/,
      );
      expect(readdirSync(opt)).to.deep.equal([]);
    } finally {
      spawnSync("umount", [opt]);
    }
  });

  it("uninstall removes an agent that was received for an install that never came", () => {
    const made = policyWithAgentIn();
    root = made.root;
    expect(upload(made.policy).status).to.equal(0);
    const bin = `${made.policy.hosts[0].agent.installDir}/bin`;
    expect(readdirSync(bin)).to.deep.equal([`.agent-${agent.digest}`]);
    const r = uninstall(made.policy);
    expect(r.stdout).to.match(/nothing installed; nothing to do/);
    expect(existsSync(made.policy.hosts[0].agent.installDir)).to.equal(false);
  });

  describe("agent.runtime linux-x64: the single executable", function () {
    this.timeout(120_000);
    const sea = () => agentArtifact("linux-x64");
    const withRuntime = () =>
      policyWithAgentIn((c) => {
        const h = (c.hosts as Array<{ agent: Record<string, unknown> }>)[0];
        h.agent.runtime = "linux-x64";
      });

    it("installs an executable that runs with no Node.js on its PATH", () => {
      const made = withRuntime();
      root = made.root;
      const a = sea();
      expect(upload(made.policy, readFileSync(agentFile(a)), a.runtime, a.digest).status).to.equal(0);
      const r = installOnly(made.policy, filesFor(made.policy), a);
      expect(r.stdout, r.stderr).to.match(/agent=installed linux-x64 [0-9a-f]{12}/);
      const exe = `${made.policy.hosts[0].agent.installDir}/bin/dxbackup-agent`;
      const run = spawnSync(exe, ["--version"], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
      expect(run.stdout.trim()).to.match(/^dxbackup-agent \d+$/);
      expect(run.stderr).to.equal("");
    });

    it("refuses it, naming the cause, where it cannot run (a noexec install dir), and installs nothing", () => {
      const made = withRuntime();
      root = made.root;
      const a = sea();
      const opt = path.dirname(made.policy.hosts[0].agent.installDir);
      mkdirSync(opt, { recursive: true });
      const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "noexec", "tmpfs", opt], { encoding: "utf8" });
      expect(mounted.status, `mount needs root: ${mounted.stderr}`).to.equal(0);
      try {
        const r = upload(made.policy, readFileSync(agentFile(a)), a.runtime, a.digest);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.match(
          /the linux-x64 agent cannot run on this host \(.*Permission denied\); nothing was installed/,
        );
        expect(readdirSync(opt)).to.deep.equal([]);
        expect(installOnly(made.policy, filesFor(made.policy), a).status).to.equal(3);
      } finally {
        spawnSync("umount", [opt]);
      }
    });
  });

  it("removes the files of a schedule that was dropped, and only those", () => {
    const two = policyWithAgentIn((c) => {
      (c.schedules as unknown[]).push({ name: "weekly", cron: "0 3 * * 0" });
    });
    root = two.root;
    expect(install(two.policy).stdout).to.match(/files=5 changed=5/);
    const dir = two.policy.hosts[0].agent.configDir;
    const schedules = () => Object.keys(JSON.parse(readFileSync(`${dir}/agent.json`, "utf8")).schedules);
    expect(schedules()).to.deep.equal(["nightly", "weekly"]);

    const one: Policy = { ...two.policy, schedules: two.policy.schedules.slice(0, 1) };
    const r = install(one);
    expect(r.stdout).to.match(/files=5 changed=2 removed=0/); // agent.json and the cron file change
    expect(schedules()).to.deep.equal(["nightly"]);
    expect(readFileSync(`${two.policy.hosts[0].agent.cronDir}/dxbackup-dx-test`, "utf8")).to.not.include("weekly");
  });

  it("installs each piece's config and its secret file, holding exactly the secret", () => {
    const made = policyWithAgentIn((c) => {
      c.databases = [
        {
          domain: "release",
          host: "portal-1",
          derby: { url: "jdbc:derby://localhost:1527//opt/db/wps6", user: "app", passwordSecret: "derbyPassword" },
        },
      ];
    });
    root = made.root;
    const r = install(made.policy, filesFor(made.policy, { derbyPassword: "d3rby 'pw'" }));
    expect(r.status, r.stderr).to.equal(0);
    const dir = made.policy.hosts[0].agent.configDir;
    expect(readFileSync(`${dir}/secrets/config/derbyPassword`, "utf8")).to.equal("d3rby 'pw'");
    expect(mode(`${dir}/secrets/config/derbyPassword`)).to.equal("600");
    const config = JSON.parse(readFileSync(`${dir}/agent.json`, "utf8"));
    expect(config.pieces["db-release"].database.derby.passwordFile).to.equal(`${dir}/secrets/config/derbyPassword`);
    expect(config.schedules.nightly.pieces).to.deep.equal(["db-release", "wasconfig-wpProfile"]);
    // The secret itself is only in its own file.
    expect(readFileSync(`${dir}/agent.json`, "utf8")).to.not.include("d3rby");
    expect(() => filesFor(made.policy)).to.throw(/the secret 'derbyPassword' of host portal-1 was not provided/);
  });

  it("refuses a bundle that names a path outside the policy's directories", () => {
    const made = policyWithAgentIn();
    root = made.root;
    const evil: BundleFile = {
      path: `${root}/etc/passwd`,
      mode: "0644",
      scheduler: "all",
      content: "x",
      secret: false,
    };
    const r = install(made.policy, [...filesFor(made.policy), evil]);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/outside this policy's directories/);
    expect(existsSync(`${root}/etc/passwd`)).to.equal(false);
  });

  it("refuses a truncated bundle without removing anything", () => {
    const made = policyWithAgentIn();
    root = made.root;
    install(made.policy);
    const truncated = renderBundle(filesFor(made.policy), agent).replace(/end\n$/, "");
    const r = runAsSsh(script(made.policy), truncated);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/ended early; nothing was removed/);
    expect(existsSync(`${made.policy.hosts[0].agent.configDir}/agent.json`)).to.equal(true);
  });

  it("uninstall removes the schedule and the agent but keeps the state directory; twice is harmless", () => {
    const made = policyWithAgentIn();
    root = made.root;
    install(made.policy);
    const a = made.policy.hosts[0].agent;
    writeFileSync(`${a.stateDir}/status.json`, "{}");
    const r = uninstall(made.policy);
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(
      /removed 5 file\(s\) and the schedule; kept .*var\/lib\/dxbackup\/dx-test and the backup repository/,
    );
    expect(existsSync(`${a.cronDir}/dxbackup-dx-test`)).to.equal(false);
    expect(existsSync(a.installDir)).to.equal(false);
    expect(existsSync(a.configDir)).to.equal(false);
    expect(readFileSync(`${a.stateDir}/status.json`, "utf8")).to.equal("{}");
    const again = uninstall(made.policy);
    expect(again.status).to.equal(0);
    expect(again.stdout).to.match(/nothing installed; nothing to do/);
  });
});

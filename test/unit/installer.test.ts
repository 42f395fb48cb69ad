import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostFiles } from "../../components/hosts/hostFiles";
import type { Policy } from "../../components/policy/types";
import { renderBundle, type BundleFile } from "../../components/render/bundle";
import { remoteCommand, renderInstallScript, renderUninstallScript } from "../../components/render/installer";
import { agentBundle } from "../../components/render/agentBundle";
import { policyWithAgentIn } from "../support/hostPolicy";

/** Runs a command string the way an SSH session does: through the login shell (sh), stdin attached. */
function runAsSsh(command: string, stdin = ""): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("sh", ["-c", command], { input: stdin, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function filesFor(policy: Policy, pieces: Record<string, string> = {}): BundleFile[] {
  const secrets = {
    pieces,
    repositoryPassword: "pw'$(touch /tmp/x)",
    storageEnvironment: { AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s3cr3t" },
  };
  return hostFiles(policy, policy.hosts[0], "s3:https://s3.example.com/b/portal-1", secrets, agentBundle());
}

function install(policy: Policy, files = filesFor(policy)) {
  return runAsSsh(remoteCommand(renderInstallScript(policy.name, policy.hosts[0]), false), renderBundle(files));
}

function uninstall(policy: Policy) {
  return runAsSsh(remoteCommand(renderUninstallScript(policy.name, policy.hosts[0]), false));
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

    const second = install(made.policy);
    expect(second.status).to.equal(0);
    expect(second.stdout).to.match(/files=5 changed=0 removed=0/);
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
          derby: { url: "jdbc:derby:/opt/db/wps6", user: "app", passwordSecret: "derbyPassword" },
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
    const truncated = renderBundle(filesFor(made.policy)).replace(/end\n$/, "");
    const r = runAsSsh(remoteCommand(renderInstallScript(made.policy.name, made.policy.hosts[0]), false), truncated);
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

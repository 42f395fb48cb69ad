import type { Stack } from "@pulumi/pulumi/automation";
import { expect } from "chai";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { localStack, pulumiCli } from "../../cli/engine/localStack";
import type { StackConfig } from "../../components/policy/load";
import { hostRepositoryPassword } from "../../shared/hostKeys";
import { agentDirsUnder, SAMPLE_HOST_KEY } from "../support/config";
import { LocalPortalHost } from "../support/localHost";
import { waitFor } from "../support/processes";

/**
 * The host lifecycle on the real Pulumi engine: the CLI built from its Go
 * module by scripts/build-pulumi.sh, a file backend, passphrase secrets, the
 * AgentInstall dynamic provider over real SSH to a loopback sshd, restic into
 * s3rver. The steps build on each other, like the days of one stack.
 */
describe("lifecycle on the real Pulumi engine (real sshd, s3rver, restic)", function () {
  this.timeout(300_000);
  const host = new LocalPortalHost();
  const dir = mkdtempSync(path.join(tmpdir(), "dxb-engine-"));
  /** Everything the engine printed, for the secrets check. */
  const engineOutput: string[] = [];
  let stack: Stack;
  let config: StackConfig;

  type HostEntry = Record<string, unknown> & { name: string; address: string; ssh?: Record<string, unknown> };
  const hostsOf = (c: StackConfig) => JSON.parse(c.values["dxbackup:hosts"]) as HostEntry[];
  /** `c` with its hosts changed by `change`. */
  function withHosts(c: StackConfig, change: (hosts: HostEntry[]) => HostEntry[]): StackConfig {
    return { ...c, values: { ...c.values, "dxbackup:hosts": JSON.stringify(change(hostsOf(c))) } };
  }
  function withValue(c: StackConfig, key: string, value: unknown): StackConfig {
    return { ...c, values: { ...c.values, [`dxbackup:${key}`]: JSON.stringify(value) } };
  }

  /** The stack with `c`: non-secret keys into the stack file, secrets with `pulumi config set --secret`. */
  async function deploy(c: StackConfig, stackDir = dir, name = "lifecycle"): Promise<Stack> {
    const plain = Object.fromEntries(Object.entries(c.values).filter(([k]) => !c.secretKeys.has(k)));
    const secrets = Object.fromEntries(Object.entries(c.values).filter(([k]) => c.secretKeys.has(k)));
    return localStack({ dir: stackDir, stack: name, config: plain, secrets });
  }
  const record = (text: string) => engineOutput.push(text);
  const up = (s: Stack) => s.up({ color: "never", onOutput: record });

  /** What a preview would do to each agent install: resource name -> the engine's steps, in order. */
  async function installSteps(s: Stack): Promise<Record<string, string[]>> {
    const steps: Record<string, string[]> = {};
    await s.preview({
      color: "never",
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.type.endsWith(":AgentInstall")) (steps[m.urn.split("::").pop() as string] ??= []).push(m.op);
      },
    });
    return steps;
  }
  const installIdOnHost = (stateDir: string) => readFileSync(path.join(stateDir, "install-id"), "utf8").trim();

  /** The AgentInstall resources in the engine's state, by resource name. */
  async function installsInState(): Promise<Record<string, { id: string; outputs: Record<string, unknown> }>> {
    const state = await stack.exportStack();
    const resources = (state.deployment as { resources: Array<Record<string, unknown>> }).resources;
    return Object.fromEntries(
      resources
        .filter((r) => String(r.type).endsWith(":AgentInstall"))
        .map((r) => [
          String(r.urn).split("::").pop(),
          { id: String(r.id), outputs: r.outputs as Record<string, unknown> },
        ]),
    );
  }

  /** Plain restic against one host's repository, with that host's own password derived from the stack's. */
  function restic(repoHost: string, stackPassword: string, ...args: string[]) {
    return resticWith(repoHost, hostRepositoryPassword(stackPassword, "dx-it", repoHost), ...args);
  }

  /** Plain restic against one host's repository, with exactly this password. */
  function resticWith(repoHost: string, password: string, ...args: string[]) {
    return spawnSync(
      "restic",
      [
        "-r",
        `s3:https://127.0.0.1:${host.s3Port}/dxb/dx-it/${repoHost}`,
        "--cacert",
        host.services.caCertificate,
        ...args,
      ],
      {
        encoding: "utf8",
        env: {
          ...process.env,
          RESTIC_PASSWORD: password,
          AWS_ACCESS_KEY_ID: "S3RVER",
          AWS_SECRET_ACCESS_KEY: "S3RVER",
        },
      },
    );
  }

  before(async () => {
    await host.start();
    config = withHosts(host.config({ environment: "it" }), ([h]) => [
      { ...h, ssh: { ...h.ssh, hostKey: host.services.hostKey } },
    ]);
  });
  after(async () => {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("up installs the agent over SSH; a second preview expects no changes and a second up changes nothing", async () => {
    stack = await deploy(config);
    const first = await up(stack);
    expect(first.summary.result).to.equal("succeeded");
    expect(first.summary.resourceChanges).to.deep.include({ create: 5 });
    const { host: h, policy } = host.policy(config);
    expect(readFileSync(path.join(h.agent.cronDir, `dxbackup-${policy.name}`), "utf8")).to.match(
      /^0 2 \* \* \* root /m,
    );
    const installs = await installsInState();
    expect(installIdOnHost(h.agent.stateDir)).to.equal(installs["dx-it-portal-1-install"].id);

    await stack.preview({ expectNoChanges: true, color: "never" });
    const second = await up(stack);
    expect(second.summary.resourceChanges).to.deep.equal({ same: 5 });
  });

  it("a new version of the install provider takes over by an in-place update (deletes run the stored code)", async () => {
    const file = path.join(dir, "exported.json");
    const exported = pulumiCli(stack, ["stack", "export", "--file", file]);
    expect(exported.status, exported.stderr).to.equal(0);
    const state = JSON.parse(readFileSync(file, "utf8"));
    const install = state.deployment.resources.find((r: { type: string }) => r.type.endsWith(":AgentInstall"));
    // The provider code an older dx-backup stored.
    for (const props of [install.inputs, install.outputs]) props.__provider += "\n// an older version";
    writeFileSync(file, JSON.stringify(state));
    const imported = pulumiCli(stack, ["stack", "import", "--file", file]);
    expect(imported.status, imported.stderr).to.equal(0);
    expect(await installSteps(stack)).to.deep.equal({ "dx-it-portal-1-install": ["update"] });
    await up(stack);
    await stack.preview({ expectNoChanges: true, color: "never" });
  });

  it("a change of retention, of a schedule's cron and of a target updates the install in place; the backup runs", async () => {
    const { host: h } = host.policy(config);
    const before = installIdOnHost(h.agent.stateDir);
    config = withHosts(
      withValue(withValue(config, "retention", { keepLast: 5 }), "schedules", [
        { name: "nightly", cron: "30 1 * * *", mode: "online" },
        { name: "weekly", cron: "0 3 * * 0", mode: "offline" },
      ]),
      ([one]) => [{ ...one, customPaths: [{ name: "ssl", path: host.layout.ssl }] }],
    );
    stack = await deploy(config);
    expect(await installSteps(stack)).to.deep.equal({ "dx-it-portal-1-install": ["update"] });
    const preview = await stack.preview({ color: "never" });
    expect(preview.changeSummary).to.not.have.any.keys("replace", "delete", "create");
    await up(stack);
    expect(installIdOnHost(h.agent.stateDir)).to.equal(before);
    const { policy } = host.policy(config);
    expect(readFileSync(path.join(h.agent.cronDir, `dxbackup-${policy.name}`), "utf8")).to.match(
      /^30 1 \* \* \* root /m,
    );
    const agentConfig = JSON.parse(readFileSync(path.join(h.agent.configDir, "agent.json"), "utf8"));
    expect(agentConfig.schedules.nightly.retention).to.deep.include({ keepLast: 5 });
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
  });

  it("the agent is sent only when it changes and never lands in the state; linux-x64 sends the executable once", async () => {
    const { host: h } = host.policy(config);
    const outputOf = async () => String((await installsInState())["dx-it-portal-1-install"].outputs.installOutput);
    // A config change: the installer runs, the agent stays where it is.
    config = withValue(config, "retention", { keepLast: 6 });
    stack = await deploy(config);
    await up(stack);
    expect(await outputOf()).to.match(/changed=1 removed=0 agent=unchanged$/);
    expect(await outputOf()).to.not.match(/agent received/);

    config = withHosts(config, ([one]) => [
      { ...one, agent: { ...(one.agent as Record<string, unknown>), runtime: "linux-x64" } },
    ]);
    stack = await deploy(config);
    expect(await installSteps(stack)).to.deep.equal({ "dx-it-portal-1-install": ["update"] });
    await up(stack);
    expect(await outputOf()).to.match(
      /^dx-backup install \[portal-1\]: agent received: linux-x64 sha256 [0-9a-f]{12}\n/,
    );
    expect(await outputOf()).to.match(/agent=installed linux-x64 [0-9a-f]{12}$/);
    const installed = readFileSync(path.join(h.agent.installDir, "bin", "dxbackup-agent"));
    expect(installed.subarray(0, 4).toString("latin1")).to.equal("\x7fELF");
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);

    // The state: the agent's runtime, digest and file on this machine; not ~100 MB of executable.
    const state = JSON.stringify((await stack.exportStack()).deployment);
    expect(state.length).to.be.below(200_000);
    const install = (await installsInState())["dx-it-portal-1-install"].outputs.agent as Record<string, string>;
    expect(install.runtime).to.equal("linux-x64");
    expect(createHash("sha256").update(installed).digest("hex")).to.equal(install.digest);
    await stack.preview({ expectNoChanges: true, color: "never" });
  });

  it("a pinned host key that the host does not have is refused before anything is sent", async () => {
    const { host: h } = host.policy(config);
    const schedulePath = path.join(h.agent.configDir, "agent.json");
    const beforeChange = readFileSync(schedulePath, "utf8");
    const spoofed = withValue(
      withHosts(config, ([one]) => [{ ...one, ssh: { ...one.ssh, hostKey: SAMPLE_HOST_KEY } }]),
      "retention",
      { keepLast: 9 },
    );
    stack = await deploy(spoofed);
    let message = "";
    await up(stack).catch((err: Error) => (message = err.message));
    expect(message).to.match(/the host's SSH key is not the pinned hostKey; nothing was sent/);
    expect(readFileSync(schedulePath, "utf8")).to.equal(beforeChange);
    stack = await deploy(config);
    await up(stack);
    await stack.preview({ expectNoChanges: true, color: "never" });
  });

  it("a new repositoryPassword re-keys the repository: backups go on, the old password opens nothing", async () => {
    const oldPassword = config.values["dxbackup:repositoryPassword"];
    const newPassword = "a new passphrase, 'quoted' $(not run)";
    config = { ...config, values: { ...config.values, "dxbackup:repositoryPassword": newPassword } };
    stack = await deploy(config);
    await up(stack);
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    expect(restic("portal-1", newPassword, "cat", "config").status).to.equal(0);
    const old = restic("portal-1", oldPassword, "cat", "config");
    expect(old.status).to.not.equal(0);
    expect(old.stderr).to.match(/wrong password|no key/i);
    // The host's key is its own: the stack's password itself opens nothing.
    expect(resticWith("portal-1", newPassword, "cat", "config").status).to.not.equal(0);
  });

  it("a new repositoryPassword while the storage is unreachable fails the up and keeps the old password working", async () => {
    const { host: h } = host.policy(config);
    const passwordFile = path.join(h.agent.configDir, "secrets", "repository-password");
    const before = readFileSync(passwordFile, "utf8");
    const rotated = { ...config, values: { ...config.values, "dxbackup:repositoryPassword": "third passphrase" } };
    stack = await deploy(rotated);
    await host.services.stopS3();
    let message = "";
    try {
      await up(stack).catch((err: Error) => (message = err.message));
    } finally {
      await host.services.startS3();
    }
    expect(message).to.match(/neither the new nor the previous repository password opens/);
    expect(message).to.match(/the previous password is kept on this host/);
    expect(readFileSync(passwordFile, "utf8")).to.equal(before);
    expect((await host.runSchedule(config, "nightly")).job.code).to.equal(0);
    // With the storage back, the same up re-keys.
    config = rotated;
    await up(stack);
    expect(readFileSync(passwordFile, "utf8")).to.equal(
      `${hostRepositoryPassword("third passphrase", "dx-it", "portal-1")}\n`,
    );
    expect((await host.runSchedule(config, "nightly")).job.code).to.equal(0);
  });

  it("an old key that cannot go during the up (a lock) is kept; the next up or the next run removes it", async () => {
    const { host: h } = host.policy(config);
    const pending = path.join(h.agent.stateDir, "rekey-pending");
    /** An up to a new repositoryPassword while a restic of the host's, mid-backup, holds a lock. */
    const rotateLocked = async (next: string) => {
      const current = config.values["dxbackup:repositoryPassword"];
      const rotated = { ...config, values: { ...config.values, "dxbackup:repositoryPassword": next } };
      stack = await deploy(rotated);
      const holder = spawn(
        "restic",
        [
          ...["-r", `s3:https://127.0.0.1:${host.s3Port}/dxb/dx-it/portal-1`, "--cacert", host.services.caCertificate],
          ...["backup", "--stdin", "--stdin-filename", "held", "--host", "portal-1", "--tag", "lock-holder"],
        ],
        {
          env: {
            ...process.env,
            RESTIC_PASSWORD: hostRepositoryPassword(current, "dx-it", "portal-1"),
            AWS_ACCESS_KEY_ID: "S3RVER",
            AWS_SECRET_ACCESS_KEY: "S3RVER",
          },
          stdio: ["pipe", "ignore", "ignore"],
        },
      );
      const released = new Promise((resolve) => holder.on("close", resolve));
      try {
        await waitFor(
          "the holder's lock",
          () => restic("portal-1", current, "--no-lock", "list", "locks").stdout.trim() !== "",
        );
        await up(stack);
      } finally {
        holder.stdin.end("data\n");
        await released;
      }
      config = rotated;
    };
    const opens = (stackPassword: string) => restic("portal-1", stackPassword, "cat", "config").status === 0;

    // The up succeeds on the new key; the old one stays, its password kept root's only.
    await rotateLocked("fourth passphrase");
    expect(readdirSync(pending)).to.have.length(1);
    expect(statSync(path.join(pending, readdirSync(pending)[0])).mode & 0o777).to.equal(0o600);
    expect(opens("third passphrase")).to.equal(true);
    // The next up (another change) removes the kept key first, then the one it replaces.
    const rotated = { ...config, values: { ...config.values, "dxbackup:repositoryPassword": "fifth passphrase" } };
    stack = await deploy(rotated);
    await up(stack);
    config = rotated;
    expect(readdirSync(pending)).to.deep.equal([]);
    expect([opens("third passphrase"), opens("fourth passphrase"), opens("fifth passphrase")]).to.deep.equal([
      false,
      false,
      true,
    ]);
    // Kept again, and this time the next run removes it.
    await rotateLocked("sixth passphrase");
    expect(readdirSync(pending)).to.have.length(1);
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    expect(readdirSync(pending)).to.deep.equal([]);
    expect([opens("fifth passphrase"), opens("sixth passphrase")]).to.deep.equal([false, true]);
  });

  it("a new address of the same machine replaces the install, and the old delete leaves the new install alone", async () => {
    const { host: h } = host.policy(config);
    const before = installIdOnHost(h.agent.stateDir);
    config = withHosts(config, ([one]) => [{ ...one, address: "localhost" }]);
    stack = await deploy(config);
    // Create the new install first, then delete the old one (whose uninstall sees another install id).
    expect(await installSteps(stack)).to.deep.equal({
      "dx-it-portal-1-install": ["create-replacement", "replace", "delete-replaced"],
    });
    await up(stack);
    const now = installIdOnHost(h.agent.stateDir);
    expect(now).to.not.equal(before);
    expect((await installsInState())["dx-it-portal-1-install"].id).to.equal(now);
    expect(existsSync(path.join(h.agent.installDir, "bin", "dxbackup-agent"))).to.equal(true);
    const { job } = await host.runSchedule(config, "nightly");
    expect(job.code).to.equal(0);
  });

  it("a renamed host is installed under its new name; the old name's delete removes nothing of it", async () => {
    config = withHosts(config, ([one]) => [{ ...one, name: "portal-a" }]);
    stack = await deploy(config);
    const result = await up(stack);
    expect(result.summary.resourceChanges).to.include({ create: 2, delete: 2 });
    const { host: h } = host.policy(config);
    expect(installIdOnHost(h.agent.stateDir)).to.equal((await installsInState())["dx-it-portal-a-install"].id);
    expect(existsSync(path.join(h.agent.installDir, "bin", "dxbackup-agent"))).to.equal(true);
    const { job } = await host.runSchedule(config, "nightly");
    expect(job.code).to.equal(0);
    // A new name is a new repository (<policy>/<host>); the old one keeps its snapshots.
    const pw = config.values["dxbackup:repositoryPassword"];
    expect(JSON.parse(restic("portal-1", pw, "snapshots", "--json").stdout).length).to.be.greaterThan(0);
    expect(JSON.parse(restic("portal-a", pw, "snapshots", "--json").stdout).length).to.equal(1);
  });

  it("a rename that declares the former name updates the same install in place", async () => {
    const { host: h } = host.policy(config);
    const before = installIdOnHost(h.agent.stateDir);
    config = withHosts(config, ([one]) => [{ ...one, name: "portal-b", formerNames: ["portal-a"] }]);
    stack = await deploy(config);
    expect(await installSteps(stack)).to.deep.equal({ "dx-it-portal-b-install": ["update"] });
    await up(stack);
    expect(installIdOnHost(h.agent.stateDir)).to.equal(before);
    const { job } = await host.runSchedule(config, "nightly");
    expect(job.code).to.equal(0);
  });

  /** A second host on this machine: its own name, address and agent directories. */
  function withSecondHost(c: StackConfig, extra: Record<string, unknown> = {}): StackConfig {
    const agent = path.join(host.root, "agent-2");
    return withHosts(c, ([one]) => [
      one,
      {
        ...one,
        name: "portal-2",
        formerNames: [],
        address: "127.0.0.1",
        agent: agentDirsUnder(agent),
        ...extra,
      },
    ]);
  }

  it("a removed host loses its agent and schedule; its snapshots stay and open with plain restic", async () => {
    const two = withSecondHost(config);
    stack = await deploy(two);
    await up(stack);
    const agent = path.join(host.root, "agent-2");
    const conf = path.join(agent, "etc/dxbackup/dx-it/agent.json");
    const run = spawnSync(
      path.join(agent, "opt/dxbackup/dx-it/bin/dxbackup-agent"),
      ["--config", conf, "run", "nightly"],
      {
        encoding: "utf8",
      },
    );
    expect(run.status, run.stderr).to.equal(0);

    stack = await deploy(config);
    await up(stack);
    expect(existsSync(path.join(agent, "opt/dxbackup/dx-it/bin/dxbackup-agent"))).to.equal(false);
    expect(existsSync(path.join(agent, "etc/cron.d/dxbackup-dx-it"))).to.equal(false);
    const snapshots = restic("portal-2", config.values["dxbackup:repositoryPassword"], "snapshots", "--json");
    expect(JSON.parse(snapshots.stdout)).to.have.length(1);
    // The first host is untouched.
    const { host: h } = host.policy(config);
    expect(existsSync(path.join(h.agent.installDir, "bin", "dxbackup-agent"))).to.equal(true);
  });

  it("a decommissioned host is never contacted again: marked, then removed, while it is unreachable", async () => {
    stack = await deploy(withSecondHost(config));
    await up(stack);
    await host.services.stopSshd();
    try {
      // Removed while unreachable, without decommissioning: the uninstall fails and says the way out.
      stack = await deploy(config);
      let message = "";
      await up(stack).catch((err: Error) => (message = err.message));
      expect(message).to.match(/uninstall: .*ECONNREFUSED.*set hosts\[\]\.decommissioned: true and run pulumi up/);
      stack = await deploy(withSecondHost(config, { decommissioned: true }));
      const marked = await up(stack);
      expect(marked.summary.result).to.equal("succeeded");
      stack = await deploy(config);
      const removed = await up(stack);
      expect(removed.summary.resourceChanges).to.include({ delete: 2 });
    } finally {
      await host.services.startSshd();
    }
    // Its agent was left where it was: nothing reached the host.
    expect(existsSync(path.join(host.root, "agent-2", "opt/dxbackup/dx-it/bin/dxbackup-agent"))).to.equal(true);
  });

  it("no secret reaches the exported state, the state files or the engine's output and logs", async () => {
    // The engine's own logs, on stderr, go into the haystack too, at -v=6: from -v=7 on, the engine
    // traces resource inputs with their secret values in clear ("Planner decided not to update ...
    // (inputs=...)", and at -v=9 every property sent to a provider), whatever the provider: Pulumi's
    // documented caveat for verbose logs, which no program can change.
    await stack.preview({
      color: "never",
      logVerbosity: 6,
      logFlow: true,
      logToStdErr: true,
      debug: true,
      onOutput: record,
      onError: record,
    });
    {
      const cli = pulumiCli(stack, ["stack", "export"]);
      expect(cli.status, cli.stderr).to.equal(0);
      const exported = cli.stdout;
      const stateFiles = readdirSync(dir, { recursive: true })
        .map((f) => path.join(dir, String(f)))
        .filter((f) => statSync(f).isFile() && !f.endsWith("passphrase"))
        .map((f) => [path.relative(dir, f), readFileSync(f, "latin1")] as const);
      const haystacks: Record<string, string> = {
        "the exported state": exported,
        "the engine's output and logs": engineOutput.join("\n"),
        ...Object.fromEntries(stateFiles),
      };
      const secrets = [
        config.values["dxbackup:repositoryPassword"],
        "pw for it 'with' $(quotes)",
        host.services.clientKey.privateKey.split("\n")[1],
        host.services.s3Credentials.secretAccessKey,
      ];
      for (const secret of secrets) {
        for (const [where, text] of Object.entries(haystacks)) {
          expect(text.includes(secret), `${secret.slice(0, 6)}... in plain text in ${where}`).to.equal(false);
        }
      }
      // It is there, encrypted: the state does hold the bundle.
      expect(exported).to.match(
        /"bundle": \{\s*"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/,
      );
    }
  });

  describe("guardrails: the CrossGuard policy pack in the engine (pulumi preview --policy-pack policy-pack)", () => {
    const policyPack = path.join(__dirname, "..", "..", "policy-pack");
    // The pack loads its bundle: build it from the rules as they are now, never a stale one.
    before(() =>
      execFileSync("npm", ["run", "build:policy-pack"], { cwd: path.join(policyPack, ".."), stdio: "ignore" }),
    );
    /** A preview of `c` as a stack of its own (nothing reaches the host), with the policy pack. */
    async function previewWithPolicies(name: string, c: StackConfig, pack = policyPack): Promise<string> {
      const s = await deploy(c, path.join(dir, "policies"), name);
      const out: string[] = [];
      await s.preview({ color: "never", policyPacks: [pack], onOutput: (t) => out.push(t) });
      return out.join("");
    }
    const prodWithThreePoints = () =>
      withValue({ ...config, values: { ...config.values, "dxbackup:environment": "prod" } }, "retention", {
        keepLast: 3,
      });

    it("passes the stack of this suite", async () => {
      expect(await previewWithPolicies("guarded", config)).to.match(/✅ dx-backup-guardrails@v0\.1\.0/);
    });

    it("fails a production stack with 3 restore points and no drill, naming the rule", async () => {
      let message = "";
      await previewWithPolicies("prod", prodWithThreePoints()).catch((err: Error) => (message = err.message));
      expect(message).to.match(/❌ dx-backup-guardrails@v0\.1\.0/);
      expect(message).to.match(/\[mandatory\] +production-history +\(dxbackup:index:BackupPolicy: dx-prod\)/);
      expect(message).to.match(/keeps restore points for \d+ days; production keeps at least 30/);
      expect(message).to.match(/has no restore drill schedule/);
    });

    it("loads in its published form: the tarball `pulumi policy publish` packs, installed on its own", async () => {
      // `pulumi policy publish` runs `npm pack` in the pack's folder; Pulumi Cloud unpacks the
      // tarball elsewhere and installs its dependencies. Do the same, far from this repository.
      const out = mkdtempSync(path.join(tmpdir(), "dxb-published-pack-"));
      try {
        // Pulumi reads the tarball's name from this command's whole stdout: it must print nothing else.
        const tarball = execFileSync("npm", ["pack", "--loglevel=error", "--pack-destination", out], {
          cwd: policyPack,
          encoding: "utf8",
        }).trim();
        const files = execFileSync("tar", ["-tzf", path.join(out, tarball)], { encoding: "utf8" }).split("\n");
        expect(files.filter(Boolean).sort()).to.deep.equal([
          "package/PulumiPolicy.yaml",
          "package/dist/index.js",
          "package/package.json",
        ]);
        execFileSync("tar", ["-xzf", path.join(out, tarball), "-C", out]);
        const installed = path.join(out, "package");
        execFileSync("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {
          cwd: installed,
          stdio: "ignore",
        });
        let message = "";
        await previewWithPolicies("published", prodWithThreePoints(), installed).catch(
          (err: Error) => (message = err.message),
        );
        expect(message).to.match(/❌ dx-backup-guardrails@v0\.1\.0/);
        expect(message).to.match(/\[mandatory\] +production-history +\(dxbackup:index:BackupPolicy: dx-prod\)/);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });

  it("destroy removes every schedule and agent and keeps every snapshot", async () => {
    const pw = config.values["dxbackup:repositoryPassword"];
    const before = JSON.parse(restic("portal-b", pw, "snapshots", "--json").stdout).map((s: { id: string }) => s.id);
    const result = await stack.destroy({ color: "never", onOutput: record });
    expect(result.summary.result).to.equal("succeeded");
    const { host: h, policy } = host.policy(config);
    expect(existsSync(path.join(h.agent.cronDir, `dxbackup-${policy.name}`))).to.equal(false);
    expect(existsSync(path.join(h.agent.installDir, "bin", "dxbackup-agent"))).to.equal(false);
    const after = JSON.parse(restic("portal-b", pw, "snapshots", "--json").stdout).map((s: { id: string }) => s.id);
    expect(after).to.deep.equal(before);
    execFileSync("restic", ["version"]);
  });
});

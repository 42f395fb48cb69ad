import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { computePlan, planDiffCommand } from "../../cli/plan/command";
import { statusCommand } from "../../cli/status";
import { parseStackConfig, readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { replacingInputs } from "../../components/plan/replacements";
import { diffPlans } from "../../components/plan/diff";
import { renderDiffText } from "../../components/render/plan/diff";
import { expectGolden } from "../support/golden";
import type { RunStatus } from "../../shared/records";

const NOW = new Date("2026-11-28T03:00:00Z");
const ROOT = path.join(__dirname, "..", "..");

/** The prod stack file with a change applied to its config mapping. */
function prodWith(change: (config: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(stackFilePath("prod"), "utf8")) as { config: Record<string, unknown> };
  change(doc.config);
  return stringify(doc);
}

const LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration";

const schedulesOf = (c: Record<string, unknown>) => c["dxbackup:schedules"] as Array<Record<string, unknown>>;

describe("plan diff: what a change does to recoverability", function () {
  this.timeout(120_000);
  const base = () => computePlan("prod", readStackConfig(stackFilePath("prod")), NOW);

  const cases: Array<[string, (c: Record<string, unknown>) => void]> = [
    ["retention-shortened", (c) => (c["dxbackup:retention"] = { keepDaily: 7 })],
    [
      "host-removed",
      (c) => {
        c["dxbackup:hosts"] = (c["dxbackup:hosts"] as Array<{ name: string }>).filter((h) => h.name !== "portal-2");
        schedulesOf(c)[2].hosts = ["dmgr", "portal-1", "web-1"];
      },
    ],
    ["domain-dropped-from-midday", (c) => (schedulesOf(c)[1].databases = ["customization", "community", "dam"])],
  ];
  for (const [name, change] of cases) {
    it(`matches the golden diff: ${name}`, async () => {
      const head = await computePlan("prod", parseStackConfig(prodWith(change), name), NOW);
      const diff = diffPlans(await base(), head, "main");
      expect(diff.weakened).to.equal(true);
      expectGolden(`diff/${name}.txt`, renderDiffText(diff));
    });
  }

  it("marks a replacement where the engine replaces: a host's new address, the bucket's object lock", async () => {
    const head = await computePlan(
      "prod",
      parseStackConfig(
        prodWith((c) => {
          const [dmgr] = c["dxbackup:hosts"] as Array<Record<string, unknown>>;
          dmgr.address = "dx-dmgr-new.prod.acme.internal";
          (c["dxbackup:retention"] as Record<string, unknown>).keepDaily = 40;
        }),
        "moved",
      ),
      NOW,
    );
    const diff = diffPlans(await base(), head, "main");
    expect(diff.resources).to.deep.include({
      op: "replace",
      type: "pulumi-nodejs:dynamic/dxbackup:AgentInstall",
      name: "dx-prod-dmgr-install",
      because: ["connection.host"],
    });
    // The other hosts' config changed too (retention): updated in place, never replaced.
    expect(diff.resources).to.deep.include({
      op: "update",
      type: "pulumi-nodejs:dynamic/dxbackup:AgentInstall",
      name: "dx-prod-portal-1-install",
    });
    const text = renderDiffText(diff);
    expect(text).to.include(
      "  +- pulumi-nodejs:dynamic/dxbackup:AgentInstall  dx-prod-dmgr-install (replaced: connection.host changed)",
    );
    expect(text).to.match(/Resources: 0 to create, \d+ to update, 1 to replace, 0 to delete/);
    expect(
      replacingInputs("aws:s3/bucket:Bucket", { objectLockEnabled: false }, { objectLockEnabled: true }),
    ).to.deep.equal(["objectLockEnabled"]);
    expect(replacingInputs("aws:s3/bucket:Bucket", { tags: { a: "1" } }, { tags: { a: "2" } })).to.deep.equal([]);
    // A stack upgraded from the code that set objectLockEnabled on the bucket: the provider computes it, no diff.
    expect(replacingInputs("aws:s3/bucket:Bucket", { objectLockEnabled: true }, {})).to.deep.equal([]);
  });

  describe("day two on AWS: what the engine does, said before it does it", () => {
    const s3Of = (c: Record<string, unknown>) => (c["dxbackup:storage"] as { s3: Record<string, unknown> }).s3;
    const plan = (name: string, change: (c: Record<string, unknown>) => void) =>
      computePlan("prod", parseStackConfig(prodWith(change), name), NOW);

    it("turns object lock on for a live bucket without replacing it: the lock's own configuration is created", async () => {
      const unlocked = await plan("unlocked", (c) => delete s3Of(c).objectLock);
      const diff = diffPlans(unlocked, await base(), "main");
      expect(diff.resources.filter((r) => r.op === "replace" || r.op === "delete")).to.deep.equal([]);
      expect(diff.resources).to.deep.include.members([
        { op: "create", type: LOCK, name: "dx-prod-store-object-lock" },
        { op: "create", type: LOCK, name: "dx-prod-store-replica-object-lock" },
      ]);
      const lock = (await base()).resources.find((r) => r.name === "dx-prod-store-object-lock");
      expect(lock?.inputs).to.deep.include({
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: "COMPLIANCE", days: 35 } },
      });
      expect(lock?.options?.dependsOn).to.deep.equal(["dx-prod-store-replica-object-lock", "dx-prod-store-versioning"]);
      const bucket = (await base()).resources.find((r) => r.name === "dx-prod-store-bucket");
      expect(bucket?.inputs).to.not.have.property("objectLockEnabled");
      expect(renderDiffText(diff)).to.match(/\+ prod \/ object lock of dx-prod-store: none → 35 days/);
    });

    it("a protected resource the engine would replace is marked REFUSED, as `pulumi up` would fail", async () => {
      const head = await plan("renamed-bucket", (c) => (s3Of(c).bucketName = "acme-dx-prod-backups-2"));
      const diff = diffPlans(await base(), head, "main");
      expect(diff.resources).to.deep.include({
        op: "replace",
        type: "aws:s3/bucket:Bucket",
        name: "dx-prod-store-bucket",
        because: ["bucket"],
        refused: true,
      });
      const text = renderDiffText(diff);
      expect(text.split("\n")[0]).to.equal(
        "CANNOT BE APPLIED: pulumi up would fail, since it would replace or delete protected dx-prod-store-bucket (see REFUSED below). Undo that part of the change, or move the data first and unprotect the resource on purpose (pulumi state unprotect).",
      );
      expect(text).to.include(
        "+- aws:s3/bucket:Bucket  dx-prod-store-bucket (replaced: bucket changed) REFUSED: the resource is protected, so pulumi up fails",
      );
      expect(diff.refused).to.deep.equal(["dx-prod-store-bucket"]);
    });

    it("moving the bucket to a key of your own keeps the stack's key and warns loudly", async () => {
      const mine = "arn:aws:kms:eu-central-1:123456789012:key/acme-backup-key";
      const head = await plan("own-key", (c) => (s3Of(c).kmsKeyArn = mine));
      const diff = diffPlans(await base(), head, "main");
      // The stack's key is neither deleted nor replaced: objects written with it stay readable.
      expect(diff.resources.filter((r) => r.name === "dx-prod-store-key")).to.deep.equal([]);
      expect(diff.weakened).to.equal(false);
      const text = renderDiffText(diff);
      expect(text).to.match(/^WARNINGS \(safe as planned, one careless step from losing data\):$/m);
      expect(text).to.include(
        `! prod / dx-prod-store: new objects are encrypted with ${mine}; objects written before stay encrypted with the stack's key dx-prod-store-key (its ARN: pulumi stack output keyArns), which hosts keep decrypting: never schedule it for deletion`,
      );
    });

    it("moving from one key of your own to another without formerKmsKeyArns weakens the backups, naming the fix", async () => {
      const [a, b] = ["key/acme-2025", "key/acme-2026"].map((k) => `arn:aws:kms:eu-central-1:123456789012:${k}`);
      const before = await plan("key-a", (c) => (s3Of(c).kmsKeyArn = a));
      const forgotten = diffPlans(before, await plan("key-b", (c) => (s3Of(c).kmsKeyArn = b)), "main");
      expect(forgotten.weakened).to.equal(true);
      expect(renderDiffText(forgotten).split("\n")[1]).to.equal(
        `  - prod / dx-prod-store-dmgr-policy, dx-prod-store-portal-1-policy, dx-prod-store-portal-2-policy, dx-prod-store-web-1-policy, dx-prod-store-search-1-policy, dx-prod-store-db-1-policy, dx-prod-store-replication-policy lose kms:Decrypt on ${a}, which every object written under it needs: restic could no longer read that history. Keep the key in storage.s3.formerKmsKeyArns`,
      );
      const kept = diffPlans(
        before,
        await plan("key-b-kept", (c) => Object.assign(s3Of(c), { kmsKeyArn: b, formerKmsKeyArns: [a] })),
        "main",
      );
      expect(kept.weakened).to.equal(false);
      expect(kept.changes.map((c) => c.kind)).to.include("warning");
      // Later, dropping the former key from the list is the same loss.
      const dropped = diffPlans(
        await plan("key-b-kept-2", (c) => Object.assign(s3Of(c), { kmsKeyArn: b, formerKmsKeyArns: [a] })),
        await plan("key-b-dropped", (c) => Object.assign(s3Of(c), { kmsKeyArn: b, formerKmsKeyArns: [] })),
        "main",
      );
      expect(dropped.weakened).to.equal(true);
      expect(dropped.changes.map((c) => c.text).join("\n")).to.include(`lose kms:Decrypt on ${a}`);
    });

    it("removing the alert email weakens the backups: nobody hears of a failed AWS Backup job", async () => {
      const head = await plan(
        "no-email",
        (c) => delete (c["dxbackup:system"] as { aws: Record<string, unknown> }).aws.notifyEmail,
      );
      const diff = diffPlans(await base(), head, "main");
      expect(diff.weakened).to.equal(true);
      expect(diff.changes).to.deep.include({
        kind: "weaker",
        text: "prod / AWS Backup failure alerts to dx-ops@acme.example: removed (nobody is told of a failed backup or restore job)",
      });
    });

    it("a key removed from the program is retained, and the diff says it stays in the cloud", async () => {
      const head = await plan("no-system", (c) => delete c["dxbackup:system"]);
      const diff = diffPlans(await base(), head, "main");
      const gone = (name: string) => diff.resources.find((r) => r.name === name);
      expect(gone("dx-prod-system-vault-key")).to.deep.include({ op: "delete", retained: true });
      expect(gone("dx-prod-system-dr-vault-key")).to.deep.include({ op: "delete", retained: true });
      expect(gone("dx-prod-system-vault")).to.deep.include({ op: "delete", refused: true });
      expect(gone("dx-prod-system-vault-lock")).to.deep.include({ op: "delete", retained: true });
      expect(renderDiffText(diff)).to.include(
        "- aws:kms/key:Key  dx-prod-system-vault-key (retained: it leaves the stack and stays in the cloud)",
      );
    });
  });

  it("a host renamed with formerNames is updated in place, as the engine's aliases make it", async () => {
    const renamed = (formerNames: string[]) =>
      computePlan(
        "prod",
        parseStackConfig(
          prodWith((c) => {
            const hosts = c["dxbackup:hosts"] as Array<Record<string, unknown>>;
            Object.assign(hosts[2], { name: "portal-b", formerNames });
            schedulesOf(c)[2].hosts = ["dmgr", "portal-1", "portal-b", "web-1"];
          }),
          "renamed",
        ),
        NOW,
      );
    const withAlias = diffPlans(await base(), await renamed(["portal-2"]), "main").resources;
    expect(withAlias.filter((r) => r.op !== "update")).to.deep.equal([]);
    expect(withAlias.map((r) => `${r.op} ${r.name}`)).to.include.members([
      "update dx-prod-portal-b-install",
      "update dx-prod-store-portal-b-policy",
    ]);
    const without = diffPlans(await base(), await renamed([]), "main").resources;
    expect(without.map((r) => `${r.op} ${r.name}`)).to.include.members([
      "create dx-prod-portal-b-install",
      "delete dx-prod-portal-2-install",
    ]);
  });

  it("says a weakening change in its first line, in plain words", async () => {
    const head = await computePlan("prod", parseStackConfig(prodWith(cases[0][1]), "x"), NOW);
    const text = renderDiffText(diffPlans(await base(), head, "main"));
    expect(text.split("\n")[0]).to.match(
      /^WEAKER BACKUPS: this change to stack 'prod' \(against main\) makes \d+ thing\(s\) harder to recover:$/,
    );
    expect(text).to.include("prod / schedule nightly: restore points per host 51 → 7");
  });

  describe("--against a git ref", () => {
    let repo = "";
    const file = () => path.join(repo, "stacks", "Pulumi.prod.yaml");
    const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { stdio: "ignore" });
    beforeEach(() => {
      repo = mkdtempSync(path.join(tmpdir(), "dxb-git-"));
      git("init", "-q", "-b", "main");
      execFileSync("mkdir", ["-p", path.join(repo, "stacks")]);
      writeFileSync(file(), readFileSync(stackFilePath("prod")));
      git("add", ".");
      git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "base");
    });
    afterEach(() => rmSync(repo, { recursive: true, force: true }));

    it("exits 1 with --fail-on weakened when the working tree weakens prod, with a Mermaid week of runs", async () => {
      writeFileSync(
        file(),
        prodWith((c) => (c["dxbackup:retention"] = { keepDaily: 7 })),
      );
      const text = await planDiffCommand({
        configFile: file(),
        format: "text",
        against: "main",
        failOn: "weakened",
        now: NOW,
      });
      expect(text.exitCode).to.equal(1);
      expect(text.stdout.split("\n")[0]).to.match(/^WEAKER BACKUPS/);
      const md = await planDiffCommand({ configFile: file(), format: "markdown", against: "main", now: NOW });
      expect(md.exitCode).to.equal(0);
      expect(md.stdout).to.include("> ⚠️ **This change weakens the backups of `prod`:**");
      expect(md.stdout).to.match(/```mermaid\ngantt\n/);
      expect(md.stdout).to.match(/section portal-1\n( {4}\S+ :.*\n)* {4}weekly-offline :crit, 2026-11-29 02:00, 30m/);
      expect(md.stdout).to.match(/ {4}drill :active, 2026-12-02 09:00, 30m/);
    });

    it("a change pulumi up would refuse (a protected bucket replaced) fails the gate, whatever it weakens", async () => {
      writeFileSync(
        file(),
        prodWith((c) => ((c["dxbackup:storage"] as { s3: Record<string, unknown> }).s3.bucketName = "acme-dx-new")),
      );
      const r = await planDiffCommand({
        configFile: file(),
        format: "text",
        against: "main",
        failOn: "weakened",
        now: NOW,
      });
      expect(r.exitCode).to.equal(1);
      expect(r.stdout).to.match(/^CANNOT BE APPLIED: pulumi up would fail/);
      expect(r.stderr).to.include("dxbackup plan: --fail-on weakened: the change fails the gate");
    });

    it("an unchanged stack weakens nothing and passes the gate", async () => {
      const r = await planDiffCommand({
        configFile: file(),
        format: "text",
        against: "main",
        failOn: "weakened",
        now: NOW,
      });
      expect(r.exitCode).to.equal(0);
      expect(r.stdout).to.match(/^No weaker backups/);
      expect(r.stdout).to.include("Resources: 0 to create, 0 to update, 0 to delete");
    });

    it("object lock added with a too-short noncurrent expiry makes the change invalid, named at its key", async () => {
      writeFileSync(
        file(),
        prodWith((c) => {
          const s3 = (c["dxbackup:storage"] as { s3: Record<string, unknown> }).s3;
          s3.objectLock = { mode: "COMPLIANCE", days: 180 };
        }),
      );
      const r = await planDiffCommand({ configFile: file(), format: "text", against: "main", now: NOW });
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.include("the change makes the configuration invalid:");
      expect(r.stderr).to.include("dxbackup:storage.s3.noncurrentVersionDays: must be >= objectLock.days (180)");
    });

    it("says which ref it cannot find", async () => {
      const r = await planDiffCommand({ configFile: file(), format: "text", against: "no-such-branch", now: NOW });
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.match(/--against no-such-branch: no such commit, branch or tag/);
    });
  });
});

describe("the CI workflow (.github/workflows/backup-plan.yml)", () => {
  const wf = parse(readFileSync(path.join(ROOT, ".github", "workflows", "backup-plan.yml"), "utf8"));
  const steps = (job: string) => wf.jobs[job].steps as Array<Record<string, unknown>>;
  const runs = (job: string) =>
    steps(job)
      .map((s) => String(s.run ?? ""))
      .join("\n");

  it("runs the plan diff on every pull request that touches stacks/, against the base branch", () => {
    expect(wf.on.pull_request.paths).to.include("stacks/**");
    expect(steps("plan-diff")[0]).to.deep.include({ with: { "fetch-depth": 0, "persist-credentials": false } });
    expect(runs("plan-diff")).to.match(
      /npx dxbackup plan --stack \$\{\{ matrix.stack \}\} --against origin\/\$\{\{ github.base_ref \}\}/,
    );
    expect(runs("plan-diff")).to.include("gh pr comment");
    expect(wf.jobs["plan-diff"].permissions).to.deep.equal({ contents: "read", "pull-requests": "write" });
    for (const stack of wf.jobs["plan-diff"].strategy.matrix.stack)
      expect(existsSync(stackFilePath(stack)), stack).to.equal(true);
  });

  it("previews with the policy pack and deploys each environment in turn on merge", () => {
    expect(wf.on.push.branches).to.deep.equal(["main"]);
    expect(wf.jobs.deploy.strategy["max-parallel"]).to.equal(1);
    expect(runs("deploy")).to.match(/pulumi preview --stack \$\{\{ matrix.stack \}\} --policy-pack policy-pack/);
    expect(runs("deploy")).to.match(/pulumi up --stack \$\{\{ matrix.stack \}\} --policy-pack policy-pack --yes/);
    expect(existsSync(path.join(ROOT, "policy-pack", "PulumiPolicy.yaml"))).to.equal(true);
    // --policy-pack loads the pack's bundle: it is built before the first Pulumi step.
    expect(runs("deploy")).to.match(/npm ci --ignore-scripts\nnpm run build:policy-pack\n(.|\n)*pulumi preview/);
  });

  describe("who can reach the deploy credentials (tried as a pull request's author would)", () => {
    const allSteps = () => Object.keys(wf.jobs).flatMap((job) => steps(job).map((step) => ({ job, step })));
    const text = (v: unknown) => JSON.stringify(v ?? "");

    it("pins every action to a commit SHA: a moved tag cannot change what runs next to the credentials", () => {
      const uses = allSteps().flatMap(({ step }) => (step.uses ? [String(step.uses)] : []));
      expect(uses.length).to.be.greaterThan(4);
      for (const u of uses) expect(u, u).to.match(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    });

    it("grants nothing by default, each job only what it needs; OIDC only to the deploy", () => {
      expect(wf.permissions).to.deep.equal({});
      expect(wf.jobs.deploy.permissions).to.deep.equal({ contents: "read", "id-token": "write" });
      expect(wf.jobs.deploy.environment).to.equal("${{ matrix.stack }}");
      for (const [, job] of Object.entries(wf.jobs as Record<string, Record<string, unknown>>))
        expect(job.env, "no job-level environment").to.equal(undefined);
      // No checkout leaves the token in .git/config for the code that runs after it.
      for (const { step } of allSteps().filter(({ step }) => String(step.uses).startsWith("actions/checkout@")))
        expect((step.with as Record<string, unknown>)["persist-credentials"]).to.equal(false);
    });

    it("hands secrets to the two Pulumi steps of the deploy only: never to npm ci, the plan, or a pull request", () => {
      const holders = allSteps()
        .filter(({ step }) => /secrets\.|steps\.aws\.outputs/.test(text(step.env) + text(step.with)))
        .map(({ job, step }) => `${job}: ${String(step.name)}`);
      expect(holders).to.deep.equal(["deploy: Preview with the guardrails", "deploy: Deploy"]);
      expect(text(wf)).to.not.match(/secrets\.AWS_/); // no stored AWS key anywhere: OIDC
      const aws = steps("deploy").find((step) => step.id === "aws");
      expect(aws?.with).to.deep.include({ "output-credentials": true, "output-env-credentials": false });
    });

    it("asks a maintainer to review every file: the gate runs the pull request's code, a merge deploys it", () => {
      const owners = readFileSync(path.join(ROOT, ".github", "CODEOWNERS"), "utf8");
      expect(owners).to.match(/^\*\s+@\S+/m);
    });

    it("installs without dependency scripts and with the CLI of package.json's @pulumi/pulumi, where tokens are near", () => {
      expect(runs("deploy")).to.match(/^npm ci --ignore-scripts/m);
      const cli = steps("deploy").find((step) => String(step.uses).startsWith("pulumi/actions@"));
      const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
      expect((cli?.with as Record<string, unknown>)["pulumi-version"]).to.equal(pkg.dependencies["@pulumi/pulumi"]);
    });
  });

  it("uses only options the dxbackup command has", () => {
    const help = spawnSync(process.execPath, [path.join(ROOT, "bin", "dxbackup.js"), "plan", "--help"], {
      encoding: "utf8",
    }).stdout;
    const used = [...(runs("plan-diff") + runs("deploy")).matchAll(/npx dxbackup plan ([^\n|]*)/g)].flatMap(
      (m) => m[1].match(/--[a-z-]+/g) ?? [],
    );
    expect(used.length).to.be.greaterThan(3);
    for (const option of used) expect(help, option).to.include(option);
  });
});

describe("dxbackup status from the repositories: what it needs to know", () => {
  it("asks for --bucket when the stack named its bucket itself, per host, without running restic", async () => {
    const r = await statusCommand({
      stack: "staging",
      config: readStackConfig(stackFilePath("staging")),
      repository: { passwordFile: "/nonexistent" },
      format: "json",
      now: NOW,
    });
    const report = JSON.parse(r.stdout);
    expect(report.hosts.length).to.be.greaterThan(1);
    for (const h of report.hosts) {
      expect(h).to.deep.include({ reachable: false });
      expect(h.error).to.match(/give its name with --bucket \(pulumi stack output bucketName\)/);
    }
  });

  it("uses the configured bucket name, and reports a repository it cannot read as an error finding", async () => {
    const passwordFile = path.join(mkdtempSync(path.join(tmpdir(), "dxb-pw-")), "stack-pw");
    writeFileSync(passwordFile, "the stack's password\n");
    const r = await statusCommand({
      stack: "prod",
      config: readStackConfig(stackFilePath("prod")),
      repository: { passwordFile, env: { PATH: process.env.PATH } },
      format: "json",
      now: NOW,
    });
    const report = JSON.parse(r.stdout);
    const restic = report.hosts.filter((h: { error?: string }) => /cannot read the repository/.test(h.error ?? ""));
    expect(restic.length).to.be.greaterThan(0);
    expect(report.findings.filter((f: { severity: string }) => f.severity === "error").length).to.be.at.least(
      restic.length,
    );
  });

  it("reads runs.jsonl through the agent's record types: lines of every agent version, a bad line named", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-state-"));
    try {
      const written: RunStatus = {
        runId: "20261128T020000Z-nightly",
        policy: "dx-dev",
        host: "portal-dev",
        schedule: "nightly",
        mode: "online",
        start: "2026-11-28T02:00:00Z",
        end: "2026-11-28T02:10:00Z",
        durationSeconds: 600,
        result: "failed",
        failedStep: "db-release",
        message: "pg_dump: error: connection refused",
        snapshotIds: [],
        pieces: [],
        bytesAdded: 0,
        bytesProcessed: 0,
        files: 0,
        filesNew: 0,
        filesChanged: 0,
        missingPaths: [],
        downtimeSeconds: 0,
        pruned: false,
        iim: { packagesDigest: "", stateDigest: "", packages: [] },
        repository: "s3:...",
        agentVersion: 2,
        recoveryPoint: false,
      };
      // A line of the bash agent: fewer fields, no recoveryPoint.
      const bashEra = {
        runId: "20261127T020000Z-nightly",
        schedule: "nightly",
        end: "2026-11-27T02:09:00Z",
        result: "success",
        failedStep: null,
        message: null,
        snapshotIds: ["0a1b2c3d"],
      };
      writeFileSync(path.join(dir, "runs.jsonl"), `${JSON.stringify(bashEra)}\n${JSON.stringify(written)}\n`);
      const read = async () =>
        JSON.parse(
          (
            await statusCommand({
              stack: "dev",
              config: readStackConfig(stackFilePath("dev")),
              stateDirs: { "portal-dev": dir },
              format: "json",
              now: NOW,
            })
          ).stdout,
        );
      const report = await read();
      const nightly = report.hosts[0].schedules.find((x: { schedule: string }) => x.schedule === "nightly");
      expect(nightly.lastSuccess).to.equal("2026-11-27T02:09:00Z");
      expect(nightly.lastFailure).to.deep.equal({
        end: "2026-11-28T02:10:00Z",
        result: "failed",
        failedStep: "db-release",
        message: "pg_dump: error: connection refused",
      });

      writeFileSync(
        path.join(dir, "runs.jsonl"),
        `${JSON.stringify(bashEra)}\n${JSON.stringify({ ...written, result: "ok" })}\n`,
      );
      const bad = await read();
      expect(bad.hosts[0]).to.deep.include({ reachable: false, unreadable: true });
      expect(bad.hosts[0].error).to.match(/^runs\.jsonl, line 2 of those read: result: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { computePlan, planCommand, renderPlan } from "../../cli/plan/command";
import { evaluateStack } from "../../cli/plan/evaluate";
import { parseStackConfig, readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { AGENT_INSTALL_TYPE } from "../../components/hosts/agentInstall";
import { DEFAULT_SECRETS, SAMPLE_HOST_KEY, stackConfig, validConfig } from "../support/config";
import { expectGolden } from "../support/golden";

const NOW = new Date("2026-11-28T03:00:00Z");
const ROOT = path.join(__dirname, "..", "..");

/** Runs the real `dxbackup` command. */
function dxbackup(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "dxbackup.js"), ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("dxbackup plan", function () {
  this.timeout(60_000);

  for (const stack of ["local", "dev", "staging", "prod"]) {
    it(`matches the golden plan of the ${stack} stack in all three formats`, async () => {
      const plan = await computePlan(stack, readStackConfig(stackFilePath(stack)), NOW);
      for (const format of ["text", "markdown", "json"] as const) {
        const ext = format === "markdown" ? "md" : format === "json" ? "json" : "txt";
        expectGolden(`plan/${stack}.${ext}`, renderPlan(plan, format));
      }
    });
  }

  it("lists the hardened bucket, one agent install per host and every schedule with its next runs for prod", () => {
    const r = dxbackup("plan", "--stack", "prod", "--format", "json", "--now", NOW.toISOString());
    expect(r.stderr).to.equal("");
    expect(r.status).to.equal(0);
    const plan = JSON.parse(r.stdout);
    const types = plan.resources.map((x: { type: string }) => x.type);
    for (const t of [
      "aws:s3/bucket:Bucket",
      "aws:s3/bucketVersioning:BucketVersioning",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "aws:s3/bucketPolicy:BucketPolicy",
      "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
      "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    ]) {
      expect(types, t).to.include(t);
    }
    const installs = plan.resources.filter((x: { type: string }) => x.type === AGENT_INSTALL_TYPE);
    expect(installs.map((x: { name: string }) => x.name)).to.deep.equal(
      plan.hosts.map((h: { name: string }) => `dx-prod-${h.name}-install`),
    );
    expect(plan.schedules.map((s: { name: string; kind: string }) => `${s.name}:${s.kind}`)).to.deep.equal([
      "nightly:backup",
      "databases-midday:backup",
      "weekly-offline:backup",
      "drill:drill",
    ]);
    expect(plan.schedules[2]).to.deep.include({ cron: "0 3 * * 0", timezone: "Europe/Berlin", mode: "offline" });
    expect(plan.schedules[2].nextRuns[0]).to.equal("2026-11-29T02:00:00.000Z");
    expect(plan.schedules[0].description).to.equal("At 01:30 (Europe/Berlin)");
    expect(plan).to.have.keys([
      "stack",
      "policy",
      "environment",
      "production",
      "now",
      "storage",
      "resources",
      "hosts",
      "schedules",
      "databases",
      "retention",
      "warnings",
      "coverage",
      "findings",
      "runbook",
    ]);
    // One recovery point of the nightly holds every domain, the directory, WAS config and XMLAccess.
    const nightly = plan.schedules[0];
    expect(nightly.databases).to.deep.equal([
      "release",
      "customization",
      "community",
      "jcr",
      "feedback",
      "likeminds",
      "dam",
    ]);
    const kinds = Object.values(nightly.pieces as Record<string, Array<{ kind: string; name: string }>>).flat();
    expect(kinds.map((p) => p.name)).to.include.members([
      "xmlaccess-base",
      "xmlaccess-vp-partners",
      "xmlaccess-vp-intranet",
      "ldap",
      "wasconfig-wpProfile",
      "wasconfig-dmgrProfile",
      "db-jcr",
    ]);
  });

  it("evaluates every shipped stack as a first preview does: with the cloud's outputs unknown", async () => {
    for (const stack of ["local", "dev", "staging", "prod"]) {
      const config = readStackConfig(stackFilePath(stack));
      const { resources } = await evaluateStack(config, stack, { preview: true });
      const known = await evaluateStack(config, stack);
      // The same resources, whatever is unknown: nothing is created inside an apply.
      const names = (rs: typeof resources) => rs.map((r) => `${r.type} ${r.name}`).sort();
      expect(names(resources), stack).to.deep.equal(names(known.resources));
    }
  });

  /** A stack file of the config (every secret an encrypted placeholder), in DIR. */
  const writeStackFile = (dir: string, c: Record<string, unknown>): string => {
    const config: Record<string, unknown> = Object.fromEntries(Object.entries(c).map(([k, v]) => [`dxbackup:${k}`, v]));
    for (const k of Object.keys(DEFAULT_SECRETS)) config[`dxbackup:${k}`] = { secure: "v1:abc:def" };
    const file = path.join(dir, "Pulumi.broken.yaml");
    writeFileSync(file, stringify({ config }));
    return file;
  };

  it("exits 2 with one '<config path>: <message>' line per problem", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-plan-"));
    try {
      const c = validConfig() as Record<string, unknown>;
      (c.hosts as Array<Record<string, unknown>>)[0].ssh = { prot: 22 };
      (c.schedules as Array<Record<string, unknown>>)[0].cron = "0 2 * *";
      const file = writeStackFile(dir, c);
      const r = dxbackup("plan", "--config-file", file);
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal("");
      expect(r.stderr.trim().split("\n")).to.deep.equal([
        "dxbackup:hosts[0].ssh.prot: unknown key 'prot': did you mean 'port'?",
      ]);

      (c.hosts as Array<Record<string, unknown>>)[0].ssh = { port: 22 };
      const r2 = dxbackup("plan", "--config-file", writeStackFile(dir, c));
      expect(r2.status).to.equal(2);
      expect(r2.stderr).to.match(/^dxbackup:schedules\[0\]\.cron: '0 2 \* \*' has 4 field\(s\)/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 for an embedded Derby database in an online schedule, naming its URL's key", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-plan-"));
    try {
      const c = validConfig() as Record<string, unknown>;
      c.databases = [
        {
          domain: "release",
          host: "portal-1",
          derby: { url: "jdbc:derby:/opt/HCL/wp_profile/PortalServer/derby/wps6" },
        },
      ];
      const r = dxbackup("plan", "--config-file", writeStackFile(dir, c));
      expect(r.status, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr.trim().split("\n")).to.deep.equal([
        "dxbackup:databases[0].derby.url: online schedule 'nightly' backs up the embedded Derby database jdbc:derby:/opt/HCL/wp_profile/PortalServer/derby/wps6, which the running Portal holds open (Derby answers XSDB6): capture 'release' only in offline schedules (list the other domains in schedules[0].databases), or run the Derby Network Server and declare its URL (jdbc:derby://host:1527/<database path>)",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 for a stack that does not exist, saying where it looked", async () => {
    const r = await planCommand({ stack: "nope", format: "text" });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/cannot read stack config .*Pulumi\.nope\.yaml/);
  });

  it("treats secure: values as opaque secrets, also nested ones", () => {
    const config = parseStackConfig(
      stringify({
        config: {
          "dxbackup:repositoryPassword": { secure: "v1:x:y" },
          "dxbackup:hosts": [{ a: { secure: "v1:x" } }],
          plain: 3,
        },
      }),
      "test",
    );
    expect([...config.secretKeys].sort()).to.deep.equal(["dxbackup:hosts", "dxbackup:repositoryPassword"]);
    expect(config.values["dxbackup:repositoryPassword"]).to.equal("[secret]");
    expect(config.values["dx-backup:plain"]).to.equal("3");
  });

  it("never prints a secret value, in any format", async () => {
    const plan = await computePlan("test", stackConfig(validConfig()), NOW);
    for (const format of ["text", "markdown", "json"] as const) {
      const out = renderPlan(plan, format);
      for (const value of Object.values(DEFAULT_SECRETS)) expect(out).to.not.include(value.trim());
    }
  });

  it("warns about production storage that can lose history, and overlapping schedules", async () => {
    const c = validConfig();
    c.environment = "prod";
    c.storage = { s3: { region: "eu-central-1" } };
    c.hosts = [{ name: "portal-1", address: "10.0.0.11", ssh: { hostKey: SAMPLE_HOST_KEY } }];
    (c.schedules as unknown[]).push({ name: "twice", cron: "0 2 * * *", timezone: "Europe/Berlin" });
    const { s3AccessKeyId: _a, s3SecretAccessKey: _b, ...secrets } = DEFAULT_SECRETS;
    const plan = await computePlan("prod", stackConfig(c, secrets), NOW);
    const warnings = plan.warnings.map((w) => `${w.path}: ${w.message}`);
    expect(warnings).to.satisfy((ws: string[]) =>
      ws.some((w) => /^dxbackup:storage\.s3\.objectLock: no object lock/.test(w)),
    );
    expect(warnings).to.satisfy((ws: string[]) =>
      ws.some((w) => /^dxbackup:storage\.s3\.replication: no copy in a second region/.test(w)),
    );
    expect(warnings).to.satisfy((ws: string[]) =>
      ws.some((w) => /^dxbackup:schedules\[1\]\.cron: fires at the same time as 'nightly' on portal-1/.test(w)),
    );
    expect(warnings).to.satisfy((ws: string[]) =>
      ws.some((w) => /^dxbackup:schedules: no restore drill: add a schedule with kind: drill/.test(w)),
    );
  });
});

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseCronFile, runCronJob, type JobResult } from "../../cli/local/cron";
import { createPortalTree, type portalLayout } from "../../cli/local/portalTree";
import { freePort } from "../../cli/local/process";
import { startLocalServices, type LocalServices } from "../../cli/local/services";
import { evaluateStack } from "../../cli/plan/evaluate";
import { loadPolicy, type StackConfig } from "../../components/policy/load";
import type { Host, Policy } from "../../components/policy/types";
import { agentLayout } from "../../components/render/agentConfig";
import { agentDirsUnder } from "./config";
import { agentInstalls, applyCreate, applyDelete } from "./install";

/** A directory name that tries every way to be executed by a careless shell. */
export const HOSTILE_NAME = `weird dir 'single' "double" $(touch PWNED-subst) \`touch PWNED-tick\` ; rm -rf nope\nsecond line`;

export interface StackOptions {
  environment: string;
  storage?: Record<string, unknown>;
  schedules?: Array<Record<string, unknown>>;
  retention?: Record<string, unknown>;
  customPaths?: Array<{ name: string; path: string }>;
  /** More `dxbackup:` keys (databases, ldap, ...), as objects. */
  keys?: Record<string, unknown>;
  /** More settings of the host (xmlaccess, ...). */
  host?: Record<string, unknown>;
  /** More secrets, by config key. */
  secrets?: Record<string, string>;
}

/**
 * This machine playing a Portal host for real: a sample Portal tree, sshd
 * and s3rver on loopback, and stacks whose single host is 127.0.0.1. The
 * agent is installed with the exact commands the PortalHostBackup component
 * registers, run over SSH by the very functions its provider runs.
 */
export class LocalPortalHost {
  readonly root = mkdtempSync(path.join(tmpdir(), "dxb-it-"));
  readonly layout: ReturnType<typeof portalLayout>;
  /** A custom path whose name must never be executed. */
  readonly hostileDir: string;
  services!: LocalServices;
  /** Environment for agent verbs run directly (the fakes read DXB_FAKE_LOG and friends). */
  agentEnv: Record<string, string> = {};
  s3Port = 0;
  sshPort = 0;

  constructor() {
    this.layout = createPortalTree(path.join(this.root, "host"), { smallFiles: 200 });
    this.hostileDir = path.join(this.root, "host", HOSTILE_NAME);
    mkdirSync(this.hostileDir);
    writeFileSync(path.join(this.hostileDir, "it's $(here).txt"), "kept as data\n");
  }

  async start(): Promise<void> {
    this.s3Port = await freePort();
    this.sshPort = await freePort();
    this.services = await startLocalServices({
      dir: path.join(this.root, "svc"),
      sshPort: this.sshPort,
      s3Port: this.s3Port,
      bucket: "dxb",
    });
  }

  async stop(): Promise<void> {
    await this.services?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** A stack config for this host; secrets are real values marked secret. */
  config(o: StackOptions): StackConfig {
    const l = this.layout;
    const agent = path.join(this.root, "agent");
    const storage = o.storage ?? {
      s3Compatible: {
        endpoint: `https://127.0.0.1:${this.s3Port}`,
        bucket: "dxb",
        caCertificatePath: this.services.caCertificate,
      },
    };
    const values: Record<string, string> = {
      "dxbackup:environment": o.environment,
      "dxbackup:storage": JSON.stringify(storage),
      "dxbackup:hosts": JSON.stringify([
        {
          name: "portal-1",
          address: "127.0.0.1",
          ssh: { port: this.sshPort },
          roots: { portalServer: l.portalServer, wpProfile: l.wpProfile, appServer: l.appServer },
          iim: { installDir: l.iimInstall, agentDataDir: l.iimAgentData, sharedDir: l.iimShared },
          customPaths: o.customPaths ?? [
            { name: "ssl", path: l.ssl },
            { name: "hostile", path: this.hostileDir },
          ],
          offline: {
            stop: [`${l.wpProfile}/bin/stopServer.sh WebSphere_Portal`],
            start: [`${l.wpProfile}/bin/startServer.sh WebSphere_Portal`],
          },
          ...o.host,
          agent: agentDirsUnder(agent),
        },
      ]),
      "dxbackup:schedules": JSON.stringify(
        o.schedules ?? [
          { name: "nightly", cron: "0 2 * * *", mode: "online" },
          { name: "weekly", cron: "0 3 * * 0", mode: "offline" },
        ],
      ),
      "dxbackup:retention": JSON.stringify(o.retention ?? { keepLast: 3 }),
      "dxbackup:repositoryPassword": `pw for ${o.environment} 'with' $(quotes)`,
      "dxbackup:sshPrivateKey": this.services.clientKey.privateKey,
    };
    if ("s3Compatible" in storage) {
      values["dxbackup:s3AccessKeyId"] = this.services.s3Credentials.accessKeyId;
      values["dxbackup:s3SecretAccessKey"] = this.services.s3Credentials.secretAccessKey;
    }
    if ("sftp" in storage) values["dxbackup:sftpPrivateKey"] = this.services.clientKey.privateKey;
    for (const [k, v] of Object.entries(o.keys ?? {})) values[`dxbackup:${k}`] = JSON.stringify(v);
    const secretKeys = new Set(Object.keys(values).filter((k) => /Password|PrivateKey|AccessKey/.test(k)));
    for (const [k, v] of Object.entries(o.secrets ?? {})) {
      values[`dxbackup:${k}`] = v;
      secretKeys.add(`dxbackup:${k}`);
    }
    return { values, secretKeys };
  }

  policy(config: StackConfig): { policy: Policy; host: Host } {
    const policy = loadPolicy(config);
    return { policy, host: policy.hosts[0] };
  }

  /** The agent installs the stack registers, with their secrets (to run them). */
  async installs(config: StackConfig) {
    const { resources } = await evaluateStack(config, "it", { revealSecrets: true });
    return agentInstalls(resources);
  }

  /** Runs what the AgentInstall provider's create runs; each result is the installer's summary. */
  async install(config: StackConfig): Promise<Array<{ stdout: string }>> {
    return Promise.all((await this.installs(config)).map(async (c) => ({ stdout: await applyCreate(c) })));
  }

  async uninstall(config: StackConfig): Promise<Array<{ stdout: string }>> {
    return Promise.all((await this.installs(config)).map(async (c) => ({ stdout: await applyDelete(c) })));
  }

  /** Starts the schedule's job as cron would, from the installed cron.d file (`env`: for the fakes). */
  startSchedule(
    config: StackConfig,
    schedule: string,
    env: Record<string, string> = {},
  ): { pid: number; done: Promise<JobResult> } {
    const { policy, host } = this.policy(config);
    const text = readFileSync(path.join(host.agent.cronDir, `dxbackup-${policy.name}`), "utf8");
    const entry = parseCronFile(text).find((e) =>
      e.command.includes(`'run' '${schedule}' >>'${host.agent.stateDir}/agent.log' 2>&1 ||`),
    );
    if (!entry) throw new Error(`no cron entry for ${schedule}:\n${text}`);
    return runCronJob(entry, env);
  }

  async runSchedule(
    config: StackConfig,
    schedule: string,
    env: Record<string, string> = {},
  ): Promise<{ job: JobResult; status: Record<string, unknown> }> {
    const job = await this.startSchedule(config, schedule, env).done;
    return { job, status: this.status(config) };
  }

  status(config: StackConfig): Record<string, unknown> {
    const { host } = this.policy(config);
    return JSON.parse(readFileSync(path.join(host.agent.stateDir, "status.json"), "utf8"));
  }

  /** Runs an agent verb directly (as an operator would). */
  agent(config: StackConfig, ...args: string[]) {
    const { host } = this.policy(config);
    const l = agentLayout(host);
    return spawnSync(l.agent, ["--config", l.config, ...args], {
      encoding: "utf8",
      env: { ...process.env, ...this.agentEnv },
    });
  }

  /** This host's snapshots, via plain restic and the agent's config. */
  snapshots(config: StackConfig): Array<{ id: string; short_id: string; tags: string[]; time: string }> {
    const r = this.agent(config, "snapshots", "--json");
    if (r.status !== 0) throw new Error(`snapshots failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** The server stops and starts the fake WebSphere scripts recorded, as "<script> <args>" lines. */
  serverCalls(): string[] {
    try {
      return readFileSync(path.join(this.layout.wpProfile, "logs", "fake-was-calls.log"), "utf8")
        .trim()
        .split("\n")
        .filter((l) => /^(stop|start)Server/.test(l));
    } catch {
      return [];
    }
  }

  clearServerCalls(): void {
    rmSync(path.join(this.layout.wpProfile, "logs", "fake-was-calls.log"), { force: true });
  }
}

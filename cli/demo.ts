import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { loadPolicy } from "../components/policy/load";
import type { Policy } from "../components/policy/types";
import { agentLayout } from "../components/render/agentConfig";
import { targetPaths } from "../components/policy/targets";
import { TARGETS } from "../components/policy/schema";
import { renderPlanText } from "../components/render/plan/text";
import { compareRestored } from "./local/compareTrees";
import { parseCronFile, runCronJob } from "./local/cron";
import { portOpen } from "./local/process";
import { createPortalTree, portalLayout } from "./local/portalTree";
import { ownPrivateDir } from "./local/privateDir";
import { startLocalServices, type LocalServices } from "./local/services";
import { computePlan, type CommandResult } from "./plan/command";
import { plainStackConfig, readStackConfig, stackFilePath } from "./plan/stackFile";
import { localStack } from "./engine/localStack";

/** Everything the demo creates lives here (the paths in stacks/Pulumi.local.yaml point into it). */
export const DEMO_ROOT = "/var/tmp/dxbackup-local";

const say = (line = "") => process.stdout.write(`${line}\n`);

/** The engine's progress, indented under the demo's step. */
function engineOutput(text: string): void {
  for (const line of text.split("\n")) if (line.trim()) process.stdout.write(`   | ${line}\n`);
}

/** The engine's resource summary in its own words: "3 created, 2 unchanged". */
function summaryLine(changes: Record<string, number> | undefined): string {
  const words: Record<string, string> = {
    create: "created",
    update: "updated",
    delete: "deleted",
    replace: "replaced",
    same: "unchanged",
  };
  const parts = Object.entries(changes ?? {}).map(([op, n]) => `${n} ${words[op] ?? op}`);
  return `pulumi up: resources ${parts.join(", ") || "none"}`;
}

/** Checks that the stack is one the demo can play on this machine, and says why not otherwise. */
export function demoProblems(policy: Policy): string[] {
  const problems: string[] = [];
  if (policy.hosts.length !== 1 || policy.hosts[0].address !== "127.0.0.1")
    problems.push("the demo needs exactly one host at 127.0.0.1");
  if (
    policy.storage.kind !== "s3Compatible" ||
    !/^https:\/\/127\.0\.0\.1:\d+$/.test(policy.storage.s3Compatible.endpoint)
  ) {
    problems.push("the demo needs s3Compatible storage at https://127.0.0.1:<port>");
  }
  // The demo trusts the certificate and key it finds there: only inside its own private directory.
  const ca = policy.storage.kind === "s3Compatible" ? policy.storage.s3Compatible.caCertificatePath : undefined;
  if (ca && !ca.startsWith(`${DEMO_ROOT}/`))
    problems.push(
      `the demo's CA certificate must live under ${DEMO_ROOT} (the directory only you can write), not ${ca}`,
    );
  const host = policy.hosts[0];
  const layout = portalLayout(path.join(DEMO_ROOT, "portal"));
  if (host && (host.roots.portalServer !== layout.portalServer || host.iim.agentDataDir !== layout.iimAgentData)) {
    problems.push(
      `the demo's sample Portal tree is ${path.join(DEMO_ROOT, "portal")}: the host's roots and iim must point into it`,
    );
  }
  return problems;
}

function demoPassword(): string {
  const file = path.join(DEMO_ROOT, "secrets", "repository-password");
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(24).toString("base64"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8");
}

/**
 * The main job on the embedded default: plan the local stack, play the
 * Portal host on this machine (a sample Portal tree, sshd and an
 * S3-compatible server on loopback), `pulumi up` the stack on the real
 * engine, take a backup the way the timer runs it, restore it into a scratch
 * directory and verify every file, then `pulumi up` again: no changes.
 */
export async function demoCommand(opts: { stack: string; now?: Date }): Promise<CommandResult> {
  if (process.getuid?.() !== 0) {
    return {
      exitCode: 1,
      stdout: "",
      stderr: "dxbackup demo plays a Portal host (sshd, file owners): run it as root\n",
    };
  }
  // Under /var/tmp, where any user can create it first: nothing in it is trusted unless it is ours alone.
  try {
    ownPrivateDir(DEMO_ROOT);
  } catch (err) {
    return { exitCode: 1, stdout: "", stderr: `dxbackup demo: ${(err as Error).message}\n` };
  }
  const config = readStackConfig(stackFilePath(opts.stack));
  const policy = loadPolicy(config);
  const problems = demoProblems(policy);
  if (problems.length)
    return { exitCode: 2, stdout: "", stderr: problems.map((p) => `dxbackup demo: ${p}\n`).join("") };
  const host = policy.hosts[0];
  const storage = policy.storage as Extract<Policy["storage"], { kind: "s3Compatible" }>;
  const s3Port = Number(new URL(storage.s3Compatible.endpoint).port);
  for (const port of [host.ssh.port, s3Port]) {
    if (await portOpen(port))
      return {
        exitCode: 1,
        stdout: "",
        stderr: `dxbackup demo: port 127.0.0.1:${port} is in use (another demo running?)\n`,
      };
  }

  say(`== 1/6 plan of stack '${opts.stack}'`);
  say(renderPlanText(await computePlan(opts.stack, config, opts.now ?? new Date())));

  say(`== 2/6 a sample Portal host under ${DEMO_ROOT}/portal`);
  rmSync(path.join(DEMO_ROOT, "portal"), { recursive: true, force: true });
  createPortalTree(path.join(DEMO_ROOT, "portal"));
  const caDir = path.dirname(storage.s3Compatible.caCertificatePath ?? path.join(DEMO_ROOT, "s3", "cert.pem"));
  let services: LocalServices | undefined;
  try {
    services = await startLocalServices({
      dir: DEMO_ROOT,
      sshPort: host.ssh.port,
      s3Port,
      bucket: storage.s3Compatible.bucket,
      certDir: caDir,
    });
    say(`   sshd on 127.0.0.1:${host.ssh.port}, s3rver (HTTPS) on 127.0.0.1:${s3Port}`);

    say("== 3/6 pulumi up: the real engine installs the agent over SSH (file backend, passphrase secrets)");
    const stackConfig = plainStackConfig(stackFilePath(opts.stack)) as Record<string, unknown> & {
      "dxbackup:hosts": Array<{ ssh?: Record<string, unknown> }>;
    };
    // Pin the demo sshd's own host key: the deploy sends secrets only to that host.
    const [first] = stackConfig["dxbackup:hosts"];
    first.ssh = { ...first.ssh, hostKey: services.hostKey };
    const stack = await localStack({
      dir: path.join(DEMO_ROOT, "pulumi"),
      stack: opts.stack,
      config: stackConfig,
      secrets: {
        "dxbackup:repositoryPassword": demoPassword(),
        [`dxbackup:${host.ssh.privateKeySecret}`]: services.clientKey.privateKey,
        [`dxbackup:${storage.s3Compatible.accessKeyIdSecret}`]: services.s3Credentials.accessKeyId,
        [`dxbackup:${storage.s3Compatible.secretAccessKeySecret}`]: services.s3Credentials.secretAccessKey,
      },
    });
    const up = await stack.up({ color: "never", onOutput: engineOutput });
    say(`   ${summaryLine(up.summary.resourceChanges)}`);

    const schedule = policy.schedules.find((s) => s.hosts.includes(host.name));
    if (!schedule) throw new Error("the local stack has no schedule for its host");
    say(`== 4/6 back up: schedule '${schedule.name}', run the way its cron entry runs it`);
    const cronFile = path.join(host.agent.cronDir, `dxbackup-${policy.name}`);
    const entry = parseCronFile(readFileSync(cronFile, "utf8")).find((e) =>
      e.command.includes(`'run' '${schedule.name}'`),
    );
    if (!entry) throw new Error(`no cron entry for ${schedule.name} in ${cronFile}`);
    const started = Date.now();
    const job = await runCronJob(entry).done;
    const status = JSON.parse(readFileSync(path.join(host.agent.stateDir, "status.json"), "utf8"));
    say(
      `   ${status.result}: snapshot ${status.snapshotIds[0] ?? "-"}, ${status.files} files, ${status.bytesAdded} bytes added`,
    );
    if (job.code !== 0)
      throw new Error(`the backup run failed (exit ${job.code}): ${status.failedStep}: ${status.message}`);
    const backupSeconds = (Date.now() - started) / 1000;

    say("== 5/6 restore the snapshot into a scratch directory and verify every file");
    const target = path.join(DEMO_ROOT, "restore", status.runId);
    rmSync(path.join(DEMO_ROOT, "restore"), { recursive: true, force: true });
    const restoreStart = Date.now();
    const restore = spawnSync(
      agentLayout(host).agent,
      ["--config", agentLayout(host).config, "restore", status.snapshotIds[0], "--target", target],
      {
        encoding: "utf8",
      },
    );
    if (restore.status !== 0) throw new Error(`restore failed: ${restore.stderr}`);
    const restoreSeconds = (Date.now() - restoreStart) / 1000;
    const sources = [...new Set(TARGETS.flatMap((t) => targetPaths(host, t)))];
    const comparison = compareRestored(sources, target, host.excludes);

    say("== 6/6 pulumi up again: nothing to change");
    const again = await stack.up({ color: "never", onOutput: engineOutput });
    const changed = Object.entries(again.summary.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && n);
    say(`   ${summaryLine(again.summary.resourceChanges)}`);
    if (changed.length)
      throw new Error(`the second pulumi up changed resources: ${summaryLine(again.summary.resourceChanges)}`);

    say();
    // The snapshot also holds the run's recovery-point record (IIM state, targets, pieces) and the
    // pieces tools staged for it (here the WebSphere configuration archive).
    const recordFiles = ["recovery-point", "staging"]
      .map((d) => path.join(target, host.agent.stateDir, d))
      .filter((d) => existsSync(d))
      .reduce(
        (n, d) => n + readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length,
        0,
      );
    const ok = comparison.differences.length === 0 && comparison.files + recordFiles === status.files;
    say(`dx-backup demo: ${ok ? "backup and restore verified" : "VERIFICATION FAILED"}`);
    say(`  snapshot   ${status.snapshotIds[0]} (run ${status.runId}, schedule ${status.schedule})`);
    say(
      `  files      ${status.files} in the snapshot (${comparison.files} Portal files + ${recordFiles} of the recovery-point record and staged pieces), ${status.bytesProcessed} bytes`,
    );
    say(`  added      ${status.bytesAdded} bytes to ${status.repository}`);
    say(`  duration   backup ${backupSeconds.toFixed(1)} s, restore ${restoreSeconds.toFixed(1)} s`);
    say(
      `  verified   ${ok ? "every file byte for byte, with modes, owners and symlinks: identical" : `${comparison.differences.length} difference(s)`}`,
    );
    for (const d of comparison.differences.slice(0, 20)) say(`    ${d}`);
    return { exitCode: ok ? 0 : 1, stdout: "", stderr: "" };
  } catch (err) {
    return { exitCode: 1, stdout: "", stderr: `dxbackup demo: ${(err as Error).message}\n` };
  } finally {
    await services?.stop();
  }
}

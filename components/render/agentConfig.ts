import { selectPieces, type Piece } from "../policy/pieces";
import { selectTargets } from "../policy/targets";
import type { Host, Policy, Schedule } from "../policy/types";
import { HOST_CONFIG_VERSION, type HostConfig, type ScheduleConfig } from "../../shared/hostConfig";
import { renderPieceConfig, secretFile } from "./pieceConfig";
import { secretKeysIn } from "../../shared/secretRefs";

/** Where the agent finds its files on a host. */
export function agentLayout(host: Host) {
  const { installDir, configDir, stateDir } = host.agent;
  return {
    agent: `${installDir}/bin/dxbackup-agent`,
    config: `${configDir}/agent.json`,
    passwordFile: `${configDir}/secrets/repository-password`,
    storageEnv: `${configDir}/secrets/storage.json`,
    stateDir,
  };
}

/** The config keys the host's offline commands refer to (`"{{secret:KEY}}"`). */
export function offlineSecretKeys(host: Host): string[] {
  return [...new Set([...(host.offline?.stop ?? []), ...(host.offline?.start ?? [])].flatMap(secretKeysIn))];
}

/** The agent's whole configuration on one host (agent.json), in the shape the agent validates it with. */
export function renderHostConfig(
  policy: Policy,
  host: Host,
  repository: { url: string; options: string[] },
  pieces: readonly Piece[],
): HostConfig {
  const l = agentLayout(host);
  const schedules = policy.schedules.filter((s) => s.hosts.includes(host.name));
  return {
    version: HOST_CONFIG_VERSION,
    policy: policy.name,
    environment: policy.environment,
    host: host.name,
    role: host.role,
    repository: {
      url: repository.url,
      options: repository.options,
      passwordFile: l.passwordFile,
      storageEnvFile: l.storageEnv,
      appendOnly: policy.storage.kind === "rest" && policy.storage.rest.appendOnly,
    },
    restic: host.agent.restic,
    fileEngine: host.fileEngine,
    tsm: { dsmc: host.tsm?.dsmc ?? "dsmc", options: host.tsm?.optFile ? [`-optfile=${host.tsm.optFile}`] : [] },
    configDir: host.agent.configDir,
    stateDir: l.stateDir,
    pruneEveryDays: policy.agent.pruneEveryDays,
    iim: { ...host.iim },
    excludes: host.excludes,
    offline: {
      stop: host.offline?.stop ?? [],
      start: host.offline?.start ?? [],
      secretFiles: Object.fromEntries(offlineSecretKeys(host).map((key) => [key, secretFile(host, key)])),
    },
    ...(host.runAs && { runAs: host.runAs }),
    drill: { readDataSubset: "5%" },
    alerts: {
      webhookUrlFile: policy.agent.alerts?.webhookUrlSecret && secretFile(host, policy.agent.alerts.webhookUrlSecret),
      pingUrlFile: policy.agent.alerts?.pingUrlSecret && secretFile(host, policy.agent.alerts.pingUrlSecret),
    },
    schedules: Object.fromEntries(
      schedules.map((s) => [s.name, renderScheduleConfig(s, host, selectPieces(s, host, policy))] as const),
    ),
    pieces: Object.fromEntries(pieces.map((p) => [p.name, renderPieceConfig(p, host)] as const)),
  };
}

/** One schedule's part: what it captures on this host and what it keeps. */
export function renderScheduleConfig(schedule: Schedule, host: Host, pieces: readonly Piece[]): ScheduleConfig {
  // A drill restores what the backups took: it captures nothing itself.
  const selected = schedule.kind === "drill" ? [] : selectTargets(schedule.targets, host);
  return {
    kind: schedule.kind,
    mode: schedule.mode,
    cron: schedule.cron,
    timezone: schedule.timezone,
    targets: selected.flatMap((t) => t.paths.map((p) => ({ target: t.target, path: p }))),
    retention: schedule.retention,
    pieces: schedule.kind === "drill" ? [] : pieces.map((p) => p.name),
  };
}

/** Storage credentials: a JSON object the agent hands to restic's environment only (a secret file, mode 0600). */
export function renderStorageEnv(env: Record<string, string>): string {
  const sorted = Object.fromEntries(
    Object.keys(env)
      .sort()
      .map((k) => [k, env[k]] as const),
  );
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** agent.json as written to the host: stable key order, so its digest only changes with its content. */
export function renderHostConfigFile(config: HostConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

import { createHash } from "node:crypto";
import { selectPieces, type Piece } from "../policy/pieces";
import type { Host, Policy } from "../policy/types";
import { pieceSecrets, secretFile } from "../render/pieceConfig";
import {
  agentLayout,
  offlineSecretKeys,
  renderHostConfig,
  renderHostConfigFile,
  renderStorageEnv,
} from "../render/agentConfig";
import type { BundleAgent, BundleFile } from "../render/bundle";
import {
  alertUnitName,
  renderAlertService,
  renderCronFile,
  renderService,
  renderTimer,
  unitName,
} from "../render/schedulerUnits";
import { knownHostsLine, resticOptions, STORAGE_FILES } from "../storage/repository";

/** Secret values a host's files hold. Only ever handled inside an `apply`. */
export interface HostSecrets {
  repositoryPassword: string;
  storageEnvironment: Record<string, string>;
  sftpPrivateKey?: string;
  /** Secrets the host's pieces need, by config key (database, directory, XMLAccess passwords). */
  pieces?: Record<string, string>;
}

/** Every piece any of the host's schedules captures, once, in schedule order. */
export function hostPieces(policy: Policy, host: Host): Piece[] {
  const byName = new Map<string, Piece>();
  for (const s of policy.schedules.filter((x) => x.hosts.includes(host.name) && x.kind === "backup")) {
    for (const p of selectPieces(s, host, policy)) if (!byName.has(p.name)) byName.set(p.name, p);
  }
  return [...byName.values()];
}

/** The config keys of the secret files the host's agent reads: its pieces', the alert URLs' and the offline commands'. */
export function hostPieceSecrets(policy: Policy, host: Host): string[] {
  const alerts = policy.agent.alerts;
  const alertKeys = [alerts?.webhookUrlSecret, alerts?.pingUrlSecret].filter((k): k is string => Boolean(k));
  const offlineKeys = offlineSecretKeys(host);
  return [...new Set([...hostPieces(policy, host).flatMap(pieceSecrets), ...alertKeys, ...offlineKeys])].sort();
}

/**
 * Every file the agent needs on `host`, systemd and cron variants both
 * included, but the agent itself (sent on its own, see AgentInstall). Pure.
 */
export function hostFiles(policy: Policy, host: Host, repositoryUrl: string, secrets: HostSecrets): BundleFile[] {
  const l = agentLayout(host);
  const { configDir, systemdDir, cronDir } = host.agent;
  const schedules = policy.schedules.filter((s) => s.hosts.includes(host.name));
  const file = (
    path: string,
    mode: BundleFile["mode"],
    content: string,
    extra: Partial<BundleFile> = {},
  ): BundleFile => ({
    path,
    mode,
    content,
    scheduler: "all",
    secret: false,
    ...extra,
  });
  const files: BundleFile[] = [
    file(
      l.config,
      "0600",
      renderHostConfigFile(
        renderHostConfig(
          policy,
          host,
          { url: repositoryUrl, options: resticOptions(policy.storage, configDir, host.name) },
          hostPieces(policy, host),
        ),
      ),
    ),
    ...hostPieceSecrets(policy, host).map((key) => {
      const value = secrets.pieces?.[key];
      if (value === undefined) throw new Error(`hostFiles: the secret '${key}' of host ${host.name} was not provided`);
      // Exactly the value: tools such as ldapsearch -y read every byte of the file.
      return file(secretFile(host, key), "0600", value, { secret: true });
    }),
    file(l.passwordFile, "0600", `${secrets.repositoryPassword}\n`, { secret: true }),
    file(l.storageEnv, "0600", renderStorageEnv(secrets.storageEnvironment), { secret: true }),
  ];
  if (policy.storage.kind === "sftp") {
    if (secrets.sftpPrivateKey === undefined) throw new Error("hostFiles: sftp storage needs the SFTP private key");
    const key = secrets.sftpPrivateKey.endsWith("\n") ? secrets.sftpPrivateKey : `${secrets.sftpPrivateKey}\n`;
    files.push(file(`${configDir}/${STORAGE_FILES.sftpKey}`, "0600", key, { secret: true }));
    files.push(file(`${configDir}/${STORAGE_FILES.knownHosts}`, "0644", knownHostsLine(policy.storage)));
  }
  files.push(
    file(`${systemdDir}/${alertUnitName(policy.name)}.service`, "0644", renderAlertService(policy, host), {
      scheduler: "systemd",
    }),
  );
  for (const s of schedules) {
    const unit = `${systemdDir}/${unitName(policy.name, s.name)}`;
    files.push(file(`${unit}.service`, "0644", renderService(policy, host, s), { scheduler: "systemd" }));
    files.push(file(`${unit}.timer`, "0644", renderTimer(policy, s), { scheduler: "systemd" }));
  }
  files.push(
    file(`${cronDir}/dxbackup-${policy.name}`, "0644", renderCronFile(policy, host, schedules), { scheduler: "cron" }),
  );
  return files;
}

/**
 * A digest of everything but the secrets: it changes whenever the agent, its
 * config or the schedule changes, and is safe to show in a plan.
 */
export function filesDigest(files: readonly BundleFile[], agent: BundleAgent): string {
  const h = createHash("sha256");
  h.update(`agent\0${agent.runtime}\0${agent.digest}\0`);
  for (const f of files.filter((x) => !x.secret)) h.update(`${f.path}\0${f.mode}\0${f.scheduler}\0${f.content}\0`);
  return h.digest("hex");
}

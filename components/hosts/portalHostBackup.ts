import * as pulumi from "@pulumi/pulumi";
import type { Host, Policy } from "../policy/types";
import { agentArtifact } from "../render/agentArtifact";
import { renderBundle } from "../render/bundle";
import { remoteCommand, renderInstallScript, renderUninstallScript } from "../render/installer";
import type { HostStorageAccess } from "../storage/backupStore";
import { AgentInstall } from "./agentInstall";
import { filesDigest, hostFiles } from "./hostFiles";

export interface PortalHostBackupArgs {
  /** The validated policy this host belongs to. */
  policy: Policy;
  /** The host, with defaults applied. */
  host: Host;
  /** Repository URL and storage credentials for this host. */
  storage: HostStorageAccess;
  /** The restic repository password (secret). */
  repositoryPassword: pulumi.Input<string>;
  /** The private key the SSH connection logs in with (secret). */
  sshPrivateKey: pulumi.Input<string>;
  /** The key the host uses to reach SFTP storage (secret), for sftp storage only. */
  sftpPrivateKey?: pulumi.Input<string>;
  /** Secrets of the host's database, directory and XMLAccess pieces, by config key. */
  pieceSecrets?: Record<string, pulumi.Input<string>>;
}

/**
 * The backup agent on one Portal host: an AgentInstall whose create and
 * update run the idempotent installer over SSH (files arrive on stdin, secrets
 * included, never on a command line) and whose delete removes the schedule
 * but keeps the backups. A change of config is an in-place update.
 */
export class PortalHostBackup extends pulumi.ComponentResource {
  /** What the installer printed (files changed, scheduler used). */
  readonly installOutput: pulumi.Output<string>;
  /** Digest of the non-secret files; changes whenever config or agent change. */
  readonly configDigest: pulumi.Output<string>;
  /** The install on the host. */
  readonly install: AgentInstall;

  constructor(name: string, args: PortalHostBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dxbackup:hosts:PortalHostBackup", name, {}, opts);
    const { policy, host } = args;
    const agent = agentArtifact(host.agent.runtime);

    const files = pulumi
      .all([
        args.storage.repositoryUrl,
        args.repositoryPassword,
        args.storage.environment,
        args.sftpPrivateKey,
        pulumi.all(args.pieceSecrets ?? {}),
      ])
      .apply(([url, repositoryPassword, storageEnvironment, sftpPrivateKey, pieces]) =>
        hostFiles(policy, host, url, { repositoryPassword, storageEnvironment, sftpPrivateKey, pieces }),
      );
    this.configDigest = pulumi.unsecret(files.apply((f) => filesDigest(f, agent)));

    this.install = new AgentInstall(
      `${name}-install`,
      {
        connection: {
          host: host.address,
          port: host.ssh.port,
          user: host.ssh.user,
          hostKey: host.ssh.hostKey,
        },
        privateKey: pulumi.secret(args.sshPrivateKey),
        install: remoteCommand(renderInstallScript(policy.name, host), host.ssh.sudo),
        uninstall: remoteCommand(renderUninstallScript(policy.name, host), host.ssh.sudo),
        bundle: pulumi.secret(files.apply((f) => renderBundle(f, agent))),
        agent,
        configDigest: this.configDigest,
        decommissioned: host.decommissioned,
      },
      // The install enables the timers (and opens the repository when it re-keys it): the host's IAM
      // policy, the bucket's policy, default encryption and lock come first, not only the access key.
      { parent: this, dependsOn: args.storage.dependsOn },
    );
    this.installOutput = this.install.installOutput;

    this.registerOutputs({ installOutput: this.installOutput, configDigest: this.configDigest });
  }
}

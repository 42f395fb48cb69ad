import * as pulumi from "@pulumi/pulumi";
import { policySummary } from "./guardrails/summary";
import { hostPieceSecrets } from "./hosts/hostFiles";
import { PortalHostBackup } from "./hosts/portalHostBackup";
import type { Policy } from "./policy/types";
import { renderRunbook } from "./render/runbook";
import { RemoteSource } from "./remote/remoteSource";
import { BackupStore, type BackupStoreChildren } from "./storage/backupStore";
import { SystemBackup, type SystemBackupChildren } from "./system/systemBackup";
import { hostRepositoryPassword } from "../shared/hostKeys";
import { sftpUser, sftpUserPerHost } from "./storage/repository";
import { hostSftpKey } from "./storage/sftpKeys";

export interface BackupPolicyArgs {
  /** A policy validated by `loadPolicy`. */
  policy: Policy;
  /**
   * Secret values by the config key the policy names them with
   * (`repositoryPassword`, each host's `ssh.privateKeySecret`, storage secrets).
   */
  secrets: Record<string, pulumi.Input<string>>;
  /** Tags for every cloud resource. */
  tags?: Record<string, string>;
  /**
   * Tags and resource options for the cloud resources underneath, by
   * component and child, e.g. `{ store: { bucket: { opts: { provider } } } }`.
   */
  children?: { store?: BackupStoreChildren; system?: SystemBackupChildren };
}

/**
 * A whole backup policy: the storage, and the agent with its schedules on
 * every host. The top-level component a stack creates.
 */
export class BackupPolicy extends pulumi.ComponentResource {
  readonly store: BackupStore;
  readonly hosts: Record<string, PortalHostBackup>;
  /** restic repository URL per host. */
  readonly repositories: pulumi.Output<Record<string, string>>;
  /** AWS Backup for EC2-hosted Portal hosts (the system tier), when declared. */
  readonly system?: SystemBackup;
  /** With `{host}` in `storage.sftp.user`: each host's SFTP user and its public key line. */
  readonly sftpAuthorizedKeys?: pulumi.Output<Record<string, string>>;
  /** The declared remote information sources. */
  readonly remoteSources: RemoteSource[];
  /** The restore runbook (Markdown): per host and tier, the exact commands in order. */
  readonly runbook: pulumi.Output<string>;
  /**
   * The ARN of every KMS key the stack created, by resource name: the keys
   * stay in AWS after a destroy (retained), and these are the ARNs to put in
   * `storage.s3.formerKmsKeyArns` or to schedule for deletion once no data needs them.
   */
  readonly keyArns: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: BackupPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    // The summary is an input (what `dxbackup plan` reads under mocks) and an output (what stack
    // policies see under the real engine): the guardrails check the same value either way.
    const summary = policySummary(args.policy);
    super("dxbackup:index:BackupPolicy", name, { summary }, opts);
    const { policy } = args;
    const secret = (key: string): pulumi.Input<string> => {
      const value = args.secrets[key];
      if (value === undefined) throw new Error(`BackupPolicy: secret '${key}' was not provided`);
      return value;
    };
    const tags = { "dxbackup:policy": policy.name, "dxbackup:environment": policy.environment, ...args.tags };

    this.store = new BackupStore(
      `${name}-store`,
      {
        storage: policy.storage,
        policyName: policy.name,
        hostNames: policy.hosts.map((h) => h.name),
        formerHostNames: Object.fromEntries(policy.hosts.map((h) => [h.name, h.formerNames])),
        s3Credentials:
          policy.storage.kind === "s3Compatible"
            ? {
                accessKeyId: secret(policy.storage.s3Compatible.accessKeyIdSecret),
                secretAccessKey: secret(policy.storage.s3Compatible.secretAccessKeySecret),
              }
            : undefined,
        restPassword: policy.storage.kind === "rest" ? secret(policy.storage.rest.passwordSecret) : undefined,
        tags,
        children: args.children?.store,
      },
      { parent: this },
    );

    // With a user per host on the SFTP server, each host's key is derived from the one secret.
    const { storage } = policy;
    const perHostSftp = storage.kind === "sftp" && sftpUserPerHost(storage.sftp);
    const sftpKeyOf = (host: string): pulumi.Input<string> | undefined => {
      if (storage.kind !== "sftp") return undefined;
      const key = secret(storage.sftp.privateKeySecret);
      return perHostSftp ? pulumi.secret(key).apply((s) => hostSftpKey(s, policy.name, host).privateKey) : key;
    };
    // Public keys: no secret, and what the SFTP server's administrator installs.
    this.sftpAuthorizedKeys = perHostSftp
      ? pulumi.unsecret(
          pulumi
            .output(secret(storage.sftp.privateKeySecret))
            .apply((s) =>
              Object.fromEntries(
                policy.hosts.map((h) => [
                  sftpUser(storage.sftp, h.name),
                  hostSftpKey(s, policy.name, h.name).publicKey,
                ]),
              ),
            ),
        )
      : undefined;

    this.hosts = {};
    for (const host of policy.hosts) {
      this.hosts[host.name] = new PortalHostBackup(
        `${name}-${host.name}`,
        {
          policy,
          host,
          storage: this.store.hosts[host.name],
          // The host's own password: root on it opens no other host's repository.
          repositoryPassword: pulumi
            .secret(secret(policy.secrets.repositoryPassword))
            .apply((stackPassword) => hostRepositoryPassword(stackPassword, policy.name, host.name)),
          sshPrivateKey: secret(host.ssh.privateKeySecret),
          sftpPrivateKey: sftpKeyOf(host.name),
          pieceSecrets: Object.fromEntries(hostPieceSecrets(policy, host).map((key) => [key, secret(key)])),
        },
        // A renamed host's component (and with it its install) keeps its identity: an update in place.
        { parent: this, aliases: host.formerNames.map((former) => ({ name: `${name}-${former}` })) },
      );
    }

    this.repositories = pulumi.all(
      Object.fromEntries(policy.hosts.map((h) => [h.name, this.store.hosts[h.name].repositoryUrl])),
    );
    if (policy.system?.aws) {
      this.system = new SystemBackup(
        `${name}-system`,
        { aws: policy.system.aws, policyName: policy.name, tags, children: args.children?.system },
        { parent: this },
      );
    }
    this.remoteSources = policy.remoteSources.map(
      (source) => new RemoteSource(`${name}-remote-${source.name}`, { source }, { parent: this }),
    );

    this.runbook = pulumi.output(this.store.bucketName ?? "<bucket>").apply((bucket) => renderRunbook(policy, bucket));
    this.keyArns = pulumi
      .all([this.store.keyArns, this.system?.keyArns ?? {}])
      .apply(([store, system]) => ({ ...store, ...system }));
    this.registerOutputs({
      summary,
      repositories: this.repositories,
      bucketName: this.store.bucketName,
      runbook: this.runbook,
      keyArns: this.keyArns,
      sftpAuthorizedKeys: this.sftpAuthorizedKeys,
    });
  }
}

import type { SftpStorage } from "../policy/schema";
import type { Storage } from "../policy/types";
import { restUser } from "../../shared/hostKeys";

/**
 * The key prefix of one host's repository: `<policy>/<host>`. Every host gets
 * its own repository, so its credentials can be limited to that prefix and
 * one host's prune never locks another's backups; the policy level keeps two
 * stacks that share a bucket, share or NFS mount apart.
 */
export function repositoryPrefix(policyName: string, hostName: string): string {
  return `${policyName}/${hostName}`;
}

/** The restic repository URL of one host. */
export function repositoryUrl(storage: Storage, policyName: string, hostName: string, awsBucketName?: string): string {
  const prefix = repositoryPrefix(policyName, hostName);
  switch (storage.kind) {
    case "s3": {
      if (!awsBucketName) throw new Error("repositoryUrl: the AWS bucket name is required for s3 storage");
      return `s3:https://s3.${storage.s3.region}.amazonaws.com/${awsBucketName}/${prefix}`;
    }
    case "s3Compatible": {
      const { endpoint, bucket, prefix: base } = storage.s3Compatible;
      return `s3:${endpoint}/${bucket}/${base ? `${base}/` : ""}${prefix}`;
    }
    case "sftp": {
      const { host, path } = storage.sftp;
      return `sftp:${sftpUser(storage.sftp, hostName)}@${host}:${path.replace(/\/+$/, "")}/${prefix}`;
    }
    case "rest":
      // With --private-repos the user's name must be the first segment of the path.
      return `rest:${storage.rest.url}/${restUser(policyName, hostName)}/`;
    case "filesystem":
      return `${storage.filesystem.path.replace(/\/+$/, "")}/${prefix}`;
  }
}

/** Whether every host logs in to the SFTP server as a user of its own (`{host}` in `user`). */
export function sftpUserPerHost(sftp: SftpStorage): boolean {
  return sftp.user.includes("{host}");
}

/** The SFTP user one host logs in as. */
export function sftpUser(sftp: SftpStorage, hostName: string): string {
  return sftp.user.replaceAll("{host}", hostName);
}

/** Files the agent keeps under its config dir for the storage: names relative to it. */
export const STORAGE_FILES = {
  sftpKey: "secrets/sftp-key",
  knownHosts: "known_hosts",
} as const;

/**
 * restic options the storage needs, given the host's agent config dir.
 * Values are plain argv words; the renderer quotes them.
 */
export function resticOptions(storage: Storage, configDir: string, hostName: string): string[] {
  switch (storage.kind) {
    case "s3Compatible":
      return storage.s3Compatible.caCertificatePath ? ["--cacert", storage.s3Compatible.caCertificatePath] : [];
    case "rest":
      return storage.rest.caCertificatePath ? ["--cacert", storage.rest.caCertificatePath] : [];
    case "sftp": {
      const { host, port } = storage.sftp;
      const user = sftpUser(storage.sftp, hostName);
      // restic runs this through its own word splitting (no shell): keep every
      // word free of spaces, which agentPath and the sftp schema guarantee.
      const ssh = [
        "ssh",
        "-i",
        `${configDir}/${STORAGE_FILES.sftpKey}`,
        "-p",
        String(port),
        "-o",
        `UserKnownHostsFile=${configDir}/${STORAGE_FILES.knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        `${user}@${host}`,
        "-s",
        "sftp",
      ];
      return ["-o", `sftp.command=${ssh.join(" ")}`];
    }
    default:
      return [];
  }
}

/** A known_hosts line for the SFTP server (port-qualified when not 22). */
export function knownHostsLine(storage: Extract<Storage, { kind: "sftp" }>): string {
  const { host, port, hostKey } = storage.sftp;
  return `${port === 22 ? host : `[${host}]:${port}`} ${hostKey}\n`;
}

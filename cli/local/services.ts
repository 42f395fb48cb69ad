import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { ServerProcess } from "./process";
import { S3RVER_CREDENTIALS, startS3rver } from "./s3rver";
import { freshKeyPair, startSshd } from "./sshd";

/** An SSH server and an S3-compatible server on loopback: what a Portal host and its storage need. */
export interface LocalServices {
  sshd: ServerProcess;
  s3: ServerProcess;
  /** Stops the S3 server (storage unreachable) ... */
  stopS3(): Promise<void>;
  /** ... and brings it back with the same data. */
  startS3(): Promise<void>;
  /** Stops the SSH server (the host unreachable) ... */
  stopSshd(): Promise<void>;
  /** ... and brings it back with the same keys. */
  startSshd(): Promise<void>;
  /** The sshd's public host key line, to pin as hosts[].ssh.hostKey. */
  hostKey: string;
  /** The key the deploy logs in with. */
  clientKey: { privateKey: string; publicKey: string };
  /** The CA certificate restic must trust for the S3 endpoint. */
  caCertificate: string;
  s3Credentials: typeof S3RVER_CREDENTIALS;
  stop(): Promise<void>;
}

export async function startLocalServices(args: {
  dir: string;
  sshPort: number;
  s3Port: number;
  bucket: string;
  /** Where the S3 certificate lives (default `<dir>/s3`). */
  certDir?: string;
}): Promise<LocalServices> {
  const certDir = args.certDir ?? path.join(args.dir, "s3");
  // A new client key every time: root's sshd here trusts it, so it must never be one found on disk.
  const clientKey = freshKeyPair(path.join(args.dir, "ssh", "client_ed25519"));
  const s3Args = { dataDir: path.join(args.dir, "s3", "data"), certDir, port: args.s3Port, bucket: args.bucket };
  let s3 = await startS3rver(s3Args);
  const sshdArgs = {
    dir: path.join(args.dir, "ssh", "server"),
    port: args.sshPort,
    authorizedKey: clientKey.publicKey,
  };
  let sshd: ServerProcess;
  try {
    sshd = await startSshd(sshdArgs);
  } catch (err) {
    await s3.stop();
    throw err;
  }
  return {
    get sshd() {
      return sshd;
    },
    get s3() {
      return s3;
    },
    stopS3: () => s3.stop(),
    startS3: async () => {
      s3 = await startS3rver(s3Args);
    },
    stopSshd: () => sshd.stop(),
    startSshd: async () => {
      sshd = await startSshd(sshdArgs);
    },
    clientKey,
    hostKey: readFileSync(path.join(sshdArgs.dir, "host_ed25519.pub"), "utf8").trim(),
    caCertificate: path.join(certDir, "cert.pem"),
    s3Credentials: S3RVER_CREDENTIALS,
    stop: async () => {
      await Promise.all([sshd.stop(), s3.stop()]);
    },
  };
}

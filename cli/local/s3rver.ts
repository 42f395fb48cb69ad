import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { ServerProcess } from "./process";

const S3RVER = path.join(__dirname, "..", "..", "node_modules", ".bin", "s3rver");

/** s3rver's fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** A self-signed certificate for 127.0.0.1 (kept when it already exists). */
export function ensureCertificate(dir: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  if (!existsSync(cert) || !existsSync(key)) {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=127.0.0.1"].concat([
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ]),
      { stdio: "ignore" },
    );
  }
  return { cert, key };
}

/**
 * An S3-compatible server on 127.0.0.1 over HTTPS (restic stores chunked
 * uploads corrupted over plain HTTP with s3rver), with `bucket` created.
 */
export async function startS3rver(args: {
  dataDir: string;
  certDir: string;
  port: number;
  bucket: string;
}): Promise<ServerProcess> {
  mkdirSync(args.dataDir, { recursive: true });
  const { cert, key } = ensureCertificate(args.certDir);
  return ServerProcess.start(
    "s3rver",
    S3RVER,
    [
      "-a",
      "127.0.0.1",
      "-p",
      String(args.port),
      "-d",
      args.dataDir,
      "--key",
      key,
      "--cert",
      cert,
      "--silent",
      "--configure-bucket",
      args.bucket,
    ],
    args.port,
  );
}

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ServerProcess } from "./process";

/** A new ed25519 key pair at `file`, replacing whatever was there (a key is never trusted for having been found). */
export function freshKeyPair(file: string): { privateKey: string; publicKey: string } {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  return ensureKeyPair(file);
}

/** An ed25519 key pair (kept when it already exists). */
export function ensureKeyPair(file: string): { privateKey: string; publicKey: string } {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dx-backup", "-f", file]);
  }
  return { privateKey: readFileSync(file, "utf8"), publicKey: readFileSync(`${file}.pub`, "utf8") };
}

/**
 * OpenSSH's sshd on 127.0.0.1 with its own host key and one authorized key
 * for root, the way a Portal host accepts the deploy. Keys and config live in
 * `dir`; nothing of the machine's own sshd is touched.
 */
export async function startSshd(args: { dir: string; port: number; authorizedKey: string }): Promise<ServerProcess> {
  const { dir, port } = args;
  mkdirSync(dir, { recursive: true });
  mkdirSync("/run/sshd", { recursive: true });
  const hostKey = path.join(dir, "host_ed25519");
  ensureKeyPair(hostKey);
  const authorized = path.join(dir, "authorized_keys");
  writeFileSync(authorized, args.authorizedKey, { mode: 0o600 });
  const config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  return ServerProcess.start("sshd", "/usr/sbin/sshd", ["-D", "-e", "-f", config], port);
}

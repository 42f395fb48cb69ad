import { Readable } from "node:stream";
import { Client } from "ssh2";

/** How the deploy reaches a host. */
export interface SshConnection {
  host: string;
  port?: number;
  user?: string;
  privateKey: string;
  /**
   * The host's public key as in `known_hosts` or `ssh-keyscan` (`ssh-ed25519 AAAA...`).
   * When set, a host presenting another key is refused before anything is sent.
   */
  hostKey?: string;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The key blob of an OpenSSH public key line (`<type> <base64> [comment]`), or undefined. */
function hostKeyBlob(line: string): Buffer | undefined {
  const [, b64] = line.trim().split(/\s+/);
  return b64 && /^[A-Za-z0-9+/]+=*$/.test(b64) ? Buffer.from(b64, "base64") : undefined;
}

/**
 * Runs one command over SSH, with `stdin`: a single exec on a fresh session,
 * the command string handed to the remote login shell. With `hostKey`, the
 * connection is refused unless the server proves that key, so secrets on stdin
 * only ever reach the host that was meant.
 */
export function runOverSsh(
  connection: SshConnection,
  command: string,
  stdin: string | Buffer | Readable = "",
): Promise<SshResult> {
  const where = `${connection.user ?? "root"}@${connection.host}:${connection.port ?? 22}`;
  const pinned = connection.hostKey === undefined ? undefined : hostKeyBlob(connection.hostKey);
  if (connection.hostKey !== undefined && !pinned) {
    return Promise.reject(new Error(`${where}: hostKey is not an OpenSSH public key line ('ssh-ed25519 AAAA...')`));
  }
  let keyMismatch = false;
  // A stream that was never read to its end (no connection, a host that did not read it) is closed.
  const done = () => {
    if (stdin instanceof Readable) stdin.destroy();
  };
  return new Promise<SshResult>((resolve, reject) => {
    const client = new Client();
    client
      .on("ready", () => {
        client.exec(command, (err, stream) => {
          if (err) {
            client.end();
            reject(new Error(`${where}: ${err.message}`));
            return;
          }
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          stream.on("data", (d: Buffer) => out.push(d));
          stream.stderr.on("data", (d: Buffer) => errOut.push(d));
          stream.on("close", (code: number | null) => {
            client.end();
            resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString() });
          });
          if (stdin instanceof Readable) {
            // A large file (the agent): streamed, never whole in memory; a read error fails the step.
            stdin.on("error", (e) => {
              client.end();
              reject(new Error(`${where}: ${e.message}`));
            });
            stdin.pipe(stream);
          } else stream.end(stdin);
        });
      })
      .on("error", (err) =>
        reject(
          new Error(
            keyMismatch
              ? `${where}: the host's SSH key is not the pinned hostKey; nothing was sent (check hosts[].ssh.hostKey against \`ssh-keyscan -p ${connection.port ?? 22} ${connection.host}\`)`
              : `${where}: ${err.message}`,
          ),
        ),
      )
      .connect({
        host: connection.host,
        port: connection.port ?? 22,
        username: connection.user ?? "root",
        privateKey: connection.privateKey,
        readyTimeout: 15_000,
        hostVerifier: pinned
          ? (key: Buffer) => {
              keyMismatch = !key.equals(pinned);
              return !keyMismatch;
            }
          : undefined,
      });
  }).finally(done);
}

import { Client } from "ssh2";

export interface SshConnection {
  host: string;
  port?: number;
  user?: string;
  privateKey: string;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command over SSH, with `stdin`, the way @pulumi/command's
 * remote.Command does: a single exec on a fresh session, the command string
 * handed to the remote login shell.
 */
export function runOverSsh(connection: SshConnection, command: string, stdin = ""): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on("ready", () => {
        client.exec(command, (err, stream) => {
          if (err) {
            client.end();
            reject(err);
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
          stream.end(stdin);
        });
      })
      .on("error", reject)
      .connect({
        host: connection.host,
        port: connection.port ?? 22,
        username: connection.user ?? "root",
        privateKey: connection.privateKey,
        readyTimeout: 15_000,
      });
  });
}

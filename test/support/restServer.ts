import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { freePort, ServerProcess } from "../../cli/local/process";
import { ensureCertificate } from "../../cli/local/s3rver";

/** restic's rest-server as scripts/build-rest-server.sh builds it from its Go module. */
export const REST_SERVER = path.join(__dirname, "..", "..", ".tools", "rest-server", "rest-server");

export interface RestServer {
  server: ServerProcess;
  url: string;
  /** Its --path: each user's repository is `<data>/<user>`. */
  data: string;
  /** The CA certificate (self-signed for 127.0.0.1) restic must trust. */
  caCertificate: string;
}

/**
 * A rest-server on 127.0.0.1 over TLS, as a storage administrator runs it for
 * dx-backup: --private-repos, --append-only, users from HTPASSWD.
 */
export async function startRestServer(dir: string, htpasswd: string, port?: number): Promise<RestServer> {
  if (!existsSync(REST_SERVER)) throw new Error(`${REST_SERVER} is missing: run ./scripts/setup.sh`);
  const data = path.join(dir, "data");
  mkdirSync(data, { recursive: true });
  const users = path.join(dir, "htpasswd");
  writeFileSync(users, htpasswd, { mode: 0o600 });
  const { cert, key } = ensureCertificate(path.join(dir, "tls"));
  port ??= await freePort();
  const server = await ServerProcess.start(
    "rest-server",
    REST_SERVER,
    [
      ...["--listen", `127.0.0.1:${port}`, "--path", data, "--htpasswd-file", users],
      ...["--private-repos", "--append-only", "--tls", "--tls-cert", cert, "--tls-key", key],
    ],
    port,
  );
  return { server, url: `https://127.0.0.1:${port}`, data, caCertificate: cert };
}

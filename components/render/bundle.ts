/**
 * The install bundle: every file the agent needs on a host, sent on the
 * installer's stdin. Paths and contents are base64 so that no byte of either
 * is ever interpreted by a shell; `install.sh` is the reader.
 *
 *   dxbackup-bundle 2
 *   agent <node|linux-x64> <sha256>
 *   file <mode> <all|systemd|cron> <base64 path>
 *   <base64 content, 76 columns>
 *   .
 *   end
 *
 * The agent itself is not in the bundle, only its digest: it is sent on its
 * own, and only when the host does not have it (see AgentInstall).
 */
export interface BundleFile {
  path: string;
  mode: "0600" | "0644" | "0755";
  /** Installed always, or only when that scheduler is used. */
  scheduler: "all" | "systemd" | "cron";
  content: string;
  /** Holds a secret: excluded from the trigger digest and never printed. */
  secret: boolean;
}

function base64Lines(text: string): string {
  const b64 = Buffer.from(text, "utf8").toString("base64");
  return (b64.match(/.{1,76}/g) ?? []).map((l) => `${l}\n`).join("");
}

/** The agent a bundle installs: the file sent beside it must have this digest. */
export interface BundleAgent {
  runtime: "node" | "linux-x64";
  digest: string;
}

export function renderBundle(files: readonly BundleFile[], agent: BundleAgent): string {
  const records = files.map(
    (f) =>
      `file ${f.mode} ${f.scheduler} ${Buffer.from(f.path, "utf8").toString("base64")}\n${base64Lines(f.content)}.\n`,
  );
  return `dxbackup-bundle 2\nagent ${agent.runtime} ${agent.digest}\n${records.join("")}end\n`;
}

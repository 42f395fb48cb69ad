import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { z } from "zod";
import type { Host, Policy } from "../components/policy/types";
import { shQuote } from "../components/render/shell";
import { repositoryUrl, resticOptions, sftpUserPerHost } from "../components/storage/repository";
import { runOverSsh } from "../components/hosts/ssh";
import { drillSummarySchema, runSummarySchema, type DrillSummary, type RunSummary } from "../shared/records";
import { hostResticEnvironment, readStackPassword } from "./stackPassword";

const execFileAsync = promisify(execFile);

/** A run known only from the recovery point it left in the repository: its status comes with the next run. */
export interface RecordedRun {
  runId: string;
  schedule: string;
  end: string;
  result: "recorded";
  failedStep: null;
  message: null;
  snapshotIds: string[];
}

/** What an agent's state directory says, as read from a host, in the record types the agent writes. */
export interface HostState {
  /** Every run the agent recorded (runs.jsonl), oldest first. */
  runs: Array<RunSummary | RecordedRun>;
  drill?: DrillSummary;
}

/**
 * Reads a host's state over SSH: runs.jsonl and drill-status.json. A host
 * with a pinned `ssh.hostKey` (required in production) must prove it, as for
 * the installer: one that presents another key is never logged in to, and
 * its "state" never read. An unpinned host is read unverified, as it is installed.
 */
export async function fetchStateOverSsh(host: Host, privateKey: string): Promise<HostState> {
  const dir = host.agent.stateDir;
  const script = `for f in ${shQuote(`${dir}/runs.jsonl`)} ${shQuote(`${dir}/drill-status.json`)}; do printf '==> %s\\n' "$f"; tail -n 2000 "$f" 2>/dev/null || true; done`;
  const command = `${host.ssh.sudo ? "sudo -n " : ""}bash -c ${shQuote(script)}`;
  const r = await runOverSsh(
    { host: host.address, port: host.ssh.port, user: host.ssh.user, privateKey, hostKey: host.ssh.hostKey },
    command,
  );
  if (r.code !== 0) throw new Error(r.stderr.trim() || `exit ${r.code}`);
  const parts = r.stdout.split(/^==> .*$/m).slice(1);
  return parseState(parts[0] ?? "", parts[1] ?? "");
}

/** Reads a host's state from a local copy of its state directory. */
export function readStateDir(dir: string): HostState {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f), "utf8");
    } catch {
      return "";
    }
  };
  return parseState(read("runs.jsonl"), read("drill-status.json"));
}

/** How the operator's machine reaches the backup repositories. */
export interface RepositoryAccess {
  /**
   * A file holding the stack's repository password (`pulumi config get --show-secrets
   * dxbackup:repositoryPassword`): each host's own password is derived from it.
   */
  passwordFile: string;
  /** For `storage.s3` without a configured `bucketName`: the bucket the stack created (`pulumi stack output bucketName`). */
  bucket?: string;
  /** restic's environment: S3 credentials (AWS_ACCESS_KEY_ID, ...), SSH agent for SFTP. */
  env?: NodeJS.ProcessEnv;
}

interface SnapshotJson {
  id: string;
  time: string;
  tags?: string[];
}

/**
 * Reads a host's state from its restic repository, without SSH to the host:
 * the run history and last drill that the newest recovery point carries
 * (the agent copies them into its record), plus the runs whose recovery
 * points are newer than that history. A run known only from its snapshot is
 * `recorded`: it produced a recovery point, and its final status arrives
 * with the next run. Read-only: restic runs with --no-lock and no cache.
 */
export async function fetchStateFromRepository(
  policy: Policy,
  host: Host,
  access: RepositoryAccess,
): Promise<HostState> {
  if (host.fileEngine === "tsm")
    throw new Error("its files go to IBM Spectrum Protect, not a restic repository: read its state with --ssh-key");
  // A bucket named in the config is known; an auto-named one only to Pulumi.
  const bucket = access.bucket ?? (policy.storage.kind === "s3" ? policy.storage.s3.bucketName : undefined);
  if (policy.storage.kind === "s3" && !bucket)
    throw new Error(
      "the storage is a bucket the stack named itself: give its name with --bucket (pulumi stack output bucketName)",
    );
  if (policy.storage.kind === "sftp" && sftpUserPerHost(policy.storage.sftp))
    throw new Error(
      "its repository opens only as its own SFTP user, with a key the stack derives and this machine does not hold: read its state with --ssh-key",
    );
  if (policy.storage.kind === "rest")
    throw new Error(
      "its repository opens only with its own rest-server user, which the stack derives and this machine does not hold: read its state with --ssh-key",
    );
  const global = [
    "-r",
    repositoryUrl(policy.storage, policy.name, host.name, bucket),
    "--no-lock",
    "--no-cache",
    // SFTP options point at files in the host's agent config dir; from here restic uses the operator's ssh.
    ...(policy.storage.kind === "sftp" ? [] : resticOptions(policy.storage, host.agent.configDir, host.name)),
  ];
  // The host's own password, derived from the stack's: it reaches restic through its environment only.
  const env = hostResticEnvironment(
    access.env ?? process.env,
    readStackPassword(access.passwordFile),
    policy,
    host.name,
  );
  const restic = async (...args: string[]) =>
    (await execFileAsync("restic", [...global, ...args], { env, maxBuffer: 64 << 20 })).stdout;
  let snapshots: SnapshotJson[];
  try {
    snapshots = JSON.parse(await restic("snapshots", "--json", "--host", host.name, "--tag", "piece:files")) ?? [];
  } catch (err) {
    throw new Error(`cannot read the repository: ${firstLine((err as { stderr?: string }).stderr ?? String(err))}`);
  }
  if (!snapshots.length) return { runs: [] };
  snapshots.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const newest = snapshots[snapshots.length - 1];
  const record = `${host.agent.stateDir}/recovery-point`;
  // A recovery point from an agent that did not carry its history yet has neither file.
  const dump = (file: string) => restic("dump", newest.id, `${record}/${file}`).catch(() => "");
  const state = parseState(await dump("runs.jsonl"), await dump("drill-status.json"));
  const known = new Set(state.runs.map((r) => r.runId));
  const tag = (s: SnapshotJson, name: string) => s.tags?.find((t) => t.startsWith(`${name}:`))?.slice(name.length + 1);
  for (const s of snapshots) {
    const runId = tag(s, "run");
    const schedule = tag(s, "schedule");
    if (!runId || !schedule || known.has(runId)) continue;
    state.runs.push({
      runId,
      schedule,
      end: new Date(s.time).toISOString(),
      result: "recorded",
      failedStep: null,
      message: null,
      snapshotIds: [s.id.slice(0, 8)],
    });
  }
  // Runs older than the history the record carries come from their snapshots: keep the order by time.
  state.runs.sort((a, b) => Date.parse(a.end) - Date.parse(b.end));
  return state;
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find(Boolean) ?? "restic failed"
  );
}

/** The host answered, but what it keeps is not what an agent writes. */
export class UnreadableState extends Error {}

/** runs.jsonl and drill-status.json as the agent wrote them; a line that is not one is an error naming it. */
function parseState(runs: string, drill: string): HostState {
  const parse = <T>(schema: z.ZodType<T>, text: string, where: string): T => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UnreadableState(`${where} is not JSON: ${text.slice(0, 80)}`);
    }
    const r = schema.safeParse(value);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new UnreadableState(`${where}: ${i.path.join(".") || "(the whole record)"}: ${i.message}`);
    }
    return r.data;
  };
  return {
    runs: runs
      .split("\n")
      .map((l, i) => [l.trim(), i + 1] as const)
      .filter(([l]) => l !== "")
      // Over SSH only the last lines are read: the number counts the lines read.
      .map(([l, n]) => parse(runSummarySchema, l, `runs.jsonl, line ${n} of those read`)),
    drill: drill.trim() ? parse(drillSummarySchema, drill, "drill-status.json") : undefined,
  };
}

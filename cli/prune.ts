import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { loadPolicy, type StackConfig } from "../components/policy/load";
import type { Host, Policy } from "../components/policy/types";
import { hostRepositoryPassword, restUser } from "../shared/hostKeys";
import { NOT_A_RECOVERY_POINT_TAG } from "../shared/records";
import { keepFlags } from "../shared/retention";
import { readStackPassword } from "./hostState";
import type { CommandResult } from "./plan/command";

export interface PruneOptions {
  stack: string;
  config: StackConfig;
  /** A file holding the stack's repositoryPassword: each host's is derived from it. */
  passwordFile: string;
  /** The rest-server's data directory (its --path): each host's repository is `<dir>/<policy>.<host>`. */
  repositories: string;
  /** The restic to run (default: restic on PATH). */
  restic?: string;
  /** Show what retention would forget; change nothing. */
  dryRun?: boolean;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

/**
 * Retention for an append-only rest-server, run where the repositories are:
 * on the storage server, as the user the rest-server runs as, with no
 * rest-server credentials at all. The hosts cannot delete a snapshot (that is
 * the point of --append-only), so this does what their agents do elsewhere,
 * with the same rules: per host and schedule `restic forget` with the
 * schedule's keep-* rules (grouped by host and paths, baselines kept), then
 * `restic prune`. First it re-tags the runs a host marked as no recovery
 * point, as the host's agent would have: they then neither take a keep-*
 * slot nor are forgotten. Safe to run again; a failure on one host does not
 * stop the others and exits 1.
 */
export async function pruneCommand(o: PruneOptions): Promise<CommandResult> {
  const policy = loadPolicy(o.config);
  const say = o.progress ?? ((line: string) => process.stderr.write(line));
  if (policy.storage.kind !== "rest")
    return usage(
      `storage.${policy.storage.kind}: each host prunes its own repository; dxbackup prune is for storage.rest, whose hosts cannot delete`,
    );
  if (!policy.storage.rest.appendOnly)
    say(`dxbackup prune: storage.rest.appendOnly is false: the hosts apply retention themselves too\n`);
  if (!existsSync(o.repositories) || !statSync(o.repositories).isDirectory())
    return usage(`--repositories ${o.repositories} is not a directory: give the rest-server's --path`);
  const stackPassword = readStackPassword(o.passwordFile);
  const lines: string[] = [];
  let failed = false;
  for (const host of policy.hosts.filter((h) => h.fileEngine === "restic")) {
    const result = await pruneHost(policy, host, stackPassword, o, say);
    lines.push(`${host.name}: ${result.message}\n`);
    failed ||= !result.ok;
  }
  return { stdout: lines.join(""), stderr: "", exitCode: failed ? 1 : 0 };
}

function usage(message: string): CommandResult {
  return { stdout: "", stderr: `dxbackup prune: ${message}\n`, exitCode: 2 };
}

async function pruneHost(
  policy: Policy,
  host: Host,
  stackPassword: string,
  o: PruneOptions,
  say: (line: string) => void,
): Promise<{ ok: boolean; message: string }> {
  const repo = path.join(o.repositories, restUser(policy.name, host.name));
  if (!existsSync(path.join(repo, "config"))) return { ok: true, message: `no repository at ${repo} yet` };
  // Files restic writes belong to whoever runs it: root's would lock the rest-server out.
  const owner = statSync(repo).uid;
  if (process.geteuid && owner !== process.geteuid())
    return {
      ok: false,
      message: `${repo} belongs to uid ${owner}, the rest-server's user: run dxbackup prune as that user, so that what restic writes stays readable to the server`,
    };
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: repo,
    RESTIC_PASSWORD: hostRepositoryPassword(stackPassword, policy.name, host.name),
  };
  const restic = async (what: string, args: string[]): Promise<string> => {
    say(`${host.name}: restic ${what}\n`);
    const r = await run(o.restic ?? "restic", args, env);
    if (r.code !== 0) throw new Error(`restic ${what} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
    return r.stdout;
  };
  try {
    const markers = JSON.parse(
      await restic("snapshots (markers)", ["snapshots", "--json", "--tag", NOT_A_RECOVERY_POINT_TAG]),
    ) as Array<{ tags?: string[] }> | null;
    for (const m of markers ?? []) {
      const tag = (name: string) => m.tags?.find((t) => t.startsWith(`${name}:`))?.slice(name.length + 1);
      const [run, schedule] = [tag("run"), tag("failed-schedule")];
      if (!run || !schedule || o.dryRun) continue;
      await restic(`tag (run ${run} is no recovery point)`, [
        "tag",
        "--tag",
        `run:${run}`,
        "--add",
        NOT_A_RECOVERY_POINT_TAG,
        "--add",
        `failed-schedule:${schedule}`,
        "--remove",
        `schedule:${schedule}`,
      ]);
    }
    for (const s of policy.schedules.filter((x) => x.kind === "backup" && x.hosts.includes(host.name))) {
      const keep = keepFlags(s.retention);
      if (!keep.length) continue;
      await restic(`forget (schedule ${s.name}: ${keep.join(" ")})`, [
        "forget",
        "--host",
        host.name,
        "--tag",
        `schedule:${s.name}`,
        "--group-by",
        "host,paths",
        "--keep-tag",
        "baseline",
        ...keep,
        ...(o.dryRun ? ["--dry-run"] : []),
      ]);
    }
    if (o.dryRun) return { ok: true, message: "dry run: nothing was changed" };
    await restic("prune", ["prune"]);
    const left = JSON.parse(await restic("snapshots", ["snapshots", "--json"])) as unknown[] | null;
    return { ok: true, message: `retention applied and pruned: ${(left ?? []).length} snapshot(s) kept` };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? "no output"
  );
}

/** restic's output, collected; its stderr (progress, errors) is collected too, never shown raw. */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => err.push(Buffer.from(`${e.message}\n`)));
    child.on("close", (code) =>
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

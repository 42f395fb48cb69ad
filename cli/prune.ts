import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { loadPolicy, type StackConfig } from "../components/policy/load";
import type { Host, Policy } from "../components/policy/types";
import { restUser } from "../shared/hostKeys";
import { disownTagArgs, NOT_A_RECOVERY_POINT_TAG } from "../shared/records";
import { forgetArgs, keepFlags } from "../shared/retention";
import { hostResticEnvironment, readStackPassword } from "./stackPassword";
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
  let found = 0;
  for (const host of policy.hosts.filter((h) => h.fileEngine === "restic")) {
    const result = await pruneHost(policy, host, stackPassword, o, say);
    lines.push(`${host.name}: ${result.message}\n`);
    failed ||= !result.ok;
    if (!result.message.startsWith("no repository at")) found++;
  }
  // A wrong --repositories looks like a stack no host has backed up yet: say so, and fail.
  const none =
    found === 0
      ? `dxbackup prune: no repository of ${policy.name} under ${o.repositories}: is it the rest-server's --path?\n`
      : "";
  return { stdout: lines.join(""), stderr: none, exitCode: failed || none ? 1 : 0 };
}

function usage(message: string): CommandResult {
  return { stdout: "", stderr: `dxbackup prune: ${message}\n`, exitCode: 2 };
}

/** A run never takes longer: a snapshot whose file was written later than this after its claimed time was not made then. */
const LONGEST_RUN_MS = 48 * 3600_000;
/** Clocks of the host and the storage server may differ by this much. */
const CLOCK_SKEW_MS = 10 * 60_000;

interface SnapshotJson {
  id: string;
  time: string;
  tags?: string[] | null;
}

async function pruneHost(
  policy: Policy,
  host: Host,
  stackPassword: string,
  o: PruneOptions,
  say: (line: string) => void,
): Promise<{ ok: boolean; message: string }> {
  const repo = path.join(o.repositories, restUser(policy.name, host.name));
  // Only a repository that is not there yet is no error: one this user cannot see into is.
  let owner: number;
  try {
    statSync(path.join(repo, "config"));
    owner = statSync(repo).uid;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? { ok: true, message: `no repository at ${repo} yet` }
      : { ok: false, message: `cannot read ${repo} (${code}): run dxbackup prune as the rest-server's user` };
  }
  // Files restic writes belong to whoever runs it: root's would lock the rest-server out.
  if (process.geteuid && owner !== process.geteuid())
    return {
      ok: false,
      message: `${repo} belongs to uid ${owner}, the rest-server's user: run dxbackup prune as that user, so that what restic writes stays readable to the server`,
    };
  const env = { ...hostResticEnvironment(process.env, stackPassword, policy, host.name), RESTIC_REPOSITORY: repo };
  const restic = async (what: string, args: string[]): Promise<string> => {
    say(`${host.name}: restic ${what}\n`);
    const r = await run(o.restic ?? "restic", args, env);
    if (r.code !== 0) throw new Error(`restic ${what} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
    return r.stdout;
  };
  try {
    const all = (JSON.parse(await restic("snapshots", ["snapshots", "--json"])) ?? []) as SnapshotJson[];
    const tag = (s: SnapshotJson, name: string) =>
      s.tags?.find((t) => t.startsWith(`${name}:`))?.slice(name.length + 1);
    // The host holds its repository's key: it can add snapshots claiming any time, so that
    // keep-daily and friends keep its fakes and forget the real ones. The server's file times
    // are the server's: a claimed time they contradict stops this host's retention.
    const written = (s: SnapshotJson) => statSync(path.join(repo, "snapshots", s.id)).mtimeMs;
    const forged = all
      .filter((s) => tag(s, "schedule"))
      .map((s) => ({ s, written: written(s), claimed: Date.parse(s.time) }))
      .filter((f) => f.claimed > f.written + CLOCK_SKEW_MS || f.written - f.claimed > LONGEST_RUN_MS);
    if (forged.length)
      return {
        ok: false,
        message: `nothing was forgotten: snapshot(s) ${forged.map((f) => `${f.s.id.slice(0, 8)} (claims ${f.s.time}, written ${new Date(f.written).toISOString()})`).join(", ")} claim a time their files on this server contradict. The host may have planted them to push real recovery points out of retention: inspect them (restic snapshots, restic ls), remove what you did not take with restic forget <id>, then run dxbackup prune again`,
      };
    // A run its host marked as no recovery point, re-tagged as its agent would have where it
    // can delete: it then takes no keep-* slot and is never forgotten. Done runs are skipped.
    let unmarked = 0;
    for (const m of all.filter((s) => s.tags?.includes(NOT_A_RECOVERY_POINT_TAG))) {
      const [runId, schedule] = [tag(m, "run"), tag(m, "failed-schedule")];
      if (!runId || !schedule) continue;
      if (!all.some((s) => tag(s, "run") === runId && s.tags?.includes(`schedule:${schedule}`))) continue;
      if (o.dryRun) {
        say(`${host.name}: would mark run ${runId} as no recovery point\n`);
        unmarked++;
        continue;
      }
      await restic(`tag (run ${runId} is no recovery point)`, disownTagArgs(runId, schedule));
    }
    let forgotten = 0;
    for (const s of policy.schedules.filter((x) => x.kind === "backup" && x.hosts.includes(host.name))) {
      const keep = keepFlags(s.retention);
      if (!keep.length) continue;
      const out = await restic(`forget (schedule ${s.name}: ${keep.join(" ")})`, [
        ...forgetArgs(host.name, s.name, s.retention),
        "--json",
        ...(o.dryRun ? ["--dry-run"] : []),
      ]);
      for (const group of (JSON.parse(out) ?? []) as Array<{ remove?: SnapshotJson[] | null }>) {
        for (const r of group.remove ?? []) {
          say(`${host.name}: ${o.dryRun ? "would forget" : "forgot"} ${r.id.slice(0, 8)} (${s.name}, ${r.time})\n`);
          forgotten++;
        }
      }
    }
    if (o.dryRun)
      return {
        ok: true,
        message: `dry run: would forget ${forgotten} snapshot(s); nothing was changed${unmarked ? ` (the ${unmarked} run(s) to mark as no recovery point still count in the dry run's keep rules: the real run keeps other snapshots)` : ""}`,
      };
    await restic("prune", ["prune"]);
    const left = (JSON.parse(await restic("snapshots", ["snapshots", "--json"])) ?? []) as unknown[];
    return { ok: true, message: `retention applied and pruned: forgot ${forgotten}, kept ${left.length} snapshot(s)` };
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

// Agent benchmarks, all measured in one run on one generated Portal-like tree:
//  1. raw `restic backup` vs the agent's `run` of the same paths (the agent's overhead);
//  2. a second run after changing 1% of the files (must reuse the parent snapshot), then runs
//     with nothing changed (the fixed cost of a run; medians of alternating rounds);
//  3. `tar -cf - | cat >/dev/null` over the same tree: the read-speed floor.
// Prints seconds and ratios; no pass/fail (targets: overhead < 5%, re-run < 10% of the first).
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseCronFile, runCronJob } from "../cli/local/cron";
import { installLocally } from "../cli/local/shell";
import { createPortalTree } from "../cli/local/portalTree";
import { hostFiles } from "../components/hosts/hostFiles";
import { agentArtifact } from "../components/render/agentArtifact";
import { loadPolicy } from "../components/policy/load";
import { TARGETS } from "../components/policy/schema";
import { targetPaths } from "../components/policy/targets";

const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? 50_000);
const LARGE_FILES = Number(process.env.BENCH_LARGE_FILES ?? 88);
const LARGE_SIZE = 8 * 1024 * 1024;
const UNCHANGED_ROUNDS = Number(process.env.BENCH_UNCHANGED_ROUNDS ?? 5);
const FIRST_ROUNDS = Number(process.env.BENCH_FIRST_ROUNDS ?? 5);

function seconds<T>(fn: () => T): [number, T] {
  const t = performance.now();
  const out = fn();
  return [(performance.now() - t) / 1000, out];
}

async function secondsAsync<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const out = await fn();
  return [(performance.now() - t) / 1000, out];
}

/** Writes back what the previous round left dirty (a 1 GiB repository or restore), so each timing starts even. */
const flush = () => execFileSync("sync");

/** The median of agent[i] / raw[i]: each pair ran back to back, in alternating order. */
const pairedRatio = (agent: number[], raw: number[]) => median(agent.map((a, i) => a / raw[i]));
const pctRatio = (r: number) => `${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(1)}%`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchAgent(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), "dxb-bench-"));
  try {
    process.stdout.write(`generating a Portal-like tree (${SMALL_FILES} small files, ${LARGE_FILES} x 8 MiB) ... `);
    const [genSeconds, layout] = seconds(() =>
      createPortalTree(path.join(root, "host"), {
        smallFiles: SMALL_FILES,
        largeFiles: LARGE_FILES,
        largeFileSize: LARGE_SIZE,
      }),
    );
    console.log(`${genSeconds.toFixed(1)} s`);

    const agentDir = path.join(root, "agent");
    const values: Record<string, string> = {
      "dxbackup:environment": "bench",
      "dxbackup:storage": JSON.stringify({ filesystem: { path: path.join(root, "repos") } }),
      "dxbackup:hosts": JSON.stringify([
        {
          name: "portal-1",
          address: "127.0.0.1",
          roots: { portalServer: layout.portalServer, wpProfile: layout.wpProfile, appServer: layout.appServer },
          iim: { installDir: layout.iimInstall, agentDataDir: layout.iimAgentData, sharedDir: layout.iimShared },
          customPaths: [{ name: "ssl", path: layout.ssl }],
          agent: {
            installDir: `${agentDir}/opt`,
            configDir: `${agentDir}/etc`,
            stateDir: `${agentDir}/var`,
            systemdDir: `${agentDir}/systemd`,
            cronDir: `${agentDir}/cron.d`,
            scheduler: "cron",
          },
        },
      ]),
      "dxbackup:schedules": JSON.stringify([{ name: "nightly", cron: "0 2 * * *" }]),
      "dxbackup:retention": JSON.stringify({ keepDaily: 7, keepWeekly: 4 }),
      "dxbackup:repositoryPassword": "bench",
      "dxbackup:sshPrivateKey": "unused",
    };
    const policy = loadPolicy({
      values,
      secretKeys: new Set(["dxbackup:repositoryPassword", "dxbackup:sshPrivateKey"]),
    });
    const host = policy.hosts[0];
    const sources = [...new Set(TARGETS.flatMap((t) => targetPaths(host, t)))];
    const files = Number(
      execFileSync("bash", ["-c", 'find "$@" -type f | wc -l', "find", ...sources], { encoding: "utf8" }),
    );
    const bytes = Number(
      execFileSync("du", ["-sb", "--total", ...sources], { encoding: "utf8" })
        .trim()
        .split("\n")
        .pop()
        ?.split("\t")[0],
    );
    console.log(`tree: ${files} files, ${(bytes / 2 ** 30).toFixed(2)} GiB in ${sources.length} paths`);

    // The read floor (this also warms the page cache for everything after it).
    const [tarSeconds] = seconds(() =>
      execFileSync("bash", ["-c", 'tar -cf - "$@" 2>/dev/null | cat >/dev/null', "tar", ...sources]),
    );

    // Raw restic: init, then backup, with the same paths and excludes the agent uses.
    const rawRepo = path.join(root, "raw-repo");
    const env = { ...process.env, RESTIC_PASSWORD: "bench", RESTIC_CACHE_DIR: path.join(root, "raw-cache") };
    const restic = (...args: string[]) => execFileSync("restic", ["-r", rawRepo, ...args], { env, stdio: "ignore" });
    const excludes = host.excludes.flatMap((e) => ["--exclude", e]);
    const keep = ["--keep-daily", "7", "--keep-weekly", "4"];
    const rawRun = () => {
      const [backup] = seconds(() => restic("backup", "--host", "portal-1", ...excludes, "--", ...sources));
      const [forget] = seconds(() => restic("forget", "--host", "portal-1", "--group-by", "host", ...keep));
      return { backup, forget };
    };
    /** A first run from nothing: init (its key derivation calibrates itself, ±0.5 s), backup, forget. */
    const rawFirstRun = () => {
      rmSync(rawRepo, { recursive: true, force: true });
      rmSync(env.RESTIC_CACHE_DIR, { recursive: true, force: true });
      flush();
      const [init] = seconds(() => restic("init"));
      return { init, ...rawRun() };
    };

    // The agent, installed with the real installer, run the way its cron entry runs it.
    const agent = agentArtifact("node");
    await installLocally(
      policy,
      host,
      hostFiles(policy, host, `${path.join(root, "repos")}/${policy.name}/portal-1`, {
        repositoryPassword: "bench",
        storageEnvironment: {},
      }),
      agent,
    );
    const entry = parseCronFile(readFileSync(path.join(host.agent.cronDir, `dxbackup-${policy.name}`), "utf8"))[0];
    // The agent and its --config, as the cron line runs them.
    const entryAgent = [
      path.join(host.agent.installDir, "bin", "dxbackup-agent"),
      "--config",
      path.join(host.agent.configDir, "agent.json"),
    ];
    let lastStatus: { restic: { processes: number; seconds: number }; snapshotIds: string[] } = {
      restic: { processes: 0, seconds: 0 },
      snapshotIds: [],
    };
    const agentRun = async () => {
      const r = await runCronJob(entry).done;
      if (r.code !== 0)
        throw new Error(`agent run failed: ${readFileSync(path.join(host.agent.stateDir, "last-run.log"), "utf8")}`);
      lastStatus = JSON.parse(readFileSync(path.join(host.agent.stateDir, "status.json"), "utf8"));
      return lastStatus as ReturnType<typeof JSON.parse>;
    };
    // First runs: an empty repository each time, alternating raw and agent; medians, as for re-runs.
    const agentFirstRun = () => {
      rmSync(path.join(root, "repos"), { recursive: true, force: true });
      for (const f of ["repository-initialized", "cache", "runs.jsonl", "status.json", "last-prune"])
        rmSync(path.join(host.agent.stateDir, f), { recursive: true, force: true });
      // A first run after an install: no code cache yet (it compiles the agent and writes one).
      rmSync(path.join(host.agent.installDir, "bin", ".dxbackup-agent.v8cache"), { force: true });
      flush();
      return secondsAsync(agentRun);
    };
    // restic init calibrates its key derivation to the machine of the moment, and on this machine
    // one init's parameters cost up to 1.7x another's (scrypt p=3 or p=5): every later restic process
    // pays that once. A round counts only when both inits chose the same parameters, so the ratio
    // measures the agent, not the calibration.
    const agentRepo = path.join(root, "repos", policy.name, "portal-1");
    const keyParams = (repo: string) =>
      readdirSync(path.join(repo, "keys"))
        .map((f) => {
          const k = JSON.parse(readFileSync(path.join(repo, "keys", f), "utf8"));
          return `${k.kdf} N=${k.N} r=${k.r} p=${k.p}`;
        })
        .join(", ");
    const rawFirsts: Array<{ init: number; backup: number; forget: number }> = [];
    const agentFirsts: Array<[number, ReturnType<typeof JSON.parse>]> = [];
    let redone = 0;
    let mismatched = 0;
    const roundKeys: string[] = [];
    while (rawFirsts.length < FIRST_ROUNDS) {
      // Who goes first alternates too: the second of a pair finds the caches the first one warmed.
      const agentFirstOfRound = rawFirsts.length % 2 === 1;
      const agentRound = agentFirstOfRound ? await agentFirstRun() : undefined;
      const rawRound = rawFirstRun();
      const agentRound2 = agentRound ?? (await agentFirstRun());
      if (keyParams(rawRepo) !== keyParams(agentRepo)) {
        if (redone < 4 * FIRST_ROUNDS) {
          redone++;
          continue;
        }
        mismatched++;
      }
      rawFirsts.push(rawRound);
      agentFirsts.push(agentRound2);
      roundKeys.push(keyParams(agentRepo));
    }
    const rawFirst = {
      init: median(rawFirsts.map((r) => r.init)),
      backup: median(rawFirsts.map((r) => r.backup)),
      forget: median(rawFirsts.map((r) => r.forget)),
    };
    const rawInitSeconds = rawFirst.init;
    const rawFirstTotal = median(rawFirsts.map((r) => r.init + r.backup + r.forget));
    const agentFirst = median(agentFirsts.map(([t]) => t));
    // Each agent run against the raw run of the same round (the machine drifts; neighbours share its state).
    const pairedFirst = pairedRatio(
      agentFirsts.map(([t]) => t),
      rawFirsts.map((r) => r.init + r.backup + r.forget),
    );
    // The repository of the last round goes on to the later runs.
    const firstStatus = agentFirsts[agentFirsts.length - 1][1];

    // From here on, raw restic works on a copy of the agent's repository and cache: the same key
    // parameters, the same data, the agent's snapshot as its parent.
    const laterKeys = keyParams(agentRepo);
    rmSync(rawRepo, { recursive: true, force: true });
    rmSync(env.RESTIC_CACHE_DIR, { recursive: true, force: true });
    cpSync(agentRepo, rawRepo, { recursive: true });
    cpSync(path.join(host.agent.stateDir, "cache"), env.RESTIC_CACHE_DIR, { recursive: true });
    flush();

    // Change 1% of the small files, then run both again.
    const changed = Math.max(1, Math.floor(SMALL_FILES / 100));
    const smallFiles = execFileSync(
      "bash",
      ["-c", `find "$1" -name 'res-*' -type f | sort | head -n ${changed}`, "find", layout.wpProfile],
      { encoding: "utf8" },
    )
      .trim()
      .split("\n");
    for (const f of smallFiles) appendFileSync(f, `changed ${Date.now()}\n`);
    const rawSecond = rawRun();
    const [agentSecond, secondStatus] = await secondsAsync(agentRun);
    // Then with nothing changed: the fixed cost of a run. A re-run takes seconds, so
    // single timings are noisy (±7% here); alternate raw and agent and take medians.
    const rawUnchanged: Array<{ backup: number; forget: number }> = [];
    const agentUnchanged: number[] = [];
    // Everything but restic in each run (the cron shell, Node's start, the agent, the product tools): its wall time minus the time its restic processes ran.
    const agentOwn: number[] = [];
    const agentUnchangedRun = async () => {
      const [t, status] = await secondsAsync(agentRun);
      agentUnchanged.push(t);
      agentOwn.push(t - status.restic.seconds);
    };
    for (let i = 0; i < UNCHANGED_ROUNDS; i++) {
      if (i % 2) await agentUnchangedRun();
      rawUnchanged.push(rawRun());
      if (!(i % 2)) await agentUnchangedRun();
    }
    const rawThird = {
      backup: median(rawUnchanged.map((r) => r.backup)),
      forget: median(rawUnchanged.map((r) => r.forget)),
    };
    const rawThirdTotal = median(rawUnchanged.map((r) => r.backup + r.forget));
    const agentThird = median(agentUnchanged);
    const pairedThird = pairedRatio(
      agentUnchanged,
      rawUnchanged.map((r) => r.backup + r.forget),
    );

    const pct = (a: number, b: number) => `${a >= b ? "+" : ""}${((a / b - 1) * 100).toFixed(1)}%`;
    const row = (name: string, s: number, note: string) =>
      console.log(`${name.padEnd(46)} ${s.toFixed(2).padStart(7)} s   ${note}`);
    const rawSecondTotal = rawSecond.backup + rawSecond.forget;
    console.log("");
    console.log(
      `agent benchmark (restic ${execFileSync("restic", ["version"], { encoding: "utf8" }).split(" ")[1]}, repositories on local disk, warm page cache)`,
    );
    row("tar -cf - | cat >/dev/null  (read floor)", tarSeconds, `${(bytes / 2 ** 20 / tarSeconds).toFixed(0)} MiB/s`);
    console.log(`first run (empty repository; median of ${FIRST_ROUNDS} alternating runs):`);
    row("  raw restic init", rawInitSeconds, "");
    row("  raw restic backup", rawFirst.backup, `${(rawFirst.backup / tarSeconds).toFixed(1)}x the read floor`);
    row("  raw restic forget (same --keep-*)", rawFirst.forget, "");
    row(
      "  agent run (init + backup + forget + status)",
      agentFirst,
      `vs raw init+backup+forget ${pct(agentFirst, rawFirstTotal)} (paired ${pctRatio(pairedFirst)}); vs raw init+backup ${pct(agentFirst, rawInitSeconds + rawFirst.backup)}`,
    );
    console.log(
      `  key parameters of the counted rounds: ${roundKeys.join("; ")} (${redone} round(s) redone because the two inits calibrated differently` +
        (mismatched ? `; ${mismatched} counted with different parameters after all` : "") +
        `); later runs: ${laterKeys}`,
    );
    const firstOwn = median(agentFirsts.map(([t, status]) => t - status.restic.seconds));
    console.log(
      `  everything but restic in an agent first run: ${firstOwn.toFixed(2)} s = ${((firstOwn / rawFirstTotal) * 100).toFixed(1)}% of raw init+backup+forget`,
    );
    const rerun = (title: string, raw: { backup: number; forget: number }, rawTotal: number, agent: number) => {
      console.log(title);
      row(
        "  raw restic backup",
        raw.backup,
        `${((raw.backup / rawFirst.backup) * 100).toFixed(1)}% of the first backup`,
      );
      row("  raw restic forget", raw.forget, "");
      row(
        "  agent run",
        agent,
        `${((agent / agentFirst) * 100).toFixed(1)}% of the first run; vs raw backup+forget ${pct(agent, rawTotal)}; vs raw backup ${pct(agent, raw.backup)}`,
      );
    };
    rerun("second run, 1% of the files changed:", rawSecond, rawSecondTotal, agentSecond);
    rerun(`nothing changed (median of ${UNCHANGED_ROUNDS} alternating runs):`, rawThird, rawThirdTotal, agentThird);
    console.log(`  paired: agent vs the raw run of its round ${pctRatio(pairedThird)}`);
    const own = median(agentOwn);
    console.log(
      `  everything but restic in an agent run (its wall time minus the time its restic processes ran; less noisy than the ratios): ${own.toFixed(2)} s = ${((own / rawThirdTotal) * 100).toFixed(1)}% of raw backup+forget`,
    );
    console.log(
      `agent runs: first ${firstStatus.files} files, ${(firstStatus.bytesAdded / 2 ** 20).toFixed(0)} MiB added; second ${secondStatus.filesChanged} files changed, ${(secondStatus.bytesAdded / 2 ** 20).toFixed(1)} MiB added (the parent snapshot was reused)`,
    );
    // Each restic process that opens the repository pays a key derivation: count them.
    console.log(
      `restic processes per run: agent first ${firstStatus.restic.processes}, second ${secondStatus.restic.processes}, unchanged ${lastStatus.restic.processes}; raw backup+forget 2`,
    );
    console.log(
      `agent peak RSS: ${(Math.max(firstStatus.agentPeakRssBytes, secondStatus.agentPeakRssBytes) / 2 ** 20).toFixed(0)} MiB during the ${firstStatus.files}-file runs (target <= 150 MiB; restic's own not included)`,
    );

    // Restore of the whole tree: the agent's restore into a directory vs raw restic restore of the same data.
    // The same snapshot from the same repository, with the same cache: the agent's latest recovery point.
    const rawTarget = path.join(root, "raw-restore");
    const agentTarget = path.join(root, "agent-restore");
    // A host without database pieces: the run's one snapshot is its files snapshot.
    const latestPoint = lastStatus.snapshotIds[0];
    const sameSnapshot = () =>
      execFileSync(
        "restic",
        ["-r", `${path.join(root, "repos")}/${policy.name}/portal-1`, "restore", latestPoint, "--target", rawTarget],
        { env: { ...env, RESTIC_CACHE_DIR: path.join(host.agent.stateDir, "cache") }, stdio: "ignore" },
      );
    // An administrator's root shell on a Portal host: this machine's NODE_* settings (an extra CA
    // bundle that Node parses at every start, 70 ms here) are not the host's.
    const operatorEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NODE_"))),
      // The same `node` the scheduled runs found (their code cache is for that Node).
      PATH: entry.env.PATH ?? "/usr/bin:/bin",
    };
    const rawRestores: number[] = [];
    const agentRestores: number[] = [];
    for (let i = 0; i < FIRST_ROUNDS; i++) {
      rmSync(rawTarget, { recursive: true, force: true });
      rmSync(agentTarget, { recursive: true, force: true });
      const agentRestoreRun = () => {
        flush();
        const [t, out] = seconds(() =>
          spawnSync(entryAgent[0], [...entryAgent.slice(1), "restore", "latest", "--target", agentTarget], {
            encoding: "utf8",
            env: operatorEnv,
          }),
        );
        if (out.status !== 0) throw new Error(`agent restore failed: ${out.stderr}`);
        agentRestores.push(t);
      };
      if (i % 2) agentRestoreRun();
      flush();
      rawRestores.push(seconds(sameSnapshot)[0]);
      if (!(i % 2)) agentRestoreRun();
    }
    const rawRestore = median(rawRestores);
    const agentRestore = median(agentRestores);
    const pairedRestore = pairedRatio(agentRestores, rawRestores);
    console.log(`whole-tree restore into an empty directory (median of ${FIRST_ROUNDS} alternating runs):`);
    row(`  raw restic restore ${latestPoint} (the same snapshot)`, rawRestore, "");
    row(
      "  agent restore latest --target",
      agentRestore,
      `vs raw ${pct(agentRestore, rawRestore)} (paired ${pctRatio(pairedRestore)})`,
    );
    console.log(
      "paired: the median of each agent timing over the raw timing of its round, run back to back in alternating order (the targets are <= +5.0%)",
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchAgent().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

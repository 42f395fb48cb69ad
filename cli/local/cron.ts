import { spawn } from "node:child_process";

export interface CronEntry {
  cron: string;
  user: string;
  /** The command text, exactly as cron hands it to the shell. */
  command: string;
  /** Variables set above the line (SHELL, PATH, CRON_TZ). */
  env: Record<string, string>;
}

/** The job lines of a cron.d file with the variables in effect for each. */
export function parseCronFile(text: string): CronEntry[] {
  const env: Record<string, string> = {};
  const entries: CronEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trimStart().startsWith("#")) continue;
    const assignment = /^([A-Z_]+)=(.*)$/.exec(line);
    if (assignment) {
      env[assignment[1]] = assignment[2];
      continue;
    }
    const m = /^(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`not a cron.d job line: ${line}`);
    entries.push({ cron: m[1], user: m[2], command: m[3], env: { ...env } });
  }
  return entries;
}

export interface JobResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs a job the way cron does: its SHELL with -c, cron's minimal environment, no terminal. */
export function runCronJob(
  entry: CronEntry,
  extraEnv: Record<string, string> = {},
): { pid: number; done: Promise<JobResult> } {
  const child = spawn(entry.env.SHELL ?? "/bin/sh", ["-c", entry.command], {
    env: {
      HOME: "/root",
      LOGNAME: entry.user,
      PATH: entry.env.PATH ?? "/usr/bin:/bin",
      SHELL: entry.env.SHELL ?? "/bin/sh",
      ...extraEnv,
    },
    stdio: "ignore",
    // Its own process group, as under cron: a test can kill the whole job.
    detached: true,
  });
  const done = new Promise<JobResult>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { pid: child.pid ?? -1, done };
}

import { lstatSync } from "node:fs";
import type { HostConfig } from "../../shared/hostConfig";
import { run, type CommandResult } from "../exec";

/**
 * IBM Spectrum Protect as a host's file-system engine (fileEngine: tsm): the
 * same run and record, `dsmc incremental` (or `dsmc archive` for a baseline)
 * instead of restic. Retention is the server's management class.
 */
export function dsmc(config: HostConfig, args: string[], logFile?: string): Promise<CommandResult> {
  return run(config.tsm.dsmc, [...args, ...config.tsm.options], { logFile });
}

/** dsmc file specifications: a directory ends in '/'. */
export function tsmSpecs(paths: string[]): string[] {
  return paths.map((p) => {
    try {
      const st = lstatSync(p);
      return st.isDirectory() ? `${p.replace(/\/+$/, "")}/` : p;
    } catch {
      return p;
    }
  });
}

/** The counts dsmc prints at the end ("Total number of objects inspected: 1,234"). */
export function tsmCounts(out: string): { inspected?: number; stored?: number } {
  const num = (s?: string) => (s === undefined ? undefined : Number(s.replace(/,/g, "")));
  return {
    inspected: num(/Total number of objects inspected: *([0-9,]+)/.exec(out)?.[1]),
    stored: num(/Total number of objects (?:backed up|archived): *([0-9,]+)/.exec(out)?.[1]),
  };
}

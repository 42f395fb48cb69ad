import { existsSync, readFileSync } from "node:fs";
import type { AgentContext } from "./context";

/**
 * `status`: the last run's and the last drill's status as one JSON line,
 * `{"lastRun":…,"lastDrill":…}` (`{}` and `null` when there is none yet),
 * without its newline (the caller prints it). The files are embedded as they
 * are (the agent published them whole); one that is not JSON counts as
 * absent, so the line always parses.
 */
export function statusCommand(ctx: AgentContext): string {
  const last = embedded(ctx.state.status) ?? "{}";
  const drill = embedded(ctx.state.drillStatus) ?? "null";
  return `{"lastRun":${last},"lastDrill":${drill}}`;
}

function embedded(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8").trim();
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return text;
}

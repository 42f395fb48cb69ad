import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { HostConfig } from "../shared/hostConfig";
import type { DrillStatus, RunStatus } from "../shared/records";
import type { AgentContext } from "./context";
import type { Logger } from "./log";

/**
 * Alerts that reach a person without anyone reading status files:
 *  - a healthchecks-style ping per host and schedule (`<url>/<slug>/start`, `<url>/<slug>`,
 *    `<url>/<slug>/fail`): the receiver also notices a run that did not happen when due;
 *  - a webhook (JSON POST) for a failed or partial run and a failed drill, sent by the `alert`
 *    verb that the scheduler runs when the job fails (systemd OnFailure=, the cron line's `||`),
 *    so that a run that crashed before it could say anything is reported too.
 * The URLs carry tokens: they are read from secret files and never logged.
 */

const TIMEOUT_MS = 10_000;

function readUrl(file?: string): string | undefined {
  if (!file) return undefined;
  const url = readFileSync(file, "utf8").trim();
  return url || undefined;
}

/** fetch refuses URLs with user:password@: those go into an Authorization header. */
export function request(url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (!u.username && !u.password) return { url, headers: {} };
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64");
  u.username = "";
  u.password = "";
  return { url: u.toString(), headers: { authorization: `Basic ${auth}` } };
}

/** The check's slug: one per host and schedule. */
export function pingSlug(config: HostConfig, schedule: string): string {
  return `dxbackup-${config.policy}-${config.host}-${schedule}`;
}

export async function ping(
  config: HostConfig,
  log: Logger,
  schedule: string,
  what: "start" | "success" | "fail",
  body = "",
): Promise<void> {
  const base = readUrl(config.alerts.pingUrlFile);
  if (!base) return;
  try {
    const { url, headers } = request(
      `${base.replace(/\/+$/, "")}/${pingSlug(config, schedule)}${what === "success" ? "" : `/${what}`}`,
    );
    const r = await fetch(url, {
      method: "POST",
      headers,
      body: body.slice(0, 10_000),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!r.ok) log.warn("alert-failed", `the ping (${what}) was answered with HTTP ${r.status}`);
  } catch (e) {
    log.warn("alert-failed", `the ping (${what}) could not be sent: ${(e as Error).name}`);
  }
}

export interface AlertBody {
  source: "dx-backup";
  event: "run-failed" | "run-partial" | "drill-failed" | "run-crashed";
  policy: string;
  environment: string;
  host: string;
  schedule: string;
  runId: string | null;
  result: string;
  failedStep: string | null;
  message: string;
  time: string;
}

export async function webhook(config: HostConfig, log: Logger, body: AlertBody): Promise<boolean> {
  const url = readUrl(config.alerts.webhookUrlFile);
  if (!url) return true;
  try {
    const target = request(url);
    const r = await fetch(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...target.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (r.ok) return true;
    log.warn("alert-failed", `the webhook answered HTTP ${r.status}`);
  } catch (e) {
    log.warn("alert-failed", `the webhook could not be reached: ${(e as Error).name}`);
  }
  return false;
}

/** Marks the start of a run of SCHEDULE, so that `alert` can tell a crashed run from a finished one. */
export function markStarted(ctx: AgentContext, schedule: string, runId: string): void {
  writeFileSync(`${ctx.state.dir}/started-${schedule}`, `${runId}\n`);
}

/**
 * `alert SCHEDULE [EXIT]`: run by the scheduler when the job failed. Reports
 * the schedule's last status if this run wrote one, else that it crashed.
 * Exits with EXIT, so the job keeps the run's exit status.
 */
export async function alertCommand(ctx: AgentContext, schedule: string, exit?: number): Promise<number> {
  const { config, state, log } = ctx;
  // 75: another run held the lock (an hourly run during the nightly offline window): not a failure to page for.
  if (exit === 75) return exit;
  const kind = config.schedules[schedule]?.kind ?? "backup";
  const base = {
    source: "dx-backup" as const,
    policy: config.policy,
    environment: config.environment,
    host: config.host,
    schedule,
    time: new Date().toISOString(),
  };
  let body: AlertBody;
  if (kind === "drill" && existsSync(state.drillStatus)) {
    const d = JSON.parse(readFileSync(state.drillStatus, "utf8")) as DrillStatus;
    body = {
      ...base,
      event: "drill-failed",
      runId: d.drill,
      result: d.result,
      failedStep: d.failedStep,
      message: d.message ?? "the drill failed",
    };
  } else {
    const started = existsSync(`${state.dir}/started-${schedule}`)
      ? readFileSync(`${state.dir}/started-${schedule}`, "utf8").trim()
      : "";
    const status = existsSync(state.statusOf(schedule))
      ? (JSON.parse(readFileSync(state.statusOf(schedule), "utf8")) as RunStatus)
      : undefined;
    if (status && status.runId === started && status.result !== "success") {
      body = {
        ...base,
        event: status.result === "partial" ? "run-partial" : "run-failed",
        runId: status.runId,
        result: status.result,
        failedStep: status.failedStep,
        message: status.message ?? "",
      };
    } else {
      body = {
        ...base,
        event: "run-crashed",
        runId: started || null,
        result: "failed",
        failedStep: null,
        message: `the run of ${schedule} ended${exit === undefined ? "" : ` with exit status ${exit}`} without recording a result: see ${state.dir}/agent.log or journalctl`,
      };
      await ping(config, log, schedule, "fail", body.message);
    }
  }
  await webhook(config, log, body);
  // Under cron the job keeps the run's status; under systemd (no status given) the alert itself succeeded.
  return exit ?? 0;
}

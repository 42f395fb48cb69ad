import * as path from "node:path";
import { buildPlanReport, type PlanReport } from "../../components/plan/report";
import { PolicyError } from "../../components/policy/errors";
import { loadPolicy, type StackConfig } from "../../components/policy/load";
import { renderPlanMarkdown } from "../../components/render/plan/markdown";
import { renderPlanText } from "../../components/render/plan/text";
import { evaluateStack } from "./evaluate";
import { readStackConfig, stackFilePath } from "./stackFile";

export type PlanFormat = "text" | "markdown" | "json";

export interface PlanOptions {
  stack?: string;
  configFile?: string;
  format: PlanFormat;
  /** The clock for next runs and retention; defaults to now. */
  now?: Date;
  /** Exit 1 when a finding of this severity (or worse) exists: a CI gate. */
  failOn?: "warning" | "error";
}

/** What a CLI command produces; `main` prints it, tests inspect it. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Which stack a plan is for, and its config. */
export function resolveStack(opts: Pick<PlanOptions, "stack" | "configFile">): { stack: string; config: StackConfig } {
  if (opts.stack && opts.configFile) throw new Error("give either --stack or --config-file, not both");
  if (opts.configFile) {
    const m = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(opts.configFile));
    return { stack: m ? m[1] : "stack", config: readStackConfig(opts.configFile) };
  }
  const stack = opts.stack ?? "local";
  return { stack, config: readStackConfig(stackFilePath(stack)) };
}

/** Evaluates a stack under mocks and builds its plan; throws PolicyError on invalid config. */
export async function computePlan(stack: string, config: StackConfig, now: Date): Promise<PlanReport> {
  const policy = loadPolicy(config);
  const { resources } = await evaluateStack(config, stack);
  return buildPlanReport({ stack, policy, resources, now });
}

export function renderPlan(plan: PlanReport, format: PlanFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(plan, null, 2)}\n`;
    case "markdown":
      return renderPlanMarkdown(plan);
    case "text":
      return renderPlanText(plan);
  }
}

/** `dxbackup plan`: exit 0 with the plan, or exit 2 with one `<config path>: <message>` line per problem. */
export async function planCommand(opts: PlanOptions): Promise<CommandResult> {
  try {
    const { stack, config } = resolveStack(opts);
    const plan = await computePlan(stack, config, opts.now ?? new Date());
    const gating = plan.findings.filter(
      (f) => opts.failOn === "warning" || (opts.failOn === "error" && f.severity === "error"),
    );
    return {
      exitCode: gating.length ? 1 : 0,
      stdout: renderPlan(plan, opts.format),
      stderr: gating.length ? `dxbackup plan: ${gating.length} finding(s) at or above --fail-on ${opts.failOn}\n` : "",
    };
  } catch (err) {
    if (err instanceof PolicyError) {
      return { exitCode: 2, stdout: "", stderr: err.issues.map((i) => `${i.path}: ${i.message}\n`).join("") };
    }
    return { exitCode: 2, stdout: "", stderr: `${(err as Error).message}\n` };
  }
}

import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { diffPlans } from "../../components/plan/diff";
import { renderDiffMarkdown, renderDiffText } from "../../components/render/plan/diff";
import { buildPlanReport, type PlanReport } from "../../components/plan/report";
import { PolicyError } from "../../components/policy/errors";
import { loadPolicy, type StackConfig } from "../../components/policy/load";
import { renderPlanMarkdown } from "../../components/render/plan/markdown";
import { renderPlanText } from "../../components/render/plan/text";
import { evaluateStack } from "./evaluate";
import { parseStackConfig, readStackConfig, stackFilePath } from "./stackFile";

export type PlanFormat = "text" | "markdown" | "json";

export interface PlanOptions {
  stack?: string;
  configFile?: string;
  format: PlanFormat;
  /** The clock for next runs and retention; defaults to now. */
  now?: Date;
  /** Exit 1 when a finding of this severity (or worse) exists, or (with --against) the change weakens backups. */
  failOn?: "warning" | "error" | "weakened";
  /** Compare with the stack's config at this git ref. */
  against?: string;
}

/** What a CLI command produces; `main` prints it, tests inspect it. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Which stack a plan is for, its config, and the file it came from. */
export function resolveStack(opts: Pick<PlanOptions, "stack" | "configFile">): {
  stack: string;
  config: StackConfig;
  file: string;
} {
  if (opts.stack && opts.configFile) throw new Error("give either --stack or --config-file, not both");
  if (opts.configFile) {
    const m = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(opts.configFile));
    return { stack: m ? m[1] : "stack", config: readStackConfig(opts.configFile), file: path.resolve(opts.configFile) };
  }
  const stack = opts.stack ?? "local";
  const file = stackFilePath(stack);
  return { stack, config: readStackConfig(file), file };
}

/** The stack file as it is at a git ref; undefined when the stack did not exist there. */
export function stackFileAt(ref: string, file: string): string | undefined {
  const dir = path.dirname(file);
  let top: string;
  try {
    top = execFileSync("git", ["-C", dir, "rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`--against needs a git checkout: ${dir} is not in one`);
  }
  try {
    execFileSync("git", ["-C", top, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { stdio: "ignore" });
  } catch {
    throw new Error(`--against ${ref}: no such commit, branch or tag (fetch it first, e.g. git fetch origin main)`);
  }
  try {
    return execFileSync("git", ["-C", top, "show", `${ref}:${path.relative(top, file)}`], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return undefined;
  }
}

/** A plan of nothing: what a stack that did not exist yet is compared as. */
function emptyPlan(stack: string, now: Date): PlanReport {
  return {
    stack,
    policy: "",
    environment: "",
    production: false,
    now: now.toISOString(),
    storage: { kind: "filesystem", description: "" },
    resources: [],
    hosts: [],
    schedules: [],
    databases: [],
    retention: {},
    warnings: [],
    coverage: [],
    findings: [],
    runbook: "",
  };
}

/** `dxbackup plan --against REF`: what the change since REF does to recoverability. */
export async function planDiffCommand(opts: PlanOptions & { against: string }): Promise<CommandResult> {
  const now = opts.now ?? new Date();
  let stack: string;
  let head: PlanReport;
  let baseText: string | undefined;
  try {
    const resolved = resolveStack(opts);
    stack = resolved.stack;
    baseText = stackFileAt(opts.against, resolved.file);
    head = await computePlan(stack, resolved.config, now);
  } catch (err) {
    if (err instanceof PolicyError) {
      return {
        exitCode: 2,
        stdout: "",
        stderr: `the change makes the configuration invalid:\n${err.issues.map((i) => `${i.path}: ${i.message}\n`).join("")}`,
      };
    }
    return { exitCode: 2, stdout: "", stderr: `${(err as Error).message}\n` };
  }
  let base = emptyPlan(stack, now);
  let note = "";
  if (baseText === undefined) note = `(stack '${stack}' does not exist at ${opts.against}: everything is new)\n`;
  else {
    try {
      base = await computePlan(stack, parseStackConfig(baseText, `${opts.against}:${stack}`), now);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      note = `(the configuration at ${opts.against} was invalid: compared with nothing)\n`;
    }
  }
  const diff = diffPlans(base, head, opts.against);
  const stdout =
    opts.format === "json"
      ? `${JSON.stringify(diff, null, 2)}\n`
      : opts.format === "markdown"
        ? renderDiffMarkdown(diff, head)
        : renderDiffText(diff);
  // A change the engine would refuse fails every gate: its `pulumi up` cannot succeed.
  const gate =
    diff.refused.length > 0 && opts.failOn !== undefined
      ? true
      : opts.failOn === "weakened"
        ? diff.weakened
        : opts.failOn
          ? head.findings.some((f) => opts.failOn === "warning" || f.severity === "error")
          : false;
  return {
    exitCode: gate ? 1 : 0,
    stdout,
    stderr: note + (gate ? `dxbackup plan: --fail-on ${opts.failOn}: the change fails the gate\n` : ""),
  };
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
  if (opts.against) return planDiffCommand({ ...opts, against: opts.against });
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

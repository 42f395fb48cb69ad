import "./zodSetup";
import { Command, CommanderError, Option } from "commander";
import { loadHostConfig } from "./config";
import type { AgentContext } from "./context";
import { EXIT, StepError, UsageError } from "./errors";
import { Logger } from "./log";
import { Restic } from "./restic";
import { statePaths } from "./state";
import { AGENT_VERSION, runCommand } from "./run";
import { restoreCommand, undoCommand } from "./restore";
import { drillCommand } from "./drill";
import { rekeyCommand } from "./rekey";
import { statusCommand } from "./statusVerb";
import { dsmc } from "./run/tsm";
import { alertCommand, markStarted, ping } from "./alerts";

/**
 * dx-backup host agent: the command the timers run on every Portal host.
 *
 *   dxbackup-agent --config FILE run SCHEDULE         one recovery point
 *   dxbackup-agent --config FILE baseline SCHEDULE    a recovery point outside retention (after a fix pack)
 *   dxbackup-agent --config FILE snapshots [--json]   this host's snapshots
 *   dxbackup-agent --config FILE check [--read-data-subset N%]
 *   dxbackup-agent --config FILE restore [latest|RUN|SNAPSHOT] (--target DIR | --in-place) [--piece P]...
 *   dxbackup-agent --config FILE undo STAMP | --list  put back what an in-place restore replaced
 *   dxbackup-agent --config FILE drill [latest|RUN]   restore into scratch and verify
 *   dxbackup-agent --config FILE status               the last run's and drill's status (JSON)
 *
 * Exit status: 0 success, 1 failed, 2 refused (fix-pack guard), 3 partial
 * (snapshot taken, something missing), 64 usage, 75 another run holds the lock.
 */

const USAGE =
  "usage: dxbackup-agent --config FILE run SCHEDULE | baseline SCHEDULE | snapshots [--json] | check [--read-data-subset N%] | restore [latest|RUN|SNAPSHOT] (--target DIR | --in-place) [--piece files|target:NAME|PIECE]... [--before TIME] [--until TIME] [--schedule S] [--stop-servers] [--yes] | undo STAMP|--list | drill [latest|RUN] | status";

function context(configFile: string): AgentContext {
  const config = loadHostConfig(configFile);
  const state = statePaths(config.stateDir);
  const log = new Logger(config.host);
  const restic = new Restic(config);
  restic.onStaleLock = () => log.warn("stale-lock", "the repository is locked; removing stale locks and retrying");
  return { configFile, agentPath: agentPath(), config, state, log, restic };
}

/** The command that runs this agent again: the executable itself (linux-x64 runtime), or the script Node runs. */
function agentPath(): string {
  return isSea() ? process.execPath : (process.argv[1] ?? "dxbackup-agent");
}

/** Runs as a single executable application? `node:sea` exists from Node 20.12 on; before, it cannot be one. */
function isSea(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("node:sea") as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

function parseTime(v: string, option = "--before"): Date {
  const d = new Date(v.includes("T") || /Z$|[+-]\d\d:?\d\d$/.test(v) ? v : v.replace(" ", "T"));
  if (Number.isNaN(d.getTime())) throw new UsageError(`${option} needs a time such as '2026-11-27 18:00'`);
  return d;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command("dxbackup-agent")
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s.startsWith("error:") ? `dxbackup-agent: ${s.slice(7)}` : s),
    })
    .option("--config <file>", "the host config (agent.json), written by pulumi up")
    .version(`dxbackup-agent ${AGENT_VERSION}`, "--version")
    .showHelpAfterError(USAGE);
  const ctx = () => {
    const file = program.opts<{ config?: string }>().config;
    if (!file) throw new UsageError("--config FILE is required");
    return context(file);
  };
  const runOrDrill = async (schedule: string, baseline: boolean) => {
    const c = ctx();
    if (c.config.schedules[schedule]?.kind === "drill") {
      markStarted(c, schedule, "drill");
      await ping(c.config, c.log, schedule, "start");
      const code = await drillCommand(c, { spec: "latest" });
      await ping(c.config, c.log, schedule, code === 0 ? "success" : "fail");
      return code;
    }
    return runCommand(c, { schedule, baseline });
  };

  program.command("run <schedule>").action(async (s: string) => {
    code = await runOrDrill(s, false);
  });
  program.command("baseline <schedule>").action(async (s: string) => {
    code = await runOrDrill(s, true);
  });
  program
    .command("snapshots")
    .allowUnknownOption()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const c = ctx();
      if (c.config.fileEngine === "tsm") {
        // Every run backs up its recovery-point record: its versions are the recovery points.
        const r = await dsmc(c.config, [
          "query",
          "backup",
          `${c.state.recoveryPoint}/recovery-point.json`,
          "-inactive",
        ]);
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        code = r.code;
        return;
      }
      code = await passThrough(c, ["snapshots", "--host", c.config.host, ...args]);
    });
  program
    .command("check")
    .allowUnknownOption()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const c = ctx();
      code = await passThrough(c, ["check", ...args]);
    });
  program
    .command("restore")
    .argument("[spec]", "latest, a run id or a snapshot id", "latest")
    .option("--target <dir>")
    .option("--in-place")
    .option("--force")
    .option(
      "--piece <piece>",
      "files, target:NAME or a piece name (repeatable)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("--before <time>")
    .option("--until <time>", "in place: roll DB2 forward (Oracle: recover) to this time, not the end of the backup")
    .option("--schedule <schedule>")
    .option("--stop-servers")
    .option("--yes")
    .addOption(new Option("--leave-portal-and-iim-at-different-levels"))
    .action(async (spec: string, o: Record<string, unknown>) => {
      if (o.inPlace && o.target) throw new UsageError("give --target DIR or --in-place, not both");
      if (!o.inPlace && !o.target)
        throw new UsageError(
          "restore needs --target DIR (an empty directory), or --in-place to overwrite the live system",
        );
      code = await restoreCommand(ctx(), {
        spec,
        target: o.target as string | undefined,
        inPlace: Boolean(o.inPlace),
        force: Boolean(o.force),
        pieces: o.piece as string[],
        before: o.before ? parseTime(String(o.before)) : undefined,
        until: o.until ? parseTime(String(o.until), "--until") : undefined,
        schedule: o.schedule as string | undefined,
        stopServers: Boolean(o.stopServers),
        yes: Boolean(o.yes),
        leavePortalAndIimAtDifferentLevels: Boolean(o.leavePortalAndIimAtDifferentLevels),
      });
    });
  program
    .command("undo")
    .argument("[stamp]")
    .option("--list")
    .action(async (stamp: string | undefined, o: { list?: boolean }) => {
      code = await undoCommand(ctx(), o.list ? undefined : stamp);
    });
  program
    .command("drill")
    .argument("[spec]", "latest or a run id", "latest")
    .option("--read-data-subset <subset>")
    .action(async (spec: string, o: { readDataSubset?: string }) => {
      code = await drillCommand(ctx(), { spec, readDataSubset: o.readDataSubset });
    });
  program.command("status").action(() => {
    process.stdout.write(`${statusCommand(ctx())}\n`);
  });
  program
    .command("alert")
    .description("run by the scheduler when a job failed: sends the configured alerts")
    .argument("<schedule>")
    .argument("[exit]", "the job's exit status, kept as this command's")
    .action(async (schedule: string, exit?: string) => {
      code = await alertCommand(ctx(), schedule, exit === undefined ? undefined : Number(exit));
    });
  program
    .command("rekey")
    .argument("<old-password-file>")
    .action(async (old: string) => {
      code = await rekeyCommand(ctx(), old);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.version" || e.code === "commander.helpDisplayed" || e.code === "commander.help")
        return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`dxbackup-agent: ${e.message}\n${USAGE}\n`);
      return EXIT.usage;
    }
    if (e instanceof StepError) {
      process.stderr.write(`dx-backup: FAILED at step ${e.step}: ${e.message}\n`);
      return EXIT.failed;
    }
    process.stderr.write(`dx-backup: ERROR: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  }
}

/** restic with the host's repository, its output straight to the operator's terminal. */
function passThrough(c: AgentContext, args: string[]): Promise<number> {
  return c.restic.inherit(args);
}

if (require.main === module) {
  // The files the agent creates are its own (logs, records): tools and modes say otherwise where needed.
  process.umask(0o077);
  // A terminal that went away (an SSH session dropped) must not end a run half-way through starting
  // the servers: writes to it fail quietly, the run goes on and records its result.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`dx-backup: ERROR: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}

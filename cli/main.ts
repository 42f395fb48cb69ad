import { Command, InvalidArgumentError, Option } from "commander";
import { demoCommand } from "./demo";
import { planCommand, type CommandResult, type PlanFormat } from "./plan/command";

function parseNow(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError("expected an ISO time such as 2026-11-28T03:00:00Z");
  return d;
}

function finish(result: CommandResult): void {
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}

const program = new Command()
  .name("dxbackup")
  .description("Backup and restore for HCL Digital Experience (WebSphere Portal), declared on Pulumi")
  .showHelpAfterError();

program
  .command("plan")
  .description("show what `pulumi up` would create and the backup plan in words, without a cloud")
  .option("--stack <name>", "read stacks/Pulumi.<name>.yaml (default: local)")
  .option("--config-file <path>", "read any Pulumi.<stack>.yaml")
  .addOption(new Option("--format <format>", "output format").choices(["text", "markdown", "json"]).default("text"))
  .option("--now <iso-time>", "compute next runs and retention from this time", parseNow)
  .addOption(
    new Option("--fail-on <severity>", "exit 1 when a finding of this severity or worse exists").choices([
      "warning",
      "error",
    ]),
  )
  .action(
    async (opts: {
      stack?: string;
      configFile?: string;
      format: PlanFormat;
      now?: Date;
      failOn?: "warning" | "error";
    }) => {
      finish(await planCommand(opts));
    },
  );

program
  .command("demo")
  .description(
    "play a Portal host on this machine: plan, install the agent over SSH, back up to a local S3 server, restore and verify",
  )
  .option("--stack <name>", "the stack to play (its host must be 127.0.0.1)", "local")
  .action(async (opts: { stack: string }) => {
    finish(await demoCommand(opts));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`dxbackup: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

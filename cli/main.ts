import { Command, InvalidArgumentError, Option } from "commander";
import { demoCommand } from "./demo";
import { planCommand, resolveStack, type CommandResult, type PlanOptions } from "./plan/command";
import { hostPasswordCommand } from "./hostPassword";
import { pruneCommand } from "./prune";
import { statusCommand } from "./status";

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
  .option("--against <git-ref>", "compare with the stack's configuration at this git ref (a pull request's base)")
  .addOption(
    new Option(
      "--fail-on <what>",
      "exit 1 when a finding of this severity or worse exists, or (weakened, with --against) when the change weakens backups",
    ).choices(["warning", "error", "weakened"]),
  )
  .action(async (opts: PlanOptions) => {
    finish(await planCommand(opts));
  });

program
  .command("demo")
  .description(
    "play a Portal host on this machine: plan, install the agent over SSH, back up to a local S3 server, restore and verify",
  )
  .option("--stack <name>", "the stack to play (its host must be 127.0.0.1)", "local")
  .action(async (opts: { stack: string }) => {
    finish(await demoCommand(opts));
  });

program
  .command("status")
  .description("read every host's agent status: last success, last failure, missed runs, last verified drill")
  .option("--stack <name>", "read stacks/Pulumi.<name>.yaml (default: local)")
  .option("--config-file <path>", "read any Pulumi.<stack>.yaml")
  .option(
    "--ssh-key <file>",
    "the private key the hosts accept (pulumi config get --show-secrets dxbackup:sshPrivateKey)",
  )
  .option(
    "--password-file <file>",
    "read each host's state from its restic repository, not over SSH: the stack's repository password (pulumi config get --show-secrets dxbackup:repositoryPassword), from which each host's is derived; S3 credentials come from the usual AWS_* environment",
  )
  .option(
    "--bucket <name>",
    "with --password-file and storage.s3: the bucket the stack created (pulumi stack output bucketName)",
  )
  .option("--state-dir <host=dir...>", "read a host's state from a local copy of its state directory")
  .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
  .option("--now <iso-time>", "judge missed runs at this time", parseNow)
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
      sshKey?: string;
      passwordFile?: string;
      bucket?: string;
      stateDir?: string[];
      format: "text" | "json";
      now?: Date;
      failOn?: "warning" | "error";
    }) => {
      const { stack, config } = resolveStack(opts);
      const stateDirs = Object.fromEntries(
        (opts.stateDir ?? []).map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)]),
      );
      finish(
        await statusCommand({
          stack,
          config,
          sshKeyFile: opts.sshKey,
          repository: opts.passwordFile ? { passwordFile: opts.passwordFile, bucket: opts.bucket } : undefined,
          stateDirs,
          format: opts.format,
          now: opts.now,
          failOn: opts.failOn,
        }),
      );
    },
  );

program
  .command("prune")
  .description(
    "apply retention and prune on the storage server of storage.rest (whose hosts cannot delete): run it there, as the rest-server's user",
  )
  .option("--stack <name>", "read stacks/Pulumi.<name>.yaml (default: local)")
  .option("--config-file <path>", "read any Pulumi.<stack>.yaml")
  .requiredOption(
    "--password-file <file>",
    "the stack's repository password (pulumi config get --show-secrets dxbackup:repositoryPassword)",
  )
  .requiredOption("--repositories <dir>", "the rest-server's data directory (its --path)")
  .option("--restic <path>", "the restic to run", "restic")
  .option("--dry-run", "show what retention would forget; change nothing")
  .action(
    async (opts: {
      stack?: string;
      configFile?: string;
      passwordFile: string;
      repositories: string;
      restic: string;
      dryRun?: boolean;
    }) => {
      const { stack, config } = resolveStack(opts);
      finish(await pruneCommand({ stack, config, ...opts }));
    },
  );

program
  .command("host-password")
  .description("write one host's repository password (derived from the stack's) to a new 0600 file, for plain restic")
  .option("--stack <name>", "read stacks/Pulumi.<name>.yaml (default: local)")
  .option("--config-file <path>", "read any Pulumi.<stack>.yaml")
  .requiredOption("--host <name>", "the host")
  .requiredOption(
    "--password-file <file>",
    "the stack's repository password (pulumi config get --show-secrets dxbackup:repositoryPassword)",
  )
  .requiredOption("--out <file>", "the file to create (it must not exist)")
  .action((opts: { stack?: string; configFile?: string; host: string; passwordFile: string; out: string }) => {
    const { config } = resolveStack(opts);
    finish(hostPasswordCommand({ config, ...opts }));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`dxbackup: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

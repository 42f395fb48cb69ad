import * as path from "node:path";
import { hostConfigSchema, type HostConfig } from "../../shared/hostConfig";
import type { AgentContext } from "../../agent/context";
import { Logger, type Level } from "../../agent/log";
import { Restic } from "../../agent/restic";
import { statePaths } from "../../agent/state";

/**
 * The agent's modules in-process: a host config whose repository, password
 * file and storage environment live under DIR (the caller writes them), with
 * any key overridden, validated by the schema the agent loads it with.
 */
export function testHostConfig(dir: string, over: Partial<HostConfig> = {}): HostConfig {
  return hostConfigSchema.parse({
    version: 2,
    policy: "dx-t",
    environment: "t",
    host: "portal-1",
    role: "portal",
    repository: {
      url: path.join(dir, "repo"),
      options: [],
      passwordFile: path.join(dir, "password"),
      storageEnvFile: path.join(dir, "env.json"),
    },
    restic: "restic",
    fileEngine: "restic",
    tsm: { dsmc: "dsmc", options: [] },
    configDir: dir,
    stateDir: path.join(dir, "state"),
    pruneEveryDays: 7,
    iim: { installDir: "/opt/IBM/IM", agentDataDir: "/var/ibm/IM", sharedDir: "/opt/IBM/IMShared" },
    excludes: [],
    offline: { stop: [], start: [] },
    drill: { readDataSubset: "5%" },
    alerts: {},
    schedules: {},
    pieces: {},
    ...over,
  });
}

/** The log, kept for the test instead of written. */
export class KeptLog extends Logger {
  lines: Array<{ level: Level; event: string; message: string; fields: Record<string, string> }> = [];
  constructor() {
    super("portal-1", false);
  }
  override log(level: Level, event: string, message: string, fields: Record<string, string> = {}): void {
    this.lines.push({ level, event, message, fields });
  }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.event}: ${l.message}`).join("\n");
  }
}

/** What every verb gets: the config, its state files, a log, restic. */
export function testContext(config: HostConfig, log: Logger = new KeptLog()): AgentContext {
  return {
    configFile: path.join(config.configDir, "agent.json"),
    agentPath: "dxbackup-agent",
    config,
    state: statePaths(config.stateDir),
    log,
    restic: new Restic(config),
  };
}

/** stdout and stderr, captured while F runs; its value or the error it threw. */
export async function captured<T>(
  f: () => Promise<T>,
): Promise<{ value?: T; error?: Error; stdout: string; stderr: string }> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = "";
  let stderr = "";
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    return { value: await f(), stdout, stderr };
  } catch (e) {
    return { error: e as Error, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

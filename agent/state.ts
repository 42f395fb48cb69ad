import * as path from "node:path";

/** Where the agent keeps its state on a host: one place that names every file. */
export function statePaths(stateDir: string) {
  const at = (...p: string[]) => path.join(stateDir, ...p);
  return {
    dir: stateDir,
    status: at("status.json"),
    statusOf: (schedule: string) => at(`status-${schedule}.json`),
    runs: at("runs.jsonl"),
    drillStatus: at("drill-status.json"),
    metrics: at("metrics"),
    lock: at("run.lock"),
    /** Written before the first stop command; the next run starts the servers when it finds it. */
    serversStopped: at("servers-stopped"),
    recoveryPoint: at("recovery-point"),
    staging: at("staging"),
    runDir: (runId: string) => at("runs", runId),
    runLog: at("last-run.log"),
    lastPrune: at("last-prune"),
    repositoryInitialized: at("repository-initialized"),
    /** Previous repository passwords whose keys could not be removed yet, one file each (the installer writes them). */
    rekeyPending: at("rekey-pending"),
    lastSuccess: (schedule: string) => at(`last-success-${schedule}`),
    lastVerified: at("last-verified"),
    undo: at("undo"),
    restore: (stamp: string) => at("restore", stamp),
    drill: at("drill"),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;

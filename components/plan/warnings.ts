import { configPath, type PolicyIssue } from "../policy/errors";
import type { Policy } from "../policy/types";
import { sftpUserPerHost } from "../storage/repository";
import { nextRuns } from "../schedule/cron";
import type { RetentionOutcome } from "../schedule/retention";

/**
 * Findings that do not make a policy invalid but that a reviewer should see.
 * Pure: policy and precomputed retention outcomes in, findings out.
 */
export function policyWarnings(policy: Policy, retention: Record<string, RetentionOutcome>, now: Date): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  const { storage } = policy;
  if (policy.production) {
    if (storage.kind === "filesystem") {
      out.push({
        path: configPath(["storage", "filesystem"]),
        message:
          "production backups on a host path: unless it is a separate NFS server, losing the host loses its backups; prefer s3 with objectLock",
      });
    }
    if (storage.kind === "s3" && !storage.s3.objectLock) {
      out.push({
        path: configPath(["storage", "s3", "objectLock"]),
        message:
          "no object lock on a production bucket: an account that can delete object versions can destroy all history",
      });
    }
    if (storage.kind === "s3" && !storage.s3.replication) {
      out.push({
        path: configPath(["storage", "s3", "replication"]),
        message: "no copy in a second region: a regional outage or a lost account leaves no backup to restore from",
      });
    }
    if (!policy.schedules.some((s) => s.kind === "drill")) {
      out.push({
        path: configPath(["schedules"]),
        message:
          "no restore drill: add a schedule with kind: drill, so that a restore is proven regularly and not first tried in a disaster",
      });
    }
    for (const s of policy.schedules) {
      const r = retention[s.name];
      if (r && r.oldestDays < 7) {
        out.push({
          path: configPath(["schedules", policy.schedules.indexOf(s), "retention"]),
          message: `production schedule '${s.name}' keeps restore points for only ${formatDays(r.oldestDays)}: a problem noticed after that cannot be undone`,
        });
      }
    }
  }
  const shared = sharedStorageRisk(policy);
  if (shared) out.push(shared);
  if (storage.kind === "s3Compatible" && storage.s3Compatible.endpoint.startsWith("http://")) {
    out.push({
      path: configPath(["storage", "s3Compatible", "endpoint"]),
      message:
        "plain HTTP (accepted for environment: local only): requests travel unencrypted and can be replayed or withheld (restic still encrypts the data); use https",
    });
  }
  for (const [i, h] of policy.hosts.entries()) {
    if (!policy.schedules.some((s) => s.hosts.includes(h.name))) {
      out.push({
        path: configPath(["hosts", i]),
        message: `host '${h.name}' is in no schedule: nothing of it is backed up`,
      });
    }
  }
  out.push(...overlapWarnings(policy, now));
  return out;
}

/**
 * Storage whose kind gives every host the same credentials: each host's own
 * repository password keeps the others' data unreadable to it, but root on
 * one host can still delete or overwrite every host's history. Only `s3`
 * (an IAM user per host) and `rest` (a rest-server user per host) separate them.
 */
function sharedStorageRisk(policy: Policy): PolicyIssue | undefined {
  const { storage } = policy;
  if (policy.hosts.length < 2) return undefined;
  const what = {
    s3Compatible: "one access key (the endpoint's policies are not managed here)",
    sftp: "one SFTP user and key (put {host} in storage.sftp.user for a user per host)",
    filesystem: "one directory tree, writable by root on each",
  } as const;
  if (!(storage.kind in what)) return undefined;
  if (storage.kind === "sftp" && sftpUserPerHost(storage.sftp)) return undefined;
  return {
    path: configPath(["storage", storage.kind]),
    message: `every host reaches the storage with ${what[storage.kind as keyof typeof what]}: root on any one host can delete or overwrite every other host's backups (it cannot read them: each host has its own repository password); use storage.rest (restic's rest-server with --private-repos and --append-only, one user per host) or storage.s3 (one IAM user per host)`,
  };
}

/** Two schedules of one host that fire in the same minute: the second run finds the lock taken and fails. */
function overlapWarnings(policy: Policy, now: Date): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  const runs = new Map(
    policy.schedules.map((s) => [s.name, new Set(nextRuns(s.cron, s.timezone, now, 200).map((d) => d.getTime()))]),
  );
  for (const [i, a] of policy.schedules.entries()) {
    for (const b of policy.schedules.slice(i + 1)) {
      const shared = a.hosts.filter((h) => b.hosts.includes(h));
      if (shared.length === 0) continue;
      const clash = [...(runs.get(a.name) ?? [])].find((t) => runs.get(b.name)?.has(t));
      if (clash !== undefined) {
        out.push({
          path: configPath(["schedules", policy.schedules.indexOf(b), "cron"]),
          message: `fires at the same time as '${a.name}' on ${shared.join(", ")} (e.g. ${new Date(clash).toISOString()}): one of the runs will find the other's lock and fail; move one of them`,
        });
      }
    }
  }
  return out;
}

export function formatDays(days: number): string {
  if (days < 1) return `${Math.round(days * 24)} hours`;
  if (days < 60) return `${Math.round(days)} days`;
  if (days < 730) return `${Math.round(days / 30.4)} months`;
  return `${(days / 365.25).toFixed(1)} years`;
}

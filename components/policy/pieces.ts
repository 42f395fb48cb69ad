import { RESTORED_TOGETHER, type Domain, type RemoteSourceInput } from "./captureSchema";
import type { Target } from "./schema";
import type { Database, Host, Ldap, Policy, Schedule } from "./types";

/**
 * A piece of a recovery point that a tool produces (rather than a path that
 * restic reads): a database backup, the directory export, a WebSphere
 * configuration archive, an XMLAccess export. Pure data; the agent runs them.
 */
/** The WebSphere profiles whose configuration backupConfig.sh captures, in that order. */
export const WAS_PROFILE_ROOTS = ["wpProfile", "dmgrProfile", "searchProfile"] as const;
export type WasProfileRoot = (typeof WAS_PROFILE_ROOTS)[number];

export type Piece =
  | { kind: "database"; name: string; database: Database }
  | { kind: "ldap"; name: "ldap"; ldap: Ldap }
  | { kind: "remoteSource"; name: string; source: RemoteSourceInput }
  | { kind: "wasConfig"; name: string; profileRoot: WasProfileRoot; profile: string }
  | {
      kind: "xmlaccess";
      name: string;
      /** undefined for the base portal */
      virtualPortal?: string;
      url: string;
      /** The XMLAccess request, from <PortalServer>/doc/xml-samples. */
      request: string;
      command: string;
      user: string;
      passwordSecret: string;
    };

const wants = (declared: readonly Target[] | undefined, t: Target) => declared === undefined || declared.includes(t);

/** Which database domains a schedule captures: the ones it lists, else every declared one when databases are a target. */
export function scheduleDomains(
  s: { targets?: readonly Target[]; databases?: readonly Domain[] },
  declared: readonly Database[],
): Domain[] {
  if (s.databases) return [...s.databases];
  return wants(s.targets, "databases") ? declared.map((d) => d.domain) : [];
}

/** What tools capture for a schedule on a host, in the order the agent runs them. */
export function selectPieces(
  schedule: Pick<Schedule, "targets" | "databases"> & { kind?: Schedule["kind"]; name?: string },
  host: Host,
  policy: Pick<Policy, "databases" | "ldap"> & { remoteSources?: readonly RemoteSourceInput[] },
): Piece[] {
  const pieces: Piece[] = [];
  if (schedule.kind === "drill") return pieces;
  if (wants(schedule.targets, "xmlaccess") && host.xmlaccess && host.roots.portalServer) {
    const x = host.xmlaccess;
    const samples = `${host.roots.portalServer}/doc/xml-samples`;
    const common = { command: x.command, user: x.user, passwordSecret: x.passwordSecret };
    pieces.push({
      kind: "xmlaccess",
      name: "xmlaccess-base",
      url: x.url,
      request: `${samples}/ExportRelease.xml`,
      ...common,
    });
    for (const vp of x.virtualPortals) {
      pieces.push({
        kind: "xmlaccess",
        name: `xmlaccess-vp-${vp}`,
        virtualPortal: vp,
        url: `${x.url}/${vp}`,
        request: `${samples}/ExportUniqueRelease.xml`,
        ...common,
      });
    }
  }
  for (const d of policy.databases) {
    if (d.host === host.name && schedule.databases.includes(d.domain)) {
      pieces.push({ kind: "database", name: `db-${d.domain}`, database: d });
    }
  }
  if (wants(schedule.targets, "ldap") && policy.ldap?.host === host.name) {
    pieces.push({ kind: "ldap", name: "ldap", ldap: policy.ldap });
  }
  // Remote sources backed up by us go with the schedules they name (default: all on their host).
  for (const source of policy.remoteSources ?? []) {
    const by = source.byUs;
    const inSchedule =
      by?.schedules === undefined || (schedule.name !== undefined && by.schedules.includes(schedule.name));
    if (by?.host === host.name && inSchedule)
      pieces.push({ kind: "remoteSource", name: `remote-${source.name}`, source });
  }
  if (wants(schedule.targets, "wasConfig")) {
    for (const root of WAS_PROFILE_ROOTS) {
      const profile = host.roots[root];
      if (profile) pieces.push({ kind: "wasConfig", name: `wasconfig-${root}`, profileRoot: root, profile });
    }
  }
  return pieces;
}

/** Domains that must be captured together, missing from a set of captured domains. */
export function missingTogether(captured: readonly Domain[], declared: readonly Domain[]): Domain[] {
  if (!captured.some((d) => RESTORED_TOGETHER.includes(d))) return [];
  return RESTORED_TOGETHER.filter((d) => declared.includes(d) && !captured.includes(d));
}

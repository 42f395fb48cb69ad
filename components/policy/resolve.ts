import type { PolicyInput } from "./configSchema";
import {
  DEFAULT_AGENT_DIRS,
  DEFAULT_EXCLUDE_NAMES,
  DEFAULT_EXCLUDE_SUBDIRS,
  DEFAULT_IIM,
  DEFAULT_ROOTS,
} from "./defaults";
import { ENGINES, type DatabaseInput, type LdapInput } from "./captureSchema";
import type { HostInput, RootKey } from "./schema";
import type { Database, Host, Ldap, Storage } from "./types";

/** The policy's namespace: `name`, or `dx-<environment>`. */
export function policyName(input: Pick<PolicyInput, "name" | "environment">): string {
  return input.name ?? `dx-${input.environment}`;
}

/** Escapes restic pattern metacharacters so a literal path stays literal. */
export function literalPattern(path: string): string {
  return path.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

/** The default excludes for a host: dumps anywhere, logs and temp dirs under its roots. */
export function defaultExcludes(roots: Host["roots"], iimAgentDataDir: string): string[] {
  const perRoot: string[] = [];
  for (const [key, root] of Object.entries(roots) as Array<[RootKey, string]>) {
    for (const sub of DEFAULT_EXCLUDE_SUBDIRS[key] ?? []) perRoot.push(`${literalPattern(root)}/${sub}`);
  }
  for (const sub of DEFAULT_EXCLUDE_SUBDIRS.iimAgentData ?? [])
    perRoot.push(`${literalPattern(iimAgentDataDir)}/${sub}`);
  return [...DEFAULT_EXCLUDE_NAMES, ...perRoot];
}

/** Applies the HCL DX defaults of the host's role and namespaces the agent paths by policy. */
export function resolveHost(input: HostInput, policy: string): Host {
  const roots: Host["roots"] = { ...DEFAULT_ROOTS[input.role], ...input.roots };
  const iim = {
    installDir: input.iim.installDir ?? DEFAULT_IIM.installDir,
    agentDataDir: input.iim.agentDataDir ?? DEFAULT_IIM.agentDataDir,
    sharedDir: input.iim.sharedDir ?? DEFAULT_IIM.sharedDir,
  };
  const a = input.agent;
  return {
    name: input.name,
    address: input.address,
    role: input.role,
    ssh: { ...input.ssh, sudo: input.ssh.sudo ?? input.ssh.user !== "root" },
    decommissioned: input.decommissioned,
    formerNames: input.formerNames,
    roots,
    iim,
    customPaths: input.customPaths,
    excludes: input.excludes ?? defaultExcludes(roots, iim.agentDataDir),
    offline: input.offline,
    runAs: input.runAs,
    ec2: input.ec2,
    fileEngine: input.fileEngine,
    tsm: input.fileEngine === "tsm" ? { ...input.tsm, dsmc: input.tsm?.dsmc ?? "dsmc" } : undefined,
    xmlaccess: input.xmlaccess && {
      ...input.xmlaccess,
      command: input.xmlaccess.command ?? `${roots.wpProfile ?? "/opt/HCL/wp_profile"}/PortalServer/bin/xmlaccess.sh`,
    },
    agent: {
      installDir: `${a.installDir ?? DEFAULT_AGENT_DIRS.installDir}/${policy}`,
      configDir: `${a.configDir ?? DEFAULT_AGENT_DIRS.configDir}/${policy}`,
      stateDir: `${a.stateDir ?? DEFAULT_AGENT_DIRS.stateDir}/${policy}`,
      systemdDir: a.systemdDir ?? DEFAULT_AGENT_DIRS.systemdDir,
      cronDir: a.cronDir ?? DEFAULT_AGENT_DIRS.cronDir,
      scheduler: a.scheduler,
      restic: a.restic,
      runtime: a.runtime,
    },
  };
}

/** The single declared storage kind (the rules have checked there is exactly one). */
export function resolveStorage(input: PolicyInput["storage"]): Storage {
  if (input.s3) return { kind: "s3", s3: input.s3 };
  if (input.s3Compatible) return { kind: "s3Compatible", s3Compatible: input.s3Compatible };
  if (input.sftp) return { kind: "sftp", sftp: input.sftp };
  if (input.rest) return { kind: "rest", rest: input.rest };
  if (input.filesystem) return { kind: "filesystem", filesystem: input.filesystem };
  throw new Error("no storage declared");
}

/** The engines a database entry declares (the rules require exactly one). */
export function declaredEngines(d: DatabaseInput): Database["engine"][] {
  return ENGINES.filter((e) => d[e] !== undefined);
}

export function resolveDatabase(d: DatabaseInput): Database {
  return { ...d, engine: declaredEngines(d)[0] ?? "db2" };
}

/** The directory kinds an ldap entry declares (the rules require exactly one). */
export function declaredLdapKinds(l: LdapInput): Ldap["kind"][] {
  return (["openldap", "isds", "ldapsearch"] as const).filter((k) => l[k] !== undefined);
}

export function resolveLdap(l: LdapInput): Ldap {
  return { ...l, kind: declaredLdapKinds(l)[0] ?? "openldap" };
}

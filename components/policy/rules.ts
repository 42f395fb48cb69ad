import { referenceProblem, secretKeysIn } from "../../shared/secretRefs";
import { cronProblem, timeZoneProblem } from "../schedule/cron";
import { awsCronProblem } from "../system/awsCron";
import { retentionKeepsSomething } from "../schedule/retention";
import { REPOSITORY_PASSWORD_KEY, type PolicyInput } from "./configSchema";
import { DEFAULT_ROOTS, TARGET_LABELS } from "./defaults";
import { configPath, NAMESPACE, suggest, type PolicyIssue } from "./errors";
import type { RootKey, Target } from "./schema";
import { IIM_MANAGED, selectTargets } from "./targets";
import type { Database, Host, Ldap } from "./types";
import type { Domain } from "./captureSchema";
import { missingTogether, scheduleDomains, selectPieces } from "./pieces";
import { declaredEngines, declaredLdapKinds } from "./resolve";
import { isDerbyNetworkUrl } from "../../shared/derbyUrl";

/**
 * Cross-field rules: what a schema cannot say about one field alone. Each rule
 * is a pure function of the parsed config (and the hosts with their defaults
 * applied) that returns every problem it finds, each at a config path with
 * what to do about it.
 */
export interface RuleContext {
  input: PolicyInput;
  /** `input.hosts` with the role defaults applied, same order. */
  hosts: Host[];
  /** `input.databases` with their engine named, same order. */
  databases: Database[];
  ldap?: Ldap;
}

export type Rule = (ctx: RuleContext) => PolicyIssue[];

const issue = (path: PropertyKey[], message: string): PolicyIssue => ({ path: configPath(path), message });

/** Exactly one storage kind, and S3 settings that do not contradict each other. */
export const storageRule: Rule = ({ input }) => {
  const kinds = Object.keys(input.storage);
  if (kinds.length !== 1) {
    return [
      issue(
        ["storage"],
        kinds.length === 0
          ? "declare one storage kind: s3, s3Compatible, sftp, rest or filesystem"
          : `declares ${kinds.join(" and ")}: keep exactly one storage kind`,
      ),
    ];
  }
  const s3 = input.storage.s3;
  const out: PolicyIssue[] = [];
  if (s3?.objectLock && s3.noncurrentVersionDays < s3.objectLock.days) {
    out.push(
      issue(
        ["storage", "s3", "noncurrentVersionDays"],
        `must be >= objectLock.days (${s3.objectLock.days}): locked versions cannot expire earlier, so the lifecycle rule would only fail`,
      ),
    );
  }
  const endpoint = input.storage.s3Compatible?.endpoint;
  if (endpoint?.startsWith("http://") && input.environment !== "local") {
    out.push(
      issue(
        ["storage", "s3Compatible", "endpoint"],
        `is plain HTTP: anyone on the path sees object names and metadata, can replay the signed requests for minutes and can withhold or roll back what the hosts read (restic still encrypts the data); use https, with caCertificatePath for a private CA (http:// is accepted for environment: local only)`,
      ),
    );
  }
  const sftpUser = input.storage.sftp?.user;
  if (sftpUser?.includes("{host}")) {
    const long = input.hosts.map((h) => sftpUser.replaceAll("{host}", h.name)).filter((u) => u.length > 32);
    if (long.length)
      out.push(
        issue(
          ["storage", "sftp", "user"],
          `makes user names longer than the 32 characters Linux allows: ${long.join(", ")}; use a shorter pattern such as dxb-{host}`,
        ),
      );
  }
  const rest = input.storage.rest?.url;
  if (rest?.startsWith("http://") && input.environment !== "local") {
    out.push(
      issue(
        ["storage", "rest", "url"],
        `is plain HTTP: every host's rest-server password crosses the network in clear text with each request, and anyone on the path can replay it or withhold what the hosts read; use https, with caCertificatePath for a private CA (http:// is accepted for environment: local only)`,
      ),
    );
  }
  // S3 encrypts with a key of the bucket's own region only (and the objects of a former key are here).
  const keys: Array<[Array<string | number>, string | undefined]> = [
    [["storage", "s3", "kmsKeyArn"], s3?.kmsKeyArn],
    ...(s3?.formerKmsKeyArns ?? []).map((k, i): [Array<string | number>, string] => [
      ["storage", "s3", "formerKmsKeyArns", i],
      k,
    ]),
  ];
  for (const [path, arn] of keys) {
    const region = arn?.split(":")[3];
    if (s3 && region && region !== s3.region)
      out.push(
        issue(path, `is a key in ${region}: the bucket is in ${s3.region}, and S3 uses keys of its own region only`),
      );
  }
  if (s3?.replication && s3.replication.region === s3.region) {
    out.push(
      issue(
        ["storage", "s3", "replication", "region"],
        `is the bucket's own region (${s3.region}): replicate to a second region for disaster recovery`,
      ),
    );
  }
  return out;
};

function duplicates<T>(items: T[], key: (t: T) => string): Array<[number, string]> {
  const seen = new Set<string>();
  const out: Array<[number, string]> = [];
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) out.push([i, k]);
    seen.add(k);
  });
  return out;
}

/** Host names, host addresses, schedule names and custom path names are unique. */
export const uniquenessRule: Rule = ({ input }) => [
  ...duplicates(input.hosts, (h) => h.name).map(([i, n]) =>
    issue(["hosts", i, "name"], `'${n}' is declared twice: host names must be unique`),
  ),
  ...duplicates(input.hosts, (h) => `${h.address}:${h.ssh.port}`).map(([i, a]) =>
    issue(["hosts", i, "address"], `${a} is already declared by another host: declare each host once`),
  ),
  ...input.hosts.flatMap((h, i) =>
    h.formerNames
      .filter((former) =>
        input.hosts.some((other) => other.name === former || (other !== h && other.formerNames.includes(former))),
      )
      .map((former) =>
        issue(
          ["hosts", i, "formerNames"],
          `'${former}' is the name or a former name of another host: a former name belongs to one host only`,
        ),
      ),
  ),
  ...duplicates(input.schedules, (s) => s.name).map(([i, n]) =>
    issue(["schedules", i, "name"], `'${n}' is declared twice: schedule names must be unique`),
  ),
  ...input.hosts.flatMap((h, hi) =>
    duplicates(h.customPaths, (c) => c.name).map(([i, n]) =>
      issue(["hosts", hi, "customPaths", i, "name"], `'${n}' is declared twice on this host`),
    ),
  ),
];

/**
 * In production the deploy sends secrets on stdin to every host: only to a host whose SSH key is
 * pinned, so that a spoofed address never receives them.
 */
export const hostKeyRule: Rule = ({ input }) =>
  (input.production ?? ["prod", "production"].includes(input.environment))
    ? input.hosts.flatMap((h, i) =>
        h.ssh.hostKey === undefined && !h.decommissioned
          ? [
              issue(
                ["hosts", i, "ssh", "hostKey"],
                `a production host's SSH key must be pinned: set it to the line \`ssh-keyscan -p ${h.ssh.port} ${h.address}\` prints (checked out of band)`,
              ),
            ]
          : [],
      )
    : [];

/** A root that the host's role does not have is a mistake (a web server has no PortalServer_root). */
export const roleRootsRule: Rule = ({ input }) =>
  input.hosts.flatMap((h, i) =>
    (Object.keys(h.roots) as RootKey[])
      .filter((key) => !(key in DEFAULT_ROOTS[h.role]))
      .map((key) =>
        issue(
          ["hosts", i, "roots", key],
          `a ${h.role} host has no ${TARGET_LABELS[key]}: remove it, or set role to one that has it (${rolesWith(key).join(", ")})`,
        ),
      ),
  );

function rolesWith(key: RootKey): string[] {
  return Object.entries(DEFAULT_ROOTS)
    .filter(([, roots]) => key in roots)
    .map(([role]) => role);
}

/** Schedules name hosts that exist, each once. */
export const scheduleHostsRule: Rule = ({ input }) =>
  input.schedules.flatMap((s, si) => {
    const names = input.hosts.map((h) => h.name);
    const out = (s.hosts ?? []).flatMap((name, hi) => {
      if (names.includes(name)) return [];
      const hint = suggest(name, names);
      return [
        issue(
          ["schedules", si, "hosts", hi],
          `no host is named '${name}'${hint ? `: did you mean '${hint}'?` : `: declared hosts are ${names.join(", ")}`}`,
        ),
      ];
    });
    for (const [hi, name] of duplicates(s.hosts ?? [], (n) => n)) {
      out.push(issue(["schedules", si, "hosts", hi], `'${name}' is listed twice`));
    }
    return out;
  });

/** The hosts a schedule runs on (all hosts when it names none). */
export function scheduleHosts(schedule: PolicyInput["schedules"][number], hosts: Host[]): Host[] {
  return schedule.hosts ? hosts.filter((h) => schedule.hosts?.includes(h.name)) : hosts;
}

/**
 * Every declared target exists on some host of the schedule, every host has
 * something to back up, and IIM-installed products are always captured with
 * all three IIM directories (HCL: restoring Portal files without the matching
 * IIM state is unrecoverable).
 */
export const scheduleTargetsRule: Rule = ({ input, hosts, databases, ldap }) =>
  input.schedules.flatMap((s, si) => {
    if (s.kind === "drill") return [];
    const inSchedule = scheduleHosts(s, hosts);
    const out: PolicyIssue[] = [];
    const domains = scheduleDomains(s, databases);
    const piecesOn = (h: Host, targets: Target[] | undefined, ds: Domain[]) =>
      selectPieces({ targets, databases: ds }, h, { databases, ldap });
    (s.targets ?? []).forEach((target, ti) => {
      const applies = (h: Host) =>
        selectTargets([target], h).length > 0 ||
        piecesOn(h, [target], target === "databases" ? domains : []).length > 0;
      if (!inSchedule.some(applies)) {
        out.push(
          issue(
            ["schedules", si, "targets", ti],
            target === "custom"
              ? "no host of this schedule declares customPaths: add customPaths to a host or remove 'custom'"
              : `no host of this schedule has ${TARGET_LABELS[target]}: remove '${target}' or add a host that has it`,
          ),
        );
      }
    });
    for (const h of inSchedule) {
      const selected = new Set<Target>(selectTargets(s.targets, h).map((t) => t.target));
      if (selected.size === 0 && piecesOn(h, s.targets, domains).length === 0) {
        out.push(
          issue(["schedules", si, "targets"], `captures nothing on host '${h.name}' (${h.role}): add a target it has`),
        );
        continue;
      }
      const managed = [...selected].filter((t) => IIM_MANAGED.has(t));
      if (managed.length > 0 && !selected.has("iim")) {
        out.push(
          issue(
            ["schedules", si, "targets"],
            `backs up ${managed.map((t) => TARGET_LABELS[t]).join(", ")} on '${h.name}' without 'iim': add 'iim' so the three IBM Installation Manager directories are captured in the same snapshot (HCL: Portal files restored without matching IIM state are unrecoverable)`,
          ),
        );
      }
    }
    return out;
  });

/** The roles that run WebSphere or web servers: what an offline run stops. */
const ROLES_WITH_SERVERS: ReadonlySet<string> = new Set([
  "portalNode",
  "deploymentManager",
  "webServer",
  "remoteSearch",
]);

/**
 * Offline schedules stop and start the servers, so every host in them that runs servers needs
 * both procedures. A database or directory server has none to stop: it needs no dummy command
 * (an engine's own offline procedure, such as Oracle's shutdown, comes from its database config).
 */
export const offlineRule: Rule = ({ input, hosts }) =>
  input.schedules.flatMap((s) =>
    s.mode !== "offline" || s.kind === "drill"
      ? []
      : scheduleHosts(s, hosts)
          .filter((h) => !h.offline && ROLES_WITH_SERVERS.has(h.role))
          .map((h) =>
            issue(
              ["hosts", input.hosts.findIndex((x) => x.name === h.name), "offline"],
              `schedule '${s.name}' is offline but host '${h.name}' has no stop/start procedure: add offline.stop and offline.start commands (e.g. <wp_profile>/bin/stopServer.sh WebSphere_Portal), or make the schedule online`,
            ),
          ),
  );

/** Offline commands' secret references: each inside double quotes, so that the shell keeps its value one word. */
export const offlineSecretsRule: Rule = ({ input }) =>
  input.hosts.flatMap((h, i) =>
    (["stop", "start"] as const).flatMap((which) =>
      (h.offline?.[which] ?? []).flatMap((command, j) => {
        const problem = referenceProblem(command);
        return problem ? [issue(["hosts", i, "offline", which, j], problem)] : [];
      }),
    ),
  );

/**
 * Secrets that must never reach a Portal host: the stack's repository password and the seeds of
 * the hosts' own rest-server passwords and SFTP keys (each host gets only what is derived for it),
 * and the keys the deploy logs in with. Naming one where a host needs the value (a database
 * password, an offline command) would put it on that host, and root there could derive every
 * other host's secrets.
 */
export const hostSecretsRule: Rule = ({ input }) => {
  const stackOnly = new Map<string, string>([[REPOSITORY_PASSWORD_KEY, `${NAMESPACE}:${REPOSITORY_PASSWORD_KEY}`]]);
  const { rest, sftp } = input.storage;
  if (rest) stackOnly.set(rest.passwordSecret, configPath(["storage", "rest", "passwordSecret"]));
  if (sftp?.user.includes("{host}"))
    stackOnly.set(sftp.privateKeySecret, configPath(["storage", "sftp", "privateKeySecret"]));
  input.hosts.forEach((h, i) =>
    stackOnly.set(h.ssh.privateKeySecret, configPath(["hosts", i, "ssh", "privateKeySecret"])),
  );
  const stackUses = new Set([
    `${NAMESPACE}:${REPOSITORY_PASSWORD_KEY}`,
    configPath(["storage", "rest", "passwordSecret"]),
    configPath(["storage", "sftp", "privateKeySecret"]),
    ...input.hosts.map((_, i) => configPath(["hosts", i, "ssh", "privateKeySecret"])),
  ]);
  return secretReferences(input)
    .filter((r) => stackOnly.has(r.key) && !stackUses.has(r.usedBy))
    .map((r) => ({
      path: r.usedBy,
      message: `names the secret ${r.key}, which ${stackOnly.get(r.key)} uses and which must never reach a Portal host: give this use a config key of its own (pulumi config set --secret ${NAMESPACE}:<newKey>)`,
    }));
};

/** Cron expressions and time zones parse. */
export const cronRule: Rule = ({ input }) =>
  input.schedules.flatMap((s, si) => {
    const out: PolicyIssue[] = [];
    const cron = cronProblem(s.cron);
    if (cron) out.push(issue(["schedules", si, "cron"], cron));
    const tz = timeZoneProblem(s.timezone);
    if (tz) out.push(issue(["schedules", si, "timezone"], tz));
    return out;
  });

/** Every schedule has a retention, and it keeps at least one snapshot. */
export const retentionRule: Rule = ({ input }) => {
  const out: PolicyIssue[] = [];
  if (input.retention && !retentionKeepsSomething(input.retention)) {
    out.push(
      issue(["retention"], "keeps nothing: restic forget would remove every snapshot; set at least one keep* above 0"),
    );
  }
  input.schedules.forEach((s, si) => {
    if (s.retention && !retentionKeepsSomething(s.retention)) {
      out.push(
        issue(
          ["schedules", si, "retention"],
          "keeps nothing: restic forget would remove every snapshot; set at least one keep* above 0",
        ),
      );
    } else if (!s.retention && !input.retention && s.kind !== "drill") {
      out.push(
        issue(
          ["schedules", si, "retention"],
          `schedule '${s.name}' has no retention: set ${NAMESPACE}:retention (for all schedules) or this schedule's retention`,
        ),
      );
    }
  });
  return out;
};

/** The config keys holding secrets, with the config path that names each. */
export function secretReferences(input: PolicyInput): Array<{ key: string; usedBy: string }> {
  const refs = [{ key: REPOSITORY_PASSWORD_KEY, usedBy: `${NAMESPACE}:${REPOSITORY_PASSWORD_KEY}` }];
  input.hosts.forEach((h, i) => {
    refs.push({ key: h.ssh.privateKeySecret, usedBy: configPath(["hosts", i, "ssh", "privateKeySecret"]) });
    for (const which of ["stop", "start"] as const)
      (h.offline?.[which] ?? []).forEach((command, j) => {
        for (const key of secretKeysIn(command))
          refs.push({ key, usedBy: configPath(["hosts", i, "offline", which, j]) });
      });
  });
  const s3c = input.storage.s3Compatible;
  if (s3c) {
    refs.push({ key: s3c.accessKeyIdSecret, usedBy: configPath(["storage", "s3Compatible", "accessKeyIdSecret"]) });
    refs.push({
      key: s3c.secretAccessKeySecret,
      usedBy: configPath(["storage", "s3Compatible", "secretAccessKeySecret"]),
    });
  }
  const sftp = input.storage.sftp;
  if (sftp) refs.push({ key: sftp.privateKeySecret, usedBy: configPath(["storage", "sftp", "privateKeySecret"]) });
  const rest = input.storage.rest;
  if (rest) refs.push({ key: rest.passwordSecret, usedBy: configPath(["storage", "rest", "passwordSecret"]) });
  input.databases.forEach((d, i) => {
    for (const engine of ["sqlserver", "derby", "postgresql"] as const) {
      const key = d[engine]?.passwordSecret;
      if (key) refs.push({ key, usedBy: configPath(["databases", i, engine, "passwordSecret"]) });
    }
  });
  input.remoteSources.forEach((r, i) => {
    const key = r.byUs?.postgresql?.passwordSecret;
    if (key) refs.push({ key, usedBy: configPath(["remoteSources", i, "byUs", "postgresql", "passwordSecret"]) });
  });
  const bind = input.ldap?.ldapsearch?.passwordSecret;
  if (bind) refs.push({ key: bind, usedBy: configPath(["ldap", "ldapsearch", "passwordSecret"]) });
  input.hosts.forEach((h, i) => {
    if (h.xmlaccess)
      refs.push({ key: h.xmlaccess.passwordSecret, usedBy: configPath(["hosts", i, "xmlaccess", "passwordSecret"]) });
  });
  for (const k of ["webhookUrlSecret", "pingUrlSecret"] as const) {
    const key = input.agent.alerts?.[k];
    if (key) refs.push({ key, usedBy: configPath(["agent", "alerts", k]) });
  }
  return refs;
}

/**
 * Every secret the policy names is set, and set as a secret: a key stored in
 * plain text in `Pulumi.<stack>.yaml` is in git for everyone to read.
 */
export function secretsRule(
  input: PolicyInput,
  configKeys: ReadonlySet<string>,
  secretKeys: ReadonlySet<string>,
): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  const seen = new Set<string>();
  for (const { key, usedBy } of secretReferences(input)) {
    if (seen.has(key)) continue;
    seen.add(key);
    const full = `${NAMESPACE}:${key}`;
    const fix = `pulumi config set --secret ${full} ...`;
    if (!configKeys.has(full)) {
      out.push({
        path: full,
        message:
          usedBy === full ? `is required: set it with \`${fix}\`` : `is required by ${usedBy}: set it with \`${fix}\``,
      });
    } else if (!secretKeys.has(full)) {
      out.push({ path: full, message: `is stored in plain text: set it again with \`${fix}\` so it is encrypted` });
    }
  }
  return out;
}

/** `dxbackup:` keys that are neither policy keys nor named secrets are typos. */
export function unknownKeysRule(
  configKeys: ReadonlySet<string>,
  knownKeys: readonly string[],
  secretKeysNamed: readonly string[],
): PolicyIssue[] {
  const allowed = new Set([...knownKeys, ...secretKeysNamed]);
  const out: PolicyIssue[] = [];
  for (const full of configKeys) {
    if (!full.startsWith(`${NAMESPACE}:`)) continue;
    const key = full.slice(NAMESPACE.length + 1);
    if (allowed.has(key)) continue;
    const hint = suggest(key, allowed);
    out.push({
      path: full,
      message: hint
        ? `unknown key: did you mean ${NAMESPACE}:${hint}?`
        : `unknown key: remove it (policy keys are ${knownKeys.join(", ")}; secrets must be named by a *Secret field)`,
    });
  }
  return out;
}

/**
 * Databases: one engine each, each domain once, on a declared host, captured
 * by some schedule; online schedules only with archive logging; the domains
 * HCL restores together captured together.
 */
export const databasesRule: Rule = ({ input, hosts, databases }) => {
  const out: PolicyIssue[] = [];
  const names = hosts.map((h) => h.name);
  input.databases.forEach((d, i) => {
    const engines = declaredEngines(d);
    if (engines.length !== 1) {
      out.push(
        issue(
          ["databases", i],
          engines.length === 0
            ? `declare the engine of '${d.domain}': one of db2, oracle, sqlserver, derby, postgresql`
            : `'${d.domain}' declares ${engines.join(" and ")}: keep exactly one engine`,
        ),
      );
    }
    if (!names.includes(d.host)) {
      const hint = suggest(d.host, names);
      out.push(
        issue(["databases", i, "host"], `no host is named '${d.host}'${hint ? `: did you mean '${hint}'?` : ""}`),
      );
    }
    if (d.sqlserver?.serverBackupDir && !d.sqlserver.backupDir)
      out.push(
        issue(
          ["databases", i, "sqlserver", "serverBackupDir"],
          "names the backup share as SQL Server sees it, but backupDir (the same share as this host mounts it) is not set: set both, or neither when SQL Server runs on this host",
        ),
      );
    if (d.damBinaries && d.domain !== "dam")
      out.push(
        issue(["databases", i, "damBinaries"], `only the dam domain has DAM binaries: remove it from '${d.domain}'`),
      );
    if (d.damBinaries && !names.includes(d.damBinaries.host)) {
      const hint = suggest(d.damBinaries.host, names);
      out.push(
        issue(
          ["databases", i, "damBinaries", "host"],
          `no host is named '${d.damBinaries.host}'${hint ? `: did you mean '${hint}'?` : ""}`,
        ),
      );
    }
  });
  for (const [i, domain] of duplicates(input.databases, (d) => d.domain)) {
    out.push(issue(["databases", i, "domain"], `'${domain}' is declared twice: each domain is one database`));
  }
  const declared = databases.map((d) => d.domain);
  const backups = input.schedules.filter((s) => s.kind !== "drill");
  input.schedules.forEach((s, si) => {
    if (s.kind === "drill") return;
    (s.databases ?? []).forEach((domain, di) => {
      if (!declared.includes(domain)) {
        out.push(issue(["schedules", si, "databases", di], `'${domain}' is not declared in ${NAMESPACE}:databases`));
      }
    });
    const captured = scheduleDomains(s, databases).filter((d) => declared.includes(d));
    const missing = missingTogether(captured, declared);
    if (missing.length) {
      out.push(
        issue(
          ["schedules", si, "databases"],
          `captures ${captured.filter((d) => !missing.includes(d)).join(", ")} without ${missing.join(", ")}: HCL restores release, jcr, feedback and likeminds together, so one recovery point must hold all of them`,
        ),
      );
    }
    if (s.mode === "online") {
      databases.forEach((d, i) => {
        if (!captured.includes(d.domain)) return;
        if (d.engine === "db2" && d.db2 && !d.db2.archiveLogging) {
          out.push(
            issue(
              ["databases", i, "db2", "archiveLogging"],
              `online schedule '${s.name}' backs up DB2 ${d.db2.database} online, which needs archive logging (LOGARCHMETH1): enable it in DB2 and set archiveLogging: true, or capture '${d.domain}' only in offline schedules`,
            ),
          );
        }
        // The running Portal holds an embedded Derby database: ij cannot open it (XSDB6), so only
        // an offline run, or the Derby Network Server that Portal shares, can back it up.
        if (d.engine === "derby" && d.derby && !isDerbyNetworkUrl(d.derby.url)) {
          out.push(
            issue(
              ["databases", i, "derby", "url"],
              `online schedule '${s.name}' backs up the embedded Derby database ${d.derby.url}, which the running Portal holds open (Derby answers XSDB6): capture '${d.domain}' only in offline schedules (list the other domains in schedules[${si}].databases), or run the Derby Network Server and declare its URL (jdbc:derby://host:1527/<database path>)`,
            ),
          );
        }
        if (d.engine === "oracle" && d.oracle && !d.oracle.archivelogMode) {
          out.push(
            issue(
              ["databases", i, "oracle", "archivelogMode"],
              `online schedule '${s.name}' backs up Oracle ${d.oracle.sid} online, which needs ARCHIVELOG mode: enable it and set archivelogMode: true, or capture '${d.domain}' only in offline schedules`,
            ),
          );
        }
      });
    }
  });
  databases.forEach((d, i) => {
    const inSchedule = backups.some(
      (s) => scheduleDomains(s, databases).includes(d.domain) && scheduleHosts(s, hosts).some((h) => h.name === d.host),
    );
    if (!inSchedule && names.includes(d.host)) {
      out.push(
        issue(
          ["databases", i],
          `'${d.domain}' is in no schedule: add it to a schedule that runs on host '${d.host}' (or list it in a schedule's databases)`,
        ),
      );
    }
  });
  return out;
};

/** The directory: one kind, on a declared host, in some schedule. */
export const ldapRule: Rule = ({ input, hosts, ldap }) => {
  if (!input.ldap || !ldap) return [];
  const out: PolicyIssue[] = [];
  const kinds = declaredLdapKinds(input.ldap);
  if (kinds.length !== 1) {
    out.push(
      issue(
        ["ldap"],
        kinds.length === 0
          ? "declare one of openldap, isds, ldapsearch"
          : `declares ${kinds.join(" and ")}: keep exactly one`,
      ),
    );
  }
  const host = hosts.find((h) => h.name === ldap.host);
  if (!host) {
    const hint = suggest(
      ldap.host,
      hosts.map((h) => h.name),
    );
    out.push(issue(["ldap", "host"], `no host is named '${ldap.host}'${hint ? `: did you mean '${hint}'?` : ""}`));
  } else if (
    !input.schedules.some(
      (s) => s.kind !== "drill" && scheduleHosts(s, hosts).includes(host) && (s.targets ?? ["ldap"]).includes("ldap"),
    )
  ) {
    out.push(
      issue(
        ["ldap"],
        `the directory is in no schedule: add 'ldap' to the targets of a schedule that runs on '${host.name}'`,
      ),
    );
  }
  // idsdbback without -u (an offline schedule's) fails while the directory server runs: the
  // host's offline commands must stop it.
  const offline = input.schedules.find(
    (s) =>
      s.kind !== "drill" &&
      s.mode === "offline" &&
      host !== undefined &&
      scheduleHosts(s, hosts).includes(host) &&
      (s.targets ?? ["ldap"]).includes("ldap"),
  );
  if (input.ldap.isds && host && offline && !host.offline) {
    const inst = input.ldap.isds.instance;
    out.push(
      issue(
        ["ldap", "isds"],
        `offline schedule '${offline.name}' runs idsdbback on '${host.name}' without -u, which needs the directory server stopped, but the host has no offline commands: add offline: {stop: [ibmslapd -I ${inst} -k], start: [ibmslapd -I ${inst}]} to it, or capture ldap only in online schedules (online backup configured)`,
      ),
    );
  }
  return out;
};

/** XMLAccess runs against a Portal: only on portal nodes. */
export const xmlaccessRule: Rule = ({ input }) =>
  input.hosts.flatMap((h, i) =>
    h.xmlaccess && h.role !== "portalNode"
      ? [issue(["hosts", i, "xmlaccess"], `XMLAccess exports run on a portal node; '${h.name}' is a ${h.role}`)]
      : [],
  );

/**
 * Remote information sources: each protected either by us (on a declared
 * host, in its backup schedules, with one way to dump it) or by the system
 * that owns it, not both. A source protected by nobody is an error in
 * production; elsewhere the coverage report warns.
 */
export const remoteSourcesRule: Rule = ({ input, hosts }) => {
  const out: PolicyIssue[] = [];
  const names = hosts.map((h) => h.name);
  for (const [i, name] of duplicates(input.remoteSources, (r) => r.name)) {
    out.push(issue(["remoteSources", i, "name"], `'${name}' is declared twice`));
  }
  const production = input.production ?? ["prod", "production"].includes(input.environment);
  input.remoteSources.forEach((r, i) => {
    if (r.byUs && r.delegated) {
      out.push(issue(["remoteSources", i], `'${r.name}' is both byUs and delegated: keep the one that is true`));
    }
    if (!r.byUs && !r.delegated && production) {
      out.push(
        issue(
          ["remoteSources", i],
          `nobody protects '${r.name}' (${r.kind}, owner ${r.owner}): back it up byUs on a host, or declare it delegated with the owning system's evidence`,
        ),
      );
    }
    const by = r.byUs;
    if (!by) return;
    const host = hosts.find((h) => h.name === by.host);
    if (!host) {
      const hint = suggest(by.host, names);
      out.push(
        issue(
          ["remoteSources", i, "byUs", "host"],
          `no host is named '${by.host}'${hint ? `: did you mean '${hint}'?` : ""}`,
        ),
      );
    }
    const ways = [by.postgresql, by.command].filter(Boolean).length;
    if (ways !== 1) {
      out.push(
        issue(
          ["remoteSources", i, "byUs"],
          ways === 0
            ? "say how: a postgresql database or a command whose output is the backup"
            : "give either postgresql or command, not both",
        ),
      );
    }
    (by.schedules ?? []).forEach((name, si) => {
      const s = input.schedules.find((x) => x.name === name);
      if (!s || s.kind === "drill") {
        out.push(issue(["remoteSources", i, "byUs", "schedules", si], `no backup schedule is named '${name}'`));
      } else if (host && !scheduleHosts(s, hosts).includes(host)) {
        out.push(
          issue(["remoteSources", i, "byUs", "schedules", si], `schedule '${name}' does not run on '${host.name}'`),
        );
      }
    });
  });
  return out;
};

/** The system tier: declared hosts, schedules that parse, lifecycle and vault lock that agree. */
export const systemRule: Rule = ({ input, hosts }) => {
  const sys = input.system;
  if (!sys) return [];
  const out: PolicyIssue[] = [];
  const names = hosts.map((h) => h.name);
  sys.external.forEach((e, i) => {
    e.hosts.forEach((h, hi) => {
      if (!names.includes(h)) out.push(issue(["system", "external", i, "hosts", hi], `no host is named '${h}'`));
    });
    const cron = cronProblem(e.cron);
    if (cron) out.push(issue(["system", "external", i, "cron"], cron));
  });
  const aws = sys.aws;
  if (aws) {
    for (const [key, value] of [
      ["cron", aws.cron],
      ...(aws.restoreTesting ? [["restoreTesting.cron", aws.restoreTesting.cron]] : []),
    ] as Array<[string, string]>) {
      const cron = cronProblem(value) ?? awsCronProblem(value);
      if (cron) out.push(issue(["system", "aws", ...key.split(".")], cron));
    }
    const tz = timeZoneProblem(aws.timezone);
    if (tz) out.push(issue(["system", "aws", "timezone"], tz));
    if (aws.coldStorageAfterDays !== undefined && aws.deleteAfterDays < aws.coldStorageAfterDays + 90) {
      out.push(
        issue(
          ["system", "aws", "deleteAfterDays"],
          `must be at least coldStorageAfterDays + 90 (${aws.coldStorageAfterDays + 90}): AWS Backup keeps recovery points in cold storage for 90 days at least`,
        ),
      );
    }
    if (aws.vaultLock) {
      const { minRetentionDays, maxRetentionDays } = aws.vaultLock;
      if (minRetentionDays > maxRetentionDays) {
        out.push(
          issue(
            ["system", "aws", "vaultLock", "minRetentionDays"],
            `is more than maxRetentionDays (${maxRetentionDays})`,
          ),
        );
      }
      if (aws.deleteAfterDays < minRetentionDays || aws.deleteAfterDays > maxRetentionDays) {
        out.push(
          issue(
            ["system", "aws", "deleteAfterDays"],
            `must lie within the vault lock (${minRetentionDays}..${maxRetentionDays} days): the lock would refuse every recovery point of this plan`,
          ),
        );
      }
    }
    if (!aws.selectionTag && !aws.instanceArns && !hosts.some((h) => h.ec2)) {
      out.push(
        issue(
          ["system", "aws"],
          "selects no instance: mark EC2 hosts with ec2: true, or give selectionTag or instanceArns",
        ),
      );
    }
  }
  return out;
};

/** TSM backs up files; PostgreSQL streams need a restic repository. */
export const tsmRule: Rule = ({ input, hosts, databases }) => {
  const out: PolicyIssue[] = [];
  const tsmHosts = new Set(hosts.filter((h) => h.fileEngine === "tsm").map((h) => h.name));
  databases.forEach((d, i) => {
    if (d.postgresql && tsmHosts.has(d.host)) {
      out.push(
        issue(
          ["databases", i, "host"],
          `'${d.domain}' is a PostgreSQL stream into restic, but '${d.host}' uses the tsm engine: dump it from a restic host`,
        ),
      );
    }
  });
  input.remoteSources.forEach((r, i) => {
    if (r.byUs && tsmHosts.has(r.byUs.host)) {
      out.push(
        issue(
          ["remoteSources", i, "byUs", "host"],
          `'${r.name}' streams into restic, but '${r.byUs.host}' uses the tsm engine: back it up from a restic host`,
        ),
      );
    }
  });
  input.hosts.forEach((h, i) => {
    if (h.tsm && h.fileEngine !== "tsm")
      out.push(issue(["hosts", i, "tsm"], "is set but fileEngine is restic: set fileEngine: tsm or remove tsm"));
    const sched = h.tsm?.serverSchedule;
    if (sched) {
      const cron = cronProblem(sched.cron);
      if (cron) out.push(issue(["hosts", i, "tsm", "serverSchedule", "cron"], cron));
    }
  });
  return out;
};

/** The rules that need only the parsed config and hosts, in the order their findings are reported. */
export const POLICY_RULES: readonly Rule[] = [
  storageRule,
  uniquenessRule,
  hostKeyRule,
  roleRootsRule,
  scheduleHostsRule,
  scheduleTargetsRule,
  offlineRule,
  offlineSecretsRule,
  hostSecretsRule,
  cronRule,
  retentionRule,
  databasesRule,
  ldapRule,
  xmlaccessRule,
  remoteSourcesRule,
  systemRule,
  tsmRule,
];

import type { DatabaseInput, Domain, Engine, LdapInput, RemoteSourceInput, XmlaccessInput } from "./captureSchema";
import type { CoverageInput, SystemInput } from "./systemSchema";
import type {
  AgentSettings,
  FilesystemStorage,
  HostRole,
  Retention,
  RootKey,
  S3CompatibleStorage,
  S3Storage,
  RestStorage,
  SftpStorage,
  Target,
} from "./schema";

/** Where the restic repositories live. */
export type Storage =
  | { kind: "s3"; s3: S3Storage }
  | { kind: "s3Compatible"; s3Compatible: S3CompatibleStorage }
  | { kind: "sftp"; sftp: SftpStorage }
  | { kind: "rest"; rest: RestStorage }
  | { kind: "filesystem"; filesystem: FilesystemStorage };

/** Agent locations on one host, already namespaced by the policy name. */
export interface AgentPaths {
  installDir: string;
  configDir: string;
  stateDir: string;
  systemdDir: string;
  cronDir: string;
  scheduler: "auto" | "systemd" | "cron";
  /** The restic binary: `restic` from PATH, or an absolute path. */
  restic: string;
  /** How the agent runs: with the host's Node.js, or as a linux-x64 executable. */
  runtime: "node" | "linux-x64";
}

export interface IimDirs {
  installDir: string;
  agentDataDir: string;
  sharedDir: string;
}

/** A host with every default applied. */
export interface Host {
  name: string;
  address: string;
  role: HostRole;
  ssh: { user: string; port: number; privateKeySecret: string; sudo: boolean; hostKey?: string };
  /** Gone for good: never contacted again (see the schema). */
  decommissioned: boolean;
  /** Names the host had before: aliases of its resources. */
  formerNames: string[];
  roots: Partial<Record<RootKey, string>>;
  iim: IimDirs;
  customPaths: Array<{ name: string; path: string }>;
  excludes: string[];
  offline?: { stop: string[]; start: string[] };
  /** The WebSphere profile's owner: its tools and the offline commands run as that user. */
  runAs?: { user: string; umask: string };
  ec2: boolean;
  fileEngine: "restic" | "tsm";
  tsm?: { dsmc: string; optFile?: string; serverSchedule?: { name: string; cron: string; timezone: string } };
  /** XMLAccess exports, with the command resolved. */
  xmlaccess?: XmlaccessInput & { command: string };
  agent: AgentPaths;
}

/** A database domain with its engine named. */
export type Database = DatabaseInput & { engine: Engine };

/** The directory export, with its kind named. */
export type Ldap = LdapInput & { kind: "openldap" | "isds" | "ldapsearch" };

export interface Schedule {
  name: string;
  /** A backup takes recovery points; a drill restores the latest one into scratch and verifies it. */
  kind: "backup" | "drill";
  cron: string;
  timezone: string;
  mode: "online" | "offline";
  /** The targets as declared; undefined means everything each host has. */
  targets?: Target[];
  /** Names of the hosts this schedule runs on. */
  hosts: string[];
  /** The database domains it captures (all declared ones when not restricted). */
  databases: Domain[];
  /** The retention that applies (the schedule's own or the policy default; empty for drills). */
  retention: Retention;
}

/** When and how a schedule runs: what reports and guardrails repeat of it, whatever else they add. */
export type ScheduleTiming = Pick<Schedule, "name" | "kind" | "cron" | "timezone" | "mode" | "retention">;

/** A validated, fully resolved backup policy. Holds secret *references* only, never secret values. */
export interface Policy {
  /** Namespace for resources and host paths; two policies with different names never collide. */
  name: string;
  environment: string;
  production: boolean;
  storage: Storage;
  hosts: Host[];
  schedules: Schedule[];
  databases: Database[];
  ldap?: Ldap;
  remoteSources: RemoteSourceInput[];
  system?: SystemInput;
  coverage: CoverageInput;
  agent: AgentSettings;
  /** Config keys (without namespace) holding the secrets this policy uses. */
  secrets: { repositoryPassword: string; all: string[] };
}

/** One piece of what a schedule captures on one host. */
export interface TargetSelection {
  target: Target;
  paths: string[];
}

import type { HostRole, RootKey } from "./schema";

/**
 * Standard HCL DX install locations (HCL's documented defaults), by host role.
 * A root is only backed up on a host whose role has it.
 */
export const DEFAULT_ROOTS: Record<HostRole, Partial<Record<RootKey, string>>> = {
  portalNode: {
    portalServer: "/opt/HCL/PortalServer",
    wpProfile: "/opt/HCL/wp_profile",
    appServer: "/opt/HCL/AppServer",
  },
  deploymentManager: {
    appServer: "/opt/HCL/AppServer",
    dmgrProfile: "/opt/HCL/AppServer/profiles/Dmgr01",
  },
  webServer: {
    webServer: "/opt/IBM/HTTPServer",
    plugins: "/opt/IBM/WebSphere/Plugins",
  },
  databaseServer: {},
  directoryServer: {},
  remoteSearch: {
    appServer: "/opt/HCL/AppServer",
    searchProfile: "/opt/HCL/AppServer/profiles/prs_profile",
  },
};

/** Roles whose products IBM Installation Manager installs, so their hosts have IIM to capture. */
export const ROLES_WITH_IIM = new Set(["portalNode", "deploymentManager", "webServer", "remoteSearch"]);

/** IBM Installation Manager, root install (`/var/ibm/...` is `/home/<user>/var/ibm/...` for non-root installs). */
export const DEFAULT_IIM = {
  installDir: "/opt/IBM/InstallationManager",
  agentDataDir: "/var/ibm/InstallationManager",
  sharedDir: "/opt/IBM/IMShared",
} as const;

/** Where the agent lives; each policy gets its own sub-directory so two policies never collide. */
export const DEFAULT_AGENT_DIRS = {
  installDir: "/opt/dxbackup",
  configDir: "/etc/dxbackup",
  stateDir: "/var/lib/dxbackup",
  systemdDir: "/etc/systemd/system",
  cronDir: "/etc/cron.d",
} as const;

/**
 * Excluded by default: logs, temporary files and dumps are large, change on
 * every run, and are not needed to bring a Portal back.
 * Patterns without '/' match a file name anywhere (restic semantics).
 */
export const DEFAULT_EXCLUDE_NAMES = ["javacore.*.txt", "heapdump.*.phd", "core.*.dmp", "Snap.*.trc", "*.tmp"];

/** Per-root sub-directories that are excluded by default. */
export const DEFAULT_EXCLUDE_SUBDIRS: Partial<Record<RootKey | "iimAgentData", string[]>> = {
  wpProfile: ["logs", "temp", "wstemp"],
  dmgrProfile: ["logs", "temp", "wstemp"],
  searchProfile: ["logs", "temp", "wstemp"],
  appServer: ["logs"],
  portalServer: ["log"],
  webServer: ["logs"],
  plugins: ["logs"],
  iimAgentData: ["logs"],
};

/** Human names of the targets, as HCL's documentation calls them. */
export const TARGET_LABELS: Record<string, string> = {
  portalServer: "PortalServer_root",
  wpProfile: "wp_profile_root",
  dmgrProfile: "Deployment Manager profile",
  searchProfile: "Remote Search profile (search collections)",
  appServer: "AppServer_root",
  webServer: "IBM HTTP Server",
  plugins: "Web server plug-ins",
  iim: "IBM Installation Manager",
  custom: "custom paths",
  wasConfig: "WebSphere configuration (backupConfig)",
  xmlaccess: "XMLAccess exports",
  databases: "databases",
  ldap: "LDAP directory",
};

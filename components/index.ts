export { BackupPolicy, type BackupPolicyArgs } from "./backupPolicy";
export { PortalHostBackup, type PortalHostBackupArgs } from "./hosts/portalHostBackup";
export { BackupStore, type BackupStoreArgs } from "./storage/backupStore";
export { loadPolicy, type StackConfig } from "./policy/load";
export { PolicyError, type PolicyIssue } from "./policy/errors";
export type { Policy, Host, Schedule, Storage } from "./policy/types";

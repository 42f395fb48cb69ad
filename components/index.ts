export { BackupPolicy, type BackupPolicyArgs } from "./backupPolicy";
export { PortalHostBackup, type PortalHostBackupArgs } from "./hosts/portalHostBackup";
export {
  BackupStore,
  type BackupStoreArgs,
  type BackupStoreChildren,
  type HostCredentials,
  type HostStorageAccess,
} from "./storage/backupStore";
export { SystemBackup, type SystemBackupArgs, type SystemBackupChildren } from "./system/systemBackup";
export type { ChildOptions } from "./childOptions";
export { loadPolicy, type StackConfig } from "./policy/load";
export { PolicyError, type PolicyIssue } from "./policy/errors";
export type { Policy, Host, Schedule, Storage } from "./policy/types";

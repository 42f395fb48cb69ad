import type { DatabasePieceConfig } from "../../shared/hostConfig";

export type SqlServerTarget = Extract<DatabasePieceConfig["database"], { engine: "sqlserver" }>["sqlserver"];

/** A T-SQL identifier: brackets, `]` doubled. */
export const tsqlName = (v: string): string => `[${v.replace(/]/g, "]]")}]`;

/** A T-SQL Unicode string literal: single quotes doubled. */
export const tsqlString = (v: string): string => `N'${v.replace(/'/g, "''")}'`;

/**
 * Where a .bak file lives, named twice: as this host sees it (the agent stores it from there
 * and puts a restored one back there) and as the SQL Server instance names it (in BACKUP and
 * RESTORE). The two differ when SQL Server runs elsewhere and mounts the share under another
 * path, possibly a Windows one; on the same host (the mssql-owned staging dir) they are one.
 */
export interface BakLocation {
  agentDir: string;
  serverDir: string;
}

export function bakLocation(s: SqlServerTarget, stagingDir: string): BakLocation {
  const agentDir = s.backupDir ?? stagingDir;
  return { agentDir, serverDir: s.serverBackupDir ?? agentDir };
}

/** A file in a directory as SQL Server names it: a drive or UNC directory takes a backslash. */
export function serverFile(serverDir: string, name: string): string {
  const windows = /^([A-Za-z]:\\|\\\\)/.test(serverDir);
  const sep = windows ? "\\" : "/";
  return serverDir.endsWith(sep) ? `${serverDir}${name}` : `${serverDir}${sep}${name}`;
}

import type { PostgresInput } from "../policy/captureSchema";
import type { Piece } from "../policy/pieces";
import type { Host } from "../policy/types";
import { shAssign } from "./shell";

/** Where a secret named by a config key lives on the host (0600, exactly the value). */
export function secretFile(host: Host, key: string): string {
  return `${host.agent.configDir}/secrets/config/${key}`;
}

export function pieceConfigPath(host: Host, piece: string): string {
  return `${host.agent.configDir}/pieces/${piece}.conf`;
}

/** The config keys of the secrets a piece needs on its host. */
export function pieceSecrets(piece: Piece): string[] {
  switch (piece.kind) {
    case "database": {
      const d = piece.database;
      const key = d.sqlserver?.passwordSecret ?? d.derby?.passwordSecret ?? d.postgresql?.passwordSecret;
      return key ? [key] : [];
    }
    case "ldap":
      return piece.ldap.ldapsearch ? [piece.ldap.ldapsearch.passwordSecret] : [];
    case "remoteSource":
      return piece.source.byUs?.postgresql ? [piece.source.byUs.postgresql.passwordSecret] : [];
    case "xmlaccess":
      return [piece.passwordSecret];
    case "wasConfig":
      return [];
  }
}

/** How the agent reaches a PostgreSQL database (a DAM domain or a remote source). */
function postgresVariables(pg: PostgresInput, host: Host): Array<[string, string]> {
  return [
    ["PG_HOST", pg.host],
    ["PG_PORT", String(pg.port)],
    ["PG_DATABASE", pg.database],
    ["PG_USER", pg.user],
    ["PG_PASSWORD_FILE", secretFile(host, pg.passwordSecret)],
    ["PG_DUMP_COMMAND", pg.command ?? "pg_dump"],
  ];
}

/** The variables the agent's piece function reads; every value quoted by shAssign. */
function pieceVariables(piece: Piece, host: Host): Array<[string, string]> {
  switch (piece.kind) {
    case "database": {
      const d = piece.database;
      const common: Array<[string, string]> = [
        ["PIECE_ENGINE", d.engine],
        ["PIECE_DOMAIN", d.domain],
      ];
      if (d.db2) {
        return [
          ...common,
          ["DB2_DATABASE", d.db2.database],
          ["DB2_INSTANCE_USER", d.db2.instanceUser ?? ""],
          ["DB2_COMMAND", d.db2.command ?? "db2"],
        ];
      }
      if (d.oracle) {
        return [
          ...common,
          ["ORACLE_SID_NAME", d.oracle.sid],
          ["ORACLE_HOME_DIR", d.oracle.oracleHome ?? ""],
          ["ORACLE_OS_USER", d.oracle.osUser ?? ""],
          ["RMAN_COMMAND", d.oracle.command ?? "rman"],
        ];
      }
      if (d.sqlserver) {
        return [
          ...common,
          ["MSSQL_SERVER", d.sqlserver.server],
          ["MSSQL_DATABASE", d.sqlserver.database],
          ["MSSQL_USER", d.sqlserver.user],
          ["MSSQL_PASSWORD_FILE", secretFile(host, d.sqlserver.passwordSecret)],
          ["MSSQL_BACKUP_DIR", d.sqlserver.backupDir ?? ""],
          ["SQLCMD_COMMAND", d.sqlserver.command ?? "sqlcmd"],
        ];
      }
      if (d.derby) {
        return [
          ...common,
          ["DERBY_URL", d.derby.url],
          ["DERBY_USER", d.derby.user ?? ""],
          ["DERBY_PASSWORD_FILE", d.derby.passwordSecret ? secretFile(host, d.derby.passwordSecret) : ""],
          ["IJ_COMMAND", d.derby.command ?? "ij"],
        ];
      }
      if (d.postgresql) return [...common, ...postgresVariables(d.postgresql, host)];
      throw new Error(`database ${d.domain} has no engine`);
    }
    case "ldap": {
      const l = piece.ldap;
      const kind: [string, string] = ["LDAP_KIND", l.kind];
      if (l.openldap) {
        return [
          kind,
          ["LDAP_SUFFIX", l.openldap.suffix],
          ["SLAPD_CONFIG_FILE", l.openldap.configFile ?? ""],
          ["SLAPD_CONFIG_DIR", l.openldap.configDir ?? ""],
          ["SLAPCAT_COMMAND", l.openldap.command ?? "slapcat"],
        ];
      }
      if (l.isds)
        return [kind, ["ISDS_INSTANCE", l.isds.instance ?? ""], ["DB2LDIF_COMMAND", l.isds.command ?? "db2ldif"]];
      if (l.ldapsearch) {
        return [
          kind,
          ["LDAP_URI", l.ldapsearch.uri],
          ["LDAP_BIND_DN", l.ldapsearch.bindDn],
          ["LDAP_PASSWORD_FILE", secretFile(host, l.ldapsearch.passwordSecret)],
          ["LDAP_BASE", l.ldapsearch.base],
          ["LDAPSEARCH_COMMAND", l.ldapsearch.command ?? "ldapsearch"],
        ];
      }
      throw new Error("ldap has no kind");
    }
    case "remoteSource": {
      const by = piece.source.byUs;
      const common: Array<[string, string]> = [["REMOTE_NAME", piece.source.name]];
      if (by?.postgresql) return [...common, ["REMOTE_KIND", "postgresql"], ...postgresVariables(by.postgresql, host)];
      if (by?.command) {
        return [
          ...common,
          ["REMOTE_KIND", "command"],
          ["REMOTE_COMMAND", by.command.run],
          ["REMOTE_FILENAME", by.command.filename],
        ];
      }
      throw new Error(`remote source ${piece.source.name} is not backed up by us`);
    }
    case "wasConfig":
      return [
        ["WAS_PROFILE", piece.profile],
        ["WAS_PROFILE_ROOT", piece.profileRoot],
      ];
    case "xmlaccess":
      return [
        ["XMLACCESS_COMMAND", piece.command],
        ["XMLACCESS_URL", piece.url],
        ["XMLACCESS_REQUEST", piece.request],
        ["XMLACCESS_USER", piece.user],
        ["XMLACCESS_PASSWORD_FILE", secretFile(host, piece.passwordSecret)],
        ["XMLACCESS_VP", piece.virtualPortal ?? ""],
      ];
  }
}

/** One piece's config file, sourced by the agent in the piece's own subshell. */
export function renderPieceConfig(piece: Piece, host: Host): string {
  const vars: Array<[string, string]> = [
    ["PIECE_NAME", piece.name],
    ["PIECE_KIND", piece.kind],
    ...pieceVariables(piece, host),
  ];
  return [
    `# dx-backup piece '${piece.name}' on host ${host.name}.`,
    "# Generated by Pulumi (dx-backup) from the stack configuration: change it there, not here.",
    ...vars.map(([k, v]) => shAssign(k, v)),
    "",
  ].join("\n");
}

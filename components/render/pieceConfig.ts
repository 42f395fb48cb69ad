import type { PostgresInput } from "../policy/captureSchema";
import type { Piece } from "../policy/pieces";
import type { Host } from "../policy/types";
import type { PieceConfig } from "../../shared/hostConfig";

/** Where a secret named by a config key lives on the host (0600, exactly the value). */
export function secretFile(host: Host, key: string): string {
  return `${host.agent.configDir}/secrets/config/${key}`;
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
function postgres(pg: PostgresInput, host: Host) {
  return {
    host: pg.host,
    port: pg.port,
    database: pg.database,
    user: pg.user,
    passwordFile: secretFile(host, pg.passwordSecret),
    dumpCommand: pg.command ?? "pg_dump",
  };
}

/** One piece as the agent's config holds it: the tool, how to reach it, and where its secret is. */
export function renderPieceConfig(piece: Piece, host: Host): PieceConfig {
  switch (piece.kind) {
    case "database": {
      const d = piece.database;
      const common = { kind: "database" as const, domain: d.domain };
      if (d.db2)
        return {
          ...common,
          database: {
            engine: "db2",
            db2: {
              database: d.db2.database,
              instanceUser: d.db2.instanceUser,
              archiveLogPath: d.db2.archiveLogPath,
              command: d.db2.command ?? "db2",
            },
          },
        };
      if (d.oracle)
        return {
          ...common,
          database: {
            engine: "oracle",
            oracle: {
              sid: d.oracle.sid,
              oracleHome: d.oracle.oracleHome,
              osUser: d.oracle.osUser,
              archivelogMode: d.oracle.archivelogMode,
              command: d.oracle.command ?? "rman",
            },
          },
        };
      if (d.sqlserver)
        return {
          ...common,
          database: {
            engine: "sqlserver",
            sqlserver: {
              server: d.sqlserver.server,
              database: d.sqlserver.database,
              user: d.sqlserver.user,
              passwordFile: secretFile(host, d.sqlserver.passwordSecret),
              backupDir: d.sqlserver.backupDir,
              serverBackupDir: d.sqlserver.serverBackupDir,
              command: d.sqlserver.command ?? "sqlcmd",
            },
          },
        };
      if (d.derby)
        return {
          ...common,
          database: {
            engine: "derby",
            derby: {
              url: d.derby.url,
              user: d.derby.user,
              passwordFile: d.derby.passwordSecret ? secretFile(host, d.derby.passwordSecret) : undefined,
              command: d.derby.command ?? "ij",
            },
          },
        };
      if (d.postgresql)
        return { ...common, database: { engine: "postgresql", postgresql: postgres(d.postgresql, host) } };
      throw new Error(`database ${d.domain} has no engine`);
    }
    case "ldap": {
      const l = piece.ldap;
      if (l.openldap)
        return {
          kind: "ldap",
          ldap: {
            tool: "openldap",
            suffix: l.openldap.suffix,
            configFile: l.openldap.configFile,
            configDir: l.openldap.configDir,
            command: l.openldap.command ?? "slapcat",
          },
        };
      if (l.isds)
        return {
          kind: "ldap",
          ldap: {
            tool: "isds",
            instance: l.isds.instance,
            database: l.isds.database ?? l.isds.instance.toUpperCase(),
            instanceUser: l.isds.instanceUser ?? l.isds.instance,
            command: l.isds.command ?? "idsdbback",
          },
        };
      if (l.ldapsearch)
        return {
          kind: "ldap",
          ldap: {
            tool: "ldapsearch",
            uri: l.ldapsearch.uri,
            bindDn: l.ldapsearch.bindDn,
            passwordFile: secretFile(host, l.ldapsearch.passwordSecret),
            base: l.ldapsearch.base,
            readsPasswords: l.ldapsearch.readsPasswords,
            command: l.ldapsearch.command ?? "ldapsearch",
          },
        };
      throw new Error("ldap has no kind");
    }
    case "remoteSource": {
      const by = piece.source.byUs;
      if (by?.postgresql)
        return {
          kind: "remoteSource",
          source: piece.source.name,
          by: { kind: "postgresql", postgresql: postgres(by.postgresql, host) },
        };
      if (by?.command)
        return {
          kind: "remoteSource",
          source: piece.source.name,
          by: { kind: "command", run: by.command.run, filename: by.command.filename },
        };
      throw new Error(`remote source ${piece.source.name} is not backed up by us`);
    }
    case "wasConfig":
      return { kind: "wasConfig", profile: piece.profile, profileRoot: piece.profileRoot };
    case "xmlaccess":
      return {
        kind: "xmlaccess",
        command: piece.command,
        url: piece.url,
        request: piece.request,
        user: piece.user,
        passwordFile: secretFile(host, piece.passwordSecret),
        virtualPortal: piece.virtualPortal,
      };
  }
}

import { z } from "zod";
import { hostPath, secretRef } from "./primitives";

/**
 * What a recovery point holds besides files: the Portal databases, the
 * directory, the WebSphere configuration and the XMLAccess exports. Each
 * is captured by the agent on a named host, in the same run (same run id) as
 * the file systems.
 */

/** The HCL DX database domains, and the DAM database. */
export const DOMAINS = ["release", "customization", "community", "jcr", "feedback", "likeminds", "dam"] as const;
export type Domain = (typeof DOMAINS)[number];

/** HCL: these domains are restored together, so a recovery point must hold all of them that exist. */
export const RESTORED_TOGETHER: readonly Domain[] = ["release", "jcr", "feedback", "likeminds"];

const sqlIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$#@]{0,127}$/, "must be a database name (letters, digits, _ $ # @)");
const osUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be an operating-system user name");
const command = hostPath;

export const db2Schema = z
  .object({
    /** Database alias in the instance's catalog, e.g. RELEASE. */
    database: sqlIdentifier,
    /** Instance owner to run the CLP as (`su - <user>`); omit when the agent's user has the environment. */
    instanceUser: osUser.optional(),
    /** Archive logging (LOGARCHMETH1) is on: required for online backups; the agent checks it before each one. */
    archiveLogging: z.boolean().default(false),
    /**
     * Where DB2 archives the logs (the path of `LOGARCHMETH1 DISK:<path>`). A restore rolls
     * forward past the end of a backup only with these logs: capture the path (a customPaths
     * entry of the host) or coverage reports that restores stop at the end of each backup.
     */
    archiveLogPath: hostPath.optional(),
    /** The db2 command; default `db2` from the instance owner's PATH. */
    command: command.optional(),
  })
  .strict();

export const oracleSchema = z
  .object({
    /** ORACLE_SID of the local instance. */
    sid: z.string().regex(/^[A-Za-z][A-Za-z0-9_$#]{0,29}$/, "must be an Oracle SID"),
    oracleHome: hostPath.optional(),
    /** OS user RMAN runs as (`su - <user>`, OS authentication, `target /`), usually oracle; omit to run it directly. */
    osUser: osUser.optional(),
    /** The database runs in ARCHIVELOG mode: required for online backups. */
    archivelogMode: z.boolean().default(false),
    command: command.optional(),
  })
  .strict();

export const sqlServerSchema = z
  .object({
    /** Server as sqlcmd takes it, e.g. `localhost,1433`. */
    server: z.string().regex(/^[A-Za-z0-9._\\-]+(,\d+)?$/, "must be a server name, optionally with ,port"),
    database: sqlIdentifier,
    user: z.string().min(1),
    /** Config key of the SQL login's password (secret); passed to sqlcmd in SQLCMDPASSWORD, never as an argument. */
    passwordSecret: secretRef,
    /**
     * Where the .bak file is written when SQL Server runs on another host: a share both hosts
     * mount, as the agent's host sees it. Default: the agent's staging directory, owned by the
     * local `mssql` account (SQL Server on this host).
     */
    backupDir: hostPath.optional(),
    /**
     * `backupDir` as the SQL Server instance names it, when it mounts the share elsewhere
     * (`D:\DXBackup`, `\\nas\dx-backup`, `/var/opt/mssql/dx-backup`); default `backupDir`.
     * BACKUP writes there, and the printed RESTORE reads from there: the instance cannot read
     * the agent's own paths.
     */
    serverBackupDir: z
      .string()
      .regex(
        /^(\/|[A-Za-z]:\\|\\\\)[^\n\0]*$/,
        "must be an absolute path as SQL Server names it: /var/opt/mssql/..., D:\\... or \\\\server\\share\\...",
      )
      .optional(),
    command: command.optional(),
  })
  .strict();

export const derbySchema = z
  .object({
    /** JDBC URL, e.g. jdbc:derby:/opt/HCL/wp_profile/PortalServer/derby/wps6 (embedded) or jdbc:derby://host:1527/wps6. */
    url: z.string().regex(/^jdbc:derby:[^;'\n]+$/, "must be a jdbc:derby: URL without attributes (no ';' or quotes)"),
    user: z.string().optional(),
    /** Config key of the password (secret); sent to ij on stdin, never as an argument. */
    passwordSecret: secretRef.optional(),
    /** The ij command; default `ij`. */
    command: command.optional(),
  })
  .strict();

export const postgresSchema = z
  .object({
    host: z.string().regex(/^[A-Za-z0-9._:-]+$/, "must be a host name or address"),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string().regex(/^[A-Za-z0-9_$-]+$/, "must be a database name"),
    user: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a user name"),
    /** Config key of the password (secret); given to pg_dump in a 0600 passfile. */
    passwordSecret: secretRef,
    /** The pg_dump command; default `pg_dump`. */
    command: command.optional(),
  })
  .strict();

export const ENGINES = ["db2", "oracle", "sqlserver", "derby", "postgresql"] as const;
export type Engine = (typeof ENGINES)[number];

/** One database domain: which engine holds it, and on which host the agent backs it up. */
export const databaseSchema = z
  .object({
    domain: z.enum(DOMAINS),
    /** The host whose agent runs the backup (where the engine's client tools are). */
    host: z.string(),
    db2: db2Schema.optional(),
    oracle: oracleSchema.optional(),
    sqlserver: sqlServerSchema.optional(),
    derby: derbySchema.optional(),
    postgresql: postgresSchema.optional(),
    /**
     * `dam` only: where Digital Asset Management keeps the asset binaries (its persistent volume,
     * mounted on a host). The DAM database holds the metadata only: restored without the binaries
     * of the same time, assets point at files that are not there. Capture the path with the host's
     * files (a customPaths entry); coverage reports a DAM database whose binaries are not captured.
     */
    damBinaries: z.object({ host: z.string(), path: hostPath }).strict().optional(),
  })
  .strict();

/** The user directory the Portal authenticates against. */
export const ldapSchema = z
  .object({
    /** The host whose agent exports the directory. */
    host: z.string(),
    /** OpenLDAP: slapcat on the directory server itself. */
    openldap: z
      .object({
        suffix: z.string().min(1),
        /** slapd.conf (-f) or cn=config directory (-F); default the server's own. */
        configFile: hostPath.optional(),
        configDir: hostPath.optional(),
        command: command.optional(),
      })
      .strict()
      .optional(),
    /**
     * IBM Security Directory Server: the whole instance with idsdbback (its DB2 database,
     * ibmslapd.conf, the schema and the key stash that decrypts its AES-encrypted attributes),
     * restored with idsdbrestore. An LDIF export (db2ldif) without the instance's encryption
     * seed and salt does not load its encrypted attributes into a rebuilt server.
     */
    isds: z
      .object({
        /** The directory server instance (`idsdbback -I`). */
        instance: z.string().regex(/^[a-z0-9_]+$/, "must be an instance name (lower-case letters, digits, _)"),
        /** The instance's DB2 database, rolled forward after an online image is restored; default the instance name. */
        database: sqlIdentifier.optional(),
        /** The DB2 instance owner, who owns the staging directory and rolls forward; default the instance name. */
        instanceUser: osUser.optional(),
        /** idsdbback; idsdbrestore is taken from the same directory. */
        command: command.optional(),
      })
      .strict()
      .optional(),
    /** Any other directory: an ldapsearch export. */
    ldapsearch: z
      .object({
        uri: z.string().regex(/^ldaps?:\/\/\S+$/, "must be an ldap:// or ldaps:// URI"),
        bindDn: z.string().min(1),
        /** Config key of the bind password (secret); passed with -y <file>. */
        passwordSecret: secretRef,
        base: z.string().min(1),
        /**
         * The bind user can read the password hashes (userPassword). Without them the export cannot
         * rebuild the directory (every user would need a new password): coverage reports that, and a
         * run with `readsPasswords: true` fails when no person entry in the export carries one.
         */
        readsPasswords: z.boolean().default(false),
        command: command.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** XMLAccess exports of the base portal and each virtual portal (application tier). */
export const xmlaccessSchema = z
  .object({
    /** The configuration URL of the base portal. */
    url: z
      .string()
      .regex(/^https?:\/\/[^/\s]+\/\S*config$/, "must be the config URL, e.g. http://localhost:10039/wps/config"),
    user: z.string().min(1),
    /** Config key of the password (secret); given in a -useEncryptedCredentials properties file. */
    passwordSecret: secretRef,
    /** Virtual portal contexts, each exported with ExportUniqueRelease.xml against <url>/<context>. */
    virtualPortals: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, "must be a virtual portal context")).default([]),
    /** The xmlaccess.sh command; default <wp_profile>/PortalServer/bin/xmlaccess.sh. */
    command: command.optional(),
  })
  .strict();

export type DatabaseInput = z.infer<typeof databaseSchema>;
export type PostgresInput = z.infer<typeof postgresSchema>;
export type LdapInput = z.infer<typeof ldapSchema>;
export type XmlaccessInput = z.infer<typeof xmlaccessSchema>;

/** A duration such as 30m, 24h or 7d (RPOs, ages). */
export const durationSchema = z.string().regex(/^\d+[mhd]$/, "must be a duration such as 30m, 24h or 7d");

/** Data that applications read from outside the Portal databases and LDAP. */
export const remoteSourceSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "must be lower-case letters, digits and '-'"),
    kind: z.enum(["externalDatabase", "contentRepository", "restService", "fileShare"]),
    /** Who answers for it: a team and how to reach them. */
    owner: z.string().min(1),
    /** The recovery point objective the business needs, e.g. 24h. */
    rpo: durationSchema,
    /** Backed up by us: on a host, in that host's backup runs (same repository, same run id). */
    byUs: z
      .object({
        host: z.string(),
        /** Which of the host's backup schedules capture it; default all. */
        schedules: z.array(z.string()).min(1).optional(),
        /** A PostgreSQL database, dumped and streamed like the DAM database. */
        postgresql: postgresSchema.optional(),
        /** Any command whose standard output is the backup (an export, a dump): streamed into restic. */
        command: z
          .object({
            run: z.string().min(1),
            /** The file name it is stored under, e.g. crm-export.json. */
            filename: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a plain file name"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** Backed up by the system that owns it. */
    delegated: z
      .object({
        /** Where and with what: "NetApp SnapVault on filer01". */
        system: z.string().min(1),
        /** How often: "hourly snapshots, nightly vault copy". */
        frequency: z.string().min(1),
        /** A URL or ticket that shows it. */
        evidence: z.string().min(1),
        /** When someone last saw a restore from it work (YYYY-MM-DD). */
        lastVerified: z.string().regex(/^\d{4}-\d\d-\d\d$/, "must be a date YYYY-MM-DD"),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RemoteSourceInput = z.infer<typeof remoteSourceSchema>;

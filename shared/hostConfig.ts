import { z } from "zod";
import { retentionSchema } from "../components/policy/schema";

/**
 * The agent's configuration on one host: `agent.json`, written by Pulumi
 * (components/render/agentConfig.ts) and validated on the host by this very
 * schema before the agent does anything. Pure: no Pulumi import, so the
 * control plane and the agent share one definition.
 *
 * Secrets are never in it: it names the files that hold them (0600, under the
 * config dir), and the agent reads them only to hand them to the one tool
 * that needs them.
 */

export const HOST_CONFIG_VERSION = 2;

const absolute = z
  .string()
  .refine((p) => p.startsWith("/"), "must be an absolute path")
  .refine((p) => !p.includes("\0"), "must not contain a NUL character")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'");
/** A command: a name looked up on PATH, or an absolute path. */
const command = z.string().regex(/^[^\0\s]+$/, "must be a command name or an absolute path, without spaces");
const name = z.string().regex(/^[a-z][a-zA-Z0-9-]*$/, "must be a name of letters, digits and '-'");

const postgres = z.strictObject({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  database: z.string(),
  user: z.string(),
  passwordFile: absolute,
  dumpCommand: command,
});

const databaseEngine = z.discriminatedUnion("engine", [
  z.strictObject({ engine: z.literal("postgresql"), postgresql: postgres }),
  z.strictObject({
    engine: z.literal("db2"),
    db2: z.strictObject({
      database: z.string(),
      instanceUser: z.string().optional(),
      /** The declared LOGARCHMETH1 path: a backup warns when DB2 archives elsewhere. */
      archiveLogPath: z.string().optional(),
      command,
    }),
  }),
  z.strictObject({
    engine: z.literal("oracle"),
    oracle: z.strictObject({
      sid: z.string(),
      oracleHome: absolute.optional(),
      osUser: z.string().optional(),
      /** ARCHIVELOG mode: an offline backup then needs no shutdown (NOARCHIVELOG needs a mounted, closed database). */
      archivelogMode: z.boolean(),
      command,
    }),
  }),
  z.strictObject({
    engine: z.literal("sqlserver"),
    sqlserver: z.strictObject({
      server: z.string(),
      database: z.string(),
      user: z.string(),
      passwordFile: absolute,
      backupDir: absolute.optional(),
      /** backupDir as the SQL Server instance names it (it may be a Windows path). */
      serverBackupDir: z.string().optional(),
      command,
    }),
  }),
  z.strictObject({
    engine: z.literal("derby"),
    derby: z.strictObject({
      url: z.string(),
      user: z.string().optional(),
      passwordFile: absolute.optional(),
      command,
    }),
  }),
]);

export const pieceConfigSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("database"), domain: z.string(), database: databaseEngine }),
  z.strictObject({
    kind: z.literal("ldap"),
    ldap: z.discriminatedUnion("tool", [
      z.strictObject({
        tool: z.literal("openldap"),
        suffix: z.string(),
        configFile: absolute.optional(),
        configDir: absolute.optional(),
        command,
      }),
      z.strictObject({
        tool: z.literal("isds"),
        instance: z.string(),
        database: z.string(),
        instanceUser: z.string(),
        command,
      }),
      z.strictObject({
        tool: z.literal("ldapsearch"),
        uri: z.string(),
        bindDn: z.string(),
        passwordFile: absolute,
        base: z.string(),
        /** The bind user can read userPassword: an export without any fails the piece. */
        readsPasswords: z.boolean().default(false),
        command,
      }),
    ]),
  }),
  z.strictObject({
    kind: z.literal("remoteSource"),
    source: z.string(),
    by: z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("postgresql"), postgresql: postgres }),
      z.strictObject({
        kind: z.literal("command"),
        /** The operator's declared command, run as shell code on purpose. */
        run: z.string(),
        filename: z.string().regex(/^[^/\0]+$/, "must be a file name without '/'"),
      }),
    ]),
  }),
  z.strictObject({ kind: z.literal("wasConfig"), profile: absolute, profileRoot: z.string().regex(/^[^/\0]+$/) }),
  z.strictObject({
    kind: z.literal("xmlaccess"),
    command: absolute,
    url: z.string(),
    request: absolute,
    user: z.string(),
    passwordFile: absolute,
    virtualPortal: z.string().optional(),
  }),
]);

export const scheduleConfigSchema = z.strictObject({
  kind: z.enum(["backup", "drill"]),
  mode: z.enum(["online", "offline"]),
  cron: z.string(),
  timezone: z.string(),
  /** Each path with the target it belongs to, in order. */
  targets: z.array(z.strictObject({ target: z.string(), path: absolute })),
  retention: retentionSchema,
  /** What tools capture in the same run, by name (keys of `pieces`). */
  pieces: z.array(name),
});

export const hostConfigSchema = z
  .strictObject({
    version: z.literal(HOST_CONFIG_VERSION),
    policy: name,
    environment: z.string(),
    host: z.string().min(1),
    role: z.string(),
    repository: z.strictObject({
      url: z.string().min(1),
      /** restic options the storage needs (CA bundle, sftp command): argv words. */
      options: z.array(z.string()),
      passwordFile: absolute,
      /** A JSON object of environment variables for restic only (storage credentials). */
      storageEnvFile: absolute,
      /**
       * The storage refuses deletes (rest-server --append-only): the agent forgets nothing and
       * marks a failed run with a snapshot of its own instead of re-tagging the run's snapshots.
       */
      appendOnly: z.boolean().default(false),
    }),
    restic: command,
    fileEngine: z.enum(["restic", "tsm"]),
    tsm: z.strictObject({ dsmc: command, options: z.array(z.string()) }),
    configDir: absolute,
    stateDir: absolute,
    pruneEveryDays: z.number().int().min(1),
    iim: z.strictObject({ installDir: absolute, agentDataDir: absolute, sharedDir: absolute }),
    excludes: z.array(z.string()),
    /** Shell commands, run as shell code on purpose: the operator's own stop and start procedure. */
    offline: z.strictObject({
      stop: z.array(z.string()),
      start: z.array(z.string()),
      /** The files holding the secrets the commands refer to (`"{{secret:KEY}}"`), by KEY. */
      secretFiles: z.record(z.string(), absolute).default({}),
    }),
    /** The WebSphere profile's owner: its tools and the offline commands run as that user. */
    runAs: z.strictObject({ user: z.string(), umask: z.string() }).optional(),
    drill: z.strictObject({ readDataSubset: z.string().regex(/^\d+(\.\d+)?%$|^\d+\/\d+$/) }),
    /** Files holding the alert URLs (secrets: they carry tokens). */
    alerts: z.strictObject({ webhookUrlFile: absolute.optional(), pingUrlFile: absolute.optional() }),
    schedules: z.record(name, scheduleConfigSchema),
    pieces: z.record(name, pieceConfigSchema),
  })
  .superRefine((c, ctx) => {
    for (const [s, schedule] of Object.entries(c.schedules)) {
      schedule.pieces.forEach((p, i) => {
        if (!c.pieces[p])
          ctx.addIssue({
            code: "custom",
            path: ["schedules", s, "pieces", i],
            message: `names piece '${p}', which is not in pieces`,
          });
      });
    }
  });

export type HostConfig = z.infer<typeof hostConfigSchema>;
export type ScheduleConfig = z.infer<typeof scheduleConfigSchema>;
export type PieceConfig = z.infer<typeof pieceConfigSchema>;
export type DatabasePieceConfig = Extract<PieceConfig, { kind: "database" }>;

/** Every secret file the config names, with the key that names it (checked on the host at load). */
export function secretFiles(c: HostConfig): Array<{ key: string; file: string }> {
  const files = [
    { key: "repository.passwordFile", file: c.repository.passwordFile },
    { key: "repository.storageEnvFile", file: c.repository.storageEnvFile },
  ];
  if (c.alerts.webhookUrlFile) files.push({ key: "alerts.webhookUrlFile", file: c.alerts.webhookUrlFile });
  if (c.alerts.pingUrlFile) files.push({ key: "alerts.pingUrlFile", file: c.alerts.pingUrlFile });
  for (const [n, p] of Object.entries(c.pieces)) {
    const at = (k: string, file: string | undefined) => {
      if (file) files.push({ key: `pieces.${n}.${k}`, file });
    };
    if (p.kind === "database") {
      const d = p.database;
      if (d.engine === "postgresql") at("database.postgresql.passwordFile", d.postgresql.passwordFile);
      if (d.engine === "sqlserver") at("database.sqlserver.passwordFile", d.sqlserver.passwordFile);
      if (d.engine === "derby") at("database.derby.passwordFile", d.derby.passwordFile);
    }
    if (p.kind === "ldap" && p.ldap.tool === "ldapsearch") at("ldap.passwordFile", p.ldap.passwordFile);
    if (p.kind === "remoteSource" && p.by.kind === "postgresql")
      at("by.postgresql.passwordFile", p.by.postgresql.passwordFile);
    if (p.kind === "xmlaccess") at("passwordFile", p.passwordFile);
  }
  return files;
}

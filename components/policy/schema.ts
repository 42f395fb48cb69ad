import { z } from "zod";
import { xmlaccessSchema, DOMAINS } from "./captureSchema";
import { agentPath, hostPath, port, days, resticDuration, secretRef, identifier } from "./primitives";

export { agentPath, hostPath, secretRef, resticDuration };

/**
 * The zod schema of a backup policy, one schema per Pulumi config key of the
 * `dxbackup` namespace. Every object is strict: a typo in a key must fail the
 * review, not silently fall back to a default.
 *
 * Defaults for the standard HCL DX install paths are applied later, in
 * `resolve.ts`, because they depend on the host's role.
 */

/** restic-style retention. Each count keeps the newest snapshot of that many distinct periods. */
export const retentionSchema = z
  .object({
    /** Keep the newest N snapshots. */
    keepLast: z.number().int().min(0).optional(),
    /** Keep the newest snapshot of each of the last N hours that have one. */
    keepHourly: z.number().int().min(0).optional(),
    /** Keep the newest snapshot of each of the last N days that have one. */
    keepDaily: z.number().int().min(0).optional(),
    /** Keep the newest snapshot of each of the last N ISO weeks that have one. */
    keepWeekly: z.number().int().min(0).optional(),
    /** Keep the newest snapshot of each of the last N months that have one. */
    keepMonthly: z.number().int().min(0).optional(),
    /** Keep the newest snapshot of each of the last N years that have one. */
    keepYearly: z.number().int().min(0).optional(),
    /** Keep every snapshot taken within this duration of the newest one. */
    keepWithin: resticDuration.optional(),
  })
  .strict();

/** A KMS key's ARN: IAM grants the use of a key on its key ARN only, never on an alias. */
const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>), not an alias: IAM policies grant the use of a key on its key ARN only",
  );

export const s3StorageSchema = z
  .object({
    /** AWS region of the bucket, e.g. eu-central-1. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-central-1"),
    /** Bucket name; Pulumi auto-names the bucket when omitted. */
    bucketName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name")
      .optional(),
    /**
     * An existing KMS key that encrypts new objects. The stack's own key is
     * created and kept either way: objects written before a switch stay
     * encrypted with it, and hosts keep decrypting them.
     */
    kmsKeyArn: kmsKeyArn.optional(),
    /**
     * Keys of your own that encrypted the bucket's objects before `kmsKeyArn`
     * (when you move from one of your keys to another): hosts keep
     * `kms:Decrypt` on them, since restic reads old pack files for ever.
     */
    formerKmsKeyArns: z.array(kmsKeyArn).default([]),
    /** Days after which overwritten or deleted object versions are expired. */
    noncurrentVersionDays: days.default(90),
    /** Days after which incomplete multipart uploads are aborted. */
    abortIncompleteUploadDays: days.default(7),
    /** S3 Object Lock default retention: makes every object version immutable for `days`. */
    objectLock: z
      .object({
        mode: z.enum(["GOVERNANCE", "COMPLIANCE"]).default("GOVERNANCE"),
        days,
      })
      .strict()
      .optional(),
    /** Replicate every object to a bucket in a second region (disaster recovery). */
    replication: z
      .object({
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-west-1"),
        storageClass: z.enum(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR"]).default("STANDARD_IA"),
      })
      .strict()
      .optional(),
  })
  .strict();

export const s3CompatibleStorageSchema = z
  .object({
    /** Endpoint URL, e.g. https://minio.example.com:9000. */
    endpoint: z.string().regex(/^https?:\/\/[^/\s]+$/, "must be a URL such as https://s3.example.com:9000 (no path)"),
    /** Existing bucket. */
    bucket: z.string().min(3, "must name an existing bucket"),
    /** Key prefix inside the bucket; each host gets `<prefix>/<host>`. */
    prefix: z
      .string()
      .regex(
        /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
        "must be a key prefix such as dx/prod (no leading or trailing '/')",
      )
      .optional(),
    /** Config key holding the access key id (secret). */
    accessKeyIdSecret: secretRef.default("s3AccessKeyId"),
    /** Config key holding the secret access key (secret). */
    secretAccessKeySecret: secretRef.default("s3SecretAccessKey"),
    /** Path on the hosts of a PEM CA bundle that signs the endpoint's certificate. */
    caCertificatePath: hostPath.optional(),
  })
  .strict();

export const sftpStorageSchema = z
  .object({
    host: z.string().regex(/^[A-Za-z0-9.:-]+$/, "must be a host name or IP address"),
    port: port.default(22),
    /**
     * The SFTP user. With `{host}` in it (e.g. `dxb-{host}`), each host logs in as a user of its
     * own, with its own key derived from privateKeySecret (stack output `sftpAuthorizedKeys`):
     * chroot each user on the server, and no host can touch another's repository.
     */
    user: z
      .string()
      .regex(/^([A-Za-z0-9._-]|\{host\})+$/, "must be a user name (letters, digits, . _ -), optionally with {host}"),
    /** Directory on the SFTP server; each host gets `<path>/<host>`. */
    path: hostPath,
    /** The server's host key line (`ssh-ed25519 AAAA...`): the agent refuses any other key. */
    hostKey: z.string().regex(/^(ssh-|ecdsa-)\S+ \S+/, "must be a public host key line such as 'ssh-ed25519 AAAA...'"),
    /**
     * Config key holding the private key the hosts log in with (secret); with `{host}` in `user`,
     * any secret value: each host's key is derived from it.
     */
    privateKeySecret: secretRef.default("sftpPrivateKey"),
  })
  .strict();

export const restStorageSchema = z
  .object({
    /**
     * restic's rest-server, e.g. https://backup.example.com:8000 (no path). It must run with
     * --private-repos: each host is a user of its own, `<policy>.<host>`, whose repository is
     * `/<policy>.<host>/`, and no host can reach another's.
     */
    url: z
      .string()
      .regex(
        /^https?:\/\/[^/\s@?#]+$/,
        "must be a URL such as https://backup.example.com:8000 (no path, query or user)",
      ),
    /**
     * Config key of the secret each host's rest-server password is derived from (secret); the
     * server's htpasswd file is the stack output `restHtpasswd`.
     */
    passwordSecret: secretRef.default("restPassword"),
    /**
     * The server runs with --append-only (recommended): a host can add snapshots but never delete
     * one, so its agent applies no retention; `dxbackup prune` does, on the storage server.
     */
    appendOnly: z.boolean().default(true),
    /** Path on the hosts of a PEM CA bundle that signs the server's certificate. */
    caCertificatePath: hostPath.optional(),
  })
  .strict();

export const filesystemStorageSchema = z
  .object({
    /** Directory on each host (usually an NFS mount); each host gets `<path>/<host>`. */
    path: hostPath,
  })
  .strict();

/** Where the restic repositories live: exactly one of the five kinds. */
export const storageSchema = z
  .object({
    s3: s3StorageSchema.optional(),
    s3Compatible: s3CompatibleStorageSchema.optional(),
    sftp: sftpStorageSchema.optional(),
    rest: restStorageSchema.optional(),
    filesystem: filesystemStorageSchema.optional(),
  })
  .strict();

/**
 * databaseServer: a host that only runs database backups; directoryServer: one that only exports
 * the directory (LDAP). Neither has an IIM-installed product. remoteSearch: the server of HCL's
 * Remote Search Service, a WebSphere profile of its own that holds the search collections.
 */
export const HOST_ROLES = [
  "portalNode",
  "deploymentManager",
  "webServer",
  "databaseServer",
  "directoryServer",
  "remoteSearch",
] as const;
export type HostRole = (typeof HOST_ROLES)[number];

/** File-system roots a host can have; which ones apply depends on its role. */
export const ROOT_KEYS = [
  "portalServer",
  "wpProfile",
  "dmgrProfile",
  "searchProfile",
  "appServer",
  "webServer",
  "plugins",
] as const;
export type RootKey = (typeof ROOT_KEYS)[number];

/** File-system targets have paths; the others are captured by tools (see captureSchema.ts). */
export const TARGETS = [...ROOT_KEYS, "iim", "custom", "wasConfig", "xmlaccess", "databases", "ldap"] as const;
export type Target = (typeof TARGETS)[number];

export const hostSchema = z
  .object({
    /** Short name, used in resource names and the repository path. */
    name: identifier("host name"),
    /** DNS name or IP address the SSH connection uses. */
    address: z.string().min(1, "must be a DNS name or IP address"),
    /** What runs on the host; decides the default roots. */
    role: z.enum(HOST_ROLES).default("portalNode"),
    ssh: z
      .object({
        user: z.string().min(1).default("root"),
        port: port.default(22),
        /** Config key holding the SSH private key (secret). */
        privateKeySecret: secretRef.default("sshPrivateKey"),
        /** Run the installer with `sudo -n`; defaults to true for users other than root. */
        sudo: z.boolean().optional(),
        /**
         * The host's SSH public key (`ssh-ed25519 AAAA...`, as `ssh-keyscan` prints it): the deploy
         * refuses a host that presents another key before sending anything. Required in production.
         */
        hostKey: z
          .string()
          .regex(
            /^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/]+=*( .*)?$/,
            "must be a public host key line such as 'ssh-ed25519 AAAA...'",
          )
          .optional(),
      })
      .strict()
      .default({ user: "root", port: 22, privateKeySecret: "sshPrivateKey" }),
    /** Install roots; unset ones get the HCL DX defaults for the host's role. */
    roots: z
      .object({
        /** PortalServer_root, default /opt/HCL/PortalServer. */
        portalServer: hostPath.optional(),
        /** wp_profile_root, default /opt/HCL/wp_profile. */
        wpProfile: hostPath.optional(),
        /** Deployment Manager profile, default /opt/HCL/AppServer/profiles/Dmgr01. */
        dmgrProfile: hostPath.optional(),
        /** The Remote Search Service's profile (its search collections), default /opt/HCL/AppServer/profiles/prs_profile. */
        searchProfile: hostPath.optional(),
        /** AppServer_root, default /opt/HCL/AppServer. */
        appServer: hostPath.optional(),
        /** IBM HTTP Server, default /opt/IBM/HTTPServer. */
        webServer: hostPath.optional(),
        /** Web server plug-ins, default /opt/IBM/WebSphere/Plugins. */
        plugins: hostPath.optional(),
      })
      .strict()
      .default({}),
    /** The three IBM Installation Manager directories, always captured together. */
    iim: z
      .object({
        /** Default /opt/IBM/InstallationManager. */
        installDir: hostPath.optional(),
        /** `cic.appDataLocation`; default /var/ibm/InstallationManager. */
        agentDataDir: hostPath.optional(),
        /** Default /opt/IBM/IMShared. */
        sharedDir: hostPath.optional(),
      })
      .strict()
      .default({}),
    /** Further paths: SSL keystores, shared libraries, ... */
    customPaths: z.array(z.object({ name: identifier("custom path name"), path: hostPath }).strict()).default([]),
    /** Exclude patterns (restic syntax); replaces the default logs/temp/cache excludes. */
    excludes: z.array(z.string().min(1)).optional(),
    /**
     * The OS user that owns the WebSphere profile, and the umask its tools run with.
     * backupConfig.sh, restoreConfig.sh, xmlaccess.sh and the offline stop and start
     * commands then run as that user (`su -s /bin/bash - <user>`), so that a non-root install
     * never gets root-owned configuration and root never runs a script that user can edit.
     * Without it they run as root, and the agent refuses a script that anyone but root can change.
     */
    runAs: z
      .object({
        user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be an operating-system user name"),
        /** Octal, as the shell's umask takes it; default 022 (what WebSphere installs with). */
        umask: z
          .string()
          .regex(/^0?[0-7]{3}$/, "must be an octal umask such as 022 or 027")
          .default("022"),
      })
      .strict()
      .optional(),
    /** How to stop and start the servers for offline schedules; run with bash, in order. */
    offline: z
      .object({
        stop: z.array(z.string().min(1)).min(1, "needs at least one stop command"),
        start: z.array(z.string().min(1)).min(1, "needs at least one start command"),
      })
      .strict()
      .optional(),
    /** The host is an EC2 instance: the system tier is AWS Backup (dxbackup:system.aws). */
    ec2: z.boolean().default(false),
    /**
     * The host is gone for good (decommissioned, unreachable): `pulumi up` records that and never
     * contacts it again, so a later removal of the host from the stack succeeds without SSH; its
     * snapshots stay in the repository.
     */
    decommissioned: z.boolean().default(false),
    /**
     * Names this host had before (oldest first): its resources keep their identity under the new
     * name (aliases), so a rename updates the install and its credentials in place. The new name is a
     * new repository (`<policy>/<name>`); the old one keeps its snapshots.
     */
    formerNames: z.array(identifier("former host name")).default([]),
    /** What backs up the file systems: restic (default) or IBM Spectrum Protect (TSM). */
    fileEngine: z.enum(["restic", "tsm"]).default("restic"),
    /** The Spectrum Protect client, for fileEngine: tsm. */
    tsm: z
      .object({
        /** The dsmc command; default dsmc. */
        dsmc: hostPath.optional(),
        /** A client options file (-optfile=). */
        optFile: hostPath.optional(),
        /** The server schedules the node instead of our timer: its name and when it runs (for the plan). */
        serverSchedule: z
          .object({ name: z.string().min(1), cron: z.string().min(1), timezone: z.string().default("UTC") })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** XMLAccess exports of this node's portal (portal nodes only). */
    xmlaccess: xmlaccessSchema.optional(),
    /** Where the agent lives on the host. */
    agent: z
      .object({
        installDir: agentPath.optional(),
        configDir: agentPath.optional(),
        stateDir: agentPath.optional(),
        systemdDir: agentPath.optional(),
        cronDir: agentPath.optional(),
        /**
         * The restic the agent runs: `restic` (found on the scheduler's PATH)
         * or an absolute path, e.g. a newer static binary in /opt.
         */
        restic: z.union([z.literal("restic"), agentPath]).default("restic"),
        /** `auto` uses systemd timers when systemd runs, else a cron.d entry. */
        scheduler: z.enum(["auto", "systemd", "cron"]).default("auto"),
        /**
         * How the agent runs: `node` (default), one JavaScript file run by the host's Node.js 20 or
         * later; `linux-x64`, a self-contained executable (Node's single executable application,
         * about 100 MB, sent only when it changes) for x86-64 Linux hosts without Node.js.
         */
        runtime: z.enum(["node", "linux-x64"]).default("node"),
      })
      .strict()
      .default({ scheduler: "auto", restic: "restic", runtime: "node" }),
  })
  .strict();

export const scheduleSchema = z
  .object({
    name: identifier("schedule name"),
    /** backup: take a recovery point; drill: restore the latest one into scratch and verify it. */
    kind: z.enum(["backup", "drill"]).default("backup"),
    /** Five-field cron expression: minute hour day-of-month month day-of-week. */
    cron: z.string().min(1),
    /** IANA time zone the cron expression is read in. */
    timezone: z.string().default("UTC"),
    /** online: servers keep running; offline: stop, copy, start (consistent, costs downtime). */
    mode: z.enum(["online", "offline"]).default("online"),
    /** What to back up; by default everything each host has. */
    targets: z.array(z.enum(TARGETS)).min(1).optional(),
    /** Which hosts; by default all. */
    hosts: z.array(z.string()).min(1).optional(),
    /** Which database domains; by default all declared (when the targets include databases). */
    databases: z.array(z.enum(DOMAINS)).min(1).optional(),
    /** Overrides `dxbackup:retention` for this schedule's snapshots. */
    retention: retentionSchema.optional(),
  })
  .strict();

/**
 * Where a failed or partial run, a failed drill and a run that did not happen
 * reach a person. Both URLs carry tokens, so both are config keys of secrets.
 */
export const alertsSchema = z
  .object({
    /** A config key holding a webhook URL: every failed or partial run and failed drill is POSTed to it as JSON. */
    webhookUrlSecret: secretRef.optional(),
    /**
     * A config key holding a healthchecks-style ping URL (e.g. https://hc-ping.com/<ping key>).
     * Each host and schedule pings `<url>/dxbackup-<policy>-<host>-<schedule>` with `/start`,
     * nothing (success) or `/fail`: the receiver notices a run that did not happen when due.
     */
    pingUrlSecret: secretRef.optional(),
  })
  .strict();

export const agentSettingsSchema = z
  .object({
    /** Run `restic prune` after a successful run at most every N days. */
    pruneEveryDays: days.default(7),
    /** Alerts that reach a person without anyone reading status files. */
    alerts: alertsSchema.optional(),
  })
  .strict();

export type S3Storage = z.infer<typeof s3StorageSchema>;
export type S3CompatibleStorage = z.infer<typeof s3CompatibleStorageSchema>;
export type SftpStorage = z.infer<typeof sftpStorageSchema>;
export type RestStorage = z.infer<typeof restStorageSchema>;
export type FilesystemStorage = z.infer<typeof filesystemStorageSchema>;
export type StorageInput = z.infer<typeof storageSchema>;
export type HostInput = z.infer<typeof hostSchema>;
export type ScheduleInput = z.infer<typeof scheduleSchema>;
export type Retention = z.infer<typeof retentionSchema>;
export type AgentSettings = z.infer<typeof agentSettingsSchema>;

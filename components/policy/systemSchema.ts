import { z } from "zod";

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-central-1");
const days = z.number().int().min(1).max(36500);
const duration = z.string().regex(/^\d+[mhd]$/, "must be a duration such as 30m, 24h or 7d");

/**
 * The system tier: whole hosts, for the catastrophic case. EC2 hosts get an
 * AWS Backup plan; hosts elsewhere declare the external tool that covers them.
 */
export const systemSchema = z
  .object({
    aws: z
      .object({
        region,
        /** Which EC2 instances: those carrying this tag (default dxbackup:policy = the policy name)... */
        selectionTag: z
          .object({ key: z.string().min(1), value: z.string().min(1) })
          .strict()
          .optional(),
        /** ...or these instance ARNs. */
        instanceArns: z.array(z.string().startsWith("arn:aws:ec2:", "must be an EC2 instance ARN")).optional(),
        /** Five-field cron, read in `timezone`. */
        cron: z.string().default("0 1 * * *"),
        timezone: z.string().default("UTC"),
        startWindowMinutes: z.number().int().min(60).max(10080).default(60),
        completionWindowMinutes: z.number().int().min(120).max(100000).default(480),
        coldStorageAfterDays: days.optional(),
        deleteAfterDays: days.default(35),
        /** Vault lock: recovery points cannot be deleted before minRetentionDays, nor kept past maxRetentionDays. */
        vaultLock: z
          .object({
            minRetentionDays: days,
            maxRetentionDays: days,
            changeableForDays: z.number().int().min(3).optional(),
          })
          .strict()
          .optional(),
        /** Copy every recovery point to a vault in a second region. */
        copyToRegion: region.optional(),
        /** E-mail address subscribed to failure notifications. */
        notifyEmail: z.string().email().optional(),
        /** A restore testing plan: restores the latest recovery point on this cron and validates it. */
        restoreTesting: z
          .object({ cron: z.string().default("0 6 * * 0"), timezone: z.string().default("UTC") })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** Hosts outside AWS: the tool that backs the whole host up, declared with evidence. */
    external: z
      .array(
        z
          .object({
            hosts: z.array(z.string()).min(1),
            tool: z.string().min(1),
            owner: z.string().min(1),
            evidence: z.string().min(1),
            lastVerified: z.string().regex(/^\d{4}-\d\d-\d\d$/, "must be a date YYYY-MM-DD"),
            /** How often it runs, as a five-field cron (for the RPO). */
            cron: z.string().default("0 0 * * 0"),
            timezone: z.string().default("UTC"),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** Recovery point objectives by kind of data, and how fresh delegated evidence must be. */
export const coverageSchema = z
  .object({
    /** Target RPO per kind: default, files, iim, databases, ldap, wasConfig, xmlaccess, system. */
    rpo: z
      .object({
        default: duration.default("24h"),
        files: duration.optional(),
        iim: duration.optional(),
        databases: duration.optional(),
        ldap: duration.optional(),
        wasConfig: duration.optional(),
        xmlaccess: duration.optional(),
        system: duration.default("7d"),
      })
      .strict()
      .default({ default: "24h", system: "7d" }),
    /** Delegated backups whose lastVerified is older than this are findings. */
    maxEvidenceAgeDays: days.default(180),
  })
  .strict();

export type SystemInput = z.infer<typeof systemSchema>;
export type CoverageInput = z.infer<typeof coverageSchema>;

import { z } from "zod";
import { databaseSchema, ldapSchema, remoteSourceSchema } from "./captureSchema";
import { coverageSchema, systemSchema } from "./systemSchema";
import { agentSettingsSchema, hostSchema, retentionSchema, scheduleSchema, storageSchema } from "./schema";

const identifier = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,29}$/,
    "must be lower-case letters, digits and '-', starting with a letter (at most 30 characters)",
  );

/**
 * The `dxbackup:` config keys of a stack, as one object. Keys that hold
 * secrets (`repositoryPassword`, and whatever `*Secret` fields name) are read
 * separately and never enter the policy object.
 */
export const configSchema = z.object({
  /** Environment name: dev, staging, prod, ... */
  environment: identifier,
  /** Namespace of resources and host paths; default `dx-<environment>`. */
  name: identifier.optional(),
  /** Production stacks get stricter findings; default: environment is prod or production. */
  production: z.boolean().optional(),
  storage: storageSchema,
  hosts: z.array(hostSchema).min(1, "declare at least one host"),
  schedules: z.array(scheduleSchema).min(1, "declare at least one schedule"),
  /** Default retention for every schedule. */
  retention: retentionSchema.optional(),
  /** The Portal database domains (and DAM), each with its engine and the host that backs it up. */
  databases: z.array(databaseSchema).default([]),
  /** The user directory. */
  ldap: ldapSchema.optional(),
  /** Data applications read from outside the Portal databases and LDAP, and who protects it. */
  remoteSources: z.array(remoteSourceSchema).default([]),
  /** Whole-host backups: AWS Backup for EC2 hosts, declared external tools elsewhere. */
  system: systemSchema.optional(),
  /** Target RPOs and evidence age for the coverage report. */
  coverage: coverageSchema.default({ rpo: { default: "24h", system: "7d" }, maxEvidenceAgeDays: 180 }),
  agent: agentSettingsSchema.default({ pruneEveryDays: 7 }),
});

export type PolicyInput = z.infer<typeof configSchema>;

/** How each key is stored in Pulumi config: structured values arrive as JSON text. */
export const KEY_KINDS: Record<keyof PolicyInput, "string" | "boolean" | "object"> = {
  environment: "string",
  name: "string",
  production: "boolean",
  storage: "object",
  hosts: "object",
  schedules: "object",
  retention: "object",
  databases: "object",
  ldap: "object",
  remoteSources: "object",
  system: "object",
  coverage: "object",
  agent: "object",
};

/** The secret every policy needs. */
export const REPOSITORY_PASSWORD_KEY = "repositoryPassword";

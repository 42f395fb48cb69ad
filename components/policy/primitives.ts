import { z } from "zod";

/** Building blocks of the policy schemas. */

/** Names that end up in resource names, host paths and unit names. */
export const identifier = (what: string) =>
  z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,39}$/,
      `${what} must be lower-case letters, digits and '-', starting with a letter (at most 40 characters)`,
    );

/** An absolute path on a Portal host. Any character but NUL is allowed: the agent never evaluates paths. */
export const hostPath = z
  .string()
  .refine((p) => p.startsWith("/"), "must be an absolute path (starting with '/')")
  .refine((p) => !p.includes("\0"), "must not contain a NUL character")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'");

/** A directory the agent owns: plain characters only, because it appears in unit files and cron lines. */
export const agentPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._/-]*$/, "must be an absolute path of letters, digits and . _ - / only")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'");

/** The name of another `dxbackup:` config key that holds a secret (set with `pulumi config set --secret`). */
export const secretRef = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "must name a config key of this stack, e.g. sshPrivateKey");

export const port = z.number().int().min(1).max(65535);
export const days = z.number().int().min(1).max(36500);

/** restic's duration syntax for `--keep-within`: years, months, days, hours, e.g. `1y6m`, `30d`. */
export const resticDuration = z
  .string()
  .regex(/^(?=\d)(\d+y)?(\d+m)?(\d+d)?(\d+h)?$/, "must be a restic duration such as 30d, 6m or 1y2m (y, m, d, h)");

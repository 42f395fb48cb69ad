import { accessSync, constants, existsSync, mkdirSync, readFileSync } from "node:fs";
import type { AgentContext } from "./context";
import { EXIT, UsageError } from "./errors";
import { errorLineOf } from "./exec";
import { tryLock } from "./lock";
import { RESTIC_ERROR } from "./restic";

/**
 * `rekey OLD_PASSWORD_FILE`: the stack's repositoryPassword changed; the
 * installer has just put the new password in repository.passwordFile and
 * passes the old one. The new password is added as a key of the repository
 * (opened with the old one), then the old key is removed, so that backups go
 * on and the old password opens nothing. Holds the run lock (waiting up to 10
 * minutes), so no backup starts half-way. Safe to run again: a repository the
 * new password already opens only loses a key the old password still opens.
 *
 * Exit status: 0 when the new password opens the repository (or there is
 * none yet) and the old one nothing, 3 when the new one opens it but the old
 * key could not be removed yet (a lock, or storage that refuses deletes: the
 * installer keeps the old password to try again), 1 when the repository still
 * opens with the old password only.
 */
export async function rekeyCommand(ctx: AgentContext, oldPasswordFile: string): Promise<number> {
  const usage = "rekey OLD_PASSWORD_FILE: the file with the previous password is required";
  const PROBE_SECONDS = 60;
  if (!oldPasswordFile) throw new UsageError(usage);
  try {
    accessSync(oldPasswordFile, constants.R_OK);
  } catch {
    throw new UsageError(usage);
  }
  const { config, state } = ctx;
  const url = config.repository.url;
  mkdirSync(state.dir, { recursive: true });
  if (!tryLock(state.lock, 600)) {
    process.stderr.write(`dx-backup: ERROR: a run held ${state.lock} for 10 minutes\n`);
    return EXIT.failed;
  }
  const current = ctx.restic;
  const previous = ctx.restic.withPassword(oldPasswordFile);

  // restic 0.17 and later retry an unreachable repository for 15 minutes: the install (pulumi up)
  // must not hang that long, so the first probe has a bound of its own.
  const probe = await current.run(["cat", "config"], { timeoutMs: PROBE_SECONDS * 1000 });
  if (probe.timedOut) {
    process.stderr.write(
      `dx-backup: ERROR: neither the new nor the previous repository password opens ${url}: restic could not reach it within ${PROBE_SECONDS} s\n`,
    );
    return EXIT.failed;
  }
  if (probe.code !== 0) {
    const opened = await previous.run(["cat", "config"]);
    if (opened.code !== 0) {
      const out = `${opened.stdout}${opened.stderr}`;
      // restic says "Is there a repository" for a missing repository and for one it cannot
      // reach alike: only a repository this host never initialised may be missing.
      if (out.includes("Is there a repository at the following location?") && !initialisedHere(ctx)) {
        process.stdout.write(`dx-backup: no repository at ${url} yet: the new password will create it\n`);
        return EXIT.ok;
      }
      process.stderr.write(
        `dx-backup: ERROR: neither the new nor the previous repository password opens ${url}: ${errorLineOf(out, RESTIC_ERROR)}\n`,
      );
      return EXIT.failed;
    }
    const added = await previous.run(["key", "add", "--new-password-file", config.repository.passwordFile]);
    if (added.code !== 0) {
      process.stderr.write(added.stderr);
      return EXIT.failed;
    }
    process.stdout.write(`dx-backup: ${url} now opens with the new repository password\n`);
  }

  const removal = await removePreviousKey(ctx, oldPasswordFile);
  if (removal.removed) process.stdout.write(`dx-backup: ${removal.message}\n`);
  if (removal.kept) process.stderr.write(`dx-backup: WARNING: ${removal.message}\n`);
  return removal.kept ? EXIT.partial : EXIT.ok;
}

/**
 * Removes the key the previous password opens, if it still opens one. `kept`:
 * it could not be removed (a lock, or storage that refuses deletes); the
 * installer then keeps the previous password as `rekeyPending`, and every
 * run tries again (the caller holds the run lock).
 */
export async function removePreviousKey(
  ctx: AgentContext,
  oldPasswordFile: string,
): Promise<{ removed: boolean; kept: boolean; message: string }> {
  const url = ctx.config.repository.url;
  // The previous password's key, if it still opens the repository: its "current" key.
  const listing = await ctx.restic.withPassword(oldPasswordFile).run(["key", "list", "--json"]);
  if (listing.code !== 0) {
    // Only restic's own word (exit 12 from 0.17 on, the message before) says the key is gone; a
    // lock or an unreachable repository says nothing about it, and the key may still be there.
    const out = `${listing.stdout}${listing.stderr}`;
    if (listing.code === 12 || /wrong password or no key found/.test(out))
      return { removed: false, kept: false, message: "the previous password opens nothing" };
    return {
      removed: false,
      kept: true,
      message: `could not check whether the previous key of ${url} is gone (${errorLineOf(out, RESTIC_ERROR)}); every run tries again`,
    };
  }
  const oldId = currentKeyId(listing.stdout);
  if (!oldId) return { removed: false, kept: false, message: "the previous password opens nothing" };
  if ((await ctx.restic.run(["key", "remove", oldId])).code === 0)
    return {
      removed: true,
      kept: false,
      message: `removed the previous key ${oldId}: the previous password opens nothing`,
    };
  return {
    removed: false,
    kept: true,
    message: ctx.config.repository.appendOnly
      ? `the previous key ${oldId} of ${url} stays: the storage refuses deletes; remove it on the storage server (restic key remove ${oldId})`
      : `the previous key ${oldId} of ${url} could not be removed yet; every run tries again until it is`,
  };
}

/** Whether this host initialised the repository at the configured URL (the marker names it). */
function initialisedHere(ctx: AgentContext): boolean {
  const marker = ctx.state.repositoryInitialized;
  return existsSync(marker) && readFileSync(marker, "utf8").replace(/\n+$/, "") === ctx.config.repository.url;
}

/** The id of the key marked current in `restic key list --json` ("" when none). */
export function currentKeyId(json: string): string {
  try {
    const keys = JSON.parse(json) as Array<{ current?: boolean; id?: string }> | null;
    const id = (keys ?? []).find((k) => k.current === true)?.id ?? "";
    return /^[0-9a-f]+$/.test(id) ? id : "";
  } catch {
    return "";
  }
}

/** The first line that names an error (bash `first_error`), at most 300 characters. */

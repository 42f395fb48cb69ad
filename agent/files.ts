import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lchownSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { must } from "./exec";
import { randomBytes } from "node:crypto";

/** FILE replaced in one step (a reader never sees half of it); private unless MODE says otherwise. */
export function publish(file: string, content: string, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.publish.${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "wx", mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** A private file (0600) created anew: password files for one tool. */
export function writePrivate(file: string, content: string): void {
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** Whether anything (a dangling symlink included) is at P. */
export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Gives DIR, a directory root made and filled while it was root's alone, to another user: each
 * entry first (lchown: never through a link), the directory last. In that order the user never
 * holds the directory while root still changes what is in it; the other way round they could
 * swap a file for a link to /etc/shadow before root's chown, which follows links.
 */
export function giveDir(dir: string, owner: { uid: number; gid: number }): void {
  for (const entry of readdirSync(dir)) lchownSync(path.join(dir, entry), owner.uid, owner.gid);
  chownSync(dir, owner.uid, owner.gid);
}

/**
 * The text of a file another user could have replaced: only a regular file, never through a
 * link, and never waiting on a FIFO; undefined otherwise (or when it is not there).
 */
export function readRegularFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, "utf8") : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes a tree that another user may reach (what the profile's owner, a DB2 instance owner or
 * mssql was handed, or restored files with the backup's owners). Node's recursive rmSync works by
 * path: a directory swapped for a link between its checks would have root delete wherever the
 * link points. coreutils' rm walks by file descriptor and never follows a link; it stays on the
 * tree's file system. Synchronous, as its callers are; a failure throws.
 */
export function removeTree(p: string): void {
  const r = spawnSync("rm", ["-rf", "--one-file-system", "--", p], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rm -rf ${p} failed: ${(r.stderr || r.error?.message || "").trim()}`);
}

/** Lets a database's OS user reach FILE under the state directory (adds o+x, g+x to each directory on the way). */
export function allowTraverse(stateDir: string, file: string): void {
  for (let d = path.dirname(file); d === stateDir || d.startsWith(`${stateDir}/`); d = path.dirname(d)) {
    chmodSync(d, (statSync(d).mode & 0o7777) | 0o011);
    if (d === stateDir) break;
  }
}

/**
 * Hands extracted files to the OS user of the tool that reads them (a DB2 instance owner, the
 * Derby network server's user); root keeps them when there is none.
 */
export async function giveToUser(
  step: string,
  user: string | undefined,
  stateDir: string,
  paths: string[],
  logFile?: string,
): Promise<void> {
  if (!user) return;
  for (const p of paths) allowTraverse(stateDir, p);
  await must(step, `chown -R ${user}`, "chown", ["-R", user, ...paths], { logFile });
}

import { chmodSync, lstatSync, closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import * as path from "node:path";
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

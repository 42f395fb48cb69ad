import { existsSync, lstatSync, realpathSync, type Stats } from "node:fs";
import * as path from "node:path";
import { StepError } from "./errors";
import { onPath } from "./exec";
import { readRegularFile } from "./files";

/**
 * Root runs a program only when no other user can change it: the file and every
 * directory above it (as named, and after symlinks) belong to root and are writable
 * by nobody else. A directory others may write is accepted only when it is sticky
 * (/tmp): there they cannot rename or remove what root owns. Otherwise an edited
 * backupConfig.sh, or one swapped in by renaming, would run as uid 0. `stickyOk`: FILE
 * itself may be such a directory (root is about to create its own entry in it).
 */
export function notRootOnly(file: string, o: { stickyOk?: boolean } = {}): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined; // missing: the command itself fails, with its own message
  }
  for (const p of new Set([...chain(file), ...chain(real)])) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      if (st.uid !== 0) return `${p} is a symlink owned by uid ${st.uid}`;
      continue;
    }
    if (st.uid !== 0) return `${p} is owned by uid ${st.uid}`;
    const othersWrite = st.mode & 0o002;
    // Even root's group: the group bits may be an ACL's mask, granting another user.
    const groupWrite = st.mode & 0o020;
    const sticky = st.isDirectory() && st.mode & 0o1000;
    if ((othersWrite || groupWrite) && !(sticky && (o.stickyOk || (p !== file && p !== real))))
      return `${p} is writable by ${othersWrite ? "every user" : `group ${st.gid}`}`;
  }
  return undefined;
}

/** The path and every directory above it, up to /. */
function chain(p: string): string[] {
  const out: string[] = [];
  for (let at = path.resolve(p); ; at = path.dirname(at)) {
    out.push(at);
    if (at === path.dirname(at)) return out;
  }
}

/**
 * What root would run when it runs a WebSphere script, as far as can be told without running it:
 * the script, the `setupCmdLine.sh` beside it that every profile script sources, and the
 * WebSphere install that one names (WAS_HOME: its bin, its setupCmdLine.sh, its Java). A
 * non-root install owns those even when the profile's scripts are root's. The first that
 * another user can change, and why.
 */
export function wasScriptProblem(script: string): string | undefined {
  const setup = path.join(path.dirname(script), "setupCmdLine.sh");
  const first = [script, setup].map((c) => (existsSync(c) ? notRootOnly(c) : undefined)).find(Boolean);
  if (first) return first;
  // Read only once it is known to be root's alone.
  // `WAS_HOME="/opt/..."` as WebSphere writes it, or `WAS_HOME=${WAS_HOME:-/opt/...}`.
  const wasHome = /^\s*WAS_HOME=["']?(?:\$\{WAS_HOME:-)?(\/[^"'\s;}]+)/m.exec(readRegularFile(setup) ?? "")?.[1];
  if (!wasHome) return undefined;
  return [wasHome, path.join(wasHome, "bin"), path.join(wasHome, "bin", "setupCmdLine.sh"), path.join(wasHome, "java")]
    .map((c) => (existsSync(c) ? notRootOnly(c) : undefined))
    .find(Boolean);
}

/**
 * Fails STEP, before anything runs, when root would run a WebSphere tool that another user
 * can change; the message names the path and the two fixes.
 */
export function refuseUntrusted(step: string, command: string): void {
  const file = onPath(command);
  const why = file && wasScriptProblem(file);
  if (why)
    throw new StepError(
      step,
      `refusing to run ${file} as root: ${why}. Set hosts[].runAs to the profile's owner (its tools then run as that user), or make the script and its directories root's and writable by root only`,
    );
}

/**
 * The offline stop and start commands are the operator's shell code; what root would run of
 * them is checked as far as it is named: a command that starts with an absolute path (the
 * usual `/opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal`). Checked before the first
 * stop, so that a start that would be refused never leaves the servers down. Nothing to check
 * when they run as the profile's owner.
 */
export function untrustedOfflineCommand(
  offline: { stop: readonly string[]; start: readonly string[] },
  runAs: unknown,
): string | undefined {
  if (runAs) return undefined;
  for (const cmd of [...offline.stop, ...offline.start]) {
    const program = cmd.trim().split(/\s+/)[0];
    const why = program.startsWith("/") ? wasScriptProblem(program) : undefined;
    if (why)
      return `refusing to run the offline command ${program} as root: ${why}. Set hosts[].runAs to the profile's owner (the offline commands then run as that user), or make the script and its directories root's and writable by root only`;
  }
  return undefined;
}

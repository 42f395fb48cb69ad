import {
  chmodSync,
  createReadStream,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  type ReadStream,
} from "node:fs";
import { homedir, userInfo } from "node:os";
import * as path from "node:path";

/**
 * Where the agents built for the hosts are kept, and how the AgentInstall
 * provider sends one. Only Node built-ins: the engine serializes the provider
 * with what it references, and this is all it needs.
 */

/** An agent as the engine knows it: its runtime and the sha256 of its bytes. */
export interface AgentRef {
  runtime: "node" | "linux-x64";
  digest: string;
}

/**
 * Refuses a cache another local user could change: what is in it runs as root
 * on every host. Every directory from `/` down to DIR (symlinks resolved) must
 * belong to root or to this user and be writable by nobody else, except a
 * sticky one owned by root (`/tmp`), in which others cannot move our entries.
 */
function checkPrivate(dir: string): void {
  const uid = process.getuid?.() ?? 0;
  const own = realpathSync(dir);
  let d = own;
  for (;;) {
    const st = statSync(d);
    // Group write is others' write, unless the group is this user's own (RHEL's user private groups, umask 002).
    const othersWrite = (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && !privateGroup(st.gid));
    const sticky = (st.mode & 0o1000) !== 0;
    const trusted = st.uid === uid || st.uid === 0;
    if (!trusted || (othersWrite && !(sticky && st.uid === 0)) || (d === own && (st.mode & 0o077) !== 0))
      throw new Error(
        `the agent cache ${dir} is not private: ${d} is owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}; ` +
          "another user could change the agent the hosts run as root. Set DXBACKUP_CACHE_DIR to a directory only you can write",
      );
    if (d === "/") return;
    d = path.dirname(d);
  }
}

/** Whether GID is this user's private group: the user's primary group, named as the user, with no other members. */
function privateGroup(gid: number): boolean {
  if (gid !== process.getgid?.()) return false;
  try {
    const user = userInfo().username;
    const entry = readFileSync("/etc/group", "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => Number(f[2]) === gid);
    return entry !== undefined && entry[0] === user && (entry[3] ?? "").split(",").every((m) => m === "" || m === user);
  } catch {
    return false;
  }
}

/**
 * A private, per-user cache (`$DXBACKUP_CACHE_DIR`, else `$XDG_CACHE_HOME/dx-backup`, else
 * `~/.cache/dx-backup`), checked private on every use; the hosts check each agent's digest too.
 */
export function agentCacheDir(): string {
  const base =
    process.env.DXBACKUP_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "dx-backup");
  const dir = path.join(base, "agents");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Ours, a symlink or not: made private (its parents are checked, not changed).
  if (statSync(dir).uid === process.getuid?.()) chmodSync(dir, 0o700);
  checkPrivate(dir);
  return dir;
}

/** Where the cache keeps an artifact: `<digest>.js` for Node, `<digest>` for the executable. */
export function agentFile(a: AgentRef): string {
  return path.join(agentCacheDir(), `${a.digest}${a.runtime === "node" ? ".js" : ""}`);
}

/**
 * The artifact as the provider sends it: streamed from this user's cache (up
 * to ~100 MB, never whole in memory). The host checks the bytes against the
 * digest the engine planned with and installs nothing else.
 */
export function openAgentArtifact(a: AgentRef): { size: number; open: () => ReadStream } {
  const file = agentFile(a);
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    throw new Error(
      `the ${a.runtime} agent ${a.digest.slice(0, 12)} is not in ${path.dirname(file)}: run pulumi up as the user (and with the DXBACKUP_CACHE_DIR) that ran the program`,
    );
  }
  return { size: st.size, open: () => createReadStream(file) };
}

import { chmodSync, lstatSync, mkdirSync } from "node:fs";

/**
 * A directory only the current user can use, for what the demo keeps between
 * runs (its keys, password, state) under a world-writable parent such as
 * /var/tmp. Created 0700 when missing; refused when another user owns it, it
 * is a symlink, or others could write into it: they could have planted a key
 * that the demo would then trust (one that logs in as root). Nothing in it is
 * used before this check.
 */
export function ownPrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const me = process.getuid?.() ?? 0;
  const fix = `check what is in it and remove it (rm -rf ${dir}), then run again`;
  if (st.isSymbolicLink()) throw new Error(`${dir} is a symbolic link, not a directory of yours: ${fix}`);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory: ${fix}`);
  if (st.uid !== me)
    throw new Error(
      `${dir} belongs to uid ${st.uid}, not to you (uid ${me}): another user may have planted files in it; ${fix}`,
    );
  if (st.mode & 0o022)
    throw new Error(
      `${dir} is writable by ${st.mode & 0o002 ? "every user" : "its group"} (mode ${(st.mode & 0o777).toString(8)}): files in it may have been planted; ${fix}`,
    );
  chmodSync(dir, 0o700);
}

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/**
 * A system user for a test that runs tools as someone other than root (a DB2 instance owner,
 * a WebSphere profile's owner), with HOME at `home` and a login `.profile`: what `su - user`
 * reads, so the fakes the user runs find the test's environment there. Made if missing;
 * `remove` deletes it again only then.
 */
export function testUser(
  name: string,
  home: string,
  profile: string,
  shell = "/bin/bash",
): { uid: number; gid: number; remove: () => void } {
  let created = false;
  if (spawnSync("id", ["-u", name]).status !== 0) {
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", shell, name]);
    created = true;
  }
  execFileSync("usermod", ["--home", home, name]);
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(home, ".profile"), profile);
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }));
  const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }));
  chownSync(home, uid, gid);
  chownSync(path.join(home, ".profile"), uid, gid);
  chmodSync(home, 0o700);
  return { uid, gid, remove: () => (created ? execFileSync("userdel", [name]) : undefined) };
}

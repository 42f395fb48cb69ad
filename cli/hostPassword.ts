import { closeSync, constants, openSync, writeSync } from "node:fs";
import { loadPolicy, type StackConfig } from "../components/policy/load";
import { hostRepositoryPassword } from "../shared/hostKeys";
import { readStackPassword } from "./stackPassword";
import type { CommandResult } from "./plan/command";

/**
 * Writes one host's repository password (derived from the stack's) to a new
 * file only its owner can read: for plain restic on that host's repository,
 * e.g. from a rebuilt machine. Refuses an existing file or a link, so the
 * password never lands where someone else prepared.
 */
export function hostPasswordCommand(o: {
  config: StackConfig;
  host: string;
  passwordFile: string;
  out: string;
}): CommandResult {
  const policy = loadPolicy(o.config);
  const host = policy.hosts.find((h) => h.name === o.host);
  if (!host)
    return {
      stdout: "",
      stderr: `dxbackup host-password: no host '${o.host}' in the stack (hosts: ${policy.hosts.map((h) => h.name).join(", ")})\n`,
      exitCode: 2,
    };
  const password = hostRepositoryPassword(readStackPassword(o.passwordFile), policy.name, host.name);
  let fd: number;
  try {
    fd = openSync(o.out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    return {
      stdout: "",
      stderr: `dxbackup host-password: cannot create ${o.out} (${(e as NodeJS.ErrnoException).code}): name a file that does not exist yet\n`,
      exitCode: 1,
    };
  }
  try {
    writeSync(fd, `${password}\n`);
  } finally {
    closeSync(fd);
  }
  return {
    stdout: `wrote the repository password of ${host.name} to ${o.out} (mode 0600): restic --password-file ${o.out}\n`,
    stderr: "",
    exitCode: 0,
  };
}

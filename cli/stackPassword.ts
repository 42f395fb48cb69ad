import { readFileSync } from "node:fs";
import type { Policy } from "../components/policy/types";
import { hostRepositoryPassword } from "../shared/hostKeys";

/**
 * The stack's repositoryPassword from FILE: the whole content but one final
 * newline (what `pulumi config get` prints, redirected, ends with).
 */
export function readStackPassword(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (e) {
    throw new Error(`cannot read the stack's repository password from ${file} (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!text) throw new Error(`${file} is empty: it must hold the stack's repositoryPassword`);
  return text;
}

/**
 * restic's environment on the operator's side for one host's repository: BASE
 * with that host's own password, derived from the stack's. A
 * RESTIC_PASSWORD_FILE or _COMMAND of the caller would win over it, and a
 * RESTIC_REPOSITORY_FILE conflict with the repository given: they go.
 */
export function hostResticEnvironment(
  base: NodeJS.ProcessEnv,
  stackPassword: string,
  policy: Policy,
  host: string,
): NodeJS.ProcessEnv {
  const {
    RESTIC_PASSWORD_FILE: _file,
    RESTIC_PASSWORD_COMMAND: _command,
    RESTIC_REPOSITORY_FILE: _repository,
    ...inherited
  } = base;
  return { ...inherited, RESTIC_PASSWORD: hostRepositoryPassword(stackPassword, policy.name, host) };
}

import bcrypt from "bcryptjs";
import { createHmac } from "node:crypto";
import { hostRestPassword, restUser } from "../../shared/hostKeys";

/**
 * bcrypt's cost. rest-server checks the password of every request, with a cache that keeps a
 * checked one for seconds only: 10 (about 60 ms a check) keeps a run's many requests cheap
 * enough, and the passwords are random 256-bit values that no cost protects further.
 */
const BCRYPT_COST = 10;

/**
 * The rest-server's htpasswd file: one bcrypt line per host, in host order.
 * The salt is derived from the secret too, so the file is the same on every
 * `pulumi up` (a fresh salt would change the stack output each time) and
 * says nothing of the passwords but their bcrypt hashes. Pure.
 */
export function renderHtpasswd(restPassword: string, policy: string, hosts: readonly string[]): string {
  return hosts
    .map((host) => {
      const salt = createHmac("sha256", restPassword).update(`dx-backup/htpasswd-salt/v1\0${policy}\0${host}`).digest();
      const hash = bcrypt.hashSync(
        hostRestPassword(restPassword, policy, host),
        `$2b$${BCRYPT_COST}$${bcrypt.encodeBase64(salt, 16)}`,
      );
      return `${restUser(policy, host)}:${hash}\n`;
    })
    .join("");
}

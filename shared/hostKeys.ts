import { createHmac } from "node:crypto";

/**
 * Each host's own secrets, derived from one stack secret. root on one host
 * then holds only its own repository password (and rest-server password):
 * it cannot open another host's repository, nor plant a snapshot in it. The
 * stack secret stays with Pulumi and the operator, who derives any host's
 * password again (`dxbackup host-password`) without it ever being stored.
 *
 * HMAC-SHA256 is a pseudo-random function: knowing any number of derived
 * values tells nothing of the stack secret or of another host's value. The
 * label keeps the two uses apart (a repository password is never a
 * rest-server password), and the version leaves room for another scheme.
 */
function derive(secret: string, label: string, policy: string, host: string): string {
  return createHmac("sha256", secret).update(`dx-backup/${label}/v1\0${policy}\0${host}`).digest("base64url");
}

/** The restic repository password of one host, from the stack's `repositoryPassword`. */
export function hostRepositoryPassword(repositoryPassword: string, policy: string, host: string): string {
  return derive(repositoryPassword, "repository-password", policy, host);
}

/**
 * The rest-server user of one host: `<policy>.<host>`. Policy and host names
 * hold no '.', so no two hosts of any two policies share a user; with
 * `--private-repos` the user is also the first segment of its repository's path.
 */
export function restUser(policy: string, host: string): string {
  return `${policy}.${host}`;
}

/** The rest-server password of one host, from the stack secret `storage.rest.passwordSecret` names. */
export function hostRestPassword(restPassword: string, policy: string, host: string): string {
  return derive(restPassword, "rest-password", policy, host);
}

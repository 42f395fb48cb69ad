import { createHmac, createPrivateKey, createPublicKey } from "node:crypto";

/** The SSH key of one host's own SFTP user: OpenSSH's private key file and its public key line. */
export interface HostSftpKey {
  privateKey: string;
  /** `ssh-ed25519 AAAA... dx-backup <policy>/<host>`: the line for the user's authorized_keys. */
  publicKey: string;
}

/** An SSH wire-format string: a 32-bit length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * The ed25519 key of one host's SFTP user, derived from the secret
 * `storage.sftp.privateKeySecret` names (HMAC-SHA256 as the 32-byte seed):
 * every host its own key, from one secret. Written in OpenSSH's own format
 * (openssh-key-v1, unencrypted) by hand because libraries fill its check
 * field with random bytes, and a file that changes on every `pulumi up`
 * would update every install each time; here it is derived too. Pure.
 */
export function hostSftpKey(secret: string, policy: string, host: string): HostSftpKey {
  const seed = createHmac("sha256", secret).update(`dx-backup/sftp-key/v1\0${policy}\0${host}`).digest();
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  const pub = Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url");
  const comment = `dx-backup ${policy}/${host}`;
  const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  const check = createHmac("sha256", seed).update("checkint").digest().subarray(0, 4);
  let section = Buffer.concat([
    check,
    check,
    sshString("ssh-ed25519"),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padded with 1, 2, 3, ... to the cipher's block size (8 for "none").
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    Buffer.from([0, 0, 0, 1]),
    sshString(publicBlob),
    sshString(section),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${publicBlob.toString("base64")} ${comment}`,
  };
}

import bcrypt from "bcryptjs";
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { hostSftpKey } from "../../components/storage/sftpKeys";
import { evaluateStack } from "../../cli/plan/evaluate";
import { repositoryEnvironment } from "../../agent/restic";
import { renderHtpasswd } from "../../components/storage/htpasswd";
import { hostRepositoryPassword, hostRestPassword, restUser } from "../../shared/hostKeys";
import { DEFAULT_SECRETS, SAMPLE_HOST_KEY, stackConfig, validConfig } from "../support/config";
import { agentInstalls } from "../support/install";

/** The files of a rendered bundle, by path (the format renderBundle writes). */
function bundleFiles(bundle: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const m of bundle.matchAll(/^file \S+ \S+ (\S+)\n((?:[A-Za-z0-9+/=]+\n)*)\.\n/gm)) {
    files[Buffer.from(m[1], "base64").toString("utf8")] = Buffer.from(m[2].replace(/\n/g, ""), "base64").toString(
      "utf8",
    );
  }
  return files;
}

describe("each host's own secrets", () => {
  it("derives a different repository password per host, policy and stack password, the same every time", () => {
    const a = hostRepositoryPassword("stack pw", "dx-prod", "portal-1");
    expect(a).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(hostRepositoryPassword("stack pw", "dx-prod", "portal-1")).to.equal(a);
    for (const other of [
      hostRepositoryPassword("stack pw", "dx-prod", "portal-2"),
      hostRepositoryPassword("stack pw", "dx-test", "portal-1"),
      hostRepositoryPassword("stack pw2", "dx-prod", "portal-1"),
      hostRestPassword("stack pw", "dx-prod", "portal-1"),
    ])
      expect(other).to.not.equal(a);
    // Policy and host names hold no '.': no two hosts of two policies share a rest-server user.
    expect(restUser("dx-a", "b")).to.not.equal(restUser("dx", "a-b"));
  });

  it("the README's Python one-liner derives the same password (for a disaster without this repository)", () => {
    const readme = readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const script = /`python3 -c '([^']+)' "\$STACK_PASSWORD" dx-prod portal-1`/.exec(readme)?.[1];
    expect(script, "the one-liner in the README").to.be.a("string");
    const out = execFileSync("python3", ["-c", script!, "stack pw 'quoted'", "dx-prod", "portal-1"], {
      encoding: "utf8",
    });
    expect(out.trim()).to.equal(hostRepositoryPassword("stack pw 'quoted'", "dx-prod", "portal-1"));
  });

  it("renders a stable htpasswd whose bcrypt lines accept each host's own password only", () => {
    const text = renderHtpasswd("rest secret", "dx-prod", ["portal-1", "portal-2"]);
    expect(renderHtpasswd("rest secret", "dx-prod", ["portal-1", "portal-2"])).to.equal(text);
    const lines = text.trimEnd().split("\n");
    expect(lines.map((l) => l.split(":")[0])).to.deep.equal(["dx-prod.portal-1", "dx-prod.portal-2"]);
    const hash = (i: number) => lines[i].slice(lines[i].indexOf(":") + 1);
    expect(hash(0)).to.match(/^\$2b\$10\$/);
    expect(bcrypt.compareSync(hostRestPassword("rest secret", "dx-prod", "portal-1"), hash(0))).to.equal(true);
    expect(bcrypt.compareSync(hostRestPassword("rest secret", "dx-prod", "portal-2"), hash(0))).to.equal(false);
    expect(bcrypt.compareSync(hostRestPassword("rest secret", "dx-prod", "portal-2"), hash(1))).to.equal(true);
    expect(text).to.not.include(hostRestPassword("rest secret", "dx-prod", "portal-1"));
  });

  it("derives each host's SFTP key in OpenSSH's format, the same file every time", () => {
    const key = hostSftpKey("seed", "dx-prod", "portal-1");
    expect(hostSftpKey("seed", "dx-prod", "portal-1")).to.deep.equal(key);
    expect(hostSftpKey("seed", "dx-prod", "portal-2").publicKey).to.not.equal(key.publicKey);
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-key-"));
    try {
      writeFileSync(path.join(dir, "key"), key.privateKey, { mode: 0o600 });
      // OpenSSH itself reads the private key and finds the public key line beside it.
      const pub = execFileSync("ssh-keygen", ["-y", "-f", path.join(dir, "key")], { encoding: "utf8" }).trim();
      expect(pub).to.equal(key.publicKey);
      expect(key.publicKey).to.match(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ dx-backup dx-prod\/portal-1$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("puts a rest-server user and password into restic's repository URL, encoded, and nothing else", () => {
    expect(
      repositoryEnvironment("rest:https://backup:8000/dx.p-1/", {
        RESTIC_REST_USERNAME: "dx.p-1",
        RESTIC_REST_PASSWORD: "a:b@c/d%",
      }),
    ).to.deep.equal({ RESTIC_REPOSITORY: "rest:https://dx.p-1:a%3Ab%40c%2Fd%25@backup:8000/dx.p-1/" });
    const s3 = { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "key" };
    expect(repositoryEnvironment("s3:https://s3/b/p", s3)).to.deep.equal({
      ...s3,
      RESTIC_REPOSITORY: "s3:https://s3/b/p",
    });
  });

  it("gives every host of a stack its own repository password and rest-server user (the installed files)", async () => {
    const c = {
      ...validConfig(),
      storage: { rest: { url: "https://backup.example.com:8000", caCertificatePath: "/etc/ssl/backup-ca.pem" } },
      hosts: ["portal-1", "portal-2"].map((name, i) => ({
        name,
        address: `10.0.0.1${i}`,
        ssh: { hostKey: SAMPLE_HOST_KEY },
      })),
    };
    const { s3AccessKeyId: _id, s3SecretAccessKey: _key, ...secrets } = DEFAULT_SECRETS;
    const config = stackConfig(c, { ...secrets, restPassword: "the rest secret" });
    const { resources, result } = await evaluateStack(config, "test", { revealSecrets: true });
    const installs = agentInstalls(resources);
    expect(installs.map((i) => i.name)).to.deep.equal(["dx-test-portal-1-install", "dx-test-portal-2-install"]);
    const onHost = installs.map((i) => bundleFiles(i.inputs.bundle as string));
    const passwords = onHost.map((f) => f["/etc/dxbackup/dx-test/secrets/repository-password"]);
    expect(passwords).to.deep.equal([
      `${hostRepositoryPassword(DEFAULT_SECRETS.repositoryPassword, "dx-test", "portal-1")}\n`,
      `${hostRepositoryPassword(DEFAULT_SECRETS.repositoryPassword, "dx-test", "portal-2")}\n`,
    ]);
    expect(JSON.stringify(onHost)).to.not.include(DEFAULT_SECRETS.repositoryPassword);
    expect(JSON.stringify(onHost)).to.not.include("the rest secret");
    const env = onHost.map((f) => JSON.parse(f["/etc/dxbackup/dx-test/secrets/storage.json"]));
    expect(env[1]).to.deep.equal({
      RESTIC_REST_USERNAME: "dx-test.portal-2",
      RESTIC_REST_PASSWORD: hostRestPassword("the rest secret", "dx-test", "portal-2"),
    });
    const agentJson = JSON.parse(onHost[0]["/etc/dxbackup/dx-test/agent.json"]);
    expect(agentJson.repository).to.deep.include({
      url: "rest:https://backup.example.com:8000/dx-test.portal-1/",
      options: ["--cacert", "/etc/ssl/backup-ca.pem"],
      appendOnly: true,
    });
    expect(result.restHtpasswd).to.equal(renderHtpasswd("the rest secret", "dx-test", ["portal-1", "portal-2"]));
  });
});

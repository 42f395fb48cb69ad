import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { freePort, ServerProcess } from "../../cli/local/process";
import { ensureKeyPair } from "../../cli/local/sshd";
import { evaluateStack } from "../../cli/plan/evaluate";
import type { StackConfig } from "../../components/policy/load";
import { hostSftpKey } from "../../components/storage/sftpKeys";
import { LocalPortalHost } from "../support/localHost";
import { testUser } from "../support/osUser";

const SEED = "the SFTP key secret 'quoted' $(not run)";

describe("storage.sftp with a user per host: its own key, chrooted on the server (real sshd)", function () {
  this.timeout(300_000);
  const host = new LocalPortalHost();
  // sshd refuses a chroot under a directory others can write (/tmp): a root-only base of its own.
  const base = mkdtempSync("/srv/dxb-sftp-");
  const users: Array<{ remove: () => void }> = [];
  let sshd: ServerProcess;
  let port = 0;
  let config: StackConfig;
  let policyName: string;
  let knownHosts: string;

  /** A chrooted SFTP user whose repositories live under /repos in its chroot. */
  function sftpUser(name: string, publicKey: string) {
    const user = testUser(name, path.join(base, "home", name), "");
    users.push(user);
    // Not locked (useradd's "!"): sshd without PAM refuses a locked account even with a key.
    execFileSync("usermod", ["-p", "*", name]);
    const root = path.join(base, "chroot", name);
    mkdirSync(path.join(root, "repos"), { recursive: true, mode: 0o755 });
    chownSync(path.join(root, "repos"), user.uid, user.gid);
    mkdirSync(path.join(base, "keys"), { recursive: true });
    writeFileSync(path.join(base, "keys", name), `${publicKey}\n`, { mode: 0o644 });
    return root;
  }

  before(async () => {
    // sshd reads each user's authorized keys as that user: the base is traversable, and root's.
    chmodSync(base, 0o755);
    await host.start();
    port = await freePort();
    const hostKey = ensureKeyPair(path.join(base, "host_ed25519")).publicKey.trim().split(" ").slice(0, 2).join(" ");
    knownHosts = path.join(base, "known_hosts");
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
    config = host.config({
      environment: "sftpusers",
      storage: { sftp: { host: "127.0.0.1", port, user: "dxb-{host}", path: "/repos", hostKey } },
      schedules: [{ name: "nightly", cron: "0 2 * * *" }],
      secrets: { sftpPrivateKey: SEED },
    });
    policyName = host.policy(config).policy.name;
    const { result } = await evaluateStack(config, "it", { revealSecrets: true });
    const authorized = result.sftpAuthorizedKeys as Record<string, string>;
    expect(Object.keys(authorized)).to.deep.equal(["dxb-portal-1"]);
    sftpUser("dxb-portal-1", authorized["dxb-portal-1"]);
    // A second host of the policy, whose repository portal-1 must not reach.
    const other = sftpUser("dxb-portal-2", hostSftpKey(SEED, policyName, "portal-2").publicKey);
    mkdirSync(path.join(other, "repos", policyName, "portal-2"), { recursive: true });
    writeFileSync(path.join(other, "repos", policyName, "portal-2", "config"), "portal-2's repository\n");
    const sshdConfig = path.join(base, "sshd_config");
    writeFileSync(
      sshdConfig,
      [
        "ListenAddress 127.0.0.1",
        `Port ${port}`,
        `HostKey ${path.join(base, "host_ed25519")}`,
        `AuthorizedKeysFile ${path.join(base, "keys", "%u")}`,
        `PidFile ${path.join(base, "sshd.pid")}`,
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "Subsystem sftp internal-sftp",
        "Match User dxb-*",
        `  ChrootDirectory ${path.join(base, "chroot", "%u")}`,
        "  ForceCommand internal-sftp",
        "  AllowTcpForwarding no",
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true });
    sshd = await ServerProcess.start("sshd", "/usr/sbin/sshd", ["-D", "-e", "-f", sshdConfig], port);
    await host.install(config);
  });

  after(async () => {
    await sshd?.stop();
    for (const u of users) u.remove();
    rmSync(base, { recursive: true, force: true });
    await host.stop();
  });

  /** An sftp session as root on portal-1 could open it, with the key its agent holds. */
  function sftpAs(user: string, commands: string) {
    const { host: h } = host.policy(config);
    return spawnSync(
      "sftp",
      [
        ...["-i", path.join(h.agent.configDir, "secrets", "sftp-key"), "-P", String(port)],
        ...["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"],
        ...["-b", "-", `${user}@127.0.0.1`],
      ],
      { input: commands, encoding: "utf8" },
    );
  }

  it("backs up as the host's own chrooted user, with a key derived for it", async () => {
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    expect(status.repository).to.equal(`sftp:dxb-portal-1@127.0.0.1:/repos/${policyName}/portal-1`);
    expect(existsSync(path.join(base, "chroot", "dxb-portal-1", "repos", policyName, "portal-1", "config"))).to.equal(
      true,
    );
    const { host: h } = host.policy(config);
    const key = readFileSync(path.join(h.agent.configDir, "secrets", "sftp-key"), "utf8");
    expect(key).to.equal(hostSftpKey(SEED, policyName, "portal-1").privateKey);
    expect(key).to.not.include(SEED);
    const target = path.join(host.root, "restore", "sftp-users");
    const restored = host.agent(config, "restore", "latest", "--target", target, "--piece", "target:wpProfile");
    expect(restored.status, restored.stderr).to.equal(0);
  });

  it("root on the host can neither log in as another host's user nor see past its own chroot", () => {
    const asOther = sftpAs("dxb-portal-2", "ls /repos\n");
    expect(asOther.status).to.not.equal(0);
    expect(asOther.stderr).to.match(/Permission denied/);
    // Its own session sees its chroot only: the other user's repository cannot even be named.
    const own = sftpAs("dxb-portal-1", "ls -1 /..\n");
    expect(own.status, own.stderr).to.equal(0);
    expect(own.stdout.split("\n").filter((l) => l && !l.startsWith("sftp>"))).to.deep.equal(["/../repos"]);
    const reach = sftpAs("dxb-portal-1", `rm /../dxb-portal-2/repos/${policyName}/portal-2/config\n`);
    expect(reach.status).to.not.equal(0);
    expect(existsSync(path.join(base, "chroot", "dxb-portal-2", "repos", policyName, "portal-2", "config"))).to.equal(
      true,
    );
  });
});

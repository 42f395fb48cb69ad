import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { hostPasswordCommand } from "../../cli/hostPassword";
import { pruneCommand } from "../../cli/prune";
import { hostResticEnvironment, readStackPassword } from "../../cli/stackPassword";
import { statusCommand } from "../../cli/status";
import { loadPolicy } from "../../components/policy/load";
import { hostRepositoryPassword } from "../../shared/hostKeys";
import { SAMPLE_HOST_KEY, stackConfig, validConfig } from "../support/config";

/** What the operator's commands do with the stack's password, and how they refuse. */
describe("the operator's side of per-host secrets: host-password, prune, status", () => {
  let dir: string;
  let stackPw: string;
  const secrets = { repositoryPassword: "the stack's pw", sshPrivateKey: "k" };
  const rest = () =>
    stackConfig(
      { ...validConfig(), storage: { rest: { url: "https://backup.example.com:8000" } } },
      { ...secrets, restPassword: "r" },
    );
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-opsec-"));
    stackPw = path.join(dir, "stack-pw");
    writeFileSync(stackPw, "the stack's pw\n", { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("host-password writes the host's derived password to a new 0600 file, and never over an existing one", () => {
    const out = path.join(dir, "portal-1-pw");
    const r = hostPasswordCommand({ config: rest(), host: "portal-1", passwordFile: stackPw, out });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readFileSync(out, "utf8")).to.equal(`${hostRepositoryPassword("the stack's pw", "dx-test", "portal-1")}\n`);
    expect(statSync(out).mode & 0o777).to.equal(0o600);
    const again = hostPasswordCommand({ config: rest(), host: "portal-1", passwordFile: stackPw, out });
    expect(again.exitCode).to.equal(1);
    expect(again.stderr).to.match(/cannot create .* \(EEXIST\): name a file that does not exist yet/);
    const unknown = hostPasswordCommand({ config: rest(), host: "portal-9", passwordFile: stackPw, out: `${out}2` });
    expect(unknown).to.deep.include({ exitCode: 2 });
    expect(unknown.stderr).to.match(/no host 'portal-9' in the stack \(hosts: portal-1\)/);
    expect(() => readStackPassword(path.join(dir, "gone"))).to.throw(
      /cannot read the stack's repository password .*\(ENOENT\)/,
    );
    writeFileSync(path.join(dir, "empty"), "\n");
    expect(() => readStackPassword(path.join(dir, "empty"))).to.throw(/is empty/);
  });

  it("restic gets the host's own password and nothing of the caller's that would win over it", () => {
    const env = hostResticEnvironment(
      { PATH: "/bin", RESTIC_PASSWORD_FILE: "/x", RESTIC_PASSWORD_COMMAND: "cat /x", RESTIC_REPOSITORY_FILE: "/y" },
      "s",
      loadPolicy(rest()),
      "portal-1",
    );
    expect(env).to.deep.equal({ PATH: "/bin", RESTIC_PASSWORD: hostRepositoryPassword("s", "dx-test", "portal-1") });
  });

  it("prune refuses storage its hosts prune themselves, a --repositories that is no directory or holds none", async () => {
    const s3 = await pruneCommand({
      stack: "t",
      config: stackConfig(validConfig(), { ...secrets, s3AccessKeyId: "a", s3SecretAccessKey: "s" }),
      passwordFile: stackPw,
      repositories: dir,
    });
    expect(s3.exitCode).to.equal(2);
    expect(s3.stderr).to.match(/storage\.s3Compatible: each host prunes its own repository/);
    const notDir = await pruneCommand({ stack: "t", config: rest(), passwordFile: stackPw, repositories: stackPw });
    expect(notDir.exitCode).to.equal(2);
    expect(notDir.stderr).to.match(/is not a directory: give the rest-server's --path/);
    const none = await pruneCommand({ stack: "t", config: rest(), passwordFile: stackPw, repositories: dir });
    expect(none.exitCode).to.equal(1);
    expect(none.stdout).to.equal(`portal-1: no repository at ${path.join(dir, "dx-test.portal-1")} yet\n`);
    expect(none.stderr).to.match(/no repository of dx-test under .*: is it the rest-server's --path\?/);
  });

  it("status from the repositories says why it cannot read a rest or per-host SFTP repository", async () => {
    const sftp = stackConfig(
      {
        ...validConfig(),
        storage: { sftp: { host: "sftp.example.com", user: "dxb-{host}", path: "/srv", hostKey: SAMPLE_HOST_KEY } },
      },
      { ...secrets, sftpPrivateKey: "seed" },
    );
    for (const [config, why] of [
      [rest(), /opens only with its own rest-server user.*read its state with --ssh-key/],
      [sftp, /opens only as its own SFTP user.*read its state with --ssh-key/],
    ] as const) {
      const r = await statusCommand({ stack: "t", config, repository: { passwordFile: stackPw }, format: "json" });
      const [host] = JSON.parse(r.stdout).hosts;
      expect(host).to.deep.include({ host: "portal-1", reachable: false });
      expect(host.error).to.match(why);
    }
  });
});

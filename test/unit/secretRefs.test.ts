import { expect } from "chai";
import { loadPolicy } from "../../components/policy/load";
import { renderHostConfig } from "../../components/render/agentConfig";
import { renderRunbook } from "../../components/render/runbook";
import { scrubSecrets } from "../../agent/exec";
import { referenceProblem, secretInput, secretKeysIn, withSecretVariables } from "../../shared/secretRefs";
import { spawnSync } from "node:child_process";
import { expectIssue, issuesOf, stackConfig, validConfig } from "../support/config";

const STOP = '/opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal -password "{{secret:wasAdminPassword}}"';

function withOffline(stop: string, runAs = false) {
  const c = validConfig();
  const [host] = c.hosts as Array<Record<string, unknown>>;
  host.offline = { stop: [stop], start: ["/opt/HCL/wp_profile/bin/startServer.sh WebSphere_Portal"] };
  if (runAs) host.runAs = { user: "wasadmin" };
  c.schedules = [{ name: "weekly", cron: "0 3 * * 0", mode: "offline" }];
  return c;
}

describe("secret references in offline commands", () => {
  it("become a variable read from stdin, expanded in double quotes, each key once", () => {
    const cmd = 'x -p "{{secret:a}}" -q "{{secret:b-c}}" -r "{{secret:a}}"';
    expect(secretKeysIn(cmd)).to.deep.equal(["a", "b-c"]);
    expect(withSecretVariables(cmd)).to.deep.equal({
      script:
        "IFS= read -r -d '' DXB_SECRET_0; IFS= read -r -d '' DXB_SECRET_1; exec </dev/null; " +
        'x -p "${DXB_SECRET_0}" -q "${DXB_SECRET_1}" -r "${DXB_SECRET_0}"',
      variables: { DXB_SECRET_0: "a", DXB_SECRET_1: "b-c" },
    });
    expect(withSecretVariables("x -p y")).to.deep.equal({ script: "x -p y", variables: {} });
    // bash itself: the values, with spaces, quotes, $() and a newline, arrive as they are, one word each.
    const { script } = withSecretVariables(`printf '<%s>' "{{secret:a}}" "{{secret:b}}"`);
    const values = ["one 'two' $(touch pwned) *", "line\nnext\n"];
    const out = spawnSync("bash", ["-c", script], { input: secretInput(values), encoding: "utf8" });
    expect(out.stdout).to.equal(`<${values[0]}><${values[1]}>`);
  });

  it("stand inside double quotes, as bash reads the quoting, and are well formed", () => {
    expect(referenceProblem('x -p "{{secret:a}}" -q "pre {{secret:b}} post"')).to.equal(undefined);
    expect(referenceProblem("x -p {{secret:a}}")).to.match(/^has \{\{secret:a\}\} outside double quotes/);
    expect(referenceProblem(`x -p '"{{secret:a}}"'`)).to.match(/outside double quotes/);
    expect(referenceProblem(`x "a"{{secret:a}}"b"`)).to.match(/outside double quotes/);
    expect(referenceProblem(`x "\\"{{secret:a}}"`)).to.equal(undefined);
    expect(referenceProblem(`x \\"{{secret:a}}\\"`)).to.match(/outside double quotes/);
    expect(referenceProblem('x -p "{{secret:a.b}}"')).to.match(
      /^has \{\{secret:a\.b\}\}", which is not a secret reference/,
    );
  });

  it("are secrets the stack must hold, and a reference outside double quotes is refused", () => {
    const secrets = { repositoryPassword: "pw", sshPrivateKey: "k", s3AccessKeyId: "a", s3SecretAccessKey: "s" };
    expectIssue(
      issuesOf(stackConfig(withOffline(STOP), secrets)),
      "dxbackup:wasAdminPassword",
      /hosts\[0\]\.offline\.stop\[0\]/,
    );
    expectIssue(
      issuesOf(stackConfig(withOffline(STOP.replace(/"/g, "")), { ...secrets, wasAdminPassword: "x" })),
      "dxbackup:hosts[0].offline.stop[0]",
      /has \{\{secret:wasAdminPassword\}\} outside double quotes: write "\{\{secret:wasAdminPassword\}\}"/,
    );
    const policy = loadPolicy(stackConfig(withOffline(STOP), { ...secrets, wasAdminPassword: "x" }));
    expect(policy.secrets.all).to.include("wasAdminPassword");
    const config = renderHostConfig(policy, policy.hosts[0], { url: "r", options: [] }, []);
    expect(config.offline.stop).to.deep.equal([STOP]);
    expect(config.offline.secretFiles).to.deep.equal({
      wasAdminPassword: "/etc/dxbackup/dx-test/secrets/config/wasAdminPassword",
    });
    // The log shows the reference, not ****: it is no secret, and says where the value comes from.
    expect(scrubSecrets(STOP)).to.equal(STOP);
    expect(scrubSecrets(STOP.replace("{{secret:wasAdminPassword}}", "x"))).to.include("-password ****");
  });

  it("may not name a secret that must never reach a host: the stack's password, the seeds, the deploy key", () => {
    const secrets = { repositoryPassword: "pw", sshPrivateKey: "k", s3AccessKeyId: "a", s3SecretAccessKey: "s" };
    for (const key of ["repositoryPassword", "sshPrivateKey"])
      expectIssue(
        issuesOf(stackConfig(withOffline(STOP.replace("wasAdminPassword", key)), secrets)),
        "dxbackup:hosts[0].offline.stop[0]",
        new RegExp(`names the secret ${key}, which .* uses and which must never reach a Portal host`),
      );
    const rest = { ...withOffline(STOP.replace("wasAdminPassword", "restPassword")) };
    rest.storage = { rest: { url: "https://backup.example.com" } };
    expectIssue(
      issuesOf(stackConfig(rest, { repositoryPassword: "pw", sshPrivateKey: "k", restPassword: "r" })),
      "dxbackup:hosts[0].offline.stop[0]",
      /names the secret restPassword, which dxbackup:storage\.rest\.passwordSecret uses/,
    );
  });

  it("the runbook feeds the values from the host's secret files to the shell's stdin, as the agent does", () => {
    const secrets = {
      repositoryPassword: "pw",
      sshPrivateKey: "k",
      s3AccessKeyId: "a",
      s3SecretAccessKey: "s",
      wasAdminPassword: "x",
    };
    const script = `IFS= read -r -d '' DXB_SECRET_0; exec </dev/null; /opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal -password "\${DXB_SECRET_0}"`;
    const feed = `{ cat '/etc/dxbackup/dx-test/secrets/config/wasAdminPassword'; printf '\\0'; }`;
    const root = renderRunbook(loadPolicy(stackConfig(withOffline(STOP), secrets)), "b");
    expect(root).to.include(`${feed} | bash -c '${script.replace(/'/g, "'\\''")}'`);
    const owner = renderRunbook(loadPolicy(stackConfig(withOffline(STOP, true), secrets)), "b");
    expect(owner).to.include(`${feed} | su -s /bin/bash - wasadmin -c '${script.replace(/'/g, "'\\''")}'`);
  });
});

import { expect } from "chai";
import { loadPolicy } from "../../components/policy/load";
import { renderHostConfig } from "../../components/render/agentConfig";
import { renderRunbook } from "../../components/render/runbook";
import { scrubSecrets } from "../../agent/exec";
import { secretKeysIn, unquotedReference, withSecretVariables } from "../../shared/secretRefs";
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
  it("become a shell variable in double quotes, each key once", () => {
    const cmd = 'x -p "{{secret:a}}" -q "{{secret:b-c}}" -r "{{secret:a}}"';
    expect(secretKeysIn(cmd)).to.deep.equal(["a", "b-c"]);
    expect(withSecretVariables(cmd)).to.deep.equal({
      script: 'x -p "${DXB_SECRET_0}" -q "${DXB_SECRET_1}" -r "${DXB_SECRET_0}"',
      variables: { DXB_SECRET_0: "a", DXB_SECRET_1: "b-c" },
    });
    expect(unquotedReference(cmd)).to.equal(undefined);
    expect(unquotedReference("x -p {{secret:a}}")).to.equal("{{secret:a}}");
    expect(unquotedReference("x -p '{{secret:a}}'")).to.equal("{{secret:a}}");
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

  it("the runbook reads the value from the host's secret file, as the agent does", () => {
    const secrets = {
      repositoryPassword: "pw",
      sshPrivateKey: "k",
      s3AccessKeyId: "a",
      s3SecretAccessKey: "s",
      wasAdminPassword: "x",
    };
    const root = renderRunbook(loadPolicy(stackConfig(withOffline(STOP), secrets)), "b");
    expect(root).to.include(
      `DXB_SECRET_0="$(cat '/etc/dxbackup/dx-test/secrets/config/wasAdminPassword')"; /opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal -password "\${DXB_SECRET_0}"`,
    );
    const owner = renderRunbook(loadPolicy(stackConfig(withOffline(STOP, true), secrets)), "b");
    expect(owner).to.include(
      `DXB_SECRET_0="$(cat '/etc/dxbackup/dx-test/secrets/config/wasAdminPassword')" su -w DXB_SECRET_0 -s /bin/bash - wasadmin -c 'declare +x DXB_SECRET_0; /opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal -password "\${DXB_SECRET_0}"'`,
    );
  });
});

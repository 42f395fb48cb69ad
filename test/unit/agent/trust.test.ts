import { expect } from "chai";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StepError } from "../../../agent/errors";
import { notRootOnly, refuseUntrusted, untrustedOfflineCommand, wasScriptProblem } from "../../../agent/trust";

/** What root runs must be root's alone: the script, the directories above it, what it sources. */
describe("agent: root runs only what no other user can change", () => {
  let dir: string;
  let profile: string;
  let wasHome: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-trust-"));
    profile = path.join(dir, "wp_profile");
    wasHome = path.join(dir, "AppServer");
    for (const d of [path.join(profile, "bin"), path.join(wasHome, "bin"), path.join(wasHome, "java")])
      mkdirSync(d, { recursive: true });
    writeFileSync(path.join(profile, "bin", "backupConfig.sh"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(path.join(profile, "bin", "setupCmdLine.sh"), `WAS_HOME="${wasHome}"\n`, { mode: 0o755 });
    writeFileSync(path.join(wasHome, "bin", "setupCmdLine.sh"), "#!/bin/sh\n", { mode: 0o755 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts a root-only install (under /tmp, whose sticky bit keeps others from renaming root's entries)", () => {
    expect(wasScriptProblem(path.join(profile, "bin", "backupConfig.sh"))).to.equal(undefined);
    expect(() => refuseUntrusted("piece:x", path.join(profile, "bin", "backupConfig.sh"))).to.not.throw();
  });

  it("refuses a script another user owns, or one in a directory others can write", () => {
    const script = path.join(profile, "bin", "backupConfig.sh");
    chownSync(script, 65534, 65534);
    expect(() => refuseUntrusted("piece:wasconfig-wpProfile", script)).to.throw(
      StepError,
      `refusing to run ${script} as root: ${script} is owned by uid 65534. Set hosts[].runAs to the profile's owner (its tools then run as that user), or make the script and its directories root's and writable by root only`,
    );
    chownSync(script, 0, 0);
    chmodSync(path.join(profile, "bin"), 0o777);
    expect(notRootOnly(script)).to.equal(`${path.join(profile, "bin")} is writable by every user`);
  });

  it("refuses a root-owned profile script whose WebSphere install (WAS_HOME in setupCmdLine.sh) is another user's", () => {
    chownSync(path.join(wasHome, "java"), 65534, 65534);
    expect(wasScriptProblem(path.join(profile, "bin", "backupConfig.sh"))).to.equal(
      `${path.join(wasHome, "java")} is owned by uid 65534`,
    );
    chownSync(path.join(wasHome, "java"), 0, 0);
    chownSync(path.join(profile, "bin", "setupCmdLine.sh"), 65534, 65534);
    expect(wasScriptProblem(path.join(profile, "bin", "backupConfig.sh"))).to.equal(
      `${path.join(profile, "bin", "setupCmdLine.sh")} is owned by uid 65534`,
    );
  });

  it("reads WAS_HOME also as a default (${WAS_HOME:-...}), and refuses a group-writable directory even of root's group", () => {
    writeFileSync(path.join(profile, "bin", "setupCmdLine.sh"), `WAS_HOME=\${WAS_HOME:-${wasHome}}\n`);
    chownSync(path.join(wasHome, "bin"), 65534, 65534);
    expect(wasScriptProblem(path.join(profile, "bin", "backupConfig.sh"))).to.equal(
      `${path.join(wasHome, "bin")} is owned by uid 65534`,
    );
    chownSync(path.join(wasHome, "bin"), 0, 0);
    chmodSync(path.join(profile, "bin"), 0o775);
    expect(notRootOnly(path.join(profile, "bin", "backupConfig.sh"))).to.equal(
      `${path.join(profile, "bin")} is writable by group 0`,
    );
  });

  it("refuses a symlink to the script that another user owns, and follows a root one to check its target", () => {
    const script = path.join(profile, "bin", "backupConfig.sh");
    const link = path.join(dir, "link.sh");
    symlinkSync(script, link);
    expect(notRootOnly(link)).to.equal(undefined);
    chownSync(script, 65534, 65534);
    expect(notRootOnly(link)).to.equal(`${script} is owned by uid 65534`);
  });

  it("offline commands: checked by their first word when it is a path, all of them before the first stop; none with runAs", () => {
    const stop = path.join(profile, "bin", "stopServer.sh");
    writeFileSync(stop, "#!/bin/sh\n", { mode: 0o755 });
    chownSync(stop, 65534, 65534);
    const offline = { stop: ["systemctl stop ihs"], start: [`${stop} WebSphere_Portal`] };
    expect(untrustedOfflineCommand(offline, undefined)).to.match(
      new RegExp(`^refusing to run the offline command ${stop} as root: ${stop} is owned by uid 65534\\.`),
    );
    expect(untrustedOfflineCommand(offline, { user: "wasadmin", umask: "022" })).to.equal(undefined);
  });
});

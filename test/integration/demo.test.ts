import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { demoProblems } from "../../cli/demo";
import { readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { loadPolicy } from "../../components/policy/load";

const ROOT = path.join(__dirname, "..", "..");

describe("the README's main job: npm run demo (real sshd, s3rver, restic)", function () {
  this.timeout(300_000);

  it("the local stack is one the demo can play", () => {
    expect(demoProblems(loadPolicy(readStackConfig(stackFilePath("local"))))).to.deep.equal([]);
  });

  it("trusts a CA certificate only inside its own directory", () => {
    const config = readStackConfig(stackFilePath("local"));
    const storage = JSON.parse(config.values["dxbackup:storage"]);
    storage.s3Compatible.caCertificatePath = "/tmp/planted/cert.pem";
    const moved = { ...config, values: { ...config.values, "dxbackup:storage": JSON.stringify(storage) } };
    expect(demoProblems(loadPolicy(moved))).to.deep.equal([
      "the demo's CA certificate must live under /var/tmp/dxbackup-local (the directory only you can write), not /tmp/planted/cert.pem",
    ]);
  });

  it("plans, pulumi up on the real engine, backs up, restores and verifies byte for byte, up again: twice in a row", () => {
    for (let i = 0; i < 2; i++) {
      const r = spawnSync("npm", ["run", "--silent", "demo"], { cwd: ROOT, encoding: "utf8" });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/dx-backup plan for stack 'local'/);
      // The first up of a fresh machine creates the stack; a later one finds it as it left it, or
      // updates the install in place where the agent changed since: never a replacement or a delete.
      const [first] = r.stdout.match(/^ {3}pulumi up: resources .*$/m) ?? [""];
      expect(first).to.match(
        /^ {3}pulumi up: resources (5 created|(\d+ unchanged|\d+ updated)(, (\d+ unchanged|\d+ updated))?)$/,
      );
      expect(r.stdout).to.match(
        /== 6\/6 pulumi up again: nothing to change\n( {3}\|.*\n)* {3}pulumi up: resources 5 unchanged$/m,
      );
      expect(r.stdout).to.match(/dx-backup demo: backup and restore verified/);
      expect(r.stdout).to.match(/verified {3}every file byte for byte, with modes, owners and symlinks: identical/);
    }
  });
});

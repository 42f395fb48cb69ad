import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../../components/policy/load";
import { FAKE_IBM_TOOLS } from "../../cli/local/portalTree";
import { LocalPortalHost } from "../support/localHost";
import { testUser } from "../support/osUser";

const USER = "dxbinst";

/**
 * A DB2 instance owner that is not root, on a default install: the CLP runs as that user
 * (`su - dxbinst`, its login profile sets up its environment as db2profile does) and writes the
 * backup image into the piece's staging directory, which must be reachable through the state
 * dir and its parents. The db2 CLP is the recording fake in test/fakes/ibm-tools.
 */
describe("a DB2 instance owner that is not root writes its backup image into staging (default install; DB2 faked)", function () {
  this.timeout(300_000);
  const host = new LocalPortalHost();
  const home = path.join(host.root, "home", USER);
  const calls = path.join(home, "fake-db2-calls.log");
  let config: StackConfig;
  let user: ReturnType<typeof testUser>;

  before(async () => {
    // As db2profile does for a real instance: the instance owner's login sets up its environment.
    user = testUser(USER, home, `export DXB_FAKE_LOG='${calls}'\n`);
    await host.start();
    config = host.config({
      environment: "inst",
      schedules: [{ name: "nightly", cron: "0 2 * * *", mode: "online" }],
      keys: {
        databases: [
          {
            domain: "release",
            host: "portal-1",
            db2: {
              database: "RELEASE",
              instanceUser: USER,
              archiveLogging: true,
              command: path.join(FAKE_IBM_TOOLS, "db2"),
            },
          },
        ],
      },
    });
    await host.install(config);
    // This test's root is a mkdtemp (0700) and the installer made <root>/agent for the install dir
    // (0700): on a host these are /var and /var/lib, which others can search. The installer created
    // the state dir's own parents.
    for (const d of [host.root, path.join(host.root, "home"), path.join(host.root, "agent")])
      chmodSync(d, statSync(d).mode | 0o001);
  });

  after(async () => {
    await host.stop();
    user.remove();
  });

  it("the backup runs as the instance owner, and the run records its image", async () => {
    const { job, status } = await host.runSchedule(config, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    const piece = (status.pieces as Array<Record<string, string>>).find((p) => p.piece === "db-release");
    expect(piece).to.deep.include({ engine: "db2", database: "RELEASE", mode: "online" });
    expect(piece?.backupTimestamp).to.match(/^\d{14}$/);
    // Only the instance owner's login sets DXB_FAKE_LOG: these calls ran as that user.
    const log = readFileSync(calls, "utf8");
    expect(log).to.match(/^db2 backup database RELEASE online to \S+\/staging\/db-release/m);
    expect(statSync(calls).uid).to.equal(Number(execFileSync("id", ["-u", USER], { encoding: "utf8" })));
  });

  it("a drill hands the restored image to the instance owner, whose db2ckbkp checks it", () => {
    const r = host.agent(config, "drill", "latest");
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const { host: h } = host.policy(config);
    const drill = JSON.parse(readFileSync(path.join(h.agent.stateDir, "drill-status.json"), "utf8"));
    expect(drill.checks.join("\n")).to.match(/db-release: the DB2 image taken at \d{14} passes db2ckbkp/);
    // Logged through the instance owner's login: db2ckbkp ran as that user, on the image it was given.
    expect(readFileSync(calls, "utf8")).to.match(/^db2ckbkp \S+\/db-release\/RELEASE\.0\.\S+\.001$/m);
  });
});

import { expect } from "chai";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../../components/policy/load";
import { DerbyNetworkServer, ij } from "../support/databases";
import { LocalPortalHost } from "../support/localHost";
import { testUser } from "../support/osUser";

const USER = "dxbwas";

/**
 * A WebSphere profile owned by a user that is not root, as many Portal installs are: with
 * hosts[].runAs its tools (backupConfig.sh, restoreConfig.sh, xmlaccess.sh) and the offline stop
 * and start commands run as that user with its umask, so nothing root-owned lands in the profile;
 * without it, root refuses to run scripts that user could have edited. The WebSphere scripts are
 * the recording fakes of test/fakes/ibm-tools.
 */
describe("a WebSphere profile owned by a user that is not root (WAS tools faked)", function () {
  this.timeout(300_000);
  const host = new LocalPortalHost();
  const home = path.join(host.root, "home", USER);
  /** Written by the fakes as the profile's owner: only that user's login sets DXB_FAKE_LOG. */
  const calls = path.join(home, "fake-was-calls.log");
  let uid = 0;
  let user: ReturnType<typeof testUser>;
  const config = (runAs: boolean, mode: "online" | "offline" = "offline", xmlaccess = true): StackConfig =>
    host.config({
      environment: "was",
      schedules: [{ name: "weekly", cron: "0 3 * * 0", mode }],
      host: {
        ...(xmlaccess && {
          xmlaccess: { url: "http://localhost:10039/wps/config", user: "wpsadmin", passwordSecret: "wpsPassword" },
        }),
        ...(runAs && { runAs: { user: USER, umask: "027" } }),
        // The WebSphere administrator's password, by reference: su hands it to the owner's shell.
        offline: {
          stop: [`${host.layout.wpProfile}/bin/stopServer.sh WebSphere_Portal -password "{{secret:wasAdminPassword}}"`],
          start: [`${host.layout.wpProfile}/bin/startServer.sh WebSphere_Portal`],
        },
      },
      secrets: { ...(xmlaccess ? { wpsPassword: "wps-pw" } : {}), wasAdminPassword: "was admin pw" },
    });
  /** The installer made <root>/agent (0700) for the install dir: on a host that is /var/lib, which others can search. */
  const install = async (c: StackConfig) => {
    await host.install(c);
    const agent = path.join(host.root, "agent");
    chmodSync(agent, statSync(agent).mode | 0o001);
  };
  let derby: DerbyNetworkServer | undefined;
  const callLines = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);

  before(async () => {
    // A service account without a login shell: the agent runs its tools with bash all the same.
    user = testUser(USER, home, `export DXB_FAKE_LOG='${calls}'\n`, "/usr/sbin/nologin");
    uid = user.uid;
    await host.start();
    execFileSync("chown", ["-R", `${uid}:${user.gid}`, host.layout.wpProfile]);
    // On a host these are /opt and /opt/HCL, which others can search; this test's root is a mkdtemp (0700).
    for (const d of [host.root, path.join(host.root, "home")]) chmodSync(d, statSync(d).mode | 0o001);
  });

  after(async () => {
    await derby?.stop();
    await host.stop();
    user.remove();
  });

  it("without runAs, root refuses the scripts that user owns, naming the path and the fix, and stops nothing", async () => {
    const c = config(false, "offline", false);
    await install(c);
    const { job, status } = await host.runSchedule(c, "weekly");
    expect(job.code).to.equal(1);
    expect(status).to.deep.include({ result: "failed", failedStep: "stop-servers" });
    expect(status.message).to.equal(
      `refusing to run the offline command ${host.layout.wpProfile}/bin/stopServer.sh as root: ${host.layout.wpProfile}/bin/stopServer.sh is owned by uid ${uid}. Set hosts[].runAs to the profile's owner (the offline commands then run as that user), or make the script and its directories root's and writable by root only`,
    );
    // XMLAccess exports run first, with the servers up: refused there.
    const online = config(false, "online");
    await install(online);
    const r = await host.runSchedule(online, "weekly");
    expect(r.status.result).to.equal("failed");
    expect(r.status.message).to.match(
      new RegExp(
        `refusing to run ${host.layout.wpProfile}/PortalServer/bin/xmlaccess\\.sh as root: .* is owned by uid ${uid}\\. Set hosts\\[\\]\\.runAs`,
      ),
    );
    expect(callLines()).to.deep.equal([]);
  });

  it("with runAs, the stop, backupConfig.sh, xmlaccess.sh and start run as the owner with its umask", async () => {
    const c = config(true);
    await install(c);
    const { job, status } = await host.runSchedule(c, "weekly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    const lines = callLines();
    expect(lines.map((l) => l.split(" ")[0])).to.deep.equal([
      "xmlaccess.sh",
      "stopServer.sh",
      "backupConfig.sh",
      "startServer.sh",
    ]);
    // xmlaccess.sh read the credentials file the agent handed that user.
    expect(lines[0]).to.match(/\[credentials user=wpsadmin\]$/);
    // stopServer.sh got the referenced secret as one word through su's whitelisted environment.
    expect(lines[1]).to.equal("stopServer.sh WebSphere_Portal -password was\\ admin\\ pw");
    expect(statSync(calls).uid).to.equal(uid);
    const { host: h } = host.policy(c);
    // The archive as the snapshot holds it (staging is emptied after the run): the owner's, with its umask.
    const target = path.join(host.root, "was-target");
    const r = host.agent(
      c,
      "restore",
      "latest",
      "--target",
      target,
      "--piece",
      "wasconfig-wpProfile",
      "--piece",
      "xmlaccess-base",
    );
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const zip = path.join(target, h.agent.stateDir, "staging", "wasconfig-wpProfile", "wpProfile.zip");
    expect(statSync(zip).uid).to.equal(uid);
    expect(statSync(zip).mode & 0o777).to.equal(0o640); // umask 027
    // Nothing else was staged with it: the credentials file was removed before the snapshot.
    expect(readdirSync(path.dirname(zip))).to.deep.equal(["wpProfile.zip"]);
    expect(readdirSync(path.join(target, h.agent.stateDir, "staging", "xmlaccess-base"))).to.deep.equal([
      "xmlaccess-base.xml",
    ]);
  });

  it("an in-place restore of a path whose parent the owner can write is refused before anything moves", async () => {
    const c = config(true);
    const live = host.layout.wpProfile;
    const parent = path.dirname(live);
    const victim = mkdtempSync(path.join(host.root, "victim-"));
    execFileSync("chown", [`${uid}:${user.gid}`, parent]);
    // The owner's loop: the moment the profile is not there (moved aside), a link to the victim stands in.
    const loop = spawn(
      "runuser",
      [
        "-u",
        USER,
        "--",
        "bash",
        "-c",
        `while true; do [ -e '${live}' ] || [ -L '${live}' ] || ln -sT '${victim}' '${live}' 2>/dev/null; done`,
      ],
      { detached: true, stdio: "ignore" },
    );
    try {
      const r = host.agent(c, "restore", "latest", "--in-place", "--piece", "target:wpProfile", "--yes");
      expect(r.status, r.stdout + r.stderr).to.equal(64);
      expect(r.stderr).to.include(
        `cannot restore ${live} in place safely: ${parent} is owned by uid ${uid}, so the restore could be redirected; restore it with --target and move it into place yourself, or make ${parent} root's and writable by root only; nothing was restored`,
      );
    } finally {
      process.kill(-loop.pid!, "SIGKILL");
      execFileSync("chown", ["0:0", parent]);
    }
    expect(readdirSync(victim)).to.deep.equal([]);
    expect(lstatSync(live).isDirectory()).to.equal(true);
  });

  it("with the parent root's again, the same restore goes through a directory beside the profile, renamed into place", () => {
    const c = config(true);
    const r = host.agent(c, "restore", "latest", "--in-place", "--piece", "target:wpProfile", "--yes");
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const parent = path.dirname(host.layout.wpProfile);
    expect(readdirSync(parent).filter((f) => f.startsWith(".dxbackup-restore-"))).to.deep.equal([]);
    expect(statSync(path.join(host.layout.wpProfile, "bin", "backupConfig.sh")).uid).to.equal(uid);
  });

  it("with runAs, restoreConfig.sh runs as the owner on a copy it can read, removed afterwards", () => {
    const c = config(true);
    rmSync(calls, { force: true });
    const r = host.agent(c, "restore", "latest", "--in-place", "--piece", "wasconfig-wpProfile", "--yes");
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const { host: h } = host.policy(c);
    const handover = path.join(h.agent.stateDir, "handover", "wasconfig-wpProfile");
    expect(callLines()).to.deep.equal([`restoreConfig.sh ${handover}/wpProfile.zip -nostop`]);
    expect(existsSync(handover)).to.equal(false);
  });

  it("with runAs, the Derby network server the owner runs writes its backup into staging, and restores from what the agent hands it", async () => {
    derby = new DerbyNetworkServer(path.join(host.root, "derby"), { name: USER, uid, gid: user.gid });
    await derby.start();
    const db = path.join(derby.dir, "wps6");
    const rows = () =>
      ij(`connect '${derby!.url(db)}';\nselect id from feedback order by id;\nexit;\n`).match(
        /\d+ rows? selected/,
      )?.[0];
    ij(
      `connect '${derby.url(db)};create=true';\ncreate table feedback(id int);\ninsert into feedback values (1), (2);\nexit;\n`,
    );
    const c = host.config({
      environment: "was",
      schedules: [{ name: "nightly", cron: "0 2 * * *", mode: "online" }],
      host: { runAs: { user: USER } },
      keys: { databases: [{ domain: "release", host: "portal-1", derby: { url: derby.url(db) } }] },
    });
    await install(c);
    const { job, status } = await host.runSchedule(c, "nightly");
    expect(job.code, JSON.stringify(status)).to.equal(0);
    ij(`connect '${derby.url(db)}';\ndelete from feedback;\nexit;\n`);
    expect(rows()).to.equal("0 rows selected");
    const r = host.agent(c, "restore", "latest", "--in-place", "--piece", "db-release", "--yes");
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(rows()).to.equal("2 rows selected");
  });
});

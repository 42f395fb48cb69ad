import { expect } from "chai";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { captured, KeptLog, testContext, testHostConfig } from "../../support/agentHost";
import { NOT_A_RECOVERY_POINT_TAG, type PieceRecord } from "../../../shared/records";
import type { AgentContext } from "../../../agent/context";
import { StepError, UsageError } from "../../../agent/errors";
import { iimPackages, packagesTsv } from "../../../agent/iim";
import { writeRecord } from "../../../agent/record";
import { resolveRecoveryPoint, restoreCommand, undoCommand, type RestoreOptions } from "../../../agent/restore/index";

const installedXml = (level: string) => `<?xml version="1.0" encoding="UTF-8"?>
<installInfo>
  <location id='HCL Digital Experience' path='/opt/HCL/PortalServer'>
    <package id='com.hcl.dx.cf95' version='9.5.0.${level}' kind='offering'/>
  </location>
</installInfo>
`;

/** Every path under ROOT with its content. */
function tree(root: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(root, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) {
        out[rel] = `dir ${(statSync(p).mode & 0o7777).toString(8)}`;
        walk(p);
      } else out[rel] = `${(statSync(p).mode & 0o7777).toString(8)} ${readFileSync(p, "utf8")}`;
    }
  };
  walk(root);
  return out;
}

/** A host in a temp directory: Portal-like trees with a nested Dmgr profile, a real restic repository, fake tools. */
class RestoreHost {
  readonly dir = mkdtempSync(path.join(tmpdir(), "dxb-restore-"));
  readonly opt = path.join(this.dir, "opt");
  readonly app = path.join(this.opt, "AppServer");
  readonly dmgr = path.join(this.app, "profiles", "Dmgr01");
  readonly wp = path.join(this.opt, "wp_profile");
  readonly iimData = path.join(this.dir, "iim");
  readonly calls = path.join(this.dir, "calls.log");
  readonly log = new KeptLog();
  readonly ctx: AgentContext;
  private server?: ChildProcess;
  private n = 0;

  constructor() {
    writeFileSync(path.join(this.dir, "password"), "restore test passphrase\n", { mode: 0o600 });
    writeFileSync(path.join(this.dir, "env.json"), "{}");
    writeFileSync(path.join(this.dir, "dam-password"), "dam-pw\n", { mode: 0o600 });
    writeFileSync(path.join(this.dir, "wps-password"), "wps-pw\n", { mode: 0o600 });
    const config = testHostConfig(this.dir, {
      role: "portalNode",
      iim: { installDir: path.join(this.dir, "IM"), agentDataDir: this.iimData, sharedDir: path.join(this.dir, "IMS") },
      offline: {
        stop: [`echo stopped >> ${this.calls}`, "kill $(cat " + path.join(this.dir, "server.pid") + ")"],
        start: [`echo started >> ${this.calls}`],
        secretFiles: {},
      },
      schedules: {
        nightly: {
          kind: "backup",
          mode: "online",
          cron: "0 2 * * *",
          timezone: "UTC",
          targets: [
            { target: "dmgrProfile", path: this.dmgr },
            { target: "appServer", path: this.app },
            { target: "wpProfile", path: this.wp },
            { target: "iim", path: this.iimData },
          ],
          retention: { keepDaily: 7 },
          pieces: ["db-dam", "wasconfig-wpProfile", "xmlaccess-base", "remote-crm"],
        },
      },
      pieces: {
        "db-dam": {
          kind: "database",
          domain: "dam",
          database: {
            engine: "postgresql",
            postgresql: {
              host: "127.0.0.1",
              port: 1,
              database: "dam",
              user: "dam",
              passwordFile: path.join(this.dir, "dam-password"),
              dumpCommand: "pg_dump",
            },
          },
        },
        "wasconfig-wpProfile": { kind: "wasConfig", profile: this.wp, profileRoot: "wpProfile" },
        "xmlaccess-base": {
          kind: "xmlaccess",
          command: path.join(this.wp, "bin", "xmlaccess.sh"),
          url: "http://localhost:10039/wps/config",
          request: path.join(this.dir, "Export.xml"),
          user: "wpsadmin",
          passwordFile: path.join(this.dir, "wps-password"),
        },
        "remote-crm": {
          kind: "remoteSource",
          source: "crm",
          by: { kind: "command", run: "true", filename: "crm.json" },
        },
      },
    });
    this.ctx = { ...testContext(config, this.log), agentPath: "/opt/dxbackup/bin/dxbackup-agent" };
    this.put(path.join(this.app, "lib", "a.jar"), "app 1");
    this.put(path.join(this.dmgr, "config", "cell.xml"), "dmgr 1");
    this.put(path.join(this.wp, "config", "resources.xml"), "<resources/>");
    this.put(
      path.join(this.wp, "bin", "restoreConfig.sh"),
      `#!/bin/bash\necho "restoreConfig.sh $*" >> ${this.calls}\nif [ -f ${this.dir}/fail-restoreConfig ]; then echo "ADMU5505E: cannot restore (fake)" >&2; exit 1; fi\n`,
      0o755,
    );
    this.put(path.join(this.iimData, "installed.xml"), installedXml("CF221"));
    mkdirSync(this.ctx.state.staging, { recursive: true });
  }

  put(file: string, content: string, mode = 0o644): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
  }

  async init(): Promise<void> {
    const r = await this.ctx.restic.run(["init"]);
    expect(r.code, r.stderr).to.equal(0);
  }

  /** A run as the agent leaves it: streamed pieces, staged pieces, the record, the files snapshot. */
  async point(extraTags: string[] = []): Promise<{ runId: string; files: string; dam: string }> {
    const runId = `20261128T0200${String(++this.n).padStart(2, "0")}Z-1a2b3c`;
    const { state, config, restic } = this.ctx;
    const tags = ["--tag", [`dxbackup`, `run:${runId}`, "schedule:nightly", ...extraTags].join(",")];
    const stream = (file: string, piece: string, content: string) =>
      restic.backupStdin("piece:test", file, [...tags, "--tag", `piece:${piece}`], {
        cmd: "printf",
        args: ["%s", content],
        what: "printf",
      });
    const dam = await stream("/dx-t/dam.pgdump", "db-dam", "PGDMP not really a dump");
    const crm = await stream("/dx-t/remote/crm.json", "remote-crm", '{"crm": 1}\n');
    const staging = state.staging;
    this.put(path.join(staging, "wasconfig-wpProfile", "wpProfile.zip"), "PK zip");
    this.put(path.join(staging, "xmlaccess-base", "xmlaccess-base.xml"), '<request result="ok"/>');
    const pieces: PieceRecord[] = [
      {
        piece: "db-dam",
        kind: "database",
        completed: "x",
        engine: "postgresql",
        domain: "dam",
        database: "dam",
        snapshot: dam,
        file: "/dx-t/dam.pgdump",
      },
      {
        piece: "wasconfig-wpProfile",
        kind: "wasConfig",
        completed: "x",
        profile: this.wp,
        file: path.join(staging, "wasconfig-wpProfile", "wpProfile.zip"),
      },
      {
        piece: "xmlaccess-base",
        kind: "xmlaccess",
        completed: "x",
        url: "http://localhost:10039/wps/config",
        virtualPortal: "",
        file: path.join(staging, "xmlaccess-base", "xmlaccess-base.xml"),
      },
      {
        piece: "remote-crm",
        kind: "remoteSource",
        completed: "x",
        engine: "command",
        source: "crm",
        snapshot: crm,
        file: "/dx-t/remote/crm.json",
      },
    ];
    writeRecord(state.recoveryPoint, {
      record: {
        runId,
        policy: config.policy,
        host: config.host,
        schedule: "nightly",
        mode: "online",
        start: "2026-11-28T02:00:00Z",
        targets: config.schedules.nightly.targets,
        pieces,
      },
      iimAgentDataDir: this.iimData,
    });
    writeFileSync(
      path.join(state.recoveryPoint, "iim-packages.tsv"),
      packagesTsv(iimPackages(path.join(this.iimData, "installed.xml"))),
    );
    const r = await restic.backup([
      "--host",
      config.host,
      ...tags,
      "--tag",
      "piece:files",
      this.dmgr,
      this.app,
      this.wp,
      this.iimData,
      staging,
      state.recoveryPoint,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    const full = (await restic.snapshots(["--tag", `run:${runId},piece:files`]))[0].id;
    return { runId, files: full, dam };
  }

  /** A process whose command line names the AppServer path, as a running WebSphere would. */
  startServer(): void {
    this.server = spawn("bash", ["-c", `exec -a ${this.app}/java/bin/java sleep 600`], { stdio: "ignore" });
    writeFileSync(path.join(this.dir, "server.pid"), String(this.server.pid));
  }

  stopServer(): void {
    if (this.server?.pid && this.server.exitCode === null && this.server.signalCode === null)
      this.server.kill("SIGTERM");
  }

  restore(o: Partial<RestoreOptions>) {
    this.log.lines = [];
    return captured(() =>
      restoreCommand(this.ctx, {
        spec: "latest",
        inPlace: false,
        force: false,
        pieces: [],
        stopServers: false,
        yes: false,
        leavePortalAndIimAtDifferentLevels: false,
        ...o,
      }),
    );
  }

  callLines(): string[] {
    return existsSync(this.calls) ? readFileSync(this.calls, "utf8").trim().split("\n").filter(Boolean) : [];
  }

  /** The restore work directories that are left. */
  work(): string[] {
    const d = path.join(this.ctx.state.dir, "restore");
    return existsSync(d) ? readdirSync(d) : [];
  }

  remove(): void {
    this.stopServer();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe("agent restore (real restic, pg_restore, fake WebSphere scripts)", function () {
  this.timeout(180000);
  let h: RestoreHost;
  let p1: { runId: string; files: string; dam: string };
  let failed: { runId: string; files: string; dam: string };

  before(async () => {
    h = new RestoreHost();
    await h.init();
    p1 = await h.point();
    // A newer run that failed after its snapshots: tagged, never a recovery point.
    failed = await h.point([NOT_A_RECOVERY_POINT_TAG]);
  });
  after(() => h.remove());

  describe("resolving a recovery point", () => {
    it("latest skips a run tagged not-a-recovery-point; --before and a schedule narrow it", async () => {
      const rp = await resolveRecoveryPoint(h.ctx, "latest");
      expect(rp).to.deep.include({ runId: p1.runId, filesSnapshot: p1.files });
      expect((await resolveRecoveryPoint(h.ctx, "latest", undefined, "nightly")).runId).to.equal(p1.runId);
      await resolveRecoveryPoint(h.ctx, "latest", new Date("2000-01-01T00:00:00Z")).then(
        () => expect.fail("resolved"),
        (e) =>
          expect(e)
            .to.be.instanceOf(UsageError)
            .with.property(
              "message",
              `no recovery point matches 'latest' before 2000-01-01T00:00:00Z on host portal-1`,
            ),
      );
      await resolveRecoveryPoint(h.ctx, "latest", undefined, "weekly").then(
        () => expect.fail("resolved"),
        (e) => expect((e as Error).message).to.match(/no recovery point matches 'latest'/),
      );
    });

    it("a run id, or the id of any snapshot of the run (a streamed dump's too), names its files snapshot", async () => {
      expect((await resolveRecoveryPoint(h.ctx, p1.runId)).filesSnapshot).to.equal(p1.files);
      expect((await resolveRecoveryPoint(h.ctx, p1.dam)).filesSnapshot).to.equal(p1.files);
      expect((await resolveRecoveryPoint(h.ctx, p1.files.slice(0, 8))).runId).to.equal(p1.runId);
    });

    it("naming a point that is not one is refused; so are unknown ids and other words", async () => {
      for (const [spec, message] of [
        [failed.runId, /is not a recovery point: its snapshots are tagged not-a-recovery-point/],
        [failed.dam, /is not a recovery point/],
        ["deadbeef", /no snapshot deadbeef of host portal-1/],
        ["yesterday", /a recovery point is 'latest', a run id/],
      ] as const)
        await resolveRecoveryPoint(h.ctx, spec).then(
          () => expect.fail(`resolved ${spec}`),
          (e) => {
            expect(e, spec).to.be.instanceOf(UsageError);
            expect((e as Error).message, spec).to.match(message);
          },
        );
    });
  });

  describe("into a directory", () => {
    it("restores files, the record, staged pieces and streamed dumps into a directory it creates 0700; nothing else changes", async () => {
      const target = path.join(h.dir, "scratch", "rp");
      const r = await h.restore({ target });
      expect(r.error, h.log.text()).to.equal(undefined);
      expect(r.value).to.equal(0);
      expect(statSync(target).mode & 0o777).to.equal(0o700);
      expect(readFileSync(target + path.join(h.dmgr, "config", "cell.xml"), "utf8")).to.equal("dmgr 1");
      expect(readFileSync(target + path.join(h.app, "lib", "a.jar"), "utf8")).to.equal("app 1");
      expect(existsSync(target + path.join(h.ctx.state.recoveryPoint, "recovery-point.json"))).to.equal(true);
      expect(
        readFileSync(target + path.join(h.ctx.state.staging, "wasconfig-wpProfile", "wpProfile.zip"), "utf8"),
      ).to.equal("PK zip");
      expect(readFileSync(path.join(target, "dx-t", "dam.pgdump"), "utf8")).to.equal("PGDMP not really a dump");
      expect(readFileSync(path.join(target, "dx-t", "remote", "crm.json"), "utf8")).to.equal('{"crm": 1}\n');
      expect(h.log.text()).to.include(`restored into ${target}; nothing on this host was changed`);
      // The failed run here kept its schedule tag (the agent's discard removes it): restic's own
      // `latest`, started beside the listing, restored that run; the listing named p1; the target
      // was emptied and p1 restored, its record checked above.
      expect(h.log.text()).to.include(
        `restic's latest was snapshot ${failed.files.slice(0, 8)}, not recovery point ${p1.runId}: restoring that one instead`,
      );
      expect(readFileSync(target + path.join(h.ctx.state.recoveryPoint, "recovery-point.json"), "utf8")).to.include(
        p1.runId,
      );
      expect(h.work(), "the work directory is removed").to.deep.equal([]);

      const again = await h.restore({ target, pieces: ["target:wpProfile"] });
      expect(again.error).to.be.instanceOf(UsageError);
      expect(again.error!.message).to.equal(`target ${target} is not empty: choose an empty directory, or add --force`);
    });

    it("with no recovery point at all, restic's own restore is stopped and nothing is left behind", async () => {
      const only = new RestoreHost();
      try {
        await only.init();
        await only.point([NOT_A_RECOVERY_POINT_TAG]);
        const target = path.join(only.dir, "scratch", "none");
        const r = await only.restore({ target });
        expect(r.error).to.be.instanceOf(UsageError);
        expect(r.error!.message).to.equal("no recovery point matches 'latest' on host portal-1");
        expect(existsSync(target), "the target it created is removed again").to.equal(false);
        const bad = await only.restore({ target, schedule: "nightly,piece:db-dam" });
        expect(bad.error!.message).to.equal("--schedule takes a schedule name, not 'nightly,piece:db-dam'");
      } finally {
        only.remove();
      }
    });

    it("when restic's latest is the recovery point, it is restored once: two restic processes, no second restore", async () => {
      const one = new RestoreHost();
      try {
        await one.init();
        const p = await one.point();
        const before = one.ctx.restic.processes;
        const target = path.join(one.dir, "scratch", "one");
        const r = await one.restore({ target });
        expect(r.error, one.log.text()).to.equal(undefined);
        // The listing and the restore; the two streamed pieces are dumped after them.
        expect(one.ctx.restic.processes - before).to.equal(4);
        expect(one.log.text()).to.not.include("restoring that one instead");
        expect(readFileSync(target + path.join(one.ctx.state.recoveryPoint, "recovery-point.json"), "utf8")).to.include(
          p.runId,
        );
      } finally {
        one.remove();
      }
    });

    it("restic failing on the recovery point itself fails the restore at restore, with no second attempt", async () => {
      const one = new RestoreHost();
      try {
        await one.init();
        await one.point();
        // The index is gone, the snapshots are not: the listing succeeds, the restore finds no tree.
        rmSync(path.join(one.ctx.config.repository.url, "index"), { recursive: true, force: true });
        mkdirSync(path.join(one.ctx.config.repository.url, "index"));
        const target = path.join(one.dir, "scratch", "broken");
        const r = await one.restore({ target });
        expect(r.error).to.be.instanceOf(StepError);
        expect((r.error as StepError).step).to.equal("restore");
        expect(r.error!.message).to.match(/^restic restore of [0-9a-f]{8} into .*broken failed/);
        expect(one.log.text()).to.not.include("restoring that one instead");
        expect(one.log.text()).to.not.include("restored into");
      } finally {
        one.remove();
      }
    });

    it("only what was asked: a target and one dump", async () => {
      const target = path.join(h.dir, "scratch2");
      const r = await h.restore({ target, pieces: ["target:wpProfile", "db-dam"] });
      expect(r.value, r.error?.message).to.equal(0);
      expect(existsSync(target + h.wp)).to.equal(true);
      expect(existsSync(target + h.app)).to.equal(false);
      expect(existsSync(path.join(target, "dx-t", "dam.pgdump"))).to.equal(true);
      expect(existsSync(path.join(target, "dx-t", "remote"))).to.equal(false);
    });
  });

  describe("in place", () => {
    afterEach(() => h.stopServer());

    it("restores the files (the outer AppServer and the Dmgr profile inside it), WebSphere's config, extracts what is left for the operator, starts the servers it stopped; undo puts everything back", async () => {
      h.put(path.join(h.app, "lib", "a.jar"), "app 2", 0o600);
      h.put(path.join(h.app, "lib", "intruder.jar"), "x");
      h.put(path.join(h.dmgr, "config", "cell.xml"), "dmgr 2");
      rmSync(path.join(h.wp, "config", "resources.xml"));
      const damaged = tree(h.opt);
      rmSync(h.calls, { force: true });
      h.startServer();

      const r = await h.restore({
        spec: p1.runId,
        inPlace: true,
        yes: true,
        stopServers: true,
        pieces: ["files", "wasconfig-wpProfile", "xmlaccess-base", "remote-crm"],
      });
      expect(r.error, `${r.error?.message}\n${h.log.text()}`).to.equal(undefined);
      expect(r.value).to.equal(0);
      expect(readFileSync(path.join(h.app, "lib", "a.jar"), "utf8")).to.equal("app 1");
      expect(statSync(path.join(h.app, "lib", "a.jar")).mode & 0o777).to.equal(0o644);
      expect(existsSync(path.join(h.app, "lib", "intruder.jar"))).to.equal(false);
      expect(readFileSync(path.join(h.dmgr, "config", "cell.xml"), "utf8")).to.equal("dmgr 1");
      expect(readFileSync(path.join(h.wp, "config", "resources.xml"), "utf8")).to.equal("<resources/>");
      // Servers: stopped before, started after; restoreConfig.sh on the extracted archive.
      const calls = h.callLines();
      expect(calls[0]).to.equal("stopped");
      expect(calls[1]).to.match(
        /^restoreConfig\.sh \S+\/extract\S+\/staging\/wasconfig-wpProfile\/wpProfile\.zip -nostop$/,
      );
      expect(calls[2]).to.equal("started");
      // The outer path only was moved aside.
      expect(readdirSync(h.opt).sort()).to.deep.equal(
        [
          "AppServer",
          "wp_profile",
          readdirSync(h.opt).find((n) => n.startsWith("AppServer.dxbackup-before-"))!,
          readdirSync(h.opt).find((n) => n.startsWith("wp_profile.dxbackup-before-"))!,
        ].sort(),
      );
      expect(readdirSync(path.join(h.app, "profiles"))).to.deep.equal(["Dmgr01"]);
      const stamp = /undo with `\/opt\/dxbackup\/bin\/dxbackup-agent --config \S+ undo (\S+)`/.exec(h.log.text())?.[1];
      expect(stamp, h.log.text()).to.match(/^\d{8}T\d{6}Z(-\d+)?$/);
      expect(h.log.text()).to.include(`restored ${p1.runId} in place; the previous files are kept: undo with`);
      // Left for the operator, with the extracted files kept (and said so); the rest of the work directory is gone.
      expect(r.stdout).to.match(/^Left for the operator \(backups extracted under \S+\/extract\):\n/);
      expect(r.stdout).to.include("wasconfig-wpProfile: in a cluster, resynchronise the nodes");
      expect(r.stdout).to.match(
        /xmlaccess-base: an XMLAccess export restores single applications, not the portal; import it only if you mean to: \S+xmlaccess\.sh -in (\S+) -url/,
      );
      const crm = /remote-crm: the backup of the remote source is extracted for its owner: (\S+)/.exec(r.stdout)![1];
      expect(readFileSync(crm, "utf8")).to.equal('{"crm": 1}\n');
      expect(r.stdout).to.match(/The extracted backups are kept until you remove them: rm -rf /);
      const work = path.join(h.ctx.state.dir, "restore", stamp!);
      expect(readdirSync(work)).to.deep.equal(["extract"]);
      expect(existsSync(work + h.ctx.state.staging + "/wasconfig-wpProfile"), "not referred to: removed").to.equal(
        false,
      );
      rmSync(work, { recursive: true });

      // undo: exactly the damaged state again, the restored trees kept aside.
      const u = await captured(() => undoCommand(h.ctx, stamp));
      expect(u.value, u.error?.message).to.equal(0);
      expect(u.stdout).to.include(`restored ${h.app} as it was before the restore`);
      const undone = tree(h.opt, (rel) => rel.includes(".dxbackup-undone-"));
      expect(undone).to.deep.equal(damaged);
      expect((await captured(() => undoCommand(h.ctx, "--list"))).stdout).to.equal("");
    });

    it("a failing pg_restore fails the restore: the piece and step named, no 'restored in place', servers left stopped, undo printed, work files gone", async () => {
      rmSync(h.calls, { force: true });
      h.startServer();
      const r = await h.restore({
        spec: p1.runId,
        inPlace: true,
        yes: true,
        stopServers: true,
        pieces: ["files", "db-dam"],
      });
      expect(r.error).to.be.instanceOf(StepError);
      expect((r.error as StepError).step).to.equal("piece:db-dam");
      expect(r.error!.message).to.match(/^restoring db-dam failed at pg_restore: /);
      const log = h.log.text();
      expect(log).to.not.match(/restored \S+ in place/);
      expect(log).to.match(
        /the files it replaced are kept: put them back with `\/opt\/dxbackup\/bin\/dxbackup-agent --config \S+ undo \S+`/,
      );
      expect(log).to.match(/the servers are left STOPPED.*start them with: echo started/);
      expect(h.callLines()).to.deep.equal(["stopped"]);
      expect(h.work(), "no work files, no password file").to.deep.equal([]);
      // The files were restored before the database failed; undo puts the pre-restore state back.
      const stamp = /undo (\S+)`/.exec(log)![1];
      expect((await captured(() => undoCommand(h.ctx, stamp))).value).to.equal(0);
    });

    it("a failing restoreConfig.sh fails the restore at restoreConfig.sh", async () => {
      writeFileSync(path.join(h.dir, "fail-restoreConfig"), "");
      try {
        const r = await h.restore({ inPlace: true, yes: true, pieces: ["wasconfig-wpProfile"] });
        expect(r.error).to.be.instanceOf(StepError);
        expect(r.error!.message).to.match(
          /^restoring wasconfig-wpProfile failed at restoreConfig\.sh: restoreConfig\.sh of \S+ failed \(exit 1\): ADMU5505E/,
        );
        expect(r.stdout).to.equal("");
        expect(h.work()).to.deep.equal([]);
      } finally {
        rmSync(path.join(h.dir, "fail-restoreConfig"));
      }
    });

    it("the fix-pack guard refuses Portal files without IIM after a fix pack (exit 2) and touches nothing", async () => {
      writeFileSync(path.join(h.iimData, "installed.xml"), installedXml("CF222"));
      try {
        const before = tree(h.opt);
        const r = await h.restore({ inPlace: true, yes: true, pieces: ["target:wpProfile"] });
        expect(r.value, r.error?.message).to.equal(2);
        expect(r.stderr).to.include(
          `REFUSED: a fix pack changed IBM Installation Manager since recovery point ${p1.runId}:`,
        );
        expect(r.stderr).to.include("com.hcl.dx.cf95: 9.5.0.CF221 in the recovery point, 9.5.0.CF222 installed now");
        expect(r.stderr).to.include("none exists yet");
        expect(tree(h.opt)).to.deep.equal(before);
        expect((await captured(() => undoCommand(h.ctx, undefined))).stdout).to.equal("");
        // Into a directory it is only a warning.
        const into = await h.restore({ target: path.join(h.dir, "scratch3"), pieces: ["target:wpProfile"] });
        expect(into.value).to.equal(0);
        expect(h.log.text()).to.include("Portal and IIM levels differ from the recovery point");
      } finally {
        writeFileSync(path.join(h.iimData, "installed.xml"), installedXml("CF221"));
      }
    });

    it("in place, is not started while a run holds the run lock (exit 75)", async () => {
      const holder = spawn("flock", [h.ctx.state.lock, "sleep", "60"], { stdio: "ignore", detached: true });
      try {
        const deadline = Date.now() + 10_000;
        while (spawnSync("flock", ["-n", h.ctx.state.lock, "true"]).status === 0) {
          if (Date.now() > deadline) throw new Error("flock never took the lock");
          await new Promise((res) => setTimeout(res, 50));
        }
        const r = await h.restore({ inPlace: true, yes: true, pieces: ["target:wpProfile"] });
        expect(r.value).to.equal(75);
        expect(r.stderr).to.equal(`dx-backup: restore not started: a run holds ${h.ctx.state.lock}\n`);
        // Into a directory nothing on the host changes: no lock needed.
        const into = await h.restore({ target: path.join(h.dir, "scratch-locked"), pieces: ["target:wpProfile"] });
        expect(into.value, into.error?.message).to.equal(0);
      } finally {
        // flock and the sleep that holds the lock: the process group this test started.
        process.kill(-holder.pid!, "SIGTERM");
      }
    });

    it("refuses without --yes when not interactive, and a piece the config no longer has", async () => {
      const r = await h.restore({ inPlace: true, pieces: ["target:wpProfile"] });
      expect(r.error).to.be.instanceOf(UsageError);
      expect(r.error!.message).to.equal("not confirmed (add --yes to confirm)");
      const pieces = h.ctx.config.pieces;
      const { "remote-crm": _gone, ...rest } = pieces;
      h.ctx.config.pieces = rest;
      try {
        const gone = await h.restore({ inPlace: true, yes: true });
        expect(gone.error!.message).to.equal(
          "remote-crm is not configured on this host any more: restore it with --target and its engine's tools",
        );
      } finally {
        h.ctx.config.pieces = pieces;
      }
      expect(h.work()).to.deep.equal([]);
    });
  });
});

describe("agent restore on a Spectrum Protect host (the recording fake dsmc of test/fakes)", function () {
  this.timeout(120000);
  const FAKE_DSMC = path.join(__dirname, "..", "..", "fakes", "ibm-tools", "dsmc");
  let t: RestoreHost;
  let saved: NodeJS.ProcessEnv;
  const runId = "20261128T020000Z-abcdef";
  const dsmcCalls = () => readFileSync(path.join(t.dir, "dsmc.log"), "utf8").trim().split("\n");

  before(() => {
    t = new RestoreHost();
    saved = { ...process.env };
    process.env.DXB_FAKE_LOG = path.join(t.dir, "dsmc.log");
    process.env.DXB_FAKE_TSM_STORE = path.join(t.dir, "tsm-store");
    const { config, state } = t.ctx;
    config.fileEngine = "tsm";
    config.tsm = { dsmc: FAKE_DSMC, options: ["-optfile=/opt/tivoli/dsm.opt"] };
    const zip = path.join(state.staging, "wasconfig-wpProfile", "wpProfile.zip");
    t.put(zip, "PK zip");
    writeRecord(state.recoveryPoint, {
      record: {
        runId,
        policy: config.policy,
        host: config.host,
        schedule: "nightly",
        mode: "online",
        start: "2026-11-28T02:00:00Z",
        targets: config.schedules.nightly.targets,
        pieces: [{ piece: "wasconfig-wpProfile", kind: "wasConfig", completed: "x", profile: t.wp, file: zip }],
      },
      iimAgentDataDir: t.iimData,
    });
    const specs = [t.dmgr, t.app, t.wp, t.iimData, state.staging, state.recoveryPoint].map((p) => `${p}/`);
    execFileSync(FAKE_DSMC, ["incremental", ...specs, "-subdir=yes"], { env: process.env });
    rmSync(state.staging, { recursive: true });
  });
  after(() => {
    process.env = saved;
    t.remove();
  });

  it("restores latest into a directory with dsmc restore, the host's dsmc options appended", async () => {
    const target = path.join(t.dir, "restore-tsm");
    const r = await t.restore({ target, pieces: ["target:wpProfile", "wasconfig-wpProfile"] });
    expect(r.value, `${r.error?.message}\n${t.log.text()}`).to.equal(0);
    expect(readFileSync(target + path.join(t.wp, "config", "resources.xml"), "utf8")).to.equal("<resources/>");
    expect(
      readFileSync(target + path.join(t.ctx.state.staging, "wasconfig-wpProfile", "wpProfile.zip"), "utf8"),
    ).to.equal("PK zip");
    expect(existsSync(target + path.join(t.ctx.state.recoveryPoint, "run.list"))).to.equal(true);
    expect(dsmcCalls()).to.include(
      `dsmc restore ${t.wp}/ ${target}${t.wp}/ -subdir=yes -replace=all -optfile=/opt/tivoli/dsm.opt`,
    );
    expect(t.log.text()).to.include(`recovery point ${runId} (2026-11-28T02:00:00Z), snapshot tsm:${runId}`);
    expect(t.work()).to.deep.equal([]);
  });

  it("in place: the outermost paths back at the point in time of --before, undo-able", async () => {
    t.put(path.join(t.dmgr, "config", "cell.xml"), "dmgr 2");
    const before = new Date(Date.now() + 60_000);
    const r = await t.restore({ inPlace: true, yes: true, before, pieces: ["target:appServer"] });
    expect(r.value, `${r.error?.message}\n${t.log.text()}`).to.equal(0);
    expect(readFileSync(path.join(t.dmgr, "config", "cell.xml"), "utf8")).to.equal("dmgr 1");
    // Beside it first, in a directory of root's alone, then renamed into place.
    const restores = dsmcCalls().filter((c) =>
      new RegExp(`^dsmc restore ${t.app}/ ${path.dirname(t.app)}/\\.dxbackup-restore-[0-9TZ-]+${t.app}/ `).test(c),
    );
    expect(restores).to.have.length(1);
    expect(restores[0]).to.match(
      / -subdir=yes -replace=all -dateformat=3 -pitdate=\d{4}-\d\d-\d\d -timeformat=1 -pittime=\d\d:\d\d:\d\d -optfile=/,
    );
    expect(t.log.text()).to.match(/Dmgr01 \(target dmgrProfile\) lies inside \S+AppServer: it is restored with it/);
    const stamp = /undo (\S+)`/.exec(t.log.text())![1];
    expect((await captured(() => undoCommand(t.ctx, stamp))).value).to.equal(0);
    expect(readFileSync(path.join(t.dmgr, "config", "cell.xml"), "utf8")).to.equal("dmgr 2");
  });

  it("a recovery point is 'latest' (and --before) only", async () => {
    const r = await t.restore({ spec: runId, target: path.join(t.dir, "x") });
    expect(r.error!.message).to.equal(
      "on a Spectrum Protect host, pick a recovery point with 'latest' and --before TIME",
    );
  });
});

import { expect } from "chai";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FAKE_IBM_TOOLS } from "../../cli/local/portalTree";
import type { StackConfig } from "../../components/policy/load";
import { PostgresServer } from "../support/databases";
import { LocalPortalHost } from "../support/localHost";
import { oracleTime } from "../../agent/restore/operator";

/**
 * Every tier: a remote information source backed up by us (a real PostgreSQL
 * as the external database, and an export command), and IBM Spectrum Protect
 * as the file-system engine (the recording fake dsmc of test/fakes/ibm-tools,
 * which keeps what it is given so that restores return real files).
 */
describe("remote sources and the TSM engine (real restic, PostgreSQL; dsmc faked)", function () {
  this.timeout(600_000);
  const host = new LocalPortalHost();
  const root = mkdtempSync(path.join(tmpdir(), "dxb-tiers-"));
  chmodSync(root, 0o755);
  const pg = new PostgresServer(path.join(root, "pg"));
  const fakeLog = path.join(root, "fake-calls.log");
  const env = { DXB_FAKE_LOG: fakeLog, DXB_FAKE_TSM_STORE: path.join(root, "tsm-store") };
  const calls = () => (existsSync(fakeLog) ? readFileSync(fakeLog, "utf8").trim().split("\n") : []);

  before(async () => {
    await host.start();
    await pg.start();
    pg.createOwnedDatabase("crm", "crm", "crm-pw", "CREATE TABLE customers (id int PRIMARY KEY, name text)");
    pg.sql("INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 300) g", "crm");
  });
  after(async () => {
    await pg.stop();
    await host.stop();
    rmSync(root, { recursive: true, force: true });
  });

  describe("remote information sources backed up by us", () => {
    let config: StackConfig;
    before(async () => {
      config = host.config({
        environment: "tiers",
        schedules: [{ name: "nightly", cron: "0 2 * * *" }],
        keys: {
          remoteSources: [
            {
              name: "crm",
              kind: "externalDatabase",
              owner: "CRM team",
              rpo: "24h",
              byUs: {
                host: "portal-1",
                postgresql: {
                  host: "127.0.0.1",
                  port: pg.port,
                  database: "crm",
                  user: "crm",
                  passwordSecret: "crmPassword",
                },
              },
            },
            {
              name: "cms-export",
              kind: "restService",
              owner: "Web team",
              rpo: "24h",
              byUs: {
                host: "portal-1",
                command: { run: `printf '%s\\n' '{"export": "complete", "items": 3}'`, filename: "cms-export.json" },
              },
            },
            {
              name: "assets-share",
              kind: "fileShare",
              owner: "Storage team",
              rpo: "24h",
              delegated: { system: "NetApp", frequency: "hourly", evidence: "CHG1", lastVerified: "2026-11-01" },
            },
          ],
        },
        secrets: { crmPassword: "crm-pw" },
      });
      await host.install(config);
    });

    it("dumps them in the same run as the Portal, each a snapshot with the run id", async () => {
      const { job, status } = await host.runSchedule(config, "nightly", env);
      expect(job.code, JSON.stringify(status)).to.equal(0);
      const pieces = (status.pieces as Array<Record<string, string>>).filter((p) => p.kind === "remoteSource");
      expect(pieces.map((p) => `${p.piece}:${p.engine}`)).to.deep.equal([
        "remote-crm:postgresql",
        "remote-cms-export:command",
      ]);
      const ofRun = host.snapshots(config).filter((s) => s.tags.includes(`run:${status.runId}`));
      expect(ofRun.map((s) => s.tags.find((t) => t.startsWith("piece:"))).sort()).to.deep.equal([
        "piece:files",
        "piece:remote-cms-export",
        "piece:remote-crm",
      ]);
    });

    it("restores them for their owners: the external database row for row, the export byte for byte", () => {
      const before = pg.sql("SELECT count(*), md5(string_agg(id || name, ',' ORDER BY id)) FROM customers", "crm");
      pg.sql("DELETE FROM customers WHERE id > 10", "crm");
      const target = path.join(root, "restore-remote");
      const r = host.agent(
        config,
        "restore",
        "latest",
        "--target",
        target,
        "--piece",
        "remote-crm",
        "--piece",
        "remote-cms-export",
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(readFileSync(path.join(target, "dx-tiers", "remote", "cms-export.json"), "utf8")).to.equal(
        '{"export": "complete", "items": 3}\n',
      );
      pg.restore(readFileSync(path.join(target, "dx-tiers", "remote", "crm.pgdump")), "crm_restored");
      expect(
        pg.sql("SELECT count(*), md5(string_agg(id || name, ',' ORDER BY id)) FROM customers", "crm_restored"),
      ).to.equal(before);
    });

    it("a drill reads both back", () => {
      const r = host.agent(config, "drill");
      expect(r.status, r.stderr).to.equal(0);
      const { host: h } = host.policy(config);
      const drill = JSON.parse(readFileSync(path.join(h.agent.stateDir, "drill-status.json"), "utf8"));
      expect(drill.checks).to.include("remote-cms-export: the streamed export reads back in full");
      expect(drill.checks).to.include(
        "remote-crm: the PostgreSQL dump is complete and readable to its last row (pg_restore)",
      );
    });

    after(async () => {
      await host.uninstall(config);
    });
  });

  describe("IBM Spectrum Protect (TSM) as the file-system engine", () => {
    let config: StackConfig;
    const dsmc = path.join(FAKE_IBM_TOOLS, "dsmc");
    before(async () => {
      config = host.config({
        environment: "tsm",
        schedules: [
          { name: "nightly", cron: "0 2 * * *" },
          { name: "weekly", cron: "0 3 * * 0", mode: "offline" },
        ],
        host: { fileEngine: "tsm", tsm: { dsmc, optFile: "/opt/tivoli/tsm/client/ba/bin/dsm.opt" } },
      });
      host.agentEnv = env;
      const installed = await host.install(config);
      expect(installed[0].stdout).to.match(/files=\d+ changed=\d+/);
    });

    it("backs up the Portal files and the three IIM directories in one dsmc incremental", async () => {
      rmSync(fakeLog, { force: true });
      const { job, status } = await host.runSchedule(config, "nightly", env);
      expect(job.code, JSON.stringify(status)).to.equal(0);
      expect(status).to.deep.include({ result: "success", snapshotIds: [`tsm-incremental-${status.runId}`] });
      const incremental = calls().filter((c) => c.startsWith("dsmc incremental"));
      expect(incremental).to.have.length(1);
      const l = host.layout;
      for (const p of [l.portalServer, l.wpProfile, l.iimInstall, l.iimAgentData, l.iimShared])
        expect(incremental[0]).to.include(` ${p}/ `);
      expect(incremental[0]).to.match(/ -subdir=yes -optfile=\/opt\/tivoli\/tsm\/client\/ba\/bin\/dsm\.opt$/);
      // No restic repository is used for the files: retention is the server's.
      expect(readFileSync(path.join(host.policy(config).host.agent.stateDir, "agent.log"), "utf8")).to.include(
        "management class",
      );
    });

    it("lists recovery points with dsmc query backup", () => {
      const r = host.agent(config, "snapshots");
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include("recovery-point.json");
      expect(calls().filter((c) => c.startsWith("dsmc query backup"))[0]).to.match(
        /recovery-point\/recovery-point\.json -inactive/,
      );
    });

    it("takes a baseline with dsmc archive (after a fix pack)", () => {
      const r = host.agent(config, "baseline", "nightly");
      expect(r.status, r.stderr).to.equal(0);
      expect(calls().filter((c) => c.startsWith("dsmc archive"))[0]).to.match(
        /-subdir=yes -description=dx-backup\\ baseline\\ \S+/,
      );
    });

    it("restores with dsmc restore, into a directory", () => {
      const target = path.join(root, "restore-tsm");
      const r = host.agent(config, "restore", "latest", "--target", target, "--piece", "target:wpProfile");
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      const restored = path.join(target, host.layout.wpProfile, "config/cells/dxCell/security.xml");
      expect(readFileSync(restored, "utf8")).to.equal(
        readFileSync(path.join(host.layout.wpProfile, "config/cells/dxCell/security.xml"), "utf8"),
      );
      expect(
        calls().some((c) =>
          c.startsWith(
            `dsmc restore ${host.layout.wpProfile}/ ${target}${host.layout.wpProfile}/ -subdir=yes -replace=all`,
          ),
        ),
      ).to.equal(true);
    });

    it("a restore --before gives dsmc its point in time in ISO form, whatever DATEFORMAT dsm.opt sets (here 4, DD.MM.YYYY)", () => {
      const target = path.join(root, "restore-tsm-before");
      rmSync(fakeLog, { force: true });
      host.agentEnv = { ...env, DXB_FAKE_DSMC_DATEFORMAT: "4" };
      try {
        const later = new Date(Date.now() + 3600_000);
        later.setMinutes(0, 0, 0);
        const at = oracleTime(later); // local "YYYY-MM-DD HH:00:00"
        const r = host.agent(
          config,
          "restore",
          "latest",
          "--before",
          at,
          "--target",
          target,
          "--piece",
          "target:wpProfile",
        );
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        const restore = calls().filter((c) => c.startsWith("dsmc restore"));
        expect(restore.length).to.be.greaterThan(0);
        for (const c of restore)
          expect(c).to.match(/ -dateformat=3 -pitdate=\d{4}-\d\d-\d\d -timeformat=1 -pittime=\d\d:00:00( |$)/);
        expect(existsSync(path.join(target, host.layout.wpProfile, "config/cells/dxCell/security.xml"))).to.equal(true);
      } finally {
        host.agentEnv = env;
      }
    });

    it("a failing dsmc fails the run and the servers of an offline run are started again", async () => {
      rmSync(fakeLog, { force: true });
      const { job, status } = await host.runSchedule(config, "weekly", { ...env, DXB_FAKE_FAIL: "dsmc" });
      expect(job.code).to.equal(1);
      expect(status).to.deep.include({ result: "failed", failedStep: "backup" });
      expect(status.message).to.match(/dsmc incremental failed \(return code 12\)/);
      expect(calls().filter((c) => /^(stop|start)Server/.test(c))).to.deep.equal([
        "stopServer.sh WebSphere_Portal",
        "startServer.sh WebSphere_Portal",
      ]);
    });

    it("skipped files (return code 4) make the run partial", async () => {
      const { job, status } = await host.runSchedule(config, "nightly", { ...env, DXB_FAKE_DSMC_RC: "4" });
      expect(job.code).to.equal(3);
      expect(status).to.deep.include({ result: "partial", failedStep: "backup" });
    });
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { derbyNetworkRestore } from "../../../agent/engines/derby";
import { StepError } from "../../../agent/errors";
import { DerbyNetworkServer, ij } from "../../support/databases";

/**
 * A restore through the Derby Network Server (real server, real ij). Derby ignores restoreFrom
 * for a database the server has booted: a client that connects between the agent's shutdown and
 * its restore (a Portal still running, a connection pool) makes the restore a silent no-op, which
 * the agent must catch. That client is played by a wrapper around the real ij that connects once
 * before the restore's own script.
 */
describe("agent: a Derby restore through the network server proves that it happened (real Derby)", function () {
  this.timeout(120_000);
  const dir = mkdtempSync(path.join(tmpdir(), "dxb-derbynet-"));
  const server = new DerbyNetworkServer(path.join(dir, "server"));
  const db = path.join(dir, "server", "wps6");
  const backup = path.join(dir, "backup");
  const rows = () =>
    ij(`connect '${server.url(db)}';\nselect count(*) from feedback;\nexit;\n`).match(/-+\s+(\d+)/)?.[1];
  const marks = () =>
    ij(
      `connect '${server.url(db)}';\nselect count(*) from sys.systables where tablename like 'DXBACKUP_RESTORE_%';\nexit;\n`,
    ).match(/-+\s+(\d+)/)?.[1];

  before(async () => {
    await server.start();
    ij(
      `connect '${server.url(db)};create=true';\ncreate table feedback(id int);\ninsert into feedback values (1), (2);\nCALL SYSCS_UTIL.SYSCS_BACKUP_DATABASE('${backup}');\ninsert into feedback values (3);\nexit;\n`,
    );
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a client that boots the database between the shutdown and the restore: the restore fails, nothing changed, no table left", async () => {
    const meddling = path.join(dir, "ij-with-a-client-in-between");
    writeFileSync(
      meddling,
      `#!/bin/bash\nscript=$(cat)\nif grep -q restoreFrom <<<"$script"; then echo "connect '${server.url(db)}'; exit;" | ij >/dev/null; fi\nij <<<"$script"\n`,
      { mode: 0o755 },
    );
    const target = { url: server.url(db), command: meddling };
    let failure: unknown;
    await derbyNetworkRestore("restoreFrom", target, path.join(backup, "wps6"), dir).catch((e) => (failure = e));
    expect(failure).to.be.instanceOf(StepError);
    expect((failure as Error).message).to.equal(
      `Derby did not restore ${server.url(db)}: the database was in use again between its shutdown and the restore (the live database answered); stop everything that connects to it (Portal) and restore again`,
    );
    expect(rows()).to.equal("3");
    expect(marks()).to.equal("0");
  });

  it("a damaged database the server cannot boot (the usual reason to restore): restored all the same", async () => {
    // Shut down (ij reports 08006, its normal answer), then damage it: its data segment is gone.
    spawnSync("ij", [], { input: `connect '${server.url(db)};shutdown=true';\nexit;\n`, cwd: dir });
    rmSync(path.join(db, "seg0"), { recursive: true });
    expect(() => rows()).to.throw(/ERROR/);
    await derbyNetworkRestore("restoreFrom", { url: server.url(db), command: "ij" }, path.join(backup, "wps6"), dir);
    expect(rows()).to.equal("2");
  });

  it("with nothing in between: the backup's rows are back", async () => {
    await derbyNetworkRestore("restoreFrom", { url: server.url(db), command: "ij" }, path.join(backup, "wps6"), dir);
    expect(rows()).to.equal("2");
    expect(marks()).to.equal("0");
  });
});

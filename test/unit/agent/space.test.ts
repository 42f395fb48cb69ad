import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { lastStagedBytes, spaceProblem, stagedBytes } from "../../../agent/pieces/space";

describe("agent: free space for staged database images", () => {
  const run = (result: string, pieces: Array<Record<string, string>>) => JSON.stringify({ result, pieces });

  it("compares with the newest successful run that staged the piece, skipping failed runs and torn lines", () => {
    const history = [
      run("success", [{ piece: "db-jcr", stagedBytes: "1000" }]),
      run("success", [
        { piece: "db-jcr", stagedBytes: "2000" },
        { piece: "db-release", stagedBytes: "5" },
      ]),
      run("failed", [{ piece: "db-jcr", stagedBytes: "9999999" }]),
      '{"result":"success","pieces":[{"piece":"db-jcr","stagedBy', // torn by a crash
      "",
    ].join("\n");
    expect(lastStagedBytes(history, "db-jcr")).to.equal(2000);
    expect(lastStagedBytes(history, "db-release")).to.equal(5);
    expect(lastStagedBytes(history, "db-dam")).to.equal(undefined);
    // A value that is not a byte count is no size at all.
    expect(lastStagedBytes(run("success", [{ piece: "db-x", stagedBytes: "-3" }]), "db-x")).to.equal(undefined);
  });

  it("asks for 10% more than the last image, names the piece, the sizes and the fix", () => {
    const gib = 1024 ** 3;
    expect(spaceProblem("db-jcr", "/var/lib/dxbackup/dx-prod/staging", 12 * gib, 10 * gib)).to.equal(undefined);
    expect(spaceProblem("db-jcr", "/var/lib/dxbackup/dx-prod/staging", 10.5 * gib, 10 * gib)).to.equal(
      "not enough free space to stage db-jcr under /var/lib/dxbackup/dx-prod/staging: its last image was 10.00 GiB, so about 11.00 GiB is needed, and 10.50 GiB is free there; free space on that file system, or move the agent's stateDir to a larger one",
    );
    // Never staged before: nothing to compare with, no refusal.
    expect(spaceProblem("db-jcr", "/x", 0, undefined)).to.equal(undefined);
  });

  it("counts the staged files without following symbolic links", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dxb-space-"));
    try {
      mkdirSync(path.join(dir, "img", "sub"), { recursive: true });
      writeFileSync(path.join(dir, "img", "a"), Buffer.alloc(300));
      writeFileSync(path.join(dir, "img", "sub", "b"), Buffer.alloc(700));
      writeFileSync(path.join(dir, "big"), Buffer.alloc(5000));
      symlinkSync(path.join(dir, "big"), path.join(dir, "img", "link"));
      expect(stagedBytes(path.join(dir, "img"))).to.equal(1000);
      expect(stagedBytes(path.join(dir, "missing"))).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

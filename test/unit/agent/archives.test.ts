import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { XML_PARSE_LIMIT, xmlProblem, zipEntries } from "../../../agent/archives";
import { lastArchivedLog } from "../../../agent/pieces/database";

describe("agent: what drills find inside restored files", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dxb-archives-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a ZIP whose stored data was damaged fails on its CRC-32, not only a ZIP that cannot be opened", async () => {
    const src = path.join(dir, "config", "cells", "c");
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, "cell.xml"), "<cell name='c'/>\n".repeat(50));
    const zip = path.join(dir, "stored.zip");
    // -0: stored, not deflated, so that a flipped byte is still read back (only its CRC-32 says so).
    const r = spawnSync("zip", ["-q0r", "-X", zip, "config"], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    expect(await zipEntries(zip)).to.include("config/cells/c/cell.xml");
    const bytes = readFileSync(zip);
    const at = bytes.indexOf("<cell name");
    bytes[at + 3] ^= 0x20;
    writeFileSync(zip, bytes);
    let message = "";
    await zipEntries(zip).catch((e: Error) => (message = e.message));
    expect(message).to.equal("config/cells/c/cell.xml: CRC-32 does not match (the archive is damaged)");
  });

  it("an XML file past the parse limit is checked at both ends: a cut-off document fails", () => {
    const file = path.join(dir, "big.xml");
    const body = `<?xml version="1.0"?>\n<request type="export">\n${"<portal-page/>\n".repeat(Math.ceil(XML_PARSE_LIMIT / 14))}`;
    writeFileSync(file, body);
    expect(xmlProblem(file, "request")).to.equal("it ends before </request> (a truncated document)");
    writeFileSync(file, `${body}</request>\n`);
    expect(xmlProblem(file, "request")).to.equal(undefined);
    writeFileSync(file, "<other/>\n");
    expect(xmlProblem(file, "request")).to.equal("the root element is not <request>");
  });

  it("the last archived log of an Oracle backup, from RMAN's listing; none for several threads (RAC)", () => {
    const line = (t: number, s: number) => `input archived log thread=${t} sequence=${s} RECID=${s} STAMP=1\n`;
    expect(lastArchivedLog(line(1, 41) + line(1, 43) + line(1, 42))).to.equal("1:43");
    expect(lastArchivedLog(line(1, 41) + line(2, 17))).to.equal(undefined);
    expect(lastArchivedLog("Finished backup\n")).to.equal(undefined);
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { readCodeCache, verbOf, writeCodeCache } from "../../../agent/boot/codeCache";
import { agentArtifact, agentFile } from "../../../components/render/agentArtifact";

const SHA = "a".repeat(64);
const header = { bodySha256: SHA, node: process.version, verb: "run" };

describe("agent boot: V8's code cache beside the agent file", () => {
  let dir = "";
  let cache = "";
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-cache-"));
    chmodSync(dir, 0o700);
    cache = path.join(dir, ".dxbackup-agent.v8cache");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back what it wrote for the same body and Node, with the verb that made it", () => {
    expect(writeCodeCache(cache, header, Buffer.from("v8 data"))).to.equal(true);
    expect(statSync(cache).mode & 0o777).to.equal(0o600);
    const got = readCodeCache(cache, SHA);
    expect(got?.data.toString()).to.equal("v8 data");
    expect(got?.verb).to.equal("run");
  });

  it("ignores a cache of another agent body or another Node (V8 itself matches the source by length only)", () => {
    writeCodeCache(cache, header, Buffer.from("v8 data"));
    expect(readCodeCache(cache, "b".repeat(64))).to.equal(undefined);
    writeCodeCache(cache, { ...header, node: "v20.0.0-other" }, Buffer.from("v8 data"));
    expect(readCodeCache(cache, SHA)).to.equal(undefined);
    writeFileSync(cache, "no header at all");
    expect(readCodeCache(cache, SHA)).to.equal(undefined);
  });

  it("never loads damaged data under a good header (release builds of V8 do not checksum it)", () => {
    writeCodeCache(cache, header, Buffer.from("v8 data"));
    const bytes = readFileSync(cache);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(cache, bytes);
    expect(readCodeCache(cache, SHA)).to.equal(undefined);
  });

  it("removes what agents killed while writing left behind", () => {
    writeFileSync(`${cache}.4242.tmp`, "half a cache");
    expect(writeCodeCache(cache, header, Buffer.from("v8 data"))).to.equal(true);
    expect(readdirSync(dir)).to.deep.equal([".dxbackup-agent.v8cache"]);
  });

  it("never uses or writes a cache another user could have written (it is code the agent runs as root)", () => {
    writeCodeCache(cache, header, Buffer.from("v8 data"));
    chmodSync(cache, 0o620);
    expect(readCodeCache(cache, SHA), "group-writable file").to.equal(undefined);
    chmodSync(cache, 0o600);
    chownSync(cache, 65534, 65534);
    expect(readCodeCache(cache, SHA), "file of another user").to.equal(undefined);
    chownSync(cache, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    expect(readCodeCache(cache, SHA), "back to the agent's own").to.not.equal(undefined);
    chmodSync(dir, 0o777);
    expect(readCodeCache(cache, SHA), "world-writable directory").to.equal(undefined);
    expect(writeCodeCache(cache, header, Buffer.from("x")), "world-writable directory").to.equal(false);
    chmodSync(dir, 0o700);
    const planted = path.join(dir, "planted");
    writeFileSync(planted, "x");
    rmSync(cache);
    symlinkSync(planted, cache);
    expect(readCodeCache(cache, SHA), "a symlink in its place").to.equal(undefined);
  });

  it("takes the verb after --config FILE", () => {
    expect(verbOf(["--config", "/etc/agent.json", "run", "nightly"])).to.equal("run");
    expect(verbOf(["--version"])).to.equal("--version");
    expect(verbOf([])).to.equal("");
  });

  describe("the built agent", function () {
    this.timeout(120_000);
    let agent = "";
    beforeEach(() => {
      mkdirSync(path.join(dir, "bin"), { mode: 0o700 });
      agent = path.join(dir, "bin", "dxbackup-agent");
      copyFileSync(agentFile(agentArtifact("node")), agent);
      chmodSync(agent, 0o755);
      cache = path.join(dir, "bin", ".dxbackup-agent.v8cache");
    });
    const runAgent = (...args: string[]) => spawnSync(agent, args, { encoding: "utf8" });
    const status = () => runAgent("--config", path.join(dir, "missing.json"), "status");

    it("writes its cache on the first run, uses it on the next, and a run replaces one another verb made", () => {
      expect(runAgent("--version").stdout).to.match(/^dxbackup-agent \d+/);
      expect(() => statSync(cache), "the installer's --version probe makes no cache").to.throw();
      const first = status();
      expect(first.status, first.stderr).to.equal(64);
      expect(first.stderr).to.include("missing.json");
      expect(readFileSync(cache).subarray(0, 20).toString()).to.equal("dxbackup-code-cache ");
      const made = statSync(cache);
      const second = status();
      expect([second.status, second.stderr]).to.deep.equal([first.status, first.stderr]);
      expect(statSync(cache).ino, "a cache that was used is not written again").to.equal(made.ino);
      runAgent("--config", path.join(dir, "missing.json"), "run", "nightly");
      expect(statSync(cache).ino, "the scheduled verb's cache replaces it").to.not.equal(made.ino);
      expect(readFileSync(cache).toString("latin1").split("\n")[0]).to.match(/ run [0-9a-f]{64}$/);
    });

    it("runs the same from source when V8 rejects the cache, and replaces it", () => {
      status();
      const good = readFileSync(cache);
      const nl = good.indexOf(10);
      // Same header, damaged data: V8's own checks reject it.
      writeFileSync(cache, Buffer.concat([good.subarray(0, nl + 1), Buffer.alloc(good.length - nl - 1, 7)]), {
        mode: 0o600,
      });
      const before = statSync(cache).ino;
      const r = status();
      expect(r.status, r.stderr).to.equal(64);
      expect(r.stderr).to.include("missing.json");
      expect(statSync(cache).ino).to.not.equal(before);
      const rewritten = readFileSync(cache);
      expect(
        rewritten.subarray(rewritten.indexOf(10) + 1).every((b) => b === 7),
        "rewritten from a fresh compile",
      ).to.equal(false);
    });

    it("runs without a cache where it may not keep one (a directory others can write)", () => {
      chmodSync(path.dirname(agent), 0o777);
      const r = status();
      expect(r.status, r.stderr).to.equal(64);
      expect(r.stderr).to.include("missing.json");
      expect(() => statSync(cache)).to.throw();
    });
  });
});

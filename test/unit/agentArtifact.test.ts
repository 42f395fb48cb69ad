import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

/** agentArtifact in a fresh process (it keeps what it built for the life of one), with CACHE as its cache. */
function build(cache: string, runtime: "node" | "linux-x64") {
  const r = spawnSync(
    process.execPath,
    [
      "--require",
      "tsx/cjs",
      "-e",
      `process.stdout.write(JSON.stringify(require("./components/render/agentArtifact").agentArtifact(${JSON.stringify(runtime)})))`,
    ],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, DXBACKUP_CACHE_DIR: cache } },
  );
  return { status: r.status, artifact: r.status === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

describe("the agent cache: what is sent to the hosts as root", function () {
  this.timeout(120_000);
  let dir = "";
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "dxb-cache-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("names each agent by its digest: the same sources give the same file and digest", () => {
    const cache = path.join(dir, "c");
    const one = build(cache, "node");
    expect(one.status, one.stderr).to.equal(0);
    expect(one.artifact.digest).to.match(/^[0-9a-f]{64}$/);
    expect(readdirSync(path.join(cache, "agents"))).to.deep.equal([`${one.artifact.digest}.js`]);
    expect(build(cache, "node").artifact).to.deep.equal(one.artifact);
  });

  it("refuses a cache another user could change: a directory others can write, or one they own", () => {
    const open = path.join(dir, "shared");
    mkdirSync(open);
    chmodSync(open, 0o777);
    const r = build(path.join(open, "c"), "node");
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(
      /the agent cache .* is not private: .*\/shared is owned by uid 0, mode 777; .*DXBACKUP_CACHE_DIR/,
    );

    // Group write is others' write, unless the group is the user's own (user private groups, umask 002).
    const upg = path.join(dir, "upg");
    mkdirSync(upg, { mode: 0o775 });
    chmodSync(upg, 0o775);
    expect(build(path.join(upg, "c"), "node").status).to.equal(0);
    const staff = path.join(dir, "staff");
    mkdirSync(staff);
    chownSync(staff, 0, 50);
    chmodSync(staff, 0o775);
    const g = build(path.join(staff, "c"), "node");
    expect(g.status).to.not.equal(0);
    expect(g.stderr).to.match(/staff is owned by uid 0, mode 775/);

    const theirs = path.join(dir, "theirs");
    mkdirSync(path.join(theirs, "agents"), { recursive: true, mode: 0o700 });
    chownSync(path.join(theirs, "agents"), 65534, 65534);
    const t = build(theirs, "node");
    expect(t.status).to.not.equal(0);
    expect(t.stderr).to.match(/theirs\/agents is owned by uid 65534/);
  });

  it("refuses an executable changed behind its name, and prunes leftovers and agents unused for 30 days", () => {
    const cache = path.join(dir, "c");
    const sea = build(cache, "linux-x64");
    expect(sea.status, sea.stderr).to.equal(0);
    const agents = path.join(cache, "agents");
    writeFileSync(path.join(agents, sea.artifact.digest), "#!/bin/sh\necho not the agent\n");
    const r = build(cache, "linux-x64");
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/does not have the digest of its name: remove it and run again/);

    rmSync(path.join(agents, sea.artifact.digest));
    const old = new Date(Date.now() - 31 * 86_400_000);
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    writeFileSync(path.join(agents, `${"a".repeat(64)}.js`), "an agent of last month");
    utimesSync(path.join(agents, `${"a".repeat(64)}.js`), old, old);
    mkdirSync(path.join(agents, ".build-killed"));
    utimesSync(path.join(agents, ".build-killed"), hourAgo, hourAgo);
    writeFileSync(path.join(agents, `${"b".repeat(64)}.js`), "an agent of yesterday");
    const node = build(cache, "node");
    expect(node.status, node.stderr).to.equal(0);
    expect(readdirSync(agents).sort()).to.deep.equal(
      [
        `${"b".repeat(64)}.js`,
        `${node.artifact.digest}.js`,
        ...readdirSync(agents).filter((f) => f.startsWith("sea-")),
      ].sort(),
    );
  });
});

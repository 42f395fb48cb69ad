import { expect } from "chai";
import {
  chownSync,
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
import { UsageError } from "../../../agent/errors";
import { besideDir, byParent, checkParents, restoreBeside } from "../../../agent/restore/beside";

/** An in-place restore writes beside each path, in a directory of root's alone, then renames. */
describe("agent restore in place: through a directory beside the path", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "dxb-beside-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** What restic restore --target DIR --include … does: each path under DIR, with its contents. */
  const writesUnder = (seen: string[]) => async (into: string, paths: string[]) => {
    seen.push(`${statSync(into).mode & 0o777} ${paths.join(" ")}`);
    for (const p of paths) {
      mkdirSync(into + p, { recursive: true });
      writeFileSync(path.join(into + p, "restored"), p);
    }
  };

  it("restores each path of a parent beside it, renames it into place, and leaves nothing beside", async () => {
    const a = path.join(dir, "wp_profile");
    const b = path.join(dir, "PortalServer");
    const seen: string[] = [];
    await restoreBeside(dir, [a, b], [a, b, "/elsewhere/x"], "20261129T120000Z", writesUnder(seen));
    // Only the paths under these tops, into a 0700 directory.
    expect(seen).to.deep.equal([`448 ${a} ${b}`]);
    expect(readFileSync(path.join(a, "restored"), "utf8")).to.equal(a);
    expect(readFileSync(path.join(b, "restored"), "utf8")).to.equal(b);
    expect(readdirSync(dir).sort()).to.deep.equal(["PortalServer", "wp_profile"]);
  });

  it("a restore that fails leaves the path as it was (moved aside: absent) and removes what it wrote beside", async () => {
    const a = path.join(dir, "wp_profile");
    const failing = async (into: string) => {
      mkdirSync(into + a, { recursive: true });
      throw new Error("restic restore failed");
    };
    let error: unknown;
    await restoreBeside(dir, [a], [a], "20261129T120000Z", failing).catch((e) => (error = e));
    expect((error as Error).message).to.equal("restic restore failed");
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("never reuses a directory that is already there (someone else's)", async () => {
    mkdirSync(besideDir(dir, "20261129T120000Z"));
    let error: unknown;
    await restoreBeside(dir, [path.join(dir, "x")], [], "20261129T120000Z", writesUnder([])).catch((e) => (error = e));
    expect((error as NodeJS.ErrnoException).code).to.equal("EEXIST");
  });

  it("refuses, before anything moves, a path whose parent another user owns", () => {
    const parent = path.join(dir, "HCL");
    mkdirSync(parent);
    expect(() => checkParents([path.join(parent, "wp_profile")], "20261129T120000Z")).to.not.throw();
    chownSync(parent, 65534, 65534);
    expect(() => checkParents([path.join(parent, "wp_profile")], "20261129T120000Z")).to.throw(
      UsageError,
      `cannot restore ${path.join(parent, "wp_profile")} in place safely: ${parent} is owned by uid 65534, so the restore could be redirected`,
    );
    expect(existsSync(path.join(parent, "wp_profile"))).to.equal(false);
  });

  it("a rebuilt host: a missing parent is judged by its nearest ancestor, and comes back as root's", async () => {
    const top = path.join(dir, "opt", "HCL", "wp_profile");
    expect(() => checkParents([top], "20261129T120000Z")).to.not.throw();
    await restoreBeside(path.dirname(top), [top], [top], "20261129T120000Z", writesUnder([]));
    expect(readFileSync(path.join(top, "restored"), "utf8")).to.equal(top);
    expect(statSync(path.dirname(top)).uid).to.equal(0);
    chownSync(path.join(dir, "opt"), 65534, 65534);
    const other = path.join(dir, "opt", "IBM", "InstallationManager");
    expect(() => checkParents([other], "20261129T120000Z")).to.throw(
      UsageError,
      `${path.join(dir, "opt")} is owned by uid 65534`,
    );
  });

  it("a path the recovery point has nothing of fails the restore, and nothing that appeared meanwhile is replaced", async () => {
    const a = path.join(dir, "wp_profile");
    let error: unknown;
    await restoreBeside(dir, [a], [a], "20261129T120000Z", async () => undefined).catch((e) => (error = e));
    expect((error as Error).message).to.equal(`the recovery point holds nothing of ${a}: it stays moved aside`);
    const appearing = async (into: string, paths: string[]) => {
      await writesUnder([])(into, paths);
      mkdirSync(a); // someone made it while the restore ran
    };
    error = undefined;
    await restoreBeside(dir, [a], [a], "20261129T120000Z", appearing).catch((e) => (error = e));
    expect((error as Error).message).to.equal(
      `${a} appeared during the restore (not by this agent): it is left as it is`,
    );
    expect(readdirSync(a)).to.deep.equal([]);
    expect(readdirSync(dir)).to.deep.equal(["wp_profile"]);
  });

  it("a directory beside the path that is there already refuses the restore before anything moves", () => {
    mkdirSync(besideDir(dir, "20261129T120000Z"));
    expect(() => checkParents([path.join(dir, "wp_profile")], "20261129T120000Z")).to.throw(
      UsageError,
      `${besideDir(dir, "20261129T120000Z")} is there already: remove it first; nothing was restored`,
    );
  });

  it("groups the outermost paths by parent", () => {
    expect([
      ...byParent(["/opt/HCL/wp_profile", "/var/ibm/InstallationManager", "/opt/HCL/PortalServer"]),
    ]).to.deep.equal([
      ["/opt/HCL", ["/opt/HCL/wp_profile", "/opt/HCL/PortalServer"]],
      ["/var/ibm", ["/var/ibm/InstallationManager"]],
    ]);
  });
});

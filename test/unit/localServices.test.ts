import { expect } from "chai";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ownPrivateDir } from "../../cli/local/privateDir";
import { freshKeyPair } from "../../cli/local/sshd";

/**
 * The demo keeps its keys, password and state under /var/tmp, where any user
 * can create a directory first. Tried as that user would: plant the
 * directory, or a key in it, before the demo runs.
 */
describe("the demo's directory under a world-writable parent", () => {
  const parent = mkdtempSync(path.join(tmpdir(), "dxb-demo-root-"));
  before(() => chmodSync(parent, 0o1777)); // like /var/tmp
  after(() => rmSync(parent, { recursive: true, force: true }));

  it("is created 0700 when missing", () => {
    const dir = path.join(parent, "fresh");
    ownPrivateDir(dir);
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
  });

  it("is refused when another user created it first (nobody, uid 65534), naming the owner and the fix", () => {
    const dir = path.join(parent, "planted");
    mkdirSync(dir);
    chownSync(dir, 65534, 65534);
    expect(() => ownPrivateDir(dir)).to.throw(
      `${dir} belongs to uid 65534, not to you (uid 0): another user may have planted files in it; check what is in it and remove it (rm -rf ${dir}), then run again`,
    );
  });

  it("is refused when it is a symlink to somewhere else", () => {
    const target = path.join(parent, "elsewhere");
    mkdirSync(target);
    const dir = path.join(parent, "link");
    symlinkSync(target, dir);
    expect(() => ownPrivateDir(dir)).to.throw(/is a symbolic link, not a directory of yours/);
  });

  it("is refused when others could write into it, even if it is ours", () => {
    const dir = path.join(parent, "open");
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(() => ownPrivateDir(dir)).to.throw(/is writable by every user \(mode 777\)/);
  });

  it("never trusts a client key it finds: a planted key is replaced by a new one", () => {
    const dir = path.join(parent, "keys");
    mkdirSync(dir);
    const planted = freshKeyPair(path.join(dir, "attacker"));
    writeFileSync(path.join(dir, "client_ed25519"), planted.privateKey, { mode: 0o600 });
    writeFileSync(path.join(dir, "client_ed25519.pub"), planted.publicKey);
    const key = freshKeyPair(path.join(dir, "client_ed25519"));
    expect(key.publicKey).to.not.equal(planted.publicKey);
    expect(readFileSync(path.join(dir, "client_ed25519.pub"), "utf8")).to.equal(key.publicKey);
  });
});

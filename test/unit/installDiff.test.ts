import { expect } from "chai";
import { installDiff, type InstallInputs } from "../../components/hosts/installDiff";

const base: InstallInputs = {
  connection: { host: "10.0.0.11", port: 22, user: "root" },
  privateKey: "key",
  install: "bash -c install",
  uninstall: "bash -c uninstall",
  bundle: "bundle",
  agent: { runtime: "node", digest: "a".repeat(64) },
  configDigest: "abc",
  decommissioned: false,
};
const changed = (change: (i: InstallInputs) => void): InstallInputs => {
  const copy = structuredClone(base);
  change(copy);
  return copy;
};

describe("installDiff: what the engine does to an agent install", () => {
  it("nothing changed: no change", () => {
    expect(installDiff(base, structuredClone(base))).to.deep.equal({ changes: false, replaces: [] });
  });

  it("config, bundle, secrets, login, SSH port and pinned key: an in-place update", () => {
    for (const change of [
      (i: InstallInputs) => (i.bundle = "other"),
      (i: InstallInputs) => (i.agent.digest = "b".repeat(64)),
      (i: InstallInputs) => (i.agent.runtime = "linux-x64"),
      (i: InstallInputs) => (i.configDigest = "def"),
      (i: InstallInputs) => (i.privateKey = "other key"),
      (i: InstallInputs) => (i.connection.user = "dxbackup"),
      (i: InstallInputs) => (i.connection.port = 2222),
      (i: InstallInputs) => (i.connection.hostKey = "ssh-ed25519 AAAA"),
      (i: InstallInputs) => (i.install = "bash -c install2"),
    ]) {
      expect(installDiff(base, changed(change))).to.deep.equal({ changes: true, replaces: [] });
    }
  });

  it("another address: a replacement", () => {
    expect(
      installDiff(
        base,
        changed((i) => (i.connection.host = "10.0.0.12")),
      ),
    ).to.deep.equal({
      changes: true,
      replaces: ["connection.host"],
    });
  });

  it("a decommissioned host: recorded once, then never changed again, whatever else changes", () => {
    const gone = changed((i) => (i.decommissioned = true));
    expect(installDiff(base, gone)).to.deep.equal({ changes: true, replaces: [] });
    const later = changed((i) => ((i.decommissioned = true), (i.connection.host = "elsewhere"), (i.bundle = "x")));
    expect(installDiff(gone, later)).to.deep.equal({ changes: false, replaces: [] });
  });

  it("state from before a field existed compares as unset, not as a change", () => {
    const old = structuredClone(base) as Partial<InstallInputs>;
    delete old.decommissioned;
    expect(installDiff(old as InstallInputs, base)).to.deep.equal({ changes: true, replaces: [] });
    expect(
      installDiff(
        old as InstallInputs,
        changed((i) => delete i.decommissioned),
      ),
    ).to.deep.equal({
      changes: false,
      replaces: [],
    });
  });
});

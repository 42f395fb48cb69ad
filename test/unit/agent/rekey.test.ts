import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { captured, testContext, testHostConfig } from "../../support/agentHost";
import type { AgentContext } from "../../../agent/context";
import { UsageError } from "../../../agent/errors";
import { Logger } from "../../../agent/log";
import { currentKeyId, rekeyCommand, removePreviousKey } from "../../../agent/rekey";

describe("agent rekey: a new repositoryPassword becomes the repository's key (real restic)", function () {
  this.timeout(120000);
  let dir: string;
  let n = 0;
  const oldFile = () => path.join(dir, "old-password");
  const newFile = () => path.join(dir, "new-password");
  const repo = () => path.join(dir, "repo");

  /** A context of its own state directory: the run lock is held until the process exits. */
  function context(repository = repo()): AgentContext {
    const stateDir = path.join(dir, `state-${++n}`);
    mkdirSync(stateDir);
    const config = testHostConfig(dir, {
      repository: {
        url: repository,
        options: [],
        passwordFile: newFile(),
        storageEnvFile: path.join(dir, "env.json"),
        appendOnly: false,
      },
      stateDir,
    });
    return testContext(config, new Logger("portal-1", false));
  }

  const opens = (passwordFile: string) =>
    spawnSync("restic", ["-r", repo(), "cat", "config"], {
      env: { ...process.env, RESTIC_PASSWORD_FILE: passwordFile, RESTIC_CACHE_DIR: path.join(dir, "cache") },
      encoding: "utf8",
    });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dxb-rekey-"));
    writeFileSync(path.join(dir, "env.json"), "{}");
    writeFileSync(oldFile(), "the old passphrase\n", { mode: 0o600 });
    writeFileSync(newFile(), "a new passphrase, 'quoted' $(not run)\n", { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const init = () => {
    const r = opens(oldFile());
    expect(r.status).to.not.equal(0);
    const i = spawnSync("restic", ["-r", repo(), "init"], {
      env: { ...process.env, RESTIC_PASSWORD_FILE: oldFile(), RESTIC_CACHE_DIR: path.join(dir, "cache") },
      encoding: "utf8",
    });
    expect(i.status, i.stderr).to.equal(0);
  };

  it("adds the new password as a key and removes the old one; running it again changes nothing", async () => {
    init();
    const r = await captured(() => rekeyCommand(context(), oldFile()));
    expect(r.value, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`dx-backup: ${repo()} now opens with the new repository password`);
    expect(r.stdout).to.match(/dx-backup: removed the previous key [0-9a-f]+: the previous password opens nothing/);
    expect(opens(newFile()).status).to.equal(0);
    const old = opens(oldFile());
    expect(old.status).to.not.equal(0);
    expect(old.stderr).to.match(/wrong password|no key/i);

    const again = await captured(() => rekeyCommand(context(), oldFile()));
    expect(again.value, again.stderr).to.equal(0);
    expect(again.stdout).to.equal("");
    expect(opens(newFile()).status).to.equal(0);
  });

  it("removes a key the old password still opens when the new one opens the repository already", async () => {
    init();
    const add = spawnSync("restic", ["-r", repo(), "key", "add", "--new-password-file", newFile()], {
      env: { ...process.env, RESTIC_PASSWORD_FILE: oldFile(), RESTIC_CACHE_DIR: path.join(dir, "cache") },
      encoding: "utf8",
    });
    expect(add.status, add.stderr).to.equal(0);
    const r = await captured(() => rekeyCommand(context(), oldFile()));
    expect(r.value, r.stderr).to.equal(0);
    expect(r.stdout).to.not.include("now opens");
    expect(r.stdout).to.match(/removed the previous key/);
    expect(opens(oldFile()).status).to.not.equal(0);
    expect(opens(newFile()).status).to.equal(0);
  });

  it("exits 3 when the old key cannot go yet (another restic holds a lock), and removes it once it can", async () => {
    init();
    // A backup in progress (restic waiting on stdin) holds a lock: key remove needs the repository alone.
    const holder = spawn("restic", ["-r", repo(), "backup", "--stdin", "--stdin-filename", "held"], {
      env: { ...process.env, RESTIC_PASSWORD_FILE: oldFile(), RESTIC_CACHE_DIR: path.join(dir, "cache-holder") },
      stdio: ["pipe", "ignore", "pipe"],
    });
    let held = "";
    holder.stderr.on("data", (b: Buffer) => (held += b.toString()));
    const lockDir = path.join(repo(), "locks");
    for (let i = 0; i < 200 && !(existsSync(lockDir) && readdirSync(lockDir).length); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(lockDir), held).to.have.length.greaterThan(0);
    const ctx = context();
    const r = await captured(() => rekeyCommand(ctx, oldFile()));
    const finished = new Promise((resolve) => holder.on("close", resolve));
    holder.stdin.end("data\n");
    await finished;
    expect(r.value, r.stderr).to.equal(3);
    expect(r.stderr).to.match(
      /WARNING: the previous key [0-9a-f]+ of .* could not be removed yet; every run tries again/,
    );
    expect(opens(oldFile()).status).to.equal(0);
    expect(opens(newFile()).status).to.equal(0);
    // What a run does afterwards with the password the installer kept.
    const removal = await removePreviousKey(ctx, oldFile());
    expect(removal).to.deep.include({ removed: true, kept: false });
    expect(opens(oldFile()).status).to.not.equal(0);
    expect(await removePreviousKey(ctx, oldFile())).to.deep.equal({
      removed: false,
      kept: false,
      message: "the previous password opens nothing",
    });
    // A repository that cannot be read says nothing of the key: it is kept, to try again.
    const unreadable = await removePreviousKey(context(path.join(dir, "gone")), oldFile());
    expect(unreadable).to.deep.include({ removed: false, kept: true });
    expect(unreadable.message).to.match(/could not check whether the previous key of .*gone is gone/);
  });

  it("succeeds without a repository this host never initialised: the new password will create it", async () => {
    const r = await captured(() => rekeyCommand(context(), oldFile()));
    expect(r.value, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`dx-backup: no repository at ${repo()} yet: the new password will create it\n`);
  });

  it("fails when the repository this host initialised is missing (unreachable storage looks the same)", async () => {
    const ctx = context();
    writeFileSync(ctx.state.repositoryInitialized, `${repo()}\n`);
    const r = await captured(() => rekeyCommand(ctx, oldFile()));
    expect(r.value).to.equal(1);
    expect(r.stderr).to.match(
      new RegExp(`^dx-backup: ERROR: neither the new nor the previous repository password opens ${repo()}: .*Fatal`),
    );
  });

  it("fails, changing nothing, when neither password opens the repository", async () => {
    init();
    writeFileSync(oldFile(), "not the old passphrase either\n");
    const r = await captured(() => rekeyCommand(context(), oldFile()));
    expect(r.value).to.equal(1);
    expect(r.stderr).to.match(/neither the new nor the previous repository password opens .*wrong password or no key/);
  });

  it("needs a readable file with the previous password", async () => {
    let error: unknown;
    await rekeyCommand(context(), path.join(dir, "missing")).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.equal(
      "rekey OLD_PASSWORD_FILE: the file with the previous password is required",
    );
  });

  it("finds the current key in restic key list --json", () => {
    expect(
      currentKeyId('[{"current":false,"id":"aaaa1111"},{"current":true,"id":"bbbb2222","userName":"root"}]'),
    ).to.equal("bbbb2222");
    expect(currentKeyId("[]")).to.equal("");
    expect(currentKeyId("not json")).to.equal("");
    expect(currentKeyId('[{"current":true,"id":"--flag"}]')).to.equal("");
  });
});

import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A throwaway local restic repository (real restic). */
export class TempRepository {
  readonly dir = mkdtempSync(path.join(tmpdir(), "dxb-restic-"));
  readonly repo = path.join(this.dir, "repo");
  readonly data = path.join(this.dir, "data");
  readonly env = { ...process.env, RESTIC_PASSWORD: "test-password", RESTIC_CACHE_DIR: path.join(this.dir, "cache") };

  constructor() {
    mkdirSync(this.data);
    writeFileSync(path.join(this.data, "file"), "content\n");
    this.run(["init"]);
  }

  run(args: string[], extraEnv: Record<string, string> = {}): string {
    return execFileSync("restic", ["-r", this.repo, ...args], { env: { ...this.env, ...extraEnv }, encoding: "utf8" });
  }

  /** Snapshots at the given wall-clock times of `tz` ("YYYY-MM-DD HH:MM:SS"), two restic processes at a time. */
  async snapshotsAt(times: string[], tz: string): Promise<void> {
    const queue = [...times];
    const worker = async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        await execFileAsync("restic", ["-r", this.repo, "backup", "-q", "--host", "h", "--time", t, this.data], {
          env: { ...this.env, TZ: tz },
        });
      }
    };
    await Promise.all([worker(), worker()]);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

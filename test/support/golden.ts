import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const GOLDEN_DIR = path.join(__dirname, "..", "golden");

/**
 * Compares `actual` with test/golden/<name>. Run with UPDATE_GOLDEN=1 to
 * rewrite the files after an intended change, then review the diff.
 */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(existsSync(file), `golden file ${name} is missing: run UPDATE_GOLDEN=1 npm test and review it`).to.equal(true);
  expect(actual, `differs from test/golden/${name} (UPDATE_GOLDEN=1 rewrites it)`).to.equal(readFileSync(file, "utf8"));
}

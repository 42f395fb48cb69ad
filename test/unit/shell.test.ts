import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { plainWord, shArray, shQuote } from "../../components/render/shell";

/** Strings that try hard to break out of quoting: quotes, $(...), backticks, newlines, globs, unicode. */
const nasty = fc.stringMatching(/^[\s\S]*$/).filter((s) => !s.includes("\0"));
const hostile = fc
  .array(
    fc.constantFrom("'", '"', "$(touch /tmp/pwned)", "`id`", "\n", "\\", "*", "$HOME", " ", "!", ";", "é", "'\\''"),
    {
      maxLength: 8,
    },
  )
  .map((parts) => parts.join(""));

describe("shell quoting (real bash)", () => {
  it("shQuote round-trips any string through bash unchanged and never evaluates it", () => {
    fc.assert(
      fc.property(fc.oneof(nasty, hostile), (value) => {
        const out = execFileSync("bash", ["-c", `printf '%s' ${shQuote(value)}`], { encoding: "utf8" });
        expect(out).to.equal(value);
      }),
      { numRuns: 300 },
    );
  });

  it("shArray round-trips a list of hostile values when sourced", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(nasty, hostile), { maxLength: 6 }), (values) => {
        const script = `${shArray("A", values)}\nfor v in "\${A[@]}"; do printf '%s\\0' "$v"; done`;
        const out = execFileSync("bash", ["-c", script], { encoding: "utf8" });
        expect(out.split("\0").slice(0, -1)).to.deep.equal(values);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a NUL byte, which no shell string can hold", () => {
    expect(() => shQuote("a\0b")).to.throw(/NUL/);
  });

  it("plainWord refuses what a unit file or cron line would misread", () => {
    expect(plainWord("/opt/dxbackup/dx-prod/bin/dxbackup-agent")).to.equal("/opt/dxbackup/dx-prod/bin/dxbackup-agent");
    for (const bad of ["a b", "50%", "$x", "a\nb", "'"]) expect(() => plainWord(bad)).to.throw(/not a plain word/);
  });
});

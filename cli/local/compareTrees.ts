import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import * as path from "node:path";

/** A restic exclude pattern as a test on absolute paths (restic's rules: no '/' = any name component). */
export function excludeMatcher(patterns: readonly string[]): (absolutePath: string) => boolean {
  const toRegex = (glob: string) => {
    let re = "";
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i];
      if (c === "\\" && i + 1 < glob.length) re += glob[++i].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      else if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
  };
  const byName = patterns.filter((p) => !p.includes("/")).map(toRegex);
  const byPath = patterns.filter((p) => p.includes("/")).map(toRegex);
  return (absolutePath) => {
    const parts = absolutePath.split("/").filter(Boolean);
    if (parts.some((name) => byName.some((re) => re.test(name)))) return true;
    for (let i = parts.length; i > 0; i--) {
      const prefix = `/${parts.slice(0, i).join("/")}`;
      if (byPath.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

export interface TreeComparison {
  files: number;
  bytes: number;
  differences: string[];
}

function kind(s: Stats): string {
  return s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "directory" : s.isFile() ? "file" : "other";
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * Compares every path backed up from `sources` with its restored copy under
 * `target` (restic restores absolute paths below the target): type, content,
 * mode, owner and group, symlink target. Excluded paths must be absent.
 */
export function compareRestored(
  sources: readonly string[],
  target: string,
  excludes: readonly string[],
): TreeComparison {
  const excluded = excludeMatcher(excludes);
  const out: TreeComparison = { files: 0, bytes: 0, differences: [] };
  const visit = (original: string) => {
    const restored = path.join(target, original);
    let restoredStat: Stats | undefined;
    try {
      restoredStat = lstatSync(restored);
    } catch {
      restoredStat = undefined;
    }
    if (excluded(original)) {
      if (restoredStat) out.differences.push(`${original}: excluded, but restored`);
      return;
    }
    const s = lstatSync(original);
    if (!restoredStat) {
      out.differences.push(`${original}: missing from the restore`);
      return;
    }
    if (kind(s) !== kind(restoredStat)) {
      out.differences.push(`${original}: ${kind(s)} restored as ${kind(restoredStat)}`);
      return;
    }
    if ((s.mode & 0o7777) !== (restoredStat.mode & 0o7777)) {
      out.differences.push(
        `${original}: mode ${(s.mode & 0o7777).toString(8)} restored as ${(restoredStat.mode & 0o7777).toString(8)}`,
      );
    }
    if (s.uid !== restoredStat.uid || s.gid !== restoredStat.gid) {
      out.differences.push(`${original}: owner ${s.uid}:${s.gid} restored as ${restoredStat.uid}:${restoredStat.gid}`);
    }
    if (s.isSymbolicLink()) {
      if (readlinkSync(original) !== readlinkSync(restored))
        out.differences.push(`${original}: symlink target differs`);
    } else if (s.isFile()) {
      out.files++;
      out.bytes += s.size;
      if (s.size !== restoredStat.size || sha256(original) !== sha256(restored))
        out.differences.push(`${original}: content differs`);
    } else if (s.isDirectory()) {
      for (const name of readdirSync(original)) visit(path.join(original, name));
      for (const name of readdirSync(restored)) {
        const entry = path.join(original, name);
        if (excluded(entry)) continue;
        try {
          lstatSync(entry);
        } catch {
          out.differences.push(`${entry}: restored, but not in the original`);
        }
      }
    }
  };
  for (const source of sources) visit(source);
  return out;
}

import * as path from "node:path";
import type { HostConfig, PieceConfig } from "../../shared/hostConfig";
import { UsageError } from "../errors";
import { listGet } from "../record";

/**
 * What a restore restores, decided before anything is changed. Pure: the
 * record read out of a snapshot is data, compared with the host's CURRENT
 * config, which alone names the paths, the engines and their settings.
 */

export const PIECE_NAME = /^[a-z][a-zA-Z0-9-]*$/;
export const SNAPSHOT_ID = /^[0-9a-f]{8,64}$/;
export const RUN_ID = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$/;
export const SCHEDULE_NAME = /^[a-z][a-zA-Z0-9-]*$/;

export interface TargetPath {
  target: string;
  path: string;
}

/** A path as compared: normalised, without a trailing slash. */
export function normalizePath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/** An absolute path in normal form: no `..`, no `.`, no `//`, no trailing slash, no NUL. */
export function isCleanAbsolute(p: string): boolean {
  return (
    p.startsWith("/") &&
    !p.includes("\0") &&
    !p.split("/").includes("..") &&
    (p === "/" || (normalizePath(p) === p && !p.endsWith("/")))
  );
}

/** INNER lies strictly inside OUTER. */
export function isInside(inner: string, outer: string): boolean {
  if (inner === outer) return false;
  return inner.startsWith(outer === "/" ? "/" : `${outer}/`);
}

/** The paths no other path of the set contains, in their first order: what is moved aside. */
export function outermost(paths: readonly string[]): string[] {
  const unique = [...new Set(paths.map(normalizePath))];
  return unique.filter((p) => !unique.some((q) => isInside(p, q)));
}

/**
 * The host's current targets: those of the record's schedule when the config
 * still has that schedule, else those of every schedule (the first name of a
 * path wins).
 */
export function configTargets(config: HostConfig, schedule: string): TargetPath[] {
  const schedules = Object.hasOwn(config.schedules, schedule)
    ? [config.schedules[schedule]]
    : Object.values(config.schedules);
  const seen = new Map<string, TargetPath>();
  for (const s of schedules)
    for (const t of s.targets) {
      const p = normalizePath(t.path);
      if (!seen.has(p)) seen.set(p, { target: t.target, path: p });
    }
  return [...seen.values()];
}

/** Every target path of every schedule of the host (the paths whose processes are servers). */
export function allConfigTargets(config: HostConfig): TargetPath[] {
  return configTargets(config, "");
}

export interface Selection {
  /** What the operator asked for (or files and every piece), as shown in messages and commands. */
  wanted: string[];
  /** The target paths to restore: current config paths the recovery point holds, config names. */
  paths: TargetPath[];
  /** Of those, the ones no other contains: what is moved aside and restored. */
  outermost: string[];
  /** Piece names, in the order asked. */
  pieces: string[];
  hasIim: boolean;
  /** A Portal, WebSphere or IHS file system (not IIM, not a custom path). */
  hasPortalFs: boolean;
  /** What the operator must know: record paths not restored, paths restored with the one containing them. */
  notes: string[];
}

export function wantedValid(w: string): boolean {
  return w === "files" || /^target:[A-Za-z][A-Za-z0-9-]*$/.test(w) || PIECE_NAME.test(w);
}

/**
 * What to restore: `files` (every target), `target:NAME`, piece names. Paths
 * come from the current config, restricted to those the recovery point
 * holds; a record path the config no longer has is never restored. A path
 * inside a selected one comes along with it (it is part of its tree).
 */
export function selectRestore(
  record: { targets: readonly TargetPath[]; pieces: readonly string[] },
  current: readonly TargetPath[],
  wanted: readonly string[],
): Selection {
  for (const w of wanted)
    if (!wantedValid(w)) throw new UsageError(`--piece takes files, target:NAME or a piece name, not '${w}'`);
  const recordTargets = record.targets.map((t) => ({ target: t.target, path: normalizePath(t.path) }));
  const recordPaths = new Set(recordTargets.map((t) => t.path));
  const currentPaths = new Set(current.map((t) => t.path));
  const available = current.filter((c) => recordPaths.has(c.path));
  const gone = recordTargets.filter((r) => !currentPaths.has(r.path));
  const recordNameOf = (p: string) => recordTargets.find((r) => r.path === p)?.target;
  const asked = wanted.length ? [...wanted] : ["files", ...record.pieces];

  const chosen = new Set<string>();
  const pieces: string[] = [];
  const notes: string[] = [];
  for (const w of asked) {
    if (w === "files") {
      available.forEach((a) => chosen.add(a.path));
      for (const g of gone)
        notes.push(
          `the recovery point holds ${g.path} (target ${g.target}), which is not a target of this host's config: not restored`,
        );
    } else if (w.startsWith("target:")) {
      const name = w.slice("target:".length);
      const hits = available.filter((a) => a.target === name || recordNameOf(a.path) === name);
      if (!hits.length) {
        const old = gone.filter((g) => g.target === name);
        if (old.length)
          throw new UsageError(
            `target ${name} of the recovery point (${old.map((o) => o.path).join(" ")}) is not a target of this host's config: it is not restored from a record`,
          );
        const names = [...new Set([...available.map((a) => a.target), ...recordTargets.map((r) => r.target)])].sort();
        throw new UsageError(`the recovery point has no target '${name}' (it has: ${names.join(" ")})`);
      }
      hits.forEach((h) => chosen.add(h.path));
    } else {
      if (!record.pieces.includes(w))
        throw new UsageError(
          `the recovery point has no piece '${w}' (it has: ${["files", ...record.pieces].join(" ")})`,
        );
      if (!pieces.includes(w)) pieces.push(w);
    }
  }
  // A target inside a chosen one is part of its tree: it comes along, said so.
  for (const a of available) {
    if (chosen.has(a.path)) continue;
    const outer = [...chosen].find((c) => isInside(a.path, c));
    if (outer) {
      chosen.add(a.path);
      notes.push(`${a.path} (target ${a.target}) lies inside ${outer}: it is restored with it`);
    }
  }
  const paths = available.filter((a) => chosen.has(a.path));
  return {
    wanted: asked,
    paths,
    outermost: outermost(paths.map((p) => p.path)),
    pieces,
    hasIim: paths.some((p) => p.target === "iim"),
    hasPortalFs: paths.some((p) => p.target !== "iim" && p.target !== "custom"),
    notes,
  };
}

/** A piece of the recovery point, checked against the host's current config. */
export interface PiecePlan {
  name: string;
  /** The host's current config of the piece; absent only for a restore into a directory. */
  config?: PieceConfig;
  /** A snapshot of its own (a streamed dump), else staged in the files snapshot. */
  snapshot?: string;
  /** Validated: the streamed file name, or a path under the piece's staging directory. */
  file: string;
  /** What is extracted from the files snapshot for it (staged pieces). */
  extract?: string;
  pairs: ReadonlyArray<readonly [string, string]>;
}

/** `database/db2`, `remoteSource/command`, `ldap/openldap`: what the engine of a piece is. */
function engineOf(c: PieceConfig): string {
  switch (c.kind) {
    case "database":
      return c.database.engine;
    case "remoteSource":
      return c.by.kind;
    case "ldap":
      return c.ldap.tool;
    default:
      return "";
  }
}

function recordEngineOf(pairs: ReadonlyArray<readonly [string, string]>, kind: string): string {
  if (kind === "ldap") return listGet(pairs, "tool") ?? "";
  if (kind === "database" || kind === "remoteSource") return listGet(pairs, "engine") ?? "";
  return "";
}

/** Whether a piece of this config is streamed into a snapshot of its own. */
export function isStreamed(c: PieceConfig): boolean {
  return (c.kind === "database" && c.database.engine === "postgresql") || c.kind === "remoteSource";
}

/** The file name a streamed piece of this config is stored under. */
export function streamedFile(policy: string, c: PieceConfig): string | undefined {
  if (c.kind === "database" && c.database.engine === "postgresql") return `/${policy}/${c.domain}.pgdump`;
  if (c.kind === "remoteSource")
    return c.by.kind === "postgresql" ? `/${policy}/remote/${c.source}.pgdump` : `/${policy}/remote/${c.by.filename}`;
  return undefined;
}

const shown = (v: string) => (/^[\x20-\x7e]*$/.test(v) ? v : JSON.stringify(v));

/**
 * Checks one piece of the record and says where its data is. In place, the
 * piece must be in the current config, of the same kind and engine; its file
 * must be the streamed name the config implies, or lie under the piece's
 * staging directory (a SQL Server backup share: the config's file there).
 * Into a directory, a piece the config no longer has is still extracted.
 */
export function planPiece(
  config: HostConfig,
  name: string,
  pairs: ReadonlyArray<readonly [string, string]>,
  inPlace: boolean,
): PiecePlan {
  if (!PIECE_NAME.test(name))
    throw new UsageError(`the recovery point names a piece ${shown(name)}, which is not a piece name: refused`);
  const staging = path.posix.join(config.stateDir, "staging", name);
  const kind = listGet(pairs, "kind") ?? "";
  let cfg = Object.hasOwn(config.pieces, name) ? config.pieces[name] : undefined;
  if (cfg && (cfg.kind !== kind || engineOf(cfg) !== recordEngineOf(pairs, kind))) {
    if (inPlace)
      throw new UsageError(
        `the recovery point's ${name} is a ${shown([kind, recordEngineOf(pairs, kind)].filter(Boolean).join("/"))} backup, but this host's config has ${[cfg.kind, engineOf(cfg)].filter(Boolean).join("/")} for it: restore it with --target and its engine's tools`,
      );
    cfg = undefined;
  }
  if (!cfg && inPlace)
    throw new UsageError(
      `${name} is not configured on this host any more: restore it with --target and its engine's tools`,
    );
  const snapshot = listGet(pairs, "snapshot") || undefined;
  const file = listGet(pairs, "file") ?? "";
  if (snapshot !== undefined && !SNAPSHOT_ID.test(snapshot))
    throw new UsageError(
      `the recovery point's ${name} names snapshot ${shown(snapshot)}, which is not a snapshot id: refused`,
    );
  if (!isCleanAbsolute(file))
    throw new UsageError(
      `the recovery point's ${name} names the file ${shown(file)}, which is not a clean absolute path: refused`,
    );
  if (cfg && isStreamed(cfg) !== (snapshot !== undefined))
    throw new UsageError(
      `the recovery point's ${name} is ${snapshot ? "streamed into a snapshot" : "staged with the files"}, which its engine in this host's config is not: refused`,
    );
  if (inPlace && cfg?.kind === "database" && cfg.database.engine === "db2") {
    const ts = listGet(pairs, "backupTimestamp") ?? "";
    const mode = listGet(pairs, "mode") ?? "";
    if (!/^\d{14}$/.test(ts))
      throw new UsageError(
        `the recovery point's ${name} names the image timestamp ${shown(ts)}, which is not a DB2 timestamp: refused`,
      );
    if (mode !== "online" && mode !== "offline")
      throw new UsageError(
        `the recovery point's ${name} names the mode ${shown(mode)}, not online or offline: refused`,
      );
  }
  if (snapshot !== undefined) {
    const expected = cfg ? streamedFile(config.policy, cfg) : undefined;
    if (expected !== undefined ? file !== expected : !file.startsWith(`/${config.policy}/`))
      throw new UsageError(
        `the recovery point's ${name} names the file ${shown(file)}, not ${expected ?? `one under /${config.policy}/`}: refused`,
      );
    return { name, config: cfg, snapshot, file, pairs };
  }
  const share =
    cfg?.kind === "database" && cfg.database.engine === "sqlserver" && cfg.database.sqlserver.backupDir
      ? `${normalizePath(cfg.database.sqlserver.backupDir)}/${cfg.database.sqlserver.database}.bak`
      : undefined;
  if (share !== undefined && file === share) return { name, config: cfg, file, extract: share, pairs };
  if (file !== staging && !isInside(file, staging)) {
    // Into a directory the piece's whole staging directory is extracted; its file name is not used.
    if (!inPlace) return { name, config: cfg, file: staging, extract: staging, pairs };
    throw new UsageError(
      `the recovery point's ${name} names the file ${shown(file)}, which is not under its staging directory ${staging}: refused`,
    );
  }
  return { name, config: cfg, file, extract: staging, pairs };
}

/** HCL's order: the directory first (access control refers to its users), the WebSphere configuration, then the databases, release, jcr, feedback and likeminds together, then customization, community and DAM; XMLAccess and remote sources last. */
const DOMAIN_ORDER = ["release", "jcr", "feedback", "likeminds", "customization", "community", "dam"];

export function restoreRank(c: PieceConfig): number {
  switch (c.kind) {
    case "ldap":
      return 0;
    case "wasConfig":
      return 1;
    case "database": {
      const i = DOMAIN_ORDER.indexOf(c.domain);
      return 2 + (i < 0 ? DOMAIN_ORDER.length : i) / 10;
    }
    case "xmlaccess":
      return 3;
    case "remoteSource":
      return 4;
  }
}

/** Pieces in the order they are restored in place (stable by name within a rank). */
export function restoreOrder<T extends { name: string; config?: PieceConfig }>(plans: readonly T[]): T[] {
  return [...plans].sort(
    (a, b) =>
      (a.config ? restoreRank(a.config) : 9) - (b.config ? restoreRank(b.config) : 9) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { XMLParser } from "fast-xml-parser";
import type { IimPackage } from "../shared/records";

/**
 * IBM Installation Manager's record of what is installed: installed.xml in
 * the agent data directory (cic.appDataLocation). Read with an XML parser:
 * IIM writes attributes with ' or ", in any order.
 */
export function iimPackages(installedXml: string): IimPackage[] {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  });
  const doc = parser.parse(readFileSync(installedXml, "utf8")) as unknown;
  const found: IimPackage[] = [];
  const walk = (node: unknown, name?: string) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, name));
    if (typeof node !== "object" || node === null) return;
    const o = node as Record<string, unknown>;
    if (name === "package" && typeof o.id === "string")
      found.push({ id: o.id, version: String(o.version ?? ""), kind: String(o.kind ?? "") });
    for (const [k, v] of Object.entries(o)) if (typeof v === "object") walk(v, k);
  };
  walk(doc);
  const unique = new Map(found.map((p) => [`${p.id}\t${p.version}\t${p.kind}`, p]));
  return [...unique.keys()].sort(byteOrder).map((k) => unique.get(k)!);
}

/** LC_ALL=C order, as the records have always been sorted. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** id<TAB>version<TAB>kind lines, sorted: the iim-packages.tsv of a recovery point. */
export function packagesTsv(packages: IimPackage[]): string {
  return packages.map((p) => `${p.id}\t${p.version}\t${p.kind}\n`).join("");
}

export function parsePackagesTsv(text: string): IimPackage[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [id, version = "", kind = ""] = l.split("\t");
      return { id, version, kind };
    });
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

export interface IimState {
  packages: IimPackage[];
  /** Of the sorted package lines: the same levels give the same digest (the snapshot's iim: tag). */
  packagesDigest: string;
  /** Of installed.xml and installRegistry.xml: any change of IIM state. */
  stateDigest: string;
}

export function iimState(agentDataDir: string): IimState | undefined {
  const installed = path.join(agentDataDir, "installed.xml");
  if (!existsSync(installed)) return undefined;
  const packages = iimPackages(installed);
  const registry = path.join(agentDataDir, "installRegistry.xml");
  const state = Buffer.concat([
    readFileSync(installed),
    existsSync(registry) ? readFileSync(registry) : Buffer.alloc(0),
  ]);
  return { packages, packagesDigest: sha256(packagesTsv(packages)), stateDigest: sha256(state) };
}

/** "  id: A in the recovery point, B installed now" for every package whose level differs. */
export function levelChanges(recorded: IimPackage[], current: IimPackage[]): string[] {
  const a = new Map(recorded.map((p) => [p.id, p.version]));
  const b = new Map(current.map((p) => [p.id, p.version]));
  const ids = [...new Set([...a.keys(), ...b.keys()])].sort(byteOrder);
  return ids
    .filter((id) => a.get(id) !== b.get(id))
    .map((id) => `  ${id}: ${a.get(id) ?? "(none)"} in the recovery point, ${b.get(id) ?? "(none)"} installed now`);
}

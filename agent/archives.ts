import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import * as zlib from "node:zlib";
import { XMLValidator } from "fast-xml-parser";
import * as yauzl from "yauzl";

/**
 * What a drill checks inside the files it restored: a ZIP archive reads back entry by entry
 * (sizes, and CRC-32 where this Node has zlib.crc32), an XML file is well-formed. Read-only.
 */

/** zlib.crc32 exists from Node 20.15 on; without it the entries' sizes and inflate errors still count. */
const crc32 = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

/** The file names of a ZIP archive, every entry read to its end; rejects with the first damage found. */
export function zipEntries(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error("cannot open"));
      const names: string[] = [];
      // The file stays open until the archive is closed: close it on every failure too.
      const fail = (e: Error) => {
        zip.close();
        reject(e);
      };
      zip.on("error", fail);
      zip.on("end", () => resolve(names));
      zip.on("entry", (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        if (entry.fileName.endsWith("/")) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return fail(e ?? new Error(`cannot read ${entry.fileName}`));
          let crc = 0;
          stream.on("data", (b: Buffer) => {
            if (crc32) crc = crc32(b, crc);
          });
          stream.on("error", fail);
          stream.on("end", () => {
            if (crc32 && crc >>> 0 !== entry.crc32 >>> 0)
              return fail(new Error(`${entry.fileName}: CRC-32 does not match (the archive is damaged)`));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** Files up to this size are parsed whole; larger ones are checked at both ends only (memory). */
export const XML_PARSE_LIMIT = 64 * 1024 * 1024;

/** Why FILE is not a well-formed XML document whose root element is ROOT; undefined when it is. */
export function xmlProblem(file: string, root: string): string | undefined {
  const size = statSync(file).size;
  if (size <= XML_PARSE_LIMIT) {
    const text = readFileSync(file, "utf8");
    const valid = XMLValidator.validate(text);
    if (valid !== true) return `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`;
    return new RegExp(`^\\s*(<\\?xml[^>]*\\?>\\s*)?(<!--[\\s\\S]*?-->\\s*)*<${root}[\\s>/]`).test(text)
      ? undefined
      : `the root element is not <${root}>`;
  }
  const head = readAt(file, 0, 4096);
  const tail = readAt(file, Math.max(0, size - 4096), 4096).trimEnd();
  if (!new RegExp(`<${root}[\\s>/]`).test(head)) return `the root element is not <${root}>`;
  if (!tail.endsWith(`</${root}>`)) return `it ends before </${root}> (a truncated document)`;
  return undefined;
}

function readAt(file: string, position: number, length: number): string {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(length);
    return b.subarray(0, readSync(fd, b, 0, length, position)).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

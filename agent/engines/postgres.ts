import { readFileSync } from "node:fs";
import * as path from "node:path";
import { onPath } from "../exec";
import { writePrivate } from "../files";

export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  passwordFile: string;
  dumpCommand: string;
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/:/g, "\\:");

/**
 * A 0600 passfile for one database: pg_dump and pg_restore read the password
 * from it (PGPASSFILE), never from their arguments. The caller removes it.
 */
export function writePgpass(file: string, pg: PostgresTarget): void {
  const password = readFileSync(pg.passwordFile, "utf8").replace(/\n$/, "");
  writePrivate(file, `${[pg.host, String(pg.port), pg.database, pg.user, password].map(escape).join(":")}\n`);
}

/** The connection arguments both tools take. */
export function pgConnection(pg: PostgresTarget): string[] {
  return [
    "--no-password",
    "--host",
    pg.host,
    "--port",
    String(pg.port),
    "--username",
    pg.user,
    "--dbname",
    pg.database,
  ];
}

/** pg_restore next to the configured pg_dump (the same client version), as found on PATH. */
export function pgRestoreCommand(pg: PostgresTarget): string {
  const dump = onPath(pg.dumpCommand);
  return dump ? path.join(path.dirname(dump), "pg_restore") : "pg_restore";
}

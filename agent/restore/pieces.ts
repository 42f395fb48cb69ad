import { chmodSync, mkdirSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import type { PieceConfig } from "../../shared/hostConfig";
import type { AgentContext } from "../context";
import { must } from "../exec";
import { StepError } from "../errors";
import { derbyIj, derbyUrl, sqlLiteral } from "../engines/derby";
import { pgConnection, pgRestoreCommand, writePgpass } from "../engines/postgres";
import { listGet } from "../record";
import { db2Until, operatorPending, type Pending } from "./operator";
import type { PiecePlan } from "./select";

/**
 * One piece back into its engine, in place, with the settings of the host's
 * current config. Every command must succeed: a failure is a StepError
 * `piece:<name>` saying "restoring <name> failed at <step>: <why>".
 */

export interface PieceEnv {
  /** The restore's private work directory (password files, removed afterwards). */
  work: string;
  /** Where the staged pieces were extracted (`<work>/extract`). */
  extract: string;
  /** The recovery point's time: DB2 rolls forward to it, Oracle recovers until it. */
  time: Date;
  logFile: string;
}

/** slapadd next to the configured slapcat. */
export function slapaddCommand(slapcat: string): string {
  const base = path.posix.basename(slapcat);
  const name = base.endsWith("slapcat") ? `${base.slice(0, -"slapcat".length)}slapadd` : "slapadd";
  return slapcat.includes("/") ? path.posix.join(path.posix.dirname(slapcat), name) : name;
}

/** Lets a database's OS user reach FILE under the state directory (adds o+x, g+x to each directory on the way). */
function allowTraverse(stateDir: string, file: string): void {
  for (let d = path.dirname(file); d === stateDir || d.startsWith(`${stateDir}/`); d = path.dirname(d)) {
    chmodSync(d, (statSync(d).mode & 0o7777) | 0o011);
    if (d === stateDir) break;
  }
}

export async function restorePiece(ctx: AgentContext, plan: PiecePlan, env: PieceEnv): Promise<Pending | undefined> {
  const { name } = plan;
  const c = plan.config as PieceConfig;
  const step = `piece:${name}`;
  const at = async <T>(sub: string, f: () => Promise<T>, hint = ""): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw new StepError(step, `restoring ${name} failed at ${sub}: ${(e as Error).message}${hint}`);
    }
  };
  /** The piece's file as extracted from the files snapshot. */
  const local = env.extract + plan.file;
  const { logFile } = env;
  switch (c.kind) {
    case "database": {
      const d = c.database;
      switch (d.engine) {
        case "postgresql": {
          const pg = d.postgresql;
          const passfile = path.join(env.work, `${name}.pgpass`);
          await at("pg_restore", async () => {
            writePgpass(passfile, pg);
            try {
              await ctx.restic.dumpInto("pg_restore", plan.snapshot!, plan.file, {
                cmd: pgRestoreCommand(pg),
                args: ["--clean", "--if-exists", "--no-owner", ...pgConnection(pg)],
                env: { PGPASSFILE: passfile },
                what: `pg_restore into ${pg.database}`,
              });
            } finally {
              rmSync(passfile, { force: true });
            }
          });
          return undefined;
        }
        case "derby": {
          const derby = d.derby;
          // The URL with its credentials goes to ij on stdin only.
          await at("restoreFrom", () =>
            derbyIj(
              "restoreFrom",
              "restore",
              derby.command,
              `connect ${sqlLiteral(`${derbyUrl(derby)};restoreFrom=${local}`)};\nexit;\n`,
              ctx.config.stateDir,
            ),
          );
          return undefined;
        }
        case "db2": {
          const db2 = d.db2;
          const ts = listGet(plan.pairs, "backupTimestamp") ?? "";
          const online = listGet(plan.pairs, "mode") === "online";
          if (db2.instanceUser) {
            const user = db2.instanceUser;
            allowTraverse(ctx.config.stateDir, local);
            await at("chown", () =>
              must("chown", `chown -R ${user} ${local}`, "chown", ["-R", user, local], { logFile }),
            );
          }
          // DB2's CLP exits 2 for a warning (the restore happened), 4 and 8 for errors.
          const opts = { asUser: db2.instanceUser, logFile, errorLine: /SQL\d+N/, okCodes: [0, 2] };
          const restored = await at("restore", () =>
            must(
              "restore",
              `db2 restore database ${db2.database}`,
              db2.command,
              [
                "restore",
                "database",
                db2.database,
                "from",
                local,
                "taken",
                "at",
                ts,
                "replace",
                "existing",
                ...(online ? [] : ["without", "rolling", "forward"]),
              ],
              opts,
            ),
          );
          if (restored.code === 2)
            ctx.log.warn(
              "restore",
              `db2 restore of ${db2.database} warned: ${/SQL\d+W.*/.exec(restored.stdout)?.[0] ?? "see the log"}`,
            );
          if (online) {
            // Roll forward to the time of the file-system backup of the same recovery point.
            const until = db2Until(env.time);
            await at(
              "rollforward",
              () =>
                must(
                  "rollforward",
                  `db2 rollforward database ${db2.database} to ${until}`,
                  db2.command,
                  ["rollforward", "database", db2.database, "to", until, "using", "local", "time", "and", "complete"],
                  opts,
                ),
              `; if the archived logs up to then are gone, run: db2 rollforward database ${db2.database} to end of backup and complete`,
            );
          }
          return undefined;
        }
        default:
          // SQL Server and Oracle are restored by their administrators: the commands are written out.
          return operatorPending(name, c, local, env.time);
      }
    }
    case "ldap": {
      const l = c.ldap;
      if (l.tool !== "openldap") return operatorPending(name, c, local, env.time);
      // slapadd loads into the directory's database, which must be empty and slapd stopped.
      await at(
        "slapadd",
        () =>
          must(
            "slapadd",
            "slapadd",
            slapaddCommand(l.command),
            [
              "-q",
              "-b",
              l.suffix,
              "-l",
              local,
              ...(l.configFile ? ["-f", l.configFile] : []),
              ...(l.configDir ? ["-F", l.configDir] : []),
            ],
            { logFile },
          ),
        "; the directory database must be empty and slapd stopped (move the old database aside first)",
      );
      return undefined;
    }
    case "wasConfig":
      await at("restoreConfig.sh", () =>
        must(
          "restoreConfig.sh",
          `restoreConfig.sh of ${c.profile}`,
          `${c.profile}/bin/restoreConfig.sh`,
          [local, "-nostop"],
          {
            logFile,
            errorLine: /ADMU\d+E/,
          },
        ),
      );
      return operatorPending(name, c, local, env.time);
    case "remoteSource":
      // A remote source belongs to its owner: its backup is extracted for them, never loaded.
      mkdirSync(path.dirname(local), { recursive: true, mode: 0o700 });
      await at("restic dump", () => ctx.restic.dumpToFile("restic dump", plan.snapshot!, plan.file, local));
      return operatorPending(name, c, local, env.time);
    case "xmlaccess":
      return operatorPending(name, c, local, env.time);
  }
}

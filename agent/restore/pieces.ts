import { mkdirSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import type { PieceConfig } from "../../shared/hostConfig";
import type { AgentContext } from "../context";
import { asOwner, must } from "../exec";
import { refuseUntrusted } from "../trust";
import { osIds } from "../pieces/database";
import { handOver } from "./handover";
import { giveToUser, removeTree } from "../files";
import { StepError } from "../errors";
import { derbyIj, derbyNetworkRestore, derbyUrl, sqlLiteral } from "../engines/derby";
import { isDerbyNetworkUrl } from "../../shared/derbyUrl";
import { pgConnection, pgRestoreCommand, writePgpass } from "../engines/postgres";
import { listGet } from "../record";
import { restoreDb2 } from "./db2";
import { handOverBak } from "./sqlserver";
import { operatorPending, type Pending } from "./operator";
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
  /** The recovery point's time: Oracle recovers until it unless `until` is given. */
  time: Date;
  /** `--until`: DB2 rolls forward to it (else to the end of the backup), Oracle recovers until it. */
  until?: Date;
  logFile: string;
}

/** slapadd next to the configured slapcat. */
export function slapaddCommand(slapcat: string): string {
  const base = path.posix.basename(slapcat);
  const name = base.endsWith("slapcat") ? `${base.slice(0, -"slapcat".length)}slapadd` : "slapadd";
  return slapcat.includes("/") ? path.posix.join(path.posix.dirname(slapcat), name) : name;
}

/** The control file piece RMAN wrote into an extracted Oracle backup (cf_%U; one per backup), if any. */
function controlfileIn(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((n) => /^cf_[\w.-]+$/.test(n))
      .sort()
      .pop();
  } catch {
    return undefined;
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
          if (isDerbyNetworkUrl(derby.url)) {
            // The network server reads the backup itself, as the profile's owner when there is one.
            await at("chown", () => giveToUser("chown", ctx.config.runAs?.user, ctx.config.stateDir, [local], logFile));
            await at("restoreFrom", () =>
              derbyNetworkRestore("restoreFrom", derby, local, ctx.config.stateDir, logFile),
            );
            return undefined;
          }
          // Embedded: ij opens the database itself (Portal, which holds it, is stopped). The URL
          // with its credentials goes to ij on stdin only.
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
        case "db2":
          await restoreDb2(
            ctx,
            d.db2,
            {
              image: local,
              timestamp: listGet(plan.pairs, "backupTimestamp") ?? "",
              online: listGet(plan.pairs, "mode") === "online",
              until: env.until,
              logFile,
              stateDir: ctx.config.stateDir,
            },
            at,
          );
          return undefined;
        default:
          // SQL Server and Oracle are restored by their administrators: the commands are written out.
          if (d.engine === "oracle") {
            // Recover to the end of the backup (its record's time), or to --until.
            const ended = new Date(listGet(plan.pairs, "backupTimestamp") ?? "");
            const to = env.until ?? (Number.isNaN(ended.getTime()) ? env.time : ended);
            return operatorPending(name, c, local, to, {
              controlfile: controlfileIn(local),
              lastArchivedLog: listGet(plan.pairs, "lastArchivedLog"),
              until: env.until !== undefined,
            });
          }
          if (d.engine === "sqlserver") {
            const bak = await at("hand-over", async () => handOverBak(d.sqlserver, ctx.config.stateDir, name, local));
            const p = operatorPending(name, c, bak.serverFile, env.until ?? env.time)!;
            return {
              text: `${p.text}\n  (the backup was copied for SQL Server to ${bak.agentFile} on this host; remove it after the restore)`,
              keep: [],
            };
          }
          return operatorPending(name, c, local, env.until ?? env.time);
      }
    }
    case "ldap": {
      const l = c.ldap;
      if (l.tool === "isds" && osIds(l.instanceUser)) {
        // idsdbrestore restores the DB2 image as the instance owner: the extracted backup is theirs.
        await at("chown", () => giveToUser("chown", l.instanceUser, ctx.config.stateDir, [local], logFile));
      }
      if (l.tool !== "openldap")
        return operatorPending(name, c, local, env.time, { online: listGet(plan.pairs, "mode") === "online" });
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
    case "wasConfig": {
      const { runAs } = ctx.config;
      const script = `${c.profile}/bin/restoreConfig.sh`;
      let archive = local;
      try {
        await at("restoreConfig.sh", async () => {
          if (runAs) {
            // The profile's owner restores its configuration, from a copy of the archive it can read.
            const owner = osIds(runAs.user);
            if (!owner) throw new StepError("restoreConfig.sh", `hosts[].runAs.user ${runAs.user} does not exist`);
            archive = handOver(ctx.config.stateDir, name, local, path.basename(local), owner);
          } else refuseUntrusted("restoreConfig.sh", script);
          return must("restoreConfig.sh", `restoreConfig.sh of ${c.profile}`, script, [archive, "-nostop"], {
            logFile,
            errorLine: /ADMU\d+E/,
            ...asOwner(runAs),
          });
        });
      } finally {
        if (archive !== local) removeTree(path.dirname(archive));
      }
      return operatorPending(name, c, local, env.time);
    }
    case "remoteSource":
      // A remote source belongs to its owner: its backup is extracted for them, never loaded.
      mkdirSync(path.dirname(local), { recursive: true, mode: 0o700 });
      await at("restic dump", () => ctx.restic.dumpToFile("restic dump", plan.snapshot!, plan.file, local));
      return operatorPending(name, c, local, env.time);
    case "xmlaccess":
      return operatorPending(name, c, local, env.time);
  }
}

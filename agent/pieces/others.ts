import { constants, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { isoSeconds } from "../log";
import { asOwner, must } from "../exec";
import { refuseUntrusted } from "../trust";
import { StepError } from "../errors";
import { giveDir, readRegularFile, writePrivate } from "../files";
import type { PieceConfig } from "../../shared/hostConfig";
import { freshDir, osIds, streamPgDump } from "./database";
import type { PieceOutcome, PieceRun } from "./types";

type Of<K extends PieceConfig["kind"]> = Extract<PieceConfig, { kind: K }>;

/** Entries of an LDIF export: its `dn:` lines. */
export function ldifEntries(file: string): number {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("dn:")).length;
}

/** Person entries of an LDIF export, and how many of them carry a password hash. */
export function passwordHashes(ldif: string): { people: number; withPassword: number } {
  let people = 0;
  let withPassword = 0;
  for (const entry of ldif.replace(/\r?\n /g, "").split(/\n\s*\n/)) {
    if (!/^objectClass: *(person|inetOrgPerson|organizationalPerson|user)\s*$/im.test(entry)) continue;
    people++;
    if (/^userPassword::? /im.test(entry)) withPassword++;
  }
  return { people, withPassword };
}

/**
 * What idsdbback leaves in its backup directory that a rebuilt server cannot do without: the
 * instance's configuration, its key stash (the key of its AES-encrypted attributes and stashed
 * passwords) and the DB2 image of its database.
 */
export function isdsBackupProblem(files: readonly string[]): string | undefined {
  const missing = [
    files.includes("ibmslapd.conf") ? undefined : "ibmslapd.conf",
    files.some((f) => f.endsWith(".ksf")) ? undefined : "the key stash (*.ksf)",
    files.some((f) => /\.\d{14}\.\d{3}$/.test(f)) ? undefined : "a DB2 backup image",
  ].filter(Boolean);
  return missing.length ? `${missing.join(", ")} missing` : undefined;
}

/**
 * IBM Security Directory Server, the whole instance (https://www.ibm.com/docs/en/svd/10.0.1?topic=utilities-idsdbback-dbback):
 * `idsdbback -I <instance> -k <dir>`, online (`-u`, configured beforehand with an offline backup)
 * or with the directory server stopped by the offline commands.
 */
async function captureIsds(p: PieceRun, l: Extract<Of<"ldap">["ldap"], { tool: "isds" }>): Promise<PieceOutcome> {
  // DB2 writes the image as the instance owner: the directory is theirs.
  const dir = freshDir(p.staging, l.instanceUser, true);
  await must(p.step, "idsdbback", l.command, ["-I", l.instance, "-k", dir, ...(p.mode === "online" ? ["-u"] : [])], {
    logFile: p.logFile,
    errorLine: /GLP\w+E\b/,
  });
  const problem = isdsBackupProblem(readdirSync(dir));
  if (problem) throw new StepError(p.step, `idsdbback wrote an incomplete backup into ${dir}: ${problem}`);
  return {
    record: { tool: "isds", instance: l.instance, mode: p.mode, file: dir, backupTimestamp: isoSeconds(new Date()) },
  };
}

export async function captureLdap(p: PieceRun): Promise<PieceOutcome> {
  const l = (p.piece as Of<"ldap">).ldap;
  if (l.tool === "isds") return captureIsds(p, l);
  const dir = freshDir(p.staging);
  const file = path.join(dir, "directory.ldif");
  const opts = { logFile: p.logFile };
  switch (l.tool) {
    case "openldap":
      await must(
        p.step,
        "slapcat",
        l.command,
        [
          "-b",
          l.suffix,
          "-l",
          file,
          ...(l.configFile ? ["-f", l.configFile] : []),
          ...(l.configDir ? ["-F", l.configDir] : []),
        ],
        opts,
      );
      break;
    case "ldapsearch": {
      // Paged results (RFC 2696): a server's size limit (Active Directory's 1000) would otherwise
      // cut the export short, with ldapsearch exiting 4 after what it got. User attributes only
      // (`*`): operational ones (entryUUID, createTimestamp, ...) are the server's, and ldapadd,
      // the only way to load this export into another directory, refuses them.
      const r = await must(p.step, "ldapsearch", l.command, [
        "-LLL",
        "-x",
        "-o",
        "ldif-wrap=no",
        "-E",
        "pr=500/noprompt",
        "-H",
        l.uri,
        "-D",
        l.bindDn,
        "-y",
        l.passwordFile,
        "-b",
        l.base,
        "(objectClass=*)",
        "*",
      ]);
      writePrivate(file, r.stdout);
      break;
    }
  }
  const entries = existsSync(file) ? ldifEntries(file) : 0;
  if (entries === 0) throw new StepError(p.step, `the ${l.tool} export has no entries`);
  const record: Record<string, string> = { tool: l.tool, file, entries: String(entries) };
  if (l.tool === "ldapsearch") {
    const { people, withPassword } = passwordHashes(readFileSync(file, "utf8"));
    record.passwords = `${withPassword}/${people}`;
    if (l.readsPasswords && people > 0 && withPassword === 0)
      throw new StepError(
        p.step,
        `none of the ${people} person entries in the ldapsearch export carries userPassword: ${l.bindDn} cannot read password hashes, so the export cannot rebuild the directory; bind as a user the directory lets read userPassword, or set readsPasswords: false (coverage then reports it)`,
      );
  }
  return { record };
}

/** A remote information source backed up by us: a PostgreSQL dump, or the declared command's output, streamed. */
export async function captureRemoteSource(p: PieceRun): Promise<PieceOutcome> {
  const r = p.piece as Of<"remoteSource">;
  const { policy } = p.ctx.config;
  const now = isoSeconds(new Date());
  if (r.by.kind === "postgresql") {
    const file = `/${policy}/remote/${r.source}.pgdump`;
    const snapshot = await streamPgDump(p, r.by.postgresql, file, `pg_dump of ${r.by.postgresql.database}`);
    return {
      record: {
        engine: "postgresql",
        source: r.source,
        database: r.by.postgresql.database,
        snapshot,
        file,
        backupTimestamp: now,
      },
      snapshot,
    };
  }
  const file = `/${policy}/remote/${r.by.filename}`;
  // The operator's declared command, run as shell code on purpose.
  const snapshot = await p.ctx.restic.backupStdin(p.step, file, [...p.tags, "--tag", `piece:${p.name}`], {
    cmd: "bash",
    // pipefail: `dump | gzip` with a failing dump must fail, not store a truncated export.
    args: ["-o", "pipefail", "-c", r.by.run],
    what: `the export command of ${r.source}`,
  });
  return {
    record: { engine: "command", source: r.source, snapshot, file, backupTimestamp: isoSeconds(new Date()) },
    snapshot,
  };
}

export async function captureWasConfig(p: PieceRun): Promise<PieceOutcome> {
  const w = p.piece as Of<"wasConfig">;
  const { runAs } = p.ctx.config;
  const script = `${w.profile}/bin/backupConfig.sh`;
  if (!runAs) refuseUntrusted(p.step, script);
  // The profile's owner writes the archive: the directory is theirs.
  const dir = freshDir(p.staging, runAs?.user);
  const zip = path.join(dir, `${w.profileRoot}.zip`);
  // -nostop: the servers keep running (or are already stopped by an offline run).
  // Credentials come from the profile's soap.client.props, never from arguments.
  await must(p.step, `backupConfig.sh of ${w.profile}`, script, [zip, "-nostop", "-quiet"], {
    logFile: p.logFile,
    errorLine: /ADMU\d+E/,
    ...asOwner(runAs),
  });
  if (!existsSync(zip) || statSync(zip).size === 0)
    throw new StepError(p.step, `backupConfig.sh wrote no archive at ${zip}`);
  return { record: { profile: w.profile, file: zip } };
}

/** A Java properties value: backslashes doubled, newlines escaped. */
const propertiesValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

export async function captureXmlaccess(p: PieceRun): Promise<PieceOutcome> {
  const x = p.piece as Of<"xmlaccess">;
  const { runAs } = p.ctx.config;
  if (!runAs) refuseUntrusted(p.step, x.command);
  // As the profile's owner, xmlaccess.sh reads its credentials and request and writes its result
  // in a directory of that user's alone (the run's own directory is root's): filled while it is
  // still root's, then handed over with what is in it.
  const owner = runAs && osIds(runAs.user);
  if (runAs && !owner) throw new StepError(p.step, `hosts[].runAs.user ${runAs.user} does not exist on this host`);
  const dir = freshDir(p.staging);
  const result = path.join(dir, `${p.name}.xml`);
  const props = path.join(owner ? dir : p.runDir, `${p.name}.credentials.properties`);
  const password = readFileSync(x.passwordFile, "utf8").replace(/\n$/, "");
  writePrivate(props, `user=${propertiesValue(x.user)}\npassword=${propertiesValue(password)}\n`);
  let request = x.request;
  if (owner) {
    request = path.join(dir, `${p.name}.request.xml`);
    copyFileSync(x.request, request, constants.COPYFILE_EXCL);
    giveDir(dir, owner);
  }
  try {
    await must(
      p.step,
      `xmlaccess export from ${x.url}`,
      x.command,
      ["-useEncryptedCredentials", props, "-url", x.url, "-in", request, "-out", result],
      {
        logFile: p.logFile,
        errorLine: /EJP[A-Z0-9]+E/,
        ...asOwner(runAs),
      },
    );
  } finally {
    rmSync(props, { force: true });
    if (request !== x.request) rmSync(request, { force: true });
  }
  // Written by the profile's owner: read only as a regular file, never through a link or a FIFO.
  if (!readRegularFile(result)?.includes('result="ok"'))
    throw new StepError(p.step, `xmlaccess export from ${x.url} did not report result="ok" in ${result}`);
  return { record: { url: x.url, virtualPortal: x.virtualPortal ?? "", file: result } };
}

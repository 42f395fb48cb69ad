import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { freePort, ServerProcess } from "../../cli/local/process";

const PG_BIN = "/usr/lib/postgresql/15/bin";

function postgresUid(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }));
  return { uid: id("-u"), gid: id("-g") };
}

/** A real PostgreSQL 15 on 127.0.0.1 (initdb refuses root: it runs as the postgres user). */
export class PostgresServer {
  port = 0;
  private server?: ServerProcess;
  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const { uid, gid } = postgresUid();
    chownSync(this.dir, uid, gid);
    const data = path.join(this.dir, "data");
    execFileSync(
      "runuser",
      [
        "-u",
        "postgres",
        "--",
        `${PG_BIN}/initdb`,
        "-D",
        data,
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
      ],
      {
        stdio: "ignore",
      },
    );
    this.port = await freePort();
    this.server = await ServerProcess.start(
      "postgres",
      "runuser",
      [
        "-u",
        "postgres",
        "--",
        `${PG_BIN}/postgres`,
        "-D",
        data,
        "-p",
        String(this.port),
        "-k",
        this.dir,
        "-c",
        "listen_addresses=127.0.0.1",
      ],
      this.port,
    );
    // The port opens before the server takes queries ("the database system is starting up"): wait for it.
    const deadline = Date.now() + 60_000;
    while (spawnSync("runuser", this.asSuperuser("pg_isready", "postgres"), { stdio: "ignore" }).status !== 0) {
      if (Date.now() > deadline) throw new Error("PostgreSQL did not become ready within a minute");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** runuser arguments that run a PostgreSQL client tool as the superuser against `database` over the Unix socket. */
  private asSuperuser(tool: string, database: string, ...args: string[]): string[] {
    return [
      "-u",
      "postgres",
      "--",
      `${PG_BIN}/${tool}`,
      "-h",
      this.dir,
      "-p",
      String(this.port),
      "-d",
      database,
      ...args,
    ];
  }

  /** Runs SQL as the superuser over the Unix socket; returns psql's unaligned output. */
  sql(sql: string, database = "postgres"): string {
    return execFileSync("runuser", this.asSuperuser("psql", database, "-XAt", "-v", "ON_ERROR_STOP=1", "-c", sql), {
      encoding: "utf8",
    }).trim();
  }

  /** A login role and a database it owns, with `table` created in it (owned by the role too). */
  createOwnedDatabase(database: string, owner: string, password: string, table: string): void {
    this.sql(`CREATE ROLE ${owner} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
    this.sql(`CREATE DATABASE ${database} OWNER ${owner}`);
    this.sql(`${table}; ALTER TABLE ${table.match(/CREATE TABLE (\w+)/)?.[1]} OWNER TO ${owner}`, database);
  }

  /** pg_restore a custom-format dump (bytes) into a new database. */
  restore(dump: Buffer, database: string): void {
    this.sql(`CREATE DATABASE ${database}`);
    const r = spawnSync("runuser", this.asSuperuser("pg_restore", database, "--no-owner"), { input: dump });
    if (r.status !== 0) throw new Error(`pg_restore failed: ${r.stderr.toString()}`);
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

/** A real OpenLDAP slapd on 127.0.0.1 with an mdb database under `dir` (never `slapd -V`: that starts a daemon on 389). */
export class LdapServer {
  port = 0;
  readonly suffix = "dc=acme,dc=com";
  readonly rootDn = "cn=admin,dc=acme,dc=com";
  readonly rootPassword = "ldap 'root' $(secret)";
  readonly config: string;
  private server?: ServerProcess;

  constructor(readonly dir: string) {
    this.config = path.join(dir, "slapd.conf");
  }

  writeConfig(dataDir: string, file = this.config): void {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      file,
      [
        "include /etc/ldap/schema/core.schema",
        "include /etc/ldap/schema/cosine.schema",
        "include /etc/ldap/schema/inetorgperson.schema",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        `pidfile ${path.join(this.dir, "slapd.pid")}`,
        "database mdb",
        `suffix "${this.suffix}"`,
        `rootdn "${this.rootDn}"`,
        `rootpw ${this.rootPassword.replace(/ /g, "\\ ")}`,
        `directory ${dataDir}`,
        // As a corporate directory: only the root DN reads password hashes, and a search without
        // paged results stops after 2 entries (Active Directory's MaxPageSize, scaled down).
        "access to attrs=userPassword by anonymous auth by * none",
        "access to * by * read",
        "limits users size.soft=2 size.hard=2 size.prtotal=unlimited",
        "",
      ].join("\n"),
    );
  }

  async start(): Promise<void> {
    this.writeConfig(path.join(this.dir, "data"));
    this.port = await freePort();
    this.server = await ServerProcess.start(
      "slapd",
      "/usr/sbin/slapd",
      ["-f", this.config, "-h", `ldap://127.0.0.1:${this.port}/`, "-d", "0"],
      this.port,
    );
  }

  get uri(): string {
    return `ldap://127.0.0.1:${this.port}/`;
  }

  /** A seeded user's password (stored as given: the tests only need the attribute to be there). */
  static password(uid: string): string {
    return `pw-${uid}`;
  }

  /** The suffix's own entry and one inetOrgPerson per uid under `under` (default: the suffix), each with a password. */
  seed(uids: string[], under?: string): void {
    const parent = under ? `${under},${this.suffix}` : this.suffix;
    const entries = [`dn: ${this.suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: acme\no: ACME`];
    if (under) entries.push(`dn: ${parent}\nobjectClass: organizationalUnit\n${under.replace("=", ": ")}`);
    for (const u of uids)
      entries.push(
        `dn: uid=${u},${parent}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nmail: ${u}@acme.example\nuserPassword: ${LdapServer.password(u)}`,
      );
    this.modify(`${entries.join("\n\n")}\n`);
  }

  /** ldapadd/ldapmodify as the root DN (password from a file, as the agent does). */
  modify(ldif: string, add = true): void {
    const pw = path.join(this.dir, "rootpw");
    writeFileSync(pw, this.rootPassword, { mode: 0o600 });
    const r = spawnSync(add ? "ldapadd" : "ldapmodify", ["-x", "-H", this.uri, "-D", this.rootDn, "-y", pw], {
      input: ldif,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`ldap ${add ? "add" : "modify"} failed: ${r.stderr}`);
  }

  /** Every entry's DN and attributes, sorted, from an LDIF text (operational attributes dropped). */
  static entries(ldif: string): string[] {
    return ldif
      .replace(/\n /g, "")
      .split(/\n\n+/)
      .map((block) =>
        block
          .split("\n")
          .filter(
            (l) =>
              l &&
              !/^(entryUUID|entryCSN|createTimestamp|modifyTimestamp|creatorsName|modifiersName|structuralObjectClass|subschemaSubentry|hasSubordinates|entryDN|contextCSN):/i.test(
                l,
              ),
          )
          .sort()
          .join("\n"),
      )
      .filter(Boolean)
      .sort();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

/**
 * A real Derby Network Server on 127.0.0.1, as Portal shares Derby when it is backed
 * up online: databases are named by absolute path, and backups and restores run in
 * the server's JVM, on its file system.
 */
export class DerbyNetworkServer {
  port = 0;
  private server?: ServerProcess;
  /** `user`: the OS user the server runs as (as Portal's owner runs it); default root. */
  constructor(
    readonly dir: string,
    readonly user?: { name: string; uid: number; gid: number },
  ) {}

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    this.port = await freePort();
    const jars = ["derbynet", "derby", "derbytools"].map((j) => `/usr/share/java/${j}.jar`).join(":");
    this.server = await ServerProcess.start(
      "derby-network-server",
      this.user ? "runuser" : "java",
      [
        ...(this.user ? ["-u", this.user.name, "--", "java"] : []),
        `-Dderby.system.home=${this.dir}`,
        "-cp",
        jars,
        "org.apache.derby.drda.NetworkServerControl",
        "start",
        "-h",
        "127.0.0.1",
        "-p",
        String(this.port),
        // The basic policy confines the server to derby.system.home; the agent's staging is elsewhere.
        "-noSecurityManager",
      ],
      this.port,
    );
  }

  /** The client URL of the database at an absolute path. */
  url(database: string): string {
    return `jdbc:derby://127.0.0.1:${this.port}/${database}`;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

/**
 * Runs an ij script (embedded Derby) and returns its output; fails on any Derby ERROR (ij itself exits 0).
 * Runs in the temp dir because Derby writes derby.log into its working directory.
 */
export function ij(script: string): string {
  const r = spawnSync("ij", [], { input: script, encoding: "utf8", cwd: os.tmpdir() });
  if (r.status !== 0 || /ERROR [0-9A-Z]{5}/.test(r.stdout)) throw new Error(`ij failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

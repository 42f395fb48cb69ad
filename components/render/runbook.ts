import { withSecretVariables } from "../../shared/secretRefs";
import { secretFile } from "./pieceConfig";
import { TARGET_LABELS } from "../policy/defaults";
import { selectPieces, type Piece } from "../policy/pieces";
import { selectTargets } from "../policy/targets";
import type { Host, Policy } from "../policy/types";
import { repositoryUrl } from "../storage/repository";
import { agentLayout } from "./agentConfig";
import { shQuote } from "./shell";

/** The shell variable every step uses for the agent on a host. */
function agentVariable(host: Host): string {
  const l = agentLayout(host);
  return `A="${l.agent} --config ${l.config}"`;
}

/** Every piece a host's backup schedules capture, once. */
function piecesOf(policy: Policy, host: Host): Piece[] {
  const byName = new Map<string, Piece>();
  for (const s of policy.schedules.filter((x) => x.kind === "backup" && x.hosts.includes(host.name))) {
    for (const p of selectPieces(s, host, policy)) byName.set(p.name, p);
  }
  return [...byName.values()];
}

function fileTargets(policy: Policy, host: Host): string[] {
  const labels = new Set<string>();
  for (const s of policy.schedules.filter((x) => x.kind === "backup" && x.hosts.includes(host.name))) {
    for (const t of selectTargets(s.targets, host)) labels.add(TARGET_LABELS[t.target]);
  }
  return [...labels];
}

const ROLE_ORDER = {
  webServer: 0,
  portalNode: 1,
  remoteSearch: 2,
  deploymentManager: 3,
  databaseServer: 4,
  directoryServer: 5,
} as const;
/** Hosts without Portal or WebSphere files: their pieces are restored in their own steps. */
const dataOnly = (h: Host) => h.role === "databaseServer" || h.role === "directoryServer";

/**
 * What a node does before its servers start after a restore: the restored Deployment Manager
 * holds the master configuration, and a node must take it (WebSphere's syncNode, run with the
 * node agent stopped) or it runs with the configuration it had before.
 */
function syncNodeLines(dmgr: Host, node: Host): string[] {
  const profile = node.roots.wpProfile ?? "<wp_profile>";
  const script = `${profile}/bin/syncNode.sh`;
  return [
    `  With its node agent stopped, take the Deployment Manager's configuration first (8879 is the default SOAP port: see SOAP_CONNECTOR_ADDRESS in the Deployment Manager's serverindex.xml; syncNode asks for the password):`,
    "  ```sh",
    `  ${asOwnerCommand(node, `${/^[\w./<>-]+$/.test(script) ? script : shQuote(script)} ${dmgr.address} 8879 -username <WAS administrator>`)}`,
    "  ```",
  ];
}

/**
 * A WebSphere command as the runbook shows it: as the profile's owner when the host declares one
 * (run as root, it would leave root-owned logs and temp files that stop the next start as that user).
 */
function asOwnerCommand(h: Host, command: string): string {
  // Secret references: the values go from the host's secret files to the shell's stdin, as the
  // agent hands them over; the runbook, like the agent's config, never holds a value.
  const { script, variables } = withSecretVariables(command);
  const keys = Object.values(variables);
  if (!keys.length) return h.runAs ? `su -s /bin/bash - ${h.runAs.user} -c ${shQuote(command)}` : command;
  const feed = `{ ${keys.map((k) => `cat ${shQuote(secretFile(h, k))}; printf '\\0'; `).join("")}}`;
  return h.runAs
    ? `${feed} | su -s /bin/bash - ${h.runAs.user} -c ${shQuote(script)}`
    : `${feed} | bash -c ${shQuote(script)}`;
}

/** What the agent runs for the DB2 databases of one host (IBM's RESTORE and ROLLFORWARD DATABASE). */
function db2Restore(dbs: Policy["databases"]): string {
  const names = dbs.map((d) => d.db2?.database).join(", ");
  const archives = [...new Set(dbs.map((d) => d.db2?.archiveLogPath).filter(Boolean))];
  return [
    `DB2 ${names}: for each online image, the agent runs \`db2 deactivate database <db>\`, \`db2 restore database <db> from <image> taken at <image timestamp> logtarget <image>.logs replace existing without prompting\`,`,
    "    then `db2 rollforward database <db> to end of backup and complete overflow log path (<image>.logs)`: the logs inside the image are",
    "    enough, no archived log is needed, and each database comes back as its own backup ended (they were taken one after another).",
    "    An offline image (an offline schedule's) is restored `without rolling forward`. To bring the databases to one later time, give",
    '    them all the same `--until "<time>"` (after the last backup ended): that needs every archived log from each backup up to then',
    `    ${archives.length ? `in ${archives.join(", ")} (on a rebuilt server, restore the archive of the newest run into scratch, \`$A restore <newest run> --target /tmp/db2-archive --piece target:custom\`, and copy the log files into ${archives.join(", ")})` : "where DB2 archives them (declare databases[].db2.archiveLogPath to have them captured)"}.`,
  ].join("\n");
}

/**
 * After the JCR database comes back, what is not in it: its search collections (on the nodes, or on
 * the Remote Search Service's hosts) and the syndication state.
 */
function jcrAfterRestore(searchHosts: readonly Host[]): string[] {
  const remote = searchHosts.map((h) => `${h.name} (${h.roots.searchProfile ?? "<prs_profile>"})`).join(", ");
  return [
    "After the **jcr** database (HCL: the JCR text search index and syndication follow the database, not the other way round):",
    "- The JCR search collection under `<wp_profile>/PortalServer/jcr/search` comes back with the files of the same run (the next",
    "  step). If you restore the jcr database alone, or from another run, delete that collection's contents on every node before",
    "  Portal starts: Portal rebuilds it.",
    ...(searchHosts.length
      ? [
          `- The Remote Search Service on ${remote} holds the portal's search collections: restore its profile from the same`,
          "  run with the other hosts (the next step); a run taken with it stopped (an offline schedule's) holds a consistent index,",
          "  one taken while it ran may not. If its files come from another run, or searches misbehave, delete and re-create the",
          "  collections once Portal is up (Administration > Search > Manage Search > Search Collections), so that they are crawled again.",
        ]
      : []),
    "- Web Content Manager syndication: the syndicators and subscribers of this server hold state newer than the restored",
    "  library. Once Portal is up (the Check step), rebuild every syndication relationship (Administration > Portal Content >",
    "  Syndicators, and Subscribers: Update > Rebuild) before authors publish again.",
  ];
}

/**
 * Portal keeps the directory's unique ID of every user and group in its access control (and WCM
 * items). An entry loaded from the export with its unique ID keeps its permissions; one created
 * anew gets a new ID, and everything granted to it is orphaned until HCL's member fixer runs.
 */
function uniqueIdNote(kind: "openldap" | "isds" | "ldapsearch"): string[] {
  const kept =
    kind === "openldap"
      ? "slapcat's export keeps every entry's `entryUUID`, the unique ID Portal stores, and slapadd loads it unchanged."
      : kind === "isds"
        ? "idsdbback keeps the whole instance (its database, configuration and key stash): idsdbrestore brings every entry back with its `ibm-entryuuid`, the unique ID Portal stores."
        : "An ldapsearch export holds no operational attributes: loaded with ldapadd, every entry gets a **new** unique ID, so the fix below is part of this restore.";
  return [
    `**Unique IDs.** ${kept}${kind === "ldapsearch" ? "" : " An entry re-created any other way (ldapadd, by hand, another directory) gets a new unique ID."}`,
    "Portal access control and WCM items granted to an old ID are orphaned (users lose their pages). The fix runs once Portal is up",
    "(the Check step): HCL's member fixer (`<wp_profile>/ConfigEngine/ConfigEngine.sh run-wcm-admin-task-member-fixer -Dlibrary=<library>",
    "-Dfix=true -DmismatchedId=update`, per WCM library; the administrator passwords come from wkplc.properties when not given) and,",
    "for portal access control, the XMLAccess clean-up of users and groups (export the access control, then re-import it so that",
    "it is attached to the new IDs) as HCL's topics on the member fixer and on directory changes describe.",
  ];
}

/**
 * The restore runbook of a stack, in Markdown: for a tired operator at 3 a.m.
 * Numbered steps, the exact commands per host in HCL's order, where every
 * piece lives, what to check afterwards. Pure: policy in, text out.
 */
export function renderRunbook(policy: Policy, awsBucketName = "<bucket>"): string {
  const out: string[] = [];
  const step = (n: number, title: string) => out.push("", `## ${n}. ${title}`, "");
  const code = (...lines: string[]) => out.push("```sh", ...lines, "```");
  const hosts = [...policy.hosts];
  const stopOrder = [...hosts].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role]);
  const startOrder = [...stopOrder].reverse();
  const portalHosts = hosts.filter((h) => !dataOnly(h));
  const dbHosts = hosts.filter((h) => policy.databases.some((d) => d.host === h.name));
  const ldapHost = policy.ldap && hosts.find((h) => h.name === policy.ldap?.host);

  out.push(`# Restore runbook: ${policy.name} (environment ${policy.environment})`);
  out.push("");
  out.push(
    "Generated by dx-backup from the stack configuration. Run every command as root on the host it names.",
    "Each host has its own restic repository; every piece of one backup run (files, IIM, databases, directory,",
    "WebSphere configuration, XMLAccess exports) carries the same run id.",
  );

  step(1, "Choose the recovery point");
  out.push(
    "1. On each host, set the agent variable (the line is in each host's section below) and list the recovery points:",
  );
  code(agentVariable(hosts[0]), "$A snapshots");
  out.push(
    "",
    "2. Pick one run per host: the newest before the incident. Write the run ids down (form `20261128T013000Z-1a2b3c`).",
    '   The agent finds it for you with `--before "2026-11-27 18:00"` instead of a run id.',
    "3. Prove it restores before you touch anything: `$A drill <run id>` (restores into scratch and verifies every file).",
    "4. If a fix pack was installed after that run, restore the Portal files **and** IIM together (step 5 does),",
    "   or pick a run taken after the fix pack. The agent refuses anything else.",
  );

  step(2, "Stop the servers, web servers first");
  for (const h of stopOrder.filter((x) => x.offline)) {
    out.push(`- **${h.name}** (${h.role}):`);
    code(...(h.offline?.stop ?? []).map((c) => asOwnerCommand(h, c)));
  }
  if (!stopOrder.some((h) => h.offline)) out.push("No stop commands are configured: stop the servers by hand.");

  let n = 3;
  if (ldapHost && policy.ldap) {
    step(n++, `Directory (LDAP) on ${ldapHost.name}: first, because Portal access control refers to its users`);
    code(agentVariable(ldapHost), "$A restore <run id> --in-place --piece ldap --yes");
    out.push(
      "",
      policy.ldap.kind === "openldap"
        ? "slapadd loads into an empty database with slapd stopped: move the old database directory aside first. Check: `ldapsearch -x -b <suffix> '(uid=wpsadmin)'` finds the Portal administrator."
        : "The agent extracts the LDIF and prints how to load it with the directory's own tools. Check: the Portal administrator can be found.",
      "",
      ...uniqueIdNote(policy.ldap.kind),
    );
  }

  if (dbHosts.length) {
    step(n++, "Databases: release, jcr, feedback and likeminds together, then customization, community and DAM");
    for (const h of dbHosts) {
      const mine = policy.databases.filter((d) => d.host === h.name);
      const together = ["release", "jcr", "feedback", "likeminds"].filter((d) => mine.some((x) => x.domain === d));
      const rest = ["customization", "community", "dam"].filter((d) => mine.some((x) => x.domain === d));
      out.push(`- **${h.name}**:`);
      code(
        agentVariable(h),
        ...(together.length
          ? [`$A restore <run id> --in-place ${together.map((d) => `--piece db-${d}`).join(" ")} --yes`]
          : []),
        ...(rest.length
          ? [`$A restore <run id> --in-place ${rest.map((d) => `--piece db-${d}`).join(" ")} --yes`]
          : []),
      );
      const db2 = mine.filter((d) => d.engine === "db2");
      if (db2.length) out.push(`  - ${db2.map((d) => d.domain).join(", ")}: ${db2Restore(db2)}`);
      for (const d of mine.filter((x) => x.engine !== "db2")) {
        const how =
          d.engine === "postgresql"
            ? `PostgreSQL ${d.postgresql?.database}: \`pg_restore --clean --if-exists\` of the dump stored with the run`
            : d.engine === "derby"
              ? `Derby: \`connect '<url>;restoreFrom=<backup>'\` with Portal stopped`
              : d.engine === "sqlserver"
                ? `SQL Server ${d.sqlserver?.database}: the agent extracts the .bak and prints \`RESTORE VERIFYONLY ... WITH CHECKSUM\`, then \`RESTORE DATABASE ... WITH REPLACE, CHECKSUM\` for the DBA`
                : `Oracle ${d.oracle?.sid}: the agent extracts the RMAN pieces and prints the script for the DBA: ${d.oracle?.archivelogMode ? "`CATALOG`, then `RUN { SET UNTIL SEQUENCE <after the backup's last log> (or TIME, with --until); RESTORE DATABASE; RECOVER DATABASE; }` and `OPEN RESETLOGS`, mounting the current control file or, on a rebuilt server, `STARTUP NOMOUNT` and `RESTORE CONTROLFILE FROM` the backup's own" : "`STARTUP NOMOUNT`, `RESTORE CONTROLFILE FROM` the backup's own (NOARCHIVELOG), `CATALOG`, `RUN { SET UNTIL TIME ...; RESTORE DATABASE; RECOVER DATABASE NOREDO; }` and `OPEN RESETLOGS`"}`;
        out.push(`  - ${d.domain}: ${how}`);
      }
    }
    if (policy.databases.some((d) => d.domain === "jcr"))
      out.push("", ...jcrAfterRestore(hosts.filter((h) => h.role === "remoteSearch")));
  }

  step(n++, "File systems and IBM Installation Manager, on every host");
  out.push(
    "Portal files and the three IIM directories are restored together from the same run. The current files are moved",
    "aside first (nothing is deleted): if anything goes wrong, `$A undo <stamp>` puts them back (`$A undo --list` shows the stamps).",
  );
  for (const h of stopOrder.filter((x) => !dataOnly(x))) {
    out.push("", `- **${h.name}** (${h.role}): ${fileTargets(policy, h).join(", ")}`);
    code(agentVariable(h), "$A restore <run id> --in-place --piece files --stop-servers --yes");
  }

  const wasHosts = portalHosts.filter((h) => piecesOf(policy, h).some((p) => p.kind === "wasConfig"));
  if (wasHosts.length) {
    step(n++, "WebSphere configuration (only when the configuration alone is damaged)");
    out.push(
      "The file-system restore above already brings the profiles back. To restore just the configuration repository:",
    );
    for (const h of wasHosts) {
      const names = piecesOf(policy, h)
        .filter((p) => p.kind === "wasConfig")
        .map((p) => `--piece ${p.name}`);
      out.push("", `- **${h.name}**:`);
      code(agentVariable(h), `$A restore <run id> --in-place ${names.join(" ")} --stop-servers --yes`);
    }
    const manager = hosts.find((h) => h.role === "deploymentManager");
    if (manager) {
      out.push(
        "",
        `In the cluster, resynchronise every node with the Deployment Manager before starting it (step ${n}): \`<wp_profile>/bin/syncNode.sh ${manager.address} 8879 -username <WAS administrator>\`.`,
      );
    }
  }

  step(n++, "Start the servers, Deployment Manager first, web servers last");
  const dmgr = hosts.find((h) => h.role === "deploymentManager");
  for (const h of startOrder.filter((x) => x.offline)) {
    out.push(`- **${h.name}**:`);
    if (dmgr && h.role === "portalNode") out.push(...syncNodeLines(dmgr, h));
    code(...(h.offline?.start ?? []).map((c) => asOwnerCommand(h, c)));
  }
  if (dmgr && !startOrder.some((h) => h.role === "portalNode" && h.offline)) {
    for (const h of hosts.filter((x) => x.role === "portalNode"))
      out.push(`- **${h.name}**:`, ...syncNodeLines(dmgr, h), "  Then start its node agent and Portal server.");
  }

  step(n++, "Check");
  out.push(
    "1. `$A status` on each host shows the last run and the last drill; `<wp_profile>/logs/WebSphere_Portal/SystemOut.log` shows `Server WebSphere_Portal open for e-business`.",
    "2. Log in to the Portal as the administrator; open a page of each virtual portal.",
    "3. `<PortalServer>/bin/WPVersionInfo.sh` and IIM (`imcl listInstalledPackages`) show the same fix-pack level.",
    "4. Take a new baseline right away: `$A baseline <schedule>` on each host (a recovery point that retention never removes: the restored system is the starting point from now on).",
    "5. When all is well, remove the copies kept for undo: the `*.dxbackup-before-<stamp>` directories next to each restored path.",
    ...(policy.ldap?.kind === "ldapsearch"
      ? [
          "6. The directory was re-created from an ldapsearch export: run the member fixer and the access-control clean-up of step 3 now.",
        ]
      : []),
    ...(policy.databases.some((d) => d.domain === "jcr")
      ? [
          `${policy.ldap?.kind === "ldapsearch" ? 7 : 6}. After a jcr restore: rebuild the WCM syndication relationships (see the Databases step).`,
        ]
      : []),
  );

  out.push("", "## Where each piece lives", "");
  out.push("| Host | Repository | Pieces |", "|---|---|---|");
  for (const h of hosts) {
    const repo =
      policy.storage.kind === "s3"
        ? repositoryUrl(policy.storage, policy.name, h.name, awsBucketName)
        : repositoryUrl(policy.storage, policy.name, h.name);
    const pieces = [...fileTargets(policy, h), ...piecesOf(policy, h).map((p) => p.name)];
    out.push(`| ${h.name} | \`${repo}\` | ${pieces.join(", ") || "—"} |`);
  }
  out.push(
    "",
    "Every snapshot is readable with plain restic and the host's own repository password: on the host it is the agent's `repository.passwordFile`; elsewhere derive it from the stack's (`pulumi config get --show-secrets dxbackup:repositoryPassword > stack-pw`):",
  );
  const first = hosts[0].name;
  code(
    `npx dxbackup host-password --stack <stack> --host ${first} --password-file stack-pw --out ${first}-pw`,
    `restic -r ${shQuote(repositoryUrl(policy.storage, policy.name, first, awsBucketName))} --password-file ${first}-pw snapshots --tag run:<run id>`,
  );
  return `${out.join("\n")}\n`;
}

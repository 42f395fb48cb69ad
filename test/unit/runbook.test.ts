import { expect } from "chai";
import { readStackConfig, stackFilePath } from "../../cli/plan/stackFile";
import { loadPolicy } from "../../components/policy/load";
import { renderRunbook } from "../../components/render/runbook";
import { expectGolden } from "../support/golden";
import { stackConfig, validConfig } from "../support/config";

describe("restore runbook", () => {
  const prod = loadPolicy(readStackConfig(stackFilePath("prod")));
  const runbook = renderRunbook(prod, "acme-dx-prod-backups");

  it("matches the golden runbook of the prod stack", () => {
    expectGolden("runbook/prod.md", runbook);
  });

  it("goes in HCL's order: choose, stop, directory, databases, file systems with IIM, start, check", () => {
    const steps = [...runbook.matchAll(/^## (\d+)\. (.*)$/gm)].map((m) => m[2]);
    expect(steps.map((s) => s.split(/[ :,]/)[0])).to.deep.equal([
      "Choose",
      "Stop",
      "Directory",
      "Databases",
      "File",
      "WebSphere",
      "Start",
      "Check",
    ]);
    expect(runbook).to.include(
      "$A restore <run id> --in-place --piece db-release --piece db-jcr --piece db-feedback --piece db-likeminds --yes",
    );
    expect(runbook).to.include("$A restore <run id> --in-place --piece files --stop-servers --yes");
    // Stop web servers first, start them last.
    expect(runbook.indexOf("apachectl -k stop")).to.be.lessThan(runbook.indexOf("stopManager.sh"));
    expect(runbook.indexOf("startManager.sh")).to.be.lessThan(runbook.indexOf("apachectl -k start"));
  });

  it("restores DB2 with the image's own logs: logtarget on restore, overflow log path on the roll-forward", () => {
    expect(runbook).to.include("logtarget <image>.logs replace existing");
    expect(runbook).to.include("to end of backup and complete overflow log path (<image>.logs)");
    expect(runbook).to.include('--until "<time>"');
  });

  it("resynchronises every node with the Deployment Manager in the full restore, after it starts and before the node does", () => {
    const start = runbook.slice(runbook.indexOf("Start the servers"), runbook.indexOf("## 8. Check"));
    const sync = "/opt/HCL/wp_profile/bin/syncNode.sh dx-dmgr.prod.acme.internal 8879 -username <WAS administrator>";
    const syncs = [...start.matchAll(/syncNode\.sh/g)].map((m) => m.index!);
    expect(syncs).to.have.length(2); // portal-1 and portal-2
    expect(start).to.include(sync);
    expect(start.indexOf("startManager.sh")).to.be.lessThan(syncs[0]);
    for (const at of syncs) expect(at).to.be.lessThan(start.indexOf("startNode.sh", at));
  });

  it("says what a directory restored without its unique IDs does to Portal access control, and HCL's fix, in the directory step", () => {
    const directory = runbook.slice(runbook.indexOf("Directory (LDAP)"), runbook.indexOf("## 4. Databases"));
    expect(directory).to.match(/every entry gets a \*\*new\*\* unique ID/);
    expect(directory).to.include("run-wcm-admin-task-member-fixer -Dlibrary=<library>");
    expect(directory).to.include("-Dfix=true -DmismatchedId=update");
    // It runs once Portal is up: the Check step says so again.
    expect(runbook.slice(runbook.indexOf("## 8. Check"))).to.include("run the member fixer");
    expect(directory).to.include("Portal access control");
  });

  it("after the jcr database: its search collection and a rebuild of WCM syndication", () => {
    expect(runbook).to.include("JCR search collection under `<wp_profile>/PortalServer/jcr/search`");
    expect(runbook).to.match(/rebuild every syndication relationship \(Administration > Portal Content >/);
    // The Remote Search Service's host (a role of its own) holds the collections: its profile comes back from the same run.
    expect(runbook).to.include(
      "- The Remote Search Service on search-1 (/opt/HCL/AppServer/profiles/prs_profile) holds the portal's search collections",
    );
    const files = runbook.slice(runbook.indexOf("## 5. File systems"), runbook.indexOf("## 6. WebSphere"));
    expect(files).to.include("**search-1** (remoteSearch): Remote Search profile (search collections), AppServer_root");
  });

  it("runs the WebSphere commands of a host with runAs as that user, so that no root-owned file stops its next start", () => {
    const stop = runbook.slice(runbook.indexOf("## 2. Stop"), runbook.indexOf("## 3."));
    expect(stop).to.include("su -s /bin/bash - wasadmin -c '/opt/HCL/wp_profile/bin/stopServer.sh WebSphere_Portal'");
    const start = runbook.slice(runbook.indexOf("Start the servers"), runbook.indexOf("## 8. Check"));
    expect(start).to.include(
      "su -s /bin/bash - wasadmin -c '/opt/HCL/wp_profile/bin/syncNode.sh dx-dmgr.prod.acme.internal 8879 -username <WAS administrator>'",
    );
    // The web server has no runAs: its commands stay as they are.
    expect(start).to.include("\n/opt/IBM/HTTPServer/bin/apachectl -k start\n");
    // The Deployment Manager starts first, as the step says; the Remote Search server before the nodes.
    expect(start.indexOf("startManager.sh")).to.be.lessThan(start.indexOf("prs_profile/bin/startServer.sh"));
    expect(start.indexOf("prs_profile/bin/startServer.sh")).to.be.lessThan(start.indexOf("startNode.sh"));
  });

  it("ends with a new baseline, not just another run", () => {
    expect(runbook).to.include("Take a new baseline right away: `$A baseline <schedule>`");
  });

  it("says where every piece lives", () => {
    expect(runbook).to.include(
      "| db-1 | `s3:https://s3.eu-central-1.amazonaws.com/acme-dx-prod-backups/dx-prod/db-1` | custom paths, db-release,",
    );
    expect(runbook).to.include(
      "restic -r 's3:https://s3.eu-central-1.amazonaws.com/acme-dx-prod-backups/dx-prod/dmgr' --password-file dmgr-pw snapshots --tag run:<run id>",
    );
  });

  it("a stack without databases or a directory skips those steps", () => {
    const small = renderRunbook(loadPolicy(stackConfig(validConfig())));
    expect(small).to.not.include("Databases:");
    expect(small).to.not.include("Directory (LDAP)");
    expect(small).to.include("--piece files --stop-servers --yes");
  });
});

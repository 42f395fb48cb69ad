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

  it("says where every piece lives", () => {
    expect(runbook).to.include(
      "| db-1 | `s3:https://s3.eu-central-1.amazonaws.com/acme-dx-prod-backups/dx-prod/db-1` | db-release,",
    );
    expect(runbook).to.include(
      "restic -r 's3:https://s3.eu-central-1.amazonaws.com/acme-dx-prod-backups/dx-prod/dmgr' snapshots --tag run:<run id>",
    );
  });

  it("a stack without databases or a directory skips those steps", () => {
    const small = renderRunbook(loadPolicy(stackConfig(validConfig())));
    expect(small).to.not.include("Databases:");
    expect(small).to.not.include("Directory (LDAP)");
    expect(small).to.include("--piece files --stop-servers --yes");
  });
});

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadPolicy } from "../../components/policy/load";
import type { Policy } from "../../components/policy/types";
import { agentDirsUnder, DEFAULT_SECRETS, stackConfig, validConfig, type ConfigObject } from "./config";

/** A policy whose single host keeps every agent directory under a fresh temp dir. */
export function policyWithAgentIn(change: (c: ConfigObject) => void = () => {}): { policy: Policy; root: string } {
  const root = mkdtempSync(path.join(tmpdir(), "dxb-host-"));
  const c = validConfig();
  const host = (c.hosts as Array<Record<string, unknown>>)[0];
  host.agent = agentDirsUnder(root);
  change(c);
  const secrets = c.databases ? { ...DEFAULT_SECRETS, derbyPassword: "unused" } : DEFAULT_SECRETS;
  return { policy: loadPolicy(stackConfig(c, secrets)), root };
}

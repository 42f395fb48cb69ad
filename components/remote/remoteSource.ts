import * as pulumi from "@pulumi/pulumi";
import type { RemoteSourceInput } from "../policy/captureSchema";

export interface RemoteSourceArgs {
  /** The validated declaration from `dxbackup:remoteSources`. */
  source: RemoteSourceInput;
}

/** How a remote source is protected, in one line for the stack's outputs and reviews. */
export function describeProtection(s: RemoteSourceInput): string {
  if (s.byUs) {
    const how = s.byUs.postgresql
      ? `pg_dump of ${s.byUs.postgresql.database}@${s.byUs.postgresql.host}`
      : `\`${s.byUs.command?.run}\``;
    return `backed up by dx-backup on ${s.byUs.host} (${how}), in the same run as the Portal`;
  }
  if (s.delegated) {
    return `delegated to ${s.delegated.system} (${s.delegated.frequency}); evidence ${s.delegated.evidence}, last verified ${s.delegated.lastVerified}`;
  }
  return "not protected";
}

/**
 * A remote information source (external database, content repository, REST
 * service, file share): who owns it, the RPO the business needs and how it is
 * protected. The backup itself is a piece of its host's runs (PortalHostBackup)
 * or the owning system's job; this component makes the declaration part of
 * the stack, visible in `pulumi preview` and its outputs.
 */
export class RemoteSource extends pulumi.ComponentResource {
  readonly protection: pulumi.Output<string>;

  constructor(name: string, args: RemoteSourceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dxbackup:remote:RemoteSource", name, {}, opts);
    const s = args.source;
    this.protection = pulumi.output(describeProtection(s));
    this.registerOutputs({ kind: s.kind, owner: s.owner, rpo: s.rpo, protection: this.protection });
  }
}

import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../components/policy/load";
import { AGENT_INSTALL_TYPE } from "../../components/hosts/agentInstall";
import type { PlanResourceOptions } from "../../components/plan/report";
import { buildStack } from "../../stacks/program";

/** A resource a program registered, as `pulumi up` would create it. */
export interface PlannedResource {
  /** Pulumi type token, e.g. `aws:s3/bucket:Bucket`. */
  type: string;
  name: string;
  /** Inputs with every secret replaced by `[secret]` (or unwrapped, with `revealSecrets`). */
  inputs: Record<string, unknown>;
  /** The lifecycle options the engine acts on, where the program set them. */
  options?: PlanResourceOptions;
}

export const SECRET_MASK = "[secret]";
const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Replaces Pulumi's serialized secrets with a mask, recursively; with
 * `reveal`, unwraps them instead (only for running the commands locally,
 * never for printing).
 */
export function maskSecrets(value: unknown, reveal = false): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, reveal));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SPECIAL_SIG_KEY] === SECRET_SIG) return reveal ? maskSecrets(obj.value, reveal) : SECRET_MASK;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, maskSecrets(v, reveal)]));
  }
  return value;
}

const ACCOUNT = "123456789012";

/** Outputs the cloud would compute, made up deterministically so plans are stable. */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const region = (inputs.region as string | undefined) ?? "us-east-1";
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = (inputs.bucket as string | undefined) ?? name;
      return { bucket, arn: `arn:aws:s3:::${bucket}`, region };
    }
    case "aws:kms/key:Key":
      return { arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${name}`, keyId: name };
    case "aws:iam/user:User":
      return { name, arn: `arn:aws:iam::${ACCOUNT}:user/dxbackup/${name}` };
    case "aws:iam/role:Role":
      return { name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` };
    case "aws:iam/accessKey:AccessKey":
      return { secret: "planned-secret-access-key" };
    case "aws:backup/vault:Vault":
      return { name, arn: `arn:aws:backup:${region}:${ACCOUNT}:backup-vault:${name}` };
    case "aws:backup/restoreTestingPlan:RestoreTestingPlan":
      return {
        name: (inputs.name as string | undefined) ?? name,
        arn: `arn:aws:backup:${region}:${ACCOUNT}:restore-testing-plan:${name}`,
      };
    case "aws:sns/topic:Topic":
      return { arn: `arn:aws:sns:${region}:${ACCOUNT}:${name}` };
    case AGENT_INSTALL_TYPE:
      return { installId: `${name}-install-id`, installOutput: "" };
    default:
      return {};
  }
}

/** Results of the provider functions the components call, made up like `computedState`. */
function computedCall(token: string): Record<string, unknown> {
  switch (token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/planner`, userId: "AIDAPLANNER", id: ACCOUNT };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    default:
      return {};
  }
}

export interface Recording<T> {
  /** Every registered resource (components included), in registration order. */
  resources: PlannedResource[];
  /** What `program` returned, with outputs resolved. */
  result: T;
}

/**
 * Runs `program` under Pulumi's mocks with `config` and records every
 * resource it registers. The one mocks harness for `dxbackup plan`, the demo
 * and the tests.
 */
export async function recordResources<T>(
  program: () => T,
  options: {
    stack: string;
    config?: StackConfig;
    project?: string;
    revealSecrets?: boolean;
    /**
     * Run as a first `pulumi preview` does: what the cloud computes (ARNs, ids, secrets of access
     * keys) is unknown, so code that needs it known fails here instead of on a real preview.
     */
    preview?: boolean;
  },
): Promise<Recording<pulumi.Unwrap<T>>> {
  const resources: PlannedResource[] = [];
  const providers = new Map<string, string>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        // A provider reference is "<urn>::<id>"; the urn ends with the provider's name.
        if (args.provider) providers.set(`${args.type}::${args.name}`, args.provider.split("::").slice(-2)[0]);
        // A dynamic resource's serialized provider code is the engine's business, not the plan's.
        const { __provider: _code, ...inputs } = args.inputs as Record<string, unknown>;
        resources.push({
          type: args.type,
          name: args.name,
          inputs: maskSecrets(inputs, options.revealSecrets) as Record<string, unknown>,
        });
        return {
          id: options.preview ? "" : `${args.name}-id`,
          // In a preview, an output the provider did not return is unknown.
          state: options.preview
            ? args.inputs
            : { ...args.inputs, ...computedState(args.type, args.name, args.inputs) },
        };
      },
      call(args) {
        return { ...args.inputs, ...computedCall(args.token) };
      },
    },
    options.project ?? "dx-backup",
    options.stack,
    options.preview ?? false,
  );
  pulumi.runtime.setAllConfig({ ...(options.config?.values ?? {}) }, [...(options.config?.secretKeys ?? [])]);
  const registered = new Map<string, { resource: pulumi.Resource; opts: pulumi.ResourceOptions }>();
  const result = await pulumi.runtime.runInPulumiStack(async () => {
    // Mocks see inputs only: a stack transformation sees every resource and its options.
    pulumi.runtime.registerStackTransformation(({ resource, type, name, opts }) => {
      registered.set(`${type}::${name}`, { resource, opts });
      return undefined;
    });
    return program();
  });
  // Registrations that wait on outputs finish after the program returns; the
  // language host waits for the RPC queue to drain before exiting, so do we.
  await waitForRPCs();
  for (const r of resources) {
    const key = `${r.type}::${r.name}`;
    const planned = await plannedOptions(registered.get(key));
    const provider = providers.get(key);
    if (planned || provider) r.options = { ...planned, ...(provider ? { provider } : {}) };
  }
  return { resources, result: result as pulumi.Unwrap<T> };
}

/** The options worth a reviewer's eye, with dependencies by name; undefined when none is set. */
async function plannedOptions(
  registered: { resource: pulumi.Resource; opts: pulumi.ResourceOptions } | undefined,
): Promise<PlanResourceOptions | undefined> {
  if (!registered) return undefined;
  const { resource, opts } = registered;
  const out: PlanResourceOptions = {};
  // The constructor resolves `protect` after the transformations ran (a child inherits its
  // parent's): read the value the engine is sent, not the one the program passed.
  if ((resource as unknown as { __protect?: boolean }).__protect) out.protect = true;
  if (opts.retainOnDelete) out.retainOnDelete = true;
  const custom = opts as pulumi.CustomResourceOptions;
  if (custom.deleteBeforeReplace) out.deleteBeforeReplace = true;
  // Only resources given directly: an unknown Output would never resolve under a preview.
  const deps = ([] as unknown[]).concat(opts.dependsOn ?? []).filter((d) => pulumi.Resource.isInstance(d));
  if (deps.length) {
    const urns = await Promise.all(deps.map((d) => new Promise<string>((resolve) => d.urn.apply(resolve))));
    out.dependsOn = urns.map((urn) => urn.slice(urn.lastIndexOf("::") + 2)).sort();
  }
  return Object.keys(out).length ? out : undefined;
}

/** The runtime's own "wait until the RPC queue is empty" (internal to @pulumi/pulumi, not in its typings). */
function waitForRPCs(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
  return settings.waitForRPCs();
}

/** Evaluates the real stack program with a stack's config. */
export async function evaluateStack(
  config: StackConfig,
  stack: string,
  options: { revealSecrets?: boolean; preview?: boolean } = {},
) {
  return recordResources(() => buildStack(config), { stack, config, ...options });
}

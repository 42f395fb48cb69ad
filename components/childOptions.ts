import type * as pulumi from "@pulumi/pulumi";

/**
 * What a user may set on one child resource of a component, as awsx and
 * pulumi-eks accept per-child args: more tags and the resource options the
 * engine acts on. The parent is always the component.
 */
export interface ChildOptions {
  /** Tags merged over the component's tags (on children that take tags). */
  tags?: Record<string, string>;
  /**
   * Resource options for this child: `protect`, `retainOnDelete`, `provider`,
   * `ignoreChanges`, `customTimeouts`, ... They override the component's
   * defaults (e.g. `protect: false` on a bucket is taken as meant; an option
   * left `undefined` keeps the default), except `dependsOn` and `aliases`,
   * which are added to the component's own. A `provider` also manages the
   * child's own configuration resources (a bucket's versioning, encryption,
   * policy, ...; a vault's lock; the alert topic's policy and subscription).
   */
  opts?: Omit<pulumi.CustomResourceOptions, "parent" | "dependsOn" | "id" | "import" | "urn"> & {
    dependsOn?: pulumi.Resource[];
  };
}

/** The component's defaults for one child. */
export interface ChildDefaults {
  protect?: boolean;
  retainOnDelete?: boolean;
  dependsOn?: pulumi.Resource[];
  aliases?: pulumi.Input<pulumi.Alias | string>[];
}

/** The options of one child: the component's defaults, then the user's, parented to the component. */
export function childOptions(
  parent: pulumi.Resource,
  defaults: ChildDefaults,
  child: ChildOptions | undefined,
): pulumi.CustomResourceOptions {
  const { dependsOn: extraDeps, aliases: extraAliases, ...user } = child?.opts ?? {};
  const set = Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined));
  const dependsOn = [...(defaults.dependsOn ?? []), ...(extraDeps ?? [])];
  const aliases = [...(defaults.aliases ?? []), ...(extraAliases ?? [])];
  return {
    ...(defaults.protect ? { protect: true } : {}),
    ...(defaults.retainOnDelete ? { retainOnDelete: true } : {}),
    ...set,
    ...(dependsOn.length ? { dependsOn } : {}),
    ...(aliases.length ? { aliases } : {}),
    parent,
  };
}

/**
 * Options for the resources that configure a child (a bucket's versioning,
 * a vault's lock): parented to the component, managed by the child's
 * provider, and retained on delete where the child's data outlives the stack.
 */
export function companionOptions(
  parent: pulumi.Resource,
  child: ChildOptions | undefined,
  extra: { retainOnDelete?: boolean; dependsOn?: pulumi.Resource[] } = {},
): pulumi.CustomResourceOptions {
  const provider = child?.opts?.provider;
  return {
    parent,
    ...(provider ? { provider } : {}),
    ...(extra.retainOnDelete ? { retainOnDelete: true } : {}),
    ...(extra.dependsOn?.length ? { dependsOn: extra.dependsOn } : {}),
  };
}

/** The component's tags with the child's on top. */
export function childTags(tags: Record<string, string>, child: ChildOptions | undefined): Record<string, string> {
  return { ...tags, ...child?.tags };
}

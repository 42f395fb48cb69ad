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
   * defaults (e.g. `protect: false` on a bucket is taken as meant), except
   * `dependsOn`, which is added to the component's own.
   */
  opts?: Omit<pulumi.CustomResourceOptions, "parent" | "dependsOn"> & { dependsOn?: pulumi.Resource[] };
}

/** The options of one child: the component's defaults, then the user's, parented to the component. */
export function childOptions(
  parent: pulumi.Resource,
  defaults: { protect?: boolean; retainOnDelete?: boolean; dependsOn?: pulumi.Resource[] },
  child: ChildOptions | undefined,
): pulumi.CustomResourceOptions {
  const { dependsOn: extra, ...user } = child?.opts ?? {};
  const dependsOn = [...(defaults.dependsOn ?? []), ...(extra ?? [])];
  return {
    ...(defaults.protect ? { protect: true } : {}),
    ...(defaults.retainOnDelete ? { retainOnDelete: true } : {}),
    ...user,
    ...(dependsOn.length ? { dependsOn } : {}),
    parent,
  };
}

/** The component's tags with the child's on top. */
export function childTags(tags: Record<string, string>, child: ChildOptions | undefined): Record<string, string> {
  return { ...tags, ...child?.tags };
}

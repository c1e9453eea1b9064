/**
 * Label helpers shared by the kubernetes_sd roles: Prometheus' label-name
 * sanitising, and the `__meta_kubernetes_<kind>_{name,label_*,labelpresent_*,
 * annotation_*,annotationpresent_*}` labels of an object's metadata.
 *
 * @module
 */

import type { KubeObject, Node, ObjectMeta } from "./objects.ts";

/** Prefix of every kubernetes_sd meta label. */
export const META = "__meta_kubernetes_";

/** `__meta_kubernetes_namespace`. */
export const NAMESPACE_LABEL = `${META}namespace`;

/** A label map built label by label. */
export type LabelSet = Record<string, string>;

/** Replaces every character outside `[a-zA-Z0-9_]` by `_`, as Prometheus' `strutil.SanitizeLabelName`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** Sets `name` even when it is `__proto__`. */
export function set(ls: LabelSet, name: string, value: string): void {
  Object.defineProperty(ls, name, { value, enumerable: true, writable: true, configurable: true });
}

/** The labels and annotations of `meta` as `<META><kind>_label_*` (and `_labelpresent_*`, …). */
export function addLabelsAndAnnotations(ls: LabelSet, meta: ObjectMeta, kind: string): void {
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    const n = sanitizeLabelName(k);
    set(ls, `${META}${kind}_label_${n}`, v);
    set(ls, `${META}${kind}_labelpresent_${n}`, "true");
  }
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    const n = sanitizeLabelName(k);
    set(ls, `${META}${kind}_annotation_${n}`, v);
    set(ls, `${META}${kind}_annotationpresent_${n}`, "true");
  }
}

/** `<META><role>_name` plus the labels and annotations of the object. */
export function addObjectMetaLabels(ls: LabelSet, meta: ObjectMeta, role: string): void {
  set(ls, `${META}${role}_name`, meta.name);
  addLabelsAndAnnotations(ls, meta, role);
}

/** Copies `from` over `into` (`from` wins, as Prometheus' `LabelSet.Merge`). */
export function merge(into: LabelSet, from: LabelSet): LabelSet {
  for (const k of Object.keys(from)) set(into, k, from[k]);
  return into;
}

/** `host:port`, with brackets around an IPv6 host (Go's `net.JoinHostPort`). */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Looks objects up by key (`namespace/name`, or `name` for nodes and namespaces). */
export type Lookup<T extends KubeObject> = (key: string) => T | undefined;

/** attach_metadata: node labels (`__meta_kubernetes_node_name`, `_label_*`, `_annotation_*`) of `nodeName`. */
export function addNodeMetadata(
  ls: LabelSet,
  nodes: Lookup<Node> | undefined,
  nodeName: string | undefined,
): LabelSet {
  if (nodes === undefined || nodeName === undefined) return ls;
  const node = nodes(nodeName);
  if (node === undefined) return ls;
  const extra: LabelSet = {};
  addObjectMetaLabels(extra, node.metadata, "node");
  return merge(ls, extra);
}

/** attach_metadata: namespace labels and annotations (`__meta_kubernetes_namespace_label_*`, …). */
export function addNamespaceMetadata(
  ls: LabelSet,
  namespaces: Lookup<KubeObject> | undefined,
  namespace: string,
): LabelSet {
  if (namespaces === undefined) return ls;
  const ns = namespaces(namespace);
  if (ns === undefined) return ls;
  const extra: LabelSet = {};
  addLabelsAndAnnotations(extra, ns.metadata, "namespace");
  return merge(ls, extra);
}

/**
 * role: node — one target per node, at its first address by type
 * (InternalIP, InternalDNS, ExternalIP, ExternalDNS, LegacyHostIP, Hostname)
 * and the kubelet's port, with `instance` set to the node name, as
 * Prometheus' node role. Group source `node/<name>`.
 *
 * @module
 */

import type { TargetGroup } from "../types.ts";
import {
  addObjectMetaLabels,
  joinHostPort,
  type LabelSet,
  META,
  sanitizeLabelName,
  set,
} from "./labels.ts";
import type { Node } from "./objects.ts";

const ADDRESS_ORDER = [
  "InternalIP",
  "InternalDNS",
  "ExternalIP",
  "ExternalDNS",
  "LegacyHostIP",
  "Hostname",
];

/** The group source of a node. */
export function nodeSource(name: string): string {
  return `node/${name}`;
}

/**
 * The target group of one node, or undefined when it has no address (then
 * Prometheus sends nothing for it: the previous group stays).
 */
export function buildNodeGroup(node: Node): TargetGroup | undefined {
  const byType = new Map<string, string[]>();
  for (const a of node.status.addresses) {
    const list = byType.get(a.type) ?? [];
    list.push(a.address);
    byType.set(a.type, list);
  }
  const type = ADDRESS_ORDER.find((t) => byType.has(t));
  if (type === undefined) return undefined;

  const labels: LabelSet = { [`${META}node_provider_id`]: node.spec.providerID ?? "" };
  for (const c of node.status.conditions) {
    set(
      labels,
      `${META}node_condition_${sanitizeLabelName(c.type.toLowerCase())}`,
      c.status.toLowerCase(),
    );
  }
  addObjectMetaLabels(labels, node.metadata, "node");

  const target: LabelSet = {
    __address__: joinHostPort(byType.get(type)![0], node.status.kubeletPort),
    instance: node.metadata.name,
  };
  for (const [t, list] of byType) {
    set(target, sanitizeLabelName(`${META}node_address_${t}`), list[0]);
  }
  return { source: nodeSource(node.metadata.name), targets: [target], labels };
}

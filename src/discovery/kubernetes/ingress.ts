/**
 * role: ingress — one target per rule host and path, with scheme `https`
 * when a TLS entry covers the host (wildcards match one label), as
 * Prometheus' ingress role. Group source `ingress/<namespace>/<name>`.
 *
 * @module
 */

import type { TargetGroup } from "../types.ts";
import type { BuildContext } from "./context.ts";
import {
  addNamespaceMetadata,
  addObjectMetaLabels,
  type LabelSet,
  META,
  NAMESPACE_LABEL,
} from "./labels.ts";
import type { Ingress } from "./objects.ts";

/** The group source of an ingress. */
export function ingressSource(namespace: string, name: string): string {
  return `ingress/${namespace}/${name}`;
}

/** Whether TLS host `pattern` (`*.example.com` or exact) covers `host`. */
export function matchesHostnamePattern(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  const p = pattern.split("."), h = host.split(".");
  if (p[0] !== "*" || p.length !== h.length) return false;
  for (let i = 1; i < p.length; i++) if (p[i] !== h[i]) return false;
  return true;
}

/** The target group of one ingress. */
export function buildIngressGroup(ing: Ingress, ctx: BuildContext): TargetGroup {
  const ns = ing.metadata.namespace ?? "";
  const labels: LabelSet = { [NAMESPACE_LABEL]: ns };
  if (ing.spec.ingressClassName !== undefined) {
    labels[`${META}ingress_class_name`] = ing.spec.ingressClassName;
  }
  addObjectMetaLabels(labels, ing.metadata, "ingress");
  addNamespaceMetadata(labels, ctx.namespaces, ns);
  const targets: LabelSet[] = [];
  for (const rule of ing.spec.rules) {
    const host = rule.host ?? "";
    const scheme = ing.spec.tlsHosts.some((p) => matchesHostnamePattern(p, host))
      ? "https"
      : "http";
    const paths = rule.paths === null ? ["/"] : rule.paths.map((p) => p === "" ? "/" : p);
    for (const path of paths) {
      targets.push({
        __address__: host,
        [`${META}ingress_scheme`]: scheme,
        [`${META}ingress_host`]: host,
        [`${META}ingress_path`]: path,
      });
    }
  }
  return { source: ingressSource(ns, ing.metadata.name), targets, labels };
}

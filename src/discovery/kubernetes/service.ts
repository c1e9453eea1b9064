/**
 * role: service — one target per service port, at
 * `<name>.<namespace>.svc:<port>`, as Prometheus' service role. Group source
 * `svc/<namespace>/<name>`.
 *
 * @module
 */

import type { TargetGroup } from "../types.ts";
import type { BuildContext } from "./context.ts";
import {
  addNamespaceMetadata,
  addObjectMetaLabels,
  joinHostPort,
  type LabelSet,
  META,
  NAMESPACE_LABEL,
} from "./labels.ts";
import type { Service } from "./objects.ts";

/** The group source of a service. */
export function serviceSource(namespace: string, name: string): string {
  return `svc/${namespace}/${name}`;
}

/** `__meta_kubernetes_namespace` and the service's name, labels and annotations. */
export function serviceLabels(svc: Service): LabelSet {
  const ls: LabelSet = { [NAMESPACE_LABEL]: svc.metadata.namespace ?? "" };
  addObjectMetaLabels(ls, svc.metadata, "service");
  return ls;
}

function loadBalancerIps(svc: Service): string {
  const ips = svc.status.loadBalancerIPs;
  return ips.length > 0 ? ips.join(",") : svc.spec.loadBalancerIP ?? "";
}

/** The target group of one service. */
export function buildServiceGroup(svc: Service, ctx: BuildContext): TargetGroup {
  const ns = svc.metadata.namespace ?? "";
  const labels = addNamespaceMetadata(serviceLabels(svc), ctx.namespaces, ns);
  const type = svc.spec.type ?? "";
  const targets = svc.spec.ports.map((p) => {
    const t: LabelSet = {
      __address__: joinHostPort(`${svc.metadata.name}.${ns}.svc`, p.port),
      [`${META}service_port_name`]: p.name ?? "",
      [`${META}service_port_number`]: String(p.port),
      [`${META}service_port_protocol`]: p.protocol ?? "",
      [`${META}service_type`]: type,
    };
    if (type === "ExternalName") t[`${META}service_external_name`] = svc.spec.externalName ?? "";
    else t[`${META}service_cluster_ip`] = svc.spec.clusterIP ?? "";
    if (type === "LoadBalancer") t[`${META}service_loadbalancer_ip`] = loadBalancerIps(svc);
    return t;
  });
  return { source: serviceSource(ns, svc.metadata.name), targets, labels };
}

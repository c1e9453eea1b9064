/**
 * role: endpointslice — one target per endpoint address and port of every
 * EndpointSlice (discovery.k8s.io/v1), with the owning service's labels
 * (label `kubernetes.io/service-name`), the backing pod's labels and targets
 * for uncovered pod ports, as Prometheus' endpointslice role. A slice of the
 * non-primary IP family of a dual-stack service gives no targets. Group
 * source `endpointslice/<namespace>/<name>`.
 *
 * @module
 */

import type { TargetGroup } from "../types.ts";
import type { BuildContext } from "./context.ts";
import { addContainerPortLabels, resolvePod, SeenPods } from "./endpoints.ts";
import {
  addNamespaceMetadata,
  addNodeMetadata,
  addObjectMetaLabels,
  joinHostPort,
  type LabelSet,
  merge,
  META,
  NAMESPACE_LABEL,
  sanitizeLabelName,
  set,
} from "./labels.ts";
import type {
  EndpointSlice,
  EndpointSliceEndpoint,
  EndpointSlicePort,
  Service,
} from "./objects.ts";
import { podLabels } from "./pod.ts";
import { serviceLabels } from "./service.ts";

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** The group source of an EndpointSlice. */
export function endpointSliceSource(namespace: string, name: string): string {
  return `endpointslice/${namespace}/${name}`;
}

function nonPrimaryIpFamily(svc: Service | undefined, eps: EndpointSlice): boolean {
  const policy = svc?.spec.ipFamilyPolicy;
  if (policy !== "PreferDualStack" && policy !== "RequireDualStack") return false;
  if (svc!.spec.ipFamilies.length === 0) return false;
  return eps.addressType !== svc!.spec.ipFamilies[0];
}

/** The target group of one EndpointSlice. */
export function buildEndpointSliceGroup(eps: EndpointSlice, ctx: BuildContext): TargetGroup {
  const ns = eps.metadata.namespace ?? "";
  let labels: LabelSet = {
    [NAMESPACE_LABEL]: ns,
    [`${META}endpointslice_address_type`]: eps.addressType ?? "",
  };
  addObjectMetaLabels(labels, eps.metadata, "endpointslice");
  const svcName = eps.metadata.labels?.[SERVICE_NAME_LABEL];
  const svc = svcName === undefined ? undefined : ctx.services?.(`${ns}/${svcName}`);
  if (svc !== undefined) labels = merge(labels, serviceLabels(svc));
  addNamespaceMetadata(labels, ctx.namespaces, ns);
  const group: TargetGroup = {
    source: endpointSliceSource(ns, eps.metadata.name),
    targets: [],
    labels,
  };
  if (nonPrimaryIpFamily(svc, eps)) return group;

  const seen = new SeenPods();
  const add = (addr: string, ep: EndpointSliceEndpoint, port: EndpointSlicePort) => {
    let t: LabelSet = {
      __address__: port.port === undefined ? addr : joinHostPort(addr, port.port),
    };
    if (port.name !== undefined) t[`${META}endpointslice_port_name`] = port.name;
    if (port.protocol !== undefined) t[`${META}endpointslice_port_protocol`] = port.protocol;
    if (port.port !== undefined) t[`${META}endpointslice_port`] = String(port.port);
    if (port.appProtocol !== undefined) {
      t[`${META}endpointslice_port_app_protocol`] = port.appProtocol;
    }
    const c = ep.conditions;
    if (c.ready !== undefined) {
      t[`${META}endpointslice_endpoint_conditions_ready`] = String(c.ready);
    }
    if (c.serving !== undefined) {
      t[`${META}endpointslice_endpoint_conditions_serving`] = String(c.serving);
    }
    if (c.terminating !== undefined) {
      t[`${META}endpointslice_endpoint_conditions_terminating`] = String(c.terminating);
    }
    if (ep.hostname !== undefined) t[`${META}endpointslice_endpoint_hostname`] = ep.hostname;
    if (ep.targetRef !== undefined) {
      t[`${META}endpointslice_address_target_kind`] = ep.targetRef.kind ?? "";
      t[`${META}endpointslice_address_target_name`] = ep.targetRef.name ?? "";
    }
    if (ep.nodeName !== undefined) t[`${META}endpointslice_endpoint_node_name`] = ep.nodeName;
    if (ep.zone !== undefined) t[`${META}endpointslice_endpoint_zone`] = ep.zone;
    for (const [k, v] of Object.entries(ep.deprecatedTopology ?? {})) {
      const n = sanitizeLabelName(k);
      set(t, `${META}endpointslice_endpoint_topology_${n}`, v);
      set(t, `${META}endpointslice_endpoint_topology_present_${n}`, "true");
    }
    if (ctx.nodes !== undefined) {
      const node = ep.targetRef?.kind === "Node" ? ep.targetRef.name : ep.nodeName;
      addNodeMetadata(t, ctx.nodes, node);
    }
    const pod = resolvePod(ep.targetRef, ctx);
    if (pod !== undefined) {
      t = merge(t, podLabels(pod, ctx));
      // As Prometheus: the container's own protocol here (the endpoints role uses the endpoint's).
      const cp = pod.spec.containers.concat(pod.spec.initContainers)
        .flatMap((x) => x.ports ?? []).find((p) => p.containerPort === port.port);
      addContainerPortLabels(t, pod, port.port, cp?.protocol ?? "");
      seen.add(pod, port.port);
    }
    group.targets.push(t);
  };
  for (const ep of eps.endpoints) {
    for (const port of eps.ports) for (const a of ep.addresses) add(a, ep, port);
  }
  group.targets.push(...seen.extraTargets(ctx));
  return group;
}

/**
 * role: endpoints — one target per address and port of every Endpoints
 * object (ready and not ready), with the service's labels, the backing pod's
 * labels, and one more target for each port of a backing pod that no
 * endpoint port covers, as Prometheus' endpoints role. Group source
 * `endpoints/<namespace>/<name>`.
 *
 * @module
 */

import type { TargetGroup } from "../types.ts";
import type { BuildContext } from "./context.ts";
import {
  addNamespaceMetadata,
  addNodeMetadata,
  addObjectMetaLabels,
  joinHostPort,
  type LabelSet,
  merge,
  META,
  NAMESPACE_LABEL,
} from "./labels.ts";
import type { EndpointAddress, Endpoints, ObjectReference, Pod } from "./objects.ts";
import { allContainers, podLabels } from "./pod.ts";
import { serviceLabels } from "./service.ts";

/** The group source of an Endpoints object. */
export function endpointsSource(namespace: string, name: string): string {
  return `endpoints/${namespace}/${name}`;
}

/** The pod a target reference names, when it is a known pod. */
export function resolvePod(ref: ObjectReference | undefined, ctx: BuildContext): Pod | undefined {
  if (ref?.kind !== "Pod" || ctx.pods === undefined) return undefined;
  return ctx.pods(`${ref.namespace ?? ""}/${ref.name ?? ""}`);
}

/** Tracks the pods seen behind endpoint targets and the ports those targets used. */
export class SeenPods {
  readonly #pods = new Map<string, { pod: Pod; ports: number[] }>();

  /** Records that `port` of `pod` is an endpoint target. */
  add(pod: Pod, port: number | undefined): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    let e = this.#pods.get(key);
    if (e === undefined) this.#pods.set(key, e = { pod, ports: [] });
    if (port !== undefined) e.ports.push(port);
  }

  /** A target per container port of the seen pods that no endpoint port covered. */
  extraTargets(ctx: BuildContext): LabelSet[] {
    const out: LabelSet[] = [];
    for (const { pod, ports } of this.#pods.values()) {
      const ip = pod.status.podIP ?? "";
      if (ip === "") continue;
      for (const [c, init] of allContainers(pod)) {
        for (const cp of c.ports ?? []) {
          if (ports.includes(cp.containerPort)) continue;
          const t: LabelSet = {
            __address__: joinHostPort(ip, cp.containerPort),
            [`${META}pod_container_name`]: c.name,
            [`${META}pod_container_image`]: c.image ?? "",
            [`${META}pod_container_port_name`]: cp.name ?? "",
            [`${META}pod_container_port_number`]: String(cp.containerPort),
            [`${META}pod_container_port_protocol`]: cp.protocol ?? "",
            [`${META}pod_container_init`]: String(init),
          };
          out.push(merge(t, podLabels(pod, ctx)));
        }
      }
    }
    return out;
  }
}

/** Sets the container labels of the container of `pod` that has port `port`. */
export function addContainerPortLabels(
  t: LabelSet,
  pod: Pod,
  port: number | undefined,
  protocol: string,
): void {
  if (port === undefined) return;
  for (const [c, init] of allContainers(pod)) {
    const cp = (c.ports ?? []).find((p) => p.containerPort === port);
    if (cp === undefined) continue;
    t[`${META}pod_container_name`] = c.name;
    t[`${META}pod_container_image`] = c.image ?? "";
    t[`${META}pod_container_port_name`] = cp.name ?? "";
    t[`${META}pod_container_port_number`] = String(port);
    t[`${META}pod_container_port_protocol`] = protocol;
    t[`${META}pod_container_init`] = String(init);
    return;
  }
}

/** The target group of one Endpoints object. */
export function buildEndpointsGroup(eps: Endpoints, ctx: BuildContext): TargetGroup {
  const ns = eps.metadata.namespace ?? "";
  let labels: LabelSet = { [NAMESPACE_LABEL]: ns };
  const svc = ctx.services?.(`${ns}/${eps.metadata.name}`);
  if (svc !== undefined) labels = merge(labels, serviceLabels(svc));
  addObjectMetaLabels(labels, eps.metadata, "endpoints");
  addNamespaceMetadata(labels, ctx.namespaces, ns);

  const targets: LabelSet[] = [];
  const seen = new SeenPods();
  const add = (
    addr: EndpointAddress,
    port: Endpoints["subsets"][number]["ports"][number],
    ready: string,
  ) => {
    let t: LabelSet = {
      __address__: joinHostPort(addr.ip, port.port),
      [`${META}endpoint_port_name`]: port.name ?? "",
      [`${META}endpoint_port_protocol`]: port.protocol ?? "",
      [`${META}endpoint_ready`]: ready,
    };
    if (addr.targetRef !== undefined) {
      t[`${META}endpoint_address_target_kind`] = addr.targetRef.kind ?? "";
      t[`${META}endpoint_address_target_name`] = addr.targetRef.name ?? "";
    }
    if (addr.nodeName !== undefined) t[`${META}endpoint_node_name`] = addr.nodeName;
    if (addr.hostname) t[`${META}endpoint_hostname`] = addr.hostname;
    if (ctx.nodes !== undefined) {
      if (addr.nodeName !== undefined) addNodeMetadata(t, ctx.nodes, addr.nodeName);
      else if (addr.targetRef?.kind === "Node") addNodeMetadata(t, ctx.nodes, addr.targetRef.name);
    }
    const pod = resolvePod(addr.targetRef, ctx);
    if (pod !== undefined) {
      t = merge(t, podLabels(pod, ctx));
      addContainerPortLabels(t, pod, port.port, port.protocol ?? "");
      seen.add(pod, port.port);
    }
    targets.push(t);
  };
  for (const ss of eps.subsets) {
    for (const port of ss.ports) {
      for (const a of ss.addresses) add(a, port, "true");
      for (const a of ss.notReadyAddresses) add(a, port, "false");
    }
  }
  targets.push(...seen.extraTargets(ctx));
  return { source: endpointsSource(ns, eps.metadata.name), targets, labels };
}

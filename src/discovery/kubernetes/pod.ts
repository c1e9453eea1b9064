/**
 * role: pod — one target per container port of every pod with an IP (a
 * container without ports gives one target at the pod IP), init containers
 * included, as Prometheus' pod role. Group source `pod/<namespace>/<name>`.
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
  META,
  NAMESPACE_LABEL,
} from "./labels.ts";
import { type Container, type ContainerStatus, controllerOf, type Pod } from "./objects.ts";

/** The group source of a pod. */
export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

/** `true`/`false`/`unknown` from the pod's Ready condition. */
function podReady(pod: Pod): string {
  const c = pod.status.conditions.find((x) => x.type === "Ready");
  return (c?.status ?? "Unknown").toLowerCase();
}

/**
 * The pod-level labels (`__meta_kubernetes_pod_*` without the container
 * ones), as attached to pod targets and to endpoints targets backed by pods.
 */
export function podLabels(pod: Pod, ctx: BuildContext): LabelSet {
  const ls: LabelSet = {
    [`${META}pod_ip`]: pod.status.podIP ?? "",
    [`${META}pod_ready`]: podReady(pod),
    [`${META}pod_phase`]: pod.status.phase ?? "",
    [`${META}pod_node_name`]: pod.spec.nodeName ?? "",
    [`${META}pod_host_ip`]: pod.status.hostIP ?? "",
    [`${META}pod_uid`]: pod.metadata.uid ?? "",
  };
  addObjectMetaLabels(ls, pod.metadata, "pod");
  const owner = controllerOf(pod);
  if (owner !== undefined) {
    if (owner.kind !== "") ls[`${META}pod_controller_kind`] = owner.kind;
    if (owner.name !== "") ls[`${META}pod_controller_name`] = owner.name;
    const ns = pod.metadata.namespace ?? "";
    if (owner.kind === "ReplicaSet" && ctx.replicaSets !== undefined) {
      const rs = ctx.replicaSets(`${ns}/${owner.name}`);
      const up = rs && controllerOf(rs);
      if (up?.kind === "Deployment") ls[`${META}pod_deployment_name`] = up.name;
    }
    if (owner.kind === "Job") {
      if (ctx.jobName) ls[`${META}pod_job_name`] = owner.name;
      const job = ctx.jobs?.(`${ns}/${owner.name}`);
      const up = job && controllerOf(job);
      if (up?.kind === "CronJob") ls[`${META}pod_cronjob_name`] = up.name;
    }
  }
  return ls;
}

/** Containers then init containers, with whether each is an init container. */
export function allContainers(pod: Pod): [Container, boolean][] {
  return [
    ...pod.spec.containers.map((c): [Container, boolean] => [c, false]),
    ...pod.spec.initContainers.map((c): [Container, boolean] => [c, true]),
  ];
}

function containerId(statuses: ContainerStatus[], name: string): string {
  return statuses.find((s) => s.name === name)?.containerID ?? "";
}

/** The target group of one pod (no targets while it has no IP, or with attach_metadata.node while its node is unknown). */
export function buildPodGroup(pod: Pod, ctx: BuildContext): TargetGroup {
  const ns = pod.metadata.namespace ?? "";
  const group: TargetGroup = { source: podSource(ns, pod.metadata.name), targets: [], labels: {} };
  const ip = pod.status.podIP ?? "";
  if (ip === "") return group;
  if (ctx.nodes !== undefined && ctx.nodes(pod.spec.nodeName ?? "") === undefined) return group;

  const labels = podLabels(pod, ctx);
  labels[NAMESPACE_LABEL] = ns;
  addNodeMetadata(labels, ctx.nodes, pod.spec.nodeName);
  addNamespaceMetadata(labels, ctx.namespaces, ns);
  group.labels = labels;

  for (const [c, init] of allContainers(pod)) {
    const id = containerId(
      init ? pod.status.initContainerStatuses : pod.status.containerStatuses,
      c.name,
    );
    const base = {
      [`${META}pod_container_name`]: c.name,
      [`${META}pod_container_id`]: id,
      [`${META}pod_container_image`]: c.image ?? "",
      [`${META}pod_container_init`]: String(init),
    };
    const ports = c.ports ?? [];
    if (ports.length === 0) {
      group.targets.push({ __address__: ip, ...base });
      continue;
    }
    for (const p of ports) {
      group.targets.push({
        __address__: joinHostPort(ip, p.containerPort),
        ...base,
        [`${META}pod_container_port_number`]: String(p.containerPort),
        [`${META}pod_container_port_name`]: p.name ?? "",
        [`${META}pod_container_port_protocol`]: p.protocol ?? "",
      });
    }
  }
  return group;
}

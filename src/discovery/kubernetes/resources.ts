/**
 * The API paths and slimming of each resource kubernetes_sd lists and
 * watches, and {@link ResourceSet}: the informers of one resource over the
 * watched namespaces, looked up as one cache.
 *
 * @module
 */

import type { KubernetesRole } from "../../config/types.ts";
import type { KubeClient } from "./client.ts";
import { type Backoff, Informer, type InformerHandlers } from "./informer.ts";
import {
  type KubeObject,
  slimEndpoints,
  slimEndpointSlice,
  slimIngress,
  slimMetaOnly,
  slimNode,
  slimPod,
  slimService,
} from "./objects.ts";
import type { Clock } from "../../util/clock.ts";

/** Resources kubernetes_sd reads. */
export type ResourceKind = KubernetesRole | "namespace" | "replicaset" | "job";

interface ResourceSpec {
  /** API group prefix: `/api/v1` or `/apis/<group>/<version>`. */
  prefix: string;
  plural: string;
  clusterScoped?: boolean;
  slim: (o: unknown) => KubeObject;
}

/** Every resource, by kind. */
export const RESOURCES: Record<ResourceKind, ResourceSpec> = {
  node: { prefix: "/api/v1", plural: "nodes", clusterScoped: true, slim: slimNode },
  namespace: { prefix: "/api/v1", plural: "namespaces", clusterScoped: true, slim: slimMetaOnly },
  pod: { prefix: "/api/v1", plural: "pods", slim: slimPod },
  service: { prefix: "/api/v1", plural: "services", slim: slimService },
  endpoints: { prefix: "/api/v1", plural: "endpoints", slim: slimEndpoints },
  endpointslice: {
    prefix: "/apis/discovery.k8s.io/v1",
    plural: "endpointslices",
    slim: slimEndpointSlice,
  },
  ingress: { prefix: "/apis/networking.k8s.io/v1", plural: "ingresses", slim: slimIngress },
  replicaset: { prefix: "/apis/apps/v1", plural: "replicasets", slim: slimMetaOnly },
  job: { prefix: "/apis/batch/v1", plural: "jobs", slim: slimMetaOnly },
};

/** The collection path of `kind` in `namespace` ("" : all namespaces). */
export function resourcePath(kind: ResourceKind, namespace: string): string {
  const r = RESOURCES[kind];
  if (r.clusterScoped || namespace === "") return `${r.prefix}/${r.plural}`;
  return `${r.prefix}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
}

/** Options for the informers of a {@link ResourceSet}. */
export interface ResourceSetOptions {
  labelSelector?: string;
  fieldSelector?: string;
  clock?: Clock;
  backoff?: Backoff;
  watchTimeoutSeconds?: number;
}

/** The informers of one resource kind over a list of namespaces. */
export class ResourceSet<T extends KubeObject = KubeObject> {
  readonly informers: Informer<T>[];

  constructor(
    readonly kind: ResourceKind,
    client: KubeClient,
    namespaces: string[],
    opts: ResourceSetOptions,
  ) {
    const nss = RESOURCES[kind].clusterScoped ? [""] : namespaces;
    this.informers = nss.map((ns) =>
      new Informer<T>(client, {
        path: resourcePath(kind, ns),
        slim: RESOURCES[kind].slim as (o: unknown) => T,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        clock: opts.clock,
        backoff: opts.backoff,
        watchTimeoutSeconds: opts.watchTimeoutSeconds,
      })
    );
  }

  /** The cached object with this key, from whichever namespace's informer has it. */
  readonly get = (key: string): T | undefined => {
    for (const i of this.informers) {
      const o = i.store.get(key);
      if (o !== undefined) return o;
    }
    return undefined;
  };

  /** Whether every informer has listed once. */
  get synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  /** Every cached object. */
  *values(): IterableIterator<T> {
    for (const i of this.informers) yield* i.store.values();
  }

  /** Runs every informer until `signal` aborts. */
  run(signal: AbortSignal, h: InformerHandlers<T>): Promise<void> {
    return Promise.all(this.informers.map((i) => i.run(signal, h))).then(() => {});
  }

  /** Lists every informer once. */
  listOnce(signal: AbortSignal): Promise<void> {
    return Promise.all(this.informers.map((i) => i.listOnce(signal))).then(() => {});
  }
}

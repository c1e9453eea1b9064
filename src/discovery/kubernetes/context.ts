/**
 * What a role's group builder may look up besides its own object: other
 * resources' caches (services and pods for endpoints, nodes and namespaces
 * for attach_metadata, replica sets and jobs for deployment/cronjob names).
 *
 * @module
 */

import type { TargetGroup } from "../types.ts";
import type { Lookup } from "./labels.ts";
import type { KubeObject, Node, Pod, Service } from "./objects.ts";

/** Lookups and attach_metadata switches for building groups. */
export interface BuildContext {
  /** Set with attach_metadata.node (pod, endpoints, endpointslice). */
  nodes?: Lookup<Node>;
  /** Set with attach_metadata.namespace. */
  namespaces?: Lookup<KubeObject>;
  /** endpoints, endpointslice. */
  services?: Lookup<Service>;
  /** endpoints, endpointslice. */
  pods?: Lookup<Pod>;
  /** Set with attach_metadata.deployment. */
  replicaSets?: Lookup<KubeObject>;
  /** Set with attach_metadata.cronjob. */
  jobs?: Lookup<KubeObject>;
  /** attach_metadata.job: `__meta_kubernetes_pod_job_name`. */
  jobName?: boolean;
}

/** Builds the target group of one object. */
export type GroupBuilder<T extends KubeObject> = (o: T, ctx: BuildContext) => TargetGroup;

/**
 * The kubernetes_sd discoverer: informers for the role's resource in each
 * watched namespace (plus services and pods for endpoints/endpointslice,
 * nodes, namespaces, replica sets and jobs for attach_metadata), one target
 * group per object built by the role's module, reported (as the full set)
 * shortly after each change once every cache has listed.
 *
 * @module
 */

import type { ResolvedKubernetesSdConfig } from "../../config/types.ts";
import type { Registry } from "../../metrics/registry.ts";
import { type Clock, realClock } from "../../util/clock.ts";
import { log } from "../../util/log.ts";
import { errorMessage } from "../refresh.ts";
import type { Discoverer, DiscoveryResult, TargetGroup } from "../types.ts";
import { KubeClient } from "./client.ts";
import { type InClusterSource, type ReadText, resolveConnection } from "./connection.ts";
import type { BuildContext } from "./context.ts";
import { buildEndpointsGroup } from "./endpoints.ts";
import { buildEndpointSliceGroup } from "./endpointslice.ts";
import type { Backoff } from "./informer.ts";
import { buildIngressGroup } from "./ingress.ts";
import { createKubernetesSdMetrics, type KubernetesSdMetrics } from "./metrics.ts";
import { buildNodeGroup } from "./node.ts";
import type {
  Endpoints,
  EndpointSlice,
  Ingress,
  KubeObject,
  Node,
  Pod,
  Service,
} from "./objects.ts";
import { buildPodGroup } from "./pod.ts";
import { type ResourceKind, ResourceSet } from "./resources.ts";
import { buildServiceGroup } from "./service.ts";

const logger = log("discovery");

/** Options of {@link KubernetesDiscoverer}. */
export interface KubernetesDiscovererOptions {
  job: string;
  registry: Registry;
  clock?: Clock;
  fetch?: typeof fetch;
  /** @default "ferry" */
  userAgent?: string;
  /** In-cluster environment and service-account directory (tests). */
  inCluster?: InClusterSource;
  readTextFile?: ReadText;
  backoff?: Backoff;
  /** Least server-side watch timeout. @default 300 */
  watchTimeoutSeconds?: number;
  /** Wait between a change and its report, so a burst is reported once. @default 100 */
  flushMs?: number;
}

/** The namespaces to watch: `[""]` means all. */
export function namespacesOf(cfg: ResolvedKubernetesSdConfig, own: string | undefined): string[] {
  const names = [...cfg.namespaces.names];
  if (names.length === 0 && !cfg.namespaces.ownNamespace) return [""];
  if (cfg.namespaces.ownNamespace && own !== undefined && own !== "") names.push(own);
  return names;
}

type Builder = (o: KubeObject, ctx: BuildContext) => TargetGroup | undefined;

const BUILDERS: Record<ResolvedKubernetesSdConfig["role"], Builder> = {
  node: (o) => buildNodeGroup(o as Node),
  pod: (o, c) => buildPodGroup(o as Pod, c),
  service: (o, c) => buildServiceGroup(o as Service, c),
  endpoints: (o, c) => buildEndpointsGroup(o as Endpoints, c),
  endpointslice: (o, c) => buildEndpointSliceGroup(o as EndpointSlice, c),
  ingress: (o, c) => buildIngressGroup(o as Ingress, c),
};

/** The resource sets of one run and the context to build groups with. */
interface Setup {
  client: KubeClient;
  primary: ResourceSet;
  secondary: ResourceSet[];
  ctx: BuildContext;
}

/** Discovers targets from the Kubernetes API. */
export class KubernetesDiscoverer implements Discoverer {
  readonly #cfg: ResolvedKubernetesSdConfig;
  readonly #opts: KubernetesDiscovererOptions;
  readonly #clock: Clock;
  readonly #metrics: KubernetesSdMetrics;

  constructor(cfg: ResolvedKubernetesSdConfig, opts: KubernetesDiscovererOptions) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#metrics = createKubernetesSdMetrics(opts.registry);
  }

  async #setup(): Promise<Setup> {
    const cfg = this.#cfg;
    const conn = await resolveConnection(cfg, {
      inCluster: this.#opts.inCluster,
      readTextFile: this.#opts.readTextFile,
    });
    const client = new KubeClient(conn, {
      fetch: this.#opts.fetch,
      userAgent: this.#opts.userAgent,
    });
    const namespaces = namespacesOf(cfg, conn.ownNamespace);
    const selector = (role: ResourceKind) => {
      const s = cfg.selectors.find((x) => x.role === role);
      return { labelSelector: s?.label, fieldSelector: s?.field };
    };
    const set = (kind: ResourceKind, withSelector = true) =>
      new ResourceSet(kind, client, namespaces, {
        ...(withSelector ? selector(kind) : {}),
        clock: this.#clock,
        backoff: this.#opts.backoff,
        watchTimeoutSeconds: this.#opts.watchTimeoutSeconds,
      });
    const role = cfg.role;
    const primary = set(role);
    const secondary: ResourceSet[] = [];
    const ctx: BuildContext = {};
    const am = cfg.attachMetadata;
    if (role === "endpoints" || role === "endpointslice") {
      const services = set("service"), pods = set("pod");
      secondary.push(services, pods);
      ctx.services = services.get as BuildContext["services"];
      ctx.pods = pods.get as BuildContext["pods"];
    }
    if (am.node && (role === "pod" || role === "endpoints" || role === "endpointslice")) {
      const nodes = set("node");
      secondary.push(nodes);
      ctx.nodes = nodes.get as BuildContext["nodes"];
    }
    if (am.namespace && role !== "node") {
      const nss = set("namespace", false);
      secondary.push(nss);
      ctx.namespaces = nss.get;
    }
    if (role === "pod") {
      if (am.deployment) {
        const rs = set("replicaset", false);
        secondary.push(rs);
        ctx.replicaSets = rs.get;
      }
      if (am.cronjob) {
        const jobs = set("job", false);
        secondary.push(jobs);
        ctx.jobs = jobs.get;
      }
      ctx.jobName = am.job;
    }
    return { client, primary, secondary, ctx };
  }

  async discoverOnce(signal: AbortSignal): Promise<DiscoveryResult> {
    let setup: Setup | undefined;
    try {
      setup = await this.#setup();
      const s = setup;
      await Promise.all([s.primary, ...s.secondary].map((r) => r.listOnce(signal)));
      const groups: TargetGroup[] = [];
      for (const o of s.primary.values()) {
        const g = BUILDERS[this.#cfg.role](o, s.ctx);
        if (g !== undefined) groups.push(g);
      }
      return { groups, errors: [] };
    } catch (e) {
      if (signal.aborted) return { groups: [], errors: [] };
      this.#metrics.failures.inc();
      return { groups: [], errors: [`kubernetes_sd (role ${this.#cfg.role}): ${errorMessage(e)}`] };
    } finally {
      setup?.client.close();
    }
  }

  async run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    const s = await this.#setup();
    const role = this.#cfg.role;
    const build = BUILDERS[role];
    const groups = new Map<string, TargetGroup>();
    const dirty = new Set<string>();
    let allDirty = true;
    let scheduled = false;
    const all = [s.primary, ...s.secondary];

    const flush = () => {
      scheduled = false;
      if (signal.aborted || !all.every((r) => r.synced)) return;
      const keys = allDirty
        ? [...groups.keys(), ...s.primary.informers.flatMap((i) => [...i.store.keys()])]
        : dirty;
      for (const key of new Set(keys)) {
        const o = s.primary.get(key);
        if (o === undefined) {
          groups.delete(key);
          continue;
        }
        const g = build(o, s.ctx);
        // A node without an address keeps its previous group, as Prometheus.
        if (g !== undefined) groups.set(key, g);
      }
      allDirty = false;
      dirty.clear();
      update([...groups.values()]);
    };
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      this.#clock.sleep(this.#opts.flushMs ?? 100, signal).then(flush);
    };
    const handlers = (kind: ResourceKind, primary: boolean) => ({
      onChange: (key: string) => {
        if (primary) dirty.add(key);
        else allDirty = true;
        schedule();
      },
      onSynced: schedule,
      onEvent: (event: "add" | "update" | "delete") => this.#metrics.events(kind, event).inc(),
      onError: (err: unknown, what: "list" | "watch") => {
        this.#metrics.failures.inc();
        logger.warn("kubernetes_sd {what} of {kind} failed (retrying): {err}", {
          job: this.#opts.job,
          role,
          kind,
          what,
          err: errorMessage(err),
        });
      },
    });
    try {
      await Promise.all(all.map((r) => r.run(signal, handlers(r.kind, r === s.primary))));
    } finally {
      s.client.close();
    }
  }
}

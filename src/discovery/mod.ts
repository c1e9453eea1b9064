/**
 * Service discovery: one {@link Discoverer} per SD config of a job (static,
 * file, HTTP, DNS), and the {@link DiscoveryManager} that merges and
 * rate-limits what they find for the job's scrape pool.
 *
 * ```
 * static_configs   ─ StaticDiscoverer ─┐
 * file_sd_configs  ─ FileDiscoverer ───┤
 * http_sd_configs  ─ HttpDiscoverer ───┼─ DiscoveryManager (per job: merge, ≤ 1 update / 5 s) ─► pool.sync
 * dns_sd_configs   ─ DnsDiscoverer ────┤
 * kubernetes_sd_configs ─ KubernetesDiscoverer (list + watch) ┘
 * ```
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import type { Registry } from "../metrics/registry.ts";
import type { Clock } from "../util/clock.ts";
import { DnsDiscoverer } from "./dns.ts";
import { FileDiscoverer } from "./file.ts";
import { HttpDiscoverer } from "./http.ts";
import type { InClusterSource } from "./kubernetes/connection.ts";
import { KubernetesDiscoverer } from "./kubernetes/discoverer.ts";
import type { NamedDiscoverer } from "./manager.ts";
import type { Discoverer } from "./types.ts";
import { StaticDiscoverer } from "./static.ts";

export type { Discoverer, DiscoveryResult, TargetGroup } from "./types.ts";
export {
  DEFAULT_UPDATE_INTERVAL_MS,
  DiscoveryManager,
  type DiscoveryManagerOptions,
  type NamedDiscoverer,
} from "./manager.ts";
export { StaticDiscoverer } from "./static.ts";
export { FileDiscoverer, type FileDiscovererOptions, FILEPATH_LABEL } from "./file.ts";
export { DOCUMENT_LIMITS, type DocumentLimits, TargetGroupError } from "./groups.ts";
export { HttpDiscoverer, type HttpDiscovererOptions, URL_LABEL } from "./http.ts";
export {
  DNS_MX_TARGET_LABEL,
  DNS_NAME_LABEL,
  DNS_NS_TARGET_LABEL,
  DNS_SRV_PORT_LABEL,
  DNS_SRV_TARGET_LABEL,
  DnsDiscoverer,
  type DnsDiscovererOptions,
  type DnsRecordData,
  type DnsResolver,
} from "./dns.ts";
export { KubernetesDiscoverer, type KubernetesDiscovererOptions } from "./kubernetes/discoverer.ts";

/** What discoverers are built with. */
export interface DiscoveryDeps {
  registry: Registry;
  clock?: Clock;
  /** For http_sd. */
  fetch?: typeof fetch;
  /** For http_sd requests. */
  userAgent?: string;
  /** For dns_sd: ask this server instead of the system's. */
  dnsNameServer?: { ipAddr: string; port: number };
  /** For file_sd: watch directories (off for one-shot use). @default true */
  watch?: boolean;
  /** For kubernetes_sd: the in-cluster environment and service-account directory (tests). */
  kubernetesInCluster?: InClusterSource;
}

/** The discoverers of one job, in config order, each named by its config path. */
export function createDiscoverers(
  cfg: ResolvedScrapeConfig,
  deps: DiscoveryDeps,
): NamedDiscoverer[] {
  const job = cfg.jobName;
  const out: NamedDiscoverer[] = [];
  if (cfg.staticConfigs.length > 0) {
    out.push({ name: "static_configs", discoverer: new StaticDiscoverer(cfg.staticConfigs, job) });
  }
  const each = <C>(list: C[] | undefined, key: string, make: (c: C) => Discoverer) =>
    (list ?? []).forEach((c, i) => out.push({ name: `${key}[${i}]`, discoverer: make(c) }));
  each(cfg.fileSdConfigs, "file_sd_configs", (c) =>
    new FileDiscoverer(c, {
      job,
      registry: deps.registry,
      clock: deps.clock,
      watch: deps.watch,
    }));
  each(cfg.httpSdConfigs, "http_sd_configs", (c) =>
    new HttpDiscoverer(c, {
      job,
      registry: deps.registry,
      clock: deps.clock,
      fetch: deps.fetch,
      userAgent: deps.userAgent,
    }));
  each(cfg.dnsSdConfigs, "dns_sd_configs", (c) =>
    new DnsDiscoverer(c, {
      job,
      registry: deps.registry,
      clock: deps.clock,
      nameServer: deps.dnsNameServer,
    }));
  each(cfg.kubernetesSdConfigs, "kubernetes_sd_configs", (c) =>
    new KubernetesDiscoverer(c, {
      job,
      registry: deps.registry,
      fetch: deps.fetch,
      userAgent: deps.userAgent,
      inCluster: deps.kubernetesInCluster,
    }));
  return out;
}

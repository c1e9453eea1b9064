/**
 * dns_sd: targets from DNS records, through `Deno.resolveDns`.
 *
 * Every `refreshInterval` each name is looked up (all at once). One group per
 * name, with source = the name; targets, with the labels Prometheus sets:
 *
 * | type      | `__address__`                 | extra label                                           |
 * | --------- | ----------------------------- | ----------------------------------------------------- |
 * | SRV       | `<target>:<record port>`      | `__meta_dns_srv_record_target`, `…_srv_record_port`   |
 * | A, AAAA   | `<address>:<port>`            |                                                       |
 * | MX        | `<exchange>:<port>`           | `__meta_dns_mx_record_target`                         |
 * | NS        | `<name server>:<port>`        | `__meta_dns_ns_record_target`                         |
 *
 * and `__meta_dns_name` (the configured name) on all. Record targets keep their
 * trailing dot in the labels and lose it in `__address__`; IPv6 addresses are
 * bracketed.
 *
 * Failures: a lookup that errors (timeout, refused) keeps the name's last
 * good targets and counts in `prometheus_sd_dns_lookup_failures_total` and
 * `prometheus_sd_refresh_failures_total`. `Deno.resolveDns` reports
 * NXDOMAIN, an empty answer and SERVFAIL alike (`NotFound`, "no records
 * found"), so a name that had targets keeps them through one such answer and
 * is emptied only when the next refresh confirms it: one server failure does
 * not drop targets, a removed name is gone after a second refresh.
 *
 * @module
 */

import type { DnsRecordType, ResolvedDnsSdConfig } from "../config/types.ts";
import type { Registry } from "../metrics/registry.ts";
import { type Clock, realClock } from "../util/clock.ts";
import { log } from "../util/log.ts";
import { createDnsSdMetrics, createRefreshMetrics, type RefreshMetrics } from "./metrics.ts";
import { errorMessage, refreshLoop } from "./refresh.ts";
import type { Discoverer, DiscoveryResult, TargetGroup } from "./types.ts";

const logger = log("discovery");

export const DNS_NAME_LABEL = "__meta_dns_name";
export const DNS_SRV_TARGET_LABEL = "__meta_dns_srv_record_target";
export const DNS_SRV_PORT_LABEL = "__meta_dns_srv_record_port";
export const DNS_MX_TARGET_LABEL = "__meta_dns_mx_record_target";
export const DNS_NS_TARGET_LABEL = "__meta_dns_ns_record_target";

/** A record as `Deno.resolveDns` returns it for the five types. */
export type DnsRecordData =
  | string
  | { priority: number; weight: number; port: number; target: string }
  | { preference: number; exchange: string };

/** Looks up `name`; rejects with `Deno.errors.NotFound` when there are no records. */
export type DnsResolver = (
  name: string,
  type: DnsRecordType,
  opts: { signal: AbortSignal },
) => Promise<DnsRecordData[]>;

/** Options of {@link DnsDiscoverer}. */
export interface DnsDiscovererOptions {
  /** The job, for logs and metric labels. */
  job: string;
  registry: Registry;
  clock?: Clock;
  /** Ask this server instead of the system's (tests point it at 127.0.0.1). */
  nameServer?: { ipAddr: string; port: number };
  /** Replaces `Deno.resolveDns` altogether. */
  resolve?: DnsResolver;
  /** How long one lookup may take. @default min(refresh interval, 10 s) */
  timeoutMs?: number;
}

interface NameState {
  group: TargetGroup;
  /** Consecutive "no records" answers since the name last had records. */
  notFound: number;
}

/** Discovers targets from DNS records. */
export class DnsDiscoverer implements Discoverer {
  readonly #cfg: ResolvedDnsSdConfig;
  readonly #opts: DnsDiscovererOptions;
  readonly #clock: Clock;
  readonly #resolve: DnsResolver;
  readonly #refreshMetrics: RefreshMetrics;
  readonly #dnsMetrics;
  readonly #state = new Map<string, NameState>();

  constructor(cfg: ResolvedDnsSdConfig, opts: DnsDiscovererOptions) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    const nameServer = opts.nameServer;
    this.#resolve = opts.resolve ??
      ((name, type, o) =>
        Deno.resolveDns(name, type, {
          signal: o.signal,
          ...(nameServer ? { nameServer } : {}),
        }) as Promise<DnsRecordData[]>);
    this.#refreshMetrics = createRefreshMetrics(opts.registry, {
      mechanism: "dns",
      config: opts.job,
    });
    this.#dnsMetrics = createDnsSdMetrics(opts.registry);
  }

  discoverOnce(signal: AbortSignal): Promise<DiscoveryResult> {
    return this.#refresh(signal);
  }

  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    return refreshLoop(signal, update, {
      clock: this.#clock,
      intervalMs: this.#cfg.refreshIntervalMs,
      refresh: (s) => this.#refresh(s),
    });
  }

  async #refresh(signal: AbortSignal): Promise<DiscoveryResult> {
    const started = performance.now();
    const errors: string[] = [];
    const timeoutMs = this.#opts.timeoutMs ?? Math.min(this.#cfg.refreshIntervalMs, 10_000);
    const groups = await Promise.all(this.#cfg.names.map(async (name) => {
      const prev = this.#state.get(name);
      this.#dnsMetrics.lookups.inc();
      try {
        const records = await this.#resolve(name, this.#cfg.type, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
        const group = this.#group(name, records);
        this.#state.set(name, { group, notFound: 0 });
        return group;
      } catch (e) {
        if (signal.aborted) return prev?.group ?? emptyGroup(name);
        if (e instanceof Deno.errors.NotFound) {
          const notFound = (prev?.notFound ?? 0) + 1;
          if (prev && prev.group.targets.length > 0 && notFound < 2) {
            logger.warn(
              "dns_sd: no {type} records for {name}; keeping its targets until the next refresh confirms",
              { job: this.#opts.job, name, type: this.#cfg.type },
            );
            this.#state.set(name, { group: prev.group, notFound });
            return prev.group;
          }
          const group = emptyGroup(name);
          this.#state.set(name, { group, notFound });
          return group;
        }
        this.#dnsMetrics.failures.inc();
        const why = e instanceof DOMException && e.name === "TimeoutError"
          ? `no answer within ${timeoutMs} ms`
          : errorMessage(e);
        errors.push(`${name} (${this.#cfg.type}): ${why}`);
        logger.error("dns_sd lookup of {name} failed, keeping its last good targets: {err}", {
          job: this.#opts.job,
          name,
          type: this.#cfg.type,
          err: why,
        });
        return prev?.group ?? emptyGroup(name);
      }
    }));
    if (errors.length > 0) this.#refreshMetrics.failures.inc();
    this.#refreshMetrics.duration.observe((performance.now() - started) / 1000);
    return { groups, errors };
  }

  #group(name: string, records: DnsRecordData[]): TargetGroup {
    const port = this.#cfg.port;
    const targets: Record<string, string>[] = [];
    for (const r of records) {
      const t: Record<string, string> = { [DNS_NAME_LABEL]: name };
      switch (this.#cfg.type) {
        case "SRV": {
          if (typeof r !== "object" || !("target" in r)) continue;
          t.__address__ = hostPort(bare(r.target), r.port);
          t[DNS_SRV_TARGET_LABEL] = rooted(r.target);
          t[DNS_SRV_PORT_LABEL] = String(r.port);
          break;
        }
        case "MX": {
          if (typeof r !== "object" || !("exchange" in r)) continue;
          t.__address__ = hostPort(bare(r.exchange), port);
          t[DNS_MX_TARGET_LABEL] = rooted(r.exchange);
          break;
        }
        case "NS": {
          if (typeof r !== "string") continue;
          t.__address__ = hostPort(bare(r), port);
          t[DNS_NS_TARGET_LABEL] = rooted(r);
          break;
        }
        case "A":
        case "AAAA": {
          if (typeof r !== "string") continue;
          t.__address__ = hostPort(r, port);
          break;
        }
      }
      targets.push(t);
    }
    // Resolvers may rotate the answer order; a stable order keeps unchanged sets quiet.
    targets.sort((
      a,
      b,
    ) => (a.__address__ < b.__address__ ? -1 : a.__address__ > b.__address__ ? 1 : 0));
    return { source: name, targets, labels: {} };
  }
}

function emptyGroup(name: string): TargetGroup {
  return { source: name, targets: [], labels: {} };
}

/** A DNS name without its trailing dot (how it reads in an address). */
function bare(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** A DNS name with its trailing dot (how DNS libraries report record targets). */
function rooted(name: string): string {
  return name.endsWith(".") ? name : name + ".";
}

/** `host:port`, with IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

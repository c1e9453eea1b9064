/**
 * The scrape manager: one pool per job, fed by the job's discoverers.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import { createDiscoverers, DiscoveryManager, type NamedDiscoverer } from "../discovery/mod.ts";
import { log } from "../util/log.ts";
import { type PoolDeps, ScrapePool } from "./pool.ts";

const logger = log("scrape");

interface Job {
  pool: ScrapePool;
}

/** Options of {@link ScrapeManager} beyond the pools' dependencies. */
export interface ScrapeManagerOptions {
  /** Least time between two target updates of a pool. @default 5000 (as Prometheus) */
  discoveryUpdateIntervalMs?: number;
  /** Builds a job's discoverers. @default createDiscoverers */
  discoverers?: (cfg: ResolvedScrapeConfig) => NamedDiscoverer[];
}

/** Runs the scrape pools of a config. */
export class ScrapeManager {
  readonly #deps: PoolDeps;
  readonly #jobs = new Map<string, Job>();
  readonly #discovery: DiscoveryManager;
  readonly #discoverers: (cfg: ResolvedScrapeConfig) => NamedDiscoverer[];

  constructor(deps: PoolDeps, opts: ScrapeManagerOptions = {}) {
    this.#deps = deps;
    this.#discovery = new DiscoveryManager({
      registry: deps.registry,
      clock: deps.clock,
      updateIntervalMs: opts.discoveryUpdateIntervalMs,
    });
    this.#discoverers = opts.discoverers ?? ((cfg) =>
      createDiscoverers(cfg, {
        registry: deps.registry,
        clock: deps.clock,
        fetch: deps.fetch,
        userAgent: deps.userAgent,
      }));
  }

  /** Starts a pool and its discovery for every job. */
  start(configs: ResolvedScrapeConfig[]): void {
    for (const cfg of configs) this.#startJob(cfg);
  }

  #startJob(cfg: ResolvedScrapeConfig, predecessor?: ScrapePool): void {
    const pool = new ScrapePool(cfg, this.#deps, { predecessor });
    // The discovery manager merges the job's discoverers and rate-limits updates.
    this.#discovery.startJob(cfg.jobName, {
      discoverers: this.#discoverers(cfg),
      sync: (groups) => pool.sync(groups),
    });
    this.#jobs.set(cfg.jobName, { pool });
    logger.info("started scrape pool {job}", {
      job: cfg.jobName,
      interval: cfg.scrapeIntervalMs,
    });
  }

  /**
   * Applies a reloaded config: a job whose resolved config is unchanged keeps
   * its pool, discovery and loops untouched; a changed job gets a new pool
   * (the old one's targets wait out the staleness grace; a target the new
   * pool also has is taken over, its new loop continuing the old one's
   * series, so only series the new config no longer produces are marked
   * stale); a removed job stops with staleness markers after the grace; a
   * new job starts.
   */
  async apply(configs: ResolvedScrapeConfig[]): Promise<ApplyResult> {
    const result: ApplyResult = { kept: [], changed: [], added: [], removed: [] };
    const next = new Map(configs.map((c) => [c.jobName, c]));
    for (const [name, job] of [...this.#jobs]) {
      const cfg = next.get(name);
      if (cfg !== undefined && sameValue(job.pool.config, cfg)) {
        result.kept.push(name);
        continue;
      }
      await this.#discovery.stopJob(name);
      this.#jobs.delete(name);
      if (cfg === undefined) {
        result.removed.push(name);
        logger.info("stopping scrape pool {job}: removed from the config", { job: name });
        this.#track(job.pool, job.pool.stop({ stale: true }));
      } else {
        result.changed.push(name);
        logger.info("restarting scrape pool {job}: its config changed", { job: name });
        this.#track(job.pool, job.pool.handOff());
        this.#startJob(cfg, job.pool);
      }
    }
    for (const cfg of configs) {
      if (this.#jobs.has(cfg.jobName)) continue;
      result.added.push(cfg.jobName);
      this.#startJob(cfg);
    }
    // Keep the config's order for listings.
    const ordered = configs.map((c) => [c.jobName, this.#jobs.get(c.jobName)!] as const);
    this.#jobs.clear();
    for (const [n, j] of ordered) this.#jobs.set(n, j);
    return result;
  }

  /** Pools retired by a reload, until their staleness markers are written or cancelled. */
  readonly #retiring = new Set<ScrapePool>();

  #track(pool: ScrapePool, done: Promise<void>): void {
    this.#retiring.add(pool);
    done.catch((err) =>
      logger.error("stopping scrape pool {job} failed", {
        job: pool.config.jobName,
        err: String(err),
      })
    ).finally(() => this.#retiring.delete(pool));
  }

  /** The running pools. */
  pools(): ScrapePool[] {
    return [...this.#jobs.values()].map((j) => j.pool);
  }

  /** Stops discovery and every loop, without staleness markers (shutdown). */
  async stop(): Promise<void> {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    await this.#discovery.stop();
    const retiring = [...this.#retiring];
    await Promise.all([
      ...jobs.map((j) => j.pool.stop({ stale: false })),
      ...retiring.map((p) => p.stop({ stale: false })),
    ]);
  }
}

/** What {@link ScrapeManager.apply} did, by job name. */
export interface ApplyResult {
  kept: string[];
  changed: string[];
  added: string[];
  removed: string[];
}

/** Deep equality of plain config data (key order ignored). */
export function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

/** JSON with object keys sorted, for comparing resolved configs. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x === undefined) return null;
    if (x instanceof RegExp) return String(x);
    if (x === null || typeof x !== "object" || Array.isArray(x)) return x;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort()) out[k] = (x as Record<string, unknown>)[k];
    return out;
  });
}

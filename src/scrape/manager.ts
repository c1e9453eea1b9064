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
    for (const cfg of configs) {
      const pool = new ScrapePool(cfg, this.#deps);
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
    await Promise.all(jobs.map((j) => j.pool.stop({ stale: false })));
  }
}

/**
 * The scrape manager: one pool per job, fed by the job's discoverers.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import { StaticDiscoverer } from "../discovery/static.ts";
import type { Discoverer, TargetGroup } from "../discovery/types.ts";
import { log } from "../util/log.ts";
import { type PoolDeps, ScrapePool } from "./pool.ts";

const logger = log("scrape");

interface Job {
  pool: ScrapePool;
  abort: AbortController;
  discovery: Promise<void>[];
}

/** Runs the scrape pools of a config. */
export class ScrapeManager {
  readonly #deps: PoolDeps;
  readonly #jobs = new Map<string, Job>();

  constructor(deps: PoolDeps) {
    this.#deps = deps;
  }

  /** Starts a pool and its discovery for every job. */
  start(configs: ResolvedScrapeConfig[]): void {
    for (const cfg of configs) {
      const pool = new ScrapePool(cfg, this.#deps);
      const abort = new AbortController();
      const discoverers = discoverersFor(cfg);
      // Each discoverer reports its full set; the pool gets the union.
      const latest: TargetGroup[][] = discoverers.map(() => []);
      const discovery = discoverers.map((d, i) =>
        d.run(abort.signal, (groups) => {
          latest[i] = groups;
          if (!abort.signal.aborted) pool.sync(latest.flat());
        }).catch((err) => logger.error("discovery failed", { job: cfg.jobName, err: String(err) }))
      );
      this.#jobs.set(cfg.jobName, { pool, abort, discovery });
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
    for (const j of jobs) j.abort.abort();
    await Promise.all(jobs.map(async (j) => {
      await Promise.all(j.discovery);
      await j.pool.stop({ stale: false });
    }));
  }
}

function discoverersFor(cfg: ResolvedScrapeConfig): Discoverer[] {
  const out: Discoverer[] = [];
  if (cfg.staticConfigs.length > 0) out.push(new StaticDiscoverer(cfg.staticConfigs, cfg.jobName));
  return out;
}

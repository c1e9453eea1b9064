/**
 * A scrape pool: the targets of one job. It turns discovered target groups
 * into targets (target relabeling), keeps one loop per target, and on each
 * update starts loops for new targets and stops those of vanished ones
 * (with staleness markers), leaving unchanged targets' loops untouched.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import type { TargetGroup } from "../discovery/types.ts";
import type { Labels } from "../model/labels.ts";
import type { Registry } from "../metrics/registry.ts";
import { type CompiledRules, compileRules } from "../relabel/relabel.ts";
import type { Appendable } from "../storage/types.ts";
import type { Clock } from "../util/clock.ts";
import { authHeaders } from "../util/httpauth.ts";
import { log } from "../util/log.ts";
import { ScrapeLoop, type ScrapeTarget } from "./loop.ts";
import { createPoolMetrics } from "./metrics.ts";
import { populateLabels } from "./target.ts";

/** Dependencies shared by every pool. */
export interface PoolDeps {
  appendable: Appendable;
  clock: Clock;
  registry: Registry;
  offsetSeed: number;
  userAgent: string;
  fetch?: typeof fetch;
  /** Most dropped targets kept for the API and UI when the job's config sets none. @default 1000 */
  keepDroppedTargets?: number;
}

/** A target that relabeling dropped or that is invalid. */
export interface DroppedTarget {
  discoveredLabels: Labels;
  reason: string;
}

interface Running {
  loop: ScrapeLoop;
  abort: AbortController;
  done: Promise<void>;
}

const logger = log("scrape");

/** The targets and loops of one scrape job. */
export class ScrapePool {
  readonly config: ResolvedScrapeConfig;
  readonly #deps: PoolDeps;
  readonly #targetRules: CompiledRules;
  readonly #metricRules: CompiledRules;
  readonly #loops = new Map<string, Running>();
  /** Loops of removed targets still writing their staleness markers. */
  readonly #stopping = new Set<Promise<void>>();
  #dropped: DroppedTarget[] = [];
  #droppedCount = 0;
  readonly #metrics;
  readonly #headers;

  constructor(config: ResolvedScrapeConfig, deps: PoolDeps) {
    this.config = config;
    this.#deps = deps;
    this.#targetRules = compileRules(config.relabelConfigs);
    this.#metricRules = compileRules(config.metricRelabelConfigs);
    this.#metrics = createPoolMetrics(deps.registry, config.jobName, () => this.#loops.size);
    this.#headers = authHeaders(config);
  }

  /** The running loops, in no particular order. */
  loops(): ScrapeLoop[] {
    return [...this.#loops.values()].map((r) => r.loop);
  }

  /** Targets dropped by relabeling or invalid, bounded by `keepDroppedTargets`. */
  dropped(): { targets: DroppedTarget[]; total: number } {
    return { targets: this.#dropped, total: this.#droppedCount };
  }

  /** Replaces the pool's target set with the targets of `groups`. */
  sync(groups: TargetGroup[]): void {
    const wanted = new Map<string, ScrapeTarget>();
    const dropped: DroppedTarget[] = [];
    let droppedCount = 0;
    const keep = this.config.keepDroppedTargets || this.#deps.keepDroppedTargets || 1000;
    for (const g of groups) {
      for (const t of g.targets) {
        const r = populateLabels(t, g.labels, this.config, this.#targetRules);
        if (r.labels === null || r.error) {
          droppedCount++;
          if (dropped.length < keep) {
            dropped.push({
              discoveredLabels: r.discoveredLabels,
              reason: r.error ?? "dropped by relabeling",
            });
          }
          if (r.error) {
            logger.warn("invalid target {target}: {err}", {
              job: this.config.jobName,
              target: r.discoveredLabels.get("__address__"),
              err: r.error,
            });
          }
          continue;
        }
        const target: ScrapeTarget = {
          labels: r.labels,
          discoveredLabels: r.discoveredLabels,
          scrapeUrl: r.scrapeUrl,
          intervalMs: r.intervalMs,
          timeoutMs: r.timeoutMs,
        };
        const key = targetKey(target);
        if (!wanted.has(key)) wanted.set(key, target);
      }
    }
    this.#dropped = dropped;
    this.#droppedCount = droppedCount;

    for (const [key, run] of this.#loops) {
      if (wanted.has(key)) continue;
      this.#loops.delete(key);
      run.abort.abort();
      // Wait for an in-flight scrape to settle so its commit and the markers do not interleave.
      const stopping: Promise<void> = run.done
        .then(() => run.loop.stop({ stale: true }))
        .catch((err) =>
          logger.error("writing staleness markers failed", {
            job: this.config.jobName,
            err: String(err),
          })
        )
        .finally(() => this.#stopping.delete(stopping));
      this.#stopping.add(stopping);
    }
    for (const [key, target] of wanted) {
      if (this.#loops.has(key)) continue;
      const loop = new ScrapeLoop(target, {
        config: this.config,
        appendable: this.#deps.appendable,
        metricRules: this.#metricRules,
        clock: this.#deps.clock,
        offsetSeed: this.#deps.offsetSeed,
        fetch: this.#deps.fetch,
        userAgent: this.#deps.userAgent,
        metrics: this.#metrics,
        headers: this.#headers,
      });
      const abort = new AbortController();
      const done = loop.run(abort.signal).catch((err) =>
        logger.error("scrape loop crashed {target}", {
          job: this.config.jobName,
          target: target.scrapeUrl,
          err: String(err),
        })
      );
      this.#loops.set(key, { loop, abort, done });
    }
  }

  /**
   * Stops every loop. With `stale`, writes staleness markers (the job was
   * removed); on shutdown Prometheus writes none, and neither do we.
   */
  async stop(opts: { stale: boolean }): Promise<void> {
    const runs = [...this.#loops.values()];
    this.#loops.clear();
    for (const r of runs) r.abort.abort();
    await Promise.all(runs.map(async (r) => {
      await r.done;
      await r.loop.stop(opts);
    }));
    // Markers of targets removed just before are part of what shutdown must finish.
    await Promise.all(this.#stopping);
    this.#metrics.dispose();
  }
}

/** Identity of a target: same labels and URL means the same loop keeps running. */
export function targetKey(t: ScrapeTarget): string {
  return t.scrapeUrl + "\u0000" + t.labels.toString() + "\u0000" + t.intervalMs + "/" + t.timeoutMs;
}

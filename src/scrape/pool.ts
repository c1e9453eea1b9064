/**
 * A scrape pool: the targets of one job. It turns discovered target groups
 * into targets (target relabeling), keeps one loop per target, and on each
 * update starts loops for new targets and stops those of vanished ones,
 * leaving unchanged targets' loops untouched.
 *
 * A vanished target's loop is kept as "pending stale": its staleness markers
 * are written only after Prometheus' grace (the next scheduled scrape, one
 * more interval and 10%), stamped with the time of that next scrape. If the
 * same target (same labels and URL) comes back meanwhile, the markers are
 * cancelled and the old loop resumes with its cache, so series it still
 * exposes never see a marker and series it lost get one at its next scrape.
 *
 * On a reload that changes the job's config, the manager builds a new pool
 * and the old one hands off: its loops stop and wait out the grace as above.
 * A target the new pool also has (same URL and labels) is taken over: the
 * old loop's markers are cancelled and the new loop inherits its last scrape
 * ({@link ScrapeLoop.inheritFrom}), so series that continue get no marker
 * and series the new config no longer produces (dropped by its metric
 * relabeling, say) get one at the new loop's first scrape. A target only the
 * old pool had gets its markers after the grace.
 *
 * With `target_limit` exceeded, every target of the pool stays listed but is
 * not scraped: each scheduled scrape fails with the limit error (`up` 0, the
 * last series marked stale), as in Prometheus, until an update brings the
 * count back under the limit.
 *
 * On shutdown no markers are written, pending ones included (Prometheus
 * writes none either: a restarted agent continues the series).
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
import { ScrapeHttpClient } from "./http.ts";
import { ScrapeLoop, type ScrapeTarget } from "./loop.ts";
import { createPoolMetrics, type PoolMetrics } from "./metrics.ts";
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

/** A stopped loop a successor pool takes over, and when it is idle. */
export interface HandedOver {
  loop: ScrapeLoop;
  done: Promise<void>;
}

/** A removed target waiting out the grace before its staleness markers. */
interface PendingStale {
  loop: ScrapeLoop;
  abort: AbortController;
  /** Settles when the markers are written or cancelled. */
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
  /** Removed targets whose staleness markers wait for the grace, by target key. */
  readonly #pending = new Map<string, PendingStale>();
  #dropped: DroppedTarget[] = [];
  #droppedCount = 0;
  readonly #metrics: PoolMetrics;
  readonly #headers;
  readonly #client: ScrapeHttpClient;
  /** The error every loop is forced into while the target limit is exceeded. */
  #limitError: Error | null = null;
  /** The last target-limit error logged, so a persisting excess is logged once. */
  #lastLimitLog = "";
  #stopped = false;
  #disposed = false;
  /**
   * The pool this one replaced on a config reload, while its targets wait out
   * the staleness grace: a target both pools have cancels its markers.
   */
  #predecessor: ScrapePool | null = null;

  constructor(
    config: ResolvedScrapeConfig,
    deps: PoolDeps,
    opts: { predecessor?: ScrapePool } = {},
  ) {
    this.#predecessor = opts.predecessor ?? null;
    this.config = config;
    this.#deps = deps;
    this.#targetRules = compileRules(config.relabelConfigs);
    this.#metricRules = compileRules(config.metricRelabelConfigs);
    this.#metrics = createPoolMetrics(
      deps.registry,
      config.jobName,
      () => this.#loops.size,
      config.targetLimit,
    );
    this.#headers = authHeaders(config);
    this.#client = new ScrapeHttpClient(config);
  }

  /** The running loops, in no particular order. */
  loops(): ScrapeLoop[] {
    return [...this.#loops.values()].map((r) => r.loop);
  }

  /** Targets dropped by relabeling or invalid, bounded by `keepDroppedTargets`. */
  dropped(): { targets: DroppedTarget[]; total: number } {
    return { targets: this.#dropped, total: this.#droppedCount };
  }

  /** Removed targets whose staleness markers are still pending (for tests and status). */
  pendingStale(): number {
    return this.#pending.size;
  }

  /** Replaces the pool's target set with the targets of `groups`. */
  sync(groups: TargetGroup[]): void {
    if (this.#stopped) return;
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
              reason: r.error ??
                (r.droppedBy ? `belongs to ${r.droppedBy}` : "dropped by relabeling"),
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
    const inherited = this.#takeOver(wanted);

    for (const [key, run] of this.#loops) {
      if (wanted.has(key)) continue;
      this.#loops.delete(key);
      this.#retire(key, run);
    }

    // Prometheus counts the targets left after relabeling (dropped ones do not count).
    const limit = this.config.targetLimit;
    if (limit > 0 && wanted.size > limit) {
      this.#metrics.targetLimitExceeded();
      this.#limitError = new Error(
        `target_limit exceeded (number of targets: ${wanted.size}, limit: ${limit})`,
      );
      if (this.#limitError.message !== this.#lastLimitLog) {
        logger.warn("{job}: {err}; no target of the job is scraped", {
          job: this.config.jobName,
          err: this.#limitError.message,
        });
      }
    } else {
      this.#limitError = null;
    }
    this.#lastLimitLog = this.#limitError?.message ?? "";

    for (const [key, target] of wanted) {
      const running = this.#loops.get(key);
      if (running !== undefined) {
        running.loop.setForcedError(this.#limitError);
        continue;
      }
      const pending = this.#pending.get(key);
      let loop: ScrapeLoop;
      let after: Promise<unknown> | null = null;
      const handed = inherited.get(key);
      if (pending !== undefined) {
        // The target came back within the grace: no markers, the old loop resumes.
        this.#pending.delete(key);
        pending.abort.abort();
        loop = pending.loop;
        after = pending.done;
      } else if (handed !== undefined) {
        // The predecessor's loop of this target has stopped (or is stopping): once
        // it has settled, the new loop continues its series.
        const fresh = this.#newLoop(target);
        loop = fresh;
        after = handed.done.then(() => fresh.inheritFrom(handed.loop));
      } else {
        loop = this.#newLoop(target);
      }
      loop.setForcedError(this.#limitError);
      const abort = new AbortController();
      // A new loop starts at once (its first sleep is on the clock before sync returns).
      const started = after === null
        ? loop.run(abort.signal)
        : after.then(() => loop.run(abort.signal));
      const done = started.catch((err) =>
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
   * Reload replaced this job's config: the new pool scrapes the targets that
   * stay, so this one stops its loops at once and lets them wait out the
   * staleness grace (see {@link handOver}); its metrics go now, since the
   * new pool registers the same ones. Resolves when every marker is written
   * or cancelled.
   */
  handOff(): Promise<void> {
    this.#stopped = true;
    this.#disposeMetrics();
    for (const [key, run] of this.#loops) this.#retire(key, run);
    this.#loops.clear();
    return Promise.all([...this.#pending.values()].map((p) => p.done)).then(() => {
      this.#client.close();
    });
  }

  /**
   * Hands the stopped loops of the targets in `identities` (scrape URL and
   * labels, see {@link targetIdentity}) that still wait out the grace over to
   * a successor pool: their staleness markers are cancelled. Each comes with
   * a promise that settles once the loop is idle (its last scrape and the
   * cancelled wait done), after which its state may be inherited.
   */
  handOver(identities: Set<string>): Map<string, HandedOver> {
    const out = new Map<string, HandedOver>();
    for (const [key, p] of this.#pending) {
      const id = targetIdentity(p.loop.target);
      if (!identities.has(id) || out.has(id)) continue;
      p.abort.abort();
      this.#pending.delete(key);
      out.set(id, { loop: p.loop, done: p.done });
    }
    return out;
  }

  /**
   * Targets the pool a reload replaced also had are taken over from it: no
   * staleness markers from it; the new loops, by target key, inherit the old.
   */
  #takeOver(wanted: Map<string, ScrapeTarget>): Map<string, HandedOver> {
    const pred = this.#predecessor;
    const out = new Map<string, HandedOver>();
    if (pred === null) return out;
    if (pred.pendingStale() === 0) {
      this.#predecessor = null;
      return out;
    }
    const ids = new Map<string, string>();
    for (const [key, t] of wanted) {
      if (!this.#loops.has(key) && !this.#pending.has(key)) ids.set(targetIdentity(t), key);
    }
    const handed = pred.handOver(new Set(ids.keys()));
    for (const [id, h] of handed) out.set(ids.get(id)!, h);
    if (handed.size > 0) {
      logger.debug("{job}: {count} targets continued across the reload", {
        job: this.config.jobName,
        count: handed.size,
      });
    }
    return out;
  }

  #disposeMetrics(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#metrics.dispose();
  }

  #newLoop(target: ScrapeTarget): ScrapeLoop {
    return new ScrapeLoop(target, {
      config: this.config,
      appendable: this.#deps.appendable,
      metricRules: this.#metricRules,
      clock: this.#deps.clock,
      offsetSeed: this.#deps.offsetSeed,
      fetch: this.#deps.fetch,
      userAgent: this.#deps.userAgent,
      metrics: this.#metrics,
      headers: this.#headers,
      httpClient: this.#client.needed ? () => this.#client.get() : undefined,
    });
  }

  /** Stops a removed target's loop and schedules its staleness markers after the grace. */
  #retire(key: string, run: Running): void {
    run.abort.abort();
    const abort = new AbortController();
    const entry: PendingStale = { loop: run.loop, abort, done: Promise.resolve() };
    // Wait for an in-flight scrape to settle so its commit and the markers do not interleave.
    entry.done = run.done
      .then(() => run.loop.endOfRunStaleness(abort.signal))
      .then(() => undefined, (err) => {
        logger.error("writing staleness markers failed", {
          job: this.config.jobName,
          target: run.loop.target.scrapeUrl,
          err: String(err),
        });
      })
      .finally(() => {
        if (this.#pending.get(key) === entry) this.#pending.delete(key);
      });
    this.#pending.set(key, entry);
  }

  /**
   * Stops every loop. With `stale` (the job was removed from the config), each
   * target gets its staleness markers after the grace, as when it disappears
   * from discovery; without (shutdown), no markers are written, pending ones
   * included, as in Prometheus.
   */
  async stop(opts: { stale: boolean }): Promise<void> {
    this.#stopped = true;
    const runs = [...this.#loops];
    this.#loops.clear();
    if (opts.stale) {
      for (const [key, run] of runs) this.#retire(key, run);
    } else {
      for (const [, run] of runs) run.abort.abort();
      for (const p of this.#pending.values()) p.abort.abort();
    }
    await Promise.all(runs.map(([, r]) => r.done));
    await Promise.all([...this.#pending.values()].map((p) => p.done));
    this.#client.close();
    this.#disposeMetrics();
  }
}

/** A target's series identity across configs: its scrape URL and labels. */
export function targetIdentity(t: ScrapeTarget): string {
  return t.scrapeUrl + "\u0000" + t.labels.toString();
}

/** Identity of a target: same labels and URL means the same loop keeps running. */
export function targetKey(t: ScrapeTarget): string {
  return t.scrapeUrl + "\u0000" + t.labels.toString() + "\u0000" + t.intervalMs + "/" + t.timeoutMs;
}

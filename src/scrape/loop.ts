/**
 * One scrape loop per target: fetch, parse, attach target labels, metric
 * relabel, append, report the synthetic series, and write staleness markers.
 *
 * The loop keeps a cache from each line's raw series text to its series ref
 * and final labels, so a steady scrape parses only values: labels are parsed
 * and relabeled once per new series.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import { Labels, LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { formatDuration } from "../model/duration.ts";
import { type CompiledRules, relabel } from "../relabel/relabel.ts";
import type { Appendable, Appender, SeriesRef } from "../storage/types.ts";
import type { Clock } from "../util/clock.ts";
import { PromParser } from "./textparse/prom.ts";
import type { ScrapeMetrics } from "./metrics.ts";
import { log } from "../util/log.ts";

const logger = log("scrape");

/** A target ready to scrape: the outcome of target relabeling. */
export interface ScrapeTarget {
  /** Final target labels (`job`, `instance`, …), attached to every scraped series. */
  labels: Labels;
  /** Labels as discovered, before relabeling. */
  discoveredLabels: Labels;
  scrapeUrl: string;
  intervalMs: number;
  timeoutMs: number;
}

/** What a loop needs from the outside. */
export interface ScrapeLoopDeps {
  config: ResolvedScrapeConfig;
  appendable: Appendable;
  metricRules: CompiledRules;
  clock: Clock;
  /** Per-agent seed mixed into the offset so HA replicas scrape at different moments. */
  offsetSeed: number;
  fetch?: typeof fetch;
  userAgent?: string;
  metrics?: ScrapeMetrics;
  /** Extra request headers (authorization), computed by the pool. */
  headers?: () => Promise<Record<string, string>>;
}

/** Health of a target as shown in the API and UI. */
export type Health = "up" | "down" | "unknown";

interface CacheEntry {
  ref: SeriesRef;
  /** Final labels, or null when metric relabeling dropped the series. */
  labels: Labels | null;
  /** Scrape iteration in which the series was last seen. */
  seen: number;
  /** The value of `seen` before this iteration touched it (restored on rollback). */
  prevSeen: number;
  /** Whether the last sample carried its own timestamp (no staleness for those). */
  hasTs: boolean;
  /** Iteration in which the entry was created (its ref is only valid once committed). */
  created: number;
}

/** Synthetic series names, in the order they are appended. */
const REPORT_NAMES = [
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling",
  "scrape_series_added",
] as const;

/** Entries unseen for this many scrapes leave the cache. */
const CACHE_KEEP_ITERATIONS = 10;

/** The Accept header of a text-format-only scraper. */
export const ACCEPT_HEADER = "text/plain;version=0.0.4;q=1,*/*;q=0.1";

/** Thrown when a scrape exceeds `sample_limit`. */
export class SampleLimitError extends Error {
  constructor(limit: number) {
    super(`sample limit exceeded (limit ${limit})`);
    this.name = "SampleLimitError";
  }
}

/** Scrapes one target on its schedule until stopped. */
export class ScrapeLoop {
  readonly target: ScrapeTarget;
  readonly #deps: ScrapeLoopDeps;
  readonly #fetch: typeof fetch;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #reportLabels: Labels[];
  readonly #reportRefs: SeriesRef[] = [0, 0, 0, 0, 0];
  readonly #builder = new LabelsBuilder();
  #iter = 0;
  /** Iteration whose series are "the previous scrape" for staleness. */
  #prevIter = -1;
  #health: Health = "unknown";
  #lastError = "";
  #lastScrape: number | null = null;
  #lastDuration = 0;
  #stopped = false;
  /** Counts of the current scrape (reused; no allocation per scrape). */
  readonly #counts = { scraped: 0, post: 0, added: 0 };

  constructor(target: ScrapeTarget, deps: ScrapeLoopDeps) {
    this.target = target;
    this.#deps = deps;
    this.#fetch = deps.fetch ?? fetch;
    this.#reportLabels = REPORT_NAMES.map((n) =>
      new LabelsBuilder(target.labels).set(METRIC_NAME, n).labels()
    );
  }

  /** Health, last error, time and duration of the last scrape. */
  status(): { health: Health; lastError: string; lastScrape: number | null; lastDuration: number } {
    return {
      health: this.#health,
      lastError: this.#lastError,
      lastScrape: this.#lastScrape,
      lastDuration: this.#lastDuration,
    };
  }

  /**
   * The target's offset within the interval: a stable hash of the target's
   * labels and URL mixed with the agent's seed, so restarts keep the schedule.
   */
  offsetMs(): number {
    const h = (fnv1a(this.target.scrapeUrl, this.target.labels.hash()) ^ this.#deps.offsetSeed) >>>
      0;
    return h % this.target.intervalMs;
  }

  /** Runs scrapes on the target's schedule until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#deps;
    const interval = this.target.intervalMs;
    const offset = this.offsetMs();
    const now = clock.now();
    let next = now - (now % interval) + offset;
    if (next < now) next += interval;
    while (!signal.aborted && !this.#stopped) {
      await clock.sleep(next - clock.now(), signal);
      if (signal.aborted || this.#stopped) break;
      await this.scrapeOnce(next, signal);
      next += interval;
      const after = clock.now();
      if (next <= after) next += Math.ceil((after - next + 1) / interval) * interval;
    }
  }

  /**
   * One scrape scheduled at `scheduled` (ms): fetch, append, staleness,
   * report, commit. Never throws for target errors; they become `up` 0.
   */
  async scrapeOnce(scheduled: number, signal?: AbortSignal): Promise<void> {
    const { clock, config, metrics } = this.#deps;
    const start = clock.now();
    // Align the timestamp to the schedule when the jitter is small, as Prometheus does.
    const tolerance = Math.min(this.target.intervalMs / 100, 2);
    const t = Math.abs(start - scheduled) <= tolerance ? scheduled : start;
    const iter = ++this.#iter;

    let err: unknown = null;
    let body: string | null = null;
    try {
      body = await this.#fetchBody(signal);
    } catch (e) {
      err = e;
    }
    // Stopped or shut down mid-scrape: write nothing for this scrape.
    if (this.#stopped || signal?.aborted) return;

    let app = this.#deps.appendable.appender();
    const counts = this.#counts;
    counts.scraped = counts.post = counts.added = 0;
    if (body !== null) {
      try {
        this.#appendBody(app, body, t, iter, config);
      } catch (e) {
        // As Prometheus: nothing of a failed scrape is kept, but the counts
        // reached before the failure are reported.
        err = e;
        if (e instanceof SampleLimitError) metrics?.sampleLimitExceeded();
        app.rollback();
        this.#forgetUncommitted(iter);
        app = this.#deps.appendable.appender();
      }
    }
    // Series of the previous scrape missing now become stale; a failed scrape
    // is treated like an empty one.
    this.#appendStaleMarkers(app, t);

    const duration = (clock.now() - start) / 1000;
    const up = err === null ? 1 : 0;
    const report = [up, duration, counts.scraped, counts.post, counts.added];
    for (let i = 0; i < report.length; i++) {
      this.#reportRefs[i] = app.append(this.#reportRefs[i], this.#reportLabels[i], t, report[i]);
    }
    try {
      await app.commit();
      this.#prevIter = iter;
    } catch (e) {
      // Storage failed: nothing of this scrape is durable, its staleness markers
      // included; refs created now are not valid, and "the previous scrape" stays
      // the one before.
      this.#forgetUncommitted(iter);
      this.#reportRefs.fill(0);
      err ??= e;
    }

    const health = err === null ? "up" : "down";
    const lastError = err === null ? "" : errorMessage(err, this.target.timeoutMs);
    if (health !== this.#health) {
      const ctx = { job: config.jobName, target: this.target.scrapeUrl, err: lastError };
      if (health === "up") logger.info("target {target} is up", ctx);
      else logger.warn("target {target} is down: {err}", ctx);
    }
    this.#health = health;
    this.#lastError = lastError;
    this.#lastScrape = start;
    this.#lastDuration = duration;
    this.#evict(iter);
    metrics?.scraped(duration, err === null);
  }

  /**
   * Stops the loop. With `stale`, writes staleness markers for every series
   * the target exposed (the target went away).
   */
  async stop(opts: { stale: boolean }): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (!opts.stale || this.#lastScrape === null) return;
    const app = this.#deps.appendable.appender();
    const t = this.#deps.clock.now();
    for (const e of this.#cache.values()) {
      if (e.labels !== null && e.seen === this.#prevIter && !e.hasTs && e.ref !== 0) {
        app.appendStale(e.ref, e.labels, t);
      }
    }
    for (let i = 0; i < this.#reportRefs.length; i++) {
      this.#reportRefs[i] = app.appendStale(this.#reportRefs[i], this.#reportLabels[i], t);
    }
    await app.commit();
  }

  async #fetchBody(signal?: AbortSignal): Promise<string> {
    const { config, userAgent } = this.#deps;
    const timeout = AbortSignal.timeout(this.target.timeoutMs);
    const headers: Record<string, string> = {
      "Accept": ACCEPT_HEADER,
      "Accept-Encoding": "gzip",
      "User-Agent": userAgent ?? "ferry",
      "X-Prometheus-Scrape-Timeout-Seconds": String(this.target.timeoutMs / 1000),
      ...(this.#deps.headers ? await this.#deps.headers() : {}),
    };
    const res = await this.#fetch(this.target.scrapeUrl, {
      headers,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: config.followRedirects ? "follow" : "manual",
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`server returned HTTP status ${res.status} ${res.statusText}`.trimEnd());
    }
    return await res.text();
  }

  /** Parses and appends a body, counting into `#counts`; throws on a parse error or the sample limit. */
  #appendBody(
    app: Appender,
    body: string,
    t: number,
    iter: number,
    config: ResolvedScrapeConfig,
  ): void {
    const cache = this.#cache;
    const counts = this.#counts;
    const p = new PromParser(body);
    const honorTs = config.honorTimestamps;
    const limit = config.sampleLimit;
    let exceeded = false;
    for (let kind = p.next(); kind !== null; kind = p.next()) {
      if (kind !== "series") continue;
      counts.scraped++;
      const key = p.series();
      let e = cache.get(key);
      if (e === undefined) {
        e = {
          ref: 0,
          labels: this.#sampleLabels(p.labels()),
          seen: -1,
          prevSeen: -1,
          hasTs: false,
          created: iter,
        };
        // A copy, so the cache does not pin the whole scraped body in memory.
        cache.set(p.ownedSeries(), e);
        if (e.labels !== null) counts.added++;
      }
      if (e.labels === null) {
        if (e.seen !== iter) e.prevSeen = e.seen;
        e.seen = iter;
        continue;
      }
      if (e.seen === iter) continue; // duplicate series in one scrape: first sample wins
      // Past the limit the scrape fails; keep parsing only to report the counts.
      if (++counts.post > limit && limit > 0) exceeded = true;
      if (exceeded) continue;
      const pts = p.timestamp();
      const ts = honorTs && pts !== null ? pts : t;
      e.hasTs = honorTs && pts !== null;
      e.ref = app.append(e.ref, e.labels, ts, p.value());
      e.prevSeen = e.seen;
      e.seen = iter;
    }
    if (exceeded) throw new SampleLimitError(limit);
  }

  /** Attaches target labels (honor_labels rules) and applies metric relabeling. */
  #sampleLabels(scraped: Labels): Labels | null {
    const b = this.#builder.reset(scraped);
    const target = this.target.labels;
    if (this.#deps.config.honorLabels) {
      target.forEach((n, v) => {
        if (!b.has(n)) b.set(n, v);
      });
    } else {
      target.forEach((n, v) => {
        const existing = b.get(n);
        if (existing !== "") {
          let name = "exported_" + n;
          while (b.has(name)) name = "exported_" + name;
          b.set(name, existing);
        }
        b.set(n, v);
      });
    }
    const lset = b.labels();
    const out = this.#deps.metricRules.length === 0 ? lset : relabel(this.#deps.metricRules, lset);
    return out === null || out.size === 0 ? null : out;
  }

  #appendStaleMarkers(app: Appender, t: number): void {
    const prev = this.#prevIter;
    if (prev < 0) return;
    for (const e of this.#cache.values()) {
      if (e.seen === prev && e.labels !== null && !e.hasTs && e.ref !== 0) {
        e.ref = app.appendStale(e.ref, e.labels, t);
      }
    }
  }

  /** After a rollback, refs handed out in this iteration do not exist in storage. */
  #forgetUncommitted(iter: number): void {
    for (const [k, e] of this.#cache) {
      if (e.created === iter) this.#cache.delete(k);
      else if (e.seen === iter) e.seen = e.prevSeen;
    }
  }

  #evict(iter: number): void {
    if (iter % CACHE_KEEP_ITERATIONS !== 0) return;
    const cutoff = iter - CACHE_KEEP_ITERATIONS;
    for (const [k, e] of this.#cache) if (e.seen < cutoff) this.#cache.delete(k);
  }
}

function errorMessage(e: unknown, timeoutMs: number): string {
  if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
    return `scrape timed out after ${formatDuration(timeoutMs)}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stable 32-bit hash of a string, for offset seeds. */
export function hashString(s: string): number {
  return fnv1a(s, 0);
}

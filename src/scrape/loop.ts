/**
 * One scrape loop per target: fetch, parse, attach target labels, metric
 * relabel, append, report the synthetic series, and write staleness markers.
 *
 * The loop keeps a cache from each line's raw series text to its series ref
 * and final labels, so a steady scrape parses only values: labels are parsed
 * and relabeled once per new series (and label limits are checked then).
 *
 * Staleness, as Prometheus: a series of the previous scrape missing from this
 * one, every series of the previous scrape when this one fails, and, when the
 * target goes away, every series after a grace period
 * ({@link ScrapeLoop.endOfRunStaleness}). Series exposed with their own
 * timestamps are left alone unless `track_timestamps_staleness` is set.
 *
 * When a reload changes the job's config, the target's new loop takes over
 * the old one's last scrape ({@link ScrapeLoop.inheritFrom}): its first
 * scrape continues the series it still produces (no marker, no gap) and marks
 * stale those it no longer does — the ones the new metric relabeling drops,
 * say — as Prometheus does when it reloads a scrape pool.
 *
 * Hostile input (tests/hostile_targets_test.ts): samples a scrape leaves out
 * without failing — a series repeated at the scrape's time (the first
 * sample is kept, as Prometheus), a sample with its own timestamp not after
 * its series' last (out of order, as Prometheus Agent), a timestamp beyond
 * what storage holds — are counted under Prometheus' metric names. Limits
 * cost no memory per offending item: without metric relabeling the parser
 * stops keeping labels past `label_limit`, a series past `sample_limit` is
 * counted but not cached, and a huge series meets the label limits before it
 * is copied. A body past 16 MiB waits for its turn (`largebody.ts`).
 *
 * @module
 */

import type { ResolvedScrapeConfig, ScrapeProtocol } from "../config/types.ts";
import { Labels, LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { formatDuration } from "../model/duration.ts";
import { belongsToFamily, metricKind, type MetricMetadata } from "../model/metadata.ts";
import { type CompiledRules, relabel } from "../relabel/relabel.ts";
import type { Appendable, Appender, SeriesRef } from "../storage/types.ts";
import type { Clock } from "../util/clock.ts";
import { createParser, type Parser, TooManyLabelsError } from "./textparse/mod.ts";
import type { DroppedSampleReason, ScrapeMetrics } from "./metrics.ts";
import { internLabelString } from "../model/intern.ts";
import { timeoutSignal } from "../util/timeout.ts";
import { acceptHeader, BodySizeLimitError, protocolFor, readBody } from "./http.ts";
import { log } from "../util/log.ts";
import { urlHost } from "../util/url.ts";
import { collectGarbage, LARGE_BODY_BYTES, largeBodies } from "./largebody.ts";

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
  /** The job's HTTP client (TLS, proxy); undefined means fetch's default. */
  httpClient?: () => Promise<Deno.HttpClient | undefined>;
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
  /**
   * Whether the series gets staleness markers: its last sample had no
   * timestamp of its own, or `track_timestamps_staleness` is set.
   */
  tracked: boolean;
  /** Iteration in which the entry was created (its ref is only valid once committed). */
  created: number;
  /** Timestamp of the series' last appended sample (-Infinity: none yet). */
  lastTs: number;
  /** The value of `lastTs` before this iteration touched it (restored on rollback). */
  prevLastTs: number;
}

/** A series of the predecessor's last scrape, until the successor's first scrape commits. */
interface InheritedSeries {
  ref: SeriesRef;
  labels: Labels;
  /** Iteration of this loop that produced the same labels (-1: none yet). */
  seen: number;
}

/** Synthetic series names, in the order they are appended. */
const REPORT_NAMES = [
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling",
  "scrape_series_added",
] as const;

/** Metadata of the synthetic series, in `REPORT_NAMES` order. */
const REPORT_METADATA: readonly MetricMetadata[] = [
  {
    type: "gauge",
    help: "Whether the last scrape of the target succeeded (1) or failed (0).",
    unit: "",
  },
  { type: "gauge", help: "How long the last scrape took, in seconds.", unit: "seconds" },
  { type: "gauge", help: "Samples the target exposed in the last scrape.", unit: "" },
  { type: "gauge", help: "Samples left after metric relabeling in the last scrape.", unit: "" },
  { type: "gauge", help: "Series new in the last scrape.", unit: "" },
];

/** Series text longer than this is checked against the label limits before it is looked up. */
const HUGE_SERIES = 64 * 1024;

/** Entries unseen for this many scrapes leave the cache. */
const CACHE_KEEP_ITERATIONS = 10;

/**
 * The largest timestamp magnitude storage holds, in ms (±2^51 − 1, about
 * 71,000 years; the WAL's limit, see `MAX_TIMESTAMP` in storage/wal/format.ts).
 */
export const MAX_TIMESTAMP = 2 ** 51 - 1;

const DROPPED_REASONS: readonly DroppedSampleReason[] = [
  "duplicate",
  "out_of_order",
  "out_of_bounds",
];

const DROPPED_WHY: Readonly<Record<DroppedSampleReason, string>> = {
  duplicate: "the same series more than once in one scrape (the first sample is kept)",
  out_of_order: "a timestamp not after the series' last sample's",
  out_of_bounds: `a timestamp beyond ±${MAX_TIMESTAMP} ms, which storage cannot hold`,
};

/** Thrown when a scrape exceeds `sample_limit`. */
export class SampleLimitError extends Error {
  constructor(limit: number) {
    super(`sample limit exceeded (limit ${limit})`);
    this.name = "SampleLimitError";
  }
}

/** Thrown when a series breaks `label_limit`, `label_name_length_limit` or `label_value_length_limit`. */
export class LabelLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabelLimitError";
  }
}

/** TYPE/HELP/UNIT of one metric family and the scrape that last exposed them. */
interface MetaEntry {
  type: string;
  help: string;
  unit: string;
  seen: number;
  /** The metadata last given to storage for the family's series; null before any. */
  md: MetricMetadata | null;
  /** Iteration in which `md` last changed. */
  changed: number;
  /** A TYPE/HELP/UNIT entry was read since `md` was last compared. */
  pending: boolean;
}

/** Scrapes one target on its schedule until stopped. */
export class ScrapeLoop {
  readonly target: ScrapeTarget;
  readonly #deps: ScrapeLoopDeps;
  readonly #fetch: typeof fetch;
  readonly #cache = new Map<string, CacheEntry>();
  /** TYPE/HELP/UNIT per metric family, as last scraped (for the metadata API). */
  readonly #meta = new Map<string, MetaEntry>();
  /** The family of the last TYPE/HELP/UNIT entry of the scrape being parsed. */
  #curMeta: MetaEntry | null = null;
  /** The name of `#curMeta`'s family. */
  #curFamily = "";
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
  /** When set, scrapes are not made and fail with this error (the pool's target_limit). */
  #forcedError: Error | null = null;
  /**
   * Series of the last scrape of the loop this one replaced on a reload, by
   * label hash; null once a scrape of this loop committed (or none inherited).
   */
  #inherited: Map<number, InheritedSeries[]> | null = null;
  /** Releases this loop's hold on the large-body gate (see largebody.ts); null when none. */
  #largeRelease: (() => void) | null = null;
  /** Net access to the target was checked once (a granted permission is never taken back). */
  #netGranted = false;
  /** Counts of the current scrape (reused; no allocation per scrape). */
  readonly #counts = { scraped: 0, post: 0, added: 0 };
  /** Samples the current scrape left out, by reason; and the last successful scrape's. */
  readonly #dropped: Record<DroppedSampleReason, number> = {
    duplicate: 0,
    out_of_order: 0,
    out_of_bounds: 0,
  };
  readonly #droppedBefore: Record<DroppedSampleReason, number> = {
    duplicate: 0,
    out_of_order: 0,
    out_of_bounds: 0,
  };
  readonly #accept: string;

  constructor(target: ScrapeTarget, deps: ScrapeLoopDeps) {
    this.target = target;
    this.#deps = deps;
    this.#fetch = deps.fetch ?? fetch;
    this.#reportLabels = REPORT_NAMES.map((n) =>
      new LabelsBuilder(target.labels).set(METRIC_NAME, n).labels()
    );
    this.#accept = acceptHeader(deps.config.scrapeProtocols);
  }

  /**
   * Makes every scrape fail with `err` without contacting the target (null
   * lifts it): the series of the last scrape go stale and `up` is 0.
   */
  setForcedError(err: Error | null): void {
    this.#forcedError = err;
  }

  /**
   * Takes over the state of `prev`, the stopped loop of the same target (same
   * URL and labels) under the job's previous config: its status, the refs of
   * its synthetic series, and the series of its last scrape. This loop's
   * first committed scrape then marks stale exactly those of them it no
   * longer produces (by final labels, so a change of metric relabeling is
   * honoured); if this loop stops before that scrape, its end-of-run markers
   * cover them. Call before {@link run}, after `prev`'s run has settled.
   */
  inheritFrom(prev: ScrapeLoop): void {
    if (prev === this || prev.#lastScrape === null) return;
    const inherited = new Map<number, InheritedSeries[]>();
    let n = 0;
    const add = (ref: SeriesRef, labels: Labels) => {
      const h = labels.hash();
      const list = inherited.get(h);
      const item = { ref, labels, seen: -1 };
      if (list === undefined) inherited.set(h, [item]);
      else list.push(item);
      n++;
    };
    if (prev.#prevIter >= 0) {
      for (const e of prev.#cache.values()) {
        if (e.labels === null || e.seen !== prev.#prevIter || !e.tracked || e.ref === 0) continue;
        add(e.ref, e.labels);
      }
    }
    // What `prev` itself inherited and had not settled (reloaded twice before it scraped).
    for (const list of prev.#inherited?.values() ?? []) {
      for (const h of list) add(h.ref, h.labels);
    }
    this.#inherited = n > 0 ? inherited : null;
    if (prev.target.labels.equals(this.target.labels)) {
      for (let i = 0; i < this.#reportRefs.length; i++) this.#reportRefs[i] = prev.#reportRefs[i];
    }
    this.#health = prev.#health;
    this.#lastError = prev.#lastError;
    this.#lastScrape = prev.#lastScrape;
    this.#lastDuration = prev.#lastDuration;
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
   * Metadata of the metric families the last scrapes exposed with a TYPE,
   * HELP or UNIT line (Prometheus' `untyped` reported as `unknown`).
   */
  metadata(): { metric: string; type: string; help: string; unit: string }[] {
    const out = [];
    for (const [metric, e] of this.#meta) {
      out.push({ metric, type: e.type, help: e.help, unit: e.unit });
    }
    return out;
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
    const now = clock.now();
    let next = now - (now % interval) + this.offsetMs();
    if (next < now) next += interval;
    while (!signal.aborted) {
      await clock.sleep(next - clock.now(), signal);
      if (signal.aborted) break;
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
    try {
      await this.#scrape(scheduled, signal);
    } finally {
      // A large body's memory (its text, what parsing made of it) goes
      // before the next scrape with a large body reads on.
      const release = this.#largeRelease;
      if (release !== null) {
        this.#largeRelease = null;
        collectGarbage();
        release();
      }
    }
  }

  async #scrape(scheduled: number, signal?: AbortSignal): Promise<void> {
    const { clock, config, metrics } = this.#deps;
    const start = clock.now();
    // Align the timestamp to the schedule when the jitter is small, as Prometheus does.
    const tolerance = Math.min(this.target.intervalMs / 100, 2);
    const t = Math.abs(start - scheduled) <= tolerance ? scheduled : start;
    const iter = ++this.#iter;

    let err: unknown = this.#forcedError;
    let body: { body: Uint8Array | string; protocol: ScrapeProtocol } | null = null;
    if (err === null) {
      try {
        body = await this.#fetchBody(signal);
      } catch (e) {
        err = e;
        if (e instanceof BodySizeLimitError) metrics?.bodySizeLimitExceeded();
      }
    }
    // Stopped or shut down mid-scrape: write nothing for this scrape.
    if (signal?.aborted) return;

    let app = this.#deps.appendable.appender();
    const counts = this.#counts;
    counts.scraped = counts.post = counts.added = 0;
    if (body !== null) {
      try {
        this.#appendBody(app, body.body, body.protocol, t, iter);
        this.#reportDropped();
      } catch (e) {
        // As Prometheus: nothing of a failed scrape is kept, but the counts
        // reached before the failure are reported.
        err = e;
        if (e instanceof SampleLimitError) metrics?.sampleLimitExceeded();
        if (e instanceof LabelLimitError) metrics?.labelLimitsExceeded();
        app.rollback();
        this.#forgetUncommitted(iter);
        app = this.#deps.appendable.appender();
      }
    }
    // Series of the previous scrape missing now become stale; a failed scrape
    // is treated like an empty one.
    this.#appendStaleMarkers(app, t, iter);

    const duration = (clock.now() - start) / 1000;
    const up = err === null ? 1 : 0;
    const report = [up, duration, counts.scraped, counts.post, counts.added];
    for (let i = 0; i < report.length; i++) {
      const known = this.#reportRefs[i] !== 0;
      const ref = app.append(this.#reportRefs[i], this.#reportLabels[i], t, report[i]);
      this.#reportRefs[i] = known
        ? ref
        : app.updateMetadata(ref, this.#reportLabels[i], REPORT_METADATA[i]);
    }
    try {
      await app.commit();
      this.#prevIter = iter;
      // The predecessor's series are settled: continued or marked stale.
      this.#inherited = null;
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

  /** The first time on the target's schedule strictly after `now`. */
  nextScheduled(now: number): number {
    const interval = this.target.intervalMs;
    let next = now - (now % interval) + this.offsetMs();
    while (next <= now) next += interval;
    return next;
  }

  /**
   * The target went away (its run was aborted): waits as Prometheus does —
   * until the next scheduled scrape, whose time the markers get, then one
   * more interval and another 10% — and writes staleness markers for every
   * series of the last scrape and for the synthetic series. Nothing is
   * written when `signal` aborts meanwhile (the target came back, or
   * shutdown) or when the target was never scraped.
   *
   * @returns whether markers were written.
   */
  async endOfRunStaleness(signal: AbortSignal): Promise<boolean> {
    const { clock } = this.#deps;
    if (this.#lastScrape === null || signal.aborted) return false;
    const interval = this.target.intervalMs;
    const staleTime = this.nextScheduled(clock.now());
    await clock.sleep(staleTime - clock.now(), signal);
    if (signal.aborted) return false;
    await clock.sleep(staleTime + interval + interval / 10 - clock.now(), signal);
    if (signal.aborted) return false;
    await this.writeStaleMarkers(staleTime);
    return true;
  }

  /** Writes staleness markers at `t` for every series of the last scrape and the synthetic series. */
  async writeStaleMarkers(t: number): Promise<void> {
    if (this.#lastScrape === null) return;
    const app = this.#deps.appendable.appender();
    for (const e of this.#cache.values()) {
      if (e.labels !== null && e.seen === this.#prevIter && e.tracked && e.ref !== 0) {
        app.appendStale(e.ref, e.labels, t);
      }
    }
    // Stopped before its first scrape committed: the predecessor's series end here.
    for (const list of this.#inherited?.values() ?? []) {
      for (const h of list) app.appendStale(h.ref, h.labels, t);
    }
    for (let i = 0; i < this.#reportRefs.length; i++) {
      this.#reportRefs[i] = app.appendStale(this.#reportRefs[i], this.#reportLabels[i], t);
    }
    await app.commit();
    // A target that comes back starts afresh: nothing is "the previous scrape" any more.
    this.#prevIter = -1;
    this.#inherited = null;
  }

  /**
   * Fails the scrape (never prompts) when ferry may not connect to the
   * target: targets found at run time (http_sd, dns_sd) cannot be checked
   * at start, so the error names the flag.
   */
  #checkNet(): void {
    const host = urlHost(this.target.scrapeUrl);
    if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
      throw new Error(
        `ferry has no net access to ${host} (a target found at run time cannot be checked at ` +
          `start); grant it with --allow-net=${host}`,
      );
    }
    this.#netGranted = true;
  }

  async #fetchBody(
    signal?: AbortSignal,
  ): Promise<{ body: Uint8Array | string; protocol: ScrapeProtocol }> {
    const timer = timeoutSignal(this.target.timeoutMs);
    try {
      return await this.#fetchBodyWithin(timer.signal, signal);
    } finally {
      timer.clear();
    }
  }

  async #fetchBodyWithin(
    timeout: AbortSignal,
    signal?: AbortSignal,
  ): Promise<{ body: Uint8Array | string; protocol: ScrapeProtocol }> {
    const { config, userAgent } = this.#deps;
    const headers: Record<string, string> = {
      "Accept": this.#accept,
      "Accept-Encoding": config.enableCompression ? "gzip" : "identity",
      "User-Agent": userAgent ?? "ferry",
      "X-Prometheus-Scrape-Timeout-Seconds": String(this.target.timeoutMs / 1000),
      ...(this.#deps.headers ? await this.#deps.headers() : {}),
    };
    const client = this.#deps.httpClient ? await this.#deps.httpClient() : undefined;
    const init: RequestInit & { client?: Deno.HttpClient } = {
      headers,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: config.followRedirects ? "follow" : "manual",
    };
    if (client !== undefined) init.client = client;
    if (!this.#netGranted && !config.proxyUrl) this.#checkNet();
    const res = await this.#fetch(this.target.scrapeUrl, init);
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`server returned HTTP status ${res.status} ${res.statusText}`.trimEnd());
    }
    // Deno's fetch has already decoded gzip when we accepted it; a target that
    // gzips although we asked for identity is decoded here, as Prometheus does.
    const gunzip = !config.enableCompression && res.headers.get("content-encoding") === "gzip";
    let chosen: { protocol: ScrapeProtocol; note?: string } | null = null;
    let contentTypeError: unknown = null;
    try {
      chosen = protocolFor(res.headers.get("content-type"), config.fallbackScrapeProtocol);
    } catch (e) {
      contentTypeError = e;
    }
    // A text format is decoded while it arrives (the bytes are never held
    // whole). As in Prometheus, the body is read, and body_size_limit
    // applies, before an unusable Content-Type fails the scrape.
    const body = await readBody(res, {
      limit: config.bodySizeLimit,
      gunzip,
      text: chosen !== null && chosen.protocol !== "PrometheusProto",
      // Past 16 MiB, one scrape at a time (see largebody.ts).
      large: {
        bytes: LARGE_BODY_BYTES,
        wait: async () => {
          this.#largeRelease = await largeBodies.acquire(init.signal ?? undefined);
        },
      },
    });
    if (chosen === null) throw contentTypeError;
    if (chosen.note !== undefined) {
      logger.debug("{target}: {note}", {
        job: config.jobName,
        target: this.target.scrapeUrl,
        note: chosen.note,
      });
    }
    return { body, protocol: chosen.protocol };
  }

  /**
   * Parses and appends a body in `protocol`, counting into `#counts`; throws
   * on a parse error, a label limit or the sample limit.
   */
  #appendBody(
    app: Appender,
    body: Uint8Array | string,
    protocol: ScrapeProtocol,
    t: number,
    iter: number,
  ): void {
    const config = this.#deps.config;
    const cache = this.#cache;
    const counts = this.#counts;
    const rules = this.#deps.metricRules;
    // Without metric relabeling every label a series exposes reaches its final
    // set, so one with label_limit - 1 non-empty labels or more (the name makes
    // one more) fails: the parser need not build more.
    const maxLabels = config.labelLimit > 0 && rules.length === 0
      ? config.labelLimit - 1
      : undefined;
    const p = createParser(protocol, body, {
      nativeHistograms: config.scrapeNativeHistograms,
      classicHistograms: config.alwaysScrapeClassicHistograms,
      maxLabels,
    });
    const honorTs = config.honorTimestamps;
    const trackTs = config.trackTimestampsStaleness;
    const limit = config.sampleLimit;
    const hasStart = p.startTimestamp !== undefined;
    const hasExemplars = p.exemplar !== undefined;
    // Past the sample limit, series are still read (their labels only when a
    // label limit or relabeling needs them) so the counts are exact, but none
    // is kept: a body of millions of series costs no memory per series.
    const labelLimits = config.labelLimit > 0 || config.labelNameLengthLimit > 0 ||
      config.labelValueLengthLimit > 0;
    const needLabelsPastLimit = rules.length > 0 || labelLimits;
    const dropped = this.#dropped;
    dropped.duplicate = dropped.out_of_order = dropped.out_of_bounds = 0;
    let appended = 0;
    let exceeded = false;
    let metaSeen = 0;
    this.#curMeta = null;
    for (let kind = p.next(); kind !== null; kind = p.next()) {
      const hist = kind === "histogram";
      if (kind !== "series" && !hist) {
        if (kind === "type" || kind === "help" || kind === "unit") {
          if (this.#noteMeta(p, kind, iter)) metaSeen++;
        }
        continue;
      }
      counts.scraped++;
      if (exceeded && !needLabelsPastLimit) {
        // Nothing drops series and no label limit applies: each one counts.
        counts.post++;
        continue;
      }
      const key = p.series();
      // A huge series (a 100 MB label value, millions of labels) meets the
      // label limits before anything copies it: a cache lookup copies its key.
      if (key.length > HUGE_SERIES && labelLimits) this.#newSeriesLabels(p, false);
      let e = cache.get(key);
      if (e === undefined && exceeded) {
        const labels = this.#newSeriesLabels(p);
        if (labels !== null) counts.post++;
        continue;
      }
      if (e === undefined) {
        const labels = this.#newSeriesLabels(p);
        e = {
          ref: 0,
          labels,
          seen: -1,
          prevSeen: -1,
          tracked: true,
          created: iter,
          lastTs: -Infinity,
          prevLastTs: -Infinity,
        };
        // A copy, so the cache does not pin the whole scraped body in memory.
        cache.set(p.ownedSeries(), e);
        // A series the predecessor already had continues (same ref, no marker).
        const h = labels === null || this.#inherited === null
          ? undefined
          : this.#inheritedOf(labels);
        if (h !== undefined) {
          e.ref = h.ref;
          h.seen = iter;
        } else if (e.labels !== null) counts.added++;
      }
      if (e.labels === null) {
        if (e.seen !== iter) e.prevSeen = e.seen;
        e.seen = iter;
        continue;
      }
      // As Prometheus, a duplicate counts as exposed after relabeling.
      counts.post++;
      const pts = honorTs ? p.timestamp() : null;
      // The same series again in one scrape, at the scrape's time: the first sample wins.
      if (e.seen === iter && pts === null) {
        dropped.duplicate++;
        continue;
      }
      // Past the limit the scrape fails; keep parsing only to report the counts.
      if (limit > 0 && ++appended > limit) exceeded = true;
      if (exceeded) continue;
      const ts = pts ?? t;
      if (e.seen !== iter) {
        e.prevSeen = e.seen;
        e.prevLastTs = e.lastTs;
        e.seen = iter;
      }
      // Storage holds timestamps within ±2^51 ms (about 71,000 years); the
      // scrape's own time always is.
      if (!inRange(ts)) {
        dropped.out_of_bounds++;
        continue;
      }
      // As Prometheus Agent: a sample not newer than its series' last one is
      // left out (a target repeating an old timestamp sends it once).
      if (pts !== null && ts <= e.lastTs) {
        dropped.out_of_order++;
        continue;
      }
      e.lastTs = ts;
      e.tracked = trackTs || pts === null;
      const st = hasStart ? p.startTimestamp!() : null;
      if (hist) {
        e.ref = app.appendHistogram(e.ref, e.labels, ts, p.histogram!(), st ?? 0);
      } else if (st !== null) {
        e.ref = app.appendWithStart(e.ref, e.labels, ts, p.value(), st);
      } else {
        e.ref = app.append(e.ref, e.labels, ts, p.value());
      }
      if (hasExemplars) this.#appendExemplars(app, p, e, { ts, hist });
      const m = this.#curMeta as MetaEntry | null; // set by #noteMeta
      if (m !== null) {
        if (m.pending) this.#settleMeta(m, iter);
        if ((e.created === iter || m.changed === iter) && m.md !== null) {
          this.#updateMetadata(app, e, m);
        }
      }
    }
    if (exceeded) throw new SampleLimitError(limit);
    if (metaSeen < this.#meta.size) {
      for (const [k, e] of this.#meta) if (e.seen !== iter) this.#meta.delete(k);
    }
  }

  /**
   * The final labels of the parser's current series (null: dropped by
   * relabeling), checked against the label limits.
   *
   * @throws {LabelLimitError}
   */
  #newSeriesLabels(p: Parser, owned = true): Labels | null {
    try {
      const labels = this.#sampleLabels(p.labels(owned));
      if (labels !== null) {
        this.#checkLabels(labels);
        // Series share their names and values (see model/intern.ts).
        if (owned) labels.internStrings(internLabelString);
      }
      return labels;
    } catch (e) {
      if (e instanceof TooManyLabelsError) throw this.#tooManyLabels(e);
      throw e;
    } finally {
      // The scratch builder must not keep strings that pin the body.
      if (!owned) this.#builder.reset(Labels.EMPTY);
    }
  }

  /**
   * The label_limit error for a series the parser did not build: with
   * `honor_labels` false its final set has every target label besides the
   * exposed ones (a clashing exposed one is kept as `exported_*`); with
   * true, at least the exposed ones.
   */
  #tooManyLabels(e: TooManyLabelsError): LabelLimitError {
    const { honorLabels, labelLimit } = this.#deps.config;
    const n = e.count + 1 + (honorLabels ? 0 : this.target.labels.size);
    return new LabelLimitError(
      `label_limit exceeded (metric: ${clip(e.metric)}, number of labels: ${
        honorLabels ? `at least ${n}` : n
      }, limit: ${labelLimit})`,
    );
  }

  /** Counts and logs the samples the scrape left out (it still succeeds). */
  #reportDropped(): void {
    const dropped = this.#dropped;
    const before = this.#droppedBefore;
    for (const reason of DROPPED_REASONS) {
      const n = dropped[reason];
      if (n > 0) {
        this.#deps.metrics?.samplesDropped(reason, n);
        // Logged when it starts, as a warning; then at debug level, scrape after scrape.
        const ctx = {
          job: this.#deps.config.jobName,
          target: this.target.scrapeUrl,
          reason,
          num_dropped: n,
          why: DROPPED_WHY[reason],
        };
        if (before[reason] === 0) logger.warn("{target}: samples left out: {why}", ctx);
        else logger.debug("{target}: samples left out: {why}", ctx);
      }
      before[reason] = n;
    }
  }

  /**
   * Appends the exemplars of the current sample: one without a timestamp
   * gets the sample's `ts`; a native histogram's without one are dropped.
   */
  #appendExemplars(app: Appender, p: Parser, e: CacheEntry, o: { ts: number; hist: boolean }) {
    if (!o.hist) {
      const x = p.exemplar!();
      if (x !== null && inRange(x.timestamp ?? o.ts)) {
        e.ref = app.appendExemplar(e.ref, e.labels!, {
          labels: x.labels,
          value: x.value,
          ts: x.timestamp ?? o.ts,
        });
      }
      return;
    }
    const xs = p.exemplars?.() ?? [];
    if (xs.length === 0) return;
    // In time order, as Prometheus appends them (storage rejects out-of-order ones).
    const sorted = xs.length === 1 ? xs : [...xs].sort((a, b) => a.timestamp! - b.timestamp!);
    for (const x of sorted) {
      if (x.timestamp === null || !inRange(x.timestamp)) continue;
      e.ref = app.appendExemplar(e.ref, e.labels!, {
        labels: x.labels,
        value: x.value,
        ts: x.timestamp,
      });
    }
  }

  /** Compares the family's metadata as read in this scrape with what storage was last given. */
  #settleMeta(m: MetaEntry, iter: number): void {
    m.pending = false;
    const type = metricKind(m.type);
    const md = m.md;
    if (md !== null && md.type === type && md.help === m.help && md.unit === m.unit) return;
    m.md = { type, help: m.help, unit: m.unit };
    m.changed = iter;
  }

  /** Gives storage the series' family metadata, if the series belongs to the family. */
  #updateMetadata(app: Appender, e: CacheEntry, m: MetaEntry): void {
    const labels = e.labels!;
    const family = this.#curFamily;
    if (!belongsToFamily(labels.get(METRIC_NAME), family, m.type)) return;
    e.ref = app.updateMetadata(e.ref, labels, m.md!);
  }

  /**
   * Records a TYPE, HELP or UNIT line: only the field the line gives (parsers
   * may carry the others over from the previous family). True when its
   * family was not yet seen in this scrape.
   */
  #noteMeta(p: Parser, kind: string, iter: number): boolean {
    const family = p.family();
    if (family === "") return false;
    let e = this.#meta.get(family);
    const first = e === undefined || e.seen !== iter;
    if (e === undefined) {
      e = {
        type: "unknown",
        help: "",
        unit: "",
        seen: iter,
        md: null,
        changed: -1,
        pending: true,
      };
      this.#meta.set(family, e);
    } else if (first) {
      e.type = "unknown";
      e.help = "";
      e.unit = "";
      e.seen = iter;
    }
    if (kind === "type") {
      const t = p.type();
      e.type = t === "untyped" ? "unknown" : t;
    } else if (kind === "help") e.help = p.help();
    else if (kind === "unit") e.unit = p.unit?.() ?? "";
    e.pending = true;
    this.#curMeta = e;
    this.#curFamily = family;
    return first;
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

  /**
   * A new series must have a metric name and stay within the label limits
   * (after target labels and relabeling; lengths in UTF-8 bytes, the metric
   * name counting as a value); otherwise the scrape fails, as in Prometheus.
   */
  #checkLabels(l: Labels): void {
    const name = l.get(METRIC_NAME);
    if (name === "") throw new Error("missing metric name (__name__ label)");
    // Metric relabeling (labelmap, replace) can produce an empty label name, which no receiver
    // accepts: the scrape fails, as Prometheus' "invalid metric name or label names".
    for (let i = 0; i < l.size; i++) {
      if (l.name(i) === "") {
        throw new Error(
          `invalid metric name or label names: empty label name (metric: ${clip(name)})`,
        );
      }
    }
    const { labelLimit, labelNameLengthLimit: nameMax, labelValueLengthLimit: valueMax } =
      this.#deps.config;
    if (labelLimit > 0 && l.size > labelLimit) {
      throw new LabelLimitError(
        `label_limit exceeded (metric: ${
          clip(name)
        }, number of labels: ${l.size}, limit: ${labelLimit})`,
      );
    }
    if (nameMax === 0 && valueMax === 0) return;
    for (let i = 0; i < l.size; i++) {
      const n = l.name(i);
      const v = l.value(i);
      if (nameMax > 0) {
        const len = utf8Length(n);
        if (len > nameMax) {
          throw new LabelLimitError(
            `label_name_length_limit exceeded (metric: ${clip(name)}, label name: ${
              clip(n)
            }, length: ${len}, limit: ${nameMax})`,
          );
        }
      }
      if (valueMax > 0) {
        const len = utf8Length(v);
        if (len > valueMax) {
          throw new LabelLimitError(
            `label_value_length_limit exceeded (metric: ${clip(name)}, label name: ${
              clip(n)
            }, value: ${JSON.stringify(clip(v))}, length: ${len}, limit: ${valueMax})`,
          );
        }
      }
    }
  }

  /** The inherited series with these final labels, if any. */
  #inheritedOf(labels: Labels): InheritedSeries | undefined {
    const list = this.#inherited!.get(labels.hash());
    if (list === undefined) return undefined;
    for (const h of list) if (h.labels === labels || h.labels.equals(labels)) return h;
    return undefined;
  }

  #appendStaleMarkers(app: Appender, t: number, iter: number): void {
    const prev = this.#prevIter;
    if (prev >= 0) {
      for (const e of this.#cache.values()) {
        if (e.seen === prev && e.labels !== null && e.tracked && e.ref !== 0) {
          e.ref = app.appendStale(e.ref, e.labels, t);
        }
      }
    }
    // The predecessor's series this scrape did not produce (a failed scrape produces none).
    for (const list of this.#inherited?.values() ?? []) {
      for (const h of list) if (h.seen !== iter) h.ref = app.appendStale(h.ref, h.labels, t);
    }
  }

  /**
   * After a rollback, refs handed out in this iteration do not exist in
   * storage, and metadata changes noticed in it did not reach storage.
   */
  #forgetUncommitted(iter: number): void {
    for (const [k, e] of this.#cache) {
      if (e.created === iter) this.#cache.delete(k);
      else if (e.seen === iter) {
        e.seen = e.prevSeen;
        e.lastTs = e.prevLastTs;
      }
    }
    for (const list of this.#inherited?.values() ?? []) {
      for (const h of list) if (h.seen === iter) h.seen = -1;
    }
    for (const m of this.#meta.values()) {
      if (m.changed === iter) {
        m.md = null;
        m.pending = true;
        m.changed = -1;
      }
    }
  }

  #evict(iter: number): void {
    if (iter % CACHE_KEEP_ITERATIONS !== 0) return;
    const cutoff = iter - CACHE_KEEP_ITERATIONS;
    for (const [k, e] of this.#cache) if (e.seen < cutoff) this.#cache.delete(k);
  }
}

/**
 * The error shown as the target's `lastError`. fetch hides the reason of a
 * failed request (a certificate it rejected, a refused connection, a
 * malformed response) in the error's `cause`; it is spelled out here.
 */
export function errorMessage(e: unknown, timeoutMs: number): string {
  if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
    return `scrape timed out after ${formatDuration(timeoutMs)}`;
  }
  if (!(e instanceof Error)) return String(e);
  const parts: string[] = [];
  let x: unknown = e;
  for (let depth = 0; depth < 5 && x !== undefined && x !== null; depth++) {
    const msg = x instanceof Error ? x.message : String(x);
    if (msg !== "" && !parts.some((p) => p.includes(msg))) parts.push(msg);
    x = x instanceof Error ? x.cause : undefined;
  }
  // "fetch failed" says nothing its cause does not.
  if (parts.length > 1 && parts[0] === "fetch failed") parts.shift();
  return parts.join(": ");
}

/** Whether storage can hold timestamp `t` (ms). */
function inRange(t: number): boolean {
  return t <= MAX_TIMESTAMP && t >= -MAX_TIMESTAMP;
}

/** The first 50 characters, as Go's `%.50s`. */
function clip(s: string): string {
  if (s.length <= 50) return s;
  // Not Array.from(s): a label value may be 100 MB long.
  let out = "";
  let n = 0;
  for (const ch of s) {
    if (n++ === 50) break;
    out += ch;
  }
  return out;
}

/** Length of a well-formed string in UTF-8 bytes, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
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

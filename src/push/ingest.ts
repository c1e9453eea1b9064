/**
 * The push stage: limits, extra labels, relabeling, and the append into
 * the agent's storage (the same WAL scrapes write, so pushed data is
 * buffered and forwarded by every remote-write endpoint as scraped data is).
 *
 * Pushed data is passed on as given: no staleness markers are made for
 * pushed series (one that stops being pushed simply ends; markers a RW client
 * sends are passed on), no ordering or duplicate check is made (the
 * receivers downstream apply theirs), and timestamps are kept.
 *
 * @module
 */

import type { ResolvedPushConfig } from "../config/types.ts";
import type { Counter, Registry } from "../metrics/registry.ts";
import { type Labels, LabelsBuilder } from "../model/labels.ts";
import { type CompiledRules, compileRules } from "../relabel/relabel.ts";
import type { Appendable } from "../storage/types.ts";
import { WebGuard } from "../web/webconfig.ts";
import type { PushBatch, PushedFamily } from "./batch.ts";
import { TokenBucket } from "./limits.ts";
import type { WrittenCounts } from "./protocol.ts";

/** Most family metadata entries kept for RW 1.0 metadata requests. */
export const MAX_PUSHED_FAMILIES = 10_000;

/** Why pushed samples were not stored (the `reason` label of `ferry_push_samples_rejected_total`). */
export type RejectReason =
  | "relabel_dropped"
  | "sample_limit"
  | "rate_limited"
  | "invalid"
  | "storage";

/** A push refused with an HTTP status. */
export class PushError extends Error {
  override name = "PushError";
  /**
   * @param status 400, 413, 429 or 500.
   * @param retryAfter Seconds, with 429.
   */
  constructor(readonly status: number, message: string, readonly retryAfter?: number) {
    super(message);
  }
}

/** Dependencies of {@link PushIngester}. */
export interface PushIngesterDeps {
  appendable: Appendable;
  registry: Registry;
  config: ResolvedPushConfig;
  /** Monotonic milliseconds, for the rate limit. @default performance.now */
  monotonic?: () => number;
}

/** Applies the push config to batches and appends them. */
export class PushIngester {
  readonly #appendable: Appendable;
  readonly #registry: Registry;
  readonly #monotonic: () => number;
  #config!: ResolvedPushConfig;
  #rules!: CompiledRules;
  #extra!: [string, string][];
  #guard: WebGuard | null = null;
  #bucket: TokenBucket | null = null;
  readonly #families = new Map<string, PushedFamily>();
  readonly #counters = new Map<string, Counter>();

  constructor(deps: PushIngesterDeps) {
    this.#appendable = deps.appendable;
    this.#registry = deps.registry;
    this.#monotonic = deps.monotonic ?? (() => performance.now());
    this.configure(deps.config);
    for (
      const reason of ["relabel_dropped", "sample_limit", "rate_limited", "invalid", "storage"]
    ) {
      this.#rejected(reason as RejectReason, 0);
    }
  }

  /** The config in force. */
  get config(): ResolvedPushConfig {
    return this.#config;
  }

  /**
   * Applies a (reloaded) config. The rate limit keeps its tokens; the relabel
   * rules must already be validated (`resolveConfig` does).
   */
  configure(config: ResolvedPushConfig): void {
    this.#config = config;
    this.#rules = compileRules(config.relabelConfigs);
    this.#extra = Object.entries(config.extraLabels);
    const users = Object.entries(config.basicAuthUsers);
    this.#guard = users.length === 0
      ? null
      : new WebGuard({ tls: null, basicAuthUsers: new Map(users), headers: {} });
    if (config.rateLimit <= 0) this.#bucket = null;
    else if (this.#bucket === null) {
      this.#bucket = new TokenBucket(config.rateLimit, config.rateLimitBurst, this.#monotonic);
    } else this.#bucket.configure(config.rateLimit, config.rateLimitBurst);
  }

  /** Null when the request may push (push-specific basic auth); else the 401 answer. */
  authorize(req: Request): Promise<Response | null> {
    return this.#guard === null ? Promise.resolve(null) : this.#guard.authorize(req);
  }

  /**
   * Checks the limits, then relabels and appends the batch in one commit;
   * resolves once the commit is in the WAL (per its sync policy).
   *
   * @param extra The request's `extra_label` pairs, set before the config's `extraLabels`.
   * @throws {PushError} 413 over `sampleLimit`, 429 over the rate limit, 400 for
   * data storage refuses (a timestamp out of range, an invalid histogram), 500
   * when the WAL write fails.
   */
  async ingest(
    batch: PushBatch,
    protocol: string,
    extra: readonly [string, string][] = [],
  ): Promise<WrittenCounts> {
    const n = batch.samples + batch.histograms;
    const limit = this.#config.sampleLimit;
    if (limit > 0 && n > limit) {
      this.#rejected("sample_limit", n);
      throw new PushError(413, `${n} samples exceed the limit of ${limit} per request`);
    }
    if (this.#bucket !== null && n > 0) {
      const wait = this.#bucket.take(n);
      if (wait > 0) {
        this.#rejected("rate_limited", n);
        throw new PushError(
          429,
          `rate limit of ${this.#config.rateLimit} samples/s exceeded; retry in ${wait}s`,
          wait,
        );
      }
    }
    const written: WrittenCounts = { samples: 0, histograms: 0, exemplars: 0 };
    let dropped = 0;
    const app = this.#appendable.appender();
    const b = new LabelsBuilder();
    const setExtra = extra.length > 0 || this.#extra.length > 0;
    try {
      for (const s of batch.series) {
        let labels: Labels | null = s.labels;
        if (setExtra) {
          b.reset(labels);
          for (const [k, v] of extra) b.set(k, v);
          for (const [k, v] of this.#extra) b.set(k, v);
          labels = b.labels();
        }
        if (this.#rules.length > 0) labels = this.#rules.apply(labels);
        if (labels === null || labels.size === 0) {
          dropped += s.ts.length + s.histograms.length;
          continue;
        }
        let ref = 0;
        if (s.metadata !== null) ref = app.updateMetadata(ref, labels, s.metadata);
        for (let i = 0; i < s.ts.length; i++) {
          const t = s.ts[i];
          if (s.stale[i]) ref = app.appendStale(ref, labels, t);
          else if (s.st[i]) ref = app.appendWithStart(ref, labels, t, s.values[i], s.st[i]);
          else ref = app.append(ref, labels, t, s.values[i]);
        }
        for (const h of s.histograms) {
          ref = h.stale
            ? app.appendStale(ref, labels, h.timestamp)
            : app.appendHistogram(ref, labels, h.timestamp, h, h.startTimestamp);
        }
        for (const e of s.exemplars) ref = app.appendExemplar(ref, labels, e);
        written.samples += s.ts.length;
        written.histograms += s.histograms.length;
        written.exemplars += s.exemplars.length;
      }
    } catch (e) {
      app.rollback();
      this.#rejected("invalid", n);
      throw new PushError(400, e instanceof Error ? e.message : String(e));
    }
    try {
      await app.commit();
    } catch (e) {
      this.#rejected("storage", n - dropped);
      throw new PushError(
        500,
        `cannot write to the WAL: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (dropped > 0) this.#rejected("relabel_dropped", dropped);
    this.#ingested(protocol, written);
    this.#noteFamilies(batch.families);
    return written;
  }

  /** Counts a request's answer in `ferry_push_requests_total`. */
  countRequest(protocol: string, code: number): void {
    this.#counter(
      "ferry_push_requests_total",
      "Push requests (POST /api/v1/write, /api/v1/import/prometheus) by protocol and HTTP status.",
      { protocol, code: String(code) },
    ).inc();
  }

  /** Counts samples of a request refused as a whole before it was decoded into a batch. */
  countRejected(reason: RejectReason, n: number): void {
    this.#rejected(reason, n);
  }

  /** The families pushed so far (at most {@link MAX_PUSHED_FAMILIES}, latest kept). */
  families(): Iterable<PushedFamily> {
    return this.#families.values();
  }

  #noteFamilies(fs: readonly PushedFamily[]): void {
    for (const f of fs) {
      this.#families.delete(f.metric);
      this.#families.set(f.metric, f);
      if (this.#families.size > MAX_PUSHED_FAMILIES) {
        this.#families.delete(this.#families.keys().next().value!);
      }
    }
  }

  #ingested(protocol: string, w: WrittenCounts): void {
    const help = "Pushed samples, histograms and exemplars appended to the WAL, by protocol.";
    const name = "ferry_push_samples_ingested_total";
    if (w.samples > 0) this.#counter(name, help, { protocol, kind: "float" }).inc(w.samples);
    if (w.histograms > 0) {
      this.#counter(name, help, { protocol, kind: "histogram" }).inc(w.histograms);
    }
    if (w.exemplars > 0) this.#counter(name, help, { protocol, kind: "exemplar" }).inc(w.exemplars);
  }

  #rejected(reason: RejectReason, n: number): void {
    this.#counter(
      "ferry_push_samples_rejected_total",
      "Pushed samples (floats and histograms) not stored, by reason.",
      { reason },
    ).inc(n);
  }

  #counter(name: string, help: string, labels: Record<string, string>): Counter {
    const key = name + "\u0000" + Object.entries(labels).flat().join("\u0000");
    let c = this.#counters.get(key);
    if (c === undefined) {
      c = this.#registry.counter({ name, help, labels });
      this.#counters.set(key, c);
    }
    return c;
  }
}

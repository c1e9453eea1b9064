/**
 * One remote-write endpoint: tails the WAL from its persisted cursor, maps
 * series refs to (transformed) labels, batches samples, native histograms and
 * exemplars over a dynamic number of shards, sends them as Remote Write 1.0
 * or 2.0 with retries, and acknowledges delivered WAL positions.
 *
 * Endpoints are independent: each has its own cursor, WAL reader, queue and
 * HTTP client, and only pulls from the WAL, so a dead receiver stalls only its
 * own endpoint (its reader pauses when its queue is full) — never another
 * endpoint, and never the WAL writer.
 *
 * Sending rules (as Prometheus, plus what the issue asks for):
 * - 2xx delivers; the receiver's `X-Prometheus-Remote-Write-*-Written`
 *   counts, when present, say how much it took: the rest is counted as
 *   failed (a partial write). For RW 2.0, a 2xx without any of those headers
 *   means a 1.x receiver that ignored the Content-Type: the batch counts as
 *   failed and is not retried.
 * - 5xx, network errors and (with `retry_on_http_429`) 429 are retried with
 *   exponential backoff from `min_backoff` to `max_backoff`; a positive
 *   `Retry-After` (seconds or HTTP date) replaces the backoff, capped at
 *   `max(max_backoff, 5m)` so a confused receiver cannot park the endpoint
 *   for hours; one of 0 or in the past leaves the backoff (no retry storm).
 * - 413 splits the batch in halves sent one after the other (recursively);
 *   a single item, or a body under `MIN_SPLIT_BODY_BYTES` (no receiver limits
 *   bodies that small, so size is not the problem), is dropped as failed.
 * - 415 to a RW 2.0 request with `fallbackToRw1`: the endpoint sends RW 1.0
 *   from then on (logged once, counted) and resends the batch at once.
 *   Without it, 415 is a permanent failure like other 4xx.
 * - `sample_age_limit`: items older than now − limit are dropped when read
 *   and again before every attempt, counted with reason `too_old`.
 *
 * @module
 */

import { SeriesCache } from "./series_cache.ts";
import type { RemoteWriteMessage, ResolvedRemoteWrite } from "../config/types.ts";
import type { Registry } from "../metrics/registry.ts";
import { CUSTOM_BUCKETS_SCHEMA } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import { metricKind } from "../model/metadata.ts";
import {
  comparePositions,
  type DeliveryCursor,
  type WalChunk,
  type WalPosition,
  type WalSource,
} from "../storage/types.ts";
import { log } from "../util/log.ts";
import { realClock } from "../util/clock.ts";
import protobuf from "protobufjs";
import {
  RemoteWriteClient,
  type RemoteWriteClientOptions,
  RW1,
  RW2,
  type SendResult,
} from "./client.ts";
import {
  encodeMetadataRequest,
  encodeWriteRequest,
  encodeWriteRequestV2,
  maxCompressedLength,
  type MetadataEntry,
  snappyEncode,
  type WriteBatch,
} from "./codec.ts";
import { type ItemKind, RemoteMetrics, type WalDropReason } from "./metrics.ts";
import {
  AckTracker,
  type AgeDrops,
  type Batch,
  type ChunkEntry,
  type Clock,
  SampleQueue,
  type Shard,
  type ShardSet,
  withoutOlderThan,
} from "./queue.ts";
import { ShardTuner } from "./shards.ts";

const logger = log("remote");

/** Metric metadata of one family, as the scrape loops report it. */
export interface FamilyMetadata {
  metric: string;
  type: string;
  help: string;
  unit: string;
}

/** What an endpoint needs from the rest of the agent. */
export interface RemoteEndpointDeps {
  /** The WAL. */
  source: WalSource;
  /** External labels + write relabeling; null drops the series. */
  transform: (labels: Labels) => Labels | null;
  /** Where the endpoint's metrics go. */
  registry: Registry;
  /** ferry's version, for the User-Agent. */
  version: string;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source. @default the system clock */
  clock?: Clock;
  /** The metadata of the scraped families, for RW 1.0 metadata requests. Default: none. */
  metadata?: () => Iterable<FamilyMetadata>;
  /** How often the shard count is recomputed. @default 10_000 */
  shardUpdateIntervalMs?: number;
  /** How the TLS/proxy HTTP client is made (tests). */
  httpClient?: RemoteWriteClientOptions["httpClient"];
}

/** Counters of one item kind in `EndpointStatus`. */
export interface ItemStatus {
  /** Delivered (2xx, and within the receiver's written counts). */
  sent: number;
  /** Rejected permanently, or missing from the receiver's written counts. */
  failed: number;
  /** Re-sent after recoverable failures (counted per retry). */
  retried: number;
  /** Never sent: write relabeling, unknown series, too old, or dropped by the WAL. */
  dropped: number;
  /** Read from the WAL and not yet settled. */
  pending: number;
}

/** A snapshot of an endpoint's state. */
export interface EndpointStatus {
  name: string;
  /** The URL with any password redacted. */
  url: string;
  /** The protocol in use (`protobuf_message`); RW 1.0 after a fallback. */
  protocol: RemoteWriteMessage;
  /** Whether the endpoint fell back from RW 2.0 to RW 1.0. */
  fellBack: boolean;
  /** Shards sending now. */
  shards: number;
  /** What the throughput calculation wants (unrounded, before clamping). */
  desiredShards: number;
  minShards: number;
  maxShards: number;
  /** Samples delivered (2xx). */
  samplesSent: number;
  /** Samples the receiver rejected or did not write. */
  samplesFailed: number;
  /** Samples re-sent after recoverable failures (counted per retry). */
  samplesRetried: number;
  /** Samples never sent: write relabeling, unknown series, too old, or dropped by the WAL. */
  samplesDropped: number;
  /** Samples read from the WAL and not yet settled. */
  samplesPending: number;
  /** Native histogram samples. */
  histograms: ItemStatus;
  /** Exemplars. */
  exemplars: ItemStatus;
  /** Compressed bytes of delivered requests. */
  bytesSent: number;
  /** The last send error, or "". */
  lastError: string;
  /** When the last error happened (ms since the epoch). */
  lastErrorTime: number | null;
  /** When the last request was delivered (ms since the epoch). */
  lastSendTime: number | null;
  /** The acknowledged WAL position (delivery resumes here after a restart). */
  cursor: WalPosition;
}

/** On close, reading stops once the reader has waited this long with nothing pending. */
export const DRAIN_QUIET_MS = 100;

/** Default interval of the shard calculation. */
export const SHARD_UPDATE_INTERVAL_MS = 10_000;

/**
 * A sender's buffer for compressed request bodies, reused from batch to batch
 * (a new one per request would be garbage of about the request's size).
 */
interface BodyScratch {
  buf: Uint8Array | null;
}

/** A scratch buffer larger than this is given up once requests are 4 times smaller again. */
const SCRATCH_KEEP_BYTES = 4 << 20;

/**
 * A 413 answer to a body smaller than this is not about its size (no real
 * receiver limits bodies that small): the batch is dropped, not split.
 */
export const MIN_SPLIT_BODY_BYTES = 4096;

/** RW 1.0 metadata is sent at most this often, whatever `send_interval` says. */
const MIN_METADATA_INTERVAL_MS = 1_000;

/** `Retry-After` is honoured up to `max(max_backoff, this)`. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Cache entries are swept for series the WAL no longer knows once the cache doubles. */
const MIN_SWEEP_SIZE = 1024;

/** Items of one request, per kind. */
interface Counts {
  samples: number;
  histograms: number;
  exemplars: number;
}

function countsOf(d: WriteBatch): Counts {
  return { samples: d.length, histograms: d.histogramCount, exemplars: d.exemplarCount };
}

const KINDS: readonly ItemKind[] = ["samples", "histograms", "exemplars"];

/** Sends the WAL's samples to one remote-write URL. */
export class RemoteEndpoint {
  readonly name: string;
  readonly #config: ResolvedRemoteWrite;
  readonly #deps: RemoteEndpointDeps;
  readonly #clock: Clock;
  readonly #client: RemoteWriteClient;
  readonly #metrics: RemoteMetrics;
  readonly #writer = new protobuf.Writer();
  readonly #queue: SampleQueue;
  readonly #tuner: ShardTuner;
  readonly #shardIntervalMs: number;
  /** ref → transformed labels (null when write relabeling drops the series) and label block. */
  readonly #cache = new SeriesCache();
  #sweepAt = MIN_SWEEP_SIZE;
  #protocol: RemoteWriteMessage;
  readonly #metadataOf: (key: number) => ReturnType<WalSource["metadata"]>;

  #cursor: DeliveryCursor | null = null;
  #tracker: AckTracker | null = null;
  #readCtl = new AbortController();
  #sendCtl = new AbortController();
  #running: Promise<void> | null = null;
  #closed = false;
  /** The reader is waiting for the WAL (caught up, or reading). */
  #readerWaiting = false;
  #chunksRead = 0;
  readonly #senders = new Set<Promise<void>>();

  readonly #stats: Record<ItemKind, Omit<ItemStatus, "pending">> = {
    samples: { sent: 0, failed: 0, retried: 0, dropped: 0 },
    histograms: { sent: 0, failed: 0, retried: 0, dropped: 0 },
    exemplars: { sent: 0, failed: 0, retried: 0, dropped: 0 },
  };
  #bytesSent = 0;
  #lastError = "";
  #lastErrorTime: number | null = null;
  #lastSendTime: number | null = null;
  /** Clock time the last batch finished sending (any outcome), for the reshard guard. */
  #lastBatchDone = -Infinity;
  /** No resharding before this clock time (set while retrying recoverable errors). */
  #reshardAfter = -Infinity;
  #highestQueuedTs = -Infinity;
  #highestSentTs = -Infinity;

  constructor(config: ResolvedRemoteWrite, deps: RemoteEndpointDeps) {
    this.name = config.name;
    this.#config = config;
    this.#deps = deps;
    this.#clock = deps.clock ?? realClock;
    this.#protocol = config.protobufMessage;
    this.#client = new RemoteWriteClient(config, {
      version: deps.version,
      fetch: deps.fetch,
      now: () => this.#clock.now(),
      httpClient: deps.httpClient,
    });
    const q = config.queue;
    const minShards = Math.max(1, q.minShards);
    const maxShards = Math.max(minShards, q.maxShards);
    this.#queue = new SampleQueue({
      shards: minShards,
      maxSamplesPerSend: q.maxSamplesPerSend,
      maxBytesPerSend: q.maxBytesPerSend > 0 ? q.maxBytesPerSend : Infinity,
      capacity: q.capacity,
      batchSendDeadlineMs: q.batchSendDeadlineMs,
      clock: this.#clock,
    });
    this.#shardIntervalMs = Math.max(1, deps.shardUpdateIntervalMs ?? SHARD_UPDATE_INTERVAL_MS);
    this.#tuner = new ShardTuner({ minShards, maxShards, intervalMs: this.#shardIntervalMs });
    const source = deps.source;
    this.#metadataOf = (ref) => source.metadata(ref);
    const queue = this.#queue;
    this.#metrics = new RemoteMetrics(deps.registry, {
      name: config.name,
      url: this.#client.displayUrl,
      pending: (k) =>
        k === "samples"
          ? queue.pendingSamples
          : k === "histograms"
          ? queue.pendingHistograms
          : queue.pendingExemplars,
      shards: () => queue.shards,
      desiredShards: () => this.#tuner.desired,
      minShards,
      maxShards,
      shardCapacity: q.capacity,
      maxSamplesPerSend: q.maxSamplesPerSend,
    });
    this.#metrics.setProtocol(this.#protocol);
  }

  /** The endpoint URL with any password redacted. */
  get url(): string {
    return this.#client.displayUrl;
  }

  /** The protocol in use (RW 1.0 after a fallback). */
  get protocol(): RemoteWriteMessage {
    return this.#protocol;
  }

  /**
   * Delivers until `signal` aborts (immediate stop) or `close()` finishes
   * (bounded drain). Can run once.
   */
  run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`remote endpoint ${this.name} is already running`);
    this.#running = this.#run(signal);
    return this.#running;
  }

  /**
   * Bounded drain: sends partial batches at once, keeps reading and sending
   * until the reader has caught up with the WAL and nothing is pending (quiet
   * for `DRAIN_QUIET_MS`), or until `deadlineMs` passes — then aborts what is
   * left (it stays in the WAL, after the acknowledged position, and is sent
   * after a restart). Removes the endpoint's metrics.
   */
  async close(deadlineMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#running) {
      this.#readCtl.abort();
      this.#sendCtl.abort();
      this.#client.close();
      this.#metrics.dispose();
      return;
    }
    this.#queue.flush();
    const timer = new AbortController();
    this.#clock.sleep(Math.max(0, deadlineMs), timer.signal).then(
      () => {
        if (timer.signal.aborted) return;
        if (this.#queue.pending > 0) {
          logger.warn("drain deadline passed; the rest stays in the WAL", {
            endpoint: this.name,
            url: this.url,
            items: this.#queue.pending,
          });
        }
        this.#readCtl.abort();
        this.#sendCtl.abort();
      },
      () => {},
    );
    this.#stopWhenCaughtUp(timer.signal);
    try {
      await this.#running;
    } finally {
      timer.abort();
    }
    this.#metrics.dispose();
  }

  /** Stops reading once the reader waits for the WAL with nothing pending, twice in a row. */
  async #stopWhenCaughtUp(signal: AbortSignal): Promise<void> {
    let seen = -1;
    while (!signal.aborted && !this.#readCtl.signal.aborted) {
      const idle = this.#readerWaiting && this.#queue.pending === 0;
      if (idle && seen === this.#chunksRead) {
        this.#readCtl.abort();
        return;
      }
      seen = idle ? this.#chunksRead : -1;
      await this.#clock.sleep(DRAIN_QUIET_MS, signal).catch(() => {});
    }
  }

  /**
   * Counts undelivered samples the WAL dropped for this endpoint (retention
   * or disk cap; the WAL logs each drop and moves the cursor past them).
   */
  recordWalDrop(reason: WalDropReason, samples: number): void {
    if (samples <= 0) return;
    this.#metrics.dropped("samples", reason).inc(samples);
    this.#stats.samples.dropped += samples;
  }

  /** A snapshot of counters and positions. */
  status(): EndpointStatus {
    const acked = this.#tracker?.acked, saved = this.#cursor?.position;
    // A WAL drop (retention, disk cap) moves the cursor past what was acknowledged.
    const pos = acked && saved && comparePositions(saved, acked) > 0
      ? saved
      : acked ?? saved ?? { segment: 0, offset: 0 };
    const s = this.#stats, q = this.#queue, cfg = this.#config.queue;
    const minShards = Math.max(1, cfg.minShards);
    return {
      name: this.name,
      url: this.#client.displayUrl,
      protocol: this.#protocol,
      fellBack: this.#protocol !== this.#config.protobufMessage,
      shards: q.shards,
      desiredShards: Math.round(this.#tuner.desired * 100) / 100,
      minShards,
      maxShards: Math.max(minShards, cfg.maxShards),
      samplesSent: s.samples.sent,
      samplesFailed: s.samples.failed,
      samplesRetried: s.samples.retried,
      samplesDropped: s.samples.dropped,
      samplesPending: q.pendingSamples,
      histograms: { ...s.histograms, pending: q.pendingHistograms },
      exemplars: { ...s.exemplars, pending: q.pendingExemplars },
      bytesSent: this.#bytesSent,
      lastError: this.#lastError,
      lastErrorTime: this.#lastErrorTime,
      lastSendTime: this.#lastSendTime,
      cursor: { segment: pos.segment, offset: pos.offset },
    };
  }

  async #run(signal: AbortSignal): Promise<void> {
    const stop = () => {
      this.#readCtl.abort();
      this.#sendCtl.abort();
    };
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    try {
      const cursor = this.#deps.source.cursor(this.name);
      this.#cursor = cursor;
      const start = cursor.position;
      this.#tracker = new AckTracker(start);
      logger.info("remote endpoint starting", {
        endpoint: this.name,
        url: this.url,
        protocol: this.#protocol,
        shards: this.#queue.shards,
        segment: start.segment,
        offset: start.offset,
      });
      this.#startSenders(this.#queue.current);
      const reading = this.#readLoop(start).finally(() => this.#readCtl.abort());
      await Promise.all([reading, this.#shardLoop(), this.#metadataLoop()]);
      while (this.#senders.size > 0) await Promise.all([...this.#senders]);
    } finally {
      signal.removeEventListener("abort", stop);
      this.#readCtl.abort();
      this.#ack();
      this.#client.close();
      logger.info("remote endpoint stopped", { endpoint: this.name, url: this.url });
    }
  }

  // -------------------------------------------------------------------------
  // Reading

  async #readLoop(from: WalPosition): Promise<void> {
    const signal = this.#readCtl.signal;
    const { minBackoffMs, maxBackoffMs } = this.#config.queue;
    let pos = from;
    let backoff = minBackoffMs;
    try {
      while (!signal.aborted) {
        try {
          this.#readerWaiting = true;
          const chunks = this.#deps.source.tail(pos, signal, { cursor: this.name, lend: true });
          for await (const chunk of chunks) {
            this.#readerWaiting = false;
            this.#chunksRead++;
            if (!(await this.#ingest(chunk, signal))) break;
            pos = chunk.end;
            backoff = minBackoffMs;
            this.#readerWaiting = true;
          }
          break; // the source ended or we were stopped
        } catch (e) {
          this.#readerWaiting = false;
          if (signal.aborted) break;
          logger.error("reading the WAL failed, retrying", {
            endpoint: this.name,
            url: this.url,
            err: e,
          });
          await this.#clock.sleep(backoff, signal).catch(() => {});
          backoff = Math.min(backoff * 2, maxBackoffMs);
        }
      }
    } finally {
      this.#queue.closeInput();
    }
  }

  /** Queues one chunk; false when stopped part-way (the chunk then stays unacknowledged). */
  async #ingest(chunk: WalChunk, signal: AbortSignal): Promise<boolean> {
    const entry: ChunkEntry = this.#tracker!.begin(chunk.end);
    const queue = this.#queue;
    const cfg = this.#config;
    const ageLimit = cfg.queue.sampleAgeLimitMs;
    const oldBefore = ageLimit > 0 ? this.#clock.now() - ageLimit : -Infinity;
    const drops = new IngestDrops();
    let highest = this.#highestQueuedTs;

    const { length, refs, ts, values, stale, st } = chunk.samples;
    for (let i = 0; i < length; i++) {
      if (!queue.hasSpace && !(await this.#space(signal))) return this.#stopped(drops);
      const t = ts[i];
      if (t < oldBefore) {
        drops.samples.old++;
        continue;
      }
      const ref = refs[i];
      let labels = this.#cache.get(ref);
      if (labels === undefined) labels = this.#resolve(ref);
      if (labels === undefined) {
        drops.samples.unknown++;
        continue;
      }
      if (labels === null) {
        drops.samples.relabeled++;
        continue;
      }
      queue.pushSample(entry, ref, labels, t, values[i], stale[i] === 1, st[i]);
      if (t > highest) highest = t;
    }
    drops.read += length;

    const hs = chunk.histograms;
    if (cfg.sendNativeHistograms && hs.length > 0) {
      const rw1 = this.#protocol === RW1;
      for (let i = 0; i < hs.length; i++) {
        if (!queue.hasSpace && !(await this.#space(signal))) return this.#stopped(drops);
        const x = hs[i];
        if (x.t < oldBefore) {
          drops.histograms.old++;
          continue;
        }
        let labels = this.#cache.get(x.ref);
        if (labels === undefined) labels = this.#resolve(x.ref);
        if (labels === undefined) {
          drops.histograms.unknown++;
          continue;
        }
        if (labels === null) {
          drops.histograms.relabeled++;
          continue;
        }
        if (rw1 && !x.stale && x.h.schema === CUSTOM_BUCKETS_SCHEMA) {
          drops.nhcb++;
          continue;
        }
        queue.pushHistogram(entry, x.ref, labels, x.t, x.h, x.stale, x.st);
        if (x.t > highest) highest = x.t;
      }
      drops.read += hs.length;
    }

    const ex = chunk.exemplars;
    if (cfg.sendExemplars && ex.length > 0) {
      for (let i = 0; i < ex.length; i++) {
        if (!queue.hasSpace && !(await this.#space(signal))) return this.#stopped(drops);
        const x = ex[i];
        if (x.e.ts < oldBefore) {
          drops.exemplars.old++;
          continue;
        }
        let labels = this.#cache.get(x.ref);
        if (labels === undefined) labels = this.#resolve(x.ref);
        if (labels === undefined) {
          drops.exemplars.unknown++;
          continue;
        }
        if (labels === null) {
          drops.exemplars.relabeled++;
          continue;
        }
        queue.pushExemplar(entry, x.ref, labels, x.e);
      }
      drops.read += ex.length;
    }

    this.#countDrops(drops);
    if (highest > this.#highestQueuedTs) {
      this.#highestQueuedTs = highest;
      this.#metrics.highestTimestamp.set(highest / 1000);
    }
    entry.readDone = true;
    this.#ack();
    return true;
  }

  /** Waits for queue space; false when stopped. */
  async #space(signal: AbortSignal): Promise<boolean> {
    await this.#queue.space(signal);
    return !signal.aborted;
  }

  #stopped(drops: IngestDrops): false {
    this.#countDrops(drops);
    return false;
  }

  /** Looks a ref up and transforms its labels; undefined when the WAL does not know it. */
  #resolve(ref: number): Labels | null | undefined {
    const src = this.#deps.source.labels(ref);
    if (src === undefined) return undefined;
    let out: Labels | null;
    try {
      out = this.#deps.transform(src);
    } catch (e) {
      logger.error("write relabeling failed; dropping the series", {
        endpoint: this.name,
        url: this.url,
        series: src.toString(),
        err: e,
      });
      out = null;
    }
    if (out !== null && out.size === 0) out = null;
    if (this.#cache.size >= this.#sweepAt) this.#sweep();
    this.#cache.set(ref, out);
    return out;
  }

  /** Forgets cached refs the WAL no longer knows (series gone after a checkpoint). */
  #sweep(): void {
    const source = this.#deps.source;
    this.#cache.retain((ref) => source.labels(ref) !== undefined);
    this.#sweepAt = Math.max(MIN_SWEEP_SIZE, this.#cache.size * 2);
  }

  #countDrops(d: IngestDrops): void {
    const m = this.#metrics;
    let total = 0, unknown = 0;
    for (const k of KINDS) {
      const x = d[k];
      if (x.relabeled > 0) m.dropped(k, "dropped_series").inc(x.relabeled);
      if (x.unknown > 0) m.dropped(k, "unintentionally_dropped_series").inc(x.unknown);
      if (x.old > 0) m.dropped(k, "too_old").inc(x.old);
      const n = x.relabeled + x.unknown + x.old + (k === "histograms" ? d.nhcb : 0);
      this.#stats[k].dropped += n;
      total += n;
      unknown += x.unknown;
    }
    if (d.nhcb > 0) {
      m.dropped("histograms", "nhcb_in_rw1_not_supported").inc(d.nhcb);
      logger.warn("dropped native histograms with custom buckets: RW 1.0 cannot carry them", {
        endpoint: this.name,
        url: this.url,
        histograms: d.nhcb,
      });
    }
    if (unknown > 0) {
      logger.debug("dropped items of unknown series refs", {
        endpoint: this.name,
        url: this.url,
        items: unknown,
      });
    }
    this.#tuner.itemsIn.incr(d.read);
    this.#tuner.itemsDropped.incr(total);
  }

  // -------------------------------------------------------------------------
  // Shards

  #startSenders(set: ShardSet): void {
    for (const shard of set.shards) {
      const p = this.#sendLoop(shard);
      this.#senders.add(p);
      p.finally(() => this.#senders.delete(p));
    }
  }

  /** Recomputes the shard count every interval and reshards when it should. */
  async #shardLoop(): Promise<void> {
    const signal = this.#readCtl.signal;
    const interval = this.#shardIntervalMs;
    const queue = this.#queue;
    for (;;) {
      await this.#clock.sleep(interval, signal).catch(() => {});
      if (signal.aborted || queue.flushing || queue.inputClosed) return;
      const current = queue.shards;
      const delay = this.#highestSentTs === -Infinity || this.#highestQueuedTs === -Infinity
        ? 0
        : (this.#highestQueuedTs - this.#highestSentTs) / 1000;
      const want = this.#tuner.update(current, delay);
      if (want === current) continue;
      const now = this.#clock.now();
      const props = { endpoint: this.name, url: this.url, from: current, to: want };
      if (queue.resharding) {
        logger.info("currently resharding, skipping", props);
      } else if (this.#lastBatchDone < now - interval) {
        logger.warn("skipping resharding: no request finished within the last interval", props);
      } else if (now < this.#reshardAfter) {
        logger.warn("skipping resharding while the receiver asks to back off", props);
      } else {
        logger.info("resharding", props);
        this.#startSenders(queue.reshard(want));
      }
    }
  }

  // -------------------------------------------------------------------------
  // Sending

  async #sendLoop(shard: Shard): Promise<void> {
    const signal = this.#sendCtl.signal;
    const clock = this.#clock;
    const scratch: BodyScratch = { buf: null };
    for (;;) {
      const batch = await this.#queue.next(shard, signal);
      if (!batch) return;
      const started = clock.now();
      const outcome = await this.#send(batch.data, signal, scratch);
      if (outcome === "aborted") return; // left unacknowledged: re-sent after a restart
      this.#settled(batch, started);
    }
  }

  /** Bookkeeping once a batch is delivered, rejected or dropped. */
  #settled(batch: Batch, started: number): void {
    const now = this.#clock.now();
    const d = batch.data;
    this.#tuner.itemsOut.incr(d.size);
    this.#tuner.sendMs.incr(Math.max(0, now - started));
    this.#lastBatchDone = now;
    // Settled, delivered or not: as Prometheus, so a rejected batch shows as failures, not as lag.
    if (d.maxTs > this.#highestSentTs) {
      this.#highestSentTs = d.maxTs;
      this.#metrics.highestSentTimestamp.set(d.maxTs / 1000);
    }
    this.#queue.done(batch);
    this.#ack();
  }

  /** Encodes and compresses a batch, into the sender's scratch buffer (which it grows as needed). */
  #encode(data: WriteBatch, protocol: RemoteWriteMessage, scratch: BodyScratch): Uint8Array {
    const raw = protocol === RW2
      ? encodeWriteRequestV2(data, { writer: this.#writer, metadata: this.#metadataOf })
      : encodeWriteRequest(data, { writer: this.#writer, labelCache: this.#cache });
    const need = maxCompressedLength(raw.length);
    const have = scratch.buf?.length ?? 0;
    // Grown to fit (with room to spare), and shrunk again after an exceptionally large batch.
    if (have < need || (have > 4 * need && have > SCRATCH_KEEP_BYTES)) {
      scratch.buf = new Uint8Array(Math.ceil((need * 1.25) / 4096) * 4096);
    }
    return snappyEncode(raw, scratch.buf!);
  }

  /**
   * Sends one batch, retrying recoverable failures until delivered, rejected
   * or aborted; splits it on 413 and resends it as RW 1.0 on a 415 fallback.
   */
  async #send(
    batch: WriteBatch,
    signal: AbortSignal,
    scratch: BodyScratch,
  ): Promise<"done" | "aborted"> {
    const q = this.#config.queue;
    const m = this.#metrics;
    let data = batch;
    let backoff = q.minBackoffMs;
    let body: Uint8Array | null = null, bodyProtocol: RemoteWriteMessage = this.#protocol;
    for (let attempt = 0;; attempt++) {
      if (signal.aborted) return "aborted";
      if (q.sampleAgeLimitMs > 0) {
        const r = withoutOlderThan(data, this.#clock.now() - q.sampleAgeLimitMs);
        if (r.data !== data) {
          data = r.data;
          body = null;
          this.#droppedOld(r.dropped);
          if (data.size === 0) return "done";
        }
      }
      const protocol = this.#protocol;
      if (body === null || bodyProtocol !== protocol) {
        body = this.#encode(data, protocol, scratch);
        bodyProtocol = protocol;
      }
      const n = countsOf(data);
      this.#add("total", n);
      m.bytesTotal.inc(body.length);
      const started = performance.now();
      const res = await this.#client.send(body, { attempt, signal, protocol });
      // Without an answer (timeout, network error, abort) the HTTP stack may still hold the body
      // for a moment: the next batch gets a new buffer rather than overwrite this one.
      if (res.status === 0) scratch.buf = null;
      m.sentBatchDuration.observe((performance.now() - started) / 1000);
      if (res.kind === "ok") {
        this.#delivered(n, res, { bytes: body.length, protocol, attempt });
        return "done";
      }
      if (signal.aborted) return "aborted";
      this.#lastError = res.error;
      this.#lastErrorTime = this.#clock.now();
      const props = {
        endpoint: this.name,
        url: this.url,
        status: res.status,
        samples: n.samples,
        histograms: n.histograms,
        exemplars: n.exemplars,
        err: res.error,
      };
      if (res.status === 415 && protocol === RW2 && this.#config.fallbackToRw1) {
        this.#fallBack(res.error);
        this.#add("retried", n);
        continue; // the same batch, as RW 1.0, at once
      }
      if (res.status === 413 && data.size > 1 && body.length >= MIN_SPLIT_BODY_BYTES) {
        logger.warn("request too large (HTTP 413); splitting the batch in halves", {
          ...props,
          bytes: body.length,
        });
        this.#add("retried", n);
        const [a, b] = data.split();
        if ((await this.#send(a, signal, scratch)) === "aborted") return "aborted";
        return await this.#send(b, signal, scratch);
      }
      if (res.kind === "permanent") {
        this.#add("failed", n);
        if (res.status === 413) {
          logger.error(
            data.size === 1
              ? "a single item is larger than the receiver accepts (HTTP 413); dropping it"
              : "request rejected as too large (HTTP 413) although it is small; dropping the batch",
            { ...props, bytes: body.length },
          );
        } else {
          logger.error("remote write rejected; dropping the batch", props);
        }
        return "done";
      }
      this.#add("retried", n);
      const { delay, capMs } = retryDelay(backoff, res.retryAfterMs, q.maxBackoffMs);
      if (capMs !== undefined) {
        logger.warn("Retry-After is longer than the cap; waiting the cap", {
          ...props,
          retryAfterMs: res.retryAfterMs,
          capMs,
        });
      }
      // Resharding would not help a receiver that asks to slow down.
      this.#reshardAfter = Math.max(this.#reshardAfter, this.#clock.now() + 2 * delay);
      const retryProps = { ...props, attempt: attempt + 1, retryInMs: delay };
      if (attempt === 0) logger.warn("remote write failed, retrying", retryProps);
      else logger.debug("remote write failed again, retrying", retryProps);
      await this.#clock.sleep(delay, signal).catch(() => {});
      backoff = Math.min(backoff * 2, q.maxBackoffMs);
    }
  }

  /** Accounts a 2xx: what the receiver says it wrote is sent, the rest failed. */
  #delivered(
    n: Counts,
    res: Extract<SendResult, { kind: "ok" }>,
    req: { bytes: number; protocol: RemoteWriteMessage; attempt: number },
  ): void {
    const { bytes, protocol, attempt } = req;
    const props = { endpoint: this.name, url: this.url, status: res.status };
    let failed: Counts = { samples: 0, histograms: 0, exemplars: 0 };
    // The Written headers belong to RW 2.0; a 1.0 answer's (if any) are not read.
    const w = protocol === RW2 ? res.written : undefined;
    if (w === undefined) {
      if (protocol === RW2 && n.samples + n.histograms + n.exemplars > 0) {
        failed = n;
        this.#lastError = "got a 2xx answer to a RW 2.0 request without " +
          "X-Prometheus-Remote-Write-*-Written headers: the receiver looks like a RW 1.x receiver";
        this.#lastErrorTime = this.#clock.now();
        logger.error(
          "receiver looks like a RW 1.x receiver: it answered a RW 2.0 request with a 2xx " +
            "but no X-Prometheus-Remote-Write-*-Written headers; counting the batch as failed " +
            "(set protobuf_message: prometheus.WriteRequest for this endpoint)",
          { ...props, ...n },
        );
      }
    } else {
      failed = {
        samples: Math.max(0, n.samples - w.samples),
        histograms: Math.max(0, n.histograms - w.histograms),
        exemplars: Math.max(0, n.exemplars - w.exemplars),
      };
      if (failed.samples + failed.histograms + failed.exemplars > 0) {
        this.#lastError = `partial write: the receiver wrote ${w.samples}/${n.samples} samples, ` +
          `${w.histograms}/${n.histograms} histograms, ${w.exemplars}/${n.exemplars} exemplars`;
        this.#lastErrorTime = this.#clock.now();
        logger.error(
          "partial write: the receiver answered 2xx but its written counts are lower than what was sent",
          {
            ...props,
            failedSamples: failed.samples,
            failedHistograms: failed.histograms,
            failedExemplars: failed.exemplars,
          },
        );
      }
    }
    this.#add("failed", failed);
    const sent = {
      samples: n.samples - failed.samples,
      histograms: n.histograms - failed.histograms,
      exemplars: n.exemplars - failed.exemplars,
    };
    for (const k of KINDS) this.#stats[k].sent += sent[k];
    if (sent.samples + sent.histograms + sent.exemplars > 0) {
      this.#bytesSent += bytes;
      this.#lastSendTime = this.#clock.now();
    }
    if (attempt > 0) logger.info("remote write recovered", { ...props, attempts: attempt + 1 });
  }

  /** Adds `n` to the `what` counters (metrics and status). */
  #add(what: "total" | "failed" | "retried", n: Counts): void {
    const m = this.#metrics;
    for (const k of KINDS) {
      const v = n[k];
      if (v === 0) continue;
      m.kind(k)[what].inc(v);
      if (what !== "total") this.#stats[k][what] += v;
    }
  }

  #droppedOld(d: AgeDrops): void {
    const m = this.#metrics;
    for (const k of KINDS) {
      if (d[k] === 0) continue;
      m.dropped(k, "too_old").inc(d[k]);
      this.#stats[k].dropped += d[k];
    }
  }

  /** Switches to RW 1.0 for the rest of the endpoint's life. */
  #fallBack(error: string): void {
    if (this.#protocol === RW1) return;
    this.#protocol = RW1;
    this.#metrics.protocolFallbacks.inc();
    this.#metrics.setProtocol(RW1);
    logger.warn(
      "the receiver does not accept Remote Write 2.0 (HTTP 415): falling back to Remote Write 1.0 for this endpoint",
      { endpoint: this.name, url: this.url, err: error },
    );
  }

  #ack(): void {
    const tracker = this.#tracker;
    if (tracker && tracker.advance()) this.#cursor!.ack(tracker.acked);
  }

  // -------------------------------------------------------------------------
  // RW 1.0 metadata

  /**
   * Every `send_interval`, while the endpoint speaks RW 1.0, sends the
   * metadata of every scraped family in requests of at most
   * `max_samples_per_send` entries. Separate from the shards: retries here
   * never hold up samples.
   */
  async #metadataLoop(): Promise<void> {
    const cfg = this.#config.metadata;
    const source = this.#deps.metadata;
    if (!cfg.send || source === undefined) return;
    const signal = this.#readCtl.signal;
    const per = Math.max(1, cfg.maxSamplesPerSend);
    const interval = Math.max(MIN_METADATA_INTERVAL_MS, cfg.sendIntervalMs);
    for (;;) {
      await this.#clock.sleep(interval, signal).catch(() => {});
      if (signal.aborted) return;
      if (this.#protocol !== RW1) continue; // RW 2.0 carries metadata inline
      let entries: MetadataEntry[];
      try {
        entries = collectMetadata(source());
      } catch (e) {
        logger.error("collecting metadata failed", { endpoint: this.name, url: this.url, err: e });
        continue;
      }
      for (let i = 0; i < entries.length && !signal.aborted; i += per) {
        await this.#sendMetadata(entries.slice(i, i + per), signal);
      }
    }
  }

  async #sendMetadata(entries: MetadataEntry[], signal: AbortSignal): Promise<void> {
    const q = this.#config.queue;
    const m = this.#metrics;
    const body = snappyEncode(encodeMetadataRequest(entries, { writer: this.#writer }));
    const n = entries.length;
    let backoff = q.minBackoffMs;
    for (let attempt = 0;; attempt++) {
      if (signal.aborted) return;
      const started = performance.now();
      const res = await this.#client.send(body, { attempt, signal, protocol: RW1 });
      m.sentBatchDuration.observe((performance.now() - started) / 1000);
      if (res.kind === "ok") {
        m.metadataTotal.inc(n);
        m.metadataBytes.inc(body.length);
        return;
      }
      if (signal.aborted) return;
      const props = {
        endpoint: this.name,
        url: this.url,
        status: res.status,
        metadata: n,
        err: res.error,
      };
      if (res.kind === "permanent") {
        m.metadataFailed.inc(n);
        logger.error("metadata request rejected; dropping it", props);
        return;
      }
      m.metadataRetried.inc(n);
      const { delay } = retryDelay(backoff, res.retryAfterMs, q.maxBackoffMs);
      logger.debug("metadata request failed, retrying", { ...props, retryInMs: delay });
      await this.#clock.sleep(delay, signal).catch(() => {});
      backoff = Math.min(backoff * 2, q.maxBackoffMs);
    }
  }
}

/**
 * The wait before the next attempt: a positive `Retry-After` replaces the
 * backoff, capped at `max(maxBackoff, MAX_RETRY_AFTER_MS)` (`capMs` is set
 * when the cap applied). A `Retry-After` of 0 or in the past means the usual
 * backoff, as in Prometheus: a receiver answering a storm of requests with
 * `Retry-After: 0` must not get an immediate retry storm back.
 */
function retryDelay(
  backoffMs: number,
  retryAfterMs: number | undefined,
  maxBackoffMs: number,
): { delay: number; capMs?: number } {
  if (retryAfterMs === undefined || retryAfterMs <= 0) return { delay: backoffMs };
  const cap = Math.max(maxBackoffMs, MAX_RETRY_AFTER_MS);
  return retryAfterMs > cap ? { delay: cap, capMs: cap } : { delay: retryAfterMs };
}

/** Per-kind drop counts of one chunk. */
class IngestDrops {
  samples = { relabeled: 0, unknown: 0, old: 0 };
  histograms = { relabeled: 0, unknown: 0, old: 0 };
  exemplars = { relabeled: 0, unknown: 0, old: 0 };
  /** Native histograms with custom buckets not sendable as RW 1.0. */
  nhcb = 0;
  /** Items read (all kinds read, kept or not). */
  read = 0;
}

/** Deduplicates families by name (the first seen wins) into metadata request entries. */
export function collectMetadata(items: Iterable<FamilyMetadata>): MetadataEntry[] {
  const seen = new Set<string>();
  const out: MetadataEntry[] = [];
  for (const it of items) {
    if (it.metric === "" || seen.has(it.metric)) continue;
    seen.add(it.metric);
    out.push({
      family: it.metric,
      metadata: { type: metricKind(it.type), help: it.help, unit: it.unit },
    });
  }
  return out;
}

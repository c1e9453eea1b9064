/**
 * One remote-write endpoint: tails the WAL from its persisted cursor, maps
 * series refs to (transformed) labels, batches, sends with retries, and
 * acknowledges delivered WAL positions.
 *
 * Endpoints are independent: each has its own cursor, WAL reader, queue and
 * HTTP client, and only pulls from the WAL, so a dead receiver stalls only its
 * own endpoint (its reader pauses when its queue is full) — never another
 * endpoint, and never the WAL writer.
 *
 * @module
 */

import type { ResolvedRemoteWrite } from "../config/types.ts";
import type { Registry } from "../metrics/registry.ts";
import type { Labels } from "../model/labels.ts";
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
import { RemoteWriteClient } from "./client.ts";
import { encodeWriteRequest, snappyEncode } from "./codec.ts";
import { RemoteMetrics, type WalDropReason } from "./metrics.ts";
import { AckTracker, type Batch, type ChunkEntry, type Clock, SampleQueue } from "./queue.ts";

const logger = log("remote");

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
}

/** A snapshot of an endpoint's state. */
export interface EndpointStatus {
  name: string;
  /** The URL with any password redacted. */
  url: string;
  /** Samples delivered (2xx). */
  samplesSent: number;
  /** Samples in requests rejected permanently (non-retryable status). */
  samplesFailed: number;
  /** Samples re-sent after recoverable failures (counted per retry). */
  samplesRetried: number;
  /** Samples never sent: dropped by write relabeling, of unknown series, or by the WAL (retention, disk cap). */
  samplesDropped: number;
  /** Samples read from the WAL and not yet settled. */
  samplesPending: number;
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

/** Cache entries are swept for series the WAL no longer knows once the cache doubles. */
const MIN_SWEEP_SIZE = 1024;

/** Sends the WAL's samples to one remote-write URL. */
export class RemoteEndpoint {
  readonly name: string;
  readonly #config: ResolvedRemoteWrite;
  readonly #deps: RemoteEndpointDeps;
  readonly #clock: Clock;
  readonly #client: RemoteWriteClient;
  readonly #metrics: RemoteMetrics;
  readonly #writer = new protobuf.Writer();
  /** Encoded label blocks of the transformed label sets (kept alive by `#cache`). */
  readonly #labelBlocks = new WeakMap<Labels, Uint8Array>();
  readonly #queue: SampleQueue;
  /** ref → transformed labels, or null when write relabeling drops the series. */
  readonly #cache = new Map<number, Labels | null>();
  #sweepAt = MIN_SWEEP_SIZE;

  #cursor: DeliveryCursor | null = null;
  #tracker: AckTracker | null = null;
  #readCtl = new AbortController();
  #sendCtl = new AbortController();
  #running: Promise<void> | null = null;
  #closed = false;
  /** The reader is waiting for the WAL (caught up, or reading). */
  #readerWaiting = false;
  #chunksRead = 0;

  #samplesSent = 0;
  #samplesFailed = 0;
  #samplesRetried = 0;
  #samplesDropped = 0;
  #bytesSent = 0;
  #lastError = "";
  #lastErrorTime: number | null = null;
  #lastSendTime: number | null = null;
  #highestSentTs = -Infinity;

  constructor(config: ResolvedRemoteWrite, deps: RemoteEndpointDeps) {
    this.name = config.name;
    this.#config = config;
    this.#deps = deps;
    this.#clock = deps.clock ?? realClock;
    this.#client = new RemoteWriteClient(config, {
      version: deps.version,
      fetch: deps.fetch,
      now: () => this.#clock.now(),
    });
    const q = config.queue;
    this.#queue = new SampleQueue({
      shards: 1, // one in-flight batch per endpoint for now; the queue and ack support more
      maxSamplesPerSend: q.maxSamplesPerSend,
      capacity: q.capacity,
      batchSendDeadlineMs: q.batchSendDeadlineMs,
      clock: this.#clock,
    });
    this.#metrics = new RemoteMetrics(deps.registry, {
      name: config.name,
      url: this.#client.displayUrl,
      pending: () => this.#queue.pending,
    });
  }

  /** The endpoint URL with any password redacted. */
  get url(): string {
    return this.#client.displayUrl;
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
            samples: this.#queue.pending,
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
    this.#metrics.droppedByWal[reason].inc(samples);
    this.#samplesDropped += samples;
  }

  /** A snapshot of counters and positions. */
  status(): EndpointStatus {
    const acked = this.#tracker?.acked, saved = this.#cursor?.position;
    // A WAL drop (retention, disk cap) moves the cursor past what was acknowledged.
    const pos = acked && saved && comparePositions(saved, acked) > 0
      ? saved
      : acked ?? saved ?? { segment: 0, offset: 0 };
    return {
      name: this.name,
      url: this.#client.displayUrl,
      samplesSent: this.#samplesSent,
      samplesFailed: this.#samplesFailed,
      samplesRetried: this.#samplesRetried,
      samplesDropped: this.#samplesDropped,
      samplesPending: this.#queue.pending,
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
        segment: start.segment,
        offset: start.offset,
      });
      const senders: Promise<void>[] = [];
      for (let s = 0; s < this.#queue.shards; s++) senders.push(this.#sendLoop(s));
      await Promise.all([this.#readLoop(start), ...senders]);
    } finally {
      signal.removeEventListener("abort", stop);
      this.#readCtl.abort();
      this.#ack();
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
          const chunks = this.#deps.source.tail(pos, signal, { cursor: this.name });
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
    const { length, refs, ts, values, stale } = chunk.samples;
    const queue = this.#queue;
    let dropped = 0, unknown = 0;
    for (let i = 0; i < length; i++) {
      if (!queue.hasSpace) {
        await queue.space(signal);
        if (signal.aborted) {
          this.#countDrops(dropped, unknown);
          return false;
        }
      }
      const ref = refs[i];
      let labels = this.#cache.get(ref);
      if (labels === undefined) {
        labels = this.#resolve(ref);
        if (labels === undefined) {
          unknown++;
          continue;
        }
      }
      if (labels === null) {
        dropped++;
        continue;
      }
      queue.push(entry, ref, labels, ts[i], values[i], stale[i] === 1);
    }
    this.#countDrops(dropped, unknown);
    entry.readDone = true;
    this.#ack();
    return true;
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
    for (const ref of this.#cache.keys()) {
      if (source.labels(ref) === undefined) this.#cache.delete(ref);
    }
    this.#sweepAt = Math.max(MIN_SWEEP_SIZE, this.#cache.size * 2);
  }

  #countDrops(dropped: number, unknown: number): void {
    if (dropped > 0) this.#metrics.droppedByRelabel.inc(dropped);
    if (unknown > 0) {
      this.#metrics.droppedUnknown.inc(unknown);
      logger.debug("dropped samples of unknown series refs", {
        endpoint: this.name,
        url: this.url,
        samples: unknown,
      });
    }
    this.#samplesDropped += dropped + unknown;
  }

  // -------------------------------------------------------------------------
  // Sending

  async #sendLoop(shard: number): Promise<void> {
    const signal = this.#sendCtl.signal;
    for (;;) {
      const batch = await this.#queue.next(shard, signal);
      if (!batch) return;
      const outcome = await this.#send(batch, signal);
      if (outcome === "aborted") return; // left unacknowledged: re-sent after a restart
      this.#queue.done(batch);
      this.#ack();
    }
  }

  /** Sends one batch, retrying recoverable failures until delivered, rejected or aborted. */
  async #send(batch: Batch, signal: AbortSignal): Promise<"sent" | "failed" | "aborted"> {
    const n = batch.length;
    const body = snappyEncode(
      encodeWriteRequest(batch.data, { writer: this.#writer, labelCache: this.#labelBlocks }),
    );
    const { minBackoffMs, maxBackoffMs } = this.#config.queue;
    const m = this.#metrics;
    let backoff = minBackoffMs;
    for (let attempt = 0;; attempt++) {
      if (signal.aborted) return "aborted";
      const started = performance.now();
      m.samplesTotal.inc(n);
      m.bytesTotal.inc(body.length);
      const res = await this.#client.send(body, { attempt, signal });
      m.sentBatchDuration.observe((performance.now() - started) / 1000);
      if (res.kind === "ok") {
        this.#samplesSent += n;
        this.#bytesSent += body.length;
        this.#lastSendTime = this.#clock.now();
        if (batch.data.maxTs > this.#highestSentTs) {
          this.#highestSentTs = batch.data.maxTs;
          m.highestSentTimestamp.set(this.#highestSentTs / 1000);
        }
        if (attempt > 0) {
          logger.info("remote write recovered", {
            endpoint: this.name,
            url: this.url,
            attempts: attempt + 1,
          });
        }
        return "sent";
      }
      if (signal.aborted) return "aborted";
      this.#lastError = res.error;
      this.#lastErrorTime = this.#clock.now();
      if (res.kind === "permanent") {
        this.#samplesFailed += n;
        m.samplesFailed.inc(n);
        logger.error("remote write rejected; dropping the batch", {
          endpoint: this.name,
          url: this.url,
          status: res.status,
          samples: n,
          err: res.error,
        });
        return "failed";
      }
      this.#samplesRetried += n;
      m.samplesRetried.inc(n);
      const delay = res.retryAfterMs ?? backoff;
      const props = {
        endpoint: this.name,
        url: this.url,
        status: res.status,
        attempt: attempt + 1,
        retryInMs: delay,
        err: res.error,
      };
      if (attempt === 0) logger.warn("remote write failed, retrying", props);
      else logger.debug("remote write failed again, retrying", props);
      await this.#clock.sleep(delay, signal).catch(() => {});
      backoff = Math.min(backoff * 2, maxBackoffMs);
    }
  }

  #ack(): void {
    const tracker = this.#tracker;
    if (tracker && tracker.advance()) this.#cursor!.ack(tracker.acked);
  }
}

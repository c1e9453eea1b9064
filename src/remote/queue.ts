/**
 * Batching and delivery bookkeeping of one remote-write endpoint.
 *
 * - `AckTracker` remembers, per WAL chunk read, how many of its samples are
 *   still in flight; the acknowledged position only ever moves over a prefix
 *   of fully read and fully settled chunks. Batches may settle in any order
 *   (several shards), the ack stays correct.
 * - `SampleQueue` spreads samples over shards (`ref % shards`, so a series'
 *   samples stay in order), fills one open batch per shard, seals it when it
 *   is full or older than the batch deadline, and bounds the number of
 *   buffered samples (`capacity`) so reading the WAL pauses while the
 *   receiver is slow.
 *
 * @module
 */

import type { Labels } from "../model/labels.ts";
import type { WalPosition } from "../storage/types.ts";
import { WriteBatch } from "./codec.ts";
import type { Clock } from "../util/clock.ts";

export type { Clock } from "../util/clock.ts";

// ---------------------------------------------------------------------------
// Acknowledgement

/** Delivery state of one WAL chunk. */
export class ChunkEntry {
  /** Samples of the chunk queued in batches and not yet settled. */
  outstanding = 0;
  /** Every sample of the chunk was queued or dropped. */
  readDone = false;
  constructor(readonly end: WalPosition) {}
}

/** Computes the position up to which everything read has been delivered (or dropped). */
export class AckTracker {
  #entries: ChunkEntry[] = [];
  #head = 0;
  #acked: WalPosition;

  constructor(start: WalPosition) {
    this.#acked = { segment: start.segment, offset: start.offset };
  }

  /** The highest position whose every sample is settled. */
  get acked(): WalPosition {
    return this.#acked;
  }

  /** Chunks not yet acknowledged. */
  get open(): number {
    return this.#entries.length - this.#head;
  }

  /** Registers a chunk being read; chunks must be opened in WAL order. */
  begin(end: WalPosition): ChunkEntry {
    const e = new ChunkEntry(end);
    this.#entries.push(e);
    return e;
  }

  /** Moves the ack over settled chunks; returns true when it moved. */
  advance(): boolean {
    const q = this.#entries;
    let h = this.#head, moved = false;
    while (h < q.length && q[h].readDone && q[h].outstanding === 0) {
      this.#acked = q[h].end;
      h++;
      moved = true;
    }
    if (h > 1024 && h * 2 > q.length) {
      this.#entries = q.slice(h);
      h = 0;
    }
    this.#head = h;
    return moved;
  }
}

// ---------------------------------------------------------------------------
// Batches

/** A batch of samples plus which chunks they came from. */
export class Batch {
  readonly data: WriteBatch;
  /** Clock time when the first sample was added. */
  startedAt = 0;
  readonly #entries: ChunkEntry[] = [];
  readonly #counts: number[] = [];

  constructor(capacity: number) {
    this.data = new WriteBatch(capacity);
  }

  /** Number of samples. */
  get length(): number {
    return this.data.length;
  }

  /** Adds a sample read from `entry`'s chunk. */
  add(entry: ChunkEntry, key: number, labels: Labels, t: number, v: number, stale: boolean): void {
    this.data.add(key, labels, t, v, stale);
    entry.outstanding++;
    const last = this.#entries.length - 1;
    if (last >= 0 && this.#entries[last] === entry) this.#counts[last]++;
    else {
      this.#entries.push(entry);
      this.#counts.push(1);
    }
  }

  /** Marks every sample as settled in its chunk. */
  settle(): void {
    for (let i = 0; i < this.#entries.length; i++) {
      this.#entries[i].outstanding -= this.#counts[i];
    }
    this.#entries.length = 0;
    this.#counts.length = 0;
  }

  /** Empties the batch for reuse (after `settle`). */
  reset(): void {
    this.data.reset();
    this.#entries.length = 0;
    this.#counts.length = 0;
    this.startedAt = 0;
  }
}

class Shard {
  ready: Batch[] = [];
  waiter: (() => void) | null = null;
  constructor(public open: Batch) {}
  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/** Options of `SampleQueue`. */
export interface SampleQueueOptions {
  /** Number of shards (parallel senders). */
  shards: number;
  /** Samples per batch. */
  maxSamplesPerSend: number;
  /** Samples buffered per shard before reading pauses. */
  capacity: number;
  /** A non-empty batch is sent after this long even if not full. */
  batchSendDeadlineMs: number;
  clock: Clock;
}

/** Bounded, sharded batching queue between the WAL reader and the senders. */
export class SampleQueue {
  readonly #shards: Shard[];
  readonly #max: number;
  readonly #capacity: number;
  readonly #deadline: number;
  readonly #clock: Clock;
  readonly #pool: Batch[] = [];
  #pending = 0;
  #closed = false;
  #flushing = false;
  #spaceWaiter: (() => void) | null = null;

  constructor(opts: SampleQueueOptions) {
    const n = Math.max(1, Math.floor(opts.shards));
    this.#max = Math.max(1, Math.floor(opts.maxSamplesPerSend));
    // A shard must hold at least one full batch, or batches could never fill.
    this.#capacity = Math.max(opts.capacity, this.#max) * n;
    this.#deadline = opts.batchSendDeadlineMs;
    this.#clock = opts.clock;
    this.#shards = [];
    for (let i = 0; i < n; i++) this.#shards.push(new Shard(new Batch(this.#max)));
  }

  /** Number of shards. */
  get shards(): number {
    return this.#shards.length;
  }

  /** Samples queued and not yet settled (open, ready and in-flight batches). */
  get pending(): number {
    return this.#pending;
  }

  /** Whether another sample may be pushed without exceeding the capacity. */
  get hasSpace(): boolean {
    return this.#pending < this.#capacity;
  }

  /** Whether `closeInput` was called. */
  get inputClosed(): boolean {
    return this.#closed;
  }

  /** Queues one sample of the series `key` read from `entry`'s chunk. */
  push(entry: ChunkEntry, key: number, labels: Labels, t: number, v: number, stale: boolean): void {
    const shards = this.#shards;
    const sh = shards.length === 1 ? shards[0] : shards[key % shards.length];
    const b = sh.open;
    const wasEmpty = b.length === 0;
    if (wasEmpty) b.startedAt = this.#clock.now();
    b.add(entry, key, labels, t, v, stale);
    this.#pending++;
    if (b.data.full) {
      this.#seal(sh);
      sh.wake();
    } else if (wasEmpty) {
      sh.wake(); // starts the deadline timer
    }
  }

  /** Resolves when there is space again, or when `signal` aborts. */
  space(signal: AbortSignal): Promise<void> {
    if (this.hasSpace || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        if (this.#spaceWaiter === done) this.#spaceWaiter = null;
        resolve();
      };
      this.#spaceWaiter = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * The next batch to send on `shard`: a full one, or the open one once its
   * deadline passed (or input is closed). Null when input is closed and the
   * shard is empty, or when `signal` aborts.
   */
  async next(shard: number, signal: AbortSignal): Promise<Batch | null> {
    const sh = this.#shards[shard];
    for (;;) {
      if (signal.aborted) return null;
      const r = sh.ready.shift();
      if (r) return r;
      if (sh.open.length > 0) {
        const wait = this.#closed || this.#flushing
          ? 0
          : sh.open.startedAt + this.#deadline - this.#clock.now();
        if (wait <= 0) {
          this.#seal(sh);
          continue;
        }
        await this.#wait(sh, wait, signal);
      } else {
        if (this.#closed) return null;
        await this.#wait(sh, Infinity, signal);
      }
    }
  }

  /** Settles a batch taken with `next` (sent or permanently dropped) and recycles it. */
  done(batch: Batch): void {
    this.#pending -= batch.length;
    batch.settle();
    batch.reset();
    this.#pool.push(batch);
    if (this.#spaceWaiter && this.hasSpace) this.#spaceWaiter();
  }

  /** From now on, partial batches are sent as soon as a sender is free (shutdown drain). */
  flush(): void {
    this.#flushing = true;
    for (const sh of this.#shards) sh.wake();
  }

  /** No more samples will be pushed: open batches are sent as they are. */
  closeInput(): void {
    this.#closed = true;
    for (const sh of this.#shards) sh.wake();
  }

  #seal(sh: Shard): void {
    sh.ready.push(sh.open);
    sh.open = this.#pool.pop() ?? new Batch(this.#max);
  }

  async #wait(sh: Shard, ms: number, signal: AbortSignal): Promise<void> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await new Promise<void>((resolve) => {
        sh.waiter = resolve;
        ctl.signal.addEventListener("abort", () => resolve(), { once: true });
        if (ms !== Infinity) {
          this.#clock.sleep(ms, ctl.signal).then(() => resolve(), () => resolve());
        }
      });
    } finally {
      if (sh.waiter) sh.waiter = null;
      ctl.abort();
      signal.removeEventListener("abort", onAbort);
    }
  }
}

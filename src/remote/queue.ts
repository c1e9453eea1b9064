/**
 * Batching and delivery bookkeeping of one remote-write endpoint.
 *
 * - `AckTracker` remembers, per WAL chunk read, how many of its items
 *   (samples, histograms, exemplars) are still in flight; the acknowledged
 *   position only ever moves over a prefix of fully read and fully settled
 *   chunks. Batches may settle in any order (several shards), the ack stays
 *   correct.
 * - `SampleQueue` spreads items over the shards of the current `ShardSet` by
 *   a hash of the series ref (so a series' items stay in order on one shard),
 *   fills one open batch per shard, seals it when it is full (items or bytes)
 *   or older than the batch deadline, and bounds the number of buffered items
 *   (`capacity` per shard) so reading the WAL pauses while the receiver is
 *   slow.
 * - Resharding never stops the reader: `reshard(n)` makes a new shard set
 *   that takes every new item at once; the items of the old set that no
 *   sender has taken yet move over to it (re-sharded, in order). The new
 *   set's senders start once the old set's batches in flight (at most one
 *   per old shard) have settled, so a series' items are never reordered and
 *   no item is sent twice.
 *
 * @module
 */

import type { Exemplar } from "../model/exemplar.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import type { WalPosition } from "../storage/types.ts";
import { WriteBatch } from "./codec.ts";
import type { Clock } from "../util/clock.ts";

export type { Clock } from "../util/clock.ts";

// ---------------------------------------------------------------------------
// Acknowledgement

/** Delivery state of one WAL chunk. */
export class ChunkEntry {
  /** Items of the chunk queued in batches and not yet settled. */
  outstanding = 0;
  /** Every item of the chunk was queued or dropped. */
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

  /** The highest position whose every item is settled. */
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

/** A batch of items plus the chunk each item came from. */
export class Batch {
  readonly data: WriteBatch;
  /** Clock time when the first item was added. */
  startedAt = 0;
  /** The shard set the batch was filled in. */
  set: ShardSet | null = null;
  /** The chunk of each item, per kind, aligned with `data`'s columns (not cleared on reset: overwritten). */
  readonly #samples: ChunkEntry[] = [];
  readonly #histograms: ChunkEntry[] = [];
  readonly #exemplars: ChunkEntry[] = [];

  constructor(capacity: number, maxBytes = Infinity) {
    this.data = new WriteBatch(capacity, { maxBytes });
  }

  /** Number of items (samples + histograms + exemplars). */
  get size(): number {
    return this.data.size;
  }

  /** Adds a float sample read from `entry`'s chunk. */
  addSample(
    entry: ChunkEntry,
    key: number,
    labels: Labels,
    t: number,
    v: number,
    stale: boolean,
    st: number,
  ): void {
    const i = this.data.length;
    this.data.add(key, labels, t, v, stale, st);
    this.#samples[i] = entry;
    entry.outstanding++;
  }

  /** Adds a native histogram sample read from `entry`'s chunk (keeps a reference to `h`). */
  addHistogram(
    entry: ChunkEntry,
    key: number,
    labels: Labels,
    t: number,
    h: Histogram,
    stale: boolean,
    st: number,
  ): void {
    const i = this.data.histogramCount;
    this.data.addHistogram(key, labels, t, h, stale, st);
    this.#histograms[i] = entry;
    entry.outstanding++;
  }

  /** Adds an exemplar read from `entry`'s chunk. */
  addExemplar(entry: ChunkEntry, key: number, labels: Labels, e: Exemplar): void {
    const i = this.data.exemplarCount;
    this.data.addExemplar(key, labels, e);
    this.#exemplars[i] = entry;
    entry.outstanding++;
  }

  /** The chunk of float sample `i`. */
  sampleEntry(i: number): ChunkEntry {
    return this.#samples[i];
  }

  /** The chunk of histogram sample `i`. */
  histogramEntry(i: number): ChunkEntry {
    return this.#histograms[i];
  }

  /** The chunk of exemplar `i`. */
  exemplarEntry(i: number): ChunkEntry {
    return this.#exemplars[i];
  }

  /** Marks every item as settled in its chunk. */
  settle(): void {
    const d = this.data;
    for (let i = 0; i < d.length; i++) this.#samples[i].outstanding--;
    for (let i = 0; i < d.histogramCount; i++) this.#histograms[i].outstanding--;
    for (let i = 0; i < d.exemplarCount; i++) this.#exemplars[i].outstanding--;
  }

  /** Empties the batch for reuse (after `settle`). */
  reset(): void {
    this.data.reset();
    this.startedAt = 0;
    this.set = null;
  }
}

/**
 * The shard (0 ≤ shard < n) of a series key: the high bits of a
 * multiplicative hash of the ref, so consecutive refs spread evenly.
 */
export function shardOf(key: number, n: number): number {
  if (n === 1) return 0;
  return Math.floor(((Math.imul(key, 0x9e3779b1) >>> 0) * n) / 4294967296);
}

/** One shard of a set: what its sender passes to `SampleQueue.next`. */
export class Shard {
  /** @internal Sealed batches not handed out yet. */
  ready: Batch[] = [];
  /** @internal */
  waiter: (() => void) | null = null;
  /** @internal */
  open: Batch;
  constructor(readonly set: ShardSet, open: Batch) {
    this.open = open;
  }
  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/** One generation of shards: the set items are pushed to, or an older one being drained. */
export class ShardSet {
  /** Items queued in this set and not yet settled. */
  pending = 0;
  /** A newer set takes the pushes: this one seals what it has and ends once empty. */
  retired = false;
  /** The older set still being drained: this set's senders wait for it. */
  blockedBy: ShardSet | null = null;
  /** The shards; run one sender per shard. */
  readonly shards: Shard[] = [];

  /** Number of shards. */
  get size(): number {
    return this.shards.length;
  }
}

/** Options of `SampleQueue`. */
export interface SampleQueueOptions {
  /** Number of shards to start with (parallel senders). */
  shards: number;
  /** Items (samples + histograms + exemplars) per batch. */
  maxSamplesPerSend: number;
  /** Estimated encoded bytes per batch. @default Infinity */
  maxBytesPerSend?: number;
  /** Items buffered per shard before reading pauses. */
  capacity: number;
  /** A non-empty batch is sent after this long even if not full. */
  batchSendDeadlineMs: number;
  clock: Clock;
}

/** The reason a queue wait's own timer is cancelled with (one object for all). */
const WAIT_OVER = new DOMException("the wait is over", "AbortError");

/** Bounded, sharded batching queue between the WAL reader and the senders. */
export class SampleQueue {
  #cur: ShardSet;
  #prev: ShardSet | null = null;
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #perShard: number;
  readonly #deadline: number;
  readonly #clock: Clock;
  readonly #pool: Batch[] = [];
  #samples = 0;
  #histograms = 0;
  #exemplars = 0;
  /** `#samples + #histograms + #exemplars`, kept for the per-item `hasSpace` check. */
  #total = 0;
  /** `limit`, recomputed when the shard sets change. */
  #limit = 0;
  #closed = false;
  #flushing = false;
  #spaceWaiter: (() => void) | null = null;

  constructor(opts: SampleQueueOptions) {
    this.#max = Math.max(1, Math.floor(opts.maxSamplesPerSend));
    this.#maxBytes = opts.maxBytesPerSend ?? Infinity;
    // A shard must hold at least one full batch, or batches could never fill.
    this.#perShard = Math.max(opts.capacity, this.#max);
    this.#deadline = opts.batchSendDeadlineMs;
    this.#clock = opts.clock;
    this.#cur = this.#newSet(opts.shards);
    this.#updateLimit();
  }

  /** The set new items go to. */
  get current(): ShardSet {
    return this.#cur;
  }

  /** Number of shards of the current set. */
  get shards(): number {
    return this.#cur.size;
  }

  /** Whether an older shard set is still being drained. */
  get resharding(): boolean {
    return this.#prev !== null;
  }

  /** Items queued and not yet settled (open, ready and in-flight batches). */
  get pending(): number {
    return this.#total;
  }

  /** Float samples queued and not yet settled. */
  get pendingSamples(): number {
    return this.#samples;
  }

  /** Histogram samples queued and not yet settled. */
  get pendingHistograms(): number {
    return this.#histograms;
  }

  /** Exemplars queued and not yet settled. */
  get pendingExemplars(): number {
    return this.#exemplars;
  }

  /** Items the queue may hold: `capacity` per shard (of the larger set while resharding). */
  get limit(): number {
    return this.#limit;
  }

  /** Whether another item may be pushed without exceeding the capacity. */
  get hasSpace(): boolean {
    return this.#total < this.#limit;
  }

  #updateLimit(): void {
    this.#limit = this.#perShard * Math.max(this.#cur.size, this.#prev?.size ?? 0);
  }

  /** Whether `closeInput` was called. */
  get inputClosed(): boolean {
    return this.#closed;
  }

  /** Whether `flush` was called (shutdown drain). */
  get flushing(): boolean {
    return this.#flushing;
  }

  /** Queues one float sample of the series `key` read from `entry`'s chunk. */
  pushSample(
    entry: ChunkEntry,
    key: number,
    labels: Labels,
    t: number,
    v: number,
    stale: boolean,
    st: number,
  ): void {
    const set = this.#cur;
    const sh = set.shards.length === 1
      ? set.shards[0]
      : set.shards[shardOf(key, set.shards.length)];
    const b = sh.open;
    const wasEmpty = b.data.size === 0;
    if (wasEmpty) b.startedAt = this.#clock.now();
    b.addSample(entry, key, labels, t, v, stale, st);
    set.pending++;
    this.#samples++;
    this.#total++;
    this.#afterPush(set, sh, wasEmpty);
  }

  /** Queues one native histogram sample (keeps a reference to `h`). */
  pushHistogram(
    entry: ChunkEntry,
    key: number,
    labels: Labels,
    t: number,
    h: Histogram,
    stale: boolean,
    st: number,
  ): void {
    const set = this.#cur;
    const sh = set.shards[shardOf(key, set.shards.length)];
    const b = sh.open;
    const wasEmpty = b.data.size === 0;
    if (wasEmpty) b.startedAt = this.#clock.now();
    b.addHistogram(entry, key, labels, t, h, stale, st);
    set.pending++;
    this.#histograms++;
    this.#total++;
    this.#afterPush(set, sh, wasEmpty);
  }

  /** Queues one exemplar. */
  pushExemplar(entry: ChunkEntry, key: number, labels: Labels, e: Exemplar): void {
    const set = this.#cur;
    const sh = set.shards[shardOf(key, set.shards.length)];
    const b = sh.open;
    const wasEmpty = b.data.size === 0;
    if (wasEmpty) b.startedAt = this.#clock.now();
    b.addExemplar(entry, key, labels, e);
    set.pending++;
    this.#exemplars++;
    this.#total++;
    this.#afterPush(set, sh, wasEmpty);
  }

  #afterPush(set: ShardSet, sh: Shard, wasEmpty: boolean): void {
    if (sh.open.data.full) {
      this.#seal(set, sh);
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
   * Starts a new shard set of `n` shards and returns it; the caller runs one
   * sender per shard with `next(set.shards[i], …)`. New items go to it at once, and
   * every item of the current set not yet handed to a sender moves to it
   * (re-sharded, in order). Its batches are handed out once the batches
   * still in flight on the old set have settled, so a series' items are
   * never reordered. Throws while a previous reshard is still draining.
   */
  reshard(n: number): ShardSet {
    if (this.#prev !== null) throw new Error("a reshard is still in progress");
    const old = this.#cur;
    const set = this.#newSet(n);
    old.retired = true;
    this.#cur = set;
    for (const sh of old.shards) {
      for (const b of sh.ready) {
        this.#moveItems(b, set);
        this.#pool.push(b);
      }
      sh.ready.length = 0;
      if (sh.open.data.size > 0) {
        this.#moveItems(sh.open, set);
        sh.open.set = old;
      }
      sh.wake(); // its sender finds the shard empty and ends
    }
    if (old.pending > 0) {
      set.blockedBy = old;
      this.#prev = old;
    }
    this.#updateLimit();
    if (this.#spaceWaiter && this.hasSpace) this.#spaceWaiter();
    return set;
  }

  /** Moves the items of a batch not handed out yet into `set`, leaving it empty. */
  #moveItems(b: Batch, set: ShardSet): void {
    const d = b.data, shards = set.shards, n = shards.length;
    const { keys, series } = d;
    for (let i = 0; i < d.length; i++) {
      const slot = d.slots[i];
      const sh = shards[shardOf(keys[slot], n)];
      const wasEmpty = this.#adopt(sh, b.startedAt);
      sh.open.addSample(
        b.sampleEntry(i),
        keys[slot],
        series[slot],
        d.ts[i],
        d.values[i],
        d.stale[i] === 1,
        d.st[i],
      );
      this.#afterPush(set, sh, wasEmpty);
    }
    for (let i = 0; i < d.histogramCount; i++) {
      const slot = d.hSlots[i];
      const sh = shards[shardOf(keys[slot], n)];
      const wasEmpty = this.#adopt(sh, b.startedAt);
      sh.open.addHistogram(
        b.histogramEntry(i),
        keys[slot],
        series[slot],
        d.hTs[i],
        d.histograms[i],
        d.hStale[i],
        d.hSt[i],
      );
      this.#afterPush(set, sh, wasEmpty);
    }
    for (let i = 0; i < d.exemplarCount; i++) {
      const slot = d.exSlots[i];
      const sh = shards[shardOf(keys[slot], n)];
      const wasEmpty = this.#adopt(sh, b.startedAt);
      sh.open.addExemplar(b.exemplarEntry(i), keys[slot], series[slot], d.exemplars[i]);
      this.#afterPush(set, sh, wasEmpty);
    }
    // The items now count in the new set; their chunks' counts were raised by the adds.
    b.set!.pending -= d.size;
    set.pending += d.size;
    b.settle();
    b.reset();
  }

  /** Before moving an item into `sh`: keeps the earliest start time for the deadline. */
  #adopt(sh: Shard, startedAt: number): boolean {
    const b = sh.open;
    const wasEmpty = b.data.size === 0;
    if (wasEmpty || startedAt < b.startedAt) b.startedAt = startedAt;
    return wasEmpty;
  }

  /**
   * The next batch to send on shard `sh`: a full one, or the open one once
   * its deadline passed (at once when input is closed, flushing, or the set
   * is retired). Null when the shard will get nothing more (input closed, or
   * set retired, and the shard is empty), or when `signal` aborts.
   */
  async next(sh: Shard, signal: AbortSignal): Promise<Batch | null> {
    const set = sh.set;
    for (;;) {
      if (signal.aborted) return null;
      if (set.blockedBy !== null) {
        await this.#wait(sh, Infinity, signal);
        continue;
      }
      const r = sh.ready.shift();
      if (r) return r;
      if (sh.open.data.size > 0) {
        const wait = this.#closed || this.#flushing || set.retired
          ? 0
          : sh.open.startedAt + this.#deadline - this.#clock.now();
        if (wait <= 0) {
          this.#seal(set, sh);
          continue;
        }
        await this.#wait(sh, wait, signal);
      } else {
        if (this.#closed || set.retired) return null;
        await this.#wait(sh, Infinity, signal);
      }
    }
  }

  /** Settles a batch taken with `next` (sent, rejected or dropped) and recycles it. */
  done(batch: Batch): void {
    const d = batch.data;
    this.#samples -= d.length;
    this.#histograms -= d.histogramCount;
    this.#exemplars -= d.exemplarCount;
    this.#total -= d.size;
    const set = batch.set;
    if (set !== null) {
      set.pending -= d.size;
      if (set.retired && set.pending === 0 && this.#prev === set) {
        this.#prev = null;
        this.#updateLimit();
        const next = this.#cur;
        if (next.blockedBy === set) {
          next.blockedBy = null;
          for (const sh of next.shards) sh.wake();
        }
      }
    }
    batch.settle();
    batch.reset();
    this.#pool.push(batch);
    if (this.#spaceWaiter && this.hasSpace) this.#spaceWaiter();
  }

  /** From now on, partial batches are sent as soon as a sender is free (shutdown drain). */
  flush(): void {
    this.#flushing = true;
    this.#wakeAll();
  }

  /** No more items will be pushed: open batches are sent as they are. */
  closeInput(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const sh of this.#cur.shards) sh.wake();
    if (this.#prev) { for (const sh of this.#prev.shards) sh.wake(); }
  }

  #newSet(n: number): ShardSet {
    const set = new ShardSet();
    const count = Math.max(1, Math.floor(n));
    for (let i = 0; i < count; i++) set.shards.push(new Shard(set, this.#batch(set)));
    return set;
  }

  #batch(set: ShardSet): Batch {
    const b = this.#pool.pop() ?? new Batch(this.#max, this.#maxBytes);
    b.set = set;
    return b;
  }

  #seal(set: ShardSet, sh: Shard): void {
    sh.ready.push(sh.open);
    sh.open = this.#batch(set);
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
      ctl.abort(WAIT_OVER); // a shared reason: abort() alone builds a DOMException every time
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** Items dropped by `withoutOlderThan`, per kind. */
export interface AgeDrops {
  samples: number;
  histograms: number;
  exemplars: number;
}

/**
 * `data` without the items whose timestamp is below `limitTs` (sample age
 * limit), and how many were dropped. Returns `data` itself when nothing is
 * too old; otherwise a new batch (the original is left as it is).
 */
export function withoutOlderThan(
  data: WriteBatch,
  limitTs: number,
): { data: WriteBatch; dropped: AgeDrops } {
  const dropped = { samples: 0, histograms: 0, exemplars: 0 };
  for (let i = 0; i < data.length; i++) if (data.ts[i] < limitTs) dropped.samples++;
  for (let i = 0; i < data.histogramCount; i++) if (data.hTs[i] < limitTs) dropped.histograms++;
  for (let i = 0; i < data.exemplarCount; i++) {
    if (data.exemplars[i].ts < limitTs) dropped.exemplars++;
  }
  if (dropped.samples + dropped.histograms + dropped.exemplars === 0) return { data, dropped };
  const out = new WriteBatch(data.capacity, { maxBytes: data.maxBytes });
  const { series, keys } = data;
  for (let i = 0; i < data.length; i++) {
    if (data.ts[i] < limitTs) continue;
    const s = data.slots[i];
    out.add(keys[s], series[s], data.ts[i], data.values[i], data.stale[i] === 1, data.st[i]);
  }
  for (let i = 0; i < data.histogramCount; i++) {
    if (data.hTs[i] < limitTs) continue;
    const s = data.hSlots[i];
    out.addHistogram(
      keys[s],
      series[s],
      data.hTs[i],
      data.histograms[i],
      data.hStale[i],
      data.hSt[i],
    );
  }
  for (let i = 0; i < data.exemplarCount; i++) {
    const e = data.exemplars[i];
    if (e.ts < limitTs) continue;
    const s = data.exSlots[i];
    out.addExemplar(keys[s], series[s], e);
  }
  return { data: out, dropped };
}

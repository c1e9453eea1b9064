/**
 * `WriteBatch`: the items of one write request (float samples, native
 * histograms, exemplars), columnar, grouped by series slot at encode time.
 *
 * @module
 */

import type { Exemplar } from "../model/exemplar.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";

/**
 * Byte-estimate constants (see `WriteBatch.bytes`), sized on the RW 1.0
 * encoding.
 */
const EST = {
  /** `WriteRequest.timeseries` tag + a length of up to 3 bytes + slack. */
  SERIES: 5,
  /** Per label: Label tag and length, name tag and length, value tag and length. */
  LABEL: 6,
  /**
   * A float sample: tag and length (2), value (9), timestamp tag and varint
   * (7: exact for timestamps from 1971 to 2109).
   */
  SAMPLE: 18,
  /** A histogram: tag and length, count, sum, schema, zero threshold and count, hint, timestamp. */
  HISTOGRAM: 64,
  /** Per bucket span (tag, length, offset, length). */
  SPAN: 8,
  /** Per integer bucket (a zig-zag varint delta, usually 1-3 bytes). */
  INT_BUCKET: 4,
  /** Per float bucket or custom bound (a packed double). */
  FLOAT_BUCKET: 8,
  /** An exemplar without labels: tag and length, value, timestamp. */
  EXEMPLAR: 20,
} as const;

/** Estimated RW 1.0 size of a label set's `Label` messages. */
function labelBytes(labels: Labels): number {
  // Lengths of 128 bytes or more take a second varint byte; strings that long are rare.
  return labels.utf8Length() + labels.size * EST.LABEL;
}

/** Estimated RW 1.0 size of one histogram. */
function histogramBytes(h: Histogram): number {
  const buckets = h.positiveBuckets.length + h.negativeBuckets.length;
  return EST.HISTOGRAM + (h.positiveSpans.length + h.negativeSpans.length) * EST.SPAN +
    buckets * (h.float ? EST.FLOAT_BUCKET : EST.INT_BUCKET) +
    h.customValues.length * EST.FLOAT_BUCKET;
}

/** Options of `WriteBatch`. */
export interface WriteBatchOptions {
  /** Bound on the estimated encoded size (`bytes`); `full` once reached. Default: no bound. */
  maxBytes?: number;
}

/** Index ranges per series slot: items of slot `s` are `order[starts[s] .. starts[s + 1])`. */
export interface SeriesGroups {
  order: Uint32Array;
  starts: Uint32Array;
}

/**
 * The items of one write request, columnar: float samples, native histogram
 * samples and exemplars. Each item points at a series slot; a slot holds the
 * series' (already transformed) labels and the key it was added under. Items
 * of a series keep their insertion order (per kind); series are written in
 * slot order.
 *
 * `size` (all items) is what `capacity` (`max_samples_per_send`) bounds;
 * `bytes` is a running estimate of the encoded size, bounded by `maxBytes`.
 * An item may take `bytes` past `maxBytes` (it is checked after the fact:
 * callers add while `!full`).
 */
export class WriteBatch {
  /** Maximum number of items (`size`). */
  readonly capacity: number;
  /** Bound on `bytes`; Infinity when none. */
  readonly maxBytes: number;
  /** Number of float samples. */
  length = 0;
  /** Number of histogram samples. */
  histogramCount = 0;
  /** Number of exemplars. */
  exemplarCount = 0;

  /** Float sample timestamps (ms). */
  readonly ts: Float64Array;
  /** Float sample values; meaningless where `stale[i] === 1`. */
  readonly values: Float64Array;
  /** Float sample start timestamps (ms), 0 when unknown. */
  readonly st: Float64Array;
  /** 1 marks a staleness marker. */
  readonly stale: Uint8Array;
  /** The series slot of each float sample. */
  readonly slots: Uint32Array;

  /** Histogram timestamps (ms). */
  readonly hTs: number[] = [];
  /** Histogram start timestamps (ms), 0 when unknown. */
  readonly hSt: number[] = [];
  /** Whether each histogram sample is a staleness marker. */
  readonly hStale: boolean[] = [];
  /** The series slot of each histogram sample. */
  readonly hSlots: number[] = [];
  /** Histogram values (references to the caller's objects; meaningless where stale except `float`). */
  readonly histograms: Histogram[] = [];

  /** The series slot of each exemplar. */
  readonly exSlots: number[] = [];
  /** The exemplars (references to the caller's objects). */
  readonly exemplars: Exemplar[] = [];

  /** Labels per series slot. */
  readonly series: Labels[] = [];
  /** The key (series ref) per series slot. */
  readonly keys: number[] = [];
  /** Highest float or histogram sample timestamp in the batch, or -Infinity when none. */
  maxTs = -Infinity;

  readonly #slotOf: SlotTable;
  #bytes = 0;
  readonly #order: Uint32Array;
  #hOrder = new Uint32Array(0);
  #exOrder = new Uint32Array(0);
  /** Start offsets per kind: floats, histograms, exemplars. */
  readonly #starts = [new Uint32Array(16), new Uint32Array(16), new Uint32Array(16)];

  constructor(capacity: number, opts: WriteBatchOptions = {}) {
    if (!(capacity >= 1)) throw new RangeError(`batch capacity must be ≥ 1, got ${capacity}`);
    const maxBytes = opts.maxBytes ?? Infinity;
    if (!(maxBytes > 0)) throw new RangeError(`batch maxBytes must be > 0, got ${maxBytes}`);
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.st = new Float64Array(capacity);
    this.stale = new Uint8Array(capacity);
    this.slots = new Uint32Array(capacity);
    this.#order = new Uint32Array(capacity);
    this.#slotOf = new SlotTable(capacity);
  }

  /** All items: float samples + histograms + exemplars (what `capacity` bounds). */
  get size(): number {
    return this.length + this.histogramCount + this.exemplarCount;
  }

  /**
   * Running estimate of the encoded (uncompressed) RW 1.0 size in bytes: per
   * series a few bytes plus its labels' UTF-8 length and 6 per label, 18 per
   * float sample, 64 per histogram plus its spans and buckets, 20 per
   * exemplar plus its labels. Close to or a little above the real size for
   * usual data; RW 2.0 bodies are smaller.
   */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether the batch should be sent: `size >= capacity` or `bytes >= maxBytes`. */
  get full(): boolean {
    return this.length + this.histogramCount + this.exemplarCount >= this.capacity ||
      this.#bytes >= this.maxBytes;
  }

  /** Number of distinct series. */
  get seriesCount(): number {
    return this.series.length;
  }

  /** The slot of `key`, creating it with `labels` on first use. */
  #slot(key: number, labels: Labels): number {
    if (this.length + this.histogramCount + this.exemplarCount >= this.capacity) {
      throw new RangeError("batch is full");
    }
    return this.#slotOfKey(key, labels);
  }

  #slotOfKey(key: number, labels: Labels): number {
    const next = this.series.length;
    const slot = this.#slotOf.slotOf(key, next);
    if (slot === next) {
      this.series.push(labels);
      this.keys.push(key);
      this.#bytes += EST.SERIES + labelBytes(labels);
    }
    return slot;
  }

  /**
   * Appends a float sample of the series identified by `key` (a series ref)
   * with `labels`. The labels of the first item of a key are the ones sent.
   * `st` is the start (created) timestamp, 0 when unknown (sent in RW 2.0 only).
   */
  add(key: number, labels: Labels, t: number, v: number, stale: boolean, st = 0): void {
    const slot = this.#slot(key, labels);
    const i = this.length;
    this.slots[i] = slot;
    this.ts[i] = t;
    this.st[i] = st;
    this.stale[i] = stale ? 1 : 0;
    this.values[i] = stale ? 0 : v;
    if (t > this.maxTs) this.maxTs = t;
    this.length = i + 1;
    this.#bytes += EST.SAMPLE;
  }

  /**
   * Appends a native histogram sample; keeps a reference to `h` (which must
   * not change until the batch is reset). When `stale`, only `h.float` is
   * used: a stale marker is sent as an empty histogram whose sum has the
   * StaleNaN bits.
   */
  addHistogram(
    key: number,
    labels: Labels,
    t: number,
    h: Histogram,
    stale: boolean,
    st = 0,
  ): void {
    const slot = this.#slot(key, labels);
    const i = this.histogramCount;
    this.hSlots[i] = slot;
    this.hTs[i] = t;
    this.hSt[i] = st;
    this.hStale[i] = stale;
    this.histograms[i] = h;
    if (t > this.maxTs) this.maxTs = t;
    this.histogramCount = i + 1;
    this.#bytes += stale ? EST.HISTOGRAM : histogramBytes(h);
  }

  /** Appends an exemplar of a series; keeps a reference to `e`. */
  addExemplar(key: number, labels: Labels, e: Exemplar): void {
    const slot = this.#slot(key, labels);
    const i = this.exemplarCount;
    this.exSlots[i] = slot;
    this.exemplars[i] = e;
    this.exemplarCount = i + 1;
    this.#bytes += EST.EXEMPLAR + labelBytes(e.labels);
  }

  /**
   * Two batches with about half the series each, for retrying after HTTP 413.
   * A batch of one series has its items split in halves instead (float
   * samples first, then histograms, then exemplars, in order). Per series and
   * kind, items keep their order; every item lands in exactly one half. The
   * second half is empty when the batch holds at most one item. Both have
   * this batch's capacity and `maxBytes`; this batch is left unchanged.
   */
  split(): [WriteBatch, WriteBatch] {
    const opts = { maxBytes: this.maxBytes };
    const a = new WriteBatch(this.capacity, opts), b = new WriteBatch(this.capacity, opts);
    const { series, keys } = this;
    if (series.length > 1) {
      const cut = Math.ceil(series.length / 2);
      // Series keep their relative order in each half.
      for (let s = 0; s < series.length; s++) (s < cut ? a : b).#slotOfKey(keys[s], series[s]);
      for (let i = 0; i < this.length; i++) {
        const s = this.slots[i];
        (s < cut ? a : b).add(
          keys[s],
          series[s],
          this.ts[i],
          this.values[i],
          this.stale[i] === 1,
          this.st[i],
        );
      }
      for (let i = 0; i < this.histogramCount; i++) {
        const s = this.hSlots[i];
        (s < cut ? a : b).addHistogram(
          keys[s],
          series[s],
          this.hTs[i],
          this.histograms[i],
          this.hStale[i],
          this.hSt[i],
        );
      }
      for (let i = 0; i < this.exemplarCount; i++) {
        const s = this.exSlots[i];
        (s < cut ? a : b).addExemplar(keys[s], series[s], this.exemplars[i]);
      }
    } else if (series.length === 1) {
      const key = keys[0], labels = series[0];
      let left = Math.ceil(this.size / 2);
      for (let i = 0; i < this.length; i++, left--) {
        (left > 0 ? a : b).add(
          key,
          labels,
          this.ts[i],
          this.values[i],
          this.stale[i] === 1,
          this.st[i],
        );
      }
      for (let i = 0; i < this.histogramCount; i++, left--) {
        (left > 0 ? a : b).addHistogram(
          key,
          labels,
          this.hTs[i],
          this.histograms[i],
          this.hStale[i],
          this.hSt[i],
        );
      }
      for (let i = 0; i < this.exemplarCount; i++, left--) {
        (left > 0 ? a : b).addExemplar(key, labels, this.exemplars[i]);
      }
    }
    return [a, b];
  }

  /** Empties the batch for reuse (drops its references to labels, histograms and exemplars). */
  reset(): void {
    this.length = 0;
    this.histogramCount = 0;
    this.exemplarCount = 0;
    this.series.length = 0;
    this.keys.length = 0;
    this.hTs.length = 0;
    this.hSt.length = 0;
    this.hStale.length = 0;
    this.hSlots.length = 0;
    this.histograms.length = 0;
    this.exSlots.length = 0;
    this.exemplars.length = 0;
    this.#slotOf.clear();
    this.#bytes = 0;
    this.maxTs = -Infinity;
  }

  #startsFor(kind: number): Uint32Array {
    const n = this.series.length;
    let starts = this.#starts[kind];
    if (starts.length < n + 1) {
      starts = this.#starts[kind] = new Uint32Array(Math.max(n + 1, starts.length * 2));
    }
    return starts;
  }

  /**
   * Groups float sample indices by slot (a stable counting sort). The result
   * is scratch owned by the batch, valid until the next call of this method.
   */
  groupBySeries(): SeriesGroups {
    const starts = this.#startsFor(0);
    countingSort(this.slots, this.length, this.series.length, starts, this.#order);
    return { order: this.#order, starts };
  }

  /** Like `groupBySeries`, for histogram samples (separate scratch). */
  groupHistograms(): SeriesGroups {
    if (this.#hOrder.length < this.histogramCount) {
      this.#hOrder = new Uint32Array(Math.max(this.histogramCount, this.#hOrder.length * 2, 16));
    }
    const starts = this.#startsFor(1);
    countingSort(this.hSlots, this.histogramCount, this.series.length, starts, this.#hOrder);
    return { order: this.#hOrder, starts };
  }

  /** Like `groupBySeries`, for exemplars (separate scratch). */
  groupExemplars(): SeriesGroups {
    if (this.#exOrder.length < this.exemplarCount) {
      this.#exOrder = new Uint32Array(Math.max(this.exemplarCount, this.#exOrder.length * 2, 16));
    }
    const starts = this.#startsFor(2);
    countingSort(this.exSlots, this.exemplarCount, this.series.length, starts, this.#exOrder);
    return { order: this.#exOrder, starts };
  }
}

/** Stable counting sort of item indices `0..len` by `slots[i]` (< n) into `order`, filling `starts`. */
function countingSort(
  slots: ArrayLike<number>,
  len: number,
  n: number,
  starts: Uint32Array,
  order: Uint32Array,
): void {
  starts.fill(0, 0, n + 1);
  for (let i = 0; i < len; i++) starts[slots[i] + 1]++;
  for (let s = 0; s < n; s++) starts[s + 1] += starts[s];
  // Fill using a moving cursor per slot, then restore the starts.
  for (let i = 0; i < len; i++) order[starts[slots[i]]++] = i;
  for (let s = n; s > 0; s--) starts[s] = starts[s - 1];
  starts[0] = 0;
}

/**
 * Series key → slot for one batch: open addressing over typed arrays sized
 * for the batch's capacity (at most half full), emptied in O(1) by a
 * generation stamp, so filling a batch allocates nothing.
 */
class SlotTable {
  readonly #keys: Float64Array;
  readonly #slots: Uint32Array;
  readonly #stamps: Uint32Array;
  readonly #shift: number;
  readonly #mask: number;
  #gen = 1;

  constructor(capacity: number) {
    let bits = 4;
    while (1 << bits < 2 * capacity) bits++;
    this.#keys = new Float64Array(1 << bits);
    this.#slots = new Uint32Array(1 << bits);
    this.#stamps = new Uint32Array(1 << bits);
    this.#shift = 32 - bits;
    this.#mask = (1 << bits) - 1;
  }

  /** The slot of `key`; when it has none, `next` becomes its slot (and is returned). */
  slotOf(key: number, next: number): number {
    // Keys are series refs: integers below 2^53. Mix both halves, then Fibonacci hashing.
    const mixed = (key >>> 0) ^ ((key / 4294967296) >>> 0);
    let i = Math.imul(mixed, 0x9e3779b1) >>> this.#shift;
    const gen = this.#gen, keys = this.#keys, stamps = this.#stamps;
    for (;;) {
      if (stamps[i] !== gen) {
        stamps[i] = gen;
        keys[i] = key;
        this.#slots[i] = next;
        return next;
      }
      if (keys[i] === key) return this.#slots[i];
      i = (i + 1) & this.#mask;
    }
  }

  /** Forgets every key. */
  clear(): void {
    if (++this.#gen === 0xffffffff) {
      this.#stamps.fill(0);
      this.#gen = 1;
    }
  }
}

/**
 * Native histogram records (types 5 and 6; the format is described in
 * `record.ts`). An appender encodes each histogram as it is appended into a
 * `HistogramBatch`, so it keeps no histogram objects; the commit copies the
 * batch into the record. Decoding builds `HistogramSample`s for readers, or
 * only visits refs and timestamps (replay).
 *
 * @module
 */

import { type BucketSpan, emptyHistogram, type Histogram } from "../../model/histogram.ts";
import type { HistogramSample } from "../types.ts";
import { ByteReader, ByteWriter } from "./encoding.ts";
import {
  checkTimestamp,
  MAX_REF,
  readStart,
  readValue,
  RecordType,
  writeStart,
  writeValue,
} from "./format.ts";

/** Entry flag: a staleness marker (nothing follows). */
const STALE = 0x01;
/** Bits 1–2: the reset hint. */
const HINT_SHIFT = 1;
/** A zero threshold other than 0 follows. */
const ZERO_THRESHOLD = 0x08;
/** Negative spans and buckets follow. */
const NEGATIVE = 0x10;
/** Custom bucket bounds follow. */
const CUSTOM = 0x20;
const KNOWN_FLAGS = 0x3f;
/** Smallest entry: ref delta, time delta, start time and flags, one byte each. */
const MIN_ENTRY = 4;
/** Largest |bucket delta| of an integer histogram (its zigzag code must stay a safe integer). */
const MAX_DELTA = 2 ** 52 - 1;

/**
 * Why a histogram cannot be stored, or undefined when it can: schema an
 * integer in −128…127, reset hint 0…3, span offsets int32 and lengths
 * uint32 adding up to the bucket count; for integer histograms, counts are
 * non-negative safe integers and bucket deltas integers within ±(2^52 − 1).
 */
export function histogramProblem(h: Histogram): string | undefined {
  if (!(Number.isInteger(h.schema) && h.schema >= -128 && h.schema <= 127)) {
    return `schema ${h.schema} is not an integer in -128..127`;
  }
  if (!(h.resetHint >= 0 && h.resetHint <= 3 && Number.isInteger(h.resetHint))) {
    return `reset hint ${h.resetHint} is not 0..3`;
  }
  if (!h.float) {
    if (!(Number.isSafeInteger(h.count) && h.count >= 0)) {
      return `count ${h.count} of an integer histogram is not a non-negative integer`;
    }
    if (!(Number.isSafeInteger(h.zeroCount) && h.zeroCount >= 0)) {
      return `zero count ${h.zeroCount} of an integer histogram is not a non-negative integer`;
    }
  }
  return sideProblem(h.positiveSpans, h.positiveBuckets, h.float, "positive") ??
    sideProblem(h.negativeSpans, h.negativeBuckets, h.float, "negative");
}

function sideProblem(
  spans: readonly BucketSpan[],
  buckets: readonly number[],
  float: boolean,
  side: string,
): string | undefined {
  let total = 0;
  for (const s of spans) {
    if (!(Number.isInteger(s.offset) && s.offset >= -(2 ** 31) && s.offset < 2 ** 31)) {
      return `${side} span offset ${s.offset} is not an int32`;
    }
    if (!(Number.isInteger(s.length) && s.length >= 0 && s.length < 2 ** 32)) {
      return `${side} span length ${s.length} is not a uint32`;
    }
    total += s.length;
  }
  if (total !== buckets.length) {
    return `${side} spans cover ${total} buckets but there are ${buckets.length}`;
  }
  if (!float) {
    for (const b of buckets) {
      if (!(Number.isInteger(b) && b <= MAX_DELTA && b >= -MAX_DELTA)) {
        return `${side} bucket delta ${b} of an integer histogram is not an integer ` +
          "within ±(2^52 - 1)";
      }
    }
  }
  return undefined;
}

/**
 * Histogram samples of one kind (integer or float) encoded as the entries of
 * one histograms record, in append order. Reused: `reset()` keeps the memory.
 */
export class HistogramBatch {
  /** Float histograms (record type 6), else integer ones (type 5). */
  readonly float: boolean;
  readonly #w = new ByteWriter(1024);
  /** Entries so far. */
  count = 0;
  /** Ref and timestamp of the first entry (the record's base). */
  baseRef = 0;
  baseT = 0;
  /** Smallest and largest timestamp (±Infinity while empty). */
  minT = Infinity;
  maxT = -Infinity;
  #prevRef = 0;
  #prevT = 0;
  #prevSt = 0;

  constructor(float: boolean) {
    this.float = float;
  }

  /** The encoded entries (a view, valid until the next `add` or `reset`). */
  body(): Uint8Array {
    return this.#w.bytes();
  }

  /** Drops the entries, keeps the memory. */
  reset(): void {
    this.#w.reset();
    this.count = 0;
    this.minT = Infinity;
    this.maxT = -Infinity;
  }

  /**
   * Adds one sample: `h` (of this batch's kind, accepted by
   * `histogramProblem`), or a staleness marker when `h` is null. `ref` in
   * 1..MAX_REF, `t` an integer within ±MAX_TIMESTAMP, `st` 0 or normalized
   * (see `normalizeStart`).
   */
  add(ref: number, t: number, st: number, h: Histogram | null): void {
    const w = this.#w;
    if (this.count === 0) {
      this.baseRef = this.#prevRef = ref;
      this.baseT = this.#prevT = this.#prevSt = t;
    }
    w.varint(ref - this.#prevRef);
    w.varint(t - this.#prevT);
    writeStart(w, st, this.#prevSt);
    if (st !== 0) this.#prevSt = st;
    this.#prevRef = ref;
    this.#prevT = t;
    if (t < this.minT) this.minT = t;
    if (t > this.maxT) this.maxT = t;
    this.count++;
    if (h === null) {
      w.byte(STALE);
      return;
    }
    const float = this.float;
    let flags = h.resetHint << HINT_SHIFT;
    if (h.zeroThreshold !== 0) flags |= ZERO_THRESHOLD;
    if (h.negativeSpans.length > 0) flags |= NEGATIVE;
    if (h.customValues.length > 0) flags |= CUSTOM;
    w.byte(flags);
    w.varint(h.schema);
    if (flags & ZERO_THRESHOLD) writeValue(w, h.zeroThreshold);
    if (float) {
      writeValue(w, h.count);
      writeValue(w, h.zeroCount);
    } else {
      w.uvarint(h.count);
      w.uvarint(h.zeroCount);
    }
    writeValue(w, h.sum);
    writeSide(w, h.positiveSpans, h.positiveBuckets, float);
    if (flags & NEGATIVE) writeSide(w, h.negativeSpans, h.negativeBuckets, float);
    if (flags & CUSTOM) {
      const cv = h.customValues;
      w.uvarint(cv.length);
      for (let i = 0; i < cv.length; i++) writeValue(w, cv[i]);
    }
  }
}

function writeSide(
  w: ByteWriter,
  spans: readonly BucketSpan[],
  buckets: readonly number[],
  float: boolean,
): void {
  w.uvarint(spans.length);
  for (let i = 0; i < spans.length; i++) {
    w.varint(spans[i].offset);
    w.uvarint(spans[i].length);
  }
  if (float) { for (let i = 0; i < buckets.length; i++) writeValue(w, buckets[i]); }
  else for (let i = 0; i < buckets.length; i++) w.varint(buckets[i]);
}

/** Writes a histograms record for `batch` (type, count, base, entries); nothing when empty. */
export function writeHistogramsRecord(w: ByteWriter, batch: HistogramBatch): boolean {
  if (batch.count === 0) return false;
  w.byte(batch.float ? RecordType.FloatHistograms : RecordType.Histograms);
  w.uvarint(batch.count);
  w.uvarint(batch.baseRef);
  w.varint(batch.baseT);
  w.raw(batch.body());
  return true;
}

/** Called per entry of a histograms record; `h` is null for a staleness marker or when not kept. */
type EntryFn = (ref: number, t: number, st: number, stale: boolean, h: Histogram | null) => void;

/**
 * Reads a histograms record's type byte and count, checking the count is
 * possible for the record's size. Returns the count.
 */
export function histogramsHeader(r: ByteReader): number {
  const type = r.byte();
  if (type !== RecordType.Histograms && type !== RecordType.FloatHistograms) {
    r.fail("not a histograms record");
  }
  const n = r.uvarint();
  if (n === 0) r.fail("histograms record with a count of 0");
  if (n > r.remaining / MIN_ENTRY) r.fail(`histogram count ${n} past end of record`);
  return n;
}

function readEntries(rec: Uint8Array, keep: boolean, fn: EntryFn): number {
  const r = new ByteReader(rec);
  const float = rec[0] === RecordType.FloatHistograms;
  const n = histogramsHeader(r);
  let ref = r.uvarint();
  let t = r.varint();
  let prevSt = t;
  for (let i = 0; i < n; i++) {
    // Deltas from the previous entry; the first entry's are from the base (so 0).
    ref += r.varint();
    t += r.varint();
    if (ref < 1 || ref > MAX_REF) r.fail(`histogram ref ${ref} out of range`);
    checkTimestamp(r, t, "timestamp");
    const st = readStart(r, prevSt);
    if (st !== 0) prevSt = st;
    const flags = r.byte();
    if (flags & STALE) {
      if (flags !== STALE) r.fail(`stale histogram with flags ${flags}`);
      fn(ref, t, st, true, null);
      continue;
    }
    if (flags & ~KNOWN_FLAGS) r.fail(`unknown histogram flags ${flags}`);
    fn(ref, t, st, false, readBody(r, flags, { float, keep }));
  }
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes after the last histogram`);
  return n;
}

function readBody(
  r: ByteReader,
  flags: number,
  opts: { float: boolean; keep: boolean },
): Histogram | null {
  const { float, keep } = opts;
  const schema = r.varint();
  if (schema < -128 || schema > 127) r.fail(`histogram schema ${schema} out of range`);
  const zeroThreshold = flags & ZERO_THRESHOLD ? readValue(r) : 0;
  let count: number, zeroCount: number;
  if (float) {
    count = readValue(r);
    zeroCount = readValue(r);
  } else {
    count = r.uvarint();
    zeroCount = r.uvarint();
  }
  const sum = readValue(r);
  const pos = readSide(r, float, keep);
  const neg = flags & NEGATIVE ? readSide(r, float, keep) : null;
  let customValues: number[] | null = null;
  if (flags & CUSTOM) {
    const m = r.uvarint();
    if (m * 8 > r.remaining) r.fail(`custom bound count ${m} past end of record`);
    if (keep) {
      customValues = new Array<number>(m);
      for (let i = 0; i < m; i++) customValues[i] = readValue(r);
    } else r.pos += m * 8;
  }
  if (!keep) return null;
  return {
    float,
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positiveSpans: pos!.spans,
    positiveBuckets: pos!.buckets,
    negativeSpans: neg === null ? [] : neg.spans,
    negativeBuckets: neg === null ? [] : neg.buckets,
    resetHint: ((flags >> HINT_SHIFT) & 3) as Histogram["resetHint"],
    customValues: customValues ?? [],
  };
}

function readSide(
  r: ByteReader,
  float: boolean,
  keep: boolean,
): { spans: BucketSpan[]; buckets: number[] } | null {
  const n = r.uvarint();
  // Each span takes at least 2 bytes.
  if (n * 2 > r.remaining) r.fail(`span count ${n} past end of record`);
  const spans: BucketSpan[] = keep ? new Array<BucketSpan>(n) : [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const offset = r.varint();
    const length = r.uvarint();
    if (offset < -(2 ** 31) || offset >= 2 ** 31) r.fail(`span offset ${offset} out of range`);
    total += length;
    if (keep) spans[i] = { offset, length };
  }
  // Each bucket takes at least 1 byte (integer) or 8 (float).
  if (total * (float ? 8 : 1) > r.remaining) r.fail(`bucket count ${total} past end of record`);
  if (!keep) {
    if (float) r.pos += total * 8;
    else for (let i = 0; i < total; i++) r.varint();
    return null;
  }
  const buckets = new Array<number>(total);
  if (float) { for (let i = 0; i < total; i++) buckets[i] = readValue(r); }
  else for (let i = 0; i < total; i++) buckets[i] = r.varint();
  return { spans, buckets };
}

/**
 * Decodes a histograms record (integer or float), appending its samples to
 * `out` in record order; a staleness marker gets an empty histogram of the
 * record's kind. Throws `CorruptionError` on malformed content, and then
 * appends nothing.
 */
export function decodeHistograms(rec: Uint8Array, out: HistogramSample[]): void {
  const start = out.length;
  const float = rec[0] === RecordType.FloatHistograms;
  try {
    readEntries(rec, true, (ref, t, st, stale, h) => {
      out.push({ ref, t, st, stale, h: h ?? emptyHistogram(float) });
    });
  } catch (e) {
    out.length = start;
    throw e;
  }
}

/**
 * Checks a histograms record fully and calls `fn` with each sample's ref,
 * timestamp and staleness, without building histograms (replay). Returns the
 * number of samples. Throws `CorruptionError` on malformed content (`fn` may
 * have been called for the entries before the damage).
 */
export function scanHistograms(
  rec: Uint8Array,
  fn: (ref: number, t: number, stale: boolean) => void,
): number {
  return readEntries(rec, false, (ref, t, _st, stale) => fn(ref, t, stale));
}

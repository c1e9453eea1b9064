/**
 * WAL record payloads: series and samples. (The framing into fragments and
 * pages is in `segment.ts`.)
 *
 * Every record starts with a type byte. Readers skip types they do not know,
 * so later versions can add records without breaking older readers.
 *
 * Series record (type 1), repeated until the end of the record:
 *
 * ```
 * uvarint ref · uvarint n · n × (string name · string value)
 * string = uvarint byte length · UTF-8 bytes; names sorted, values non-empty
 * ```
 *
 * Samples record (type 3):
 *
 * ```
 * uvarint sample count n (≥ 1) · uvarint base ref · varint base timestamp (ms)
 * then n times, up to the end of the record:
 *   varint ref delta · varint timestamp delta · float64 value (8 bytes, little-endian)
 * ```
 *
 * The count up front lets a reader size a record's samples without decoding
 * them (segment statistics, loss reports for a record whose tail is torn or
 * damaged) and is checked against the samples found. Type 2 is the same
 * without the count (written by ferry 0.1.0 before the count was added); it
 * is still read, never written.
 *
 * Deltas are taken from the previous sample (the first from the base, which
 * is the first sample's ref and timestamp, so its deltas are 0). "varint" is
 * zigzag. A staleness marker is stored as the exact StaleNaN bits
 * `0x7ff0000000000002`; on decode, staleness is reported in a separate flag
 * and never inferred from a NaN.
 *
 * @module
 */

import { Labels } from "../../model/labels.ts";
import { isStaleNaNAt, STALE_NAN_HI, STALE_NAN_LO } from "../../model/sample.ts";
import type { SampleColumns } from "../types.ts";
import { ByteReader, ByteWriter } from "./encoding.ts";
import { CorruptionError } from "./errors.ts";

/** Record type bytes. 0 is never used (it reads as zero padding). */
export const RecordType = {
  Series: 1,
  /** Samples without a count (read only). */
  SamplesV1: 2,
  Samples: 3,
} as const;

/** Whether a record type byte is a samples record (either version). */
export function isSamplesType(type: number): boolean {
  return type === RecordType.Samples || type === RecordType.SamplesV1;
}

/** Largest series ref (refs are stored in Uint32Array columns). */
export const MAX_REF = 0xffffffff;

/** Prometheus' NormalNaN, `0x7ff8000000000001`, written for non-stale NaN values. */
const NORMAL_NAN_HI = 0x7ff80000;
const NORMAL_NAN_LO = 0x00000001;

/** Timestamps are limited to ±2^51 ms so deltas stay exact. */
export const MAX_TIMESTAMP = 2 ** 51;

/** A series as written to a series record. */
export interface SeriesEntry {
  ref: number;
  labels: Labels;
}

/**
 * Growable columnar sample storage (refs, timestamps, values, stale flags),
 * reused between batches. Implements `SampleColumns` over its current length.
 */
export class SampleBuffer implements SampleColumns {
  length = 0;
  refs: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
  stale: Uint8Array;

  constructor(capacity = 64) {
    const c = Math.max(4, capacity);
    this.refs = new Uint32Array(c);
    this.ts = new Float64Array(c);
    this.values = new Float64Array(c);
    this.stale = new Uint8Array(c);
  }

  get capacity(): number {
    return this.refs.length;
  }

  /** Empties the buffer, keeps the memory. */
  reset(): void {
    this.length = 0;
  }

  /** Appends one sample. */
  push(ref: number, t: number, v: number, stale: number): void {
    const i = this.length;
    if (i === this.refs.length) this.#grow(i * 2);
    this.refs[i] = ref;
    this.ts[i] = t;
    this.values[i] = v;
    this.stale[i] = stale;
    this.length = i + 1;
  }

  /** Makes room for at least `n` more samples. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.refs.length) this.#grow(Math.max(need, this.refs.length * 2));
  }

  /** An exact-size copy of the current content, independent of this buffer. */
  take(): SampleColumns {
    const n = this.length;
    return {
      length: n,
      refs: this.refs.slice(0, n),
      ts: this.ts.slice(0, n),
      values: this.values.slice(0, n),
      stale: this.stale.slice(0, n),
    };
  }

  #grow(cap: number): void {
    const refs = new Uint32Array(cap);
    refs.set(this.refs.subarray(0, this.length));
    const ts = new Float64Array(cap);
    ts.set(this.ts.subarray(0, this.length));
    const values = new Float64Array(cap);
    values.set(this.values.subarray(0, this.length));
    const stale = new Uint8Array(cap);
    stale.set(this.stale.subarray(0, this.length));
    this.refs = refs;
    this.ts = ts;
    this.values = values;
    this.stale = stale;
  }
}

/**
 * Encodes records back to back into one reused buffer. After a batch,
 * `buffer()` holds all records and `ends()` the end offset of each.
 */
export class RecordEncoder {
  readonly #w = new ByteWriter(64 * 1024);
  readonly #ends: number[] = [];

  /** Drops the encoded records, keeps the memory. */
  reset(): void {
    this.#w.reset();
    this.#ends.length = 0;
  }

  /** The encoded records (a view valid until the next encode or reset). */
  buffer(): Uint8Array {
    return this.#w.bytes();
  }

  /** End offset of each record in `buffer()`. */
  ends(): readonly number[] {
    return this.#ends;
  }

  /** Number of records encoded since the last reset. */
  get count(): number {
    return this.#ends.length;
  }

  /** Appends one series record holding `entries` (nothing when empty). */
  series(entries: readonly SeriesEntry[]): void {
    if (entries.length === 0) return;
    const w = this.#w;
    w.byte(RecordType.Series);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const kv = e.labels.flat();
      w.uvarint(e.ref);
      w.uvarint(kv.length >> 1);
      for (let j = 0; j < kv.length; j++) w.string(kv[j]);
    }
    this.#ends.push(w.len);
  }

  /**
   * Appends one samples record holding `cols` (nothing when empty). Refs
   * must be in 1..MAX_REF and timestamps integers within ±MAX_TIMESTAMP.
   */
  samples(cols: SampleColumns): void {
    const n = cols.length;
    if (n === 0) return;
    const w = this.#w;
    const { refs, ts, values, stale } = cols;
    // Worst case per sample: two 9-byte varints and 8 value bytes.
    w.ensure(1 + 9 + 18 + n * 26);
    w.byte(RecordType.Samples);
    w.uvarint(n);
    let prevRef = refs[0];
    let prevT = ts[0];
    w.uvarint(prevRef);
    w.varint(prevT);
    const buf = w.buf;
    const view = w.view;
    let p = w.len;
    for (let i = 0; i < n; i++) {
      const ref = refs[i];
      const t = ts[i];
      // Zigzag varints, inlined: the common case is a one-byte delta.
      let d = ref - prevRef;
      let u = d >= 0 ? d * 2 : -d * 2 - 1;
      if (u < 0x80) buf[p++] = u;
      else {
        w.len = p;
        w.uvarint(u);
        p = w.len;
      }
      d = t - prevT;
      u = d >= 0 ? d * 2 : -d * 2 - 1;
      if (u < 0x80) buf[p++] = u;
      else {
        w.len = p;
        w.uvarint(u);
        p = w.len;
      }
      const v = values[i];
      if (stale[i] === 1) {
        view.setUint32(p, STALE_NAN_LO, true);
        view.setUint32(p + 4, STALE_NAN_HI, true);
      } else if (v !== v) {
        // A NaN value: write Prometheus' NormalNaN, never whatever payload the number
        // carries (which could be StaleNaN's and would read back as a marker).
        view.setUint32(p, NORMAL_NAN_LO, true);
        view.setUint32(p + 4, NORMAL_NAN_HI, true);
      } else {
        view.setFloat64(p, v, true);
      }
      p += 8;
      prevRef = ref;
      prevT = t;
    }
    w.len = p;
    this.#ends.push(p);
  }
}

/** The type byte of a record, or 0 for an empty record. */
export function recordType(rec: Uint8Array): number {
  return rec.length === 0 ? 0 : rec[0];
}

/** Optional string interning while decoding many series (replay). */
export type Intern = (s: string) => string;

/**
 * Decodes a series record, calling `fn` for each series. Throws
 * `CorruptionError` on malformed content (including unsorted or duplicate
 * label names and empty values, which no writer produces).
 */
export function decodeSeries(
  rec: Uint8Array,
  fn: (ref: number, labels: Labels) => void,
  intern?: Intern,
): void {
  const r = new ByteReader(rec);
  if (r.byte() !== RecordType.Series) r.fail("not a series record");
  while (r.remaining > 0) {
    const ref = r.uvarint();
    if (ref === 0 || ref > MAX_REF) r.fail(`series ref ${ref} out of range`);
    const n = r.uvarint();
    // Each label takes at least 2 bytes.
    if (n * 2 > r.remaining) r.fail(`label count ${n} past end of record`);
    const kv = new Array<string>(n * 2);
    for (let i = 0; i < n; i++) {
      let name = r.string();
      let value = r.string();
      if (name === "" || value === "") r.fail("empty label name or value");
      if (i > 0 && !(kv[(i - 1) * 2] < name)) r.fail("label names not sorted");
      if (intern) {
        name = intern(name);
        value = intern(value);
      }
      kv[i * 2] = name;
      kv[i * 2 + 1] = value;
    }
    fn(ref, Labels.fromSortedFlat(kv));
  }
}

/**
 * Decodes a samples record, appending to `out`. On a `CorruptionError`
 * nothing is appended.
 */
export function decodeSamples(rec: Uint8Array, out: SampleBuffer): void {
  const r = new ByteReader(rec);
  const n = samplesHeader(r);
  let ref = r.uvarint();
  let t = r.varint();
  const start = out.length;
  // Each sample takes at least 10 bytes.
  out.reserve(n >= 0 ? n : Math.ceil(r.remaining / 10));
  const view = r.view;
  try {
    while (r.remaining > 0) {
      // Inline fast path for one-byte zigzag deltas.
      let c = rec[r.pos];
      let d: number;
      if (c < 0x80) {
        r.pos++;
        d = c & 1 ? -(c + 1) / 2 : c / 2;
      } else d = r.varint();
      ref += d;
      if (ref < 1 || ref > MAX_REF) r.fail(`sample ref ${ref} out of range`);
      c = r.pos < r.end ? rec[r.pos] : 0x80;
      if (c < 0x80) {
        r.pos++;
        d = c & 1 ? -(c + 1) / 2 : c / 2;
      } else d = r.varint();
      t += d;
      if (t > MAX_TIMESTAMP || t < -MAX_TIMESTAMP) r.fail(`timestamp ${t} out of range`);
      if (r.remaining < 8) r.fail("truncated sample value");
      const p = r.pos;
      if (isStaleNaNAt(view, p)) out.push(ref, t, NaN, 1);
      else out.push(ref, t, view.getFloat64(p, true), 0);
      r.pos = p + 8;
    }
    if (n >= 0 && out.length - start !== n) {
      r.fail(`record holds ${out.length - start} samples, its header says ${n}`);
    }
  } catch (e) {
    out.length = start;
    throw e;
  }
}

/**
 * Reads a samples record's type byte and, for the current version, its
 * sample count; returns the count, or -1 for a legacy record without one.
 */
function samplesHeader(r: ByteReader): number {
  const type = r.byte();
  if (type === RecordType.Samples) {
    const n = r.uvarint();
    if (n === 0) r.fail("samples record with a count of 0");
    // Each sample takes at least 10 bytes.
    if (n > r.remaining / 10) r.fail(`sample count ${n} past end of record`);
    return n;
  }
  if (type !== RecordType.SamplesV1) r.fail("not a samples record");
  return -1;
}

/**
 * The number of samples in a samples record: read from the header (current
 * version, not validated against the body) or counted (legacy version).
 * Throws `CorruptionError` when that is not possible.
 */
export function sampleCount(rec: Uint8Array): number {
  const r = new ByteReader(rec);
  const n = samplesHeader(r);
  if (n >= 0) return n;
  r.uvarint();
  r.varint();
  let count = 0;
  while (r.remaining > 0) {
    r.varint();
    r.varint();
    if (r.remaining < 8) r.fail("truncated sample value");
    r.pos += 8;
    count++;
  }
  return count;
}

/**
 * The sample count a possibly damaged or incomplete samples record claims in
 * its header (only the first bytes are read), or -1 when it has none or they
 * do not parse. Used to report losses, never to decode.
 */
export function claimedSampleCount(prefix: Uint8Array): number {
  if (prefix.length < 2 || prefix[0] !== RecordType.Samples) return -1;
  try {
    const r = new ByteReader(prefix);
    r.byte();
    const n = r.uvarint();
    return n > 0 ? n : -1;
  } catch {
    return -1;
  }
}

/**
 * Scans a samples record for its largest ref without keeping the samples
 * (replay uses it so new refs never collide with refs still in the WAL).
 */
export function maxSampleRef(rec: Uint8Array): number {
  const r = new ByteReader(rec);
  const n = samplesHeader(r);
  let ref = r.uvarint();
  r.varint();
  let max = 0;
  let count = 0;
  while (r.remaining > 0) {
    ref += r.varint();
    if (ref < 1 || ref > MAX_REF) r.fail(`sample ref ${ref} out of range`);
    if (ref > max) max = ref;
    r.varint();
    if (r.remaining < 8) r.fail("truncated sample value");
    r.pos += 8;
    count++;
  }
  if (n >= 0 && count !== n) r.fail(`record holds ${count} samples, its header says ${n}`);
  return max;
}

/** Wraps any decode failure of a record found at `offset` of `segment`. */
export function recordError(
  e: unknown,
  where: { segment: number; offset: number; path?: string },
): CorruptionError {
  const msg = e instanceof Error ? e.message : String(e);
  return new CorruptionError(`Cannot decode WAL record: ${msg}`, { ...where, cause: e });
}

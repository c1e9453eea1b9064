/**
 * WAL record payloads. (The framing into fragments and pages is in
 * `segment.ts`.)
 *
 * Every record starts with a type byte. Readers skip types they do not know,
 * so later versions can add records without breaking older readers.
 *
 * Conventions: "uvarint" is an unsigned LEB128 varint, "varint" a zigzag
 * one; float64 is 8 bytes little-endian; string = uvarint byte length ·
 * UTF-8 bytes; labels = uvarint n · n × (string name · string value), names
 * sorted, no duplicates, values non-empty. A NaN value is written as
 * Prometheus' NormalNaN (`0x7ff8000000000001`), never with the payload the
 * number happens to carry; only staleness markers have the StaleNaN bits
 * `0x7ff0000000000002`, and on decode staleness is reported as a separate
 * flag, never inferred from a NaN.
 *
 * Series record (type 1), repeated until the end of the record:
 *
 * ```
 * uvarint ref · labels
 * ```
 *
 * Samples record (type 3):
 *
 * ```
 * uvarint sample count n (≥ 1) · uvarint base ref · varint base timestamp (ms)
 * then n times, up to the end of the record:
 *   varint ref delta · varint timestamp delta · float64 value
 * ```
 *
 * The count up front lets a reader size a record's samples without decoding
 * them (segment statistics, loss reports for a record whose tail is torn or
 * damaged) and is checked against the samples found. Type 2 is the same
 * without the count (written by ferry 0.1.0 before the count was added); it
 * is still read, never written.
 *
 * Deltas are taken from the previous entry (the first from the base, which
 * is the first entry's ref and timestamp, so its deltas are 0). A staleness
 * marker's value is the StaleNaN bits.
 *
 * Compact samples (type 9), written instead of type 3: the same header, then
 * n times
 *
 * ```
 * varint ref delta · byte head · [varint timestamp delta] · value
 * head: bit 7 set when a timestamp delta follows (else the delta is 0: one
 *       scrape's samples share their timestamp); bits 0–4 the value's kind:
 *   0       float64, 8 bytes (NaN as NormalNaN)
 *   1       staleness marker, no bytes
 *   2       integer: varint m, the value is m
 *   3…17    decimal: varint m, the value is m / 10^(kind − 2) (exactly)
 * bits 5–6: 0
 * ```
 *
 * Counters, bucket counts and byte gauges are integers, and most other
 * values have a few decimals, so a sample takes 4–7 bytes instead of 10; a
 * value is only written as integer or decimal when it reads back bit for bit
 * (−0 and integers of 2^52 or more stay float64).
 *
 * Packed samples (type 10), written instead of type 9 for commits of 32 to
 * 262,144 samples: type 9's samples split into two columns and compressed
 * with deflate (raw, RFC 1951; zlib level 2, or util/deflate.ts's as small
 * for bodies of up to 16 KiB):
 *
 * ```
 * uvarint n · uvarint base ref · varint base timestamp
 * · uvarint size (the unpacked bytes, ≤ n × 22) · uvarint c (the control column's bytes)
 * · deflate data that inflate to exactly `size` bytes:
 *   control column (c bytes), n times: varint ref delta · byte head · [varint timestamp delta]
 *   value column (size − c bytes): the value bytes of each sample whose kind has any, in order
 * ```
 *
 * Heads and ref deltas repeat from sample to sample and compress to almost
 * nothing once they are not interleaved with values: on bench/farm.ts series
 * a sample takes 3.0 bytes instead of type 9's 5.1. Every record still
 * stands alone (no state carried from the previous one), so readers start at
 * any record and a damaged record costs only itself. A reader never inflates
 * more than `size`, and a size that does not match is corruption.
 *
 * Samples with start times (type 4), written instead of type 3 only when
 * some sample of the commit has a start time:
 *
 * ```
 * uvarint sample count n (≥ 1) · uvarint base ref · varint base timestamp
 * then n times: varint ref delta · varint timestamp delta · start · float64 value
 * start = uvarint: 0 when unknown, else zigzag(st − prev) + 1, where prev is
 *         the last known start time before it in the record, or the base
 *         timestamp when there is none (one scrape's counters mostly share
 *         a start time, so most take 1–2 bytes)
 * ```
 *
 * Native histograms (type 5 integer, type 6 float):
 *
 * ```
 * uvarint count n (≥ 1) · uvarint base ref · varint base timestamp
 * then n times:
 *   varint ref delta · varint timestamp delta · start (as in type 4)
 *   byte flags: bit 0 stale, bits 1–2 reset hint, bit 3 zero threshold,
 *               bit 4 negative buckets, bit 5 custom bounds (others: 0)
 *   a staleness marker has flags = 1 and nothing more; otherwise:
 *   varint schema (−128…127)
 *   [float64 zero threshold]                      when bit 3 (else 0)
 *   count, zero count: uvarint each (type 5) | float64 each (type 6)
 *   float64 sum
 *   positive side: uvarint spans m · m × (varint offset · uvarint length)
 *                  · Σlength buckets: varint deltas (type 5) | float64 counts (type 6)
 *   [negative side, same layout]                  when bit 4
 *   [uvarint k · k × float64 custom bounds]       when bit 5
 * ```
 *
 * A stale histogram is only the flag: no StaleNaN sum is stored, the reader
 * reports `stale` and an empty histogram of the record's kind.
 *
 * Exemplars (type 7):
 *
 * ```
 * uvarint count n (≥ 1) · uvarint base ref · varint base timestamp
 * then n times: varint ref delta · varint timestamp delta · float64 value · labels
 * ```
 *
 * Metadata (type 8), written when a series' metadata is first set or
 * changes (and for every live series with metadata into checkpoints, after
 * the series records). Series of one family share a value, so each value is
 * written once with the refs that have it; groups repeat until the end of
 * the record:
 *
 * ```
 * byte type (MetricTypeCode, 0…7) · string unit · string help
 * uvarint n (≥ 1) · n × uvarint ref delta (refs ascending; the first from 0)
 * ```
 *
 * A ref appears at most once in a record.
 *
 * @module
 */

import { deflateRawSync, inflateRawSync } from "node:zlib";
import { deflateRaw } from "../../util/deflate.ts";
import type { Labels } from "../../model/labels.ts";
import { type MetricKind, type MetricMetadata, MetricTypeCode } from "../../model/metadata.ts";
import { isStaleNaNAt, STALE_NAN_HI, STALE_NAN_LO } from "../../model/sample.ts";
import type { SampleColumns } from "../types.ts";
import { ByteReader, ByteWriter } from "./encoding.ts";
import { CorruptionError } from "./errors.ts";
import { type ExemplarBatch, writeExemplarsRecord } from "./exemplar_record.ts";
import {
  countsSamples,
  type Intern,
  isSamplesType,
  MAX_REF,
  MAX_TIMESTAMP,
  NORMAL_NAN_HI,
  NORMAL_NAN_LO,
  readLabels,
  readStart,
  RecordType,
  writeLabels,
  writeStart,
} from "./format.ts";
import {
  type HistogramBatch,
  histogramsHeader,
  writeHistogramsRecord,
} from "./histogram_record.ts";

export {
  countsSamples,
  type Intern,
  isHistogramsType,
  isSamplesType,
  MAX_REF,
  MAX_TIMESTAMP,
  RecordType,
} from "./format.ts";

/** A series as written to a series record. */
export interface SeriesEntry {
  ref: number;
  labels: Labels;
}

/** A series' metadata as written to a metadata record (nothing is written for `undefined`). */
export interface MetadataEntry {
  ref: number;
  meta: MetricMetadata | undefined;
}

/**
 * Growable columnar sample storage (refs, timestamps, values, stale flags,
 * start times), reused between batches. Implements `SampleColumns` over its
 * current length.
 *
 * Start times cost nothing when unused: `push` does not touch `st`, whose
 * entries are 0 except those `pushWithStart` set; `reset` and `truncate`
 * zero what they drop.
 */
export class SampleBuffer implements SampleColumns {
  length = 0;
  refs: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
  stale: Uint8Array;
  st: Float64Array;
  /** Whether `pushWithStart` stored a start time since the last `reset` (`st` may be non-zero). */
  hasStart = false;

  constructor(capacity = 64) {
    const c = Math.max(4, capacity);
    this.refs = new Uint32Array(c);
    this.ts = new Float64Array(c);
    this.values = new Float64Array(c);
    this.stale = new Uint8Array(c);
    this.st = new Float64Array(c);
  }

  get capacity(): number {
    return this.refs.length;
  }

  /** Empties the buffer, keeps the memory. */
  reset(): void {
    if (this.hasStart) {
      this.st.fill(0, 0, this.length);
      this.hasStart = false;
    }
    this.length = 0;
  }

  /** Drops the samples from index `n` on. */
  truncate(n: number): void {
    if (n >= this.length) return;
    if (this.hasStart) this.st.fill(0, n, this.length);
    this.length = n;
  }

  /** Appends one sample (start time unknown). */
  push(ref: number, t: number, v: number, stale: number): void {
    const i = this.length;
    if (i === this.refs.length) this.#grow(i * 2);
    this.refs[i] = ref;
    this.ts[i] = t;
    this.values[i] = v;
    this.stale[i] = stale;
    this.length = i + 1;
  }

  /** Appends one sample with its start time `st` (0: unknown). Hot path: positional arguments. */
  pushWithStart(ref: number, t: number, v: number, stale: number, st: number): void {
    const i = this.length;
    this.push(ref, t, v, stale);
    if (st !== 0) {
      this.st[i] = st;
      this.hasStart = true;
    }
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
      st: this.hasStart ? this.st.slice(0, n) : new Float64Array(n),
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
    const st = new Float64Array(cap);
    if (this.hasStart) st.set(this.st.subarray(0, this.length));
    this.refs = refs;
    this.ts = ts;
    this.values = values;
    this.stale = stale;
    this.st = st;
  }
}

/** Whether some of the first `n` start times is known. */
function anyStart(cols: SampleColumns): boolean {
  if (cols instanceof SampleBuffer) return cols.hasStart;
  const st = cols.st;
  for (let i = 0; i < cols.length; i++) if (st[i] !== 0) return true;
  return false;
}

/** Value kinds of a compact samples record (type 9). */
const KIND_FLOAT = 0, KIND_STALE = 1, KIND_INT = 2, KIND_DECIMAL = 2;
/** Most decimals a compact value has. */
const MAX_DECIMALS = 15;
/** Exact powers of ten, 10^0 … 10^15. */
const POW10: readonly number[] = Array.from({ length: MAX_DECIMALS + 1 }, (_, k) => 10 ** k);
/** Bound on a compact mantissa's magnitude (its zigzag form stays a safe integer). */
const MAX_MANTISSA = 2 ** 52;
/** The mantissa `compactKind` found for a decimal (a module variable: no object per call). */
let compactMantissa = 0;

/**
 * The compact kind of a (non-stale) value: integer, decimal (then the
 * mantissa is in `compactMantissa`) when that reads back bit for bit, else
 * float64.
 */
function compactKind(v: number): number {
  if (Number.isInteger(v)) {
    return Math.abs(v) < MAX_MANTISSA && (v !== 0 || 1 / v > 0) ? KIND_INT : KIND_FLOAT;
  }
  if (!Number.isFinite(v)) return KIND_FLOAT;
  for (let k = 1; k <= MAX_DECIMALS; k++) {
    const s = POW10[k];
    const m = Math.round(v * s);
    if (!(Math.abs(m) < MAX_MANTISSA)) return KIND_FLOAT;
    if (m / s === v) {
      compactMantissa = m;
      return KIND_DECIMAL + k;
    }
  }
  return KIND_FLOAT;
}

/**
 * Writes a samples record's type, count, base ref and base timestamp, after
 * making room for the record with `perSample` bytes a sample at most.
 */
function writeSamplesHeader(
  w: ByteWriter,
  type: number,
  cols: SampleColumns,
  perSample: number,
): void {
  w.ensure(1 + 9 + 18 + cols.length * perSample);
  w.byte(type);
  w.uvarint(cols.length);
  w.uvarint(cols.refs[0]);
  w.varint(cols.ts[0]);
}

/** Most bytes a compact sample's control part takes: ref delta (5), head, timestamp delta (8). */
const MAX_CONTROL = 14;
/** Most bytes a compact sample's value takes: float64, or a varint mantissa below 2^53. */
const MAX_VALUE = 8;
/** Commits of fewer samples are written as type 9 (deflate's header would outweigh its gain). */
const PACK_MIN_SAMPLES = 32;
/**
 * Commits of more samples are written as type 9: the column scratch stays
 * below 6 MiB, and a reader never inflates more than `MAX_PACKED_BYTES`.
 */
const PACK_MAX_SAMPLES = 262_144;
/** Largest unpacked body of a type 10 record (a larger claim is corruption). */
const MAX_PACKED_BYTES = PACK_MAX_SAMPLES * (MAX_CONTROL + MAX_VALUE);
/**
 * zlib level of type 10: level 2 packs the columns as small as level 6 does
 * (2.99 B/sample on bench/farm.ts series against 3.45 at level 1) in less time.
 */
const PACK_LEVEL = 2;
/**
 * Bodies up to this size are compressed by util/deflate.ts instead of zlib:
 * a commit of a small scrape is compressed a few times a second, too seldom
 * for node:zlib's per-call set-up code to run warm (~100 µs a call in the
 * agent against ~55); past this size zlib's C loop is the faster.
 */
const SMALL_PACK_BYTES = 16 * 1024;
/** Deflate expands at most about 1032:1, so a packed sample takes at least this many bytes. */
const MIN_PACKED_SAMPLE = 2 / 1032;

/**
 * Writes compact samples: each sample's ref delta, head and timestamp delta
 * into `ctl` and its value's bytes into `val`. With `ctl === val` they
 * interleave (type 9's body); else they are type 10's two columns. Room must
 * have been made in both.
 */
function writeCompactBody(cols: SampleColumns, ctl: ByteWriter, val: ByteWriter): void {
  const { refs, ts, values, stale } = cols;
  const same = ctl === val;
  const buf = ctl.buf;
  const view = val.view;
  let pc = ctl.len;
  let pv = val.len;
  let prevRef = refs[0];
  let prevT = ts[0];
  for (let i = 0; i < cols.length; i++) {
    const ref = refs[i];
    pc = putZigzag(ctl, pc, ref - prevRef);
    const head = pc++;
    const t = ts[i];
    let flag = 0;
    if (t !== prevT) {
      flag = 0x80;
      pc = putZigzag(ctl, pc, t - prevT);
    }
    prevRef = ref;
    prevT = t;
    if (stale[i] === 1) {
      buf[head] = flag | KIND_STALE;
      continue;
    }
    const v = values[i];
    const kind = compactKind(v);
    buf[head] = flag | kind;
    if (same) pv = pc;
    if (kind === KIND_FLOAT) {
      if (v !== v) {
        view.setUint32(pv, NORMAL_NAN_LO, true);
        view.setUint32(pv + 4, NORMAL_NAN_HI, true);
      } else {
        view.setFloat64(pv, v, true);
      }
      pv += 8;
    } else {
      pv = putZigzag(val, pv, kind === KIND_INT ? v : compactMantissa);
    }
    if (same) pc = pv;
  }
  ctl.len = pc;
  if (!same) val.len = pv;
}

/**
 * Writes `d` as a zigzag varint at `p` (room made beforehand) and returns the
 * position after it; a one-byte value, the usual case, without a call.
 */
function putZigzag(w: ByteWriter, p: number, d: number): number {
  const u = d >= 0 ? d * 2 : -d * 2 - 1;
  if (u < 0x80) {
    w.buf[p] = u;
    return p + 1;
  }
  w.len = p;
  w.uvarint(u);
  return w.len;
}

/**
 * Encodes records back to back into one reused buffer. After a batch,
 * `buffer()` holds all records and `ends()` the end offset of each.
 */
export class RecordEncoder {
  readonly #w = new ByteWriter(64 * 1024);
  readonly #ends: number[] = [];
  // Type 10's columns before they are joined and compressed.
  readonly #ctl = new ByteWriter(16 * 1024);
  readonly #val = new ByteWriter(16 * 1024);

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
      w.uvarint(e.ref);
      writeLabels(w, e.labels);
    }
    this.#ends.push(w.len);
  }

  /**
   * Appends one metadata record for the entries that have metadata (nothing
   * when none has). Entries whose metadata is the same object form one
   * group; each ref must appear at most once.
   */
  metadata(entries: readonly MetadataEntry[]): void {
    const groups = new Map<MetricMetadata, number[]>();
    for (let i = 0; i < entries.length; i++) {
      const { ref, meta } = entries[i];
      if (meta === undefined) continue;
      const refs = groups.get(meta);
      if (refs === undefined) groups.set(meta, [ref]);
      else refs.push(ref);
    }
    if (groups.size === 0) return;
    const w = this.#w;
    w.byte(RecordType.Metadata);
    for (const [meta, refs] of groups) {
      w.byte(MetricTypeCode[meta.type] ?? 0);
      w.string(meta.unit);
      w.string(meta.help);
      w.uvarint(refs.length);
      let sorted = true;
      for (let i = 1; i < refs.length && sorted; i++) sorted = refs[i - 1] < refs[i];
      if (!sorted) refs.sort((a, b) => a - b);
      let prev = 0;
      for (let i = 0; i < refs.length; i++) {
        w.uvarint(refs[i] - prev);
        prev = refs[i];
      }
    }
    this.#ends.push(w.len);
  }

  /** Appends one histograms record holding `batch` (nothing when empty). */
  histograms(batch: HistogramBatch): void {
    if (writeHistogramsRecord(this.#w, batch)) this.#ends.push(this.#w.len);
  }

  /** Appends one exemplars record holding `batch` (nothing when empty). */
  exemplars(batch: ExemplarBatch): void {
    if (writeExemplarsRecord(this.#w, batch)) this.#ends.push(this.#w.len);
  }

  /**
   * Appends one samples record holding `cols` (nothing when empty): type 3,
   * or type 4 when some sample has a start time. Refs must be in 1..MAX_REF,
   * timestamps integers within ±MAX_TIMESTAMP, start times 0 or normalized
   * (see `normalizeStart`).
   */
  samples(cols: SampleColumns): void {
    const n = cols.length;
    if (n === 0) return;
    if (anyStart(cols)) {
      this.#samplesWithStart(cols);
      return;
    }
    if (n >= PACK_MIN_SAMPLES && n <= PACK_MAX_SAMPLES) this.#samplesPacked(cols);
    else this.#samplesCompact(cols);
  }

  /** A type 9 record (see the module doc). */
  #samplesCompact(cols: SampleColumns): void {
    const w = this.#w;
    writeSamplesHeader(w, RecordType.SamplesCompact, cols, MAX_CONTROL + MAX_VALUE);
    writeCompactBody(cols, w, w);
    this.#ends.push(w.len);
  }

  /**
   * A type 10 record (see the module doc); at most `PACK_MAX_SAMPLES`
   * samples, so the body stays within `MAX_PACKED_BYTES`.
   */
  #samplesPacked(cols: SampleColumns): void {
    const ctl = this.#ctl;
    const val = this.#val;
    ctl.reset();
    val.reset();
    ctl.ensure(cols.length * MAX_CONTROL);
    val.ensure(cols.length * MAX_VALUE);
    writeCompactBody(cols, ctl, val);
    const control = ctl.len;
    ctl.raw(val.bytes());
    const body = ctl.bytes();
    const packed = body.length <= SMALL_PACK_BYTES
      ? deflateRaw(body)
      : deflateRawSync(body, { level: PACK_LEVEL });
    const w = this.#w;
    writeSamplesHeader(w, RecordType.SamplesPacked, cols, 0);
    w.uvarint(body.length);
    w.uvarint(control);
    w.raw(packed);
    this.#ends.push(w.len);
  }

  /** A type 3 record (no longer written; kept for tests of the readers). */
  samplesV3(cols: SampleColumns): void {
    if (cols.length === 0) return;
    const w = this.#w;
    const { refs, ts, values, stale } = cols;
    // Worst case per sample: two 9-byte varints and 8 value bytes.
    writeSamplesHeader(w, RecordType.Samples, cols, 26);
    let prevRef = refs[0];
    let prevT = ts[0];
    const view = w.view;
    let p = w.len;
    for (let i = 0; i < cols.length; i++) {
      const ref = refs[i];
      const t = ts[i];
      p = putZigzag(w, p, ref - prevRef);
      p = putZigzag(w, p, t - prevT);
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

  /** A type 4 record: like type 3 with a start time before each value. */
  #samplesWithStart(cols: SampleColumns): void {
    const n = cols.length;
    const w = this.#w;
    const { refs, ts, values, stale, st } = cols;
    w.byte(RecordType.SamplesWithStart);
    w.uvarint(n);
    let prevRef = refs[0];
    let prevT = ts[0];
    let prevSt = prevT;
    w.uvarint(prevRef);
    w.varint(prevT);
    for (let i = 0; i < n; i++) {
      const ref = refs[i];
      const t = ts[i];
      w.varint(ref - prevRef);
      w.varint(t - prevT);
      const s = st[i];
      writeStart(w, s, prevSt);
      if (s !== 0) prevSt = s;
      w.ensure(8);
      const v = values[i];
      if (stale[i] === 1) {
        w.view.setUint32(w.len, STALE_NAN_LO, true);
        w.view.setUint32(w.len + 4, STALE_NAN_HI, true);
      } else if (v !== v) {
        w.view.setUint32(w.len, NORMAL_NAN_LO, true);
        w.view.setUint32(w.len + 4, NORMAL_NAN_HI, true);
      } else {
        w.view.setFloat64(w.len, v, true);
      }
      w.len += 8;
      prevRef = ref;
      prevT = t;
    }
    this.#ends.push(w.len);
  }
}

/** The type byte of a record, or 0 for an empty record. */
export function recordType(rec: Uint8Array): number {
  return rec.length === 0 ? 0 : rec[0];
}

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
    fn(ref, readLabels(r, intern));
  }
}

/** Metric kinds by type code. */
const KINDS: MetricKind[] = [];
for (const [k, code] of Object.entries(MetricTypeCode)) KINDS[code] = k as MetricKind;

/**
 * Decodes a metadata record, calling `fn` for each series (the series of one
 * group get the same object). Throws `CorruptionError` on malformed content
 * (including unknown type codes and refs not ascending within a group).
 */
export function decodeMetadata(
  rec: Uint8Array,
  fn: (ref: number, meta: MetricMetadata) => void,
  intern?: Intern,
): void {
  const r = new ByteReader(rec);
  if (r.byte() !== RecordType.Metadata) r.fail("not a metadata record");
  while (r.remaining > 0) {
    const code = r.byte();
    const type = KINDS[code];
    if (type === undefined) r.fail(`unknown metric type code ${code}`);
    let unit = r.string();
    let help = r.string();
    if (intern) {
      unit = intern(unit);
      help = intern(help);
    }
    const meta: MetricMetadata = { type, help, unit };
    const n = r.uvarint();
    if (n === 0 || n > r.remaining) r.fail(`metadata group of ${n} series`);
    let ref = 0;
    for (let i = 0; i < n; i++) {
      const d = r.uvarint();
      ref += d;
      if ((d === 0 && i > 0) || ref === 0 || ref > MAX_REF) {
        r.fail(`metadata ref ${ref} out of range or order`);
      }
      fn(ref, meta);
    }
  }
}

/**
 * Decodes a float samples record (type 2, 3 or 4), appending to `out`. On a
 * `CorruptionError` nothing is appended.
 */
export function decodeSamples(rec: Uint8Array, out: SampleBuffer): void {
  const r = new ByteReader(rec);
  const n = samplesHeader(r);
  let ref = r.uvarint();
  let t = r.varint();
  const start = out.length;
  if (rec[0] === RecordType.SamplesWithStart) {
    decodeWithStart(r, { n, ref, t, out });
    return;
  }
  if (rec[0] === RecordType.SamplesCompact) {
    decodeCompact(r, r, { n, ref, t, out });
    return;
  }
  if (rec[0] === RecordType.SamplesPacked) {
    decodePacked(r, { n, ref, t, out });
    return;
  }
  // Each sample takes at least 10 bytes.
  out.reserve(n >= 0 ? n : Math.ceil(r.remaining / 10));
  const view = r.view;
  try {
    while (r.remaining > 0) {
      ref += readZigzag(r);
      if (ref < 1 || ref > MAX_REF) r.fail(`sample ref ${ref} out of range`);
      t += readZigzag(r);
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
    out.truncate(start);
    throw e;
  }
}

/** A zigzag varint; a one-byte one, the usual case, without a call. */
function readZigzag(r: ByteReader): number {
  const c = r.pos < r.end ? r.buf[r.pos] : 0x80;
  if (c < 0x80) {
    r.pos++;
    return c & 1 ? -(c + 1) / 2 : c / 2;
  }
  return r.varint();
}

/** The body of a type 10 record (after the base), appended to `out`. */
function decodePacked(
  r: ByteReader,
  s: { n: number; ref: number; t: number; out: SampleBuffer },
): void {
  const size = r.uvarint();
  const control = r.uvarint();
  if (size > MAX_PACKED_BYTES || size < 2 * s.n || size > s.n * (MAX_CONTROL + MAX_VALUE)) {
    r.fail(`unpacked size ${size} does not fit ${s.n} samples`);
  }
  if (control < 2 * s.n || control > size) r.fail(`control column of ${control} bytes`);
  let body: Uint8Array;
  try {
    body = inflateRawSync(r.buf.subarray(r.pos, r.end), { maxOutputLength: size });
  } catch (e) {
    r.fail(`packed samples do not inflate (${e instanceof Error ? e.message : e})`);
  }
  if (body.length !== size) r.fail(`packed samples inflate to ${body.length} bytes, not ${size}`);
  const val = new ByteReader(body, control);
  decodeCompact(new ByteReader(body.subarray(0, control)), val, s);
}

/**
 * The samples of a type 9 record (after the base), appended to `out`: the
 * control parts (ref delta, head, timestamp delta) from `ctl`, the value
 * bytes from `val`; the same reader for type 9, one per column for type 10.
 * Both must end with the last sample.
 */
function decodeCompact(
  ctl: ByteReader,
  val: ByteReader,
  s: { n: number; ref: number; t: number; out: SampleBuffer },
): void {
  const { n, out } = s;
  let { ref, t } = s;
  const start = out.length;
  out.reserve(n);
  const view = val.view;
  try {
    for (let i = 0; i < n; i++) {
      ref += readZigzag(ctl);
      if (ref < 1 || ref > MAX_REF) ctl.fail(`sample ref ${ref} out of range`);
      const head = ctl.byte();
      if (head & 0x80) {
        t += ctl.varint();
        if (t > MAX_TIMESTAMP || t < -MAX_TIMESTAMP) ctl.fail(`timestamp ${t} out of range`);
      }
      const kind = head & 0x7f;
      if (kind === KIND_STALE) {
        out.push(ref, t, NaN, 1);
        continue;
      }
      if (kind === KIND_FLOAT) {
        if (val.remaining < 8) val.fail("truncated sample value");
        const p = val.pos;
        // No writer puts StaleNaN bits here (markers have their kind); if some did, they mean one.
        if (isStaleNaNAt(view, p)) out.push(ref, t, NaN, 1);
        else out.push(ref, t, view.getFloat64(p, true), 0);
        val.pos = p + 8;
        continue;
      }
      if (kind > KIND_DECIMAL + MAX_DECIMALS) ctl.fail(`unknown sample value kind ${head}`);
      const m = readZigzag(val);
      out.push(ref, t, kind === KIND_INT ? m : m / POW10[kind - KIND_DECIMAL], 0);
    }
    if (ctl.remaining !== 0) ctl.fail(`${ctl.remaining} bytes after the last sample`);
    if (val.remaining !== 0) val.fail(`${val.remaining} bytes after the last sample's value`);
  } catch (e) {
    out.truncate(start);
    throw e;
  }
}

/** The body of a type 4 record (after the base), appended to `out`. */
function decodeWithStart(
  r: ByteReader,
  s: { n: number; ref: number; t: number; out: SampleBuffer },
): void {
  const { n, out } = s;
  let { ref, t } = s;
  let prevSt = t;
  const start = out.length;
  out.reserve(n);
  const view = r.view;
  try {
    for (let i = 0; i < n; i++) {
      ref += r.varint();
      if (ref < 1 || ref > MAX_REF) r.fail(`sample ref ${ref} out of range`);
      t += r.varint();
      if (t > MAX_TIMESTAMP || t < -MAX_TIMESTAMP) r.fail(`timestamp ${t} out of range`);
      const st = readStart(r, prevSt);
      if (st !== 0) prevSt = st;
      if (r.remaining < 8) r.fail("truncated sample value");
      const p = r.pos;
      if (isStaleNaNAt(view, p)) out.pushWithStart(ref, t, NaN, 1, st);
      else out.pushWithStart(ref, t, view.getFloat64(p, true), 0, st);
      r.pos = p + 8;
    }
    if (r.remaining !== 0) r.fail(`${r.remaining} bytes after the last sample`);
  } catch (e) {
    out.truncate(start);
    throw e;
  }
}

/** Smallest sample of a type 3 record (1 + 1 + 8 bytes) and of a type 4 record (one more). */
const MIN_SAMPLE = 10;
/** Smallest sample of a type 9 record: a ref delta and a head (a staleness marker). */
const MIN_COMPACT_SAMPLE = 2;

/**
 * Reads a samples record's type byte and, for the current versions, its
 * sample count; returns the count, or -1 for a legacy record without one.
 */
function samplesHeader(r: ByteReader): number {
  const type = r.byte();
  if (
    type === RecordType.SamplesCompact || type === RecordType.Samples ||
    type === RecordType.SamplesWithStart || type === RecordType.SamplesPacked
  ) {
    const n = r.uvarint();
    if (n === 0) r.fail("samples record with a count of 0");
    const min = type === RecordType.SamplesPacked
      ? MIN_PACKED_SAMPLE
      : type === RecordType.SamplesCompact
      ? MIN_COMPACT_SAMPLE
      : type === RecordType.Samples
      ? MIN_SAMPLE
      : MIN_SAMPLE + 1;
    if (n > r.remaining / min) r.fail(`sample count ${n} past end of record`);
    return n;
  }
  if (type !== RecordType.SamplesV1) r.fail("not a samples record");
  return -1;
}

/**
 * The number of samples in a float samples or histograms record (see
 * `countsSamples`): read from the header (not validated against the body),
 * or counted (legacy samples records). Throws `CorruptionError` when that is
 * not possible.
 */
export function sampleCount(rec: Uint8Array): number {
  const r = new ByteReader(rec);
  if (rec.length > 0 && !isSamplesType(rec[0]) && countsSamples(rec[0])) {
    return histogramsHeader(r);
  }
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
 * The sample count a possibly damaged or incomplete samples or histograms
 * record claims in its header (only the first bytes are read), or -1 when it
 * has none or they do not parse. Used to report losses, never to decode.
 */
export function claimedSampleCount(prefix: Uint8Array): number {
  if (prefix.length < 2) return -1;
  const type = prefix[0];
  if (type === RecordType.SamplesV1 || !countsSamples(type)) return -1;
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
 * Scans a float samples record for its largest ref without keeping the
 * samples.
 */
export function maxSampleRef(rec: Uint8Array): number {
  const r = new ByteReader(rec);
  const n = samplesHeader(r);
  if (rec[0] === RecordType.SamplesCompact || rec[0] === RecordType.SamplesPacked) {
    // Rare (a series record lost to damage): decoding the record costs no more than scanning it.
    const out = new SampleBuffer(n);
    decodeSamples(rec, out);
    let max = 0;
    for (let i = 0; i < out.length; i++) if (out.refs[i] > max) max = out.refs[i];
    return max;
  }
  const withStart = rec[0] === RecordType.SamplesWithStart;
  let ref = r.uvarint();
  r.varint();
  let max = 0;
  let count = 0;
  while (r.remaining > 0) {
    ref += r.varint();
    if (ref < 1 || ref > MAX_REF) r.fail(`sample ref ${ref} out of range`);
    if (ref > max) max = ref;
    r.varint();
    if (withStart) r.uvarint();
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

/**
 * Remote Write 1.0 encoding and decoding, and the snappy block format.
 *
 * The encoder is the hot path: it takes a columnar `WriteBatch` (no object
 * per sample) and writes `prometheus.WriteRequest` with protobufjs' low-level
 * `Writer`. Staleness markers never pass through a float writer: their value
 * field is the tag followed by the raw StaleNaN bits.
 *
 * The decoder (receiver, tests) uses protobufjs reflection over a twin schema
 * whose `double` fields are declared `fixed64`, so the 64 value bits arrive
 * untouched and stale markers are recognised by their bits.
 *
 * @module
 */

import protobuf from "protobufjs";
import snappy from "snappyjs";
import type { Labels } from "../model/labels.ts";
import { STALE_NAN_HI, STALE_NAN_LO } from "../model/sample.ts";
import { RawWriteRequestType, TAG } from "./proto/rw1.ts";

/** A malformed request body (bad snappy stream, bad protobuf, over the size limit). */
export class CodecError extends Error {
  override name = "CodecError";
}

// ---------------------------------------------------------------------------
// Batch

/**
 * Samples of one write request, columnar. Each sample points at a series slot;
 * a slot holds the series' (already transformed) labels. Samples of a series
 * keep their insertion order; series are written in slot order.
 */
export class WriteBatch {
  /** Maximum number of samples. */
  readonly capacity: number;
  /** Number of samples. */
  length = 0;
  /** Sample timestamps (ms). */
  readonly ts: Float64Array;
  /** Sample values; meaningless where `stale[i] === 1`. */
  readonly values: Float64Array;
  /** 1 marks a staleness marker. */
  readonly stale: Uint8Array;
  /** The series slot of each sample. */
  readonly slots: Uint32Array;
  /** Labels per series slot. */
  readonly series: Labels[] = [];
  /** Highest sample timestamp in the batch, or -Infinity when empty. */
  maxTs = -Infinity;

  readonly #slotOf = new Map<number, number>();
  #starts = new Uint32Array(16);
  readonly #order: Uint32Array;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`batch capacity must be ≥ 1, got ${capacity}`);
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.stale = new Uint8Array(capacity);
    this.slots = new Uint32Array(capacity);
    this.#order = new Uint32Array(capacity);
  }

  /** Number of distinct series. */
  get seriesCount(): number {
    return this.series.length;
  }

  /** Whether no more samples fit. */
  get full(): boolean {
    return this.length >= this.capacity;
  }

  /**
   * Appends a sample of the series identified by `key` (a series ref) with
   * `labels`. The labels of the first sample of a key are the ones sent.
   */
  add(key: number, labels: Labels, t: number, v: number, stale: boolean): void {
    const i = this.length;
    if (i >= this.capacity) throw new RangeError("batch is full");
    let slot = this.#slotOf.get(key);
    if (slot === undefined) {
      slot = this.series.length;
      this.series.push(labels);
      this.#slotOf.set(key, slot);
    }
    this.slots[i] = slot;
    this.ts[i] = t;
    this.stale[i] = stale ? 1 : 0;
    this.values[i] = stale ? 0 : v;
    if (t > this.maxTs) this.maxTs = t;
    this.length = i + 1;
  }

  /** Empties the batch for reuse. */
  reset(): void {
    this.length = 0;
    this.series.length = 0;
    this.#slotOf.clear();
    this.maxTs = -Infinity;
  }

  /**
   * Groups sample indices by slot (a stable counting sort). Returns the order
   * array and the start offsets: samples of slot `s` are
   * `order[starts[s] .. starts[s + 1])`. Both are scratch owned by the batch.
   */
  groupBySeries(): { order: Uint32Array; starts: Uint32Array } {
    const n = this.series.length;
    if (this.#starts.length < n + 1) {
      this.#starts = new Uint32Array(Math.max(n + 1, this.#starts.length * 2));
    }
    const starts = this.#starts;
    starts.fill(0, 0, n + 1);
    const slots = this.slots, len = this.length;
    for (let i = 0; i < len; i++) starts[slots[i] + 1]++;
    for (let s = 0; s < n; s++) starts[s + 1] += starts[s];
    // Fill using a moving cursor per slot, then restore the starts.
    const order = this.#order;
    for (let i = 0; i < len; i++) order[starts[slots[i]]++] = i;
    for (let s = n; s > 0; s--) starts[s] = starts[s - 1];
    starts[0] = 0;
    return { order, starts };
  }
}

// ---------------------------------------------------------------------------
// Encoding

/** Options of `encodeWriteRequest`. */
export interface EncodeOptions {
  /**
   * A writer to reuse across calls; the returned bytes are then a view into
   * its buffer, valid until its next use.
   */
  writer?: protobuf.Writer;
  /**
   * Encoded label blocks by `Labels` object. Series keep their `Labels`
   * object, so steady series are encoded once; entries go away with the
   * `Labels`. Costs about the encoded label size per live series.
   */
  labelCache?: WeakMap<Labels, Uint8Array>;
}

/** Scratch writer for label blocks going into a cache. */
const labelWriter = new protobuf.Writer();

/** Encodes `batch` as a `prometheus.WriteRequest`. */
export function encodeWriteRequest(batch: WriteBatch, opts: EncodeOptions = {}): Uint8Array {
  const { writer, labelCache } = opts;
  const w = writer ?? new protobuf.Writer();
  if (writer) w.reset();
  const { order, starts } = batch.groupBySeries();
  const { ts, values, stale, series } = batch;
  for (let s = 0; s < series.length; s++) {
    w.uint32(TAG.WRITE_REQUEST_TIMESERIES).fork();
    if (labelCache) {
      const labels = series[s];
      let block = labelCache.get(labels);
      if (block === undefined) {
        labelWriter.reset();
        writeLabels(labelWriter, labels);
        block = labelWriter.finish();
        labelCache.set(labels, block);
      }
      w.raw(block);
    } else {
      writeLabels(w, series[s]);
    }
    const end = starts[s + 1];
    for (let k = starts[s]; k < end; k++) {
      const i = order[k];
      w.uint32(TAG.TIMESERIES_SAMPLES).fork();
      if (stale[i] === 1) {
        // Raw StaleNaN bits, little-endian: 02 00 00 00 00 00 f0 7f.
        w.uint32(TAG.SAMPLE_VALUE).fixed32(STALE_NAN_LO).fixed32(STALE_NAN_HI);
      } else {
        w.uint32(TAG.SAMPLE_VALUE).double(values[i]);
      }
      w.uint32(TAG.SAMPLE_TIMESTAMP).int64(ts[i]);
      w.ldelim();
    }
    w.ldelim();
  }
  return writer ? w.finish(true) : w.finish();
}

/** Writes the `TimeSeries.labels` fields of a series. */
function writeLabels(w: protobuf.Writer, labels: Labels): void {
  const kv = labels.flat();
  for (let j = 0; j < kv.length; j += 2) {
    const name = kv[j], value = kv[j + 1];
    // The protocol forbids empty names and values; Labels never holds empty values.
    if (name === "" || value === "") continue;
    w.uint32(TAG.TIMESERIES_LABELS).fork()
      .uint32(TAG.LABEL_NAME).string(name)
      .uint32(TAG.LABEL_VALUE).string(value)
      .ldelim();
  }
}

// ---------------------------------------------------------------------------
// Decoding

/** One decoded `TimeSeries`. */
export interface DecodedSeries {
  /** Label pairs in wire order (a valid request has them sorted by name). */
  labels: [string, string][];
  /** Sample timestamps (ms). */
  timestamps: number[];
  /** Sample values; `NaN` where `stale[i]`. */
  values: number[];
  /** Whether each sample's value had exactly the StaleNaN bits. */
  stale: boolean[];
  /** Number of exemplars (not otherwise decoded). */
  exemplars: number;
}

/** A decoded `prometheus.WriteRequest`. */
export interface DecodedWriteRequest {
  series: DecodedSeries[];
  /** Total samples. */
  samples: number;
  /** Samples that are staleness markers. */
  staleMarkers: number;
  /** Number of `MetricMetadata` entries. */
  metadata: number;
}

interface LongLike {
  low: number;
  high: number;
  toNumber(): number;
}
interface RawLabel {
  name: string;
  value: string;
}
interface RawSample {
  value: LongLike | number;
  timestamp: LongLike | number;
}
interface RawSeries {
  labels: RawLabel[];
  samples: RawSample[];
  exemplars: unknown[];
}
interface RawRequest {
  timeseries: RawSeries[];
  metadata: unknown[];
}

const scratch = new DataView(new ArrayBuffer(8));

function toInt(v: LongLike | number): number {
  return typeof v === "number" ? v : v.toNumber();
}

/**
 * Decodes an uncompressed `prometheus.WriteRequest`. Stale markers are
 * recognised by the raw bits of the value field. Throws `CodecError` on a
 * malformed message.
 */
export function decodeWriteRequest(bytes: Uint8Array): DecodedWriteRequest {
  let msg: RawRequest;
  try {
    msg = RawWriteRequestType.decode(bytes) as unknown as RawRequest;
  } catch (e) {
    throw new CodecError(`invalid protobuf: ${(e as Error).message}`);
  }
  const out: DecodedWriteRequest = { series: [], samples: 0, staleMarkers: 0, metadata: 0 };
  out.metadata = msg.metadata.length;
  for (const ts of msg.timeseries) {
    const s: DecodedSeries = {
      labels: ts.labels.map((l) => [l.name, l.value]),
      timestamps: [],
      values: [],
      stale: [],
      exemplars: ts.exemplars.length,
    };
    for (const smp of ts.samples) {
      let lo = 0, hi = 0;
      if (typeof smp.value === "number") {
        // Only reached for an absent field (default 0).
        scratch.setFloat64(0, smp.value, true);
        lo = scratch.getUint32(0, true);
        hi = scratch.getUint32(4, true);
      } else {
        lo = smp.value.low >>> 0;
        hi = smp.value.high >>> 0;
      }
      const isStale = lo === STALE_NAN_LO && hi === STALE_NAN_HI;
      let v = NaN;
      if (!isStale) {
        scratch.setUint32(0, lo, true);
        scratch.setUint32(4, hi, true);
        v = scratch.getFloat64(0, true);
      } else {
        out.staleMarkers++;
      }
      s.timestamps.push(toInt(smp.timestamp));
      s.values.push(v);
      s.stale.push(isStale);
    }
    out.samples += s.timestamps.length;
    out.series.push(s);
  }
  return out;
}

/**
 * Checks a series' labels against the RW 1.0 rules: non-empty names and
 * values, sorted by name, no duplicates. Returns the problem, or null.
 */
export function checkLabels(labels: readonly (readonly [string, string])[]): string | null {
  for (let i = 0; i < labels.length; i++) {
    const [n, v] = labels[i];
    if (n === "") return "empty label name";
    if (v === "") return `empty value for label ${JSON.stringify(n)}`;
    if (i > 0) {
      const p = labels[i - 1][0];
      if (p === n) return `duplicate label name ${JSON.stringify(n)}`;
      if (p > n) return `labels not sorted: ${JSON.stringify(p)} before ${JSON.stringify(n)}`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Snappy (block format)

/** Default cap on a decompressed request: 32 MiB. */
export const DEFAULT_MAX_DECODED_BYTES = 32 << 20;

/** Compresses with the snappy block format (never the framed format). */
export function snappyEncode(data: Uint8Array): Uint8Array {
  return snappy.compress(data) as Uint8Array;
}

/**
 * Decompresses a snappy block. Validates the whole stream first (declared
 * length within `maxLength`, every copy in range, output exactly the declared
 * length) so a bomb or a truncated body is rejected before allocating.
 */
export function snappyDecode(data: Uint8Array, maxLength = DEFAULT_MAX_DECODED_BYTES): Uint8Array {
  const declared = snappyValidate(data, maxLength);
  let out: Uint8Array;
  try {
    out = snappy.uncompress(data, maxLength) as Uint8Array;
  } catch (e) {
    throw new CodecError(`snappy: ${(e as Error).message}`);
  }
  if (out.length !== declared) throw new CodecError("snappy: length mismatch");
  return out;
}

/** The declared decoded length of a snappy block, after validating the stream. */
function snappyValidate(a: Uint8Array, maxLength: number): number {
  let pos = 0, len = 0, shift = 0;
  for (;;) {
    if (pos >= a.length || shift > 28) throw new CodecError("snappy: bad length header");
    const c = a[pos++];
    len += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
    shift += 7;
  }
  if (len > maxLength) {
    throw new CodecError(`snappy: decoded size ${len} exceeds limit ${maxLength}`);
  }
  let out = 0;
  while (pos < a.length) {
    const c = a[pos++];
    const kind = c & 3;
    if (kind === 0) {
      let n = (c >>> 2) + 1;
      if (n > 60) {
        const extra = n - 60;
        if (pos + extra > a.length) throw new CodecError("snappy: truncated literal header");
        n = 0;
        for (let k = 0; k < extra; k++) n += a[pos + k] * 2 ** (8 * k);
        n += 1;
        pos += extra;
      }
      if (pos + n > a.length) throw new CodecError("snappy: truncated literal");
      pos += n;
      out += n;
    } else {
      let n: number, off: number;
      if (kind === 1) {
        if (pos + 1 > a.length) throw new CodecError("snappy: truncated copy");
        n = ((c >>> 2) & 7) + 4;
        off = ((c >>> 5) << 8) | a[pos];
        pos += 1;
      } else if (kind === 2) {
        if (pos + 2 > a.length) throw new CodecError("snappy: truncated copy");
        n = (c >>> 2) + 1;
        off = a[pos] | (a[pos + 1] << 8);
        pos += 2;
      } else {
        if (pos + 4 > a.length) throw new CodecError("snappy: truncated copy");
        n = (c >>> 2) + 1;
        off = (a[pos] | (a[pos + 1] << 8) | (a[pos + 2] << 16)) + a[pos + 3] * 2 ** 24;
        pos += 4;
      }
      if (off === 0 || off > out) throw new CodecError("snappy: copy offset out of range");
      out += n;
    }
    if (out > len) throw new CodecError("snappy: output exceeds declared length");
  }
  if (out !== len) throw new CodecError("snappy: output shorter than declared length");
  return len;
}

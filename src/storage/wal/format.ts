/**
 * Pieces shared by the WAL record formats (the formats themselves are
 * described in `record.ts`): record type bytes, limits, how values, start
 * times and label sets are written, and their bounds-checked readers.
 *
 * @module
 */

import { Labels } from "../../model/labels.ts";
import type { ByteReader, ByteWriter } from "./encoding.ts";

/** Record type bytes. 0 is never used (it reads as zero padding). */
export const RecordType = {
  Series: 1,
  /** Samples without a count (read only). */
  SamplesV1: 2,
  Samples: 3,
  /** Float samples with start times (written when some sample of the commit has one). */
  SamplesWithStart: 4,
  /** Integer native histograms. */
  Histograms: 5,
  /** Float native histograms. */
  FloatHistograms: 6,
  Exemplars: 7,
  Metadata: 8,
  /** Float samples with compact values (written instead of type 3; ferry 0.1.0 skips it). */
  SamplesCompact: 9,
  /**
   * Compact float samples in two columns, deflate-compressed (written instead of type 9
   * for commits of 32 samples or more; ferry before it skips them).
   */
  SamplesPacked: 10,
} as const;

/** Whether a record type byte is a float samples record (any version, with start times or not). */
export function isSamplesType(type: number): boolean {
  return type === RecordType.SamplesPacked || type === RecordType.SamplesCompact ||
    type === RecordType.Samples || type === RecordType.SamplesV1 ||
    type === RecordType.SamplesWithStart;
}

/** Whether a record type byte is a native histograms record (integer or float). */
export function isHistogramsType(type: number): boolean {
  return type === RecordType.Histograms || type === RecordType.FloatHistograms;
}

/**
 * Whether records of this type count toward sample totals (segment
 * statistics, drops, loss reports): float samples and histogram samples.
 * Exemplars, series and metadata records count zero.
 */
export function countsSamples(type: number): boolean {
  return (type >= RecordType.SamplesV1 && type <= RecordType.FloatHistograms) ||
    type === RecordType.SamplesCompact || type === RecordType.SamplesPacked;
}

/** Largest series ref (refs are stored in Uint32Array columns). */
export const MAX_REF = 0xffffffff;

/**
 * Timestamps (and start times) are limited to ±(2^51 − 1) ms, so deltas
 * between them and their zigzag codes stay safe integers.
 */
export const MAX_TIMESTAMP = 2 ** 51 - 1;

/** Prometheus' NormalNaN, `0x7ff8000000000001`, written for non-stale NaN values. */
export const NORMAL_NAN_HI = 0x7ff80000;
/** Low 32 bits of NormalNaN. */
export const NORMAL_NAN_LO = 0x00000001;

/**
 * Writes a little-endian float64. A NaN is written as NormalNaN, never with
 * whatever payload the number carries (which could be StaleNaN's).
 */
export function writeValue(w: ByteWriter, v: number): void {
  w.ensure(8);
  if (v !== v) {
    w.view.setUint32(w.len, NORMAL_NAN_LO, true);
    w.view.setUint32(w.len + 4, NORMAL_NAN_HI, true);
  } else w.view.setFloat64(w.len, v, true);
  w.len += 8;
}

/** Reads a little-endian float64. */
export function readValue(r: ByteReader): number {
  if (r.remaining < 8) r.fail("truncated float value");
  const v = r.view.getFloat64(r.pos, true);
  r.pos += 8;
  return v;
}

/** Fails unless `t` is a timestamp within ±MAX_TIMESTAMP. */
export function checkTimestamp(r: ByteReader, t: number, what: string): void {
  if (t > MAX_TIMESTAMP || t < -MAX_TIMESTAMP) r.fail(`${what} ${t} out of range`);
}

/**
 * A start time as the appender keeps it: an integer within ±MAX_TIMESTAMP,
 * or 0 (unknown) for anything else.
 */
export function normalizeStart(st: number): number {
  st = Math.trunc(st);
  return st <= MAX_TIMESTAMP && st >= -MAX_TIMESTAMP ? st : 0;
}

/**
 * Writes a start time (normalized, see `normalizeStart`) as a uvarint: 0 for
 * unknown, else the zigzag delta to `prev` plus one. `prev` is the last
 * known start time before it in the record, or the record's base timestamp.
 */
export function writeStart(w: ByteWriter, st: number, prev: number): void {
  if (st === 0) w.byte(0);
  else {
    const d = st - prev;
    w.uvarint((d >= 0 ? d * 2 : -d * 2 - 1) + 1);
  }
}

/** Reads a start time written by `writeStart` (0: unknown). */
export function readStart(r: ByteReader, prev: number): number {
  const u = r.uvarint();
  if (u === 0) return 0;
  const z = u - 1;
  const st = prev + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  if (st > MAX_TIMESTAMP || st < -MAX_TIMESTAMP || st === 0) r.fail(`start time ${st} invalid`);
  return st;
}

/** Writes a label set: uvarint count, then name and value strings. */
export function writeLabels(w: ByteWriter, labels: Labels): void {
  const kv = labels.flat();
  w.uvarint(kv.length >> 1);
  for (let j = 0; j < kv.length; j++) w.string(kv[j]);
}

/** Optional string interning while decoding many series (replay). */
export type Intern = (s: string) => string;

/**
 * Reads a label set written by `writeLabels`. Fails on unsorted or duplicate
 * names and empty names or values, which no writer produces.
 */
export function readLabels(r: ByteReader, intern?: Intern): Labels {
  const n = r.uvarint();
  // Each label takes at least 2 bytes.
  if (n * 2 > r.remaining) r.fail(`label count ${n} past end of record`);
  if (n === 0) return Labels.EMPTY;
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
  return Labels.fromSortedFlat(kv);
}

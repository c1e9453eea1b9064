/**
 * The native `Histogram` message, shared by RW 1.0 (`prometheus.Histogram`)
 * and RW 2.0 (`io.prometheus.write.v2.Histogram`, which adds
 * `start_timestamp = 17`):
 *
 * ```proto
 * message Histogram {
 *   oneof count { uint64 count_int = 1; double count_float = 2; }
 *   double sum = 3;  sint32 schema = 4;  double zero_threshold = 5;
 *   oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
 *   repeated BucketSpan negative_spans = 8;  repeated sint64 negative_deltas = 9;  repeated double negative_counts = 10;
 *   repeated BucketSpan positive_spans = 11; repeated sint64 positive_deltas = 12; repeated double positive_counts = 13;
 *   ResetHint reset_hint = 14;  int64 timestamp = 15;  repeated double custom_values = 16;
 *   int64 start_timestamp = 17;  // RW 2.0 only
 * }
 * message BucketSpan { sint32 offset = 1; uint32 length = 2; }
 * ```
 *
 * Integer histograms use the `_int` fields and deltas, float histograms the
 * `_float` fields and absolute counts. Both oneofs are always written, so the
 * kind survives an empty histogram. A staleness marker is an empty histogram
 * of the same kind whose `sum` has the StaleNaN bits.
 *
 * @module
 */

import {
  type BucketSpan,
  emptyHistogram,
  type Histogram,
  type ResetHint,
} from "../model/histogram.ts";
import { type PbReader, type PbWriter, tag, WT } from "./codec_pb.ts";
import type { DecodedHistogram } from "./codec_types.ts";

const T = {
  COUNT_INT: tag(1, WT.VARINT),
  COUNT_FLOAT: tag(2, WT.I64),
  SUM: tag(3, WT.I64),
  SCHEMA: tag(4, WT.VARINT),
  ZERO_THRESHOLD: tag(5, WT.I64),
  ZERO_COUNT_INT: tag(6, WT.VARINT),
  ZERO_COUNT_FLOAT: tag(7, WT.I64),
  NEGATIVE_SPANS: tag(8, WT.LEN),
  NEGATIVE_DELTAS: tag(9, WT.LEN),
  NEGATIVE_COUNTS: tag(10, WT.LEN),
  POSITIVE_SPANS: tag(11, WT.LEN),
  POSITIVE_DELTAS: tag(12, WT.LEN),
  POSITIVE_COUNTS: tag(13, WT.LEN),
  RESET_HINT: tag(14, WT.VARINT),
  TIMESTAMP: tag(15, WT.VARINT),
  CUSTOM_VALUES: tag(16, WT.LEN),
  START_TIMESTAMP: tag(17, WT.VARINT),
  SPAN_OFFSET: tag(1, WT.VARINT),
  SPAN_LENGTH: tag(2, WT.VARINT),
} as const;

/** Whether a double field holds anything but +0 (proto3 omits +0; -0 is kept for bit-exactness). */
const nonZero = (v: number) => v !== 0 || Object.is(v, -0);

/** Fields of one histogram sample to write. */
export interface HistogramItem {
  h: Histogram;
  t: number;
  /** Start timestamp, written when non-zero and `withStart`. */
  st: number;
  stale: boolean;
  /** RW 2.0: write `start_timestamp`. */
  withStart: boolean;
}

/** Writes the fields of a `Histogram` message (the caller writes its tag and length). */
export function writeHistogram(w: PbWriter, it: HistogramItem): void {
  const { h, t, st, stale } = it;
  if (stale) {
    if (h.float) {
      w.uint32(T.COUNT_FLOAT);
      w.double(0);
    } else {
      w.uint32(T.COUNT_INT);
      w.uint32(0);
    }
    w.uint32(T.SUM);
    w.staleNaN();
    if (h.float) {
      w.uint32(T.ZERO_COUNT_FLOAT);
      w.double(0);
    } else {
      w.uint32(T.ZERO_COUNT_INT);
      w.uint32(0);
    }
  } else {
    if (h.float) {
      w.uint32(T.COUNT_FLOAT);
      w.double(h.count);
    } else {
      w.uint32(T.COUNT_INT);
      w.int64(h.count);
    }
    if (nonZero(h.sum)) {
      w.uint32(T.SUM);
      w.double(h.sum);
    }
    if (h.schema !== 0) {
      w.uint32(T.SCHEMA);
      w.sint32(h.schema);
    }
    if (nonZero(h.zeroThreshold)) {
      w.uint32(T.ZERO_THRESHOLD);
      w.double(h.zeroThreshold);
    }
    if (h.float) {
      w.uint32(T.ZERO_COUNT_FLOAT);
      w.double(h.zeroCount);
    } else {
      w.uint32(T.ZERO_COUNT_INT);
      w.int64(h.zeroCount);
    }
    writeSpans(w, T.NEGATIVE_SPANS, h.negativeSpans);
    writeBuckets(w, h.float ? T.NEGATIVE_COUNTS : T.NEGATIVE_DELTAS, h.negativeBuckets, h.float);
    writeSpans(w, T.POSITIVE_SPANS, h.positiveSpans);
    writeBuckets(w, h.float ? T.POSITIVE_COUNTS : T.POSITIVE_DELTAS, h.positiveBuckets, h.float);
    if (h.resetHint !== 0) {
      w.uint32(T.RESET_HINT);
      w.uint32(h.resetHint);
    }
  }
  w.uint32(T.TIMESTAMP);
  w.int64(t);
  if (!stale && h.customValues.length > 0) {
    w.uint32(T.CUSTOM_VALUES);
    const start = w.fork();
    for (const v of h.customValues) w.double(v);
    w.ldelim(start);
  }
  if (it.withStart && st !== 0) {
    w.uint32(T.START_TIMESTAMP);
    w.int64(st);
  }
}

function writeSpans(w: PbWriter, t: number, spans: BucketSpan[]): void {
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    w.uint32(t);
    const start = w.fork();
    if (s.offset !== 0) {
      w.uint32(T.SPAN_OFFSET);
      w.sint32(s.offset);
    }
    if (s.length !== 0) {
      w.uint32(T.SPAN_LENGTH);
      w.uint32(s.length);
    }
    w.ldelim(start);
  }
}

function writeBuckets(w: PbWriter, t: number, buckets: number[], float: boolean): void {
  if (buckets.length === 0) return;
  w.uint32(t);
  const start = w.fork();
  if (float) { for (let i = 0; i < buckets.length; i++) w.double(buckets[i]); }
  else for (let i = 0; i < buckets.length; i++) w.sint64(buckets[i]);
  w.ldelim(start);
}

// ---------------------------------------------------------------------------
// Decoding

/** Reads a `Histogram` message of length-delimited extent at the reader's position. */
export function readHistogram(r: PbReader): DecodedHistogram {
  const outer = r.enter();
  const h: DecodedHistogram = {
    ...emptyHistogram(),
    timestamp: 0,
    startTimestamp: 0,
    stale: false,
  };
  // Which oneof variant was seen last: 0 none, 1 int, 2 float.
  let countKind = 0, zeroKind = 0, floatBuckets = false;
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.VARINT, "Histogram.count_int");
        h.count = r.uint64();
        countKind = 1;
        break;
      case 2:
        r.expect(wt, WT.I64, "Histogram.count_float");
        h.count = r.double();
        countKind = 2;
        break;
      case 3:
        r.expect(wt, WT.I64, "Histogram.sum");
        h.sum = r.double();
        h.stale = r.wasStaleNaN();
        if (h.stale) h.sum = NaN;
        break;
      case 4:
        r.expect(wt, WT.VARINT, "Histogram.schema");
        h.schema = r.sint32();
        break;
      case 5:
        r.expect(wt, WT.I64, "Histogram.zero_threshold");
        h.zeroThreshold = r.double();
        break;
      case 6:
        r.expect(wt, WT.VARINT, "Histogram.zero_count_int");
        h.zeroCount = r.uint64();
        zeroKind = 1;
        break;
      case 7:
        r.expect(wt, WT.I64, "Histogram.zero_count_float");
        h.zeroCount = r.double();
        zeroKind = 2;
        break;
      case 8:
        r.expect(wt, WT.LEN, "Histogram.negative_spans");
        h.negativeSpans.push(readSpan(r));
        break;
      case 9:
        readSint64s(r, wt, h.negativeBuckets, "Histogram.negative_deltas");
        break;
      case 10:
        readDoubles(r, wt, h.negativeBuckets, "Histogram.negative_counts");
        floatBuckets = true;
        break;
      case 11:
        r.expect(wt, WT.LEN, "Histogram.positive_spans");
        h.positiveSpans.push(readSpan(r));
        break;
      case 12:
        readSint64s(r, wt, h.positiveBuckets, "Histogram.positive_deltas");
        break;
      case 13:
        readDoubles(r, wt, h.positiveBuckets, "Histogram.positive_counts");
        floatBuckets = true;
        break;
      case 14:
        r.expect(wt, WT.VARINT, "Histogram.reset_hint");
        h.resetHint = r.uint32() as ResetHint;
        break;
      case 15:
        r.expect(wt, WT.VARINT, "Histogram.timestamp");
        h.timestamp = r.int64();
        break;
      case 16:
        readDoubles(r, wt, h.customValues, "Histogram.custom_values");
        break;
      case 17:
        r.expect(wt, WT.VARINT, "Histogram.start_timestamp");
        h.startTimestamp = r.int64();
        break;
      default:
        r.skip(wt);
    }
  }
  h.float = countKind === 2 || (countKind === 0 && (zeroKind === 2 || floatBuckets));
  r.leave(outer);
  return h;
}

function readSpan(r: PbReader): BucketSpan {
  const outer = r.enter();
  const s: BucketSpan = { offset: 0, length: 0 };
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.VARINT, "BucketSpan.offset");
        s.offset = r.sint32();
        break;
      case 2:
        r.expect(wt, WT.VARINT, "BucketSpan.length");
        s.length = r.uint32();
        break;
      default:
        r.skip(wt);
    }
  }
  r.leave(outer);
  return s;
}

/** A repeated `sint64`, packed or not. */
function readSint64s(r: PbReader, wt: number, out: number[], field: string): void {
  if (wt === WT.VARINT) {
    out.push(r.sint64());
    return;
  }
  r.expect(wt, WT.LEN, field);
  const outer = r.enter();
  while (r.pos < r.end) out.push(r.sint64());
  r.leave(outer);
}

/** A repeated `double`, packed or not. */
export function readDoubles(r: PbReader, wt: number, out: number[], field: string): void {
  if (wt === WT.I64) {
    out.push(r.double());
    return;
  }
  r.expect(wt, WT.LEN, field);
  const outer = r.enter();
  if ((r.end - r.pos) % 8 !== 0) r.fail(`${field}: packed length not a multiple of 8`);
  while (r.pos < r.end) out.push(r.double());
  r.leave(outer);
}

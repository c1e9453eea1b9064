/**
 * Remote Write 1.0 (`prometheus.WriteRequest`) encoding and decoding.
 *
 * ```proto
 * message WriteRequest   { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
 * message TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
 *                          repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 * message Label          { string name = 1; string value = 2; }
 * message Sample         { double value = 1; int64 timestamp = 2; }
 * message Exemplar       { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
 * message MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 * ```
 *
 * (`Histogram`: see `codec_histogram.ts`.) The encoder writes a columnar
 * `WriteBatch` with `PbWriter`, one `TimeSeries` per series slot holding all
 * its samples, histograms and exemplars. Staleness markers never pass through
 * a float: their value field is the tag followed by the raw StaleNaN bits.
 * The decoder is hand-written too, so StaleNaN is recognised by its bits.
 *
 * @module
 */

import { writeFloat64LE } from "../model/sample.ts";
import type { Labels } from "../model/labels.ts";
import { type MetricKind, type MetricMetadata, MetricTypeCode } from "../model/metadata.ts";
import type { WriteBatch } from "./codec_batch.ts";
import { type HistogramItem, readHistogram, writeHistogram } from "./codec_histogram.ts";
import { PbReader, PbWriter, putInt64, tag, varintSize, writerFor, WT } from "./codec_pb.ts";
import type {
  DecodedExemplar,
  DecodedSeries,
  DecodedWriteRequest,
  EncodeOptions,
} from "./codec_types.ts";

const T = {
  TIMESERIES: tag(1, WT.LEN),
  METADATA: tag(3, WT.LEN),
  LABELS: tag(1, WT.LEN),
  SAMPLES: tag(2, WT.LEN),
  EXEMPLARS: tag(3, WT.LEN),
  HISTOGRAMS: tag(4, WT.LEN),
  LABEL_NAME: tag(1, WT.LEN),
  LABEL_VALUE: tag(2, WT.LEN),
  SAMPLE_VALUE: tag(1, WT.I64),
  SAMPLE_TIMESTAMP: tag(2, WT.VARINT),
  EXEMPLAR_VALUE: tag(2, WT.I64),
  EXEMPLAR_TIMESTAMP: tag(3, WT.VARINT),
  MD_TYPE: tag(1, WT.VARINT),
  MD_FAMILY: tag(2, WT.LEN),
  MD_HELP: tag(4, WT.LEN),
  MD_UNIT: tag(5, WT.LEN),
} as const;

/** Metric kinds by proto enum number. */
export const KIND_BY_CODE: readonly MetricKind[] = (() => {
  const out: MetricKind[] = [];
  for (const [k, v] of Object.entries(MetricTypeCode)) out[v] = k as MetricKind;
  return out;
})();

/** Compares strings by code point (= UTF-8 byte order). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after U+E000..U+FFFF in code point order.
    const xs = x >= 0xd800 && x < 0xe000, ys = y >= 0xd800 && y < 0xe000;
    if (xs !== ys && (x >= 0xd800 && y >= 0xd800)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Label pair indices of `labels` in byte order of their names, or null when
 * the UTF-16 order of `Labels` already is byte order (always so unless names
 * mix astral characters with U+E000..U+FFFF).
 */
export function byteOrder(labels: Labels): number[] | null {
  const kv = labels.flat();
  let sorted = true;
  for (let j = 2; j < kv.length && sorted; j += 2) {
    if (compareCodePoints(kv[j - 2], kv[j]) > 0) sorted = false;
  }
  if (sorted) return null;
  const idx: number[] = [];
  for (let j = 0; j < kv.length; j += 2) idx.push(j);
  return idx.sort((a, b) => compareCodePoints(kv[a], kv[b]));
}

/** Writes `Label` messages of `labels` with field tag `t`, sorted by name bytes, skipping empty names/values. */
export function writeLabels(w: PbWriter, t: number, labels: Labels): void {
  const kv = labels.flat();
  const mark = w.pos;
  w.sawHigh = false;
  for (let j = 0; j < kv.length; j += 2) writeLabel(w, t, kv[j], kv[j + 1]);
  if (!w.sawHigh) return;
  const order = byteOrder(labels);
  if (order === null) return;
  w.pos = mark;
  for (const j of order) writeLabel(w, t, kv[j], kv[j + 1]);
}

function writeLabel(w: PbWriter, t: number, name: string, value: string): void {
  // The protocol forbids empty names and values; Labels never holds empty values.
  if (name === "" || value === "") return;
  w.uint32(t);
  const start = w.fork();
  w.uint32(T.LABEL_NAME);
  w.string(name);
  w.uint32(T.LABEL_VALUE);
  w.string(value);
  w.ldelim(start);
}

/** Writes the `TimeSeries.labels` of a series (the block `SeriesCache` keeps). */
function writeSeriesLabels(w: PbWriter, labels: Labels): void {
  writeLabels(w, T.LABELS, labels);
}
const histItem: HistogramItem = {
  h: null as never,
  t: 0,
  st: 0,
  stale: false,
  withStart: false,
};

/** Encodes `batch` as a `prometheus.WriteRequest` (samples, histograms, exemplars). */
export function encodeWriteRequest(batch: WriteBatch, opts: EncodeOptions = {}): Uint8Array {
  const { labelCache } = opts;
  const { w, copy } = writerFor(opts.writer);
  const { order, starts } = batch.groupBySeries();
  const hg = batch.histogramCount > 0 ? batch.groupHistograms() : null;
  const eg = batch.exemplarCount > 0 ? batch.groupExemplars() : null;
  const { series } = batch;
  for (let s = 0; s < series.length; s++) {
    const labels = series[s];
    const from = starts[s], to = starts[s + 1];
    if (
      labelCache !== undefined && (eg === null || eg.starts[s] === eg.starts[s + 1]) &&
      (hg === null || hg.starts[s] === hg.starts[s + 1])
    ) {
      // Samples only, labels cached: the room for the length is sized from the block and the
      // sample count (a sample takes 18 bytes with a timestamp from 1970 to 2109), so the
      // TimeSeries is mostly written in place, not moved when its length takes two bytes.
      const blockLen = labelCache.findBlock(batch.keys[s], labels, writeSeriesLabels);
      const n = varintSize(blockLen + (to - from) * 18);
      const start = w.openSized(T.TIMESERIES, n);
      labelCache.copyBlock(w);
      writeSamples(w, batch, order, from, to);
      w.closeSized(start, n);
      continue;
    }
    const tsStart = w.open(T.TIMESERIES);
    if (labelCache) {
      labelCache.findBlock(batch.keys[s], labels, writeSeriesLabels);
      labelCache.copyBlock(w);
    } else {
      writeLabels(w, T.LABELS, labels);
    }
    writeSamples(w, batch, order, from, to);
    if (eg) {
      exRange.order = eg.order;
      exRange.from = eg.starts[s];
      exRange.to = eg.starts[s + 1];
      writeExemplars(w, batch, exRange);
    }
    if (hg) {
      const hEnd = hg.starts[s + 1];
      for (let k = hg.starts[s]; k < hEnd; k++) {
        const i = hg.order[k];
        histItem.h = batch.histograms[i];
        histItem.t = batch.hTs[i];
        histItem.stale = batch.hStale[i];
        const start = w.open(T.HISTOGRAMS);
        writeHistogram(w, histItem);
        w.ldelim(start);
      }
      histItem.h = null as never;
    }
    w.ldelim(tsStart);
  }
  return w.finish(copy);
}

/** `Sample.start_timestamp` (RW 2.0 only). */
const SAMPLE_START = tag(3, WT.VARINT);

/**
 * Writes the `TimeSeries.samples` (field 2 in RW 1.0 and 2.0 alike) of the
 * batch's samples `order[from..to)`: value and timestamp, 12 bytes and the
 * timestamp's varint; with `withStart` (RW 2.0) also a known start time.
 */
export function writeSamples(
  w: PbWriter,
  batch: WriteBatch,
  order: Uint32Array,
  from: number,
  to: number,
  withStart = false,
): void {
  const { ts, values, stale, st } = batch;
  // Room for every sample at its longest (33 bytes) up front: the loop keeps the position in a
  // local and calls nothing but setFloat64 (writing through PbWriter's methods took about a
  // third more time, measured).
  w.ensure((to - from) * 34);
  const buf = w.buf, view = w.view;
  let p = w.pos;
  for (let k = from; k < to; k++) {
    const i = order[k];
    // Sample: tag, length (always < 128), value, timestamp[, start timestamp].
    buf[p] = T.SAMPLES;
    const start = p + 2;
    buf[start] = T.SAMPLE_VALUE;
    writeFloat64LE(view, start + 1, values[i], stale[i] === 1);
    buf[start + 9] = T.SAMPLE_TIMESTAMP;
    p = putInt64(buf, start + 10, ts[i]);
    if (withStart && st[i] !== 0) {
      buf[p] = SAMPLE_START;
      p = putInt64(buf, p + 1, st[i]);
    }
    buf[start - 1] = p - start;
  }
  w.pos = p;
}

/** A range of exemplar indices of one series (scratch, to avoid an object per call). */
export interface ExemplarRange {
  order: Uint32Array;
  from: number;
  to: number;
}
const exRange: ExemplarRange = { order: new Uint32Array(0), from: 0, to: 0 };

/** Writes the `TimeSeries.exemplars` of one series. */
function writeExemplars(w: PbWriter, batch: WriteBatch, range: ExemplarRange): void {
  const { order, from, to } = range;
  for (let k = from; k < to; k++) {
    const e = batch.exemplars[order[k]];
    w.uint32(T.EXEMPLARS);
    const start = w.fork();
    writeLabels(w, T.LABELS, e.labels);
    w.uint32(T.EXEMPLAR_VALUE);
    w.double(e.value);
    w.uint32(T.EXEMPLAR_TIMESTAMP);
    w.int64(e.ts);
    w.ldelim(start);
  }
}

/** One entry of a RW 1.0 metadata request. */
export interface MetadataEntry {
  /** Metric family name. */
  family: string;
  metadata: MetricMetadata;
}

/**
 * Encodes a `prometheus.WriteRequest` holding only `metadata` entries, as
 * sent every `metadata_config.send_interval`.
 */
export function encodeMetadataRequest(
  entries: readonly MetadataEntry[],
  opts: Pick<EncodeOptions, "writer"> = {},
): Uint8Array {
  const { w, copy } = writerFor(opts.writer);
  for (const { family, metadata: m } of entries) {
    w.uint32(T.METADATA);
    const start = w.fork();
    const code = MetricTypeCode[m.type] ?? 0;
    if (code !== 0) {
      w.uint32(T.MD_TYPE);
      w.uint32(code);
    }
    if (family !== "") {
      w.uint32(T.MD_FAMILY);
      w.string(family);
    }
    if (m.help !== "") {
      w.uint32(T.MD_HELP);
      w.string(m.help);
    }
    if (m.unit !== "") {
      w.uint32(T.MD_UNIT);
      w.string(m.unit);
    }
    w.ldelim(start);
  }
  return w.finish(copy);
}

// ---------------------------------------------------------------------------
// Decoding

/** An empty decoded request of `version`. */
export function emptyRequest(version: 1 | 2): DecodedWriteRequest {
  return {
    series: [],
    samples: 0,
    staleMarkers: 0,
    metadata: 0,
    histograms: 0,
    exemplars: 0,
    metadataList: [],
    symbols: [],
    version,
  };
}

/** An empty decoded series. */
export function emptySeries(): DecodedSeries {
  return {
    labels: [],
    timestamps: [],
    values: [],
    stale: [],
    startTimestamps: [],
    histograms: [],
    exemplars: 0,
    exemplarList: [],
    metadata: null,
  };
}

/**
 * Decodes an uncompressed `prometheus.WriteRequest`. Stale markers are
 * recognised by the raw bits of the value (or histogram sum) field. Unknown
 * fields are skipped (so an RW 2.0 body decodes as an empty request). Throws
 * `CodecError` on a malformed message.
 */
export function decodeWriteRequest(bytes: Uint8Array): DecodedWriteRequest {
  const r = new PbReader(bytes);
  const out = emptyRequest(1);
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1: {
        r.expect(wt, WT.LEN, "WriteRequest.timeseries");
        const s = readSeries(r);
        out.samples += s.timestamps.length;
        for (const x of s.stale) if (x) out.staleMarkers++;
        out.histograms += s.histograms.length;
        out.exemplars += s.exemplars;
        out.series.push(s);
        break;
      }
      case 3:
        r.expect(wt, WT.LEN, "WriteRequest.metadata");
        out.metadataList.push(readMetadata(r));
        out.metadata++;
        break;
      default:
        r.skip(wt);
    }
  }
  return out;
}

function readSeries(r: PbReader): DecodedSeries {
  const outer = r.enter();
  const s = emptySeries();
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.LEN, "TimeSeries.labels");
        s.labels.push(readLabel(r));
        break;
      case 2:
        r.expect(wt, WT.LEN, "TimeSeries.samples");
        readSample(r, s, false);
        break;
      case 3:
        r.expect(wt, WT.LEN, "TimeSeries.exemplars");
        s.exemplarList.push(readExemplar(r));
        s.exemplars++;
        break;
      case 4:
        r.expect(wt, WT.LEN, "TimeSeries.histograms");
        s.histograms.push(readHistogram(r));
        break;
      default:
        r.skip(wt);
    }
  }
  r.leave(outer);
  return s;
}

function readLabel(r: PbReader): [string, string] {
  const outer = r.enter();
  let name = "", value = "";
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.LEN, "Label.name");
        name = r.string();
        break;
      case 2:
        r.expect(wt, WT.LEN, "Label.value");
        value = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.leave(outer);
  return [name, value];
}

/**
 * Reads a `Sample` (`value` = 1, `timestamp` = 2, the same in both protocols)
 * into `s`. RW 2.0 adds `start_timestamp` = 3; with `withStart` false (RW 1.0)
 * field 3 is an unknown field and skipped.
 */
export function readSample(r: PbReader, s: DecodedSeries, withStart: boolean): void {
  const outer = r.enter();
  let v = 0, t = 0, st = 0, stale = false;
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.I64, "Sample.value");
        v = r.double();
        stale = r.wasStaleNaN();
        break;
      case 2:
        r.expect(wt, WT.VARINT, "Sample.timestamp");
        t = r.int64();
        break;
      case 3:
        if (!withStart) {
          r.skip(wt);
          break;
        }
        r.expect(wt, WT.VARINT, "Sample.start_timestamp");
        st = r.int64();
        break;
      default:
        r.skip(wt);
    }
  }
  r.leave(outer);
  s.timestamps.push(t);
  s.values.push(stale ? NaN : v);
  s.stale.push(stale);
  s.startTimestamps.push(st);
}

function readExemplar(r: PbReader): DecodedExemplar {
  const outer = r.enter();
  const e: DecodedExemplar = { labels: [], value: 0, timestamp: 0 };
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.LEN, "Exemplar.labels");
        e.labels.push(readLabel(r));
        break;
      case 2:
        r.expect(wt, WT.I64, "Exemplar.value");
        e.value = r.double();
        break;
      case 3:
        r.expect(wt, WT.VARINT, "Exemplar.timestamp");
        e.timestamp = r.int64();
        break;
      default:
        r.skip(wt);
    }
  }
  r.leave(outer);
  return e;
}

function readMetadata(r: PbReader): DecodedWriteRequest["metadataList"][number] {
  const outer = r.enter();
  const m = { family: "", type: "unknown" as MetricKind, help: "", unit: "" };
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.VARINT, "MetricMetadata.type");
        m.type = KIND_BY_CODE[r.uint32()] ?? "unknown";
        break;
      case 2:
        r.expect(wt, WT.LEN, "MetricMetadata.metric_family_name");
        m.family = r.string();
        break;
      case 4:
        r.expect(wt, WT.LEN, "MetricMetadata.help");
        m.help = r.string();
        break;
      case 5:
        r.expect(wt, WT.LEN, "MetricMetadata.unit");
        m.unit = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.leave(outer);
  return m;
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
      if (compareCodePoints(p, n) > 0) {
        return `labels not sorted: ${JSON.stringify(p)} before ${JSON.stringify(n)}`;
      }
    }
  }
  return null;
}

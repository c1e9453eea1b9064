/**
 * Remote Write 2.0 (`io.prometheus.write.v2.Request`, spec 2.0-rc.4)
 * encoding and decoding.
 *
 * ```proto
 * message Request    { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
 * message TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
 *                      repeated Exemplar exemplars = 4; Metadata metadata = 5; reserved 6; }
 * message Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
 * message Exemplar   { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
 * message Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
 * ```
 *
 * (`Histogram`: see `codec_histogram.ts`; RW 2.0 adds `start_timestamp = 17`.)
 * Strings go once into `symbols` (`symbols[0]` is `""`) and are referenced by
 * index; `labels_refs` are (name, value) pairs sorted by name bytes. A
 * `TimeSeries` holds samples or histograms, never both, so a series with both
 * in one batch becomes two entries. Every entry carries its metadata (as
 * Prometheus does); unknown metadata is type 0 with empty help and unit.
 *
 * The encoder writes the series first into a scratch buffer while building
 * the symbol table (a reused `Map`), then the symbols and the series into the
 * output, so receivers see the symbols first.
 *
 * @module
 */

import type { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import type { WriteBatch } from "./codec_batch.ts";
import { type HistogramItem, readHistogram, writeHistogram } from "./codec_histogram.ts";
import { PbReader, PbWriter, tag, writerFor, WT } from "./codec_pb.ts";
import {
  byteOrder,
  emptyRequest,
  emptySeries,
  type ExemplarRange,
  KIND_BY_CODE,
  readSample,
  writeSamples,
} from "./codec_rw1.ts";
import { labelIdsOf, type MetadataRefs, RequestSymbols } from "./codec_symbols.ts";
import type {
  DecodedExemplar,
  DecodedSeries,
  DecodedWriteRequest,
  EncodeOptions,
} from "./codec_types.ts";

const T = {
  SYMBOLS: tag(4, WT.LEN),
  TIMESERIES: tag(5, WT.LEN),
  LABELS_REFS: tag(1, WT.LEN),
  // TimeSeries.samples (2) and the Sample message: written by codec_rw1.ts's writeSamples.
  HISTOGRAMS: tag(3, WT.LEN),
  EXEMPLARS: tag(4, WT.LEN),
  METADATA: tag(5, WT.LEN),
  EXEMPLAR_REFS: tag(1, WT.LEN),
  EXEMPLAR_VALUE: tag(2, WT.I64),
  EXEMPLAR_TIMESTAMP: tag(3, WT.VARINT),
  MD_TYPE: tag(1, WT.VARINT),
  MD_HELP: tag(3, WT.VARINT),
  MD_UNIT: tag(4, WT.VARINT),
} as const;

const symbols = new RequestSymbols();
/** Series are written here first, then copied after the symbols. */
const body = new PbWriter();
const histItem: HistogramItem = {
  h: null as never,
  t: 0,
  st: 0,
  stale: false,
  withStart: true,
};

/** Writes packed `labels_refs` (tag `t`) of `labelIdsOf` ids; nothing when there are none. */
function writeLabelRefs(w: PbWriter, t: number, ids: readonly number[]): void {
  const n = ids.length;
  if (n === 1) return;
  const start = w.open(t);
  w.ensure(n * 5);
  const buf = w.buf;
  let p = w.pos;
  for (let i = 1; i < n; i++) {
    let v = symbols.ref(ids[i]);
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
  }
  w.pos = p;
  w.ldelim(start);
}

/** Writes packed `labels_refs` of exemplar labels (not interned: trace IDs are one-off strings). */
function writeExemplarRefs(w: PbWriter, t: number, labels: Labels): void {
  const order = byteOrder(labels);
  const kv = labels.flat();
  let any = false;
  for (let j = 0; j < kv.length && !any; j += 2) any = kv[j] !== "" && kv[j + 1] !== "";
  if (!any) return;
  w.uint32(t);
  const start = w.fork();
  const one = (j: number) => {
    if (kv[j] === "" || kv[j + 1] === "") return;
    w.uint32(symbols.refString(kv[j]));
    w.uint32(symbols.refString(kv[j + 1]));
  };
  if (order === null) { for (let j = 0; j < kv.length; j += 2) one(j); }
  else for (const j of order) one(j);
  w.ldelim(start);
}

/** Metadata refs scratch. */
const md: MetadataRefs = { type: 0, help: 0, unit: 0 };

/** Writes `TimeSeries.metadata` (always present, as Prometheus sends it; empty when unknown). */
function writeMetadata(w: PbWriter, m: MetricMetadata | undefined): void {
  if (m === undefined) {
    w.ensure(2);
    w.buf[w.pos++] = T.METADATA;
    w.buf[w.pos++] = 0;
    return;
  }
  symbols.metadataRefs(m, md);
  w.ensure(17);
  const buf = w.buf;
  buf[w.pos] = T.METADATA;
  const start = w.pos + 2;
  w.pos = start;
  // Three fields of at most 1 + 5 bytes: the length always fits one byte.
  if (md.type !== 0) {
    buf[w.pos++] = T.MD_TYPE;
    w.uint32(md.type);
  }
  if (md.help !== 0) {
    buf[w.pos++] = T.MD_HELP;
    w.uint32(md.help);
  }
  if (md.unit !== 0) {
    buf[w.pos++] = T.MD_UNIT;
    w.uint32(md.unit);
  }
  buf[start - 1] = w.pos - start;
}

/** Encodes `batch` as an `io.prometheus.write.v2.Request`. */
export function encodeWriteRequestV2(batch: WriteBatch, opts: EncodeOptions = {}): Uint8Array {
  const metadataOf = opts.metadata;
  symbols.begin();
  body.reset();
  const w = body;
  const { order, starts } = batch.groupBySeries();
  const hg = batch.histogramCount > 0 ? batch.groupHistograms() : null;
  const eg = batch.exemplarCount > 0 ? batch.groupExemplars() : null;
  const { series, keys } = batch;
  for (let s = 0; s < series.length; s++) {
    const ids = labelIdsOf(series[s]);
    const m = metadataOf?.(keys[s]);
    const fFrom = starts[s], fTo = starts[s + 1];
    const hFrom = hg ? hg.starts[s] : 0, hTo = hg ? hg.starts[s + 1] : 0;
    const eFrom = eg ? eg.starts[s] : 0, eTo = eg ? eg.starts[s + 1] : 0;
    const hasHist = hTo > hFrom;
    if (fTo > fFrom || !hasHist) {
      // Float samples (or exemplars alone).
      const tsStart = w.open(T.TIMESERIES);
      writeLabelRefs(w, T.LABELS_REFS, ids);
      writeSamples(w, batch, order, fFrom, fTo, true);
      if (eg) {
        exRange.order = eg.order;
        exRange.from = eFrom;
        exRange.to = eTo;
        writeExemplars(w, batch, exRange);
      }
      writeMetadata(w, m);
      w.ldelim(tsStart);
    }
    if (hasHist && hg) {
      const tsStart = w.open(T.TIMESERIES);
      writeLabelRefs(w, T.LABELS_REFS, ids);
      for (let k = hFrom; k < hTo; k++) {
        const i = hg.order[k];
        histItem.h = batch.histograms[i];
        histItem.t = batch.hTs[i];
        histItem.st = batch.hSt[i];
        histItem.stale = batch.hStale[i];
        const start = w.open(T.HISTOGRAMS);
        writeHistogram(w, histItem);
        w.ldelim(start);
      }
      histItem.h = null as never;
      if (eg && fTo === fFrom) {
        exRange.order = eg.order;
        exRange.from = eFrom;
        exRange.to = eTo;
        writeExemplars(w, batch, exRange);
      }
      writeMetadata(w, m);
      w.ldelim(tsStart);
    }
  }
  const { w: out, copy } = writerFor(opts.writer);
  const list = symbols.list;
  for (let i = 0; i < list.length; i++) {
    out.uint32(T.SYMBOLS);
    out.string(list[i]);
  }
  out.raw(body.buf.subarray(0, body.pos));
  body.shrink();
  return out.finish(copy);
}

/** A range of one series' exemplar indices (scratch, to avoid an object per call). */
const exRange: ExemplarRange = { order: new Uint32Array(0), from: 0, to: 0 };

/** Writes the `TimeSeries.exemplars` in `range`. */
function writeExemplars(w: PbWriter, batch: WriteBatch, range: ExemplarRange): void {
  const { order, from, to } = range;
  for (let k = from; k < to; k++) {
    const e = batch.exemplars[order[k]];
    w.uint32(T.EXEMPLARS);
    const start = w.fork();
    writeExemplarRefs(w, T.EXEMPLAR_REFS, e.labels);
    w.uint32(T.EXEMPLAR_VALUE);
    w.double(e.value);
    w.uint32(T.EXEMPLAR_TIMESTAMP);
    w.int64(e.ts);
    w.ldelim(start);
  }
}

// ---------------------------------------------------------------------------
// Decoding

/**
 * Decodes an uncompressed `io.prometheus.write.v2.Request`, resolving symbol
 * refs. Stale markers are recognised by the raw bits of sample values and
 * histogram sums. Throws `CodecError` on a malformed message, a ref out of
 * range, an odd number of label refs, or `symbols[0]` other than `""` when
 * series are present.
 */
export function decodeWriteRequestV2(bytes: Uint8Array): DecodedWriteRequest {
  const r = new PbReader(bytes);
  const out = emptyRequest(2);
  const syms = out.symbols;
  // Pass 1: the symbol table (it may come after the series on the wire).
  let seriesCount = 0;
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    const f = k >>> 3;
    if (f === 4) {
      r.expect(wt, WT.LEN, "Request.symbols");
      syms.push(r.string());
    } else {
      if (f === 5) {
        r.expect(wt, WT.LEN, "Request.timeseries");
        seriesCount++;
      }
      r.skip(wt);
    }
  }
  if (seriesCount > 0 && (syms.length === 0 || syms[0] !== "")) {
    r.fail(
      syms.length === 0
        ? 'empty symbol table with series present (symbols[0] must be "")'
        : `symbols[0] must be the empty string, got ${JSON.stringify(syms[0].slice(0, 64))}`,
    );
  }
  // Pass 2: the series.
  r.pos = 0;
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    if (k >>> 3 !== 5) {
      r.skip(wt);
      continue;
    }
    const s = readSeries(r, syms);
    out.samples += s.timestamps.length;
    for (const x of s.stale) if (x) out.staleMarkers++;
    out.histograms += s.histograms.length;
    out.exemplars += s.exemplars;
    out.series.push(s);
  }
  return out;
}

/** Reads a `repeated uint32` (packed or not) into `out`. */
function readRefs(r: PbReader, wt: number, out: number[], field: string): void {
  if (wt === WT.VARINT) {
    out.push(r.uint32());
    return;
  }
  r.expect(wt, WT.LEN, field);
  const outer = r.enter();
  while (r.pos < r.end) out.push(r.uint32());
  r.leave(outer);
}

/** Resolves (name, value) ref pairs to strings. */
function resolvePairs(
  r: PbReader,
  syms: string[],
  raw: number[],
  what: string,
): [string, string][] {
  if (raw.length % 2 !== 0) r.fail(`${what}: odd number of labels_refs (${raw.length})`);
  const out: [string, string][] = new Array(raw.length / 2);
  for (let i = 0; i < raw.length; i += 2) {
    out[i / 2] = [symbol(r, syms, raw[i], what), symbol(r, syms, raw[i + 1], what)];
  }
  return out;
}

function symbol(r: PbReader, syms: string[], ref: number, what: string): string {
  if (ref >= syms.length) {
    r.fail(`${what}: symbol ref ${ref} out of range (${syms.length} symbols)`);
  }
  return syms[ref];
}

const rawRefs: number[] = [];

function readSeries(r: PbReader, syms: string[]): DecodedSeries {
  const outer = r.enter();
  const s = emptySeries();
  rawRefs.length = 0;
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        readRefs(r, wt, rawRefs, "TimeSeries.labels_refs");
        break;
      case 2:
        r.expect(wt, WT.LEN, "TimeSeries.samples");
        readSample(r, s, true);
        break;
      case 3: {
        r.expect(wt, WT.LEN, "TimeSeries.histograms");
        s.histograms.push(readHistogram(r));
        break;
      }
      case 4:
        r.expect(wt, WT.LEN, "TimeSeries.exemplars");
        s.exemplarList.push(readExemplar(r, syms));
        s.exemplars++;
        break;
      case 5:
        r.expect(wt, WT.LEN, "TimeSeries.metadata");
        s.metadata = readMetadata(r, syms);
        break;
      default:
        r.skip(wt);
    }
  }
  s.labels = resolvePairs(r, syms, rawRefs, "TimeSeries");
  r.leave(outer);
  return s;
}

function readExemplar(r: PbReader, syms: string[]): DecodedExemplar {
  const outer = r.enter();
  const e: DecodedExemplar = { labels: [], value: 0, timestamp: 0 };
  const raw: number[] = [];
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        readRefs(r, wt, raw, "Exemplar.labels_refs");
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
  e.labels = resolvePairs(r, syms, raw, "Exemplar");
  r.leave(outer);
  return e;
}

function readMetadata(r: PbReader, syms: string[]): MetricMetadata {
  const outer = r.enter();
  let type = 0, help = 0, unit = 0;
  while (r.pos < r.end) {
    const k = r.key(), wt = k & 7;
    switch (k >>> 3) {
      case 1:
        r.expect(wt, WT.VARINT, "Metadata.type");
        type = r.uint32();
        break;
      case 3:
        r.expect(wt, WT.VARINT, "Metadata.help_ref");
        help = r.uint32();
        break;
      case 4:
        r.expect(wt, WT.VARINT, "Metadata.unit_ref");
        unit = r.uint32();
        break;
      default:
        r.skip(wt);
    }
  }
  const m: MetricMetadata = {
    type: KIND_BY_CODE[type] ?? "unknown",
    help: symbol(r, syms, help, "Metadata.help_ref"),
    unit: symbol(r, syms, unit, "Metadata.unit_ref"),
  };
  r.leave(outer);
  return m;
}

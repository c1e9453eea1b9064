/**
 * Parser for Prometheus' protobuf exposition format (`PrometheusProto`,
 * Content-Type `application/vnd.google.protobuf;
 * proto=io.prometheus.client.MetricFamily; encoding=delimited`): a stream of
 * `io.prometheus.client.MetricFamily` messages, each preceded by its length
 * as a varint (`metrics.proto` of prometheus/client_model).
 *
 * The decoder is hand-written over the wire format ({@link ProtoReader}); no
 * message objects are built. `next()` walks a family's fields once to find
 * its name, help, unit, type and the byte ranges of its metrics, then one
 * metric at a time: the label fields are only located (decoded by
 * `labels()`, on a scrape-cache miss) and the value message of the family's
 * type is read. The cache key `series()` is the family name and the metric's
 * raw label bytes (plus a tag for `_count`, `_sum`, a bucket or quantile),
 * sliced from a one-char-per-byte view of the body, so a steady scrape
 * decodes no label strings.
 *
 * It presents the format as the text formats do, as Prometheus'
 * `protobufparse.go` does:
 *
 * - per family (families without metrics are skipped): a `help` entry, a
 *   `unit` entry when the unit is set, a `type` entry, then its samples;
 * - counter, gauge, untyped: one series named like the family;
 * - summary: `_count`, `_sum`, then one series per quantile (`quantile`
 *   label rendered as Prometheus does, `0.5`, `1.0`);
 * - histogram and gauge histogram: a "histogram" entry with the native
 *   histogram when native histograms are enabled and the histogram is native
 *   (it has positive or negative spans, a zero threshold above 0, or a zero
 *   count above 0 — a native histogram without observations and a zero
 *   threshold of 0 must carry a no-op span); the classic series `_count`,
 *   `_sum`, `_bucket{le=…}` (stopping at the first `+Inf` bucket, adding
 *   one with the count when there is none) when native histograms are
 *   disabled, when the histogram is not native, or, for histograms with
 *   classic buckets, when `classicHistograms` asks for both (after the
 *   native entry);
 * - `timestamp_ms` 0 means no timestamp (proto3 cannot tell unset from 0);
 * - exemplars: a counter's and each classic bucket's; for a native
 *   histogram its `exemplars` field, or else its buckets' exemplars, and
 *   only those with a timestamp. Exemplars that Prometheus' storage would
 *   reject (more than 128 code points of label names and values, duplicate
 *   label names) are hidden;
 * - start time (`startTimestamp()`): `created_timestamp` of counters,
 *   summaries and histograms (0 meaning none).
 *
 * Validation: names non-empty and valid UTF-8, label values, help and unit
 * valid UTF-8, the metric type one of the six known, native histograms
 * consistent (spans cover exactly the buckets given, schema −4…8, later
 * spans with non-negative offsets, no negative bucket counts, the count
 * equal to the buckets' total — at least it when the sum is NaN — for
 * integer histograms), as Prometheus' parser and histogram validation do;
 * duplicate label names fail too. Broken wire data (truncated values,
 * lengths past the end, wrong wire types for known fields, groups) fails
 * with a {@link ParseError} naming the byte offset. Unknown fields are
 * skipped. Deliberate differences: a singular message field given twice is
 * read from its last occurrence, not merged; histograms are passed on as
 * exposed, without Prometheus' span compaction; schemas above 8 are
 * rejected rather than reduced.
 *
 * @module
 */

import type { BucketSpan, Histogram } from "../../model/histogram.ts";
import { ResetHint } from "../../model/histogram.ts";
import { Labels, METRIC_NAME } from "../../model/labels.ts";
import { ParseError, TooManyLabelsError } from "./errors.ts";
import { formatOpenMetricsFloat } from "./float.ts";
import type { EntryKind, Exemplar, MetricType, Parser } from "./mod.ts";
import { EXEMPLAR_MAX_LABEL_SET_LENGTH } from "./openmetrics.ts";
import { detach } from "../../model/intern.ts";
import { ProtoReader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from "./protowire.ts";
import { sortedOrder } from "./labelsort.ts";

export { ParseError };

/** Options of {@link ProtobufParser}. */
export interface ProtobufOptions {
  /**
   * Yield native histograms as "histogram" entries (`scrape_native_histograms`).
   * When false, every histogram is read as a classic one. @default false
   */
  nativeHistograms?: boolean;
  /**
   * With native histograms on: also yield the classic series of histograms
   * that have classic buckets besides the native ones
   * (`always_scrape_classic_histograms`). @default false
   */
  classicHistograms?: boolean;
  /**
   * Most labels with a non-empty value a metric may have (the metric name
   * not counted): the positions of at most this many label fields of a
   * metric are kept, so one with millions costs no memory, and `labels()` of
   * one with more throws {@link TooManyLabelsError}.
   */
  maxLabels?: number;
}

// MetricType of metrics.proto.
const T_COUNTER = 0;
const T_GAUGE = 1;
const T_SUMMARY = 2;
const T_UNTYPED = 3;
const T_HISTOGRAM = 4;
const T_GAUGE_HISTOGRAM = 5;
const TYPE_NAMES: readonly MetricType[] = [
  "counter",
  "gauge",
  "summary",
  "untyped",
  "histogram",
  "gaugehistogram",
];
/** The Metric field that holds the value of each type. */
const VALUE_FIELD = [3, 2, 4, 5, 7, 7];

// Parser states.
const S_FAMILY = 0;
const S_UNIT = 2;
const S_TYPE = 3;
const S_METRIC = 4;
const S_STEP = 5;

// Steps within one metric; 0… index quantiles and buckets.
const STEP_VALUE = -4;
const STEP_HIST = -3;
const STEP_COUNT = -2;
const STEP_SUM = -1;

// Key tags: characters a one-char-per-byte (windows-1252) view never holds.
const K_FAMILY = "\uE000";
const K_HIST = "\uE001";
const K_COUNT = "\uE002";
const K_SUM = "\uE003";
const K_BOUND = "\uE004";
const K_NO_BOUND = "\uE005";
const K_INF = "\uE006";

const byteView = new TextDecoder("windows-1252");
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A pull parser over one protobuf exposition body; see the module
 * documentation for what it yields.
 */
export class ProtobufParser implements Parser {
  readonly #b: Uint8Array;
  readonly #r: ProtoReader;
  readonly #native: boolean;
  readonly #alsoClassic: boolean;
  /** The body with one char per byte, for cache keys (made on first use). */
  #s: string | null = null;
  /** Start of the next length-prefixed family. */
  #next = 0;
  #state = S_FAMILY;
  #kind: EntryKind | null = null;

  // The current family.
  #famName = "";
  #nameStart = 0;
  #nameEnd = 0;
  #famKey: string | null = null;
  #famHelp = "";
  #famUnit = "";
  #famType = 0;
  /** Metric payload ranges: [start, end] pairs. */
  #metrics = new Int32Array(64);
  #nMetrics = 0;
  #mi = 0;

  // The current metric.
  /** Label fields: [fieldStart, payloadStart, payloadEnd] triples. */
  #lbl = new Int32Array(48);
  #nLbl = 0;
  /** Label fields of the metric (more than #nLbl past #maxLabels), the first's start, the last's end. */
  #nLblAll = 0;
  #lblFirst = 0;
  #lblEnd = 0;
  readonly #maxLabels: number;
  #lblKey: string | null = null;
  #ts: number | null = null;
  #st: number | null = null;
  #value = 0;
  /** Counter exemplar payload range, start -1 when none. */
  #exStart = -1;
  #exEnd = -1;
  #count = 0;
  #sum = 0;
  /** Quantiles (summary) or buckets (histogram). */
  #nq = 0;
  /** Offset of the 8 bytes of the quantile / upper bound, -1 when absent. */
  #qPos = new Int32Array(16);
  #qBound = new Float64Array(16);
  #qVal = new Float64Array(16);
  /** Bucket exemplar payload ranges (start -1 when none). */
  #qEx = new Int32Array(32);

  // The native part of the current histogram.
  #hCountInt = 0;
  #hCountFloat = 0;
  #schema = 0;
  #zeroThreshold = 0;
  #zeroCountInt = 0;
  #zeroCountFloat = 0;
  #negSpans: number[] = [];
  #posSpans: number[] = [];
  #negDeltas: number[] = [];
  #posDeltas: number[] = [];
  #negCounts: number[] = [];
  #posCounts: number[] = [];
  /** Exemplar payload ranges of the `exemplars` field: [start, end] pairs. */
  #hEx: number[] = [];
  #isNative = false;

  // Steps of the current metric.
  #step = 0;
  /** Last classic step (index of the last bucket or quantile; -1 for `_sum`). */
  #lastStep = 0;
  /** The classic series follow the native histogram. */
  #classicAfter = false;

  // Per-entry memos.
  #key: string | null = null;
  #hist: Histogram | null = null;
  #exemplars: Exemplar[] | null = null;

  constructor(body: Uint8Array, opts: ProtobufOptions = {}) {
    this.#b = body;
    this.#r = new ProtoReader(body);
    this.#native = opts.nativeHistograms ?? false;
    this.#alsoClassic = opts.classicHistograms ?? false;
    this.#maxLabels = opts.maxLabels ?? Infinity;
  }

  /**
   * Advances to the next entry: "help", "unit", "type" (per family), then
   * "series" or "histogram" per sample; null at the end.
   *
   * @throws {ParseError} on broken or invalid input
   */
  next(): EntryKind | null {
    this.#key = null;
    this.#hist = null;
    this.#exemplars = null;
    for (;;) {
      switch (this.#state) {
        case S_FAMILY:
          if (!this.#nextFamily()) {
            this.#kind = null;
            return null;
          }
          this.#state = this.#famUnit !== "" ? S_UNIT : S_TYPE;
          return this.#kind = "help";
        case S_UNIT:
          this.#state = S_TYPE;
          return this.#kind = "unit";
        case S_TYPE:
          this.#state = S_METRIC;
          return this.#kind = "type";
        case S_METRIC:
          if (this.#mi >= this.#nMetrics) {
            this.#state = S_FAMILY;
            continue;
          }
          this.#loadMetric(this.#mi++);
          this.#state = S_STEP;
          return this.#kind = this.#step === STEP_HIST ? "histogram" : "series";
        case S_STEP: {
          const s = this.#step;
          if (s === STEP_VALUE || (s === STEP_HIST && !this.#classicAfter)) {
            this.#state = S_METRIC;
            continue;
          }
          if (s === STEP_HIST) this.#step = STEP_COUNT;
          else if (s < this.#lastStep) this.#step = s + 1;
          else {
            this.#state = S_METRIC;
            continue;
          }
          return this.#kind = "series";
        }
      }
    }
  }

  /**
   * The cache key of the current sample: the family name, the metric's raw
   * label fields, and which of the metric's samples it is. Not readable text.
   */
  series(): string {
    if (this.#key !== null) return this.#key;
    const s = this.#s ??= byteView.decode(this.#b);
    this.#famKey ??= s.slice(this.#nameStart, this.#nameEnd) + K_FAMILY;
    if (this.#lblKey === null) {
      const l = this.#lbl;
      const n = this.#nLbl;
      let k = "";
      if (this.#nLblAll > n) {
        // Not every label field was kept: the bytes that hold them all.
        k = s.slice(this.#lblFirst, this.#lblEnd);
      } else if (n > 0) {
        // Usually the label fields are adjacent: one slice.
        let from = l[0];
        for (let i = 0; i < n; i++) {
          const o = i * 3;
          if (i > 0 && l[o] !== l[o - 1]) {
            k += s.slice(from, l[o - 1]);
            from = l[o];
          }
        }
        k += s.slice(from, l[(n - 1) * 3 + 2]);
      }
      this.#lblKey = this.#famKey + k;
    }
    const step = this.#step;
    let key: string;
    if (step === STEP_VALUE) key = this.#lblKey;
    else if (step === STEP_HIST) key = this.#lblKey + K_HIST;
    else if (step === STEP_COUNT) key = this.#lblKey + K_COUNT;
    else if (step === STEP_SUM) key = this.#lblKey + K_SUM;
    else if (step >= this.#nq) key = this.#lblKey + K_INF;
    else {
      const p = this.#qPos[step];
      key = p < 0 ? this.#lblKey + K_NO_BOUND : this.#lblKey + K_BOUND + s.slice(p, p + 8);
    }
    return this.#key = key;
  }

  /** `series()` as a flat copy that does not keep the body alive. */
  ownedSeries(): string {
    return detach(this.series());
  }

  /**
   * The label set of the current sample: `__name__` (the family name with
   * `_count`, `_sum` or `_bucket` as the sample requires), the metric's
   * labels, and `le` or `quantile`; sorted, empty values dropped.
   *
   * @throws {ParseError} on empty or invalid UTF-8 label names, invalid UTF-8
   * values, or duplicate label names
   * @throws {TooManyLabelsError} past the parser's `maxLabels`
   */
  labels(): Labels {
    if (this.#nLblAll > this.#nLbl) this.#allLabels();
    const r = this.#r;
    const n = this.#nLbl;
    const names: string[] = [METRIC_NAME];
    const step = this.#step;
    const type = this.#famType;
    const histogram = type === T_HISTOGRAM || type === T_GAUGE_HISTOGRAM;
    let suffix = "";
    if (step === STEP_COUNT) suffix = "_count";
    else if (step === STEP_SUM) suffix = "_sum";
    else if (step >= 0 && histogram) suffix = "_bucket";
    const values: string[] = [this.#famName + suffix];
    const l = this.#lbl;
    const b = this.#b;
    for (let i = 0; i < n; i++) {
      const o = i * 3;
      const end = l[o + 2];
      const at = l[o + 1];
      let ns = -1, ne = -1, vs = -1, ve = -1;
      // The usual layout, name then value with one-byte lengths, read directly.
      if (b[at] === 0x0a && b[at + 1] < 0x80) {
        const a = at + 2 + b[at + 1];
        if (a + 2 <= end && b[a] === 0x12 && b[a + 1] < 0x80 && a + 2 + b[a + 1] === end) {
          ns = at + 2, ne = a, vs = a + 2, ve = end;
        }
      }
      r.p = ns < 0 ? at : end;
      while (r.p < end) {
        const at = r.p;
        const tag = r.tag(end);
        if (tag === 0x0a || tag === 0x12) {
          const len = r.len(end);
          if (tag === 0x0a) ns = r.p, ne = r.p + len;
          else vs = r.p, ve = r.p + len;
          r.p += len;
        } else if ((tag >>> 3) <= 2) {
          throw r.error(`LabelPair field ${tag >>> 3} has wire type ${tag & 7}, expected 2`, at);
        } else r.skip(tag & 7, end);
      }
      if (ns < 0 || ns === ne) throw r.error(`empty label name in metric "${this.#famName}"`, l[o]);
      const name = this.#text(ns, ne, "label name");
      names.push(name);
      values.push(vs < 0 ? "" : this.#text(vs, ve, `value of label "${name}"`));
    }
    if (step >= 0) {
      names.push(histogram ? "le" : "quantile");
      values.push(step < this.#nq ? formatOpenMetricsFloat(this.#qBound[step]) : "+Inf");
    }
    const k = names.length;
    const idx = sortedOrder(names);
    const kv: string[] = [];
    for (let i = 0; i < k; i++) {
      const at = idx[i];
      if (i > 0 && names[idx[i - 1]] === names[at]) {
        throw r.error(
          names[at] === METRIC_NAME
            ? `label "${METRIC_NAME}" duplicates the metric name in metric "${this.#famName}"`
            : `duplicate label name "${names[at]}" in metric "${this.#famName}"`,
          this.#metrics[(this.#mi - 1) * 2],
        );
      }
      if (values[at] !== "") kv.push(names[at], values[at]);
    }
    return Labels.fromSortedFlat(kv);
  }

  /**
   * The metric has more label fields than were kept: past `maxLabels`
   * non-empty values it fails; otherwise (empty values made up the excess)
   * every label field is kept. Runs after `#loadMetric` checked the fields.
   */
  #allLabels(): void {
    const r = this.#r;
    const start = this.#metrics[(this.#mi - 1) * 2];
    const end = this.#metrics[(this.#mi - 1) * 2 + 1];
    const save = r.p;
    let nonEmpty = 0;
    r.p = start;
    while (r.p < end) {
      const tag = r.tag(end);
      if ((tag & 7) !== WIRE_LEN) {
        r.skip(tag & 7, end);
        continue;
      }
      const len = r.len(end);
      const pEnd = r.p + len;
      if (tag >>> 3 === 1) {
        while (r.p < pEnd) {
          const t2 = r.tag(pEnd);
          if ((t2 & 7) !== WIRE_LEN) r.skip(t2 & 7, pEnd);
          else {
            const l2 = r.len(pEnd);
            if (t2 === 0x12 && l2 > 0) nonEmpty++;
            r.p += l2;
          }
        }
      }
      r.p = pEnd;
    }
    if (nonEmpty > this.#maxLabels) {
      r.p = save;
      throw new TooManyLabelsError(this.#famName, nonEmpty, this.#maxLabels);
    }
    let nl = 0;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if ((tag & 7) !== WIRE_LEN) {
        r.skip(tag & 7, end);
        continue;
      }
      const len = r.len(end);
      if (tag >>> 3 === 1) {
        if (nl * 3 + 3 > this.#lbl.length) this.#lbl = grow(this.#lbl);
        const l = this.#lbl;
        l[nl * 3] = at;
        l[nl * 3 + 1] = r.p;
        l[nl * 3 + 2] = r.p + len;
        nl++;
      }
      r.p += len;
    }
    this.#nLbl = nl;
    r.p = save;
  }

  /** The value of the current series sample (0 for a histogram entry). */
  value(): number {
    const step = this.#step;
    if (step === STEP_VALUE) return this.#value;
    if (step === STEP_COUNT) return this.#count;
    if (step === STEP_SUM) return this.#sum;
    if (step === STEP_HIST) return 0;
    return step < this.#nq ? this.#qVal[step] : this.#count;
  }

  /** The metric's `timestamp_ms`, or null when absent or 0. */
  timestamp(): number | null {
    return this.#ts;
  }

  /** The name of the current family. */
  family(): string {
    return this.#famName;
  }

  /** The type of the current family. */
  type(): MetricType {
    return TYPE_NAMES[this.#famType];
  }

  /** The help text of the current family ("" when none). */
  help(): string {
    return this.#famHelp;
  }

  /** The unit of the current family ("" when none). */
  unit(): string {
    return this.#famUnit;
  }

  /**
   * The start time in ms of the current sample: its metric's
   * `created_timestamp` (counters, summaries, histograms), or null.
   */
  startTimestamp(): number | null {
    return this.#st;
  }

  /**
   * The native histogram of a "histogram" entry (a new object per entry;
   * integer histograms keep bucket deltas, float ones absolute counts).
   */
  histogram(): Histogram {
    if (this.#hist !== null) return this.#hist;
    if (this.#step !== STEP_HIST) throw new Error("histogram() called on a non-histogram entry");
    const float = this.#hCountFloat > 0 || this.#zeroCountFloat > 0;
    const h: Histogram = {
      float,
      schema: this.#schema,
      zeroThreshold: this.#zeroThreshold,
      zeroCount: float ? this.#zeroCountFloat : this.#zeroCountInt,
      count: float ? this.#hCountFloat : this.#hCountInt,
      sum: this.#sum,
      positiveSpans: spans(this.#posSpans),
      positiveBuckets: (float ? this.#posCounts : this.#posDeltas).slice(),
      negativeSpans: spans(this.#negSpans),
      negativeBuckets: (float ? this.#negCounts : this.#negDeltas).slice(),
      resetHint: this.#famType === T_GAUGE_HISTOGRAM ? ResetHint.Gauge : ResetHint.Unknown,
      customValues: [],
    };
    return this.#hist = h;
  }

  /**
   * The exemplar of the current series sample: a counter's, or a classic
   * bucket's; null when none (or hidden, see the module documentation). For
   * a "histogram" entry the first of `exemplars()`.
   *
   * @throws {ParseError} on broken exemplar data or invalid UTF-8 labels
   */
  exemplar(): Exemplar | null {
    const step = this.#step;
    if (step === STEP_VALUE) {
      if (this.#famType !== T_COUNTER || this.#exStart < 0) return null;
    } else if (step !== STEP_HIST) {
      if (step < 0 || step >= this.#nq || this.#famType === T_SUMMARY) return null;
      if (this.#qEx[step * 2] < 0) return null;
    }
    const xs = this.exemplars();
    return xs.length > 0 ? xs[0] : null;
  }

  /**
   * Every exemplar of the current entry: at most one for a series sample;
   * for a native histogram those of its `exemplars` field, or else of its
   * buckets, that have a timestamp.
   *
   * @throws {ParseError} on broken exemplar data or invalid UTF-8 labels
   */
  exemplars(): readonly Exemplar[] {
    if (this.#exemplars !== null) return this.#exemplars;
    const out: Exemplar[] = [];
    const step = this.#step;
    if (step === STEP_VALUE) {
      if (this.#famType === T_COUNTER && this.#exStart >= 0) {
        this.#addExemplar(out, this.#exStart, this.#exEnd, false);
      }
    } else if (step === STEP_HIST) {
      const hx = this.#hEx;
      if (hx.length > 0) {
        for (let i = 0; i < hx.length; i += 2) this.#addExemplar(out, hx[i], hx[i + 1], true);
      } else {
        const qx = this.#qEx;
        for (let i = 0; i < this.#nq; i++) {
          if (qx[i * 2] >= 0) this.#addExemplar(out, qx[i * 2], qx[i * 2 + 1], true);
        }
      }
    } else if (step >= 0 && step < this.#nq && this.#famType !== T_SUMMARY) {
      const qx = this.#qEx;
      if (qx[step * 2] >= 0) this.#addExemplar(out, qx[step * 2], qx[step * 2 + 1], false);
    }
    return this.#exemplars = out;
  }

  // ---------------------------------------------------------------- families

  /** Reads families until one with metrics; false at the end of the body. */
  #nextFamily(): boolean {
    const r = this.#r;
    const total = this.#b.length;
    for (;;) {
      if (this.#next >= total) return false;
      r.p = this.#next;
      const at = r.p;
      const c = this.#b[at];
      let len: number;
      if (c < 0x80) {
        len = c;
        r.p = at + 1;
      } else {
        r.varint(total);
        len = r.hi === 0 ? r.lo : Infinity;
      }
      if (len > total - r.p) {
        throw r.error(
          `metric family of ${
            len === Infinity ? "≥ 2^32" : len
          } bytes runs past the end of the body (${total - r.p} bytes left)`,
          at,
        );
      }
      const start = r.p;
      this.#next = start + len;
      if (this.#scanFamily(start, start + len)) return true;
    }
  }

  /** Reads one MetricFamily; false when it has no metrics (skipped, as Prometheus does). */
  #scanFamily(start: number, end: number): boolean {
    const r = this.#r;
    let nameS = -1, nameE = -1, helpS = -1, helpE = -1, unitS = -1, unitE = -1;
    let type = 0;
    let typeAt = start;
    let n = 0;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      switch (tag) {
        case 0x0a: // name
        case 0x12: // help
        case 0x22: // metric
        case 0x2a: { // unit
          const len = r.len(end);
          const s = r.p;
          r.p += len;
          if (tag === 0x22) {
            if (n * 2 + 2 > this.#metrics.length) this.#metrics = grow(this.#metrics);
            this.#metrics[n * 2] = s;
            this.#metrics[n * 2 + 1] = s + len;
            n++;
          } else if (tag === 0x0a) nameS = s, nameE = s + len;
          else if (tag === 0x12) helpS = s, helpE = s + len;
          else unitS = s, unitE = s + len;
          break;
        }
        case 0x18: // type
          typeAt = at;
          type = r.int32(end);
          break;
        default:
          this.#other(tag, 5, "MetricFamily", at, end);
      }
    }
    this.#nMetrics = n;
    this.#mi = 0;
    if (n === 0) return false;
    if (nameS < 0 || nameS === nameE) throw r.error("metric family without a name", start);
    this.#famName = this.#text(nameS, nameE, "metric name");
    this.#nameStart = nameS;
    this.#nameEnd = nameE;
    this.#famKey = null;
    if (type < 0 || type > T_GAUGE_HISTOGRAM) {
      throw r.error(`unknown metric type ${type} for metric "${this.#famName}"`, typeAt);
    }
    this.#famType = type;
    this.#famHelp = helpS < 0 ? "" : this.#text(helpS, helpE, `help of metric "${this.#famName}"`);
    this.#famUnit = unitS < 0 ? "" : this.#text(unitS, unitE, `unit of metric "${this.#famName}"`);
    return true;
  }

  // ---------------------------------------------------------------- metrics

  /** Reads metric `i` of the family and sets up its first step. */
  #loadMetric(i: number): void {
    const r = this.#r;
    const start = this.#metrics[i * 2];
    const end = this.#metrics[i * 2 + 1];
    const want = VALUE_FIELD[this.#famType];
    let nl = 0, all = 0;
    const cap = this.#maxLabels;
    let subS = -1, subE = -1;
    this.#ts = null;
    this.#lblKey = null;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      const f = tag >>> 3;
      const wt = tag & 7;
      if (wt === WIRE_LEN && f !== 6 && f >= 1 && f <= 7) {
        const len = r.len(end);
        if (f === 1) {
          if (all === 0) this.#lblFirst = at;
          this.#lblEnd = r.p + len;
          all++;
          if (nl < cap) {
            if (nl * 3 + 3 > this.#lbl.length) this.#lbl = grow(this.#lbl);
            const l = this.#lbl;
            l[nl * 3] = at;
            l[nl * 3 + 1] = r.p;
            l[nl * 3 + 2] = r.p + len;
            nl++;
          }
        } else if (f === want) {
          subS = r.p;
          subE = r.p + len;
        }
        r.p += len;
      } else if (f === 6 && wt === WIRE_VARINT) {
        const t = r.int64(end);
        this.#ts = t === 0 ? null : t;
      } else this.#other(tag, 7, "Metric", at, end);
    }
    this.#nLbl = nl;
    this.#nLblAll = all;
    this.#st = null;
    this.#exStart = -1;
    this.#value = 0;
    this.#count = 0;
    this.#sum = 0;
    this.#nq = 0;
    switch (this.#famType) {
      case T_COUNTER:
        if (subS >= 0) this.#scanCounter(subS, subE);
        this.#step = STEP_VALUE;
        return;
      case T_GAUGE:
      case T_UNTYPED:
        if (subS >= 0) this.#scanValue(subS, subE);
        this.#step = STEP_VALUE;
        return;
      case T_SUMMARY:
        if (subS >= 0) this.#scanSummary(subS, subE);
        this.#step = STEP_COUNT;
        this.#lastStep = this.#nq - 1;
        return;
      default:
        this.#scanHistogram(subS, subE);
    }
  }

  /** Counter{value=1, exemplar=2, created_timestamp=3}. */
  #scanCounter(start: number, end: number): void {
    const r = this.#r;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if (tag === 0x09) this.#value = r.double(end);
      else if (tag === 0x12) {
        const len = r.len(end);
        this.#exStart = r.p;
        this.#exEnd = r.p + len;
        r.p += len;
      } else if (tag === 0x1a) {
        const len = r.len(end);
        this.#st = this.#timestamp(r.p, r.p + len);
      } else this.#other(tag, 3, "Counter", at, end);
    }
  }

  /** Gauge{value=1} and Untyped{value=1}. */
  #scanValue(start: number, end: number): void {
    const r = this.#r;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if (tag === 0x09) this.#value = r.double(end);
      else this.#other(tag, 1, "Gauge", at, end);
    }
  }

  /** Summary{sample_count=1, sample_sum=2, quantile=3 {quantile=1, value=2}, created_timestamp=4}. */
  #scanSummary(start: number, end: number): void {
    const r = this.#r;
    r.p = start;
    let nq = 0;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if (tag === 0x08) this.#count = r.uint64(end);
      else if (tag === 0x11) this.#sum = r.double(end);
      else if (tag === 0x1a) {
        const len = r.len(end);
        const qEnd = r.p + len;
        this.#ensureQ(nq + 1);
        let pos = -1, q = 0, v = 0;
        while (r.p < qEnd) {
          const qAt = r.p;
          const qt = r.tag(qEnd);
          if (qt === 0x09) {
            pos = r.p;
            q = r.double(qEnd);
          } else if (qt === 0x11) v = r.double(qEnd);
          else this.#other(qt, 2, "Quantile", qAt, qEnd);
        }
        this.#qPos[nq] = pos;
        this.#qBound[nq] = q;
        this.#qVal[nq] = v;
        this.#qEx[nq * 2] = -1;
        nq++;
      } else if (tag === 0x22) {
        const len = r.len(end);
        this.#st = this.#timestamp(r.p, r.p + len);
      } else this.#other(tag, 4, "Summary", at, end);
    }
    this.#nq = nq;
  }

  /**
   * Histogram: the classic part (sample_count=1, sample_count_float=4,
   * sample_sum=2, bucket=3, created_timestamp=15) and the native part
   * (schema=5, zero_threshold=6, zero_count=7, zero_count_float=8, spans,
   * deltas and counts 9…14, exemplars=16). Decides the steps.
   */
  #scanHistogram(start: number, end: number): void {
    const r = this.#r;
    let nb = 0;
    let countInt = 0, countFloat = 0;
    this.#schema = 0;
    this.#zeroThreshold = 0;
    this.#zeroCountInt = 0;
    this.#zeroCountFloat = 0;
    this.#negSpans.length = 0;
    this.#posSpans.length = 0;
    this.#negDeltas.length = 0;
    this.#posDeltas.length = 0;
    this.#negCounts.length = 0;
    this.#posCounts.length = 0;
    this.#hEx.length = 0;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      switch (tag) {
        case 0x08:
          countInt = r.uint64(end);
          break;
        case 0x21:
          countFloat = r.double(end);
          break;
        case 0x11:
          this.#sum = r.double(end);
          break;
        case 0x1a: {
          const len = r.len(end);
          this.#ensureQ(nb + 1);
          this.#scanBucket(nb++, r.p, r.p + len);
          break;
        }
        case 0x7a: {
          const len = r.len(end);
          this.#st = this.#timestamp(r.p, r.p + len);
          break;
        }
        case 0x28:
          this.#schema = r.sint32(end);
          break;
        case 0x31:
          this.#zeroThreshold = r.double(end);
          break;
        case 0x38:
          this.#zeroCountInt = r.uint64(end);
          break;
        case 0x41:
          this.#zeroCountFloat = r.double(end);
          break;
        case 0x4a:
          this.#span(this.#negSpans, end);
          break;
        case 0x62:
          this.#span(this.#posSpans, end);
          break;
        case 0x50:
        case 0x52:
          this.#sint64s(this.#negDeltas, tag, end);
          break;
        case 0x68:
        case 0x6a:
          this.#sint64s(this.#posDeltas, tag, end);
          break;
        case 0x59:
        case 0x5a:
          this.#doubles(this.#negCounts, tag, end);
          break;
        case 0x71:
        case 0x72:
          this.#doubles(this.#posCounts, tag, end);
          break;
        case 0x82: { // field 16, LEN (two-byte tag 0x82 0x01)
          const len = r.len(end);
          this.#hEx.push(r.p, r.p + len);
          r.p += len;
          break;
        }
        default:
          this.#other(tag, 16, "Histogram", at, end);
      }
    }
    this.#nq = nb;
    this.#hCountInt = countInt;
    this.#hCountFloat = countFloat;
    this.#count = countFloat !== 0 ? countFloat : countInt;
    // Classic steps: up to the first +Inf bucket, else one more for the implicit +Inf.
    let last = nb;
    for (let i = 0; i < nb; i++) {
      if (this.#qBound[i] === Infinity) {
        last = i;
        break;
      }
    }
    this.#lastStep = last;
    this.#isNative = this.#posSpans.length > 0 || this.#negSpans.length > 0 ||
      this.#zeroThreshold > 0 || this.#zeroCountInt > 0;
    if (this.#native && this.#isNative) {
      this.#checkNative(start);
      this.#step = STEP_HIST;
      this.#classicAfter = this.#alsoClassic && nb > 0;
    } else {
      this.#step = STEP_COUNT;
      this.#classicAfter = false;
    }
  }

  /** Bucket{cumulative_count=1, cumulative_count_float=4, upper_bound=2, exemplar=3}. */
  #scanBucket(i: number, start: number, end: number): void {
    const r = this.#r;
    r.p = start;
    let count = 0, countFloat = 0, pos = -1, bound = 0, exS = -1, exE = -1;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if (tag === 0x08) count = r.uint64(end);
      else if (tag === 0x21) countFloat = r.double(end);
      else if (tag === 0x11) {
        pos = r.p;
        bound = r.double(end);
      } else if (tag === 0x1a) {
        const len = r.len(end);
        exS = r.p;
        exE = r.p + len;
        r.p += len;
      } else this.#other(tag, 4, "Bucket", at, end);
    }
    r.p = end;
    this.#qPos[i] = pos;
    this.#qBound[i] = bound;
    this.#qVal[i] = countFloat !== 0 ? countFloat : count;
    this.#qEx[i * 2] = exS;
    this.#qEx[i * 2 + 1] = exE;
  }

  /** BucketSpan{offset=1 sint32, length=2 uint32}, appended as offset, length. */
  #span(out: number[], end: number): void {
    const r = this.#r;
    const len = r.len(end);
    const sEnd = r.p + len;
    let offset = 0, length = 0;
    while (r.p < sEnd) {
      const at = r.p;
      const tag = r.tag(sEnd);
      if (tag === 0x08) offset = r.sint32(sEnd);
      else if (tag === 0x10) length = r.uint32(sEnd);
      else this.#other(tag, 2, "BucketSpan", at, sEnd);
    }
    out.push(offset, length);
  }

  /** A repeated sint64, packed or not. */
  #sint64s(out: number[], tag: number, end: number): void {
    const r = this.#r;
    if ((tag & 7) === WIRE_VARINT) {
      out.push(r.sint64(end));
      return;
    }
    const len = r.len(end);
    const pEnd = r.p + len;
    while (r.p < pEnd) out.push(r.sint64(pEnd));
  }

  /** A repeated double, packed or not. */
  #doubles(out: number[], tag: number, end: number): void {
    const r = this.#r;
    if ((tag & 7) === WIRE_I64) {
      out.push(r.double(end));
      return;
    }
    const len = r.len(end);
    if (len % 8 !== 0) throw r.error(`packed doubles of ${len} bytes (not a multiple of 8)`);
    const pEnd = r.p + len;
    while (r.p < pEnd) out.push(r.double(pEnd));
  }

  /**
   * Checks a native histogram as Prometheus' parser and histogram validation
   * do, so an invalid one fails the scrape instead of reaching storage.
   */
  #checkNative(at: number): void {
    const float = this.#hCountFloat > 0 || this.#zeroCountFloat > 0;
    const fail = (why: string) => this.#r.error(`histogram "${this.#famName}": ${why}`, at);
    const schema = this.#schema;
    if (schema < -4 || schema > 8) {
      throw fail(`invalid schema ${schema} (must be between -4 and 8)`);
    }
    let total = 0;
    for (const side of ["positive", "negative"] as const) {
      const sp = side === "positive" ? this.#posSpans : this.#negSpans;
      const buckets = side === "positive"
        ? (float ? this.#posCounts : this.#posDeltas)
        : (float ? this.#negCounts : this.#negDeltas);
      let need = 0;
      for (let i = 0; i < sp.length; i += 2) {
        if (i > 0 && sp[i] < 0) {
          throw fail(`${side} side: span number ${i / 2 + 1} has negative offset ${sp[i]}`);
        }
        need += sp[i + 1];
      }
      if (need !== buckets.length) {
        throw fail(`${side} side: spans require ${need} buckets, have ${buckets.length}`);
      }
      let c = 0;
      for (let i = 0; i < buckets.length; i++) {
        c = float ? buckets[i] : c + buckets[i];
        if (c < 0) {
          throw fail(`${side} side: bucket number ${i + 1} has observation count of ${c}`);
        }
        total += c;
      }
    }
    if (float) {
      if (this.#zeroCountFloat < 0) {
        throw fail(`zero bucket has observation count of ${this.#zeroCountFloat}`);
      }
      if (this.#hCountFloat < 0) throw fail(`observation count is ${this.#hCountFloat}`);
      return;
    }
    total += this.#zeroCountInt;
    const count = this.#hCountInt;
    if (Number.isNaN(this.#sum) ? total > count : total !== count) {
      throw fail(`${total} observations found in buckets, but the count field is ${count}`);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** google.protobuf.Timestamp{seconds=1, nanos=2} in ms (null when 0); leaves the cursor at `end`. */
  #timestamp(start: number, end: number): number | null {
    const r = this.#r;
    let sec = 0, nanos = 0;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if (tag === 0x08) sec = r.int64(end);
      else if (tag === 0x10) nanos = r.int32(end);
      else this.#other(tag, 2, "Timestamp", at, end);
    }
    const ms = sec * 1000 + Math.trunc(nanos / 1e6);
    return ms === 0 ? null : ms;
  }

  /** Adds the exemplar at [start, end) unless storage would reject it. */
  #addExemplar(out: Exemplar[], start: number, end: number, needTs: boolean): void {
    const r = this.#r;
    const names: string[] = [];
    const values: string[] = [];
    let value = 0;
    let tsS = -1, tsE = -1;
    r.p = start;
    while (r.p < end) {
      const at = r.p;
      const tag = r.tag(end);
      if (tag === 0x0a) {
        const len = r.len(end);
        const pEnd = r.p + len;
        let ns = -1, ne = -1, vs = -1, ve = -1;
        while (r.p < pEnd) {
          const a2 = r.p;
          const t2 = r.tag(pEnd);
          if (t2 === 0x0a || t2 === 0x12) {
            const l2 = r.len(pEnd);
            if (t2 === 0x0a) ns = r.p, ne = r.p + l2;
            else vs = r.p, ve = r.p + l2;
            r.p += l2;
          } else this.#other(t2, 2, "LabelPair", a2, pEnd);
        }
        const save = r.p;
        if (ns < 0 || ns === ne) throw r.error("empty exemplar label name", at);
        const name = this.#text(ns, ne, "exemplar label name");
        const v = vs < 0 ? "" : this.#text(vs, ve, `value of exemplar label "${name}"`);
        r.p = save;
        if (v !== "") {
          names.push(name);
          values.push(v);
        }
      } else if (tag === 0x11) value = r.double(end);
      else if (tag === 0x1a) {
        const len = r.len(end);
        tsS = r.p;
        tsE = r.p + len;
        r.p += len;
      } else this.#other(tag, 3, "Exemplar", at, end);
    }
    const hasTs = tsS >= 0;
    if (needTs && !hasTs) return;
    let timestamp: number | null = null;
    if (hasTs) {
      timestamp = this.#timestamp(tsS, tsE) ?? 0;
    }
    const k = names.length;
    const idx = Array.from({ length: k }, (_, i) => i).sort((a, b) =>
      names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0
    );
    const kv: string[] = [];
    let length = 0;
    for (let i = 0; i < k; i++) {
      const at = idx[i];
      if (i > 0 && names[idx[i - 1]] === names[at]) return; // storage rejects duplicates
      length += codePoints(names[at]) + codePoints(values[at]);
      kv.push(names[at], values[at]);
    }
    if (length > EXEMPLAR_MAX_LABEL_SET_LENGTH) return;
    out.push({ labels: Labels.fromSortedFlat(kv), value, timestamp });
  }

  /** Decodes [start, end) as UTF-8; fails on invalid UTF-8. */
  #text(start: number, end: number, what: string): string {
    const b = this.#b;
    // ASCII, the usual case, is far cheaper through fromCharCode than a TextDecoder call.
    if (end - start <= 1024) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (b[i] >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
      }
    }
    try {
      return utf8.decode(b.subarray(start, end));
    } catch {
      throw this.#r.error(`${what} is not valid UTF-8`, start);
    }
  }

  /**
   * An unexpected tag: a field numbered up to `known` (a known field) with
   * the wrong wire type fails; other fields are skipped.
   */
  #other(tag: number, known: number, msg: string, at: number, end: number): void {
    const f = tag >>> 3;
    if (f <= known) {
      throw this.#r.error(`${msg} field ${f} has unexpected wire type ${tag & 7}`, at);
    }
    this.#r.skip(tag & 7, end);
  }

  #ensureQ(n: number): void {
    if (n <= this.#qPos.length) return;
    const size = Math.max(n, this.#qPos.length * 2);
    const pos = new Int32Array(size);
    pos.set(this.#qPos);
    const bound = new Float64Array(size);
    bound.set(this.#qBound);
    const val = new Float64Array(size);
    val.set(this.#qVal);
    const ex = new Int32Array(size * 2);
    ex.set(this.#qEx);
    this.#qPos = pos;
    this.#qBound = bound;
    this.#qVal = val;
    this.#qEx = ex;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function spans(flat: number[]): BucketSpan[] {
  const out = new Array<BucketSpan>(flat.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = { offset: flat[i * 2], length: flat[i * 2 + 1] };
  return out;
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

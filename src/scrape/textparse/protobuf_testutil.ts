/**
 * Test-only encoder for the protobuf exposition format: builds
 * length-delimited `io.prometheus.client.MetricFamily` bodies from plain
 * objects, field by field, so tests can write exactly the bytes they mean
 * (fields omitted when undefined, packed or unpacked repeated numbers,
 * labels in any order, duplicates included).
 *
 * @module
 */

/** google.protobuf.Timestamp. */
export interface PbTimestamp {
  seconds: number;
  nanos?: number;
}

/** Exemplar{label=1, value=2, timestamp=3}. */
export interface PbExemplar {
  labels?: [string, string][];
  value?: number;
  timestamp?: PbTimestamp;
}

/** Bucket{cumulative_count=1, cumulative_count_float=4, upper_bound=2, exemplar=3}. */
export interface PbBucket {
  cumulativeCount?: number;
  cumulativeCountFloat?: number;
  upperBound?: number;
  exemplar?: PbExemplar;
}

/** BucketSpan{offset=1, length=2}. */
export interface PbSpan {
  offset?: number;
  length?: number;
}

/** Histogram, classic and native parts. */
export interface PbHistogram {
  sampleCount?: number;
  sampleCountFloat?: number;
  sampleSum?: number;
  buckets?: PbBucket[];
  createdTimestamp?: PbTimestamp;
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  zeroCountFloat?: number;
  negativeSpans?: PbSpan[];
  negativeDeltas?: number[];
  negativeCounts?: number[];
  positiveSpans?: PbSpan[];
  positiveDeltas?: number[];
  positiveCounts?: number[];
  exemplars?: PbExemplar[];
}

/** Summary{sample_count=1, sample_sum=2, quantile=3, created_timestamp=4}. */
export interface PbSummary {
  sampleCount?: number;
  sampleSum?: number;
  quantiles?: { quantile?: number; value?: number }[];
  createdTimestamp?: PbTimestamp;
}

/** Metric. */
export interface PbMetric {
  labels?: [string, string][];
  gauge?: { value?: number };
  counter?: { value?: number; exemplar?: PbExemplar; createdTimestamp?: PbTimestamp };
  summary?: PbSummary;
  untyped?: { value?: number };
  histogram?: PbHistogram;
  timestampMs?: number;
}

/** MetricType numbers. */
export const PB_TYPE = {
  counter: 0,
  gauge: 1,
  summary: 2,
  untyped: 3,
  histogram: 4,
  gaugehistogram: 5,
} as const;

/** MetricFamily. */
export interface PbFamily {
  name?: string;
  help?: string;
  type?: number;
  metrics?: PbMetric[];
  unit?: string;
}

/** Encoding choices. */
export interface EncodeOptions {
  /** Repeated numbers packed (proto3 style) rather than one field each (proto2). @default false */
  packed?: boolean;
}

const enc = new TextEncoder();

/** A growable byte buffer with the protobuf primitives. */
class Writer {
  #b = new Uint8Array(256);
  #n = 0;

  #room(k: number): void {
    if (this.#n + k <= this.#b.length) return;
    const nb = new Uint8Array(Math.max(this.#b.length * 2, this.#n + k));
    nb.set(this.#b.subarray(0, this.#n));
    this.#b = nb;
  }

  byte(v: number): void {
    this.#room(1);
    this.#b[this.#n++] = v;
  }

  /** A varint of a non-negative integer or, for a negative one, its 64-bit two's complement. */
  varint(v: number): void {
    let big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    while (big >= 0x80n) {
      this.byte(Number(big & 0x7fn) | 0x80);
      big >>= 7n;
    }
    this.byte(Number(big));
  }

  /** A zigzag-encoded signed integer (sint32, sint64). */
  zigzag(v: number): void {
    const b = BigInt(Math.trunc(v));
    let z = BigInt.asUintN(64, b >= 0n ? b << 1n : ((-b) << 1n) - 1n);
    while (z >= 0x80n) {
      this.byte(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    this.byte(Number(z));
  }

  tag(field: number, wt: number): void {
    this.varint(field * 8 + wt);
  }

  double(v: number): void {
    this.#room(8);
    new DataView(this.#b.buffer).setFloat64(this.#n, v, true);
    this.#n += 8;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.#room(b.length);
    this.#b.set(b, this.#n);
    this.#n += b.length;
  }

  raw(b: Uint8Array): void {
    this.#room(b.length);
    this.#b.set(b, this.#n);
    this.#n += b.length;
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.#b.slice(0, this.#n);
  }
}

function message(fill: (w: Writer) => void): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  fill(w);
  return w.finish();
}

function str(w: Writer, field: number, v: string | undefined): void {
  if (v === undefined) return;
  w.tag(field, 2);
  w.bytes(enc.encode(v));
}

function dbl(w: Writer, field: number, v: number | undefined): void {
  if (v === undefined) return;
  w.tag(field, 1);
  w.double(v);
}

function uint(w: Writer, field: number, v: number | undefined): void {
  if (v === undefined) return;
  w.tag(field, 0);
  w.varint(v);
}

function sub(w: Writer, field: number, b: Uint8Array | undefined): void {
  if (b === undefined) return;
  w.tag(field, 2);
  w.bytes(b);
}

function timestamp(t: PbTimestamp | undefined): Uint8Array | undefined {
  if (t === undefined) return undefined;
  return message((w) => {
    uint(w, 1, t.seconds);
    uint(w, 2, t.nanos);
  });
}

function labelPairs(w: Writer, field: number, labels: [string, string][] | undefined): void {
  for (const [n, v] of labels ?? []) {
    sub(
      w,
      field,
      message((m) => {
        str(m, 1, n);
        str(m, 2, v);
      }),
    );
  }
}

/** Exemplar message bytes. */
export function encodeExemplar(e: PbExemplar): Uint8Array {
  return message((w) => {
    labelPairs(w, 1, e.labels);
    dbl(w, 2, e.value);
    sub(w, 3, timestamp(e.timestamp));
  });
}

function spanList(w: Writer, field: number, spans: PbSpan[] | undefined): void {
  for (const s of spans ?? []) {
    sub(
      w,
      field,
      message((m) => {
        if (s.offset !== undefined) {
          m.tag(1, 0);
          m.zigzag(s.offset);
        }
        uint(m, 2, s.length);
      }),
    );
  }
}

function sint64s(w: Writer, field: number, vs: number[] | undefined, packed: boolean): void {
  if (vs === undefined || vs.length === 0) return;
  if (packed) {
    sub(w, field, message((m) => vs.forEach((v) => m.zigzag(v))));
    return;
  }
  for (const v of vs) {
    w.tag(field, 0);
    w.zigzag(v);
  }
}

function doubles(w: Writer, field: number, vs: number[] | undefined, packed: boolean): void {
  if (vs === undefined || vs.length === 0) return;
  if (packed) {
    sub(w, field, message((m) => vs.forEach((v) => m.double(v))));
    return;
  }
  for (const v of vs) dbl(w, field, v);
}

function histogram(h: PbHistogram, packed: boolean): Uint8Array {
  return message((w) => {
    uint(w, 1, h.sampleCount);
    dbl(w, 4, h.sampleCountFloat);
    dbl(w, 2, h.sampleSum);
    for (const b of h.buckets ?? []) {
      sub(
        w,
        3,
        message((m) => {
          uint(m, 1, b.cumulativeCount);
          dbl(m, 4, b.cumulativeCountFloat);
          dbl(m, 2, b.upperBound);
          sub(m, 3, b.exemplar && encodeExemplar(b.exemplar));
        }),
      );
    }
    sub(w, 15, timestamp(h.createdTimestamp));
    if (h.schema !== undefined) {
      w.tag(5, 0);
      w.zigzag(h.schema);
    }
    dbl(w, 6, h.zeroThreshold);
    uint(w, 7, h.zeroCount);
    dbl(w, 8, h.zeroCountFloat);
    spanList(w, 9, h.negativeSpans);
    sint64s(w, 10, h.negativeDeltas, packed);
    doubles(w, 11, h.negativeCounts, packed);
    spanList(w, 12, h.positiveSpans);
    sint64s(w, 13, h.positiveDeltas, packed);
    doubles(w, 14, h.positiveCounts, packed);
    for (const e of h.exemplars ?? []) sub(w, 16, encodeExemplar(e));
  });
}

/** Metric message bytes. */
export function encodeMetric(m: PbMetric, opts: EncodeOptions = {}): Uint8Array {
  return message((w) => {
    labelPairs(w, 1, m.labels);
    if (m.gauge) sub(w, 2, message((g) => dbl(g, 1, m.gauge!.value)));
    if (m.counter) {
      const c = m.counter;
      sub(
        w,
        3,
        message((g) => {
          dbl(g, 1, c.value);
          sub(g, 2, c.exemplar && encodeExemplar(c.exemplar));
          sub(g, 3, timestamp(c.createdTimestamp));
        }),
      );
    }
    if (m.summary) {
      const s = m.summary;
      sub(
        w,
        4,
        message((g) => {
          uint(g, 1, s.sampleCount);
          dbl(g, 2, s.sampleSum);
          for (const q of s.quantiles ?? []) {
            sub(
              g,
              3,
              message((qm) => {
                dbl(qm, 1, q.quantile);
                dbl(qm, 2, q.value);
              }),
            );
          }
          sub(g, 4, timestamp(s.createdTimestamp));
        }),
      );
    }
    if (m.untyped) sub(w, 5, message((g) => dbl(g, 1, m.untyped!.value)));
    uint(w, 6, m.timestampMs);
    if (m.histogram) sub(w, 7, histogram(m.histogram, opts.packed ?? false));
  });
}

/** MetricFamily message bytes (without the length prefix). */
export function encodeFamily(f: PbFamily, opts: EncodeOptions = {}): Uint8Array {
  return message((w) => {
    str(w, 1, f.name);
    str(w, 2, f.help);
    uint(w, 3, f.type);
    for (const m of f.metrics ?? []) sub(w, 4, encodeMetric(m, opts));
    str(w, 5, f.unit);
  });
}

/** A body: each family length-prefixed, as `encoding=delimited` sends them. */
export function encodeFamilies(
  fams: PbFamily[],
  opts: EncodeOptions = {},
): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  for (const f of fams) w.bytes(encodeFamily(f, opts));
  return w.finish();
}

/** Length-prefixes raw message bytes (for hand-made, possibly broken, families). */
export function delimited(...messages: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  for (const m of messages) w.bytes(m);
  return w.finish();
}

/** Builds raw bytes field by field: `[field, wireType, value]`, value a number, bytes or string. */
export function rawMessage(fields: [number, number, number | string | Uint8Array][]): Uint8Array {
  return message((w) => {
    for (const [f, wt, v] of fields) {
      w.tag(f, wt);
      if (wt === 0) w.varint(v as number);
      else if (wt === 1) w.double(v as number);
      else if (wt === 2) w.bytes(typeof v === "string" ? enc.encode(v) : v as Uint8Array);
      else if (wt === 5) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setFloat32(0, v as number, true);
        w.raw(b);
      }
    }
  });
}

/**
 * The families of a 0.0.4 text exposition whose families are contiguous and
 * typed: counters, gauges and untyped as they are; summaries and classic
 * histograms regrouped from their `quantile`/`le`, `_sum`, `_count` series.
 * Timestamps are kept. For fixtures (benchmarks, round trips), not a parser.
 */
export function familiesFromText(text: string): PbFamily[] {
  const fams: PbFamily[] = [];
  let cur: PbFamily | null = null;
  let kind = "untyped";
  let help = "";
  const groups = new Map<string, PbMetric>();
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\d+))?$/;
  for (const l of text.split("\n")) {
    if (l === "") continue;
    if (l.startsWith("# HELP ")) {
      help = l.slice(l.indexOf(" ", 7) + 1);
      continue;
    }
    if (l.startsWith("# TYPE ")) {
      const [name, t] = l.slice(7).split(" ");
      kind = t;
      cur = { name, help, type: PB_TYPE[t as keyof typeof PB_TYPE] ?? 3, metrics: [] };
      help = "";
      groups.clear();
      fams.push(cur);
      continue;
    }
    const m = line.exec(l);
    if (m === null || cur === null) throw new Error(`unsupported fixture line: ${l}`);
    const labels: [string, string][] = [];
    for (const p of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) {
      labels.push([p[1], p[2]]);
    }
    const v = m[3] === "+Inf" ? Infinity : Number(m[3]);
    const ts = m[4] === undefined ? undefined : Number(m[4]);
    if (kind === "counter" || kind === "gauge" || kind === "untyped") {
      const metric: PbMetric = { labels, timestampMs: ts };
      metric[kind] = { value: v };
      cur.metrics!.push(metric);
      continue;
    }
    const magic = kind === "histogram" ? "le" : "quantile";
    const rest = labels.filter(([n]) => n !== magic);
    const key = JSON.stringify(rest);
    let metric = groups.get(key);
    if (metric === undefined) {
      metric = { labels: rest, timestampMs: ts };
      if (kind === "histogram") metric.histogram = { buckets: [] };
      else metric.summary = { quantiles: [] };
      groups.set(key, metric);
      cur.metrics!.push(metric);
    }
    const suffix = m[1].slice(cur.name!.length);
    const bound = labels.find(([n]) => n === magic)?.[1];
    if (metric.histogram) {
      const h = metric.histogram;
      if (suffix === "_sum") h.sampleSum = v;
      else if (suffix === "_count") h.sampleCount = v;
      else {
        h.buckets!.push({
          cumulativeCount: v,
          upperBound: bound === "+Inf" ? Infinity : Number(bound),
        });
      }
    } else {
      const s = metric.summary!;
      if (suffix === "_sum") s.sampleSum = v;
      else if (suffix === "_count") s.sampleCount = v;
      else s.quantiles!.push({ quantile: Number(bound), value: v });
    }
  }
  return fams;
}

import fc from "fast-check";
import { Labels } from "../../model/labels.ts";
import {
  type BucketSpan,
  CUSTOM_BUCKETS_SCHEMA,
  emptyHistogram,
  type Histogram,
  ResetHint,
} from "../../model/histogram.ts";
import { assert, assertEquals, assertThrows } from "../../testing/assert.ts";
import type { HistogramSample } from "../types.ts";
import { CorruptionError } from "./errors.ts";
import { ExemplarBatch } from "./exemplar_record.ts";
import {
  decodeHistograms,
  HistogramBatch,
  histogramProblem,
  scanHistograms,
} from "./histogram_record.ts";
import {
  claimedSampleCount,
  countsSamples,
  MAX_REF,
  MAX_TIMESTAMP,
  RecordEncoder,
  RecordType,
  SampleBuffer,
  sampleCount,
} from "./record.ts";
import { assessLoss } from "./repair.ts";
import { framedSize, frameRecord } from "./segment.ts";
import { countSamplesBefore, SegmentStats } from "./stats.ts";

/** One histogram sample to encode: `h` null for a staleness marker. */
interface Entry {
  ref: number;
  t: number;
  st: number;
  h: Histogram | null;
}

/** Encodes entries (all of one kind) as one histograms record. */
function encode(float: boolean, entries: readonly Entry[]): Uint8Array {
  const batch = new HistogramBatch(float);
  for (const e of entries) batch.add(e.ref, e.t, e.st, e.h);
  const enc = new RecordEncoder();
  enc.histograms(batch);
  return enc.buffer().slice();
}

/** What decoding `entries` must give. */
function expected(float: boolean, entries: readonly Entry[]): HistogramSample[] {
  return entries.map((e) => ({
    ref: e.ref,
    t: e.t,
    st: e.st,
    stale: e.h === null,
    h: e.h ?? emptyHistogram(float),
  }));
}

const span: fc.Arbitrary<BucketSpan> = fc.record({
  offset: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  length: fc.integer({ min: 0, max: 4 }),
}).map((s) => ({ offset: s.offset, length: s.length }));

/** Spans and as many buckets as they cover: deltas (integer) or counts (float). */
function side(float: boolean): fc.Arbitrary<{ spans: BucketSpan[]; buckets: number[] }> {
  return fc.array(span, { maxLength: 4 }).chain((spans) => {
    const n = spans.reduce((a, s) => a + s.length, 0);
    const bucket = float ? fc.double() : fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.integer({ min: -(2 ** 52 - 1), max: 2 ** 52 - 1 }),
    );
    return fc.array(bucket, { minLength: n, maxLength: n }).map((buckets) => ({ spans, buckets }));
  });
}

function histogram(float: boolean): fc.Arbitrary<Histogram> {
  const count = float ? fc.double() : fc.oneof(fc.nat(1000), fc.maxSafeNat());
  return fc.record({
    schema: fc.oneof(
      fc.integer({ min: -4, max: 8 }),
      fc.constant(CUSTOM_BUCKETS_SCHEMA),
      fc.integer({ min: -128, max: 127 }),
    ),
    // -0 is stored as 0 (no zero-threshold field).
    zeroThreshold: fc.oneof(fc.constant(0), fc.double().map((z) => z + 0)),
    zeroCount: count,
    count,
    sum: fc.double(),
    pos: side(float),
    neg: side(float),
    resetHint: fc.constantFrom(ResetHint.Unknown, ResetHint.Yes, ResetHint.No, ResetHint.Gauge),
    customValues: fc.array(fc.double(), { maxLength: 5 }),
  }).map((r) => ({
    float,
    schema: r.schema,
    zeroThreshold: r.zeroThreshold,
    zeroCount: r.zeroCount,
    count: r.count,
    sum: r.sum,
    positiveSpans: r.pos.spans,
    positiveBuckets: r.pos.buckets,
    negativeSpans: r.neg.spans,
    negativeBuckets: r.neg.buckets,
    resetHint: r.resetHint,
    customValues: r.customValues,
  }));
}

const timestamp = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
  fc.constantFrom(-MAX_TIMESTAMP, MAX_TIMESTAMP, 0),
);
const startTime = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
  fc.constantFrom(-MAX_TIMESTAMP, MAX_TIMESTAMP),
);

function entries(float: boolean): fc.Arbitrary<Entry[]> {
  return fc.array(
    fc.record({
      ref: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: MAX_REF })),
      t: timestamp,
      st: startTime,
      h: fc.option(histogram(float), { freq: 4 }),
    }),
    { minLength: 1, maxLength: 12 },
  );
}

Deno.test("histograms records round-trip integer and float histograms, stale markers and start times (property)", () => {
  for (const float of [false, true]) {
    fc.assert(
      fc.property(entries(float), (es) => {
        const rec = encode(float, es);
        assertEquals(rec[0], float ? RecordType.FloatHistograms : RecordType.Histograms);
        const out: HistogramSample[] = [];
        decodeHistograms(rec, out);
        assertEquals(out, expected(float, es));
        assertEquals(sampleCount(rec), es.length);
        assertEquals(claimedSampleCount(rec), es.length);
        assert(countsSamples(rec[0]));
        const seen: [number, number, boolean][] = [];
        assertEquals(scanHistograms(rec, (ref, t, stale) => seen.push([ref, t, stale])), es.length);
        assertEquals(seen, es.map((e) => [e.ref, e.t, e.h === null]));
      }),
      { numRuns: 300 },
    );
  }
});

Deno.test("histograms records: a stale marker is a flag, never a NaN sum; NaN sums are NormalNaN", () => {
  const h: Histogram = { ...emptyHistogram(true), sum: NaN, count: 3 };
  const rec = encode(true, [
    { ref: 1, t: 1000, st: 0, h: null },
    { ref: 1, t: 2000, st: 0, h },
  ]);
  // No StaleNaN bit pattern anywhere in the record.
  const hex = [...rec].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert(!hex.includes("020000000000f07f"), hex);
  assert(hex.includes("010000000000f87f"), "NaN sum written as NormalNaN");
  const out: HistogramSample[] = [];
  decodeHistograms(rec, out);
  assertEquals(out.map((s) => s.stale), [true, false]);
  assertEquals(out[0].h, emptyHistogram(true));
  assert(Number.isNaN(out[1].h.sum));
});

Deno.test("histograms records are compact: a small integer histogram takes a few dozen bytes", () => {
  const h: Histogram = {
    ...emptyHistogram(false),
    schema: 3,
    zeroThreshold: 2.938735877055719e-39,
    count: 12,
    zeroCount: 1,
    sum: 17.5,
    positiveSpans: [{ offset: -2, length: 3 }, { offset: 4, length: 2 }],
    positiveBuckets: [1, 2, -1, 3, -2],
  };
  const rec = encode(false, [{ ref: 7, t: 1_700_000_000_000, st: 1_699_999_000_000, h }]);
  // Header 1+1+1+6, entry: deltas 2, start 3, flags 1, schema 1, zt 8, counts 2, sum 8, spans 5, buckets 5.
  assert(rec.length <= 45, `${rec.length} bytes`);
});

Deno.test("histogramProblem() rejects what the record cannot hold", () => {
  const ok: Histogram = {
    ...emptyHistogram(false),
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [1, 1],
  };
  assertEquals(histogramProblem(ok), undefined);
  const bad: [string, Partial<Histogram>][] = [
    ["schema", { schema: 1.5 }],
    ["schema", { schema: 200 }],
    ["reset hint", { resetHint: 7 as ResetHint }],
    ["count", { count: -1 }],
    ["count", { count: 0.5 }],
    ["zero count", { zeroCount: NaN }],
    ["cover 2 buckets but there are 1", { positiveBuckets: [1] }],
    ["span offset", { positiveSpans: [{ offset: 2 ** 31, length: 2 }] }],
    ["span length", { positiveSpans: [{ offset: 0, length: -2 }] }],
    ["bucket delta", { positiveBuckets: [1, 2 ** 52] }],
    ["negative spans cover", { negativeBuckets: [1] }],
  ];
  for (const [what, over] of bad) {
    const p = histogramProblem({ ...ok, ...over });
    assert(p !== undefined && p.includes(what), `${what}: ${p}`);
  }
  // Float histograms may hold any counts.
  assertEquals(
    histogramProblem({ ...ok, float: true, count: 0.5, positiveBuckets: [0.1, 2.5] }),
    undefined,
  );
});

Deno.test("histograms records: truncated, flipped or random bytes give CorruptionError, never a crash (property)", () => {
  const valid = fc.boolean().chain((float) =>
    entries(float).map((es) => ({ float, rec: encode(float, es) }))
  );
  const decodeAll = (rec: Uint8Array) => {
    const out: HistogramSample[] = [];
    try {
      decodeHistograms(rec, out);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      assertEquals(out.length, 0, "nothing appended on error");
    }
    try {
      scanHistograms(rec, () => {});
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
    }
    try {
      sampleCount(rec);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
    }
  };
  fc.assert(
    fc.property(valid, fc.nat(), fc.nat(255), ({ rec }, at, byte) => {
      const cut = rec.subarray(0, at % rec.length);
      if (cut.length < rec.length) {
        assertThrows(() => decodeHistograms(cut, []), CorruptionError);
      }
      const flipped = rec.slice();
      flipped[at % rec.length] ^= byte;
      decodeAll(flipped);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(RecordType.Histograms, RecordType.FloatHistograms),
      fc.uint8Array({ maxLength: 80 }),
      (type, body) => decodeAll(new Uint8Array([type, ...body])),
    ),
    { numRuns: 2000 },
  );
});

Deno.test("histograms records reject malformed headers and bodies", async (t) => {
  const u = (...b: number[]) => new Uint8Array(b);
  const cases: [string, Uint8Array][] = [
    ["wrong type", u(RecordType.Samples, 1, 1, 0, 0, 0, 0, 1)],
    ["count 0", u(5, 0, 1, 0)],
    ["count past end", u(5, 9, 1, 0, 0, 0, 0, 1)],
    ["ref 0", u(5, 1, 0, 0, 0, 0, 0, 1)],
    ["stale with other flags", u(5, 1, 1, 0, 0, 0, 0, 3)],
    ["unknown flags", u(5, 1, 1, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
    ["trailing bytes", u(5, 1, 1, 0, 0, 0, 0, 1, 0)],
    ["start time 0 through a delta", u(5, 1, 1, 0, 0, 0, 1, 1)],
  ];
  for (const [name, rec] of cases) {
    await t.step(name, () => {
      assertThrows(() => decodeHistograms(rec, []), CorruptionError);
    });
  }
});

Deno.test("loss reports and segment statistics count histogram samples (and samples with start times), not exemplars", async () => {
  const enc = new RecordEncoder();
  const ints = new HistogramBatch(false);
  for (let i = 0; i < 40; i++) {
    ints.add(1 + i, 1000 + i, 0, i % 9 === 0 ? null : emptyHistogram(false));
  }
  enc.histograms(ints);
  const floats = new HistogramBatch(true);
  for (let i = 0; i < 7; i++) floats.add(1, 2000 + i, 500, emptyHistogram(true));
  enc.histograms(floats);
  const ex = new ExemplarBatch();
  ex.add(1, { labels: Labels.EMPTY, value: 1, ts: 5 });
  enc.exemplars(ex);
  const cols = new SampleBuffer();
  for (let i = 0; i < 11; i++) cols.pushWithStart(1, 3000 + i, i, 0, 100);
  enc.samples(cols);
  const counts = [40, 7, 0, 11];
  // Frame the records as a segment file.
  const buf = enc.buffer();
  const payloads = enc.ends().map((end, i) => buf.slice(i === 0 ? 0 : enc.ends()[i - 1], end));
  let size = 0;
  for (const p of payloads) size += framedSize(size, p.length);
  const file = new Uint8Array(size);
  const stats = new SegmentStats();
  const ends: number[] = [];
  let pos = 0;
  payloads.forEach((p, i) => {
    pos += frameRecord(p, { out: file, at: pos, pos });
    ends.push(pos);
    stats.add(pos, counts[i], 0, 0);
  });
  // Every record is lost, the last one torn: all their samples are reported.
  const loss = assessLoss(file.subarray(0, size - 3), 0);
  assertEquals([loss.records, loss.samples, loss.exact], [4, 58, true]);
  const path = await Deno.makeTempFile({ prefix: "ferry-hist-stats-" });
  try {
    await Deno.writeFile(path, file);
    // Counting from the start of the file (no index entry in between) reads the records.
    const fresh = new SegmentStats();
    fresh.add(size, 58, 0, 0);
    let before = 0;
    for (let i = 0; i < ends.length; i++) {
      before += counts[i];
      assertEquals(await countSamplesBefore(path, fresh, ends[i]), before);
    }
  } finally {
    await Deno.remove(path);
  }
});

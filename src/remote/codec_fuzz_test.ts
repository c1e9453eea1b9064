/**
 * Fuzzing the remote-write decoders as the debug receiver uses them (issue 9,
 * item 6). codec_test.ts already feeds both decoders random bytes and valid
 * requests with bytes overwritten or cut, and snappy random bytes; this file
 * adds what shifts lengths and nests: bytes inserted, deleted and duplicated in
 * valid requests (float samples with start times, stale markers, integer and
 * float histograms, exemplars, RW 2.0 metadata, RW 1.0 metadata requests),
 * each body decoded as both protocols, and snappy streams of real requests
 * with the same mutations.
 *
 * Properties: only `CodecError` is thrown; a decoded request is consistent
 * (its counts are the sums over its series, each series' sample columns have
 * one entry per sample); snappy output is never larger than the limit and is
 * exactly the declared length; every decoded label set can be checked.
 */

import fc from "fast-check";
import { emptyHistogram, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import {
  checkLabels,
  CodecError,
  type DecodedWriteRequest,
  decodeWriteRequest,
  decodeWriteRequestV2,
  encodeMetadataRequest,
  encodeWriteRequest,
  encodeWriteRequestV2,
  snappyDecode,
  snappyEncode,
  WriteBatch,
} from "./codec.ts";

const T0 = 1_700_000_000_000;

const labelValue = fc.oneof(
  fc.constantFrom("", "a", "küche ☃", 'q"\\', "\ud800", "v".repeat(300)),
  fc.string({ maxLength: 8 }),
);
const histogram: fc.Arbitrary<Histogram> = fc.record({
  float: fc.boolean(),
  schema: fc.integer({ min: -4, max: 8 }),
  count: fc.nat(1000),
  sum: fc.double(),
  zeroCount: fc.nat(10),
  n: fc.integer({ min: 0, max: 4 }),
}).map(({ float, schema, count, sum, zeroCount, n }) => ({
  ...emptyHistogram(),
  float,
  schema,
  count,
  sum,
  zeroCount,
  zeroThreshold: 0.001,
  positiveSpans: n === 0 ? [] : [{ offset: -2, length: n }],
  positiveBuckets: Array.from({ length: n }, (_, i) => i + 1),
  negativeSpans: n === 0 ? [] : [{ offset: 1, length: 1 }],
  negativeBuckets: n === 0 ? [] : [2],
}));

/** A valid request: a few series of float samples, histograms and exemplars. */
const batch = fc.array(
  fc.record({
    labels: fc.dictionary(fc.constantFrom("a", "b", "job", "é"), labelValue, { maxKeys: 3 }),
    floats: fc.array(fc.tuple(fc.double(), fc.boolean(), fc.nat(5000)), { maxLength: 4 }),
    hists: fc.array(fc.tuple(histogram, fc.boolean()), { maxLength: 2 }),
    exemplar: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
).map((list) => {
  const b = new WriteBatch(64);
  list.forEach((s, i) => {
    const labels = Labels.fromObject({ __name__: `m${i}`, ...s.labels });
    s.floats.forEach(([v, stale, st], k) => b.add(i + 1, labels, T0 + k, v, stale, st && T0 - st));
    s.hists.forEach(([h, stale], k) => b.addHistogram(i + 1, labels, T0 + k, h, stale, T0 - 1));
    if (s.exemplar) {
      b.addExemplar(i + 1, labels, {
        labels: Labels.fromObject({ trace_id: "abc" }),
        value: 0.5,
        ts: T0,
      });
    }
  });
  return b;
});

const body = fc.oneof(
  batch.map((b) => encodeWriteRequest(b)),
  batch.map((b) =>
    encodeWriteRequestV2(b, {
      metadata: (k) => (k % 2 === 0 ? { type: "counter", help: "Help.", unit: "s" } : undefined),
    })
  ),
  fc.array(
    fc.record({
      family: fc.string({ maxLength: 6 }),
      metadata: fc.record({
        type: fc.constantFrom("counter", "gauge", "histogram", "unknown"),
        help: fc.string({ maxLength: 10 }),
        unit: fc.string({ maxLength: 3 }),
      }),
    }),
    { minLength: 1, maxLength: 3 },
  ).map((entries) => encodeMetadataRequest(entries)),
);

const mutation = fc.tuple(
  fc.nat(),
  fc.constantFrom("insert", "delete", "dup", "set", "cut"),
  fc.oneof(fc.constantFrom(0x00, 0x01, 0x08, 0x0a, 0x12, 0x7f, 0x80, 0xff), fc.nat(255)),
);

function mutate(valid: Uint8Array, muts: [number, string, number][]): Uint8Array {
  let b = Array.from(valid);
  for (const [at, op, v] of muts) {
    const i = at % (b.length + 1);
    if (op === "insert") b.splice(i, 0, v);
    else if (op === "delete") b.splice(i, 1);
    else if (op === "dup") b.splice(i, 0, ...b.slice(i, i + 16));
    else if (op === "set" && i < b.length) b[i] = v;
    else if (op === "cut") b = b.slice(0, i);
  }
  return new Uint8Array(b);
}

/** Decodes with `decode`; only a CodecError may be thrown, and the result must be consistent. */
function decodesConsistently(decode: (b: Uint8Array) => DecodedWriteRequest, b: Uint8Array) {
  let d: DecodedWriteRequest;
  try {
    d = decode(b);
  } catch (e) {
    if (e instanceof CodecError) return;
    throw e;
  }
  let samples = 0, histograms = 0, exemplars = 0, stale = 0;
  for (const s of d.series) {
    const n = s.timestamps.length;
    assertEquals(
      [s.values.length, s.stale.length, s.startTimestamps.length],
      [n, n, n],
      "one entry per sample in every column",
    );
    assertEquals(s.exemplars, s.exemplarList.length);
    samples += n;
    histograms += s.histograms.length;
    exemplars += s.exemplars;
    stale += s.stale.filter(Boolean).length;
    checkLabels(s.labels);
    for (const e of s.exemplarList) checkLabels(e.labels);
  }
  assertEquals(
    [d.samples, d.histograms, d.exemplars, d.staleMarkers, d.metadata],
    [samples, histograms, exemplars, stale, d.metadataList.length],
  );
}

Deno.test("codec fuzz: valid requests with bytes inserted, deleted or duplicated decode consistently or fail with CodecError, as either protocol", () => {
  fc.assert(
    fc.property(body, fc.array(mutation, { minLength: 1, maxLength: 6 }), (valid, muts) => {
      const b = mutate(valid, muts);
      decodesConsistently(decodeWriteRequest, b);
      decodesConsistently(decodeWriteRequestV2, b);
    }),
    { numRuns: 1500 },
  );
});

Deno.test("codec fuzz: every valid request decodes consistently as both protocols", () => {
  fc.assert(
    fc.property(body, (valid) => {
      decodesConsistently(decodeWriteRequest, valid);
      decodesConsistently(decodeWriteRequestV2, valid);
    }),
    { numRuns: 300 },
  );
});

Deno.test("codec fuzz: mutated snappy streams of real requests fail with CodecError or give exactly the declared bytes, within the limit", () => {
  fc.assert(
    fc.property(
      body,
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 4096 }),
      (valid, muts, limit) => {
        const b = mutate(snappyEncode(valid), muts);
        let out: Uint8Array;
        try {
          out = snappyDecode(b, limit);
        } catch (e) {
          if (e instanceof CodecError) return;
          throw e;
        }
        assert(out.length <= limit, `${out.length} bytes over the ${limit}-byte limit`);
        // The declared length is the varint at the start of the stream.
        let declared = 0, shift = 0;
        for (let i = 0; i < b.length; i++) {
          declared += (b[i] & 0x7f) * 2 ** shift;
          if (b[i] < 0x80) break;
          shift += 7;
        }
        assertEquals(out.length, declared);
        decodesConsistently(decodeWriteRequest, out);
        decodesConsistently(decodeWriteRequestV2, out);
      },
    ),
    { numRuns: 1000 },
  );
});

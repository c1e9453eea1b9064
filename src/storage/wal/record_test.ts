import fc from "fast-check";
import { assert as ok, assertEquals, assertThrows as throws } from "../../testing/assert.ts";
import { Labels } from "../../model/labels.ts";
import type { MetricMetadata } from "../../model/metadata.ts";
import { ByteReader, ByteWriter } from "./encoding.ts";
import { CorruptionError } from "./errors.ts";
import {
  claimedSampleCount,
  decodeMetadata,
  decodeSamples,
  decodeSeries,
  MAX_REF,
  MAX_TIMESTAMP,
  maxSampleRef,
  RecordEncoder,
  RecordType,
  SampleBuffer,
  sampleCount,
} from "./record.ts";

function records(enc: RecordEncoder): Uint8Array[] {
  const buf = enc.buffer();
  const out: Uint8Array[] = [];
  let start = 0;
  for (const end of enc.ends()) {
    out.push(buf.slice(start, end));
    start = end;
  }
  return out;
}

function bitsOf(v: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v, true);
  return b.getBigUint64(0, true).toString(16);
}

Deno.test("RecordEncoder.series() round-trips refs and labels, including non-ASCII", () => {
  const enc = new RecordEncoder();
  const series = [
    { ref: 1, labels: Labels.fromObject({ __name__: "up", job: "node", instance: "a:9100" }) },
    { ref: 300, labels: Labels.fromObject({ __name__: "x", path: "/grüße/日本", e: "" }) },
    { ref: 0xffffffff, labels: Labels.fromObject({ a: "b".repeat(1000) }) },
  ];
  enc.series(series);
  const [rec] = records(enc);
  assertEquals(rec[0], RecordType.Series);
  const got: { ref: number; labels: Labels }[] = [];
  decodeSeries(rec, (ref, labels) => got.push({ ref, labels }));
  assertEquals(got.length, 3);
  for (let i = 0; i < 3; i++) {
    assertEquals(got[i].ref, series[i].ref);
    ok(got[i].labels.equals(series[i].labels), `${got[i].labels} != ${series[i].labels}`);
  }
});

Deno.test("RecordEncoder.samples() round-trips values, deltas and stale markers exactly", () => {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer(2);
  const t0 = 1_700_000_000_000;
  const values = [0, -0, 1.5, -1e300, Infinity, -Infinity, NaN, Number.MIN_VALUE, 42];
  for (let i = 0; i < values.length; i++) cols.push(1 + i * 3, t0 + i * 15_000, values[i], 0);
  cols.push(7, t0 - 5, 0, 1); // stale marker, ref and time going backwards
  cols.push(100_000, MAX_TIMESTAMP, 123, 0); // large deltas, both ways
  cols.push(1, -MAX_TIMESTAMP, 0, 1);
  cols.push(2, MAX_TIMESTAMP, 5, 0);
  enc.samples(cols);
  const [rec] = records(enc);
  assertEquals(rec[0], RecordType.SamplesCompact);
  const out = new SampleBuffer(1);
  decodeSamples(rec, out);
  assertEquals(out.length, cols.length);
  for (let i = 0; i < cols.length; i++) {
    assertEquals(out.refs[i], cols.refs[i], `ref ${i}`);
    assertEquals(out.ts[i], cols.ts[i], `ts ${i}`);
    assertEquals(out.stale[i], cols.stale[i], `stale ${i}`);
    if (cols.stale[i] === 1) continue;
    if (Number.isNaN(cols.values[i])) {
      // Non-stale NaN is stored as Prometheus' NormalNaN.
      assertEquals(bitsOf(out.values[i]), "7ff8000000000001", `value ${i}`);
    } else assertEquals(bitsOf(out.values[i]), bitsOf(cols.values[i]), `value ${i}`);
  }
  assertEquals(maxSampleRef(rec), 100_000);
});

Deno.test("RecordEncoder.samples() writes the StaleNaN bits and a NaN value never reads back as stale", () => {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer();
  // A NaN number that carries StaleNaN's payload must still be written as a plain NaN.
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, 2, true);
  dv.setUint32(4, 0x7ff00000, true);
  const nanWithStalePayload = dv.getFloat64(0, true);
  cols.push(1, 1000, nanWithStalePayload, 0);
  cols.push(1, 2000, 0, 1);
  enc.samples(cols);
  const [rec] = records(enc);
  // Type 9, count 2, base ref 1, base time 1000; then the NaN as a float64 holding NormalNaN
  // (ref delta 0, head: float kind), and the marker (ref delta 0, head: time delta, stale kind).
  assertEquals(rec[0], RecordType.SamplesCompact);
  const body = [...rec.subarray(rec.length - 14)];
  assertEquals(body.slice(0, 2), [0, 0]);
  assertEquals(body.slice(2, 10), [0x01, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
  assertEquals(body.slice(10, 12), [0, 0x80 | 1]);
  const out = new SampleBuffer();
  decodeSamples(rec, out);
  assertEquals([...out.stale.subarray(0, 2)], [0, 1]);
  ok(Number.isNaN(out.values[0]));
});

Deno.test("RecordEncoder reuses one buffer across records and resets", () => {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer();
  for (let i = 0; i < 1000; i++) cols.push(i + 1, 5, i, 0);
  enc.series([{ ref: 1, labels: Labels.fromObject({ a: "b" }) }]);
  enc.samples(cols);
  enc.series([]); // empty: no record
  enc.samples(new SampleBuffer()); // empty: no record
  assertEquals(enc.count, 2);
  const buf1 = enc.buffer().buffer;
  enc.reset();
  assertEquals(enc.count, 0);
  enc.samples(cols);
  assertEquals(enc.buffer().buffer, buf1);
});

Deno.test("type 9 layout: a ref delta and a head per sample, the value as a zigzag varint", () => {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer();
  // Fewer than 32 samples: not packed.
  for (let i = 0; i < 31; i++) cols.push(i + 1, 5, i * 3, 0);
  enc.samples(cols);
  const rec = enc.buffer();
  assertEquals(rec[0], RecordType.SamplesCompact);
  // Type, count, base ref and time, then per sample a ref delta, a head and the integer values
  // 0…90 as zigzag varints (1 byte up to 63, then 2).
  assertEquals(rec.length, 1 + 1 + 1 + 1 + 31 * 2 + 22 + 9 * 2);
});

Deno.test("type 10: small bodies (our deflate) and large ones (zlib's) both read back", () => {
  for (const n of [40, 300, 2300, 9000]) {
    const enc = new RecordEncoder();
    const cols = new SampleBuffer();
    for (let i = 0; i < n; i++) {
      cols.push(7 + i, 1_700_000_000_000 + (i % 3), i % 2 ? i * 1.25 : 5e6 + i * 11, 0);
    }
    enc.samples(cols);
    const rec = enc.buffer().slice();
    assertEquals(rec[0], RecordType.SamplesPacked);
    const out = new SampleBuffer();
    decodeSamples(rec, out);
    assertEquals(out.length, n);
    assertEquals([...out.refs.subarray(0, n)], [...cols.refs.subarray(0, n)]);
    assertEquals([...out.ts.subarray(0, n)], [...cols.ts.subarray(0, n)]);
    assertEquals([...out.values.subarray(0, n)], [...cols.values.subarray(0, n)]);
  }
});

Deno.test("type 10: 32 samples or more are packed in two deflated columns, read back bit for bit", () => {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer();
  // A scrape's worth: consecutive refs, one timestamp, counters, decimals, floats, a marker, NaN.
  for (let i = 0; i < 2000; i++) {
    const v = i % 4 === 0
      ? 1_000_000 + i * 37
      : i % 4 === 1
      ? i / 8
      : i % 4 === 2
      ? Math.PI * i
      : -i;
    cols.push(100 + i, 1_700_000_000_000, i === 7 ? NaN : v, i === 500 ? 1 : 0);
  }
  enc.samples(cols);
  const packed = enc.buffer().slice();
  assertEquals(packed[0], RecordType.SamplesPacked);
  const out = new SampleBuffer();
  decodeSamples(packed, out);
  assertEquals(out.length, 2000);
  assertEquals([...out.refs.subarray(0, 2000)], [...cols.refs.subarray(0, 2000)]);
  assertEquals([...out.ts.subarray(0, 2000)], [...cols.ts.subarray(0, 2000)]);
  assertEquals([...out.stale.subarray(0, 2000)], [...cols.stale.subarray(0, 2000)]);
  for (let i = 0; i < 2000; i++) {
    if (cols.stale[i] === 1) continue;
    ok(Object.is(out.values[i], cols.values[i]), `value ${i}: ${out.values[i]}`);
  }
  assertEquals([sampleCount(packed), claimedSampleCount(packed), maxSampleRef(packed)], [
    2000,
    2000,
    2099,
  ]);
  // Smaller than the same samples unpacked (type 9, as for a commit past 262,144 samples).
  const interleaved = new RecordEncoder();
  const head = new SampleBuffer();
  for (let i = 0; i < 31; i++) head.push(cols.refs[i], cols.ts[i], cols.values[i], cols.stale[i]);
  interleaved.samples(head);
  const perSample9 = interleaved.buffer().length / 31;
  ok(packed.length / 2000 < perSample9 * 0.8, `${packed.length / 2000} vs ${perSample9} B/sample`);

  // The unpacked size is checked: a record whose data inflate to more or less than it says is
  // corruption, and no more than it says is ever inflated.
  const r = new ByteReader(packed);
  r.byte(), r.uvarint(), r.uvarint(), r.varint();
  const sizeAt = r.pos;
  const size = r.uvarint();
  const rest = packed.subarray(r.pos);
  for (const claim of [size - 1, size + 1, 2 * 2000 + 1]) {
    const w = new ByteWriter();
    w.raw(packed.subarray(0, sizeAt));
    w.uvarint(claim);
    w.raw(rest);
    out.reset();
    throws(() => decodeSamples(w.bytes(), out), CorruptionError, "inflate");
    assertEquals(out.length, 0);
  }
});

Deno.test("decodeSeries()/decodeSamples() reject malformed records with CorruptionError", async (t) => {
  const u = (...b: number[]) => new Uint8Array(b);
  const cases: [string, Uint8Array, "series" | "samples"][] = [
    ["series: wrong type", u(2), "series"],
    ["series: ref 0", u(1, 0, 0), "series"],
    ["series: truncated label count", u(1, 1), "series"],
    ["series: label count past end", u(1, 1, 5, 1, 0x61), "series"],
    ["series: string past end", u(1, 1, 1, 9, 0x61), "series"],
    ["series: empty value", u(1, 1, 1, 1, 0x61, 0), "series"],
    ["series: unsorted names", u(1, 1, 2, 1, 0x62, 1, 0x31, 1, 0x61, 1, 0x31), "series"],
    ["series: invalid UTF-8", u(1, 1, 1, 1, 0xff, 1, 0x31), "series"],
    [
      "series: varint too long",
      u(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
      "series",
    ],
    ["samples: wrong type", u(1), "samples"],
    ["samples: missing base", u(2), "samples"],
    ["samples: base ref 0", u(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), "samples"],
    ["samples: truncated value", u(2, 1, 0, 0, 0, 1, 2, 3), "samples"],
    ["samples: ref out of range", u(2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0), "samples"],
    ["samples v3: count 0", u(3, 0, 1, 0), "samples"],
    ["samples v3: count past end", u(3, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), "samples"],
    // Header says 2, body holds 1 (with room for the count check to pass).
    [
      "samples v3: count mismatch",
      u(3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      "samples",
    ],
  ];
  for (const [name, rec, kind] of cases) {
    await t.step(name, () => {
      const out = new SampleBuffer();
      throws(
        () => kind === "series" ? decodeSeries(rec, () => {}) : decodeSamples(rec, out),
        CorruptionError,
      );
      assertEquals(out.length, 0);
    });
  }
});

Deno.test("samples records carry their count; sampleCount() and claimedSampleCount() read it", () => {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer();
  for (let i = 0; i < 300; i++) cols.push(1 + (i % 7), 1000 + i, i, i % 50 === 0 ? 1 : 0);
  enc.samples(cols);
  const [rec] = records(enc);
  assertEquals(rec[0], RecordType.SamplesPacked);
  assertEquals(sampleCount(rec), 300);
  assertEquals(claimedSampleCount(rec), 300);
  // Only the first bytes are needed: a torn record still tells its size.
  assertEquals(claimedSampleCount(rec.subarray(0, 3)), 300);
  assertEquals(claimedSampleCount(rec.subarray(0, 1)), -1);
  assertEquals(claimedSampleCount(new Uint8Array([1, 5])), -1, "a series record has no count");
  // A mismatched count is corruption.
  const bad = rec.slice();
  bad[1] ^= 0x01;
  throws(() => decodeSamples(bad, new SampleBuffer()), CorruptionError);
  throws(() => maxSampleRef(bad), CorruptionError);
});

Deno.test("legacy samples records (type 2, no count) are still read", () => {
  // base ref 5, base t 1000, then (Δref 0, Δt 0, 1.5), (Δref +1, Δt +10, stale)
  const b: number[] = [RecordType.SamplesV1, 5, 0xd0, 0x0f];
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, 1.5, true);
  b.push(0, 0, ...new Uint8Array(v.buffer));
  b.push(2, 20, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f);
  const rec = new Uint8Array(b);
  const out = new SampleBuffer();
  decodeSamples(rec, out);
  assertEquals(out.length, 2);
  assertEquals([out.refs[0], out.ts[0], out.values[0], out.stale[0]], [5, 1000, 1.5, 0]);
  assertEquals([out.refs[1], out.ts[1], out.stale[1]], [6, 1010, 1]);
  assertEquals(sampleCount(rec), 2);
  assertEquals(maxSampleRef(rec), 6);
  assertEquals(claimedSampleCount(rec), -1);
});

Deno.test("samples with start times (type 4) round-trip exactly, values and stale markers included (property)", () => {
  const sample = fc.record({
    ref: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: MAX_REF })),
    t: fc.oneof(
      fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
      fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
      fc.constantFrom(-MAX_TIMESTAMP, MAX_TIMESTAMP),
    ),
    st: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1_699_000_000_000, max: 1_700_000_000_000 }),
      fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
      fc.constantFrom(-MAX_TIMESTAMP, MAX_TIMESTAMP),
    ),
    v: fc.double(),
    stale: fc.constantFrom(0, 0, 0, 1),
  });
  fc.assert(
    fc.property(fc.array(sample, { minLength: 1, maxLength: 40 }), (xs) => {
      const cols = new SampleBuffer(2);
      for (const x of xs) cols.pushWithStart(x.ref, x.t, x.v, x.stale, x.st);
      const enc = new RecordEncoder();
      enc.samples(cols);
      const [rec] = records(enc);
      const anySt = xs.some((x) => x.st !== 0);
      assertEquals(rec[0], anySt ? RecordType.SamplesWithStart : RecordType.SamplesCompact);
      const out = new SampleBuffer(1);
      out.push(9, 9, 9, 0); // decoding appends
      decodeSamples(rec, out);
      assertEquals(out.length, xs.length + 1);
      for (let i = 0; i < xs.length; i++) {
        const x = xs[i];
        assertEquals(
          [out.refs[i + 1], out.ts[i + 1], out.st[i + 1], out.stale[i + 1]],
          [x.ref, x.t, x.st, x.stale],
        );
        if (x.stale === 0) {
          assertEquals(
            bitsOf(out.values[i + 1]),
            Number.isNaN(x.v) ? "7ff8000000000001" : bitsOf(x.v),
          );
        }
      }
      assertEquals(out.st[0], 0);
      assertEquals(sampleCount(rec), xs.length);
      assertEquals(claimedSampleCount(rec), xs.length);
      assertEquals(maxSampleRef(rec), Math.max(...xs.map((x) => x.ref)));
    }),
    { numRuns: 500 },
  );
});

Deno.test("start times cost a type 3 record nothing and compress to a byte or two", () => {
  const t0 = 1_700_000_000_000;
  const plain = new SampleBuffer();
  const withSt = new SampleBuffer();
  for (let i = 0; i < 100; i++) {
    plain.push(i + 1, t0, i, 0);
    withSt.pushWithStart(i + 1, t0, i, 0, t0 - 3_600_000 + (i % 3));
  }
  const enc = new RecordEncoder();
  enc.samplesV3(plain); // type 4 is type 3 with start times
  const plainBytes = enc.buffer().length;
  enc.reset();
  enc.samples(withSt);
  const [rec] = records(enc);
  assertEquals(rec[0], RecordType.SamplesWithStart);
  // The first start time costs 4 bytes (an hour before the base), the others 1.
  assertEquals(rec.length - plainBytes, 4 + 99);
});

Deno.test("SampleBuffer keeps start times 0 unless set, across reset, truncate, growth and take()", () => {
  const b = new SampleBuffer(4);
  b.push(1, 10, 1, 0);
  b.pushWithStart(2, 10, 1, 0, 5);
  assertEquals(b.hasStart, true);
  for (let i = 0; i < 10; i++) b.push(3, 11, 2, 0); // grows
  assertEquals([...b.st.subarray(0, 3)], [0, 5, 0]);
  const taken = b.take();
  assertEquals(taken.st.length, 12);
  assertEquals(taken.st[1], 5);
  b.truncate(1);
  b.push(4, 12, 3, 0);
  assertEquals(b.st[1], 0, "truncate zeroes what it drops");
  b.reset();
  assertEquals(b.hasStart, false);
  b.push(5, 13, 4, 0);
  b.push(6, 13, 4, 0);
  assertEquals([...b.take().st], [0, 0]);
  // Decoding a plain record after a type 4 one leaves st 0 for its samples.
  const enc = new RecordEncoder();
  const c = new SampleBuffer();
  c.push(1, 100, 1, 0);
  enc.samples(c);
  const out = new SampleBuffer();
  out.pushWithStart(1, 1, 1, 0, 77);
  out.reset();
  decodeSamples(enc.buffer(), out);
  assertEquals(out.st[0], 0);
});

Deno.test("metadata records round-trip type, unit and help; series without metadata are left out", () => {
  const enc = new RecordEncoder();
  const metas: MetricMetadata[] = [
    { type: "counter", help: "Requests served.", unit: "" },
    { type: "gaugehistogram", help: "", unit: "seconds" },
    { type: "stateset", help: "Grüße ✓", unit: "" },
    { type: "unknown", help: "", unit: "" },
  ];
  enc.metadata([
    { ref: 1, meta: metas[0] },
    { ref: 2, meta: undefined },
    { ref: 300, meta: metas[1] },
    { ref: MAX_REF, meta: metas[2] },
    { ref: 5, meta: metas[3] },
  ]);
  enc.metadata([{ ref: 1, meta: undefined }]); // nothing to write: no record
  assertEquals(enc.count, 1);
  const [rec] = records(enc);
  assertEquals(rec[0], RecordType.Metadata);
  const got: [number, MetricMetadata][] = [];
  decodeMetadata(rec, (ref, m) => got.push([ref, m]));
  assertEquals(got, [[1, metas[0]], [300, metas[1]], [MAX_REF, metas[2]], [5, metas[3]]]);
  assertEquals(claimedSampleCount(rec), -1);
});

Deno.test("metadata records write a value shared by many series once, with their refs", () => {
  const enc = new RecordEncoder();
  const shared: MetricMetadata = {
    type: "counter",
    help: "A long help text. ".repeat(5),
    unit: "",
  };
  const other: MetricMetadata = { type: "gauge", help: "Other.", unit: "bytes" };
  const entries = [];
  for (let i = 1000; i > 0; i--) entries.push({ ref: i * 3, meta: i % 100 === 0 ? other : shared });
  enc.metadata(entries);
  const [rec] = records(enc);
  // Each value once; each ref one or two bytes.
  ok(rec.length < 2 * 1000 + 200, `${rec.length} bytes`);
  const got = new Map<number, MetricMetadata>();
  const objects = new Set<MetricMetadata>();
  decodeMetadata(rec, (ref, m) => {
    ok(!got.has(ref));
    got.set(ref, m);
    objects.add(m);
  });
  assertEquals(got.size, 1000);
  assertEquals(objects.size, 2, "one object per group");
  for (const { ref, meta } of entries) assertEquals(got.get(ref), meta);
  // Refs must ascend within a group.
  const bad = new Uint8Array([RecordType.Metadata, 1, 0, 0, 2, 5, 0]);
  throws(() => decodeMetadata(bad, () => {}), CorruptionError);
});

Deno.test("metadata and type 4 decoders give CorruptionError on broken bytes, never a crash (property)", () => {
  const enc = new RecordEncoder();
  enc.metadata([
    { ref: 7, meta: { type: "histogram", help: "Latency.", unit: "seconds" } },
    { ref: 8, meta: { type: "counter", help: "", unit: "" } },
  ]);
  const cols = new SampleBuffer();
  for (let i = 0; i < 20; i++) cols.pushWithStart(i + 1, 1000 + i, i, i % 5 === 0 ? 1 : 0, 500 + i);
  enc.samples(cols);
  const valid = records(enc);
  const tryAll = (rec: Uint8Array) => {
    for (const f of [() => decodeMetadata(rec, () => {}), () => decodeSamples(rec, out)]) {
      try {
        f();
      } catch (e) {
        if (!(e instanceof CorruptionError)) throw e;
      }
    }
  };
  const out = new SampleBuffer();
  fc.assert(
    fc.property(fc.nat(1), fc.nat(), fc.nat(255), (which, at, byte) => {
      const rec = valid[which];
      out.reset();
      const cut = rec.subarray(0, at % rec.length);
      // A metadata record has no count: cut at an entry boundary it is still valid.
      if (which === 0) tryAll(cut);
      else throws(() => decodeSamples(cut, out), CorruptionError);
      assertEquals(out.length, 0);
      const flipped = rec.slice();
      flipped[at % rec.length] ^= byte;
      tryAll(flipped);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(RecordType.Metadata, RecordType.SamplesWithStart),
      fc.uint8Array({ maxLength: 60 }),
      (type, body) => tryAll(new Uint8Array([type, ...body])),
    ),
    { numRuns: 2000 },
  );
  throws(
    () => decodeMetadata(new Uint8Array([RecordType.Metadata, 9, 0, 0, 1, 1]), () => {}),
    CorruptionError,
  );
});

/** Values of every compact kind and the edges between them. */
const compactValue = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.constantFrom(2 ** 52 - 1, 2 ** 52, -(2 ** 52), 2 ** 53, 1e21, -0, 0, 0.1, 0.3, 1e-15, 1e-16),
  fc.tuple(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 17 })).map(
    ([m, k]) => m / 10 ** k,
  ),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE),
);

for (
  const [type, lengths] of [
    [RecordType.SamplesCompact, { minLength: 1, maxLength: 31 }],
    [RecordType.SamplesPacked, { minLength: 32, maxLength: 400 }],
  ] as const
) {
  Deno.test(`compact samples (type ${type}) round-trip every value bit for bit and are small (property)`, () => {
    const sample = fc.record({
      ref: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: MAX_REF })),
      t: fc.oneof(
        fc.constant(1_700_000_000_000),
        fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
        fc.constantFrom(-MAX_TIMESTAMP, MAX_TIMESTAMP),
      ),
      v: compactValue,
      stale: fc.constantFrom(0, 0, 0, 1),
    });
    fc.assert(
      fc.property(fc.array(sample, { ...lengths, size: "max" }), (xs) => {
        const cols = new SampleBuffer(2);
        for (const x of xs) cols.push(x.ref, x.t, x.v, x.stale);
        const enc = new RecordEncoder();
        enc.samples(cols);
        const [rec] = records(enc);
        assertEquals(rec[0], type);
        enc.reset();
        enc.samplesV3(cols);
        const [v3] = records(enc);
        // Type 10 adds two sizes and deflate's block headers (random input stays as it is).
        const extra = type === RecordType.SamplesPacked ? 16 : 0;
        ok(
          rec.length <= v3.length + xs.length + extra,
          "at most a head byte more a sample than type 3",
        );
        const out = new SampleBuffer(1);
        decodeSamples(rec, out);
        assertEquals(out.length, xs.length);
        for (let i = 0; i < xs.length; i++) {
          const x = xs[i];
          assertEquals(
            [out.refs[i], out.ts[i], out.stale[i]],
            [x.ref, x.t, x.stale],
            `sample ${i}`,
          );
          if (x.stale === 0) {
            assertEquals(
              bitsOf(out.values[i]),
              Number.isNaN(x.v) ? "7ff8000000000001" : bitsOf(x.v),
              `value ${x.v}`,
            );
          }
        }
        assertEquals(sampleCount(rec), xs.length);
        assertEquals(claimedSampleCount(rec), xs.length);
        assertEquals(maxSampleRef(rec), Math.max(...xs.map((x) => x.ref)));
      }),
      { numRuns: type === RecordType.SamplesPacked ? 300 : 1000 },
    );
  });
}

Deno.test("compact samples: one scrape's counters and gauges take 2–6 bytes a sample, not 10", () => {
  const cols = new SampleBuffer();
  const t = 1_700_000_000_000;
  for (let i = 0; i < 1000; i++) {
    // Counters in the thousands to millions, gauges with a few decimals, a few full floats.
    const v = i % 10 === 9 ? Math.random() : i % 3 === 0 ? 1234.5 + i / 100 : 1_000 * i + 7;
    cols.push(i + 1, t, v, 0);
  }
  const enc = new RecordEncoder();
  enc.samples(cols);
  const perSample = enc.buffer().length / 1000;
  ok(perSample >= 2 && perSample <= 6, `${perSample} bytes a sample`);
});

for (
  const [type, n] of [[RecordType.SamplesCompact, 30], [RecordType.SamplesPacked, 300]] as const
) {
  Deno.test(`compact samples (type ${type}) decoder gives CorruptionError on broken bytes, never a crash (property)`, () => {
    const cols = new SampleBuffer();
    for (let i = 0; i < n; i++) {
      cols.push(
        i + 1,
        1000 + (i % 4 === 0 ? i : 0),
        [i, i / 10, Math.PI * i, -0][i % 4],
        i % 7 === 0 ? 1 : 0,
      );
    }
    const enc = new RecordEncoder();
    enc.samples(cols);
    const [valid] = records(enc);
    assertEquals(valid[0], type);
    const out = new SampleBuffer();
    fc.assert(
      fc.property(fc.nat(), fc.nat(255), fc.uint8Array({ maxLength: 40 }), (at, byte, junk) => {
        out.reset();
        throws(() => decodeSamples(valid.subarray(0, at % valid.length), out), CorruptionError);
        assertEquals(out.length, 0, "nothing appended from a cut record");
        for (const rec of [valid.slice(), Uint8Array.of(type, ...junk)]) {
          rec[Math.max(1, at % rec.length)] ^= byte;
          out.reset();
          try {
            decodeSamples(rec, out);
            maxSampleRef(rec);
          } catch (e) {
            if (!(e instanceof CorruptionError)) throw e;
            assertEquals(out.length, 0, "nothing appended from a rejected record");
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
}

import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { Labels } from "../../model/labels.ts";
import { CorruptionError } from "./errors.ts";
import {
  claimedSampleCount,
  decodeSamples,
  decodeSeries,
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
  cols.push(100_000, 2 ** 51, 123, 0); // large deltas
  cols.push(1, -(2 ** 51), 0, 1);
  enc.samples(cols);
  const [rec] = records(enc);
  assertEquals(rec[0], RecordType.Samples);
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
  // Last 8 bytes: StaleNaN, little-endian.
  assertEquals([...rec.subarray(rec.length - 8)], [0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
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
  // Type, count (2 bytes for 1000), base ref and time, then 1 + 1 + 8 bytes a sample.
  assertEquals(enc.buffer().length, 1 + 2 + 1 + 1 + 1000 * 10);
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
  assertEquals(rec[0], RecordType.Samples);
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

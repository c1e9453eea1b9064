import fc from "fast-check";
import protobuf from "protobufjs";
import { Labels } from "../model/labels.ts";
import {
  checkLabels,
  CodecError,
  decodeWriteRequest,
  encodeWriteRequest,
  snappyDecode,
  snappyEncode,
  WriteBatch,
} from "./codec.ts";
import { WriteRequestType } from "./proto/rw1.ts";
import { assert, assertEquals } from "./test_util.ts";

function assertThrows(fn: () => unknown, cls: new (...a: never[]) => Error, includes = ""): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${e}`);
    if (!String((e as Error).message).includes(includes)) {
      throw new Error(`message ${JSON.stringify((e as Error).message)} lacks ${includes}`);
    }
    return;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
const unhex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((x) => parseInt(x, 16)));
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Bits of a float64, little-endian hex, read straight from the encoded bytes. */
function bitsOf(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  return hex(new Uint8Array(dv.buffer));
}

interface InSeries {
  labels: Labels;
  samples: [number, number | "stale"][];
}

/** Interleaves series' samples round-robin into a batch (as the WAL would). */
function batchOf(series: InSeries[]): WriteBatch {
  const total = series.reduce((n, s) => n + s.samples.length, 0);
  const b = new WriteBatch(Math.max(1, total));
  for (let k = 0; k < total; k++) {
    for (let s = 0; s < series.length; s++) {
      const smp = series[s].samples[k];
      if (!smp) continue;
      const [t, v] = smp;
      b.add(s + 1, series[s].labels, t, v === "stale" ? 0 : v, v === "stale");
    }
  }
  return b;
}

function expectRoundTrip(series: InSeries[]): void {
  const nonEmpty = series.filter((s) => s.samples.length > 0);
  const batch = batchOf(series);
  const bytes = encodeWriteRequest(batch);
  // The label-block cache and a reused writer give the same bytes, first and second time.
  const cache = new WeakMap<Labels, Uint8Array>();
  const writer = new protobuf.Writer();
  assertEquals(hex(encodeWriteRequest(batch, { labelCache: cache, writer })), hex(bytes));
  assertEquals(hex(encodeWriteRequest(batch, { labelCache: cache, writer })), hex(bytes));
  const decoded = decodeWriteRequest(bytes);
  assertEquals(decoded.series.length, nonEmpty.length, "series count");
  decoded.series.forEach((d, i) => {
    const want = nonEmpty[i];
    const pairs: [string, string][] = [];
    want.labels.forEach((n, v) => pairs.push([n, v]));
    assertEquals(d.labels, pairs, "labels");
    assertEquals(d.timestamps, want.samples.map(([t]) => t), "timestamps");
    assertEquals(d.stale, want.samples.map(([, v]) => v === "stale"), "stale flags");
    want.samples.forEach(([, v], k) => {
      if (v === "stale") assert(Number.isNaN(d.values[k]));
      else if (Number.isNaN(v)) assert(Number.isNaN(d.values[k]), "NaN stays NaN");
      else assert(Object.is(d.values[k], v), `value ${d.values[k]} !== ${v}`);
    });
  });
  assertEquals(decoded.samples, nonEmpty.reduce((n, s) => n + s.samples.length, 0));
  assertEquals(
    decoded.staleMarkers,
    nonEmpty.reduce((n, s) => n + s.samples.filter(([, v]) => v === "stale").length, 0),
  );
}

Deno.test("codec: round trip", async (t) => {
  const up = Labels.fromObject({ __name__: "up", job: "node", instance: "h:9100" });
  const temp = Labels.fromObject({ __name__: "temp_celsius", room: "küche ☃", quote: 'a"b\\c' });
  const big = Labels.fromObject({ __name__: "x", long: "v".repeat(300) });
  const cases: [string, InSeries[]][] = [
    ["one sample", [{ labels: up, samples: [[1_700_000_000_000, 1]] }]],
    ["interleaved series keep per-series order", [
      { labels: up, samples: [[1000, 1], [2000, 0], [3000, "stale"]] },
      { labels: temp, samples: [[1000, -21.5], [2000, 1e300]] },
      { labels: big, samples: [[5, 3]] },
    ]],
    ["special values", [{
      labels: up,
      samples: [[1, 0], [2, -0], [3, Infinity], [4, -Infinity], [5, NaN], [6, 2 ** 53], [
        7,
        5e-324,
      ]],
    }]],
    ["negative and zero timestamps", [{ labels: up, samples: [[-1000, 1], [0, 2], [1, "stale"]] }]],
    ["only stale markers", [{ labels: temp, samples: [[10, "stale"], [20, "stale"]] }]],
  ];
  for (const [name, series] of cases) await t.step(name, () => expectRoundTrip(series));

  await t.step("property: random batches", () => {
    const label = fc.string({ minLength: 1, maxLength: 12 });
    const value = fc.oneof(
      fc.double(),
      fc.constant<"stale">("stale"),
      fc.integer({ min: -1e6, max: 1e6 }),
    );
    const series = fc.record({
      labels: fc.dictionary(label, label, { minKeys: 1, maxKeys: 6 }).map((o) =>
        Labels.fromObject(o)
      ),
      samples: fc.array(
        fc.tuple(fc.integer({ min: -(2 ** 40), max: 2 ** 45 }), value),
        { minLength: 1, maxLength: 20 },
      ),
    });
    fc.assert(
      fc.property(fc.array(series, { minLength: 1, maxLength: 8 }), (s) => expectRoundTrip(s)),
      { numRuns: 200 },
    );
  });
});

Deno.test("codec: StaleNaN goes on the wire as 02 00 00 00 00 00 f0 7f", () => {
  const b = new WriteBatch(4);
  b.add(1, Labels.fromObject({ __name__: "gone" }), 1000, 123, true);
  const bytes = encodeWriteRequest(b);
  // Sample.value tag (field 1, wire type 1) followed by the raw bits.
  assert(indexOf(bytes, unhex("09 02 00 00 00 00 00 f0 7f")) >= 0, hex(bytes));
  // The value passed in (123) must not appear.
  assert(indexOf(bytes, unhex(bitsOf(123))) < 0, "stale value leaked");
});

Deno.test("codec: golden bytes of a tiny request", () => {
  const b = new WriteBatch(4);
  const labels = Labels.fromObject({ job: "n", __name__: "up" });
  b.add(7, labels, 1000, 1, false);
  b.add(7, labels, 2000, 0, true);
  const golden = unhex(`
    0a 36                                   WriteRequest.timeseries, 54 bytes
      0a 0e                                 TimeSeries.labels, 14 bytes
        0a 08 5f 5f 6e 61 6d 65 5f 5f       name "__name__"
        12 02 75 70                         value "up"
      0a 08                                 TimeSeries.labels, 8 bytes
        0a 03 6a 6f 62                      name "job"
        12 01 6e                            value "n"
      12 0c                                 TimeSeries.samples, 12 bytes
        09 00 00 00 00 00 00 f0 3f          value 1.0
        10 e8 07                            timestamp 1000
      12 0c                                 TimeSeries.samples, 12 bytes
        09 02 00 00 00 00 00 f0 7f          value StaleNaN
        10 d0 0f                            timestamp 2000
  `.replace(/ {2,}[A-Za-z].*$/gm, ""));
  assertEquals(hex(encodeWriteRequest(b)), hex(golden));
});

Deno.test("codec: golden bytes of a real timestamp and a multi-byte length", () => {
  const b = new WriteBatch(1);
  b.add(1, Labels.fromObject({ __name__: "m", l: "x".repeat(130) }), 1_700_000_000_000, 0.5, false);
  const bytes = encodeWriteRequest(b);
  // 1_700_000_000_000 = 0x18BCFE56800 → varint 80 d0 95 ff bc 31
  assert(indexOf(bytes, unhex("10 80 d0 95 ff bc 31")) >= 0, hex(bytes));
  // The label value is 130 bytes: length varint 82 01; the label itself 136 bytes: 88 01.
  assert(indexOf(bytes, unhex("0a 88 01 0a 01 6c 12 82 01 78")) >= 0, hex(bytes));
  // And the reflection decoder agrees on the whole message.
  const m = WriteRequestType.toObject(WriteRequestType.decode(bytes), { longs: Number }) as {
    timeseries: { labels: { name: string; value: string }[]; samples: unknown[] }[];
  };
  assertEquals(m.timeseries[0].samples, [{ value: 0.5, timestamp: 1_700_000_000_000 }]);
  assertEquals(m.timeseries[0].labels[1].value.length, 130);
});

Deno.test("codec: a reused writer gives the same bytes", () => {
  const w = new protobuf.Writer();
  const b = new WriteBatch(8);
  const l = Labels.fromObject({ __name__: "a" });
  b.add(1, l, 1, 1, false);
  const first = hex(encodeWriteRequest(b));
  const one = hex(encodeWriteRequest(b, { writer: w }));
  b.reset();
  b.add(2, Labels.fromObject({ __name__: "other", x: "y" }), 5, 2, false);
  b.add(2, Labels.fromObject({ __name__: "other", x: "y" }), 6, 3, true);
  encodeWriteRequest(b, { writer: w });
  b.reset();
  b.add(1, l, 1, 1, false);
  assertEquals(hex(encodeWriteRequest(b, { writer: w })), first);
  assertEquals(one, first);
});

Deno.test("codec: protobufjs' double decoding does not keep StaleNaN, the raw decoder does", () => {
  const b = new WriteBatch(1);
  b.add(1, Labels.fromObject({ __name__: "gone" }), 1000, 0, true);
  const bytes = encodeWriteRequest(b);
  const m = WriteRequestType.decode(bytes) as unknown as {
    timeseries: { samples: { value: number }[] }[];
  };
  const v = m.timeseries[0].samples[0].value;
  assert(Number.isNaN(v), "decoded as some NaN");
  // Observed on Deno 2.9.6: the payload comes back quieted (7ff8000000000002),
  // which is neither StaleNaN nor Prometheus' normal NaN — hence the raw decoder.
  const d = decodeWriteRequest(bytes);
  assertEquals(d.series[0].stale, [true]);
  assertEquals(d.staleMarkers, 1);
});

Deno.test("codec: a normal NaN is not a stale marker", () => {
  // Prometheus' normal NaN bits, 7ff8000000000001, hand-encoded.
  const bytes = unhex(
    "0a 16 0a 07 0a 01 61 12 02 62 63 12 0b 09 01 00 00 00 00 00 f8 7f 10 01",
  );
  const d = decodeWriteRequest(bytes);
  assertEquals(d.series[0].labels, [["a", "bc"]]);
  assertEquals(d.series[0].stale, [false]);
  assert(Number.isNaN(d.series[0].values[0]));
});

Deno.test("codec: labels with empty names or values are not written", () => {
  const b = new WriteBatch(1);
  b.add(1, Labels.fromSortedFlat(["", "x", "__name__", "m", "e", ""]), 1, 1, false);
  assertEquals(decodeWriteRequest(encodeWriteRequest(b)).series[0].labels, [["__name__", "m"]]);
});

Deno.test("codec: WriteBatch bookkeeping", () => {
  const b = new WriteBatch(2);
  const l = Labels.fromObject({ __name__: "a" });
  b.add(9, l, 10, 1, false);
  b.add(9, Labels.fromObject({ __name__: "ignored" }), 30, 2, false);
  assert(b.full);
  assertEquals(b.seriesCount, 1);
  assertEquals(b.maxTs, 30);
  assertThrows(() => b.add(1, l, 1, 1, false), RangeError, "full");
  b.reset();
  assertEquals([b.length, b.seriesCount, b.maxTs], [0, 0, null]);
  assertThrows(() => new WriteBatch(0), RangeError);
});

Deno.test("codec: decoding bad protobuf fails with CodecError", async (t) => {
  await t.step("truncated", () => {
    assertThrows(() => decodeWriteRequest(unhex("0a 36 0a 0e")), CodecError, "invalid protobuf");
  });
  await t.step("bad wire type", () => {
    assertThrows(() => decodeWriteRequest(unhex("0f 01")), CodecError);
  });
  await t.step("property: random bytes never throw anything but CodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeWriteRequest(bytes);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});

Deno.test("codec: checkLabels", async (t) => {
  const table: [[string, string][], string | null][] = [
    [[["__name__", "up"], ["job", "x"]], null],
    [[], null],
    [[["", "x"]], "empty label name"],
    [[["a", ""]], 'empty value for label "a"'],
    [[["b", "1"], ["a", "2"]], 'labels not sorted: "b" before "a"'],
    [[["a", "1"], ["a", "2"]], 'duplicate label name "a"'],
  ];
  for (const [labels, want] of table) {
    await t.step(JSON.stringify(labels), () => assertEquals(checkLabels(labels), want));
  }
});

Deno.test("snappy: block format round trip and limits", async (t) => {
  const data = new TextEncoder().encode("hello hello hello hello, remote write! ".repeat(100));
  await t.step("round trip", () => {
    const c = snappyEncode(data);
    assert(c.length < data.length, "compresses");
    assertEquals(hex(snappyDecode(c)), hex(data));
  });
  await t.step("empty input", () => {
    assertEquals(snappyDecode(snappyEncode(new Uint8Array(0))).length, 0);
  });
  await t.step("a declared size over the limit is refused before allocating", () => {
    // Header says 1 GiB (varint 80 80 80 80 04), followed by a tiny literal.
    assertThrows(
      () => snappyDecode(unhex("80 80 80 80 04 00 41"), 1 << 20),
      CodecError,
      "exceeds limit",
    );
  });
  await t.step("the limit is inclusive", () => {
    assertEquals(snappyDecode(snappyEncode(data), data.length).length, data.length);
    assertThrows(() => snappyDecode(snappyEncode(data), data.length - 1), CodecError);
  });
  await t.step("truncated stream", () => {
    const c = snappyEncode(data);
    assertThrows(() => snappyDecode(c.subarray(0, c.length - 3)), CodecError);
  });
  await t.step("copy before any output", () => {
    assertThrows(() => snappyDecode(unhex("04 01 01")), CodecError, "offset");
  });
  await t.step("output shorter than declared", () => {
    assertThrows(() => snappyDecode(unhex("05 00 41")), CodecError, "shorter");
  });
  await t.step("property: random bytes never throw anything but CodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          snappyDecode(bytes, 1 << 16);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * Benchmarks of the protobuf exposition parser over the 10,000 series of
 * `bench_fixture.ts` (counters, gauges, classic histograms, a summary)
 * encoded as delimited MetricFamily messages, against the 0.0.4 text parser
 * over the same series as text; and over a body of native histograms.
 *
 * The protobuf body is read from bytes; the text body's UTF-8 decoding is
 * included in its "from bytes" case so both start where a scrape does.
 *
 * Run:
 *   deno bench --allow-read src/scrape/textparse/protobuf_bench.ts
 *
 * @module
 */

import { generateExposition } from "./bench_fixture.ts";
import { decodeBody } from "./decode.ts";
import { PromParser } from "./prom.ts";
import { ProtobufParser } from "./protobuf.ts";
import { encodeFamilies, familiesFromText, PB_TYPE, type PbFamily } from "./protobuf_testutil.ts";

const TEXT = generateExposition(10_000);
const TEXT_BYTES = new TextEncoder().encode(TEXT);
const PROTO = encodeFamilies(familiesFromText(TEXT));

/** 1,000 native histograms of 20 buckets on each side (schema 3). */
function nativeBody(): Uint8Array {
  const fams: PbFamily[] = [];
  for (let f = 0; f < 50; f++) {
    const metrics = [];
    for (let i = 0; i < 20; i++) {
      metrics.push({
        labels: [["handler", `/api/v1/h${i}`], ["method", "GET"]] as [string, string][],
        histogram: {
          sampleCount: 40 * (i + 1) + 1,
          sampleSum: 1234.5,
          schema: 3,
          zeroThreshold: 1e-128,
          zeroCount: 1,
          positiveSpans: [{ offset: -5, length: 10 }, { offset: 2, length: 10 }],
          positiveDeltas: Array.from({ length: 20 }, (_, k) => (k === 0 ? i + 1 : 0)),
          negativeSpans: [{ offset: 0, length: 20 }],
          negativeDeltas: Array.from({ length: 20 }, (_, k) => (k === 0 ? i + 1 : 0)),
        },
      });
    }
    fams.push({ name: `rpc_${f}_seconds`, help: "Latency.", type: PB_TYPE.histogram, metrics });
  }
  return encodeFamilies(fams);
}
const NATIVE = nativeBody();

function warmCache(make: () => { next(): string | null; ownedSeries(): string }, n: number) {
  const cache = new Map<string, number>();
  const p = make();
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "series" || k === "histogram") cache.set(p.ownedSeries(), cache.size + 1);
  }
  if (cache.size !== n) throw new Error(`fixture has ${cache.size} series, want ${n}`);
  return cache;
}

const TEXT_CACHE = warmCache(() => new PromParser(TEXT), 10_000);
const PROTO_CACHE = warmCache(() => new ProtobufParser(PROTO), 10_000);
const NATIVE_CACHE = warmCache(() => new ProtobufParser(NATIVE, { nativeHistograms: true }), 1000);

// Results are summed into a local and stored once per run (see prom_bench.ts).
let sink = 0;

Deno.bench({
  name:
    `protobuf (${PROTO.length} bytes), steady: next + series() + value + timestamp + cache lookup`,
  group: "10k series, steady scrape",
  fn() {
    const p = new ProtobufParser(PROTO);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = PROTO_CACHE.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: `text 0.0.4 (${TEXT_BYTES.length} bytes), steady, from bytes (UTF-8 decoding included)`,
  group: "10k series, steady scrape",
  baseline: true,
  fn() {
    const p = new PromParser(decodeBody(TEXT_BYTES));
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = TEXT_CACHE.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "protobuf, cold: next + labels() for every series",
  group: "10k series, cold (every series new)",
  fn() {
    const p = new ProtobufParser(PROTO);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === "series") x += p.labels().size + p.value();
    }
    sink += x;
  },
});

Deno.bench({
  name: "text 0.0.4, cold: next + labels() for every series",
  group: "10k series, cold (every series new)",
  baseline: true,
  fn() {
    const p = new PromParser(decodeBody(TEXT_BYTES));
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === "series") x += p.labels().size + p.value();
    }
    sink += x;
  },
});

Deno.bench({
  name: "protobuf, scan only: next + value",
  group: "10k series, scan only",
  fn() {
    const p = new ProtobufParser(PROTO);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) if (k === "series") x += p.value();
    sink += x;
  },
});

Deno.bench({
  name: "text 0.0.4, scan only: next + value (from bytes)",
  group: "10k series, scan only",
  baseline: true,
  fn() {
    const p = new PromParser(decodeBody(TEXT_BYTES));
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) if (k === "series") x += p.value();
    sink += x;
  },
});

Deno.bench({
  name: `1000 native histograms (${NATIVE.length} bytes), steady: next + series() + histogram()`,
  group: "native histograms",
  fn() {
    const p = new ProtobufParser(NATIVE, { nativeHistograms: true });
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "histogram") continue;
      const ref = NATIVE_CACHE.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.histogram().count;
    }
    sink += x;
  },
});

Deno.bench({
  name: "the same 1000 histograms as classic series (native histograms off)",
  group: "native histograms",
  fn() {
    const p = new ProtobufParser(NATIVE);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) if (k === "series") x += p.series().length;
    sink += x;
  },
});

addEventListener("unload", () => {
  if (sink === 0.5) Deno.exit(1); // keep `sink` observable
});

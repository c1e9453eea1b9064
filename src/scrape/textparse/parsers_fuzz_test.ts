/**
 * Fuzzing the exposition parsers as the scrape loop uses them (issue 9, item
 * 6): scraped *bytes* through `createParser` for every protocol, so invalid
 * UTF-8, format confusion and binary garbage reach the text parsers the way a
 * hostile target sends them. The per-parser property tests (prom_test.ts,
 * openmetrics_test.ts, protobuf_test.ts) cover generated documents and
 * string-level mutations; this file adds random bytes, byte-level mutations of
 * valid bodies of each format, bodies of one format read as another, and
 * pathological shapes of about 1 MB (long runs, 100k labels, a 1 MB label
 * value, deep repetition).
 *
 * Each body either parses or fails with a `ParseError`; nothing else is
 * thrown, every parse ends (the entry count is bounded by the body's size),
 * and the heap a parse leaves grows by a bounded multiple of the body.
 */

import fc from "fast-check";
import type { ScrapeProtocol } from "../../config/types.ts";
import { assert } from "../../testing/assert.ts";
import { generateExposition } from "./bench_fixture.ts";
import { createParser, ParseError, type ParserOptions } from "./mod.ts";
import { delimited, encodeFamilies, familiesFromText, PB_TYPE } from "./protobuf_testutil.ts";

const PROTOCOLS: ScrapeProtocol[] = [
  "PrometheusText0.0.4",
  "PrometheusText1.0.0",
  "OpenMetricsText1.0.0",
  "OpenMetricsText0.0.1",
  "PrometheusProto",
];
const OPTIONS: ParserOptions[] = [{}, { nativeHistograms: true, classicHistograms: true }];

const enc = new TextEncoder();

/**
 * Reads every entry and every accessor of a body; returns the number of
 * entries, or the ParseError. Anything else thrown fails the test.
 */
function drain(protocol: ScrapeProtocol, body: Uint8Array, opts: ParserOptions = {}): number {
  let n = 0;
  try {
    const p = createParser(protocol, body, opts);
    for (let k = p.next(); k !== null; k = p.next()) {
      // A protobuf histogram of a few bytes gives a handful of series: bounded by the size.
      if (++n > 4 * body.length + 16) throw new Error(`${protocol}: parser does not advance`);
      if (k === "series" || k === "histogram") {
        p.series();
        p.ownedSeries();
        p.labels();
        p.timestamp();
        if (k === "series") p.value();
        else p.histogram?.();
        p.exemplar?.();
        p.exemplars?.();
        p.startTimestamp?.();
        p.createdTimestamp?.();
      } else {
        p.family();
        p.type();
        p.help();
        p.unit?.();
      }
    }
  } catch (e) {
    if (e instanceof ParseError) return -1;
    throw e;
  }
  return n;
}

function drainAll(body: Uint8Array): void {
  for (const protocol of PROTOCOLS) for (const opts of OPTIONS) drain(protocol, body, opts);
}

/** A valid body of each format. */
const PROM = enc.encode(generateExposition(40, 7));
const OPENMETRICS = Deno.readFileSync(new URL("./testdata/openmetrics.txt", import.meta.url));
const PROTO = (() => {
  const fams = familiesFromText(generateExposition(40, 7));
  fams.push({
    name: "nh",
    type: PB_TYPE.histogram,
    metrics: [{
      labels: [["a", "b"]],
      histogram: {
        sampleCount: 5,
        sampleSum: 1.5,
        schema: 3,
        zeroThreshold: 0.001,
        zeroCount: 1,
        positiveSpans: [{ offset: 0, length: 2 }],
        positiveDeltas: [1, 2],
        buckets: [{ upperBound: 1, cumulativeCount: 2 }],
        exemplars: [{ labels: [["t", "x"]], value: 1, timestamp: { seconds: 2 } }],
      },
    }],
  });
  return encodeFamilies(fams);
})();
const VALID: [string, ScrapeProtocol, Uint8Array][] = [
  ["Prometheus text", "PrometheusText0.0.4", PROM],
  ["OpenMetrics", "OpenMetricsText1.0.0", OPENMETRICS],
  ["protobuf", "PrometheusProto", PROTO],
];

// Bytes that matter to the parsers, and invalid UTF-8.
const INTERESTING = [
  ...'{}=",\\ \t\n#:_.-+eE019aZ',
].map((c) => c.charCodeAt(0)).concat([0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xed, 0xef, 0xf4, 0xff]);
const byte = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }));
const mutation = fc.tuple(
  fc.nat(),
  fc.constantFrom("flip", "set", "insert", "delete", "dup", "cut"),
  byte,
);

function mutate(valid: Uint8Array, muts: [number, string, number][]): Uint8Array {
  let b = Array.from(valid);
  for (const [at, op, v] of muts) {
    const i = at % (b.length + 1);
    if (op === "flip" && i < b.length) b[i] ^= v || 1;
    else if (op === "set" && i < b.length) b[i] = v;
    else if (op === "insert") b.splice(i, 0, v);
    else if (op === "delete") b.splice(i, 1);
    else if (op === "dup") b.splice(i, 0, ...b.slice(i, i + 64));
    else if (op === "cut") b = b.slice(0, i);
  }
  return new Uint8Array(b);
}

Deno.test("parsers fuzz: random bytes through every protocol only ever fail with a ParseError, and end", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 1000 }),
        fc.array(byte, { maxLength: 1000 }).map((b) => new Uint8Array(b)),
      ),
      drainAll,
    ),
    { numRuns: 1000 },
  );
});

Deno.test("parsers fuzz: byte-mutated valid bodies of each format only ever fail with a ParseError", async (t) => {
  for (const [name, protocol, valid] of VALID) {
    await t.step(name, () => {
      assert(drain(protocol, valid, OPTIONS[1]) > 10, `the ${name} seed parses`);
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (muts) => {
          const body = mutate(valid, muts);
          for (const opts of OPTIONS) drain(protocol, body, opts);
        }),
        { numRuns: 700 },
      );
    });
  }
});

Deno.test("parsers fuzz: a body of one format read as another, whole or spliced, fails cleanly", () => {
  const bodies = VALID.map(([, , b]) => b);
  fc.assert(
    fc.property(fc.nat(2), fc.nat(2), fc.nat(), fc.nat(), (i, j, a, b) => {
      const x = bodies[i], y = bodies[j];
      const cutX = a % (x.length + 1), cutY = b % (y.length + 1);
      const spliced = new Uint8Array(cutX + y.length - cutY);
      spliced.set(x.subarray(0, cutX));
      spliced.set(y.subarray(cutY), cutX);
      drainAll(x);
      drainAll(spliced);
    }),
    { numRuns: 150 },
  );
});

Deno.test("parsers fuzz: pathological ~1 MB bodies end with entries or a ParseError, in bounded heap", async (t) => {
  const M = 1 << 20;
  const labels = (n: number) => Array.from({ length: n }, (_, i) => `l${i}="v"`).join(",");
  const text: [string, string][] = [
    ["1 MB of {", "{".repeat(M)],
    ["1 MB of backslashes in a label value", 'a{b="' + "\\".repeat(M) + '"} 1\n'],
    ["a 1 MB label value", 'a{b="' + "x".repeat(M) + '"} 1\n'],
    ["a 1 MB metric name", "a".repeat(M) + " 1\n"],
    ["a 1 MB quoted UTF-8 name", '{"' + "é".repeat(M / 2) + '"} 1\n'],
    ["100k labels on one series", `a{${labels(100_000)}} 1\n`],
    ["100k duplicate labels", `a{${'b="v",'.repeat(100_000)}} 1\n`],
    ["an exemplar with 50k labels", `a_total 1 # {${labels(50_000)}} 1\n# EOF\n`],
    ["1 MB of #", "#".repeat(M)],
    ["a 1 MB HELP", "# HELP a " + "x".repeat(M) + "\n"],
    ["1 MB of newlines", "\n".repeat(M)],
    ["250k series", "a 1\n".repeat(M / 4)],
    ["60k TYPE lines", "# TYPE a counter\n".repeat(60_000)],
    ["250k invalid UTF-8 sequences", "\udcff".repeat(M / 4)],
    ["1 MB of spaces before a value", "a" + " ".repeat(M) + "1\n"],
    ["1 MB of digits", "a " + "9".repeat(M) + "\n"],
  ];
  const bodies: [string, Uint8Array][] = text.map(([name, s]) => {
    // Lone surrogates stand for invalid bytes: encode them as the raw byte.
    const bytes: number[] = [];
    if (s.includes("\udcff")) {
      for (let i = 0; i < s.length; i++) bytes.push(0xff);
      return [name, new Uint8Array(bytes)];
    }
    return [name, enc.encode(s)];
  });
  // Protobuf: a length prefix claiming 2 GiB, and a family of 100k metrics.
  bodies.push(["a protobuf length of 2 GiB", new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08, 1, 2])]);
  bodies.push([
    "a protobuf family of 100k gauges",
    encodeFamilies([{
      name: "g",
      type: PB_TYPE.gauge,
      metrics: Array.from({ length: 100_000 }, (_, i) => ({
        labels: [["i", String(i)]] as [string, string][],
        gauge: { value: i },
      })),
    }]),
  ]);
  // Zero bytes: as length-delimited messages, a million empty families.
  bodies.push(["1 MB of zero bytes", new Uint8Array(M)]);
  bodies.push(["10k delimited copies of a family", delimited(...Array(10_000).fill(PROTO))]);
  for (const [name, body] of bodies) {
    await t.step(name, () => {
      const before = Deno.memoryUsage().heapUsed;
      let peak = before;
      for (const protocol of PROTOCOLS) {
        drain(protocol, body);
        peak = Math.max(peak, Deno.memoryUsage().heapUsed);
      }
      // What a parse keeps alive while the test holds its body: a bounded multiple of it.
      const grew = peak - before;
      assert(grew < 64 * body.length + 64 * M, `heap grew by ${(grew / M).toFixed(0)} MiB`);
    });
  }
});

import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../../testing/assert.ts";
import type { Histogram } from "../../model/histogram.ts";
import { ParseError } from "./errors.ts";
import { formatOpenMetricsFloat } from "./float.ts";
import { createParser, type Exemplar } from "./mod.ts";
import { type ProtobufOptions, ProtobufParser } from "./protobuf.ts";
import {
  delimited,
  encodeFamilies,
  encodeFamily,
  encodeMetric,
  familiesFromText,
  PB_TYPE,
  type PbFamily,
  type PbHistogram,
  rawMessage,
} from "./protobuf_testutil.ts";

/** Every entry as text: metadata as `kind family type help unit`, samples as labels and values. */
function entries(body: Uint8Array, opts: ProtobufOptions = {}): string[] {
  const p = new ProtobufParser(body, opts);
  const out: string[] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "series") {
      let line = `${p.labels()} ${p.value()}`;
      if (p.timestamp() !== null) line += ` t=${p.timestamp()}`;
      if (p.startTimestamp() !== null) line += ` st=${p.startTimestamp()}`;
      const x = p.exemplar();
      if (x !== null) line += ` ${exemplarText(x)}`;
      out.push(line);
    } else if (k === "histogram") {
      let line = `H ${p.labels()}`;
      if (p.timestamp() !== null) line += ` t=${p.timestamp()}`;
      if (p.startTimestamp() !== null) line += ` st=${p.startTimestamp()}`;
      for (const x of p.exemplars()) line += ` ${exemplarText(x)}`;
      out.push(line);
    } else {
      out.push(`${k} ${p.family()} ${p.type()} ${JSON.stringify(p.help())} ${p.unit()}`);
    }
  }
  return out;
}

function exemplarText(x: Exemplar): string {
  return `# ${x.labels} ${x.value}${x.timestamp === null ? "" : " " + x.timestamp}`;
}

/** The histograms of the "histogram" entries. */
function histograms(body: Uint8Array, opts: ProtobufOptions = { nativeHistograms: true }) {
  const p = new ProtobufParser(body, opts);
  const out: Histogram[] = [];
  for (let k = p.next(); k !== null; k = p.next()) if (k === "histogram") out.push(p.histogram());
  return out;
}

/** Drains the parser touching every accessor; returns the number of samples. */
function drain(body: Uint8Array, opts: ProtobufOptions = {}): number {
  const p = new ProtobufParser(body, opts);
  let n = 0;
  for (let k = p.next(); k !== null; k = p.next()) {
    if (n++ > 1e6) throw new Error("no end in sight");
    if (k === "series" || k === "histogram") {
      p.series();
      p.ownedSeries();
      p.labels();
      p.value();
      p.timestamp();
      p.startTimestamp();
      p.exemplar();
      p.exemplars();
      if (k === "histogram") p.histogram();
    } else {
      p.family();
      p.type();
      p.help();
      p.unit();
    }
  }
  return n;
}

const native: PbHistogram = {
  sampleCount: 6,
  sampleSum: 12.5,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  positiveSpans: [{ offset: -1, length: 2 }, { offset: 3, length: 1 }],
  positiveDeltas: [1, 1, -1],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeDeltas: [1],
};

Deno.test("protobuf: counters, gauges and untyped as one series each, with metadata entries", () => {
  const body = encodeFamilies([
    {
      name: "http_requests_total",
      help: "Requests.",
      type: PB_TYPE.counter,
      metrics: [
        {
          labels: [["method", "GET"], ["code", "200"]],
          counter: { value: 1027, createdTimestamp: { seconds: 1700000000, nanos: 123456789 } },
        },
        { labels: [["method", "POST"], ["code", ""]], counter: { value: 3 }, timestampMs: 1234 },
      ],
    },
    {
      name: "temp",
      type: PB_TYPE.gauge,
      unit: "celsius",
      metrics: [{ gauge: { value: -2.5 } }, { labels: [["x", "1"]] }],
    },
    { name: "u", type: PB_TYPE.untyped, metrics: [{ untyped: { value: 7 }, timestampMs: -5 }] },
  ]);
  assertEquals(entries(body), [
    'help http_requests_total counter "Requests." ',
    'type http_requests_total counter "Requests." ',
    '{__name__="http_requests_total", code="200", method="GET"} 1027 st=1700000000123',
    '{__name__="http_requests_total", method="POST"} 3 t=1234',
    'help temp gauge "" celsius',
    'unit temp gauge "" celsius',
    'type temp gauge "" celsius',
    '{__name__="temp"} -2.5',
    // No gauge message: the value is 0, as a missing proto field reads.
    '{__name__="temp", x="1"} 0',
    'help u untyped "" ',
    'type u untyped "" ',
    '{__name__="u"} 7 t=-5',
  ]);
});

Deno.test("protobuf: the value field of another type is ignored; timestamp_ms 0 is no timestamp", () => {
  const body = encodeFamilies([{
    name: "c_total",
    type: PB_TYPE.counter,
    metrics: [{ gauge: { value: 5 }, timestampMs: 0 }],
  }]);
  assertEquals(entries(body).slice(2), ['{__name__="c_total"} 0']);
});

Deno.test("protobuf: summaries give _count, _sum and a series per quantile", () => {
  const body = encodeFamilies([{
    name: "rpc_seconds",
    type: PB_TYPE.summary,
    metrics: [
      {
        labels: [["svc", "a"]],
        summary: {
          sampleCount: 10,
          sampleSum: 2.5,
          quantiles: [{ quantile: 0.5, value: 0.2 }, { quantile: 1, value: 0.9 }],
          createdTimestamp: { seconds: 5 },
        },
      },
      { summary: { sampleCount: 1, sampleSum: 1 } },
    ],
  }]);
  assertEquals(entries(body).slice(2), [
    '{__name__="rpc_seconds_count", svc="a"} 10 st=5000',
    '{__name__="rpc_seconds_sum", svc="a"} 2.5 st=5000',
    '{__name__="rpc_seconds", quantile="0.5", svc="a"} 0.2 st=5000',
    '{__name__="rpc_seconds", quantile="1.0", svc="a"} 0.9 st=5000',
    '{__name__="rpc_seconds_count"} 1',
    '{__name__="rpc_seconds_sum"} 1',
  ]);
});

Deno.test("protobuf: classic histograms give _count, _sum and _bucket series with +Inf", async (t) => {
  await t.step("an +Inf bucket is added with the count when missing", () => {
    const body = encodeFamilies([{
      name: "lat_seconds",
      type: PB_TYPE.histogram,
      metrics: [{
        labels: [["h", "/"]],
        histogram: {
          sampleCount: 7,
          sampleSum: 3.25,
          createdTimestamp: { seconds: 1, nanos: 999_999_999 },
          buckets: [
            { cumulativeCount: 2, upperBound: 0.1 },
            {
              cumulativeCount: 5,
              upperBound: 1,
              exemplar: { labels: [["trace_id", "abc"]], value: 0.7 },
            },
          ],
        },
      }],
    }]);
    assertEquals(entries(body).slice(2), [
      '{__name__="lat_seconds_count", h="/"} 7 st=1999',
      '{__name__="lat_seconds_sum", h="/"} 3.25 st=1999',
      '{__name__="lat_seconds_bucket", h="/", le="0.1"} 2 st=1999',
      '{__name__="lat_seconds_bucket", h="/", le="1.0"} 5 st=1999 # {trace_id="abc"} 0.7',
      '{__name__="lat_seconds_bucket", h="/", le="+Inf"} 7 st=1999',
    ]);
  });
  await t.step("buckets stop at the first +Inf bucket; float counts override integer ones", () => {
    const body = encodeFamilies([{
      name: "g",
      type: PB_TYPE.gaugehistogram,
      metrics: [{
        histogram: {
          sampleCount: 9,
          sampleCountFloat: 4.5,
          buckets: [
            { cumulativeCount: 1, cumulativeCountFloat: 1.5, upperBound: 1e-6 },
            { cumulativeCount: 9, cumulativeCountFloat: 4.5, upperBound: Infinity },
            { cumulativeCount: 9, upperBound: 100 },
          ],
        },
      }],
    }]);
    assertEquals(entries(body).slice(2), [
      '{__name__="g_count"} 4.5',
      '{__name__="g_sum"} 0',
      '{__name__="g_bucket", le="1e-06"} 1.5',
      '{__name__="g_bucket", le="+Inf"} 4.5',
    ]);
  });
  await t.step("a histogram without buckets still has _count, _sum and +Inf", () => {
    const body = encodeFamilies([{
      name: "e",
      type: PB_TYPE.histogram,
      metrics: [{ histogram: { sampleCount: 0 } }, {}],
    }]);
    assertEquals(entries(body).slice(2), [
      '{__name__="e_count"} 0',
      '{__name__="e_sum"} 0',
      '{__name__="e_bucket", le="+Inf"} 0',
      '{__name__="e_count"} 0',
      '{__name__="e_sum"} 0',
      '{__name__="e_bucket", le="+Inf"} 0',
    ]);
  });
});

Deno.test("protobuf: native histograms", async (t) => {
  const both: PbHistogram = {
    ...native,
    buckets: [{ cumulativeCount: 4, upperBound: 1 }],
  };
  const body = encodeFamilies([{
    name: "nh",
    help: "Native.",
    type: PB_TYPE.histogram,
    metrics: [{ labels: [["a", "b"]], histogram: both, timestampMs: 1500 }],
  }]);
  await t.step("a histogram entry when native histograms are on", () => {
    assertEquals(entries(body, { nativeHistograms: true }).slice(2), [
      'H {__name__="nh", a="b"} t=1500',
    ]);
    assertEquals(histograms(body), [{
      float: false,
      schema: 1,
      zeroThreshold: 0.001,
      zeroCount: 1,
      count: 6,
      sum: 12.5,
      positiveSpans: [{ offset: -1, length: 2 }, { offset: 3, length: 1 }],
      positiveBuckets: [1, 1, -1],
      negativeSpans: [{ offset: 0, length: 1 }],
      negativeBuckets: [1],
      resetHint: 0,
      customValues: [],
    }]);
  });
  await t.step("then its classic series with classicHistograms", () => {
    assertEquals(entries(body, { nativeHistograms: true, classicHistograms: true }).slice(2), [
      'H {__name__="nh", a="b"} t=1500',
      '{__name__="nh_count", a="b"} 6 t=1500',
      '{__name__="nh_sum", a="b"} 12.5 t=1500',
      '{__name__="nh_bucket", a="b", le="1.0"} 4 t=1500',
      '{__name__="nh_bucket", a="b", le="+Inf"} 6 t=1500',
    ]);
  });
  await t.step("only classic series when native histograms are off", () => {
    assertEquals(entries(body).slice(2), [
      '{__name__="nh_count", a="b"} 6 t=1500',
      '{__name__="nh_sum", a="b"} 12.5 t=1500',
      '{__name__="nh_bucket", a="b", le="1.0"} 4 t=1500',
      '{__name__="nh_bucket", a="b", le="+Inf"} 6 t=1500',
    ]);
  });
  await t.step("classicHistograms adds nothing for a native histogram without buckets", () => {
    const b = encodeFamilies([{
      name: "n",
      type: PB_TYPE.histogram,
      metrics: [{ histogram: native }],
    }]);
    assertEquals(entries(b, { nativeHistograms: true, classicHistograms: true }).slice(2), [
      'H {__name__="n"}',
    ]);
  });
  await t.step("packed and unpacked repeated fields read the same", () => {
    const fam: PbFamily[] = [{
      name: "n",
      type: PB_TYPE.histogram,
      metrics: [{ histogram: native }],
    }];
    assertEquals(
      histograms(encodeFamilies(fam, { packed: true })),
      histograms(encodeFamilies(fam)),
    );
  });
  await t.step("float histograms keep absolute counts; gauge histograms get the gauge hint", () => {
    const b = encodeFamilies([{
      name: "f",
      type: PB_TYPE.gaugehistogram,
      metrics: [{
        histogram: {
          sampleCountFloat: 3.5,
          sampleSum: 1,
          schema: -2,
          zeroCountFloat: 0.5,
          positiveSpans: [{ offset: 0, length: 2 }],
          positiveCounts: [1, 2],
        },
      }],
    }]);
    const [h] = histograms(b);
    assertEquals(h.float, true);
    assertEquals(h.count, 3.5);
    assertEquals(h.zeroCount, 0.5);
    assertEquals(h.positiveBuckets, [1, 2]);
    assertEquals(h.resetHint, 3);
  });
  await t.step("created_timestamp is the start time", () => {
    const b = encodeFamilies([{
      name: "n",
      type: PB_TYPE.histogram,
      metrics: [{ histogram: { ...native, createdTimestamp: { seconds: 100, nanos: 2_000_000 } } }],
    }]);
    assertEquals(entries(b, { nativeHistograms: true }).slice(2), ['H {__name__="n"} st=100002']);
  });
});

Deno.test("protobuf: which histograms are native, as Prometheus decides", async (t) => {
  const cases: [string, PbHistogram, boolean][] = [
    ["positive spans", {
      positiveSpans: [{ offset: 0, length: 1 }],
      positiveDeltas: [1],
      sampleCount: 1,
    }, true],
    ["negative spans", {
      negativeSpans: [{ offset: 0, length: 1 }],
      negativeDeltas: [1],
      sampleCount: 1,
    }, true],
    ["a no-op span", { positiveSpans: [{ offset: 0, length: 0 }] }, true],
    ["a zero threshold", { zeroThreshold: 1e-9 }, true],
    ["a zero count", { zeroCount: 2, sampleCount: 2 }, true],
    ["only a schema", { schema: 3, sampleCount: 0 }, false],
    ["only a float zero count", { zeroCountFloat: 2, sampleCountFloat: 2 }, false],
    ["nothing native", { sampleCount: 1, buckets: [{ cumulativeCount: 1, upperBound: 1 }] }, false],
  ];
  for (const [name, h, want] of cases) {
    await t.step(name, () => {
      const b = encodeFamilies([{
        name: "h",
        type: PB_TYPE.histogram,
        metrics: [{ histogram: h }],
      }]);
      const kinds = entries(b, { nativeHistograms: true }).slice(2).map((e) => e.startsWith("H "));
      assertEquals(kinds[0], want);
    });
  }
});

Deno.test("protobuf: exemplars", async (t) => {
  await t.step("a counter's, with or without a timestamp", () => {
    const b = encodeFamilies([{
      name: "c_total",
      type: PB_TYPE.counter,
      metrics: [
        {
          labels: [["i", "1"]],
          counter: {
            value: 1,
            exemplar: {
              labels: [["trace_id", "t1"], ["span_id", "s1"], ["empty", ""]],
              value: 0.5,
              timestamp: { seconds: 1700000000, nanos: 1_500_000 },
            },
          },
        },
        { labels: [["i", "2"]], counter: { value: 2, exemplar: { value: 2 } } },
      ],
    }]);
    assertEquals(entries(b).slice(2), [
      '{__name__="c_total", i="1"} 1 # {span_id="s1", trace_id="t1"} 0.5 1700000000001',
      '{__name__="c_total", i="2"} 2 # {} 2',
    ]);
  });
  await t.step("not on gauges", () => {
    const m = encodeMetric({ counter: { value: 1, exemplar: { value: 1 } } });
    const fam = rawMessage([[1, 2, "g"], [3, 0, PB_TYPE.gauge], [4, 2, m]]);
    assertEquals(entries(delimited(fam)).slice(2), ['{__name__="g"} 0']);
  });
  await t.step("hidden when storage would reject them", () => {
    const long = "x".repeat(121); // with "trace_id": 129 code points
    const b = encodeFamilies([{
      name: "c_total",
      type: PB_TYPE.counter,
      metrics: [
        { labels: [["i", "1"]], counter: { exemplar: { labels: [["trace_id", long]] } } },
        { labels: [["i", "2"]], counter: { exemplar: { labels: [["a", "1"], ["a", "2"]] } } },
      ],
    }]);
    assertEquals(entries(b).slice(2), [
      '{__name__="c_total", i="1"} 0',
      '{__name__="c_total", i="2"} 0',
    ]);
  });
  await t.step("a native histogram's: the exemplars field, only with timestamps", () => {
    const b = encodeFamilies([{
      name: "h",
      type: PB_TYPE.histogram,
      metrics: [{
        histogram: {
          ...native,
          buckets: [{
            upperBound: 1,
            exemplar: { labels: [["b", "1"]], value: 1, timestamp: { seconds: 1 } },
          }],
          exemplars: [
            { labels: [["e", "1"]], value: 0.1, timestamp: { seconds: 2 } },
            { labels: [["e", "2"]], value: 0.2 },
            { labels: [["e", "3"]], value: 0.3, timestamp: { seconds: 3 } },
          ],
        },
      }],
    }]);
    assertEquals(entries(b, { nativeHistograms: true }).slice(2), [
      'H {__name__="h"} # {e="1"} 0.1 2000 # {e="3"} 0.3 3000',
    ]);
  });
  await t.step("or else its buckets' exemplars with timestamps", () => {
    const b = encodeFamilies([{
      name: "h",
      type: PB_TYPE.histogram,
      metrics: [{
        histogram: {
          ...native,
          buckets: [
            {
              upperBound: 1,
              exemplar: { labels: [["b", "1"]], value: 1, timestamp: { seconds: 1 } },
            },
            { upperBound: 2, exemplar: { labels: [["b", "2"]], value: 2 } },
            { upperBound: 3 },
          ],
        },
      }],
    }]);
    assertEquals(entries(b, { nativeHistograms: true, classicHistograms: true }).slice(2), [
      'H {__name__="h"} # {b="1"} 1 1000',
      '{__name__="h_count"} 6',
      '{__name__="h_sum"} 12.5',
      '{__name__="h_bucket", le="1.0"} 0 # {b="1"} 1 1000',
      '{__name__="h_bucket", le="2.0"} 0 # {b="2"} 2',
      '{__name__="h_bucket", le="3.0"} 0',
      '{__name__="h_bucket", le="+Inf"} 6',
    ]);
  });
});

Deno.test("protobuf: series() keys", async (t) => {
  const fams: PbFamily[] = [
    {
      name: "a",
      type: PB_TYPE.histogram,
      metrics: [{
        labels: [["x", "1"]],
        histogram: {
          ...native,
          buckets: [{ cumulativeCount: 1, upperBound: 0.5 }, { cumulativeCount: 2 }],
        },
      }],
    },
    { name: "b", type: PB_TYPE.gauge, metrics: [{ labels: [["x", "1"]], gauge: { value: 1 } }] },
    { name: "c", type: PB_TYPE.gauge, metrics: [{ labels: [["x", "1"]] }, { labels: [] }] },
    { name: "ab", type: PB_TYPE.gauge, metrics: [{ labels: [] }] },
  ];
  const keys = (body: Uint8Array, opts: ProtobufOptions) => {
    const p = new ProtobufParser(body, opts);
    const out: [string, string][] = [];
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === "series" || k === "histogram") {
        assertEquals(p.ownedSeries(), p.series());
        out.push([p.series(), `${k} ${p.labels()}`]);
      }
    }
    return out;
  };
  const opts = { nativeHistograms: true, classicHistograms: true };
  const got = keys(encodeFamilies(fams), opts);
  await t.step("one key per sample", () => {
    assertEquals(new Set(got.map(([k]) => k)).size, got.length);
    assertEquals(got.length, 1 + 5 + 1 + 2 + 1);
  });
  await t.step("the same keys when values, timestamps and exemplars change", () => {
    const changed = structuredClone(fams);
    changed[0].metrics![0].histogram!.sampleSum = 99;
    changed[0].metrics![0].timestampMs = 5;
    changed[1].metrics![0].gauge!.value = 42;
    changed[1].metrics![0].counter = { exemplar: { value: 1 } };
    assertEquals(keys(encodeFamilies(changed), opts), got);
  });
  await t.step("label fields apart from each other still make one key per series", () => {
    const m = rawMessage([
      [1, 2, rawMessage([[1, 2, "x"], [2, 2, "1"]])],
      [2, 2, rawMessage([[1, 1, 3]])],
      [1, 2, rawMessage([[1, 2, "y"], [2, 2, "2"]])],
    ]);
    const fam = rawMessage([[1, 2, "g"], [3, 0, PB_TYPE.gauge], [4, 2, m], [4, 2, m]]);
    const [k1, k2] = keys(delimited(fam), {});
    assertEquals(k1, k2);
    assertEquals(k1[1], 'series {__name__="g", x="1", y="2"}');
  });
});

Deno.test("protobuf: families without metrics are skipped; an empty body has no entries", () => {
  assertEquals(entries(new Uint8Array(0)), []);
  const body = encodeFamilies([
    { name: "", type: 99, metrics: [] }, // invalid, but skipped before validation
    { name: "g", type: PB_TYPE.gauge, metrics: [{ gauge: { value: 1 } }] },
    { name: "e", type: PB_TYPE.gauge },
  ]);
  assertEquals(entries(body), ['help g gauge "" ', 'type g gauge "" ', '{__name__="g"} 1']);
});

Deno.test("protobuf: unknown fields are skipped", () => {
  const m = rawMessage([
    [1, 2, rawMessage([[1, 2, "x"], [9, 0, 5], [2, 2, "1"]])],
    [2, 2, rawMessage([[1, 1, 2.5], [7, 5, 1], [8, 1, 1]])],
    [99, 0, 12345678901],
    [100, 2, "whatever"],
    [101, 5, 1.5],
  ]);
  const fam = rawMessage([[1, 2, "g"], [3, 0, PB_TYPE.gauge], [4, 2, m], [6, 2, "future"]]);
  assertEquals(entries(delimited(fam)).slice(2), ['{__name__="g", x="1"} 2.5']);
});

Deno.test("protobuf: invalid input fails with a ParseError naming the problem", async (t) => {
  const fam = (f: PbFamily) => encodeFamilies([f]);
  const gauge = (labels: [string, string][]): PbFamily => ({
    name: "g",
    type: PB_TYPE.gauge,
    metrics: [{ labels, gauge: { value: 1 } }],
  });
  const badUtf8 = (field: number) => {
    const pair = field === 1
      ? rawMessage([[1, 2, new Uint8Array([0x61, 0xff])], [2, 2, "v"]])
      : rawMessage([[1, 2, "n"], [2, 2, new Uint8Array([0xc3, 0x28])]]);
    return delimited(rawMessage([
      [1, 2, "g"],
      [3, 0, 1],
      [4, 2, rawMessage([[1, 2, pair]])],
    ]));
  };
  const nh = (h: PbHistogram) =>
    fam({ name: "h", type: PB_TYPE.histogram, metrics: [{ histogram: h }] });
  const cases: [string, Uint8Array, string][] = [
    [
      "a family past the end",
      new Uint8Array([0x05, 0x0a, 0x01]),
      "byte 0: metric family of 5 bytes runs past the end",
    ],
    ["a truncated length prefix", new Uint8Array([0x80]), "truncated varint"],
    ["no name", fam({ type: 1, metrics: [{}] }), "metric family without a name"],
    [
      "an unknown type",
      fam({ name: "x", type: 6, metrics: [{}] }),
      'unknown metric type 6 for metric "x"',
    ],
    [
      "a name that is not UTF-8",
      delimited(rawMessage([[1, 2, new Uint8Array([0xff])], [4, 2, new Uint8Array(0)]])),
      "metric name is not valid UTF-8",
    ],
    [
      "help that is not UTF-8",
      delimited(
        rawMessage([[1, 2, "x"], [2, 2, new Uint8Array([0xe2, 0x82])], [4, 2, new Uint8Array(0)]]),
      ),
      'help of metric "x" is not valid UTF-8',
    ],
    ["a label name that is not UTF-8", badUtf8(1), "label name is not valid UTF-8"],
    ["a label value that is not UTF-8", badUtf8(2), 'value of label "n" is not valid UTF-8'],
    ["an empty label name", fam(gauge([["", "v"]])), 'empty label name in metric "g"'],
    ["duplicate label names", fam(gauge([["a", "1"], ["a", "2"]])), 'duplicate label name "a"'],
    [
      "a __name__ label",
      fam(gauge([["__name__", "x"]])),
      'label "__name__" duplicates the metric name',
    ],
    [
      "an le label on a bucket",
      fam({ name: "h", type: 4, metrics: [{ labels: [["le", "1"]], histogram: {} }] }),
      'duplicate label name "le"',
    ],
    [
      "a wrong wire type",
      delimited(rawMessage([[1, 0, 5]])),
      "MetricFamily field 1 has unexpected wire type 0",
    ],
    ["a group", delimited(new Uint8Array([0x3b, 0x3c])), "unsupported wire type 3"],
    ["field number 0", delimited(new Uint8Array([0x02, 0x00])), "invalid field number 0"],
    [
      "a varint of 11 bytes",
      delimited(
        new Uint8Array([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      ),
      "varint longer than 10 bytes",
    ],
    [
      "a truncated double",
      delimited(
        rawMessage([[1, 2, "g"], [3, 0, 1], [
          4,
          2,
          rawMessage([[2, 2, new Uint8Array([0x09, 1, 2, 3])]]),
        ]]),
      ),
      "truncated double",
    ],
    [
      "a metric past its family",
      delimited(new Uint8Array([0x22, 0x05, 0x0a])),
      "runs past the end of its message",
    ],
    [
      "spans needing more buckets",
      nh({ ...native, positiveDeltas: [1, 1] }),
      'histogram "h": positive side: spans require 3 buckets, have 2',
    ],
    [
      "spans needing fewer float buckets",
      nh({ sampleCountFloat: 1, negativeSpans: [{ length: 1 }], negativeCounts: [0.5, 0.5] }),
      "negative side: spans require 1 buckets, have 2",
    ],
    [
      "a count that does not add up",
      nh({ ...native, sampleCount: 7 }),
      "6 observations found in buckets, but the count field is 7",
    ],
    [
      "a negative bucket count",
      nh({ ...native, positiveDeltas: [1, -2, 3] }),
      "positive side: bucket number 2 has observation count of -1",
    ],
    [
      "a negative offset after the first span",
      nh({ ...native, positiveSpans: [{ offset: 0, length: 2 }, { offset: -1, length: 1 }] }),
      "span number 2 has negative offset -1",
    ],
    ["a schema beyond 8", nh({ ...native, schema: 9 }), "invalid schema 9"],
    [
      "a negative float count",
      nh({ sampleCountFloat: 1, zeroThreshold: 1, zeroCountFloat: -1 }),
      "zero bucket has observation count of -1",
    ],
    [
      "an exemplar label that is not UTF-8",
      delimited(
        rawMessage([[1, 2, "c"], [3, 0, 0], [
          4,
          2,
          rawMessage([[
            3,
            2,
            rawMessage([[
              2,
              2,
              rawMessage([[1, 2, rawMessage([[1, 2, "t"], [2, 2, new Uint8Array([0xff])]])]]),
            ]]),
          ]]),
        ]]),
      ),
      'value of exemplar label "t" is not valid UTF-8',
    ],
  ];
  for (const [name, body, want] of cases) {
    await t.step(name, () => {
      const e = assertThrows(() => drain(body, { nativeHistograms: true }), ParseError);
      assert(e.message.includes(want), `${e.message} should include ${want}`);
      assert(/^byte \d+: /.test(e.message), e.message);
    });
  }
});

Deno.test("protobuf: a NaN sum lets the count exceed the buckets' total", () => {
  const b = encodeFamilies([{
    name: "h",
    type: PB_TYPE.histogram,
    metrics: [{ histogram: { ...native, sampleCount: 9, sampleSum: NaN } }],
  }]);
  assertEquals(histograms(b)[0].count, 9);
});

Deno.test("createParser: PrometheusProto takes bytes; the text formats take bytes too", () => {
  const body = encodeFamilies([{
    name: "g",
    type: PB_TYPE.gauge,
    metrics: [{ gauge: { value: 1 } }],
  }]);
  const p = createParser("PrometheusProto", body);
  assertEquals([p.next(), p.next(), p.next(), p.next()], ["help", "type", "series", null]);
  assertThrows(() => createParser("PrometheusProto", "g 1\n"), TypeError, "binary");
  const t = createParser("PrometheusText0.0.4", new TextEncoder().encode("g 1\n"));
  assertEquals([t.next(), t.value()], ["series", 1]);
});

// ---------------------------------------------------------------- properties

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.]{0,8}$/).filter((n) =>
  n !== "__name__" && n !== "le" && n !== "quantile"
);
const labelValue = fc.string({ maxLength: 12, unit: "grapheme" });
const labelSet = fc.uniqueArray(fc.tuple(labelName, labelValue), {
  maxLength: 4,
  selector: ([n]) => n,
});
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const timestamp = fc.option(fc.integer({ min: -1e12, max: 4e12 }), { nil: undefined });
const family: fc.Arbitrary<PbFamily> = fc.record({
  name: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/),
  help: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  unit: fc.option(fc.constantFrom("seconds", "bytes"), { nil: undefined }),
  type: fc.constantFrom(0, 1, 2, 3, 4, 5),
  metrics: fc.array(
    fc.record({
      labels: labelSet,
      value: finite,
      count: fc.nat({ max: 1000 }),
      timestampMs: timestamp,
      bounds: fc.uniqueArray(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
}).map((f) => ({
  name: f.name,
  help: f.help,
  unit: f.unit,
  type: f.type,
  metrics: f.metrics.map((m) => {
    const base = { labels: m.labels, timestampMs: m.timestampMs };
    switch (f.type) {
      case 0:
        return { ...base, counter: { value: m.value } };
      case 1:
        return { ...base, gauge: { value: m.value } };
      case 3:
        return { ...base, untyped: { value: m.value } };
      case 2:
        return {
          ...base,
          summary: {
            sampleCount: m.count,
            sampleSum: m.value,
            quantiles: m.bounds.map((q) => ({ quantile: q, value: m.value })),
          },
        };
      default:
        return {
          ...base,
          histogram: {
            sampleCount: m.count,
            sampleSum: m.value,
            buckets: [...m.bounds].sort((a, b) => a - b).map((b, i) => ({
              upperBound: b,
              cumulativeCount: i,
            })),
          },
        };
    }
  }),
}));

/** What a family should parse to, worked out from the objects. */
function expected(fams: PbFamily[]): string[] {
  const fmt = formatOpenMetricsFloat;
  const out: string[] = [];
  for (const f of fams) {
    const type = ["counter", "gauge", "summary", "untyped", "histogram", "gaugehistogram"][f.type!];
    out.push(`help ${f.name} ${type} ${JSON.stringify(f.help ?? "")} ${f.unit ?? ""}`);
    if (f.unit) out.push(`unit ${f.name} ${type} ${JSON.stringify(f.help ?? "")} ${f.unit}`);
    out.push(`type ${f.name} ${type} ${JSON.stringify(f.help ?? "")} ${f.unit ?? ""}`);
    for (const m of f.metrics!) {
      const ts = m.timestampMs ? ` t=${m.timestampMs}` : "";
      const ls = (name: string, extra: [string, string][] = []) => {
        const o: Record<string, string> = {};
        for (const [n, v] of [...m.labels!, ...extra]) if (v !== "") o[n] = v;
        return JSON.stringify([name, Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))]);
      };
      if (m.summary) {
        const s = m.summary;
        out.push(`${ls(f.name + "_count")} ${s.sampleCount}${ts}`);
        out.push(`${ls(f.name + "_sum")} ${s.sampleSum}${ts}`);
        for (const q of s.quantiles!) {
          out.push(`${ls(f.name!, [["quantile", fmt(q.quantile!)]])} ${q.value}${ts}`);
        }
      } else if (m.histogram) {
        const h = m.histogram;
        out.push(`${ls(f.name + "_count")} ${h.sampleCount}${ts}`);
        out.push(`${ls(f.name + "_sum")} ${h.sampleSum}${ts}`);
        for (const b of h.buckets!) {
          out.push(
            `${ls(f.name + "_bucket", [["le", fmt(b.upperBound!)]])} ${b.cumulativeCount}${ts}`,
          );
        }
        out.push(`${ls(f.name + "_bucket", [["le", "+Inf"]])} ${h.sampleCount}${ts}`);
      } else {
        const v = (m.counter ?? m.gauge ?? m.untyped)!.value;
        out.push(`${ls(f.name!)} ${v}${ts}`);
      }
    }
  }
  return out;
}

/** Like `entries`, with labels as sorted JSON for comparison with `expected`. */
function entriesJson(body: Uint8Array): string[] {
  const p = new ProtobufParser(body);
  const out: string[] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "series") {
      const l = p.labels();
      const o: [string, string][] = [];
      l.forEach((n, v) => {
        if (n !== "__name__") o.push([n, v]);
      });
      const ts = p.timestamp() !== null ? ` t=${p.timestamp()}` : "";
      out.push(`${JSON.stringify([l.get("__name__"), o])} ${p.value()}${ts}`);
    } else out.push(`${k} ${p.family()} ${p.type()} ${JSON.stringify(p.help())} ${p.unit()}`);
  }
  return out;
}

Deno.test("protobuf property: generated families round-trip", () => {
  fc.assert(
    fc.property(fc.array(family, { maxLength: 4 }), fc.boolean(), (fams, packed) => {
      assertEquals(entriesJson(encodeFamilies(fams, { packed })), expected(fams));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("protobuf property: random bytes only ever fail with a ParseError, and end", () => {
  const check = (body: Uint8Array, opts: ProtobufOptions) => {
    try {
      drain(body, opts);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (b, nh) => {
      check(b, { nativeHistograms: nh, classicHistograms: true });
      check(delimited(b), { nativeHistograms: nh });
    }),
    { numRuns: 3000 },
  );
});

Deno.test("protobuf property: mutated valid bodies only ever fail with a ParseError", () => {
  const nativeFamily = fc.constant<PbFamily>({
    name: "nh",
    type: PB_TYPE.histogram,
    metrics: [{
      labels: [["a", "b"]],
      histogram: {
        ...native,
        buckets: [{
          upperBound: 1,
          cumulativeCount: 2,
          exemplar: { value: 1, timestamp: { seconds: 1 } },
        }],
        exemplars: [{ labels: [["t", "x"]], value: 1, timestamp: { seconds: 2 } }],
      },
    }],
  });
  const mutation = fc.tuple(
    fc.nat(),
    fc.constantFrom("flip", "insert", "delete"),
    fc.integer({ min: 0, max: 255 }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.oneof(family, nativeFamily), { minLength: 1, maxLength: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      (fams, muts) => {
        let b = Array.from(encodeFamilies(fams));
        for (const [at, op, v] of muts) {
          const i = at % (b.length + 1);
          if (op === "flip" && i < b.length) b[i] ^= v || 1;
          else if (op === "insert") b.splice(i, 0, v);
          else if (i < b.length) b.splice(i, 1);
        }
        try {
          drain(new Uint8Array(b), { nativeHistograms: true, classicHistograms: true });
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
        }
        b = [];
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("protobuf: familiesFromText turns a text exposition into the same series", () => {
  const text = [
    "# HELP c_total Requests.",
    "# TYPE c_total counter",
    'c_total{m="GET"} 3',
    "# TYPE h histogram",
    'h_bucket{x="1",le="0.5"} 1',
    'h_bucket{x="1",le="+Inf"} 2',
    'h_sum{x="1"} 0.7',
    'h_count{x="1"} 2',
    "",
  ].join("\n");
  const body = encodeFamilies(familiesFromText(text));
  assertEquals(entries(body), [
    'help c_total counter "Requests." ',
    'type c_total counter "Requests." ',
    '{__name__="c_total", m="GET"} 3',
    'help h histogram "" ',
    'type h histogram "" ',
    '{__name__="h_count", x="1"} 2',
    '{__name__="h_sum", x="1"} 0.7',
    '{__name__="h_bucket", le="0.5", x="1"} 1',
    '{__name__="h_bucket", le="+Inf", x="1"} 2',
  ]);
  assertEquals(encodeFamily({ name: "x" }).length, 3);
});

Deno.test("protobuf: a huge label set is sorted without quadratic cost", () => {
  const labels: [string, string][] = [];
  for (let i = 60_000; i > 0; i--) labels.push([`l${String(i).padStart(6, "0")}`, "v"]);
  const body = encodeFamilies([{ name: "g", type: PB_TYPE.gauge, metrics: [{ labels }] }]);
  const p = new ProtobufParser(body);
  p.next();
  p.next();
  assertEquals(p.next(), "series");
  const t0 = performance.now();
  const l = p.labels();
  assert(performance.now() - t0 < 1500, "labels() took too long");
  assertEquals(l.size, 60_001);
  assertEquals(l.name(1), "l000001");
});

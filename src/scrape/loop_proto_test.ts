/**
 * The scrape loop with the protobuf format and what the Appender gained for
 * it: native histograms, exemplars, start times and metadata.
 */

import { assert, assertEquals } from "../testing/assert.ts";
import type { ResolvedScrapeConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapeLoop, type ScrapeTarget } from "./loop.ts";
import { type Rec, RecordingDb, scrapeConfig } from "./testutil.ts";
import {
  encodeFamilies,
  PB_TYPE,
  type PbFamily,
  type PbHistogram,
} from "./textparse/protobuf_testutil.ts";

const PROTO_CT =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
const OM_CT = "application/openmetrics-text; version=1.0.0";
const TEXT_CT = "text/plain; version=0.0.4";

const TARGET: ScrapeTarget = {
  labels: Labels.fromObject({ job: "node", instance: "h:9100" }),
  discoveredLabels: Labels.fromObject({ __address__: "h:9100" }),
  scrapeUrl: "http://h:9100/metrics",
  intervalMs: 15_000,
  timeoutMs: 10_000,
};

type Body = PbFamily[] | { text: string; type: string };

function setup(bodies: Body[], over: Partial<ResolvedScrapeConfig> = {}) {
  const db = new RecordingDb();
  const seen: Request[] = [];
  const cfg = scrapeConfig({ scrapeIntervalMs: 15_000, scrapeTimeoutMs: 10_000, ...over });
  let i = 0;
  const loop = new ScrapeLoop(TARGET, {
    config: cfg,
    appendable: db,
    metricRules: compileRules(cfg.metricRelabelConfigs),
    clock: new ManualClock(1_000_000),
    offsetSeed: 0,
    fetch: (input, init) => {
      seen.push(new Request(input, init));
      const b = bodies[Math.min(i++, bodies.length - 1)];
      const res = Array.isArray(b)
        ? new Response(encodeFamilies(b), { headers: { "Content-Type": PROTO_CT } })
        : new Response(b.text, { headers: { "Content-Type": b.type } });
      return Promise.resolve(res);
    },
    userAgent: "ferry/test",
  });
  return { db, loop, seen };
}

/** The rendered labels of a scraped series of TARGET; `extra` like `x="1"`. */
const S = (name: string, extra = "") => {
  const o: Record<string, string> = { __name__: name, instance: "h:9100", job: "node" };
  for (const m of extra.matchAll(/(\w+)="([^"]*)"/g)) o[m[1]] = m[2];
  return Labels.fromObject(o).toString();
};

const native: PbHistogram = {
  sampleCount: 4,
  sampleSum: 10,
  schema: 0,
  zeroThreshold: 1e-128,
  zeroCount: 1,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveDeltas: [2, -1],
  buckets: [{ cumulativeCount: 3, upperBound: 1 }],
};

const histFamily = (h: PbHistogram = native, extra: Partial<PbFamily> = {}): PbFamily => ({
  name: "rpc_seconds",
  help: "RPC latency.",
  type: PB_TYPE.histogram,
  metrics: [{ labels: [["svc", "a"]], histogram: h }],
  ...extra,
});

const recs = (db: RecordingDb, series: string, commit = -1): Rec[] =>
  db.committed.at(commit)!.filter((r) => r.series === series);

Deno.test("Accept lists PrometheusProto when scrape_protocols has it", async () => {
  const { loop, seen } = setup([[histFamily()]], {
    scrapeProtocols: ["PrometheusProto", "OpenMetricsText1.0.0", "PrometheusText0.0.4"],
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(
    seen[0].headers.get("accept"),
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6," +
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
      "text/plain;version=0.0.4;q=0.4,*/*;q=0.3",
  );
});

Deno.test("protobuf scrape with native histograms appends a histogram", async () => {
  const { db, loop } = setup([[
    histFamily({ ...native, createdTimestamp: { seconds: 900 } }),
    { name: "g", type: PB_TYPE.gauge, metrics: [{ gauge: { value: 3 } }] },
  ]], { scrapeNativeHistograms: true });
  await loop.scrapeOnce(1_000_000);
  const [h] = recs(db, S("rpc_seconds", 'svc="a"'));
  assertEquals(h.v, "histogram");
  assertEquals(h.t, 1_000_000);
  assertEquals(h.st, 900_000);
  assertEquals(h.h!.count, 4);
  assertEquals(h.h!.positiveBuckets, [2, -1]);
  assertEquals(db.last().has(S("rpc_seconds_count", 'svc="a"')), false);
  assertEquals(db.last().get(S("g")), 3);
  // Histograms count as samples.
  assertEquals(db.last().get(S("scrape_samples_scraped")), 2);
  assertEquals(db.last().get(S("scrape_series_added")), 2);
  assertEquals(loop.status().health, "up");
});

Deno.test("native histograms off: the classic series of the same body", async () => {
  const { db } = await scraped([[histFamily()]], {});
  const got = db.last();
  assertEquals(got.has(S("rpc_seconds", 'svc="a"')), false);
  assertEquals(got.get(S("rpc_seconds_count", 'svc="a"')), 4);
  assertEquals(got.get(S("rpc_seconds_sum", 'svc="a"')), 10);
  assertEquals(got.get(S("rpc_seconds_bucket", 'svc="a",le="1.0"')), 3);
  assertEquals(got.get(S("rpc_seconds_bucket", 'svc="a",le="+Inf"')), 4);
});

Deno.test("always_scrape_classic_histograms: native and classic", async () => {
  const { db } = await scraped([[histFamily()]], {
    scrapeNativeHistograms: true,
    alwaysScrapeClassicHistograms: true,
  });
  const got = db.last();
  assertEquals(got.get(S("rpc_seconds", 'svc="a"')), "histogram");
  assertEquals(got.get(S("rpc_seconds_count", 'svc="a"')), 4);
  assertEquals(got.get(S("rpc_seconds_bucket", 'svc="a",le="+Inf"')), 4);
  assertEquals(got.get(S("scrape_samples_scraped")), 5);
});

async function scraped(bodies: Body[], over: Partial<ResolvedScrapeConfig>) {
  const s = setup(bodies, over);
  await s.loop.scrapeOnce(1_000_000);
  return s;
}

Deno.test("a histogram series that disappears gets a (histogram) staleness marker", async () => {
  const { db, loop } = setup([[histFamily()], [{ name: "g", type: 1, metrics: [{}] }]], {
    scrapeNativeHistograms: true,
  });
  await loop.scrapeOnce(1_000_000);
  await loop.scrapeOnce(1_015_000);
  const [m] = recs(db, S("rpc_seconds", 'svc="a"'));
  assertEquals(m.v, "stale");
  assertEquals(m.staleHistogram, true);
});

Deno.test("sample_limit counts native histograms", async () => {
  const { db, loop } = setup([[histFamily(), { name: "g", type: 1, metrics: [{}] }]], {
    scrapeNativeHistograms: true,
    sampleLimit: 1,
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("up")), 0);
  assertEquals(db.last().has(S("rpc_seconds", 'svc="a"')), false);
  assert(loop.status().lastError.includes("sample limit exceeded"));
});

Deno.test("metric relabeling applies to native histograms", async () => {
  const { db } = await scraped([[histFamily(), { name: "g", type: 1, metrics: [{}] }]], {
    scrapeNativeHistograms: true,
    metricRelabelConfigs: [{
      sourceLabels: ["__name__"],
      separator: ";",
      regex: "rpc_.*",
      modulus: 0,
      targetLabel: "",
      replacement: "$1",
      action: "drop",
    }],
  });
  assertEquals(db.last().has(S("rpc_seconds", 'svc="a"')), false);
  assertEquals(db.last().get(S("scrape_samples_post_metric_relabeling")), 1);
});

Deno.test("exemplars are appended with their timestamp, or the sample's", async (t) => {
  await t.step("protobuf counter: with and without a timestamp", async () => {
    const { db } = await scraped([[{
      name: "c_total",
      type: PB_TYPE.counter,
      metrics: [
        {
          labels: [["i", "1"]],
          counter: {
            value: 1,
            exemplar: { labels: [["trace_id", "t1"]], value: 0.5, timestamp: { seconds: 999 } },
          },
        },
        {
          labels: [["i", "2"]],
          counter: { value: 2, exemplar: { labels: [["trace_id", "t2"]], value: 1 } },
          timestampMs: 990_000,
        },
      ],
    }]], {});
    const ex = db.exemplars.at(-1)!.map((
      x,
    ) => [x.series, x.e.labels.toString(), x.e.value, x.e.ts]);
    assertEquals(ex, [
      [S("c_total", 'i="1"'), '{trace_id="t1"}', 0.5, 999_000],
      [S("c_total", 'i="2"'), '{trace_id="t2"}', 1, 990_000],
    ]);
  });
  await t.step("native histogram: only exemplars with a timestamp, in time order", async () => {
    const { db } = await scraped([[histFamily({
      ...native,
      exemplars: [
        { labels: [["e", "late"]], value: 2, timestamp: { seconds: 20 } },
        { labels: [["e", "none"]], value: 3 },
        { labels: [["e", "early"]], value: 1, timestamp: { seconds: 10 } },
      ],
    })]], { scrapeNativeHistograms: true });
    const ex = db.exemplars.at(-1)!.map((x) => [x.series, x.e.labels.toString(), x.e.ts]);
    assertEquals(ex, [
      [S("rpc_seconds", 'svc="a"'), '{e="early"}', 10_000],
      [S("rpc_seconds", 'svc="a"'), '{e="late"}', 20_000],
    ]);
  });
  await t.step("OpenMetrics: the scrape time when the exemplar has none", async () => {
    const { db } = await scraped([{
      text: '# TYPE a counter\na_total 1 # {trace_id="x"} 0.5\n# EOF\n',
      type: OM_CT,
    }], {});
    const [x] = db.exemplars.at(-1)!;
    assertEquals([x.series, x.e.ts, x.e.value], [S("a_total"), 1_000_000, 0.5]);
  });
  await t.step("none for series dropped by relabeling", async () => {
    const { db } = await scraped([{
      text: '# TYPE a counter\na_total 1 # {trace_id="x"} 0.5\n# EOF\n',
      type: OM_CT,
    }], {
      metricRelabelConfigs: [{
        sourceLabels: ["__name__"],
        separator: ";",
        regex: "a_total",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
        action: "drop",
      }],
    });
    assertEquals(db.exemplars.at(-1), []);
  });
});

Deno.test("start times go with the sample: protobuf created_timestamp, OpenMetrics _created", async (t) => {
  await t.step("protobuf", async () => {
    const { db } = await scraped([[
      {
        name: "c_total",
        type: PB_TYPE.counter,
        metrics: [{ counter: { value: 1, createdTimestamp: { seconds: 500, nanos: 7_000_000 } } }],
      },
      {
        name: "s",
        type: PB_TYPE.summary,
        metrics: [{ summary: { sampleCount: 1, createdTimestamp: { seconds: 600 } } }],
      },
      { name: "g", type: PB_TYPE.gauge, metrics: [{ gauge: { value: 1 } }] },
    ]], {});
    const st = (s: string) => recs(db, s)[0].st;
    assertEquals(st(S("c_total")), 500_007);
    assertEquals(st(S("s_count")), 600_000);
    assertEquals(st(S("s_sum")), 600_000);
    assertEquals(st(S("g")), undefined, "a gauge has no start time: plain append");
  });
  await t.step("OpenMetrics", async () => {
    const { db } = await scraped([{
      text: "# TYPE a counter\na_total 1\na_created 1700000000.5\n# EOF\n",
      type: OM_CT,
    }], {});
    assertEquals(recs(db, S("a_total"))[0].st, 1_700_000_000_500);
  });
  await t.step("0.0.4 text has none", async () => {
    const { db } = await scraped([{ text: "a 1\n", type: TEXT_CT }], {});
    assertEquals(recs(db, S("a"))[0].st, undefined);
  });
});

Deno.test("metadata: given when a series is new and when its family's metadata changes", async () => {
  const fam = (help: string, value: number): PbFamily[] => [
    {
      name: "req_total",
      help,
      type: PB_TYPE.counter,
      metrics: [
        { labels: [["m", "GET"]], counter: { value } },
        { labels: [["m", "PUT"]], counter: { value } },
      ],
    },
    { name: "temp", help: "Temperature.", unit: "celsius", type: PB_TYPE.gauge, metrics: [{}] },
  ];
  const { db, loop } = setup([
    fam("Requests.", 1),
    fam("Requests.", 2),
    fam("Requests handled.", 3),
    fam("Requests handled.", 4),
  ]);
  const updates = () =>
    db.metadata.at(-1)!.map((u) => `${u.series} ${u.m.type} ${u.m.help} ${u.m.unit}`).sort();
  await loop.scrapeOnce(1_000_000);
  const report = [
    "scrape_duration_seconds",
    "scrape_samples_post_metric_relabeling",
    "scrape_samples_scraped",
    "scrape_series_added",
    "up",
  ].map((n) => S(n));
  const first = updates().filter((u) => !report.some((r) => u.startsWith(r + " ")));
  assertEquals(first, [
    `${S("req_total", 'm="GET"')} counter Requests. `,
    `${S("req_total", 'm="PUT"')} counter Requests. `,
    `${S("temp")} gauge Temperature. celsius`,
  ]);
  // The synthetic series get theirs once too.
  assertEquals(updates().length, 3 + 5);
  await loop.scrapeOnce(1_015_000);
  assertEquals(updates(), [], "unchanged: nothing");
  await loop.scrapeOnce(1_030_000);
  assertEquals(updates(), [
    `${S("req_total", 'm="GET"')} counter Requests handled. `,
    `${S("req_total", 'm="PUT"')} counter Requests handled. `,
  ]);
  await loop.scrapeOnce(1_045_000);
  assertEquals(updates(), []);
  assertEquals(
    loop.metadata().sort((a, b) => (a.metric < b.metric ? -1 : 1)),
    [
      { metric: "req_total", type: "counter", help: "Requests handled.", unit: "" },
      { metric: "temp", type: "gauge", help: "Temperature.", unit: "celsius" },
    ],
  );
});

Deno.test("metadata: text formats attach it to the family's own series only", async () => {
  const { db } = await scraped([{
    text: [
      "# HELP h Latency.",
      "# TYPE h histogram",
      'h_bucket{le="+Inf"} 1',
      "h_sum 1",
      "h_count 1",
      "other 5",
      "# TYPE c_total counter",
      "c_total 1",
      "",
    ].join("\n"),
    type: TEXT_CT,
  }], {});
  const got = db.metadata.at(-1)!
    .filter((u) => !u.series.includes("scrape_") && !u.series.includes('"up"'))
    .map((u) => `${u.series} ${u.m.type}`)
    .sort();
  assertEquals(got, [
    `${S("c_total")} counter`,
    `${S("h_bucket", 'le="+Inf"')} histogram`,
    `${S("h_count")} histogram`,
    `${S("h_sum")} histogram`,
  ]);
});

Deno.test("metadata: a change in a scrape that fails is given again next time", async () => {
  const body = (help: string, n: number): PbFamily[] => [{
    name: "g",
    help,
    type: PB_TYPE.gauge,
    metrics: Array.from(
      { length: n },
      (_, i) => ({ labels: [["i", String(i)]] as [string, string][] }),
    ),
  }];
  const { db, loop } = setup([body("one", 1), body("two", 3), body("two", 1)], { sampleLimit: 2 });
  await loop.scrapeOnce(1_000_000);
  await loop.scrapeOnce(1_015_000); // over the limit: rolled back
  assertEquals(db.last().get(S("up")), 0);
  await loop.scrapeOnce(1_030_000);
  const got = db.metadata.at(-1)!.filter((u) => u.series === S("g", 'i="0"')).map((u) => u.m.help);
  assertEquals(got, ["two"]);
});

Deno.test("a broken protobuf body fails the scrape with the parse error", async () => {
  const db = new RecordingDb();
  const cfg = scrapeConfig();
  const loop = new ScrapeLoop(TARGET, {
    config: cfg,
    appendable: db,
    metricRules: compileRules([]),
    clock: new ManualClock(1_000_000),
    offsetSeed: 0,
    fetch: () =>
      Promise.resolve(
        new Response(new Uint8Array([0x10, 0x0a, 0x01]), { headers: { "Content-Type": PROTO_CT } }),
      ),
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("up")), 0);
  assert(
    loop.status().lastError.startsWith("byte 0: metric family of 16 bytes"),
    loop.status().lastError,
  );
});

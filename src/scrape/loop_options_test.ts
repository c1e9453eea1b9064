/**
 * Scrape options in the loop, one table per option, with a fake fetch:
 * Content-Type handling and fallback, Accept and Accept-Encoding,
 * body_size_limit, label limits (UTF-8 bytes), the metric name requirement,
 * track_timestamps_staleness, a forced error (target_limit), end-of-run
 * staleness timing with the ManualClock, and the offset's stability.
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapeLoop, type ScrapeTarget, utf8Length } from "./loop.ts";
import { createPoolMetrics } from "./metrics.ts";
import { RecordingDb, scrapeConfig } from "./testutil.ts";

const TARGET: ScrapeTarget = {
  labels: Labels.fromObject({ job: "node", instance: "h:9100" }),
  discoveredLabels: Labels.fromObject({ __address__: "h:9100" }),
  scrapeUrl: "http://h:9100/metrics",
  intervalMs: 15_000,
  timeoutMs: 10_000,
};

type Reply = () => Response;
const text =
  (body: string, contentType: string | null = "text/plain; version=0.0.4"): Reply => () =>
    new Response(
      new TextEncoder().encode(body),
      contentType === null ? {} : { headers: { "Content-Type": contentType } },
    );

function setup(replies: Reply[], over: Partial<ResolvedScrapeConfig> = {}) {
  const db = new RecordingDb();
  const clock = new ManualClock(1_000_000);
  const seen: Request[] = [];
  const registry = new Registry();
  const cfg = scrapeConfig(over);
  let i = 0;
  const loop = new ScrapeLoop(TARGET, {
    config: cfg,
    appendable: db,
    metricRules: compileRules(cfg.metricRelabelConfigs),
    clock,
    offsetSeed: 7,
    fetch: (input, init) => {
      seen.push(new Request(input, init));
      return Promise.resolve(replies[Math.min(i++, replies.length - 1)]());
    },
    metrics: createPoolMetrics(registry, "node", () => 1),
  });
  const up = () => db.last().get(S("up"));
  return { db, clock, loop, seen, registry, up };
}

const S = (name: string, extra = "") => {
  const o: Record<string, string> = { __name__: name, instance: "h:9100", job: "node" };
  for (const m of extra.matchAll(/(\w+)="([^"]*)"/g)) o[m[1]] = m[2];
  return Labels.fromObject(o).toString();
};

Deno.test("Content-Type: a missing, invalid or foreign type fails the scrape unless a fallback is set", async (t) => {
  // [content type, fallback, want up, error includes]
  const table: [string | null, ResolvedScrapeConfig["fallbackScrapeProtocol"], number, string][] = [
    ["text/plain; version=0.0.4; charset=utf-8", "", 1, ""],
    ["text/plain; version=1.0.0; escaping=allow-utf-8", "", 1, ""],
    ["TEXT/PLAIN", "", 1, ""],
    [null, "", 0, "blank Content-Type and no fallback_scrape_protocol"],
    [null, "PrometheusText0.0.4", 1, ""],
    ["text/plain/x", "", 0, 'cannot parse Content-Type "text/plain/x"'],
    ["text/plain/x", "PrometheusText1.0.0", 1, ""],
    ["application/json", "", 0, 'received unsupported Content-Type "application/json"'],
    ["application/json", "PrometheusText0.0.4", 1, ""],
    // Text sent as protobuf: read as a length-delimited family ("a" = 97 bytes) that is not there.
    [
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily",
      "",
      0,
      "byte 0: metric family of 97 bytes runs past the end of the body",
    ],
  ];
  for (const [ct, fallback, wantUp, err] of table) {
    await t.step(`${JSON.stringify(ct)} fallback ${JSON.stringify(fallback)}`, async () => {
      const { db, loop, up } = setup([text("a 1\n", ct)], { fallbackScrapeProtocol: fallback });
      await loop.scrapeOnce(1_000_000);
      assertEquals(up(), wantUp);
      assertEquals(db.last().get(S("a")), wantUp === 1 ? 1 : undefined);
      if (err !== "") assert(loop.status().lastError.includes(err), loop.status().lastError);
    });
  }
});

Deno.test("Content-Type: an OpenMetrics response goes to the OpenMetrics parser", async () => {
  // Valid 0.0.4 text is not valid OpenMetrics (no `# EOF`): the same body
  // succeeds as text/plain and fails cleanly as OpenMetrics, whether or not
  // the OpenMetrics parser is there yet.
  const { loop, up, db } = setup([
    text("a 1\n", "text/plain"),
    text("a 1\n", "application/openmetrics-text; version=1.0.0; charset=utf-8"),
  ]);
  await loop.scrapeOnce(1_000_000);
  assertEquals(up(), 1);
  await loop.scrapeOnce(1_015_000);
  assertEquals(up(), 0);
  assertEquals(db.last().get(S("a")), "stale");
  assert(loop.status().lastError !== "");
});

Deno.test("Content-Type: a valid OpenMetrics body is scraped through the OpenMetrics parser", async () => {
  const { loop, up, db } = setup([
    text(
      "# TYPE a counter\na_total 3 1700000000.5\n# EOF\n",
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ),
  ]);
  await loop.scrapeOnce(1_000_000);
  assertEquals([up(), loop.status().lastError], [1, ""]);
  const rec = db.committed[0].find((r) => r.series === S("a_total"))!;
  assertEquals([rec.v, rec.t], [3, 1_700_000_000_500]); // OpenMetrics timestamps are seconds
});

Deno.test("request headers: Accept from scrape_protocols, Accept-Encoding from enable_compression", async (t) => {
  const table: [Partial<ResolvedScrapeConfig>, string, string][] = [
    [
      {},
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
      "application/openmetrics-text;version=0.0.1;q=0.5," +
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "gzip",
    ],
    [
      { scrapeProtocols: ["PrometheusText0.0.4"], enableCompression: false },
      "text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
      "identity",
    ],
  ];
  for (const [over, accept, encoding] of table) {
    await t.step(encoding, async () => {
      const { loop, seen } = setup([text("a 1\n")], over);
      await loop.scrapeOnce(1_000_000);
      assertEquals(seen[0].headers.get("accept"), accept);
      assertEquals(seen[0].headers.get("accept-encoding"), encoding);
      assertEquals(seen[0].headers.get("x-prometheus-scrape-timeout-seconds"), "10");
    });
  }
});

Deno.test("gzip: a body marked gzip is decoded here only when identity was asked for", async () => {
  const gz = new Uint8Array(
    await new Response(
      new Blob(["a 1\n"]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const gzReply: Reply = () =>
    new Response(gz, { headers: { "Content-Type": "text/plain", "Content-Encoding": "gzip" } });
  // With compression Deno's fetch has decoded already (this fake did not): decoding again
  // is what must not happen, so the raw bytes reach the parser and fail.
  const asked = setup([gzReply]);
  await asked.loop.scrapeOnce(1_000_000);
  assertEquals(asked.up(), 0);
  // Asked for identity, got gzip anyway: decoded, as Prometheus does.
  const identity = setup([gzReply], { enableCompression: false });
  await identity.loop.scrapeOnce(1_000_000);
  assertEquals(identity.up(), 1);
  assertEquals(identity.db.last().get(S("a")), 1);
});

Deno.test("body_size_limit: a body reaching the limit fails the scrape and is counted", async (t) => {
  const body = "a 1\nb 2\n"; // 8 bytes
  const table: [number, number][] = [[0, 1], [9, 1], [8, 0], [4, 0]];
  for (const [limit, wantUp] of table) {
    await t.step(`limit ${limit}`, async () => {
      const { loop, up, registry } = setup([text(body)], { bodySizeLimit: limit });
      await loop.scrapeOnce(1_000_000);
      assertEquals(up(), wantUp);
      const counted = /prometheus_target_scrapes_exceeded_body_size_limit_total (\d+)/.exec(
        registry.expose(),
      )![1];
      assertEquals(counted, wantUp === 1 ? "0" : "1");
      if (wantUp === 0) {
        assertEquals(loop.status().lastError, `body size limit exceeded (limit ${limit} bytes)`);
      }
    });
  }
});

Deno.test("utf8Length counts UTF-8 bytes", () => {
  const table: [string, number][] = [["", 0], ["abc", 3], ["é", 2], ["€", 3], ["😀", 4], [
    "aé€😀",
    10,
  ]];
  for (const [s, n] of table) {
    assertEquals(utf8Length(s), n);
    assertEquals(utf8Length(s), new TextEncoder().encode(s).length);
  }
});

Deno.test("label limits: counted after target labels, lengths in UTF-8 bytes, the scrape fails", async (t) => {
  // Each series of TARGET has job and instance="h:9100" too: a{x="éééé"} has 4
  // labels, the value éééé is 8 bytes (4 UTF-16 units), the name "__name__" 8 bytes.
  const body = 'a{x="éééé"} 1\n';
  const table: [Partial<ResolvedScrapeConfig>, number, string][] = [
    [{ labelLimit: 4 }, 1, ""],
    [
      { labelLimit: 3 },
      0,
      "label_limit exceeded (metric: a, number of labels: 4, limit: 3)",
    ],
    [{ labelValueLengthLimit: 8 }, 1, ""],
    [
      { labelValueLengthLimit: 7 },
      0,
      'label_value_length_limit exceeded (metric: a, label name: x, value: "éééé", length: 8, limit: 7)',
    ],
    [{ labelNameLengthLimit: 8 }, 1, ""],
    [
      { labelNameLengthLimit: 7 },
      0,
      "label_name_length_limit exceeded (metric: a, label name: __name__, length: 8, limit: 7)",
    ],
  ];
  for (const [over, wantUp, err] of table) {
    await t.step(JSON.stringify(over), async () => {
      const { loop, up, db, registry } = setup([text(body), text(body)], over);
      await loop.scrapeOnce(1_000_000);
      assertEquals(up(), wantUp);
      assertEquals(loop.status().lastError, err);
      assertEquals(db.last().has(S("a", 'x="éééé"')), wantUp === 1);
      const counted = /prometheus_target_scrape_pool_exceeded_label_limits_total (\d+)/.exec(
        registry.expose(),
      )![1];
      assertEquals(counted, wantUp === 1 ? "0" : "1");
      // The failure is not cached: the next scrape fails again.
      await loop.scrapeOnce(1_015_000);
      assertEquals(up(), wantUp);
    });
  }
  await t.step("the metric name counts as a value", async () => {
    const { loop, up } = setup([text("abcdefgh 1\n")], { labelValueLengthLimit: 7 });
    await loop.scrapeOnce(1_000_000);
    assertEquals(up(), 0);
    assert(loop.status().lastError.includes("label name: __name__"), loop.status().lastError);
  });
  await t.step("series dropped by relabeling are not checked", async () => {
    const { loop, up } = setup([text('a{x="éééé"} 1\nb 1\n')], {
      labelValueLengthLimit: 7,
      metricRelabelConfigs: [{
        sourceLabels: ["__name__"],
        separator: ";",
        regex: "a",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
        action: "drop",
      }],
    });
    await loop.scrapeOnce(1_000_000);
    assertEquals(up(), 1);
  });
});

Deno.test("a series left without a metric name by relabeling fails the scrape", async () => {
  const { loop, up } = setup([text("a 1\n")], {
    metricRelabelConfigs: [{
      sourceLabels: [],
      separator: ";",
      regex: "__name__",
      modulus: 0,
      targetLabel: "",
      replacement: "$1",
      action: "labeldrop",
    }],
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(up(), 0);
  assertEquals(loop.status().lastError, "missing metric name (__name__ label)");
});

Deno.test("track_timestamps_staleness: series with explicit timestamps get markers only when set", async (t) => {
  for (const track of [false, true]) {
    await t.step(String(track), async () => {
      const { db, loop, clock } = setup([text("a 1 1234\nb 2\n"), text("c 3\n")], {
        trackTimestampsStaleness: track,
      });
      await loop.scrapeOnce(1_000_000);
      await clock.advance(15_000);
      await loop.scrapeOnce(1_015_000);
      assertEquals(db.last().get(S("b")), "stale");
      assertEquals(db.last().get(S("a")), track ? "stale" : undefined);
      // The marker is stamped with the scrape's time, not the sample's.
      if (track) {
        assertEquals(db.last().get(S("a")), "stale");
        const rec = db.committed.at(-1)!.find((r) => r.series === S("a"))!;
        assertEquals(rec.t, 1_015_000);
      }
    });
  }
});

Deno.test("a forced error (target_limit) fails scrapes without fetching; lifting it resumes", async () => {
  const { db, loop, seen, up } = setup([text("a 1\n")]);
  await loop.scrapeOnce(1_000_000);
  assertEquals(seen.length, 1);
  loop.setForcedError(new Error("target_limit exceeded (number of targets: 3, limit: 2)"));
  await loop.scrapeOnce(1_015_000);
  assertEquals(seen.length, 1, "the target was not contacted");
  assertEquals(up(), 0);
  assertEquals(db.last().get(S("a")), "stale");
  assertEquals(
    loop.status().lastError,
    "target_limit exceeded (number of targets: 3, limit: 2)",
  );
  loop.setForcedError(null);
  await loop.scrapeOnce(1_030_000);
  assertEquals(seen.length, 2);
  assertEquals(up(), 1);
});

Deno.test("end-of-run staleness: markers after the next tick, one interval and 10%, stamped at the next tick", async () => {
  const { db, loop, clock } = setup([text("a 1\n")]);
  await loop.scrapeOnce(1_000_000);
  const before = db.committed.length;
  const ac = new AbortController();
  const now = clock.now();
  const tick = loop.nextScheduled(now);
  assert(tick > now && tick <= now + 15_000);
  const done = loop.endOfRunStaleness(ac.signal);
  await clock.advance(tick - now + 15_000); // next tick and one more interval
  assertEquals(db.committed.length, before, "nothing before the extra 10%");
  await clock.advance(1_499);
  assertEquals(db.committed.length, before);
  await clock.advance(1);
  assertEquals(await done, true);
  const markers = db.committed.at(-1)!;
  assertEquals(
    markers.map((r) => [r.series, r.v, r.t]).sort(),
    [
      [S("a"), "stale", tick],
      [S("scrape_duration_seconds"), "stale", tick],
      [S("scrape_samples_post_metric_relabeling"), "stale", tick],
      [S("scrape_samples_scraped"), "stale", tick],
      [S("scrape_series_added"), "stale", tick],
      [S("up"), "stale", tick],
    ].sort(),
  );
});

Deno.test("end-of-run staleness: nothing when aborted in the grace, or when never scraped", async () => {
  const { db, loop, clock } = setup([text("a 1\n")]);
  const never = new AbortController();
  assertEquals(await loop.endOfRunStaleness(never.signal), false, "never scraped");
  await loop.scrapeOnce(1_000_000);
  const before = db.committed.length;
  const ac = new AbortController();
  const tick = loop.nextScheduled(clock.now());
  const done = loop.endOfRunStaleness(ac.signal);
  await clock.advance(tick - clock.now() + 15_000);
  ac.abort();
  assertEquals(await done, false);
  await clock.advance(60_000);
  assertEquals(db.committed.length, before);
});

Deno.test("the offset is a pure function of target and seed (restarts keep the schedule)", () => {
  const mk = (seed: number, target = TARGET) =>
    new ScrapeLoop(target, {
      config: scrapeConfig(),
      appendable: new RecordingDb(),
      metricRules: compileRules([]),
      clock: new ManualClock(0),
      offsetSeed: seed,
    }).offsetMs();
  // Fixed values: a hash that changed between runs or versions would move every schedule.
  assertEquals(mk(0), 11_086);
  assertEquals(mk(0x9e3779b9), 3_239);
  const other = { ...TARGET, scrapeUrl: "http://h:9101/metrics" };
  assert(mk(0, other) !== mk(0));
  // Spread: 200 targets cover the interval roughly uniformly.
  const offsets = Array.from({ length: 200 }, (_, i) =>
    mk(0, {
      ...TARGET,
      labels: Labels.fromObject({ job: "node", instance: `h${i}:9100` }),
      scrapeUrl: `http://h${i}:9100/metrics`,
    }));
  const quarters = [0, 0, 0, 0];
  for (const o of offsets) quarters[Math.floor(o / 3750)]++;
  assert(quarters.every((q) => q > 25), String(quarters));
});

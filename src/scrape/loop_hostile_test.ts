/**
 * What a scrape does with hostile input that does not fail it (duplicates,
 * timestamps out of order or beyond what storage holds: left out, counted)
 * and with input that does (more labels than label_limit, found before the
 * labels are built), and how it words the errors fetch hides in `cause`.
 */

import { assert, assertEquals } from "../testing/assert.ts";
import type { ResolvedScrapeConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { ManualClock } from "../util/clock.ts";
import { MAX_TIMESTAMP as WAL_MAX_TIMESTAMP } from "../storage/wal/format.ts";
import { errorMessage, MAX_TIMESTAMP, ScrapeLoop, type ScrapeTarget } from "./loop.ts";
import type { DroppedSampleReason, ScrapeMetrics } from "./metrics.ts";
import { RecordingDb, scrapeConfig } from "./testutil.ts";

const TARGET: ScrapeTarget = {
  labels: Labels.fromObject({ job: "node", instance: "h:9100" }),
  discoveredLabels: Labels.fromObject({ __address__: "h:9100" }),
  scrapeUrl: "http://h:9100/metrics",
  intervalMs: 15_000,
  timeoutMs: 10_000,
};

const TEXT = "text/plain; version=0.0.4";
const OM = "application/openmetrics-text; version=1.0.0";

/** A loop whose fetch answers each call with the next body (or error); counts what it reports. */
function setup(
  bodies: (string | Error)[],
  over: Partial<ResolvedScrapeConfig> = {},
  contentType = TEXT,
) {
  const db = new RecordingDb();
  const dropped: Record<DroppedSampleReason, number> = {
    duplicate: 0,
    out_of_order: 0,
    out_of_bounds: 0,
  };
  let labelLimits = 0;
  const metrics: ScrapeMetrics = {
    scraped() {},
    sampleLimitExceeded() {},
    bodySizeLimitExceeded() {},
    labelLimitsExceeded: () => labelLimits++,
    samplesDropped: (reason, n) => dropped[reason] += n,
  };
  let i = 0;
  const cfg = scrapeConfig({ scrapeIntervalMs: 15_000, scrapeTimeoutMs: 10_000, ...over });
  const loop = new ScrapeLoop(TARGET, {
    config: cfg,
    appendable: db,
    metricRules: compileRules(cfg.metricRelabelConfigs),
    clock: new ManualClock(1_000_000),
    offsetSeed: 0,
    metrics,
    fetch: () => {
      const b = bodies[Math.min(i++, bodies.length - 1)];
      if (b instanceof Error) return Promise.reject(b);
      return Promise.resolve(new Response(b, { headers: { "Content-Type": contentType } }));
    },
  });
  return { db, loop, dropped, labelLimits: () => labelLimits };
}

const S = (name: string, extra: Record<string, string> = {}) =>
  Labels.fromObject({ __name__: name, instance: "h:9100", job: "node", ...extra }).toString();

/** The committed samples of `series` in commit `i`, as [t, v]. */
const samples = (db: RecordingDb, i: number, series: string) =>
  db.committed[i].filter((r) => r.series === series).map((r) => [r.t, r.v]);

Deno.test("duplicates: the first sample of a series repeated in a scrape is kept, the rest counted", async () => {
  const { db, loop, dropped } = setup(["a 1\na 2\nb 3\na 4\n"]);
  await loop.scrapeOnce(1_000_000);
  assertEquals(samples(db, 0, S("a")), [[1_000_000, 1]]);
  assertEquals(db.last().get(S("up")), 1);
  assertEquals(dropped.duplicate, 2);
  // As Prometheus: duplicates count as exposed after relabeling.
  assertEquals(db.last().get(S("scrape_samples_post_metric_relabeling")), 4);
  assertEquals(db.last().get(S("scrape_samples_scraped")), 4);
});

Deno.test("duplicates with their own timestamps: each newer one is kept, a repeated one is not", async () => {
  const { db, loop, dropped } = setup(["a 1 1000\na 2 2000\na 3 2000\n"]);
  await loop.scrapeOnce(1_000_000);
  assertEquals(samples(db, 0, S("a")), [[1000, 1], [2000, 2]]);
  assertEquals(dropped.out_of_order, 1);
});

Deno.test("out of order, as Prometheus Agent: a timestamp not after the series' last is left out", async () => {
  const { db, loop, dropped } = setup([
    "old 1 1000\nnow 2\n",
    "old 1 1000\nnow 2\n", // the same old timestamp: not sent again
    "old 5 500\nnow 2\n", // older still
    "old 6 1001\nnow 2\n", // newer: sent
  ]);
  for (let i = 0; i < 4; i++) await loop.scrapeOnce(1_000_000 + i * 15_000);
  assertEquals(db.committed.map((_, i) => samples(db, i, S("old"))), [
    [[1000, 1]],
    [],
    [],
    [[1001, 6]],
  ]);
  assertEquals(dropped.out_of_order, 2);
  assert(db.committed.every((_, i) => samples(db, i, S("now")).length === 1));
  assert(db.committed.every((c) => c.find((r) => r.series === S("up"))?.v === 1));
});

Deno.test("out of order: a sample whose commit failed is sent with the next scrape", async () => {
  const { db, loop } = setup(["a 1 1000\n"]);
  db.failCommit = true;
  await loop.scrapeOnce(1_000_000);
  db.failCommit = false;
  await loop.scrapeOnce(1_015_000);
  assertEquals(samples(db, 0, S("a")), [[1000, 1]]);
});

Deno.test("timestamps beyond what storage holds are left out and counted; the scrape succeeds", async () => {
  assertEquals(MAX_TIMESTAMP, WAL_MAX_TIMESTAMP);
  const { db, loop, dropped } = setup([
    `huge 1 9223372036854775807\nedge 2 ${MAX_TIMESTAMP}\npast 3 1\nnow 4\n`,
  ]);
  await loop.scrapeOnce(1_000_000);
  const got = db.last();
  assertEquals(got.has(S("huge")), false);
  assertEquals(samples(db, 0, S("edge")), [[MAX_TIMESTAMP, 2]]);
  assertEquals(samples(db, 0, S("past")), [[1, 3]]);
  assertEquals(got.get(S("up")), 1);
  assertEquals(dropped.out_of_bounds, 1);
});

Deno.test("an exemplar with a timestamp beyond what storage holds is dropped, its sample kept", async () => {
  const { db, loop } = setup(
    ['# TYPE c counter\nc_total 1 # {t="1"} 1 100000000000000\nc_total{k="v"} 2 # {t="2"} 1 5\n# EOF\n'],
    {},
    OM,
  );
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("c_total")), 1);
  assertEquals(db.exemplars[0].map((x) => [x.series, x.e.ts]), [[S("c_total", { k: "v" }), 5000]]);
});

Deno.test("label_limit: a series with 200,000 labels fails, the count exact", async () => {
  const many = Array.from({ length: 200_000 }, (_, i) => `l${i}="x"`).join(",");
  const { db, loop, labelLimits } = setup([`ok 1\nm{${many}} 1\n`], { labelLimit: 10 });
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("up")), 0);
  assertEquals(db.last().has(S("ok")), false);
  // 200,000 exposed, the name, and the two target labels.
  assertEquals(
    loop.status().lastError,
    "label_limit exceeded (metric: m, number of labels: 200003, limit: 10)",
  );
  assertEquals(labelLimits(), 1);
});

Deno.test("label_limit with honor_labels: the count is a lower bound, and says so", async () => {
  const many = Array.from({ length: 50 }, (_, i) => `l${i}="x"`).join(",");
  const { loop } = setup([`m{${many}} 1\n`], { labelLimit: 10, honorLabels: true });
  await loop.scrapeOnce(1_000_000);
  assertEquals(
    loop.status().lastError,
    "label_limit exceeded (metric: m, number of labels: at least 51, limit: 10)",
  );
});

Deno.test("label_limit: with metric relabeling the limit applies to the relabeled series", async () => {
  const many = Array.from({ length: 50 }, (_, i) => `l${i}="x"`).join(",");
  const { db, loop } = setup([`m{${many}} 1\n`], {
    labelLimit: 5,
    metricRelabelConfigs: [{
      sourceLabels: [],
      separator: ";",
      regex: "l[0-9]+",
      modulus: 0,
      targetLabel: "",
      replacement: "$1",
      action: "labeldrop",
    }],
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("m")), 1);
  assertEquals(loop.status().lastError, "");
});

Deno.test("label_value_length_limit: a 20 MB label value fails the scrape with its clipped start", async () => {
  const { db, loop } = setup([`big{v="${"é".repeat(10_000_000)}"} 1\n`], {
    labelValueLengthLimit: 100,
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("up")), 0);
  assertEquals(
    loop.status().lastError,
    `label_value_length_limit exceeded (metric: big, label name: v, value: "${
      "é".repeat(50)
    }", length: 20000000, limit: 100)`,
  );
});

Deno.test("sample_limit: series past the limit are counted, and still meet the label limits", async () => {
  const { loop } = setup(['a 1\nb 2\nc{x="1",y="2",z="3"} 3\n'], {
    sampleLimit: 1,
    labelLimit: 4,
  });
  await loop.scrapeOnce(1_000_000);
  assert(loop.status().lastError.startsWith("label_limit exceeded (metric: c"));
  const counted = setup(["a 1\nb 2\nb 2\nc 3\n"], { sampleLimit: 1 });
  await counted.loop.scrapeOnce(1_000_000);
  assertEquals(counted.loop.status().lastError, "sample limit exceeded (limit 1)");
  assertEquals(counted.db.last().get(S("scrape_samples_post_metric_relabeling")), 4);
});

Deno.test("Content-Type: as Prometheus, a body past body_size_limit fails on the limit first", async () => {
  const { loop } = setup(["x".repeat(1000)], { bodySizeLimit: 100 }, "text/html");
  await loop.scrapeOnce(1_000_000);
  assertEquals(loop.status().lastError, "body size limit exceeded (limit 100 bytes)");
  const small = setup(["a 1\n"], { bodySizeLimit: 100 }, "text/html");
  await small.loop.scrapeOnce(1_000_000);
  assert(small.loop.status().lastError.startsWith('received unsupported Content-Type "text/html"'));
});

Deno.test("errorMessage: the reason fetch keeps in `cause` is shown, not 'fetch failed'", async (t) => {
  await t.step("TLS", () => {
    const e = new TypeError("fetch failed", {
      cause: new Error("client error (Connect): invalid peer certificate: UnknownIssuer"),
    });
    assertEquals(
      errorMessage(e, 10_000),
      "client error (Connect): invalid peer certificate: UnknownIssuer",
    );
  });
  await t.step("nested causes, each once", () => {
    const inner = new Error("connection refused");
    const e = new Error("request failed", { cause: new Error("connect", { cause: inner }) });
    assertEquals(errorMessage(e, 10_000), "request failed: connect: connection refused");
  });
  await t.step("a timeout", () => {
    assertEquals(
      errorMessage(new DOMException("x", "TimeoutError"), 1500),
      "scrape timed out after 1s500ms",
    );
  });
  await t.step("through a scrape", async () => {
    const { loop } = setup([
      new TypeError("fetch failed", { cause: new Error("invalid peer certificate: Expired") }),
    ]);
    await loop.scrapeOnce(1_000_000);
    assertEquals(loop.status().lastError, "invalid peer certificate: Expired");
  });
});

Deno.test("an empty label name made by metric relabeling fails the scrape, as Prometheus", async () => {
  const { db, loop } = setup(['a{x="1"} 1\n'], {
    metricRelabelConfigs: [{
      sourceLabels: [],
      separator: ";",
      regex: ".*",
      modulus: 0,
      targetLabel: "",
      replacement: "$1",
      action: "labelmap",
    }],
  });
  await loop.scrapeOnce(1_000_000);
  assertEquals(db.last().get(S("up")), 0);
  assert(loop.status().lastError.includes("empty label name"), loop.status().lastError);
});

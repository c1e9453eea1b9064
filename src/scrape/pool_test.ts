import { assertEquals } from "../testing/assert.ts";
import type { ResolvedScrapeConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapePool } from "./pool.ts";
import { RecordingDb } from "./testutil.ts";

const CFG: ResolvedScrapeConfig = {
  jobName: "j",
  scrapeIntervalMs: 1000,
  scrapeTimeoutMs: 1000,
  metricsPath: "/metrics",
  scheme: "http",
  params: {},
  honorLabels: false,
  honorTimestamps: true,
  sampleLimit: 0,
  staticConfigs: [],
  relabelConfigs: [],
  metricRelabelConfigs: [],
  followRedirects: true,
} as unknown as ResolvedScrapeConfig;

Deno.test("pool: unchanged targets keep their loop; removed ones get staleness markers", async () => {
  const db = new RecordingDb();
  const clock = new ManualClock(10_000);
  const fetched: string[] = [];
  const pool = new ScrapePool(CFG, {
    appendable: db,
    clock,
    registry: new Registry(),
    offsetSeed: 0,
    userAgent: "t",
    fetch: (input) => {
      fetched.push(String(input));
      return Promise.resolve(new Response("m 1\n", { headers: { "Content-Type": "text/plain" } }));
    },
  });
  const group = (...addrs: string[]) => [{
    source: "s",
    targets: addrs.map((a) => ({ __address__: a })),
    labels: {},
  }];
  pool.sync(group("a:1", "b:2"));
  const loopA = pool.loops().find((l) => l.target.scrapeUrl.includes("a:1"))!;
  await clock.advance(2000);
  assertEquals(new Set(fetched).size, 2);

  pool.sync(group("a:1"));
  assertEquals(pool.loops().length, 1);
  assertEquals(pool.loops()[0], loopA, "the unchanged target's loop kept running");
  await pool.stop({ stale: false }); // waits for the removed target's markers
  const stale = db.committed.flat().filter((r) => r.v === "stale").map((r) => r.series);
  assertEquals(stale.includes('{__name__="m", instance="b:2", job="j"}'), true);
  assertEquals(stale.some((s) => s.includes('instance="a:1"')), false, "no markers on shutdown");
});

/**
 * A reload that changes a job's config: the new pool's loop of a target that
 * stays inherits the old loop's last scrape, so series that continue get no
 * staleness marker (and no duplicate sample), series the new config no
 * longer produces get exactly one, and a target that vanished gets markers
 * for every series after the grace.
 */

import type { ResolvedRelabelConfig, ResolvedScrapeConfig } from "../config/types.ts";
import { createDiscoverers } from "../discovery/mod.ts";
import { Labels } from "../model/labels.ts";
import { Registry } from "../metrics/registry.ts";
import { compileRules } from "../relabel/relabel.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapeLoop, type ScrapeTarget } from "./loop.ts";
import { ScrapeManager } from "./manager.ts";
import { type Rec, RecordingDb, scrapeConfig } from "./testutil.ts";

const INTERVAL = 10_000;

const DROP_GONE: ResolvedRelabelConfig = {
  sourceLabels: ["__name__"],
  separator: ";",
  regex: "gone",
  modulus: 0,
  targetLabel: "",
  replacement: "$1",
  action: "drop",
};

const job = (targets: string[], over: Partial<ResolvedScrapeConfig> = {}) =>
  scrapeConfig({
    jobName: "j",
    scrapeIntervalMs: INTERVAL,
    scrapeTimeoutMs: 5_000,
    staticConfigs: [{ targets, labels: {} }],
    ...over,
  });

/** A manager on a ManualClock whose targets serve `bodies[host]` (a status code: that error). */
function setup() {
  const db = new RecordingDb();
  const clock = new ManualClock(1_000_000);
  const registry = new Registry();
  const bodies: Record<string, string | number> = {};
  const fetchFn: typeof fetch = (input) => {
    const body = bodies[new URL(String(input)).host] ?? "m 1\ngone 1\n";
    return Promise.resolve(
      typeof body === "number"
        ? new Response("no", { status: body })
        : new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
    );
  };
  const sm = new ScrapeManager(
    { appendable: db, clock, registry, offsetSeed: 1, userAgent: "t", fetch: fetchFn },
    { discoverers: (cfg) => createDiscoverers(cfg, { registry, clock }) },
  );
  const all = () => db.committed.flat();
  const stale = (host: string) =>
    all().filter((r) => r.v === "stale" && r.series.includes(`instance="${host}"`))
      .map((r) => r.series);
  const series = (name: string, host: string) =>
    Labels.fromObject({ __name__: name, instance: host, job: "j" }).toString();
  const times = (name: string, host: string) =>
    all().filter((r) => r.series === series(name, host) && r.v !== "stale").map((r) => r.t);
  return { db, clock, sm, bodies, all, stale, series, times };
}

/** Every (series, timestamp) is committed once. */
function assertNoDuplicates(recs: Rec[]): void {
  const seen = new Set<string>();
  for (const r of recs) {
    const k = `${r.series} ${r.t}`;
    assert(!seen.has(k), `committed twice: ${k} (${r.v})`);
    seen.add(k);
  }
}

Deno.test("reload: changed metric relabeling marks exactly the dropped series stale, once", async () => {
  const { clock, sm, all, stale, series, times } = setup();
  sm.start([job(["a:1"])]);
  try {
    await clock.advance(0);
    await clock.advance(2 * INTERVAL);
    const before = times("m", "a:1");
    assert(before.length >= 2, "scraped before the reload");

    const r = await sm.apply([job(["a:1"], { metricRelabelConfigs: [DROP_GONE] })]);
    assertEquals(r.changed, ["j"]);
    await clock.advance(0); // the new pool's first sync
    for (let i = 0; i < 6; i++) await clock.advance(INTERVAL);

    assertEquals(stale("a:1"), [series("gone", "a:1")], "only the dropped series, once");
    const marker = all().find((x) => x.v === "stale")!;
    const after = times("m", "a:1").filter((t) => t > before.at(-1)!);
    assertEquals(marker.t, after[0], "marked at the new loop's first scrape");
    assertEquals(times("gone", "a:1").filter((t) => t > before.at(-1)!), [], "no longer scraped");
    // m continues on its schedule: no gap, no sample twice.
    const ts = times("m", "a:1");
    for (let i = 1; i < ts.length; i++) assertEquals(ts[i] - ts[i - 1], INTERVAL);
    assertNoDuplicates(all());
    // The new loop's first scrape adds no series: it continued the old loop's.
    const added = all().filter((x) =>
      x.series === series("scrape_series_added", "a:1") && x.t === marker.t
    );
    assertEquals(added.map((x) => x.v), [0]);
  } finally {
    await sm.stop();
  }
});

Deno.test("reload: a target the changed job no longer has is marked stale after the grace", async () => {
  const { clock, sm, all, stale, series } = setup();
  sm.start([job(["a:1", "b:2"])]);
  try {
    await clock.advance(0);
    await clock.advance(2 * INTERVAL);
    await sm.apply([job(["a:1"], { scrapeTimeoutMs: 4_000 })]);
    await clock.advance(INTERVAL);
    assertEquals(stale("b:2"), [], "not within the grace");
    for (let i = 0; i < 5; i++) await clock.advance(INTERVAL);
    const b = stale("b:2");
    for (const name of ["m", "gone", "up", "scrape_duration_seconds", "scrape_series_added"]) {
      assert(b.includes(series(name, "b:2")), `${name} of b marked stale: ${b.join(" ")}`);
    }
    assertEquals(new Set(b).size, b.length, "each once");
    assertEquals(stale("a:1"), [], "the target that stayed: no markers");
    assertNoDuplicates(all());
  } finally {
    await sm.stop();
  }
});

Deno.test("reload: a changed interval continues the series, no markers", async () => {
  const { clock, sm, all, stale, times } = setup();
  sm.start([job(["a:1"])]);
  try {
    await clock.advance(0);
    await clock.advance(2 * INTERVAL);
    const n = times("m", "a:1").length;
    await sm.apply([job(["a:1"], { scrapeIntervalMs: 2 * INTERVAL })]);
    for (let i = 0; i < 8; i++) await clock.advance(INTERVAL);
    const ts = times("m", "a:1");
    assert(ts.length > n, "scraped by the new loop");
    assertEquals(ts.at(-1)! - ts.at(-2)!, 2 * INTERVAL, "on the new interval");
    assertEquals(stale("a:1"), []);
    assertNoDuplicates(all());
  } finally {
    await sm.stop();
  }
});

Deno.test("reload: when the new loop's first scrape fails, every inherited series goes stale", async () => {
  const { clock, sm, bodies, stale, series } = setup();
  sm.start([job(["a:1"])]);
  try {
    await clock.advance(0);
    await clock.advance(2 * INTERVAL);
    bodies["a:1"] = 500;
    await sm.apply([job(["a:1"], { scrapeTimeoutMs: 4_000 })]);
    for (let i = 0; i < 3; i++) await clock.advance(INTERVAL);
    assertEquals(stale("a:1").sort(), [series("gone", "a:1"), series("m", "a:1")]);
  } finally {
    await sm.stop();
  }
});

Deno.test("reload: the job removed again before the new loop scraped marks the inherited series", async () => {
  const { clock, sm, stale, series } = setup();
  sm.start([job(["a:1"])]);
  try {
    await clock.advance(0);
    await clock.advance(2 * INTERVAL);
    await sm.apply([job(["a:1"], { scrapeTimeoutMs: 4_000 })]);
    await clock.advance(0);
    await sm.apply([]);
    for (let i = 0; i < 4; i++) await clock.advance(INTERVAL);
    const a = stale("a:1");
    for (const name of ["m", "gone", "up"]) {
      assertEquals(a.filter((s) => s === series(name, "a:1")).length, 1, `${name}: ${a}`);
    }
  } finally {
    await sm.stop();
  }
});

Deno.test("reload twice before the new loop scraped: the series still continue, the dropped one is marked", async () => {
  const { clock, sm, all, stale, series } = setup();
  sm.start([job(["a:1"])]);
  try {
    await clock.advance(0);
    await clock.advance(2 * INTERVAL);
    await sm.apply([job(["a:1"], { scrapeTimeoutMs: 4_000 })]);
    await clock.advance(0);
    await sm.apply([job(["a:1"], { scrapeTimeoutMs: 3_000, metricRelabelConfigs: [DROP_GONE] })]);
    await clock.advance(0);
    for (let i = 0; i < 6; i++) await clock.advance(INTERVAL);
    assertEquals(stale("a:1"), [series("gone", "a:1")]);
    assertNoDuplicates(all());
  } finally {
    await sm.stop();
  }
});

Deno.test("loop: inheritFrom continues the predecessor's series by final labels", async () => {
  const db = new RecordingDb();
  const clock = new ManualClock(1_000_000);
  const target: ScrapeTarget = {
    labels: Labels.fromObject({ job: "j", instance: "h:1" }),
    discoveredLabels: Labels.fromObject({ __address__: "h:1" }),
    scrapeUrl: "http://h:1/metrics",
    intervalMs: INTERVAL,
    timeoutMs: INTERVAL,
  };
  const mk = (body: string, rules: ResolvedRelabelConfig[] = []) => {
    const cfg = scrapeConfig({ jobName: "j", metricRelabelConfigs: rules });
    return new ScrapeLoop(target, {
      config: cfg,
      appendable: db,
      metricRules: compileRules(rules),
      clock,
      offsetSeed: 0,
      fetch: () =>
        Promise.resolve(
          new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
        ),
    });
  };
  const S = (name: string) => Labels.fromObject({ __name__: name, instance: "h:1", job: "j" });
  const old = mk("m 1\ngone 1\n# a series written differently with the same final labels\nx 1\n");
  await old.scrapeOnce(1_000_000);
  // The successor drops `gone` and exposes `x` with a label the relabeling removes.
  const next = mk('m 2\nx{tmp="1"} 2\n', [DROP_GONE, {
    sourceLabels: [],
    separator: ";",
    regex: "tmp",
    modulus: 0,
    targetLabel: "",
    replacement: "$1",
    action: "labeldrop",
  }]);
  next.inheritFrom(old);
  assertEquals(next.status().health, "up", "status carried over");
  await next.scrapeOnce(1_010_000);
  const last = db.lastRecs();
  assertEquals(last.get(S("gone").toString())?.v, "stale");
  assertEquals(last.get(S("m").toString())?.v, 2);
  assertEquals(last.get(S("x").toString())?.v, 2);
  assertEquals(
    db.committed.at(-1)!.filter((r) => r.v === "stale").map((r) => r.series),
    [S("gone").toString()],
  );
  // Settled: the next scrape marks nothing more.
  await next.scrapeOnce(1_020_000);
  assertEquals(db.committed.at(-1)!.filter((r) => r.v === "stale"), []);
});

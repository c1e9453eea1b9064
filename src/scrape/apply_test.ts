/**
 * ScrapeManager.apply (config reload): unchanged jobs keep their pool and
 * loops, a changed job's targets that stay get no staleness markers, a removed
 * job's targets get them after the grace.
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import type { Labels } from "../model/labels.ts";
import { Registry } from "../metrics/registry.ts";
import type { Appendable, Appender } from "../storage/types.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { ManualClock } from "../util/clock.ts";
import { createDiscoverers } from "../discovery/mod.ts";
import { ScrapeManager } from "./manager.ts";
import { scrapeConfig } from "./testutil.ts";

class StaleRecorder implements Appendable {
  stale: string[] = [];
  appender(): Appender {
    const pending: string[] = [];
    let ref = 0;
    return {
      append: () => ++ref,
      appendWithStart: () => ++ref,
      appendHistogram: () => ++ref,
      appendExemplar: (r: number) => r,
      updateMetadata: (r: number) => r,
      appendStale: (_r: number, l: Labels) => {
        pending.push(l.toString());
        return ++ref;
      },
      commit: () => {
        this.stale.push(...pending);
        return Promise.resolve();
      },
      rollback: () => {
        pending.length = 0;
      },
    };
  }
}

const job = (name: string, target: string, extra: Partial<ResolvedScrapeConfig> = {}) =>
  scrapeConfig({
    jobName: name,
    scrapeIntervalMs: 10_000,
    scrapeTimeoutMs: 5_000,
    staticConfigs: [{ targets: [target], labels: {} }],
    ...extra,
  });

Deno.test("scrape manager apply: kept, changed, added and removed jobs", async () => {
  const clock = new ManualClock(1_000_000);
  const db = new StaleRecorder();
  const registry = new Registry();
  const fetchFn: typeof fetch = () =>
    Promise.resolve(
      new Response("m 1\n", { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
    );
  const sm = new ScrapeManager(
    { appendable: db, clock, registry, offsetSeed: 1, userAgent: "t", fetch: fetchFn },
    { discoverers: (cfg) => createDiscoverers(cfg, { registry, clock }) },
  );
  sm.start([job("a", "a:1"), job("b", "b:1"), job("gone", "g:1")]);
  try {
    await clock.advance(0);
    await clock.advance(20_000);
    const [poolA, poolB] = sm.pools();
    const loopA = poolA.loops()[0];
    assert(loopA, "a runs");
    assertEquals(db.stale, []);

    const result = await sm.apply([
      job("a", "a:1"),
      job("b", "b:1", { scrapeTimeoutMs: 4_000 }),
      job("new", "n:1"),
    ]);
    assertEquals(result, { kept: ["a"], changed: ["b"], added: ["new"], removed: ["gone"] });
    const pools = sm.pools();
    assertEquals(pools.map((p) => p.config.jobName), ["a", "b", "new"]);
    assert(pools[0] === poolA && pools[0].loops()[0] === loopA, "a untouched");
    assert(pools[1] !== poolB, "b has a new pool");

    // Well past the grace: only the removed job's series are stale.
    for (let i = 0; i < 6; i++) await clock.advance(10_000);
    assert(pools[1].loops().length === 1, "b's target scraped by the new pool");
    const stale: string[] = db.stale;
    assert(stale.length > 0, "the removed job's series were marked stale");
    assert(stale.every((s) => s.includes('job="gone"')), stale.join("\n"));
  } finally {
    await sm.stop();
  }
});

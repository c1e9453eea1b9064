/**
 * The scrape manager fed by the discovery manager: target-set changes start
 * and stop only the loops of targets that changed; a flap within the update
 * interval never reaches the pool.
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import type { Discoverer, DiscoveryResult, TargetGroup } from "../discovery/types.ts";
import { Registry } from "../metrics/registry.ts";
import type { Labels } from "../model/labels.ts";
import type { Appendable, Appender } from "../storage/types.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapeManager } from "./manager.ts";
import { ScrapePool } from "./pool.ts";
import { scrapeConfig } from "./testutil.ts";

class Fake implements Discoverer {
  #update: ((g: TargetGroup[]) => void) | null = null;
  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    this.#update = update;
    return new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }));
  }
  discoverOnce(): Promise<DiscoveryResult> {
    return Promise.resolve({ groups: [], errors: [] });
  }
  emit(...addrs: string[]): void {
    this.#update!([{
      source: "s",
      targets: addrs.map((a) => ({ __address__: a })),
      labels: {},
    }]);
  }
}

/** Records committed stale markers by series. */
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

const CONFIG: ResolvedScrapeConfig = scrapeConfig({
  jobName: "j",
  scrapeIntervalMs: 10_000,
  scrapeTimeoutMs: 5_000,
});

Deno.test("scrape manager + discovery: only changed targets start or stop; a flap is never seen", async () => {
  const clock = new ManualClock(1_000_000);
  const fake = new Fake();
  const db = new StaleRecorder();
  const scraped: string[] = [];
  const fetchFn: typeof fetch = (input) => {
    scraped.push(String(input instanceof Request ? input.url : input));
    return Promise.resolve(
      new Response("m 1\n", { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
    );
  };
  const sm = new ScrapeManager(
    {
      appendable: db,
      clock,
      registry: new Registry(),
      offsetSeed: 1,
      userAgent: "t",
      fetch: fetchFn,
    },
    { discoverers: () => [{ name: "fake", discoverer: fake }] },
  );
  sm.start([CONFIG]);
  const pool = sm.pools()[0];
  const loopOf = (addr: string) =>
    pool.loops().find((l) => l.target.scrapeUrl === `http://${addr}/metrics`);
  try {
    fake.emit("a:1");
    await clock.advance(0);
    const a = loopOf("a:1");
    assert(a, "a's loop started");
    await clock.advance(10_000); // a scrapes at least once
    assert(scraped.some((u) => u.includes("a:1")));

    // b added: a's loop is the same object, nothing stale.
    fake.emit("a:1", "b:2");
    await clock.advance(5_000);
    assertEquals(pool.loops().length, 2);
    assert(loopOf("a:1") === a, "a's loop kept running");
    assertEquals(db.stale.length, 0);

    // b flaps away and back within the interval: the pool never sees it go.
    await clock.advance(5_000);
    const b = loopOf("b:2");
    fake.emit("a:1");
    await clock.advance(1_000);
    fake.emit("a:1", "b:2");
    await clock.advance(5_000);
    assert(loopOf("b:2") === b, "b's loop survived the flap");
    assertEquals(db.stale.length, 0, "no false staleness markers");

    // a removed for good: its series (and only its) get staleness markers, after
    // Prometheus' grace (at most two intervals and 10% after the pool saw it go).
    await clock.advance(10_000);
    fake.emit("b:2");
    await clock.advance(5_000);
    assertEquals(pool.loops().length, 1);
    assert(loopOf("b:2") === b);
    await clock.advance(21_000);
    const stale: string[] = db.stale;
    assert(stale.length > 0, "a's series were marked stale");
    assert(stale.every((s) => s.includes('instance="a:1"')), stale.join("\n"));
  } finally {
    await sm.stop();
  }
});

Deno.test("pool: dropped targets are kept up to the job's keepDroppedTargets, and all are counted", async () => {
  const pool = new ScrapePool(
    {
      ...CONFIG,
      keepDroppedTargets: 3,
      relabelConfigs: [{
        sourceLabels: ["__address__"],
        separator: ";",
        regex: "drop-.*",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
        action: "drop",
      }],
    },
    {
      appendable: new StaleRecorder(),
      clock: new ManualClock(0),
      registry: new Registry(),
      offsetSeed: 1,
      userAgent: "t",
      fetch: () => Promise.reject(new Error("no scraping here")),
    },
  );
  pool.sync([{
    source: "s",
    targets: Array.from({ length: 10 }, (_, i) => ({ __address__: `drop-${i}:1` })),
    labels: {},
  }]);
  const d = pool.dropped();
  assertEquals(d.total, 10);
  assertEquals(d.targets.map((t) => t.discoveredLabels.get("__address__")), [
    "drop-0:1",
    "drop-1:1",
    "drop-2:1",
  ]);
  await pool.stop({ stale: false });
});

import { assert, assertEquals } from "../testing/assert.ts";
import type { ResolvedScrapeConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapePool } from "./pool.ts";
import { shardOf } from "./shard.ts";
import { type Rec, RecordingDb, scrapeConfig } from "./testutil.ts";

const INTERVAL = 10_000;

/** A pool of job "j" on a ManualClock; each target serves `bodies[address]` (default `m 1`). */
function setup(over: Partial<ResolvedScrapeConfig> = {}) {
  const db = new RecordingDb();
  const clock = new ManualClock(1_000_000);
  const registry = new Registry();
  const fetched: string[] = [];
  const bodies: Record<string, string> = {};
  const pool = new ScrapePool(
    scrapeConfig({
      jobName: "j",
      scrapeIntervalMs: INTERVAL,
      scrapeTimeoutMs: INTERVAL,
      ...over,
    }),
    {
      appendable: db,
      clock,
      registry,
      offsetSeed: 0,
      userAgent: "t",
      fetch: (input) => {
        const url = new URL(String(input));
        fetched.push(url.host);
        return Promise.resolve(
          new Response(bodies[url.host] ?? "m 1\n", { headers: { "Content-Type": "text/plain" } }),
        );
      },
    },
  );
  const sync = (...addrs: string[]) =>
    pool.sync([{ source: "s", targets: addrs.map((a) => ({ __address__: a })), labels: {} }]);
  const loopOf = (addr: string) => pool.loops().find((l) => l.target.scrapeUrl.includes(addr));
  const stale = (addr: string): Rec[] =>
    db.committed.flat().filter((r) => r.v === "stale" && r.series.includes(`instance="${addr}"`));
  return { db, clock, registry, pool, fetched, bodies, sync, loopOf, stale };
}

Deno.test("pool: unchanged targets keep their loop; a removed one is marked stale after the grace", async () => {
  const { clock, pool, fetched, sync, loopOf, stale } = setup();
  try {
    sync("a:1", "b:2");
    const loopA = loopOf("a:1")!;
    const loopB = loopOf("b:2")!;
    await clock.advance(INTERVAL);
    assertEquals(new Set(fetched), new Set(["a:1", "b:2"]));

    sync("a:1");
    assertEquals(pool.loops(), [loopA], "the unchanged target's loop kept running");
    assertEquals(pool.pendingStale(), 1);
    const removedAt = clock.now();
    const tick = loopB.nextScheduled(removedAt);
    // Until the next tick + one interval + 10%, nothing.
    await clock.advance(tick - removedAt + INTERVAL + INTERVAL / 10 - 1);
    assertEquals(stale("b:2"), [], "no markers within the grace");
    await clock.advance(1);
    const markers = stale("b:2");
    assert(markers.some((r) => r.series.startsWith('{__name__="m"')), "m is marked stale");
    assert(markers.some((r) => r.series.startsWith('{__name__="up"')), "up is marked stale");
    assert(markers.every((r) => r.t === tick), "stamped with the next scheduled scrape");
    assertEquals(stale("a:1"), []);
    assertEquals(pool.pendingStale(), 0);
  } finally {
    await pool.stop({ stale: false });
  }
});

Deno.test("pool: a target back within the grace gets no markers and resumes its loop", async () => {
  const { clock, pool, bodies, sync, loopOf, stale, fetched } = setup();
  try {
    bodies["b:2"] = "m 1\ngone 1\n";
    sync("a:1", "b:2");
    const loopB = loopOf("b:2")!;
    await clock.advance(INTERVAL);
    sync("a:1");
    await clock.advance(INTERVAL);
    // Back, and no longer exposing `gone`.
    bodies["b:2"] = "m 2\n";
    const before = fetched.filter((h) => h === "b:2").length;
    sync("a:1", "b:2");
    assertEquals(pool.pendingStale(), 0);
    assert(loopOf("b:2") === loopB, "the old loop resumed with its cache");
    await clock.advance(3 * INTERVAL);
    assert(fetched.filter((h) => h === "b:2").length > before, "b is scraped again");
    const markers = stale("b:2").map((r) => r.series);
    // The series b still exposes never went stale; the one it lost did, once.
    assertEquals(markers, ['{__name__="gone", instance="b:2", job="j"}']);
  } finally {
    await pool.stop({ stale: false });
  }
});

Deno.test("pool: shutdown writes no markers, pending ones included", async () => {
  const { clock, pool, sync, db } = setup();
  sync("a:1", "b:2");
  await clock.advance(INTERVAL);
  sync("a:1");
  assertEquals(pool.pendingStale(), 1);
  const stop = pool.stop({ stale: false });
  await clock.advance(0);
  await stop;
  await clock.advance(5 * INTERVAL);
  assertEquals(db.committed.flat().filter((r) => r.v === "stale"), []);
});

Deno.test("pool: stop with stale (job removed) marks every target after the grace", async () => {
  const { clock, pool, sync, stale } = setup();
  sync("a:1", "b:2");
  await clock.advance(INTERVAL);
  const stop = pool.stop({ stale: true });
  await clock.advance(INTERVAL);
  assertEquals([...stale("a:1"), ...stale("b:2")], []);
  await clock.advance(2 * INTERVAL);
  await stop;
  assert(stale("a:1").length > 0 && stale("b:2").length > 0);
});

Deno.test("pool: over target_limit no target is scraped, each shows the error; under it, scraping resumes", async () => {
  const { clock, pool, fetched, sync, registry, db } = setup({ targetLimit: 2 });
  try {
    sync("a:1", "b:2");
    await clock.advance(INTERVAL);
    assertEquals(new Set(fetched), new Set(["a:1", "b:2"]));
    assert(pool.loops().every((l) => l.status().health === "up"));

    sync("a:1", "b:2", "c:3");
    fetched.length = 0;
    await clock.advance(INTERVAL);
    assertEquals(fetched, [], "no target was contacted");
    assertEquals(pool.loops().length, 3, "all targets stay listed");
    for (const l of pool.loops()) {
      assertEquals(l.status().health, "down");
      assertEquals(
        l.status().lastError,
        "target_limit exceeded (number of targets: 3, limit: 2)",
      );
    }
    const last = db.committed.flat();
    const up = (addr: string) =>
      last.filter((r) => r.series === `{__name__="up", instance="${addr}", job="j"}`).at(-1)?.v;
    assertEquals([up("a:1"), up("b:2"), up("c:3")], [0, 0, 0]);
    assert(
      last.some((r) => r.series === '{__name__="m", instance="a:1", job="j"}' && r.v === "stale"),
      "the series of the last good scrape went stale",
    );
    const exposed = registry.expose();
    assert(
      /prometheus_target_scrape_pool_exceeded_target_limit_total 1\b/.test(exposed),
      exposed,
    );
    assert(exposed.includes('prometheus_target_scrape_pool_target_limit{scrape_job="j"} 2'));

    sync("a:1", "c:3");
    await clock.advance(INTERVAL);
    assertEquals(new Set(fetched), new Set(["a:1", "c:3"]));
    assert(pool.loops().every((l) => l.status().health === "up"));
  } finally {
    await pool.stop({ stale: false });
  }
});

Deno.test("pool: targets dropped by relabeling do not count against target_limit", async () => {
  const { clock, pool, fetched, sync } = setup({
    targetLimit: 1,
    relabelConfigs: [{
      sourceLabels: ["__address__"],
      separator: ";",
      regex: "drop.*",
      modulus: 0,
      targetLabel: "",
      replacement: "$1",
      action: "drop",
    }],
  });
  try {
    sync("a:1", "drop-1:1", "drop-2:1");
    await clock.advance(INTERVAL);
    assertEquals(fetched, ["a:1"]);
  } finally {
    await pool.stop({ stale: false });
  }
});

Deno.test("pool: a sharded job scrapes only its shard's targets; the others say which shard has them", async () => {
  const { clock, pool, fetched, sync } = setup({ shard: { index: 1, total: 3 } });
  try {
    const addrs = Array.from({ length: 12 }, (_, i) => `10.0.0.${i}:9100`);
    sync(...addrs);
    await clock.advance(INTERVAL);
    const mine = addrs.filter((a) => shardOf(a, 3) === 1);
    assert(mine.length > 0 && mine.length < addrs.length);
    assertEquals(new Set(fetched), new Set(mine));
    const { targets, total } = pool.dropped();
    assertEquals(total, addrs.length - mine.length);
    for (const d of targets) {
      const addr = d.discoveredLabels.get("__address__");
      assertEquals(d.reason, `belongs to shard ${shardOf(addr, 3)} of 3`);
    }
  } finally {
    await pool.stop({ stale: false });
  }
});

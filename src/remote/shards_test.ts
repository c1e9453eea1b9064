import { EwmaRate, ShardTuner } from "./shards.ts";
import { assert, assertEquals } from "./test_util.ts";

const INTERVAL = 10_000;

/** Feeds one interval: `inPerS` items read per second, sent at `outPerS` taking `msPerItem` each. */
function feed(
  t: ShardTuner,
  o: { inPerS: number; outPerS?: number; msPerItem: number; droppedPerS?: number },
): void {
  const s = INTERVAL / 1000;
  const out = (o.outPerS ?? o.inPerS) * s;
  t.itemsIn.incr(o.inPerS * s);
  t.itemsDropped.incr((o.droppedPerS ?? 0) * s);
  t.itemsOut.incr(out);
  t.sendMs.incr(out * o.msPerItem);
}

Deno.test("shards: EwmaRate starts at the first non-empty interval and then moves by 20%", () => {
  const r = new EwmaRate(10_000);
  r.tick();
  assertEquals(r.rate, 0);
  r.incr(1000);
  r.tick();
  assertEquals(r.rate, 100);
  r.tick(); // an empty interval pulls it down by 20%
  assertEquals(r.rate, 80);
  r.incr(2000);
  r.tick();
  assertEquals(r.rate, 80 + 0.2 * (200 - 80));
});

Deno.test("shards: no data sent yet keeps the current count", () => {
  const t = new ShardTuner({ minShards: 1, maxShards: 50, intervalMs: INTERVAL });
  t.itemsIn.incr(1e6);
  assertEquals(t.update(1, 0), 1);
});

Deno.test("shards: scales up with load, ignores changes within ±30%, clamps to max", () => {
  const t = new ShardTuner({ minShards: 1, maxShards: 8, intervalMs: INTERVAL });
  // 1000 items/s taking 4 ms each: 4 shards' worth of sending time.
  feed(t, { inPerS: 1000, msPerItem: 4 });
  assertEquals(t.update(1, 0), 4);
  assertEquals(t.desired, 4);
  // 4.9 shards' worth: within 30% of 4, no change.
  feed(t, { inPerS: 1000, msPerItem: 4.9 * 1.25 }); // EWMA moves a fifth of the way
  const d = t.update(4, 0);
  assert(t.desired > 4 && t.desired < 5.2, `desired ${t.desired}`);
  assertEquals(d, 4);
  // Much more work than 8 shards can do: clamped.
  const big = new ShardTuner({ minShards: 1, maxShards: 8, intervalMs: INTERVAL });
  feed(big, { inPerS: 10_000, msPerItem: 10 });
  assertEquals(big.update(1, 0), 8);
  assertEquals(big.desired, 100, "the unclamped value is exported");
});

Deno.test("shards: a backlog adds 5% of it per second", () => {
  const t = new ShardTuner({ minShards: 1, maxShards: 100, intervalMs: INTERVAL });
  feed(t, { inPerS: 100, msPerItem: 10 });
  // 1 shard for the inflow; 60 s behind → 6000 pending → +300 items/s → +3 shards.
  assertEquals(t.update(1, 60), 4);
  assertEquals(t.desired, 4);
});

Deno.test("shards: scales down when idle, but not while far behind, and not below min", () => {
  const t = new ShardTuner({ minShards: 2, maxShards: 20, intervalMs: INTERVAL });
  feed(t, { inPerS: 1000, msPerItem: 10 });
  assertEquals(t.update(2, 0), 10);
  // Load drops to a trickle: the EWMA decays over several intervals, then it downshards.
  const seen: number[] = [];
  let shards = 10;
  for (let i = 0; i < 20; i++) {
    feed(t, { inPerS: 10, msPerItem: 10 });
    shards = t.update(shards, 0);
    seen.push(shards);
  }
  assertEquals(shards, 2, `ends at min: ${seen}`);
  for (let i = 1; i < seen.length; i++) assert(seen[i] <= seen[i - 1], `never back up: ${seen}`);
  // Far behind (30 s > 10 s): no downshard even though the inflow is small.
  const behind = new ShardTuner({ minShards: 1, maxShards: 20, intervalMs: INTERVAL });
  feed(behind, { inPerS: 10, outPerS: 10, msPerItem: 10 });
  assertEquals(behind.update(10, 30), 10);
});

Deno.test("shards: a steady load does not flap", () => {
  const t = new ShardTuner({ minShards: 1, maxShards: 50, intervalMs: INTERVAL });
  let shards = 1;
  const seen: number[] = [];
  let seed = 7;
  for (let i = 0; i < 100; i++) {
    seed = (seed * 48271) % 2147483647;
    const jitter = 0.85 + 0.3 * (seed / 2147483647); // ±15% noise around 5 shards of work
    feed(t, { inPerS: 1000, msPerItem: 5 * jitter });
    shards = t.update(shards, 0);
    seen.push(shards);
  }
  const changes = seen.filter((s, i) => i > 0 && s !== seen[i - 1]).length;
  assert(changes === 0, `changed ${changes} times: ${seen}`);
  assertEquals(shards, seen[0]);
});

Deno.test("shards: dropped items lower the kept ratio", () => {
  const t = new ShardTuner({ minShards: 1, maxShards: 50, intervalMs: INTERVAL });
  // 1000/s read, 750/s dropped, 250/s sent at 20 ms each: 5 shards for what is kept.
  feed(t, { inPerS: 1000, outPerS: 250, droppedPerS: 750, msPerItem: 20 });
  assertEquals(t.update(1, 0), 5);
});

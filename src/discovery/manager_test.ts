import { Registry } from "../metrics/registry.ts";
import { assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { ManualClock } from "../util/clock.ts";
import { DiscoveryManager } from "./manager.ts";
import type { Discoverer, DiscoveryResult, TargetGroup } from "./types.ts";

/** A discoverer the test drives: `emit` reports groups, `fail` ends `run` with an error. */
class Fake implements Discoverer {
  #update: ((g: TargetGroup[]) => void) | null = null;
  #reject: ((e: Error) => void) | null = null;
  aborted = false;

  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    this.#update = update;
    return new Promise((resolve, reject) => {
      this.#reject = reject;
      signal.addEventListener("abort", () => {
        this.aborted = true;
        resolve();
      }, { once: true });
    });
  }

  discoverOnce(): Promise<DiscoveryResult> {
    return Promise.resolve({ groups: [], errors: [] });
  }

  emit(...groups: TargetGroup[]): void {
    this.#update!(groups);
  }

  fail(): void {
    this.#reject!(new Error("source exploded"));
  }
}

const g = (source: string, ...addrs: string[]): TargetGroup => ({
  source,
  targets: addrs.map((a) => ({ __address__: a })),
  labels: {},
});

/** A compact view of one sync: `source=addr,addr` per group, in order. */
const view = (groups: TargetGroup[]) =>
  groups.map((x) => `${x.source}=${x.targets.map((t) => t.__address__).join(",")}`);

function setup(n: number, intervalMs = 5000) {
  const clock = new ManualClock(0);
  const registry = new Registry();
  const m = new DiscoveryManager({ registry, clock, updateIntervalMs: intervalMs });
  const fakes = Array.from({ length: n }, () => new Fake());
  const syncs: { at: number; groups: string[] }[] = [];
  m.startJob("job", {
    discoverers: fakes.map((d, i) => ({ name: `fake[${i}]`, discoverer: d })),
    sync: (groups) => syncs.push({ at: clock.now(), groups: view(groups) }),
  });
  return { clock, registry, m, fakes, syncs };
}

Deno.test("manager: the first update waits for every discoverer, then goes out at once", async () => {
  const { clock, m, fakes: [a, b], syncs } = setup(2);
  a.emit(g("a", "1:1"));
  await clock.advance(1000);
  assertEquals(syncs, [], "b has not reported yet");
  b.emit(g("b", "2:2"));
  await clock.advance(0);
  assertEquals(syncs, [{ at: 1000, groups: ["a=1:1", "b=2:2"] }]);
  await m.stop();
});

Deno.test("manager: a discoverer that never reports holds the first update back one interval at most", async () => {
  const { clock, m, fakes: [a, b], syncs } = setup(2);
  a.emit(g("a", "1:1"));
  await clock.advance(4999);
  assertEquals(syncs, []);
  await clock.advance(1);
  assertEquals(syncs, [{ at: 5000, groups: ["a=1:1"] }]);
  b.emit(g("b", "2:2")); // late: the normal rate limit applies
  await clock.advance(4999);
  assertEquals(syncs.length, 1);
  await clock.advance(1);
  assertEquals(syncs[1], { at: 10_000, groups: ["a=1:1", "b=2:2"] });
  await m.stop();
});

Deno.test("manager: bursts are coalesced to at most one update per interval, with the latest state", async () => {
  const { clock, m, registry, fakes: [a], syncs } = setup(1);
  a.emit(g("a", "1:1"));
  await clock.advance(0);
  assertEquals(syncs.length, 1);
  // Changes at 1 s, 2 s, 3 s, 4 s: one update, one interval after the first, with the last.
  for (let i = 2; i <= 5; i++) {
    await clock.advance(1000);
    a.emit(g("a", `${i}:${i}`));
  }
  await clock.advance(1999);
  assertEquals(syncs.length, 1, "nothing within the interval");
  await clock.advance(1);
  assertEquals(syncs[1], { at: 6000, groups: ["a=5:5"] });
  // After a quiet period, the same: one interval after the change, with what came later.
  await clock.advance(20_000);
  a.emit(g("a", "6:6"));
  await clock.advance(4000);
  a.emit(g("a", "7:7"));
  await clock.advance(999);
  assertEquals(syncs.length, 2);
  await clock.advance(1);
  assertEquals(syncs[2], { at: 31_000, groups: ["a=7:7"] });
  const metrics = registry.expose();
  assertStringIncludes(metrics, 'prometheus_sd_received_updates_total{name="scrape"} 7\n');
  assertStringIncludes(metrics, 'prometheus_sd_updates_total{name="scrape"} 3\n');
  assertStringIncludes(metrics, 'prometheus_sd_discovered_targets{config="job",name="scrape"} 1\n');
  await m.stop();
});

Deno.test("manager: a vanished source is sent once as an empty group", async () => {
  const { clock, m, fakes: [a], syncs } = setup(1);
  a.emit(g("x", "1:1"), g("y", "2:2"));
  await clock.advance(0);
  a.emit(g("x", "1:1"));
  await clock.advance(5000);
  assertEquals(syncs[1].groups, ["x=1:1", "y="]);
  a.emit(g("x", "1:1", "3:3"));
  await clock.advance(5000);
  assertEquals(syncs[2].groups, ["x=1:1,3:3"], "the empty group is sent once");
  await m.stop();
});

Deno.test("manager: a source that flaps within the interval is never seen gone", async () => {
  const { clock, m, fakes: [a], syncs } = setup(1);
  a.emit(g("x", "1:1"), g("y", "2:2"));
  await clock.advance(0);
  await clock.advance(60_000); // a quiet period
  a.emit(g("x", "1:1")); // y vanishes…
  await clock.advance(2000);
  a.emit(g("x", "1:1"), g("y", "2:2")); // …and is back before the next update
  await clock.advance(2999);
  assertEquals(syncs.length, 1);
  await clock.advance(1);
  assertEquals(syncs.map((s) => s.groups), [["x=1:1", "y=2:2"], ["x=1:1", "y=2:2"]]);
  await m.stop();
});

Deno.test("manager: a discoverer that fails keeps its last groups; sources are kept apart per discoverer", async () => {
  const { clock, m, registry, fakes: [a, b], syncs } = setup(2);
  a.emit(g("same", "1:1"));
  b.emit(g("same", "2:2"));
  await clock.advance(0);
  assertEquals(syncs[0].groups, ["same=1:1", "same=2:2"]);
  a.fail();
  await clock.advance(0);
  b.emit(g("same", "3:3"));
  await clock.advance(5000);
  assertEquals(syncs[1].groups, ["same=1:1", "same=3:3"]);
  assertStringIncludes(registry.expose(), 'prometheus_sd_failed_configs{name="scrape"} 1\n');
  await m.stop();
  assertStringIncludes(registry.expose(), 'prometheus_sd_failed_configs{name="scrape"} 0\n');
});

Deno.test("manager: the interval is injectable; stop aborts discoverers and sends nothing more", async () => {
  const { clock, m, registry, fakes: [a], syncs } = setup(1, 100);
  a.emit(g("a", "1:1"));
  await clock.advance(0);
  a.emit(g("a", "2:2"));
  await clock.advance(100);
  assertEquals(syncs.length, 2);
  a.emit(g("a", "3:3"));
  await m.stop();
  assertEquals(a.aborted, true);
  await clock.advance(1000);
  assertEquals(syncs.length, 2);
  assertEquals(registry.expose().includes("prometheus_sd_discovered_targets"), false);
});

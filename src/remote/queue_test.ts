import fc from "fast-check";
import { emptyHistogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { assertThrows } from "../testing/assert.ts";
import { WriteBatch } from "./codec.ts";
import { AckTracker, type Batch, SampleQueue, shardOf, withoutOlderThan } from "./queue.ts";
import { assert, assertEquals, TestClock } from "./test_util.ts";

const L = Labels.fromObject({ __name__: "m" });
const H = emptyHistogram();
/** Two keys on different shards of two. */
const K0 = firstKey(2, 0), K1 = firstKey(2, 1);

function firstKey(n: number, shard: number, from = 1): number {
  for (let k = from;; k++) if (shardOf(k, n) === shard) return k;
}
const never = new AbortController().signal;

function queue(over: Partial<ConstructorParameters<typeof SampleQueue>[0]> = {}) {
  const clock = new TestClock();
  const q = new SampleQueue({
    shards: 1,
    maxSamplesPerSend: 2,
    capacity: 4,
    batchSendDeadlineMs: 1000,
    clock,
    ...over,
  });
  return { q, clock };
}

Deno.test("queue: the ack moves over a prefix of settled chunks, whatever the settle order", async () => {
  const tracker = new AckTracker({ segment: 0, offset: 0 });
  const { q } = queue({ shards: 2, maxSamplesPerSend: 2, capacity: 100 });
  const c1 = tracker.begin({ segment: 0, offset: 10 });
  // Chunk 1: keys 0 and 1 go to different shards.
  q.pushSample(c1, K0, L, 1, 1, false, 0);
  q.pushSample(c1, K1, L, 1, 1, false, 0);
  q.pushSample(c1, K0, L, 2, 1, false, 0); // shard 0 full
  c1.readDone = true;
  const c2 = tracker.begin({ segment: 1, offset: 5 });
  q.pushSample(c2, K1, L, 2, 1, false, 0); // shard 1 full
  c2.readDone = true;
  const c3 = tracker.begin({ segment: 1, offset: 9 }); // all dropped
  c3.readDone = true;
  assertEquals(tracker.advance(), false);

  const b0 = (await q.next(q.current.shards[0], never))!;
  const b1 = (await q.next(q.current.shards[1], never))!;
  assertEquals([b0.size, b1.size], [2, 2]);
  assertEquals(Array.from(b0.data.ts.subarray(0, 2)), [1, 2], "shard 0 keeps K0 in order");
  // Shard 1 (holding c1's and c2's samples) settles first: c1 still has shard 0's samples.
  q.done(b1);
  assertEquals(tracker.advance(), false);
  assertEquals(tracker.acked, { segment: 0, offset: 0 });
  q.done(b0);
  assertEquals(tracker.advance(), true);
  assertEquals(tracker.acked, { segment: 1, offset: 9 });
  assertEquals([q.pending, tracker.open], [0, 0]);
});

Deno.test("queue: a chunk not fully read is never acked", () => {
  const tracker = new AckTracker({ segment: 2, offset: 0 });
  const e = tracker.begin({ segment: 2, offset: 50 });
  assertEquals(tracker.advance(), false);
  e.readDone = true;
  assertEquals(tracker.advance(), true);
  assertEquals(tracker.acked, { segment: 2, offset: 50 });
});

Deno.test("queue: capacity pauses the reader until a batch is done", async () => {
  const { q } = queue({ maxSamplesPerSend: 2, capacity: 3 });
  const tracker = new AckTracker({ segment: 0, offset: 0 });
  const e = tracker.begin({ segment: 0, offset: 1 });
  for (let i = 0; i < 3; i++) q.pushSample(e, 1, L, i, i, false, 0);
  assertEquals(q.hasSpace, false);
  let resumed = false;
  const waiting = q.space(never).then(() => (resumed = true));
  await Promise.resolve();
  assertEquals(resumed, false);
  const b = (await q.next(q.current.shards[0], never))!;
  q.done(b);
  await waiting;
  assert(resumed && q.hasSpace);
  assertEquals(q.pending, 1);
});

Deno.test("queue: a partial batch is released at the deadline, or at once when flushing", async () => {
  const { q, clock } = queue({ maxSamplesPerSend: 10, batchSendDeadlineMs: 1000 });
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  q.pushSample(e, 1, L, 1, 1, false, 0);
  let got: Batch | null = null;
  const p = q.next(q.current.shards[0], never).then((b) => (got = b));
  await new Promise((r) => setTimeout(r, 5));
  assertEquals(clock.requested, [1000]);
  clock.advance(999);
  await new Promise((r) => setTimeout(r, 5));
  assertEquals(got, null);
  clock.advance(1);
  await p;
  assertEquals(got!.size, 1);
  q.done(got!);

  q.pushSample(e, 1, L, 2, 1, false, 0);
  const p2 = q.next(q.current.shards[0], never);
  await new Promise((r) => setTimeout(r, 5));
  q.flush();
  assertEquals((await p2)!.size, 1);
});

Deno.test("queue: next returns null once input is closed and empty, or on abort", async () => {
  const { q } = queue();
  const ctl = new AbortController();
  const p = q.next(q.current.shards[0], ctl.signal);
  ctl.abort();
  assertEquals(await p, null);
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  q.pushSample(e, 1, L, 1, 1, false, 0);
  q.closeInput();
  assertEquals(
    (await q.next(q.current.shards[0], never))!.size,
    1,
    "the partial batch still goes out",
  );
  assertEquals(await q.next(q.current.shards[0], never), null);
});

const settleMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `key@t` of every item of a batch, floats first, in batch order. */
function items(b: Batch): string[] {
  const d = b.data, out: string[] = [];
  for (let i = 0; i < d.length; i++) out.push(`${d.keys[d.slots[i]]}@${d.ts[i]}`);
  for (let i = 0; i < d.histogramCount; i++) out.push(`${d.keys[d.hSlots[i]]}@h${d.hTs[i]}`);
  for (let i = 0; i < d.exemplarCount; i++) {
    out.push(`${d.keys[d.exSlots[i]]}@e${d.exemplars[i].ts}`);
  }
  return out;
}

Deno.test("queue: shardOf spreads consecutive refs evenly and stays in range", () => {
  for (const n of [2, 3, 7, 50]) {
    const counts = new Array(n).fill(0);
    for (let k = 1; k <= 10_000; k++) {
      const s = shardOf(k, n);
      assert(s >= 0 && s < n && Number.isInteger(s), `shard ${s} of ${n}`);
      counts[s]++;
    }
    const even = 10_000 / n;
    assert(counts.every((c) => Math.abs(c - even) < even * 0.2), `uneven: ${counts}`);
  }
  assertEquals(shardOf(12345, 1), 0);
  assertEquals(shardOf(0xffffffff, 4), shardOf(0xffffffff, 4), "deterministic");
});

Deno.test("queue: histograms and exemplars count toward batch size, pending and capacity", async () => {
  const { q } = queue({ maxSamplesPerSend: 3, capacity: 3 });
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  q.pushSample(e, 1, L, 10, 1, false, 5);
  q.pushHistogram(e, 1, L, 10, emptyHistogram(), false, 0);
  assertEquals([q.pendingSamples, q.pendingHistograms, q.pendingExemplars, q.pending], [
    1,
    1,
    0,
    2,
  ]);
  q.pushExemplar(e, 1, L, { labels: Labels.fromObject({ trace_id: "a" }), value: 1, ts: 10 });
  assertEquals(q.hasSpace, false);
  const b = (await q.next(q.current.shards[0], never))!;
  assertEquals(items(b), ["1@10", "1@h10", "1@e10"]);
  assertEquals(b.data.st[0], 5);
  assertEquals(e.outstanding, 3);
  q.done(b);
  assertEquals([q.pending, e.outstanding], [0, 0]);
});

Deno.test("queue: a batch is sealed once its estimated bytes reach maxBytesPerSend", async () => {
  const { q } = queue({ maxSamplesPerSend: 1000, capacity: 1000, maxBytesPerSend: 200 });
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  let n = 0;
  while (q.current.shards[0].ready.length === 0) q.pushSample(e, 1, L, n++, 1, false, 0);
  const b = (await q.next(q.current.shards[0], never))!;
  assert(b.data.bytes >= 200 && b.size === n && n < 20, `${b.size} items, ${b.data.bytes} bytes`);
});

Deno.test("queue: a reshard moves queued items to the new set, which waits only for batches in flight", async () => {
  const { q, clock } = queue({ shards: 1, maxSamplesPerSend: 2, capacity: 100 });
  const tracker = new AckTracker({ segment: 0, offset: 0 });
  const e1 = tracker.begin({ segment: 0, offset: 1 });
  q.pushSample(e1, K0, L, 1, 1, false, 0);
  q.pushSample(e1, K1, L, 1, 1, false, 0); // full: sealed
  e1.readDone = true;
  const old = q.current;
  const inFlight = (await q.next(old.shards[0], never))!;
  const e2 = tracker.begin({ segment: 0, offset: 2 });
  q.pushSample(e2, K0, L, 2, 1, false, 0);
  q.pushSample(e2, K1, L, 2, 1, false, 0); // sealed, not taken yet
  const startedAt = clock.now();
  clock.advance(300);
  q.pushSample(e2, K0, L, 3, 1, false, 0); // open
  const set = q.reshard(2);
  assert(q.resharding && q.current === set && set.blockedBy === old);
  assertEquals([q.shards, old.pending, set.pending, q.pending], [2, 2, 3, 5]);
  assertEquals(e2.outstanding, 3, "moving items keeps their chunk's count");
  assertThrows(() => q.reshard(3));
  assertEquals(await q.next(old.shards[0], never), null, "the old shard is empty: its sender ends");
  // Pushes go to the new set at once, even while the old batch is in flight.
  q.pushSample(e2, K1, L, 3, 1, false, 0);
  e2.readDone = true;
  const s0 = shardOf(K0, 2), s1 = shardOf(K1, 2);
  let got: Batch | null = null;
  const waiting = q.next(set.shards[s0], never).then((b) => (got = b));
  await settleMs(5);
  assertEquals(got, null, "blocked until the batch in flight settles");
  q.done(inFlight);
  assert(!q.resharding && tracker.advance());
  assertEquals(tracker.acked.offset, 1);
  await waiting;
  assertEquals(items(got!), [`${K0}@2`, `${K0}@3`]);
  assertEquals(got!.startedAt, startedAt, "the deadline runs from the first item's arrival");
  const b1 = (await q.next(set.shards[s1], never))!;
  assertEquals(items(b1), [`${K1}@2`, `${K1}@3`]);
  q.done(got!);
  q.done(b1);
  assert(tracker.advance() && q.pending === 0);
  assertEquals(tracker.acked.offset, 2);
});

Deno.test("queue: resharding an empty queue does not block the new set", async () => {
  const { q } = queue({ shards: 3 });
  const old = q.current;
  const set = q.reshard(1);
  assert(!q.resharding && set.blockedBy === null);
  for (let i = 0; i < 3; i++) assertEquals(await q.next(old.shards[i], never), null);
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  q.pushSample(e, 7, L, 1, 1, false, 0);
  q.pushSample(e, 7, L, 2, 1, false, 0);
  assertEquals(items((await q.next(set.shards[0], never))!), ["7@1", "7@2"]);
});

Deno.test("queue: random pushes, reshards and settle delays lose, duplicate or reorder nothing", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          {
            weight: 20,
            arbitrary: fc.record({
              key: fc.integer({ min: 1, max: 30 }),
              kind: fc.constantFrom("", "h", "e", "", ""),
            }),
          },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }).map((n) => ({ reshard: n })) },
        ),
        { minLength: 1, maxLength: 300 },
      ),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 40 }),
      async (ops, batch, capacity) => {
        const { q } = queue({
          shards: 2,
          maxSamplesPerSend: batch,
          capacity,
          batchSendDeadlineMs: 1e9,
        });
        const tracker = new AckTracker({ segment: 0, offset: 0 });
        const handed: string[] = [];
        const senders: Promise<void>[] = [];
        let seed = 1;
        const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
        const start = (set: ReturnType<typeof q.reshard>) => {
          for (let i = 0; i < set.size; i++) {
            senders.push((async () => {
              for (;;) {
                const b = await q.next(set.shards[i], never);
                if (!b) return;
                handed.push(...items(b));
                await settleMs(rand() < 0.5 ? 0 : 1);
                q.done(b);
                tracker.advance();
              }
            })());
          }
        };
        start(q.current);
        const next = new Map<string, number>();
        let pushed = 0, pos = 0;
        for (const op of ops) {
          const e = tracker.begin({ segment: 0, offset: ++pos });
          if ("reshard" in op) {
            if (!q.resharding) start(q.reshard(op.reshard));
          } else {
            if (!q.hasSpace) {
              q.flush(); // partial batches go out so space frees up
              await q.space(never);
            }
            const id = `${op.key}@${op.kind}`;
            const t = (next.get(id) ?? 0) + 1;
            next.set(id, t);
            if (op.kind === "") q.pushSample(e, op.key, L, t, t, false, 0);
            else if (op.kind === "h") q.pushHistogram(e, op.key, L, t, H, false, 0);
            else q.pushExemplar(e, op.key, L, { labels: L, value: 1, ts: t });
            pushed++;
          }
          e.readDone = true;
          if (rand() < 0.1) await settleMs(0);
        }
        q.closeInput();
        await Promise.all(senders); // every reshard happened before: all senders are listed
        assertEquals(handed.length, pushed, "every item exactly once");
        assertEquals(new Set(handed).size, pushed, "no duplicates");
        const last = new Map<string, number>();
        for (const it of handed) {
          const [key, rest] = it.split("@");
          const kind = /^[he]/.test(rest) ? rest[0] : "", t = Number(rest.slice(kind.length));
          const k = `${key}@${kind}`;
          assert((last.get(k) ?? 0) === t - 1, `order of ${k}: ${t} after ${last.get(k)}`);
          last.set(k, t);
        }
        tracker.advance();
        assertEquals([q.pending, tracker.open, tracker.acked.offset], [0, 0, pos]);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("queue: withoutOlderThan drops old items of every kind and keeps the rest in order", () => {
  const b = new WriteBatch(10);
  const A = Labels.fromObject({ __name__: "a" }), B = Labels.fromObject({ __name__: "b" });
  b.add(1, A, 100, 1, false, 50);
  b.add(2, B, 300, 2, true);
  b.add(1, A, 200, 3, false);
  b.addHistogram(2, B, 150, emptyHistogram(), false);
  b.addHistogram(2, B, 250, emptyHistogram(true), false, 7);
  b.addExemplar(1, A, { labels: Labels.fromObject({}), value: 1, ts: 199 });
  b.addExemplar(1, A, { labels: Labels.fromObject({}), value: 1, ts: 200 });
  const same = withoutOlderThan(b, 100);
  assert(same.data === b && same.dropped.samples === 0);
  const r = withoutOlderThan(b, 200);
  assertEquals(r.dropped, { samples: 1, histograms: 1, exemplars: 1 });
  const d = r.data;
  assertEquals([d.length, d.histogramCount, d.exemplarCount], [2, 1, 1]);
  assertEquals([...d.ts.subarray(0, 2)], [300, 200]);
  assertEquals([d.stale[0], d.values[1], d.keys[d.slots[1]]], [1, 3, 1]);
  assertEquals([d.hTs[0], d.hSt[0], d.histograms[0].float], [250, 7, true]);
  assertEquals(d.exemplars[0].ts, 200);
  assertEquals(b.size, 7, "the original is untouched");
});

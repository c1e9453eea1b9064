import { Labels } from "../model/labels.ts";
import { AckTracker, type Batch, SampleQueue } from "./queue.ts";
import { assert, assertEquals, TestClock } from "./test_util.ts";

const L = Labels.fromObject({ __name__: "m" });
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
  q.push(c1, 0, L, 1, 1, false);
  q.push(c1, 1, L, 1, 1, false);
  q.push(c1, 0, L, 2, 1, false); // shard 0 full
  c1.readDone = true;
  const c2 = tracker.begin({ segment: 1, offset: 5 });
  q.push(c2, 1, L, 2, 1, false); // shard 1 full
  c2.readDone = true;
  const c3 = tracker.begin({ segment: 1, offset: 9 }); // all dropped
  c3.readDone = true;
  assertEquals(tracker.advance(), false);

  const b0 = (await q.next(0, never))!;
  const b1 = (await q.next(1, never))!;
  assertEquals([b0.length, b1.length], [2, 2]);
  assertEquals(Array.from(b0.data.ts.subarray(0, 2)), [1, 2], "shard 0 keeps key 0 in order");
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
  for (let i = 0; i < 3; i++) q.push(e, 1, L, i, i, false);
  assertEquals(q.hasSpace, false);
  let resumed = false;
  const waiting = q.space(never).then(() => (resumed = true));
  await Promise.resolve();
  assertEquals(resumed, false);
  const b = (await q.next(0, never))!;
  q.done(b);
  await waiting;
  assert(resumed && q.hasSpace);
  assertEquals(q.pending, 1);
});

Deno.test("queue: a partial batch is released at the deadline, or at once when flushing", async () => {
  const { q, clock } = queue({ maxSamplesPerSend: 10, batchSendDeadlineMs: 1000 });
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  q.push(e, 1, L, 1, 1, false);
  let got: Batch | null = null;
  const p = q.next(0, never).then((b) => (got = b));
  await new Promise((r) => setTimeout(r, 5));
  assertEquals(clock.requested, [1000]);
  clock.advance(999);
  await new Promise((r) => setTimeout(r, 5));
  assertEquals(got, null);
  clock.advance(1);
  await p;
  assertEquals(got!.length, 1);
  q.done(got!);

  q.push(e, 1, L, 2, 1, false);
  const p2 = q.next(0, never);
  await new Promise((r) => setTimeout(r, 5));
  q.flush();
  assertEquals((await p2)!.length, 1);
});

Deno.test("queue: next returns null once input is closed and empty, or on abort", async () => {
  const { q } = queue();
  const ctl = new AbortController();
  const p = q.next(0, ctl.signal);
  ctl.abort();
  assertEquals(await p, null);
  const e = new AckTracker({ segment: 0, offset: 0 }).begin({ segment: 0, offset: 1 });
  q.push(e, 1, L, 1, 1, false);
  q.closeInput();
  assertEquals((await q.next(0, never))!.length, 1, "the partial batch still goes out");
  assertEquals(await q.next(0, never), null);
});

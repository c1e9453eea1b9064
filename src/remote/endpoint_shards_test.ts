import { type DecodedWriteRequest, decodeWriteRequest, snappyDecode } from "./codec.ts";
import {
  assert,
  assertEquals,
  type FakeSample,
  settle,
  startEndpoint,
  type TestClock,
} from "./test_util.ts";

const T0 = 1_700_000_000_000;
const SERIES = 40;

/**
 * A receiver inside fetch whose answers take `latency()` ms of the test
 * clock; records requests as they complete and the most sent at once.
 */
function clockedReceiver(clock: () => TestClock, latency: () => number) {
  const done: DecodedWriteRequest[] = [];
  let inFlight = 0, maxInFlight = 0;
  const f = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = decodeWriteRequest(snappyDecode(init!.body as Uint8Array));
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await clock().sleep(latency(), init!.signal!);
      if (init!.signal!.aborted) throw new DOMException("aborted", "AbortError");
      done.push(body);
      return new Response(null, { status: 204 });
    } finally {
      inFlight--;
    }
  }) as typeof fetch;
  return {
    fetch: f,
    done,
    get maxInFlight() {
      return maxInFlight;
    },
    resetMax() {
      maxInFlight = inFlight;
    },
  };
}

/** Checks every (series, timestamp) arrived exactly once, in order per series. */
function checkExactlyOnceInOrder(reqs: DecodedWriteRequest[], appended: Map<number, number[]>) {
  const got = new Map<number, number[]>();
  for (const r of reqs) {
    for (const s of r.series) {
      const ref = Number(s.labels[0][1].slice(1));
      const list = got.get(ref) ?? [];
      list.push(...s.timestamps);
      got.set(ref, list);
    }
  }
  assertEquals(got.size, appended.size, "series");
  for (const [ref, want] of appended) assertEquals(got.get(ref), want, `m${ref}`);
}

/** Appends `n` samples spread over the series, continuing each series' timestamps. */
function appendLoad(
  state: {
    wal: { append(s: FakeSample[]): unknown };
    next: number;
    appended: Map<number, number[]>;
  },
  n: number,
): void {
  const chunk: FakeSample[] = [];
  for (let i = 0; i < n; i++, state.next++) {
    const ref = 1 + (state.next % SERIES);
    const t = T0 + state.next;
    chunk.push([ref, t, state.next]);
    const l = state.appended.get(ref) ?? [];
    l.push(t);
    state.appended.set(ref, l);
  }
  if (chunk.length > 0) state.wal.append(chunk);
}

Deno.test("endpoint shards: up under load, down at a trickle, without flapping; nothing lost or reordered", async () => {
  let clockRef: TestClock | null = null;
  const rx = clockedReceiver(() => clockRef!, () => 500);
  const s = await startEndpoint({
    config: {
      queue: {
        minShards: 1,
        maxShards: 4,
        maxSamplesPerSend: 100,
        capacity: 2_000,
        batchSendDeadlineMs: 1_000,
      },
    },
    deps: { fetch: rx.fetch, shardUpdateIntervalMs: 10_000 },
    series: SERIES,
    auto: false,
  });
  clockRef = s.clock;
  const state = { wal: s.wal, next: 0, appended: new Map<number, number[]>() };
  const history: number[] = [];
  const STEP = 250;
  const run = async (ms: number, perStep: number) => {
    for (let t = 0; t < ms; t += STEP) {
      appendLoad(state, perStep);
      s.clock.advance(STEP);
      await settle(1);
      const n = s.ep.status().shards;
      if (history.at(-1) !== n) history.push(n);
    }
  };
  try {
    // 1000 samples/s; one request of 100 takes 500 ms: one shard sends 200/s.
    await run(40_000, 250);
    assertEquals(s.ep.status().shards, 4, `up to max under load: ${history}`);
    assert(s.ep.status().desiredShards > 4, `desired ${s.ep.status().desiredShards}`);
    rx.resetMax();
    await run(10_000, 250);
    assert(rx.maxInFlight > 1, `parallel sends: ${rx.maxInFlight}`);
    // A trickle (12/s): batches go at the deadline, one shard is plenty.
    await run(200_000, 3);
    assertEquals(s.ep.status().shards, 1, `down at a trickle: ${history}`);
    // Up, then down, each in a few steps: never back and forth.
    const peak = history.indexOf(4);
    assert(history.length <= 6, `no flapping: ${history}`);
    for (let i = 1; i < history.length; i++) {
      assert(i <= peak ? history[i] > history[i - 1] : history[i] < history[i - 1], `${history}`);
    }
    // Everything arrives once, in order per series, and is acknowledged.
    let closed = false;
    const closing = s.ep.close(600_000).finally(() => (closed = true));
    for (let i = 0; i < 5_000 && !closed; i++) {
      s.clock.advance(STEP);
      await settle(0);
    }
    await closing;
    assertEquals(s.ep.status().samplesPending, 0);
    checkExactlyOnceInOrder(rx.done, state.appended);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint shards: random send delays across reshards lose, duplicate or reorder nothing", async () => {
  for (const seed of [1, 2, 3]) {
    let x = seed;
    const rand = () => (x = (x * 48271) % 2147483647) / 2147483647;
    let clockRef: TestClock | null = null;
    const rx = clockedReceiver(() => clockRef!, () => 50 + Math.floor(rand() * 900));
    const s = await startEndpoint({
      config: {
        queue: {
          minShards: 1,
          maxShards: 6,
          maxSamplesPerSend: 50,
          capacity: 500,
          batchSendDeadlineMs: 500,
        },
      },
      deps: { fetch: rx.fetch, shardUpdateIntervalMs: 2_000 },
      series: SERIES,
      auto: false,
    });
    clockRef = s.clock;
    const state = { wal: s.wal, next: 0, appended: new Map<number, number[]>() };
    const seen = new Set<number>();
    try {
      for (let step = 0; step < 600; step++) {
        // Bursts and lulls, so the shard count moves both ways.
        const phase = Math.floor(step / 100) % 2;
        appendLoad(state, phase === 0 ? Math.floor(rand() * 120) : Math.floor(rand() * 3));
        s.clock.advance(100);
        await settle(rand() < 0.3 ? 1 : 0);
        seen.add(s.ep.status().shards);
      }
      let closed = false;
      const closing = s.ep.close(600_000).finally(() => (closed = true));
      for (let i = 0; i < 5_000 && !closed; i++) {
        s.clock.advance(100);
        await settle(0);
      }
      assert(closed, "drained within the deadline");
      await closing;
      assert(seen.size > 1, `resharded (seed ${seed}): ${[...seen]}`);
      checkExactlyOnceInOrder(rx.done, state.appended);
      assertEquals(s.wal.cursor("ep").position.offset, 100 * s.wal.chunks.length, "all acked");
    } finally {
      await s.teardown();
    }
  }
});

import { Labels } from "../model/labels.ts";
import type { DecodedWriteRequest } from "./codec.ts";
import {
  assert,
  assertEquals,
  type FakeSample,
  FakeWal,
  settle,
  startEndpoint,
  type startReceiver,
  TestClock,
  waitFor,
} from "./test_util.ts";
import type { ResolvedQueueConfig } from "../config/types.ts";

const T0 = 1_700_000_000_000;
const L = (o: Record<string, string>) => Labels.fromObject(o);

/** A compact view of what arrived: `name@ts=value` strings in request order. */
function flat(reqs: DecodedWriteRequest[]): string[] {
  const out: string[] = [];
  for (const r of reqs) {
    for (const s of r.series) {
      const name = s.labels.find(([n]) => n === "__name__")?.[1] ?? "?";
      s.timestamps.forEach((t, i) => {
        out.push(`${name}@${t - T0}=${s.stale[i] ? "stale" : s.values[i]}`);
      });
    }
  }
  return out;
}
const sizes = (reqs: DecodedWriteRequest[]) => reqs.map((r) => r.samples);

function setup(opts: {
  queue?: Partial<ResolvedQueueConfig>;
  respond?: Parameters<typeof startReceiver>[0];
  auto?: boolean;
  wal?: FakeWal;
  name?: string;
  series?: number;
}) {
  return startEndpoint({ ...opts, config: { queue: opts.queue } });
}

function samples(n: number, ref = 1, from = 0): FakeSample[] {
  return Array.from({ length: n }, (_, i) => [ref, T0 + (from + i) * 1000, from + i]);
}

Deno.test("endpoint: delivers labels, values and stale markers; acks; counts drops", async () => {
  const wal = new FakeWal()
    .addSeries(1, L({ __name__: "up", job: "node", instance: "a" }))
    .addSeries(2, L({ __name__: "temp", job: "node" }))
    .addSeries(3, L({ __name__: "hidden", job: "drop" }));
  const s = await setup({ wal, series: 0 });
  // The clock moves on by itself (to each pending sleep): the send lies between.
  const before = s.clock.now();
  try {
    const c1 = wal.append([[1, T0, 1], [2, T0, 21.5], [3, T0, 9]]);
    const c2 = wal.append([[1, T0 + 1000, 0], [2, T0 + 1000, 0], [42, T0 + 1000, 5], [
      3,
      T0 + 1000,
      9,
    ]]);
    const c3 = wal.append([[1, T0 + 2000, 0], [2, T0 + 2000, 0]]);
    c3.samples.stale[1] = 1; // temp goes stale
    c3.samples.values[1] = 777; // meaningless for a marker
    await waitFor(() => s.ep.status().samplesSent === 6, "6 samples sent");
    await waitFor(() => s.ep.status().cursor.offset === c3.end.offset, "ack");
    const all = s.rx.accepted();
    assertEquals(flat(all).sort(), [
      "temp@0=21.5",
      "temp@1000=0",
      "temp@2000=stale",
      "up@0=1",
      "up@1000=0",
      "up@2000=0",
    ]);
    const up = all.flatMap((r) => r.series).find((x) => x.labels[0][1] === "up")!;
    assertEquals(up.labels, [["__name__", "up"], ["env", "prod"], ["instance", "a"], [
      "job",
      "node",
    ]]);
    const st = s.ep.status();
    assertEquals(
      [st.samplesSent, st.samplesDropped, st.samplesFailed, st.samplesRetried, st.samplesPending],
      [6, 3, 0, 0, 0],
    );
    assert(st.bytesSent > 0, "bytesSent");
    const last = st.lastSendTime;
    assert(last !== null && last >= before && last <= s.clock.now(), `lastSendTime ${last}`);
    assertEquals(st.url, s.rx.url);
    const cur = wal.cursors.get("ep")!;
    assertEquals(cur.position, c3.end);
    assert(cur.acks.every((p, i) => i === 0 || p.offset > cur.acks[i - 1].offset), "monotonic");
    assert([c1.end.offset, c2.end.offset].every((o) => o <= cur.position.offset));
    // Headers arrive on every request.
    const h = s.rx.requests[0].headers;
    assertEquals(h.get("user-agent"), "ferry/9.9.9");
    assertEquals(h.get("content-encoding"), "snappy");
    // The dropped series was transformed once (cached), the unknown ref looked up each time.
    assertEquals(wal.lookups.get(3), 1);
    // Metrics.
    const text = s.registry.expose();
    const lbl = `remote_name="ep",url="${s.rx.url}"`;
    assert(text.includes(`prometheus_remote_storage_samples_total{${lbl}} 6`), text);
    assert(
      text.includes(
        `prometheus_remote_storage_samples_dropped_total{reason="dropped_series",${lbl}} 2`,
      ),
      text,
    );
    assert(
      text.includes(
        `prometheus_remote_storage_samples_dropped_total{reason="unintentionally_dropped_series",${lbl}} 1`,
      ),
      text,
    );
    assert(text.includes(`prometheus_remote_storage_samples_pending{${lbl}} 0`), text);
    assert(
      text.includes(
        `prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${lbl}} ${
          (T0 + 2000) / 1000
        }`,
      ),
      text,
    );
    assert(
      text.includes(`prometheus_remote_storage_sent_batch_duration_seconds_count{${lbl}}`),
      text,
    );
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: 20,000 samples over 40 chunks arrive exactly once, in order per series", async () => {
  const s = await setup({ series: 50, queue: { maxSamplesPerSend: 700, capacity: 1500 } });
  try {
    let t = 0;
    for (let c = 0; c < 40; c++) {
      const chunk: FakeSample[] = [];
      for (let i = 0; i < 500; i++, t++) chunk.push([1 + (t % 50), T0 + t, t]);
      s.wal.append(chunk);
    }
    await waitFor(() => s.ep.status().samplesSent === 20_000, "all delivered", 20_000);
    const seen = new Map<string, number[]>();
    for (const r of s.rx.accepted()) {
      assert(r.samples <= 700, `batch of ${r.samples}`);
      for (const x of r.series) {
        const name = x.labels[0][1];
        if (!seen.has(name)) seen.set(name, []);
        seen.get(name)!.push(...x.values);
      }
    }
    assertEquals(seen.size, 50);
    for (const [name, values] of seen) {
      const r = Number(name.slice(1)) - 1;
      const want = Array.from({ length: 400 }, (_, k) => k * 50 + r);
      assertEquals(values, want, name);
    }
    await waitFor(() => s.ep.status().cursor.offset === 4000, "acked to the end");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: batches by maxSamplesPerSend, then by deadline", async () => {
  const s = await setup({
    auto: false,
    queue: { maxSamplesPerSend: 2, batchSendDeadlineMs: 5000 },
  });
  try {
    s.wal.append(samples(5));
    await waitFor(() => s.rx.requests.length === 2, "two full batches");
    await settle(50);
    assertEquals(sizes(s.rx.accepted()), [2, 2], "the fifth sample waits for the deadline");
    assertEquals(s.ep.status().samplesPending, 1);
    // The deadline sleep was requested for the partial batch; nothing acked yet (chunk not covered).
    assertEquals(s.wal.cursors.get("ep")!.acks.length, 0);
    s.clock.advance(4999);
    await settle(30);
    assertEquals(s.rx.requests.length, 2, "not before the deadline");
    s.clock.advance(1);
    await waitFor(() => s.rx.requests.length === 3, "deadline batch");
    assertEquals(sizes(s.rx.accepted()), [2, 2, 1]);
    assertEquals(flat(s.rx.accepted()), [
      "m1@0=0",
      "m1@1000=1",
      "m1@2000=2",
      "m1@3000=3",
      "m1@4000=4",
    ]);
    await waitFor(() => s.ep.status().cursor.offset === 100, "ack after the last batch");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: a partial batch spanning chunks goes out at the deadline", async () => {
  const s = await setup({
    auto: false,
    queue: { maxSamplesPerSend: 100, batchSendDeadlineMs: 1000 },
  });
  try {
    s.wal.append(samples(2, 1));
    await settle(20);
    s.clock.advance(400);
    s.wal.append(samples(3, 2));
    await settle(30);
    assertEquals(s.rx.requests.length, 0);
    s.clock.advance(600); // 1000 ms after the first sample
    await waitFor(() => s.rx.requests.length === 1, "deadline batch");
    assertEquals(sizes(s.rx.accepted()), [5]);
    await waitFor(() => s.ep.status().cursor.offset === 200, "ack of both chunks");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: retries 500s with exponential backoff, then delivers once, in order", async () => {
  let calls = 0;
  const s = await setup({
    queue: { maxSamplesPerSend: 2, minBackoffMs: 30, maxBackoffMs: 100 },
    respond: () => {
      calls++;
      // 2nd batch fails 4 times.
      if (calls >= 2 && calls <= 5) return new Response("down", { status: 500 });
      return new Response(null, { status: 204 });
    },
  });
  try {
    s.wal.append(samples(6));
    await waitFor(() => s.ep.status().samplesSent === 6, "all sent");
    assertEquals(sizes(s.rx.accepted()), [2, 2, 2]);
    assertEquals(flat(s.rx.accepted()), [
      "m1@0=0",
      "m1@1000=1",
      "m1@2000=2",
      "m1@3000=3",
      "m1@4000=4",
      "m1@5000=5",
    ]);
    assertEquals(s.rx.requests.map((r) => r.status), [204, 500, 500, 500, 500, 204, 204]);
    assertEquals(s.rx.requests.slice(1).map((r) => r.headers.get("retry-attempt")), [
      null,
      "1",
      "2",
      "3",
      "4",
      null,
    ]);
    // Backoff doubles from minBackoff and is capped at maxBackoff.
    assertEquals(s.clock.requested.filter((ms) => ms < 1000), [30, 60, 100, 100]);
    const st = s.ep.status();
    assertEquals([st.samplesSent, st.samplesRetried, st.samplesFailed], [6, 8, 0]);
    assert(st.lastError.includes("HTTP status 500") && st.lastError.includes("down"), st.lastError);
    assert(st.lastErrorTime !== null);
    await waitFor(() => s.ep.status().cursor.offset === 100, "ack");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: Retry-After overrides the backoff", async () => {
  let calls = 0;
  const s = await setup({
    queue: { retryOnHttp429: true, minBackoffMs: 30 },
    respond: () =>
      ++calls === 1
        ? new Response(null, { status: 429, headers: { "retry-after": "3" } })
        : new Response(null, { status: 204 }),
  });
  try {
    s.wal.append(samples(3));
    await waitFor(() => s.ep.status().samplesSent === 3, "sent");
    assertEquals(s.clock.requested.filter((ms) => ms !== 5000 && ms !== 10_000), [3000]);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: Retry-After of 0 or in the past falls back to the backoff (no retry storm)", async () => {
  let calls = 0;
  const past = new Date(T0 - 60_000).toUTCString();
  const s = await setup({
    queue: { minBackoffMs: 30, maxBackoffMs: 100 },
    respond: () => {
      calls++;
      if (calls === 1) return new Response(null, { status: 503, headers: { "retry-after": "0" } });
      if (calls === 2) return new Response(null, { status: 503, headers: { "retry-after": past } });
      return new Response(null, { status: 204 });
    },
  });
  try {
    s.wal.append(samples(3));
    await waitFor(() => s.ep.status().samplesSent === 3, "sent");
    assertEquals(s.rx.requests.map((r) => r.status), [503, 503, 204]);
    // As Prometheus: only a positive Retry-After replaces the backoff.
    assertEquals(s.clock.requested.filter((ms) => ms !== 5000 && ms !== 10_000), [30, 60]);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: a permanent 400 drops the batch and moves on", async () => {
  let calls = 0;
  const s = await setup({
    queue: { maxSamplesPerSend: 2 },
    respond: () =>
      ++calls === 1
        ? new Response("out of order sample", { status: 400 })
        : new Response(null, { status: 204 }),
  });
  try {
    s.wal.append(samples(2));
    s.wal.append(samples(2, 1, 2));
    await waitFor(() => s.ep.status().samplesSent === 2, "second batch");
    await waitFor(() => s.ep.status().cursor.offset === 200, "acked past the dropped batch");
    const st = s.ep.status();
    assertEquals([st.samplesFailed, st.samplesRetried, st.samplesSent], [2, 0, 2]);
    assert(st.lastError.includes("400") && st.lastError.includes("out of order sample"));
    assertEquals(s.rx.requests.length, 2, "not retried");
    assertEquals(flat(s.rx.accepted()), ["m1@2000=2", "m1@3000=3"]);
    assert(
      s.registry.expose().includes(
        `prometheus_remote_storage_samples_failed_total{remote_name="ep",url="${s.rx.url}"} 2`,
      ),
    );
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: the cursor is acked only after delivery", async () => {
  const gates: (() => void)[] = [];
  const s = await setup({
    queue: { maxSamplesPerSend: 2 },
    respond: () =>
      new Promise<Response>((resolve) =>
        gates.push(() => resolve(new Response(null, { status: 204 })))
      ),
  });
  const cursor = s.wal.cursor("ep");
  try {
    const c1 = s.wal.append(samples(2)); // exactly one batch
    const c2 = s.wal.append(samples(3, 2)); // spans the next two batches
    await waitFor(() => gates.length === 1, "first request in flight");
    await settle(20);
    assertEquals(cursor.acks, [], "nothing acked while the request is in flight");
    gates[0]();
    await waitFor(() => cursor.acks.length === 1, "first ack");
    assertEquals(cursor.position, c1.end);
    await waitFor(() => gates.length === 2, "second request");
    gates[1]();
    await waitFor(() => gates.length === 3, "third request");
    await settle(20);
    assertEquals(cursor.position, c1.end, "c2 is only partly delivered");
    gates[2]();
    await waitFor(() => cursor.position.offset === c2.end.offset, "c2 acked");
    assertEquals(cursor.acks, [c1.end, c2.end]);
  } finally {
    for (const g of gates) g();
    await s.teardown();
  }
});

Deno.test("endpoint: a restart resumes from the cursor and re-sends only the unacked batch", async () => {
  const wal = new FakeWal();
  let block = false;
  const gate: (() => void)[] = [];
  const first = await setup({
    wal,
    queue: { maxSamplesPerSend: 2 },
    respond: () =>
      block
        ? new Promise<Response>((r) => gate.push(() => r(new Response(null, { status: 503 }))))
        : new Response(null, { status: 204 }),
  });
  try {
    wal.append(samples(2));
    await waitFor(() => first.ep.status().samplesSent === 2, "first batch");
    block = true;
    wal.append(samples(2, 1, 2));
    await waitFor(() => gate.length === 1, "second batch in flight");
    // Shut down: the drain deadline passes while the receiver hangs.
    await first.ep.close(1000);
    assertEquals(wal.cursor("ep").position, { segment: 0, offset: 100 });
  } finally {
    for (const g of gate) g();
    await first.teardown();
  }
  const second = await setup({ wal });
  try {
    await waitFor(() => second.ep.status().samplesSent === 2, "resent");
    assertEquals(flat(second.rx.accepted()), ["m1@2000=2", "m1@3000=3"]);
    await waitFor(() => wal.cursor("ep").position.offset === 200, "acked");
  } finally {
    await second.teardown();
  }
});

Deno.test("endpoint: a dead endpoint does not hold back another", async () => {
  const wal = new FakeWal();
  const dead = await setup({
    wal,
    name: "dead",
    queue: { maxSamplesPerSend: 2, capacity: 4, minBackoffMs: 10, maxBackoffMs: 20 },
    respond: () => new Response("overloaded", { status: 503 }),
  });
  const live = await setup({ wal, name: "live", queue: { maxSamplesPerSend: 2, capacity: 4 } });
  try {
    for (let i = 0; i < 10; i++) wal.append(samples(3, 1 + (i % 3), i * 3));
    await waitFor(() => live.ep.status().samplesSent === 30, "live delivered everything");
    assertEquals(live.wal.cursor("live").position.offset, 1000);
    const d = dead.ep.status();
    assertEquals(d.samplesSent, 0);
    assert(d.samplesRetried > 0, "dead endpoint retries");
    assert(d.samplesPending <= 4, `bounded buffer, got ${d.samplesPending}`);
    assertEquals(wal.cursor("dead").acks, []);
    // Closing the dead endpoint is bounded by its drain deadline.
    await dead.ep.close(50);
    assertEquals(wal.cursor("dead").position, { segment: 0, offset: 0 });
  } finally {
    await dead.teardown();
    await live.teardown();
  }
});

/** Runs `p` while firing the clock's pending sleeps one at a time. */
async function drive<T>(clock: TestClock, p: Promise<T>): Promise<T> {
  let finished = false;
  p.then(() => (finished = true), () => (finished = true));
  while (!finished) {
    await settle(5);
    clock.fireNext();
  }
  return await p;
}

Deno.test("endpoint: close sends partial batches and what was just committed, then stops", async () => {
  const s = await setup({
    auto: false,
    queue: { maxSamplesPerSend: 100, batchSendDeadlineMs: 60_000 },
  });
  try {
    s.wal.append(samples(3));
    await waitFor(() => s.ep.status().samplesPending === 3, "buffered");
    const start = s.clock.now();
    const closing = s.ep.close(10_000);
    s.wal.append(samples(2, 2)); // committed while draining
    await drive(s.clock, closing);
    assert(s.clock.now() - start < 10_000, "finished before the deadline");
    assertEquals(flat(s.rx.accepted()).sort(), [
      "m1@0=0",
      "m1@1000=1",
      "m1@2000=2",
      "m2@0=0",
      "m2@1000=1",
    ]);
    assertEquals(s.wal.cursor("ep").position.offset, 200);
    assert(!s.registry.expose().includes('remote_name="ep"'), "metrics removed on close");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: close gives up at the deadline while the receiver fails", async () => {
  const s = await setup({
    auto: false,
    queue: { maxSamplesPerSend: 1, minBackoffMs: 10, maxBackoffMs: 10 },
    respond: () => new Response(null, { status: 503 }),
  });
  try {
    s.wal.append(samples(2));
    await waitFor(() => s.rx.requests.length === 1, "first attempt");
    const start = s.clock.now();
    await drive(s.clock, s.ep.close(1_000));
    const took = s.clock.now() - start;
    assert(took >= 1_000 && took < 1_100, `stopped at the deadline, took ${took}`);
    assertEquals(s.ep.status().samplesSent, 0);
    assertEquals(s.wal.cursor("ep").acks, []);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: run aborted by its signal stops at once", async () => {
  const s = await setup({
    respond: () => new Response(null, { status: 500 }),
    queue: { minBackoffMs: 60_000, maxSamplesPerSend: 1 },
    auto: false,
  });
  s.wal.append(samples(1));
  await waitFor(() => s.rx.requests.length === 1, "first attempt");
  await s.teardown();
  assertEquals(s.ep.status().samplesSent, 0);
  assertEquals(s.wal.cursor("ep").acks, []);
});

import { emptyHistogram, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import type { DecodedWriteRequest } from "./codec.ts";
import { MIN_SPLIT_BODY_BYTES } from "./endpoint.ts";
import {
  accept,
  assert,
  assertEquals,
  type FakeSample,
  settle,
  startEndpoint,
  waitFor,
  writtenHeaders,
} from "./test_util.ts";

const T0 = 1_700_000_000_000;
const RW2 = "io.prometheus.write.v2.Request" as const;
const L = (o: Record<string, string>) => Labels.fromObject(o);

function samples(n: number, ref = 1, from = 0): FakeSample[] {
  return Array.from({ length: n }, (_, i) => [ref, T0 + (from + i) * 1000, from + i]);
}

/** `name@ts=value` of every float sample, in request order. */
function flat(reqs: DecodedWriteRequest[]): string[] {
  const out: string[] = [];
  for (const r of reqs) {
    for (const s of r.series) {
      const name = s.labels.find(([n]) => n === "__name__")?.[1] ?? "?";
      s.timestamps.forEach((t, i) => out.push(`${name}@${t - T0}=${s.values[i]}`));
    }
  }
  return out;
}

function hist(count: number): Histogram {
  return {
    ...emptyHistogram(),
    count,
    sum: count * 1.5,
    zeroCount: 0,
    positiveSpans: [{ offset: 0, length: 1 }],
    positiveBuckets: [count],
  };
}

const metricLabels = (url: string) => `remote_name="ep",url="${url}"`;

Deno.test("endpoint RW2: headers, symbols, inline metadata, start times, histograms and exemplars", async () => {
  const s = await startEndpoint({
    config: {
      protobufMessage: RW2,
      sendExemplars: true,
      sendNativeHistograms: true,
      queue: { maxSamplesPerSend: 100, batchSendDeadlineMs: 1000 },
    },
    series: 2,
  });
  try {
    s.wal.setMetadata(1, { type: "counter", help: "Ones.", unit: "seconds" });
    s.wal.append([[1, T0, 5], [1, T0 + 1000, 6]], {
      st: [T0 - 60_000, T0 - 60_000],
      histograms: [[2, T0, hist(3)], [2, T0 + 1000, "stale"]],
      exemplars: [[1, { labels: L({ trace_id: "abc" }), value: 5, ts: T0 }]],
    });
    await waitFor(() => s.ep.status().samplesSent === 2, "sent");
    const req = s.rx.requests[0];
    assertEquals(
      req.headers.get("content-type"),
      "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    );
    assertEquals(req.headers.get("x-prometheus-remote-write-version"), "2.0.0");
    const b = req.body;
    assertEquals([b.version, b.symbols[0], b.samples, b.histograms, b.exemplars], [2, "", 2, 2, 1]);
    const m1 = b.series.find((x) => x.labels[0][1] === "m1")!;
    assertEquals(m1.labels, [["__name__", "m1"], ["env", "prod"], ["job", "j"]]);
    assertEquals(m1.metadata, { type: "counter", help: "Ones.", unit: "seconds" });
    assertEquals(m1.startTimestamps, [T0 - 60_000, T0 - 60_000]);
    assertEquals(m1.exemplarList, [{ labels: [["trace_id", "abc"]], value: 5, timestamp: T0 }]);
    const hs = b.series.flatMap((x) => x.histograms);
    assertEquals(hs.map((h) => [h.timestamp - T0, h.count, h.stale]), [[0, 3, false], [
      1000,
      0,
      true,
    ]]);
    const st = s.ep.status();
    assertEquals([st.protocol, st.fellBack], [RW2, false]);
    assertEquals([st.histograms.sent, st.exemplars.sent, st.samplesFailed], [2, 1, 0]);
    await waitFor(() => s.ep.status().cursor.offset === 100, "acked");
    const text = s.registry.expose();
    const lbl = metricLabels(s.rx.url);
    for (
      const line of [
        `prometheus_remote_storage_samples_total{${lbl}} 2`,
        `prometheus_remote_storage_histograms_total{${lbl}} 2`,
        `prometheus_remote_storage_exemplars_total{${lbl}} 1`,
        `ferry_remote_storage_protocol{protobuf_message="${RW2}",${lbl}} 1`,
        `prometheus_remote_storage_queue_highest_timestamp_seconds{${lbl}} ${(T0 + 1000) / 1000}`,
        `prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${lbl}} ${
          (T0 + 1000) / 1000
        }`,
      ]
    ) assert(text.includes(line), `${line}\n${text}`);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: histograms and exemplars are not read unless enabled; RW 1.0 carries them when enabled", async () => {
  for (const enabled of [false, true]) {
    const s = await startEndpoint({
      config: {
        sendExemplars: enabled,
        sendNativeHistograms: enabled,
        queue: { maxSamplesPerSend: 3, batchSendDeadlineMs: 100 },
      },
      series: 2,
    });
    try {
      s.wal.append([[1, T0, 1]], {
        histograms: [[2, T0, hist(4)]],
        exemplars: [[1, { labels: L({ trace_id: "x" }), value: 1, ts: T0 }]],
      });
      await waitFor(() => s.ep.status().cursor.offset === 100, "acked");
      const got = s.rx.accepted();
      const sum = (f: (r: DecodedWriteRequest) => number) => got.reduce((a, r) => a + f(r), 0);
      assertEquals([sum((r) => r.samples), sum((r) => r.histograms), sum((r) => r.exemplars)], [
        1,
        enabled ? 1 : 0,
        enabled ? 1 : 0,
      ]);
      const st = s.ep.status();
      // Not enabled: not read at all (as Prometheus), so not counted as dropped either.
      assertEquals([st.histograms.dropped, st.exemplars.dropped], [0, 0]);
      assertEquals([st.histograms.sent, st.exemplars.sent], enabled ? [1, 1] : [0, 0]);
      if (enabled) assertEquals(got[0].version, 1);
    } finally {
      await s.teardown();
    }
  }
});

Deno.test("endpoint RW2: a 2xx without written headers is a failure, not retried (1.x receiver)", async () => {
  const s = await startEndpoint({
    config: { protobufMessage: RW2, queue: { maxSamplesPerSend: 2 } },
    respond: () => new Response(null, { status: 200 }),
  });
  try {
    s.wal.append(samples(2));
    s.wal.append(samples(2, 1, 2));
    await waitFor(() => s.ep.status().cursor.offset === 200, "acked past both");
    await settle(20);
    assertEquals(s.rx.requests.length, 2, "not retried");
    const st = s.ep.status();
    assertEquals([st.samplesSent, st.samplesFailed, st.samplesRetried], [0, 4, 0]);
    assert(st.lastError.includes("RW 1.x receiver"), st.lastError);
    assertEquals(st.lastSendTime, null);
    assert(
      s.registry.expose().includes(
        `prometheus_remote_storage_samples_failed_total{${metricLabels(s.rx.url)}} 4`,
      ),
    );
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: RW 2.0 written counts below what was sent count the difference as failed; RW 1.0 ignores them", async () => {
  for (const protocol of [RW2, "prometheus.WriteRequest" as const]) {
    const s = await startEndpoint({
      config: { protobufMessage: protocol, queue: { maxSamplesPerSend: 5 } },
      respond: (_i, body) =>
        new Response(null, {
          status: 204,
          headers: writtenHeaders(body, { samples: body.samples - 2 }),
        }),
    });
    try {
      s.wal.append(samples(5));
      await waitFor(() => s.ep.status().cursor.offset === 100, "acked");
      const st = s.ep.status();
      if (protocol === RW2) {
        assertEquals([st.samplesSent, st.samplesFailed, st.samplesRetried], [3, 2, 0], protocol);
        assert(st.lastError.startsWith("partial write"), st.lastError);
      } else {
        // The headers are RW 2.0's; a 1.x receiver's 2xx is the whole answer.
        assertEquals([st.samplesSent, st.samplesFailed, st.samplesRetried], [5, 0, 0], protocol);
        assertEquals(st.lastError, "");
      }
      assertEquals(s.rx.requests.length, 1);
    } finally {
      await s.teardown();
    }
  }
});

Deno.test("endpoint: 415 to RW 2.0 falls back to RW 1.0 for good when enabled, resending the batch", async () => {
  const s = await startEndpoint({
    config: { protobufMessage: RW2, fallbackToRw1: true, queue: { maxSamplesPerSend: 2 } },
    respond: (_i, body) =>
      body.version === 2
        ? new Response("RW 2.0 not supported", { status: 415 })
        : new Response(null, { status: 204 }),
  });
  try {
    s.wal.append(samples(2));
    await waitFor(() => s.ep.status().samplesSent === 2, "first batch");
    s.wal.append(samples(2, 1, 2));
    await waitFor(() => s.ep.status().samplesSent === 4, "second batch");
    assertEquals(s.rx.requests.map((r) => [r.body.version, r.status]), [[2, 415], [1, 204], [
      1,
      204,
    ]]);
    assertEquals(s.rx.requests[1].headers.get("content-type"), "application/x-protobuf");
    assertEquals(s.rx.requests[1].headers.get("x-prometheus-remote-write-version"), "0.1.0");
    assertEquals(flat(s.rx.accepted()), ["m1@0=0", "m1@1000=1", "m1@2000=2", "m1@3000=3"]);
    const st = s.ep.status();
    assertEquals([st.protocol, st.fellBack, st.samplesFailed], [
      "prometheus.WriteRequest",
      true,
      0,
    ]);
    const text = s.registry.expose();
    const lbl = metricLabels(s.rx.url);
    assert(text.includes(`ferry_remote_storage_protocol_fallbacks_total{${lbl}} 1`), text);
    assert(
      text.includes(
        `ferry_remote_storage_protocol{protobuf_message="prometheus.WriteRequest",${lbl}} 1`,
      ),
      text,
    );
    assert(!text.includes(`protobuf_message="${RW2}"`), "the old protocol series is gone");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: without fallback, 415 is a permanent failure", async () => {
  const s = await startEndpoint({
    config: { protobufMessage: RW2, queue: { maxSamplesPerSend: 2 } },
    respond: () => new Response(null, { status: 415 }),
  });
  try {
    s.wal.append(samples(2));
    s.wal.append(samples(2, 1, 2));
    await waitFor(() => s.ep.status().cursor.offset === 200, "acked");
    assertEquals(s.rx.requests.map((r) => r.body.version), [2, 2]);
    const st = s.ep.status();
    assertEquals([st.protocol, st.fellBack, st.samplesFailed, st.samplesRetried], [
      RW2,
      false,
      4,
      0,
    ]);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: 413 splits the batch until the halves fit; everything arrives once, in order", async () => {
  const limit = 2 * MIN_SPLIT_BODY_BYTES;
  for (const series of [1, 20]) {
    const s = await startEndpoint({
      config: { queue: { maxSamplesPerSend: 6000, capacity: 6000, batchSendDeadlineMs: 100 } },
      series,
      respond: (_i, body, req) =>
        Number(req.headers.get("content-length")) > limit
          ? new Response("too large", { status: 413 })
          : accept(body),
    });
    try {
      // Values that do not compress, so bodies are big.
      let x = 12345;
      const chunk: FakeSample[] = [];
      for (let i = 0; i < 6000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        chunk.push([1 + (i % series), T0 + i, x / 7]);
      }
      s.wal.append(chunk);
      await waitFor(() => s.ep.status().cursor.offset === 100, "acked", 10_000);
      const st = s.ep.status();
      assertEquals([st.samplesSent, st.samplesFailed], [6000, 0], `${series} series`);
      assert(st.samplesRetried > 0, "the split batches count as retried");
      const statuses = s.rx.requests.map((r) => r.status);
      assert(statuses.filter((c) => c === 413).length >= 1, `${statuses}`);
      assert(s.rx.requests.every((r) => r.status !== 204 || r.size <= limit), "sizes");
      // Per series: every sample once, in timestamp order.
      const per = new Map<string, number[]>();
      for (const r of s.rx.accepted()) {
        for (const x of r.series) {
          const k = x.labels[0][1];
          per.set(k, [...(per.get(k) ?? []), ...x.timestamps]);
        }
      }
      assertEquals(per.size, series);
      for (const [k, ts] of per) {
        const r = Number(k.slice(1)) - 1;
        const want = Array.from({ length: 6000 / series }, (_, i) => T0 + i * series + r);
        assertEquals(ts, want, k);
      }
    } finally {
      await s.teardown();
    }
  }
});

Deno.test("endpoint: 413 to a small body or a single item drops it as failed", async () => {
  const s = await startEndpoint({
    config: { queue: { maxSamplesPerSend: 10 } },
    respond: () => new Response("too large", { status: 413 }),
  });
  try {
    s.wal.append(samples(10));
    await waitFor(() => s.ep.status().cursor.offset === 100, "acked");
    assertEquals(s.rx.requests.length, 1, "a small body is not split");
    assertEquals(s.ep.status().samplesFailed, 10);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: Retry-After as an HTTP date, and capped at max(max_backoff, 5m)", async () => {
  let now = () => 0;
  let calls = 0;
  const s = await startEndpoint({
    config: { queue: { retryOnHttp429: true, maxBackoffMs: 5_000, maxSamplesPerSend: 3 } },
    respond: () => {
      calls++;
      if (calls === 1) {
        const at = new Date(Math.ceil((now() + 7_000) / 1000) * 1000).toUTCString();
        return new Response(null, { status: 503, headers: { "retry-after": at } });
      }
      if (calls === 2) {
        return new Response(null, { status: 429, headers: { "retry-after": "3600" } });
      }
      return new Response(null, { status: 204 });
    },
    auto: false,
  });
  now = () => s.clock.now();
  try {
    s.wal.append(samples(3));
    await waitFor(() => calls === 1, "first");
    await waitFor(() => s.clock.requested.some((ms) => ms >= 7_000 && ms < 8_000), "7s wait");
    s.clock.advance(8_000);
    await waitFor(() => calls === 2, "second");
    await waitFor(() => s.clock.requested.includes(300_000), "capped wait");
    s.clock.advance(300_000);
    await waitFor(() => s.ep.status().samplesSent === 3, "sent");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: sample_age_limit drops old samples when read and before a retry", async () => {
  const s = await startEndpoint({
    config: { queue: { sampleAgeLimitMs: 10_000, maxSamplesPerSend: 2 } },
    respond: (i) =>
      i === 0
        ? new Response(null, { status: 503, headers: { "retry-after": "15" } })
        : new Response(null, { status: 204 }),
    auto: false,
  });
  try {
    const now = s.clock.now();
    s.wal.append([[1, now - 20_000, 1], [1, now, 2], [2, now, 3]]);
    await waitFor(() => s.rx.requests.length === 1, "first attempt");
    assertEquals(s.rx.requests[0].body.samples, 2, "the old sample was dropped when read");
    await waitFor(() => s.clock.requested.includes(15_000), "retry wait");
    s.clock.advance(15_000);
    await waitFor(() => s.ep.status().cursor.offset === 100, "acked");
    await settle(20);
    assertEquals(s.rx.requests.length, 1, "nothing left to retry");
    const st = s.ep.status();
    assertEquals([st.samplesDropped, st.samplesSent, st.samplesFailed], [3, 0, 0]);
    assert(
      s.registry.expose().includes(
        `prometheus_remote_storage_samples_dropped_total{reason="too_old",${
          metricLabels(s.rx.url)
        }} 3`,
      ),
    );
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint RW1: metadata requests every send_interval, batched, retried, separate from samples", async () => {
  const families = [
    { metric: "a_total", type: "counter", help: "A.", unit: "" },
    { metric: "b", type: "gauge", help: "", unit: "bytes" },
    { metric: "a_total", type: "counter", help: "duplicate", unit: "" },
    { metric: "c", type: "untyped", help: "C.", unit: "" },
  ];
  let metadataCalls = 0;
  const s = await startEndpoint({
    config: { metadata: { sendIntervalMs: 1_000, maxSamplesPerSend: 2 } },
    deps: { metadata: () => families },
    respond: (_i, body) => {
      // Retry-After: 0 means the usual backoff (30 ms below), not an immediate retry.
      if (body.metadata > 0 && ++metadataCalls === 1) {
        return new Response(null, { status: 503, headers: { "retry-after": "0" } });
      }
      return accept(body);
    },
    auto: false,
  });
  try {
    await settle(10);
    assertEquals(s.rx.requests.length, 0, "nothing before the interval");
    s.clock.advance(1_000);
    await waitFor(() => s.rx.requests.length === 1, "first metadata request");
    await waitFor(() => s.clock.requested.includes(30), "backoff");
    s.clock.advance(30);
    await waitFor(() => s.rx.requests.length === 3, "retried, then the rest");
    const lists = s.rx.requests.map((r) => r.body.metadataList.map((m) => [m.family, m.type]));
    assertEquals(lists, [
      [["a_total", "counter"], ["b", "gauge"]],
      [["a_total", "counter"], ["b", "gauge"]],
      [["c", "unknown"]],
    ]);
    assertEquals(s.rx.requests[2].body.metadataList[0].help, "C.");
    assertEquals(s.rx.requests.map((r) => r.body.samples), [0, 0, 0]);
    const text = s.registry.expose();
    const lbl = metricLabels(s.rx.url);
    assert(text.includes(`prometheus_remote_storage_metadata_total{${lbl}} 3`), text);
    assert(text.includes(`prometheus_remote_storage_metadata_retried_total{${lbl}} 2`), text);
    assert(!text.includes(`prometheus_remote_storage_metadata_bytes_total{${lbl}} 0`), text);
    s.clock.advance(1_000);
    await waitFor(() => s.rx.requests.length === 5, "the next round");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint RW1: a receiver that keeps failing metadata does not hold up samples", async () => {
  const s = await startEndpoint({
    config: { metadata: { sendIntervalMs: 1_000 }, queue: { maxSamplesPerSend: 2 } },
    deps: { metadata: () => [{ metric: "a", type: "gauge", help: "", unit: "" }] },
    respond: (_i, body) => body.metadata > 0 ? new Response(null, { status: 500 }) : accept(body),
  });
  try {
    s.wal.append(samples(2));
    await waitFor(() => s.rx.requests.some((r) => r.body.metadata > 0 && r.status === 500), "md");
    s.wal.append(samples(2, 1, 2));
    await waitFor(() => s.ep.status().samplesSent === 4, "samples flow");
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint RW2: no metadata requests (metadata goes inline)", async () => {
  const s = await startEndpoint({
    config: { protobufMessage: RW2, metadata: { sendIntervalMs: 1_000 } },
    deps: { metadata: () => [{ metric: "a", type: "gauge", help: "", unit: "" }] },
    auto: false,
  });
  try {
    for (let i = 0; i < 3; i++) {
      s.clock.advance(1_000);
      await settle(5);
    }
    assertEquals(s.rx.requests.length, 0);
  } finally {
    await s.teardown();
  }
});

Deno.test("endpoint: metric names and labels", async () => {
  const s = await startEndpoint({
    config: { queue: { minShards: 2, maxShards: 7, capacity: 500, maxSamplesPerSend: 100 } },
  });
  try {
    s.wal.append(samples(3));
    await waitFor(() => s.ep.status().samplesSent === 3, "sent");
    const text = s.registry.expose();
    const lbl = metricLabels(s.rx.url);
    const want = [
      ...["samples", "histograms", "exemplars"].flatMap((k) => [
        `prometheus_remote_storage_${k}_total{${lbl}}`,
        `prometheus_remote_storage_${k}_failed_total{${lbl}}`,
        `prometheus_remote_storage_${k}_retried_total{${lbl}}`,
        `prometheus_remote_storage_${k}_pending{${lbl}} 0`,
      ]),
      `prometheus_remote_storage_samples_dropped_total{reason="dropped_series",${lbl}}`,
      `prometheus_remote_storage_samples_dropped_total{reason="too_old",${lbl}}`,
      `prometheus_remote_storage_bytes_total{${lbl}}`,
      `prometheus_remote_storage_sent_batch_duration_seconds_bucket{${lbl},le="300"}`,
      `prometheus_remote_storage_queue_highest_timestamp_seconds{${lbl}}`,
      `prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${lbl}}`,
      `prometheus_remote_storage_shards{${lbl}} 2`,
      `prometheus_remote_storage_shards_desired{${lbl}}`,
      `prometheus_remote_storage_shards_min{${lbl}} 2`,
      `prometheus_remote_storage_shards_max{${lbl}} 7`,
      `prometheus_remote_storage_shard_capacity{${lbl}} 500`,
      `prometheus_remote_storage_max_samples_per_send{${lbl}} 100`,
      `prometheus_remote_storage_metadata_total{${lbl}}`,
      `prometheus_remote_storage_metadata_failed_total{${lbl}}`,
      `prometheus_remote_storage_metadata_retried_total{${lbl}}`,
      `prometheus_remote_storage_metadata_bytes_total{${lbl}}`,
      `ferry_remote_storage_protocol_fallbacks_total{${lbl}} 0`,
      `ferry_remote_storage_protocol{protobuf_message="prometheus.WriteRequest",${lbl}} 1`,
    ];
    for (const w of want) assert(text.includes(w), `missing ${w}`);
    assertEquals([s.ep.status().shards, s.ep.status().minShards, s.ep.status().maxShards], [
      2,
      2,
      7,
    ]);
    await s.ep.close(1_000);
    assert(!s.registry.expose().includes('remote_name="ep"'), "all removed on close");
  } finally {
    await s.teardown();
  }
});

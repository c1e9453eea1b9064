import bcrypt from "bcryptjs";
import { DEFAULT_PUSH } from "../config/resolve.ts";
import type { ResolvedPushConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { emptyHistogram, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import {
  encodeMetadataRequest,
  encodeWriteRequest,
  encodeWriteRequestV2,
  snappyEncode,
  WriteBatch,
} from "../remote/codec.ts";
import { RecordingDb } from "../scrape/testutil.ts";
import { metric } from "../storage/testutil.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { createHandler } from "../web/api.ts";
import type { AgentStatusProvider } from "../web/status.ts";
import { createPushHandlers } from "./handler.ts";
import { PushIngester } from "./ingest.ts";
import { TokenBucket } from "./limits.ts";
import { textFormatOf, WRITTEN } from "./protocol.ts";

const T0 = 1_700_000_000_000;
const NOW = 1_800_000_000_000;
const CT_V1 = "application/x-protobuf";
const CT_V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
const WRITE = "http://x/api/v1/write";
const IMPORT = "http://x/api/v1/import/prometheus";

const UP = Labels.fromObject({ __name__: "up", job: "node" });
const LAT = Labels.fromObject({ __name__: "rpc_seconds", job: "api" });

function hist(): Histogram {
  return {
    ...emptyHistogram(),
    schema: 3,
    count: 3,
    sum: 1.5,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [1, 1],
  };
}

function floats(n = 2): WriteBatch {
  const b = new WriteBatch(64);
  for (let i = 0; i < n; i++) b.add(1, UP, T0 + i * 1000, i, false);
  return b;
}

function mixed(): WriteBatch {
  const b = floats();
  b.add(1, UP, T0 + 5000, 0, true, 0);
  b.addHistogram(3, LAT, T0, hist(), false, T0 - 1000);
  b.addExemplar(3, LAT, { labels: Labels.fromObject({ trace_id: "abc" }), value: 0.5, ts: T0 });
  return b;
}

const META: Record<number, MetricMetadata> = {
  3: { type: "histogram", help: "RPC latency.", unit: "seconds" },
};

interface Setup {
  db: RecordingDb;
  registry: Registry;
  ingester: PushIngester;
  handle: (req: Request) => Promise<Response>;
  clock: { t: number };
}

/** The web handler with push enabled over a recording db. */
function setup(over: Partial<ResolvedPushConfig> = {}): Setup {
  const db = new RecordingDb();
  const registry = new Registry();
  const clock = { t: 0 };
  const ingester = new PushIngester({
    appendable: db,
    registry,
    config: { ...DEFAULT_PUSH, ...over },
    monotonic: () => clock.t,
  });
  const handle = createHandler({
    status: status(),
    registry,
    push: createPushHandlers(ingester, { now: () => NOW }),
  });
  return { db, registry, ingester, handle, clock };
}

function status(): AgentStatusProvider {
  return {
    startTime: 0,
    version: "test",
    ready: () => true,
    targets: () => [],
    droppedTargets: () => [],
    endpoints: () => [],
  } as unknown as AgentStatusProvider;
}

function rw(
  body: Uint8Array,
  ct: string | null = CT_V1,
  extra: Record<string, string> = {},
  url = WRITE,
): Request {
  const headers = new Headers({ "content-encoding": "snappy", ...extra });
  if (ct !== null) headers.set("content-type", ct);
  return new Request(url, { method: "POST", body: body as Uint8Array<ArrayBuffer>, headers });
}

function text(body: string, ct: string | null = "text/plain; version=0.0.4", url = IMPORT) {
  const headers = new Headers();
  if (ct !== null) headers.set("content-type", ct);
  return new Request(url, { method: "POST", body, headers });
}

const v1 = (b = floats()) => snappyEncode(encodeWriteRequest(b));
const v2 = (b = mixed()) => snappyEncode(encodeWriteRequestV2(b, { metadata: (k) => META[k] }));

function written(res: Response): (string | null)[] {
  return Object.values(WRITTEN).map((h) => res.headers.get(h));
}

/** Every committed record, flattened, as `series t v`. */
function stored(db: RecordingDb): string[] {
  return db.committed.flat().map((r) => `${r.series} ${r.t} ${r.v}${r.st ? ` st=${r.st}` : ""}`);
}

Deno.test("push: RW 1.0 is stored as sent and answered 204 without Written headers", async () => {
  const s = setup();
  const res = await s.handle(rw(v1()));
  assertEquals(res.status, 204);
  assertEquals(written(res), [null, null, null]);
  assertEquals(stored(s.db), [`${UP} ${T0} 0`, `${UP} ${T0 + 1000} 1`]);
  assertEquals(
    metric(s.registry, "ferry_push_samples_ingested_total", { protocol: "rw1", kind: "float" }),
    2,
  );
  assertEquals(
    metric(s.registry, "ferry_push_requests_total", { protocol: "rw1", code: "204" }),
    1,
  );
});

Deno.test("push: RW 1.0 metadata entries go to their family's series", async () => {
  const s = setup();
  const md = encodeMetadataRequest([
    { family: "up", metadata: { type: "gauge", help: "Up.", unit: "" } },
  ]);
  // Concatenated protobuf messages merge: samples and metadata in one request.
  const samples = encodeWriteRequest(floats(1));
  const both = new Uint8Array(samples.length + md.length);
  both.set(samples);
  both.set(md, samples.length);
  assertEquals((await s.handle(rw(snappyEncode(both)))).status, 204);
  assertEquals(s.db.metadata.flat().map((m) => [m.series, m.m]), [
    [UP.toString(), { type: "gauge", help: "Up.", unit: "" }],
  ]);
  // Kept for the RW 1.0 metadata requests of the agent's endpoints.
  assertEquals([...s.ingester.families()], [{
    metric: "up",
    type: "gauge",
    help: "Up.",
    unit: "",
  }]);
});

Deno.test("push: RW 2.0 stores floats, markers, histograms, exemplars, metadata; Written headers", async () => {
  const s = setup();
  const res = await s.handle(rw(v2(), CT_V2));
  assertEquals(res.status, 204);
  assertEquals(written(res), ["3", "1", "1"]);
  const recs = s.db.committed.flat();
  assertEquals(recs.map((r) => [r.series, r.t, r.v, r.st ?? 0]), [
    [UP.toString(), T0, 0, 0],
    [UP.toString(), T0 + 1000, 1, 0],
    [UP.toString(), T0 + 5000, "stale", 0],
    [LAT.toString(), T0, "histogram", T0 - 1000],
  ]);
  assertEquals(recs[3].h?.count, 3);
  assertEquals(s.db.exemplars.flat().map((e) => [e.series, e.e.value, e.e.ts]), [
    [LAT.toString(), 0.5, T0],
  ]);
  assertEquals(s.db.metadata.flat().map((m) => [m.series, m.m]), [
    [LAT.toString(), META[3]],
  ]);
});

Deno.test("push: Content-Type and Content-Encoding negotiation (415) and garbage (400)", async () => {
  const s = setup();
  const cases: [Request, number, string][] = [
    [rw(v1(), "application/json"), 415, "unsupported Content-Type"],
    [rw(v1(), "application/x-protobuf;proto=io.prometheus.write.v3.Request"), 415, "proto"],
    [rw(v1(), CT_V1, { "content-encoding": "gzip" }), 415, "want snappy"],
    [rw(new Uint8Array([1, 2, 3, 4, 5])), 400, ""],
    [rw(snappyEncode(new Uint8Array([0xff, 0xff, 0xff]))), 400, ""],
    [text("up{ 1\n"), 400, "cannot parse"],
    [text("up 1\n", "application/json"), 415, "want text/plain"],
  ];
  for (const [req, status, msg] of cases) {
    const res = await s.handle(req);
    assertEquals(res.status, status, `${req.headers.get("content-type")}`);
    assertStringIncludes(await res.text(), msg);
  }
  // RW 2.0 errors still carry the Written headers (all 0).
  const bad = await s.handle(rw(new Uint8Array([9, 9, 9]), CT_V2));
  assertEquals(bad.status, 400);
  assertEquals(written(bad), ["0", "0", "0"]);
  assertEquals(stored(s.db), []);
});

Deno.test("push: unsorted labels are refused with 400", async () => {
  const s = setup();
  const b = new WriteBatch(4);
  // Labels built unsorted on the wire: encode by hand through fromSortedFlat's trust.
  b.add(1, Labels.fromSortedFlat(["job", "a", "__name__", "x"]), T0, 1, false);
  const res = await s.handle(rw(v1(b)));
  assertEquals(res.status, 400);
  assertStringIncludes(await res.text(), "not sorted");
});

Deno.test("push: text 0.0.4 with and without timestamps, metadata; extra_label", async () => {
  const s = setup();
  const body = "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\n" +
    `jobs_total{kind="a"} 3 ${T0}\njobs_total{kind="b"} 4\n`;
  const res = await s.handle(text(body, "text/plain", `${IMPORT}?extra_label=instance=batch-1`));
  assertEquals(res.status, 204);
  assertEquals(stored(s.db), [
    `{__name__="jobs_total", instance="batch-1", kind="a"} ${T0} 3`,
    `{__name__="jobs_total", instance="batch-1", kind="b"} ${NOW} 4`,
  ]);
  assertEquals(s.db.metadata.flat().map((m) => m.m), [
    { type: "counter", help: "Jobs done.", unit: "" },
    { type: "counter", help: "Jobs done.", unit: "" },
  ]);
  // curl's default Content-Type and none at all are read as the text format.
  for (const ct of ["application/x-www-form-urlencoded", null]) {
    assertEquals((await s.handle(text("up 1\n", ct))).status, 204);
  }
  const bad = await s.handle(text("up 1\n", "text/plain", `${IMPORT}?extra_label=novalue`));
  assertEquals(bad.status, 400);
});

Deno.test("push: OpenMetrics with exemplars, _created and UNIT", async () => {
  const s = setup();
  const body = "# TYPE req_requests counter\n# UNIT req_requests requests\n" +
    "# HELP req_requests Requests.\n" +
    `req_requests_total 10 ${T0 / 1000} # {trace_id="t1"} 1 ${T0 / 1000}\n` +
    `req_requests_created ${(T0 - 60_000) / 1000}\n# EOF\n`;
  const res = await s.handle(text(body, "application/openmetrics-text; version=1.0.0"));
  assertEquals(res.status, 204, await res.clone().text());
  // As in a scrape, the _created line is a series too (and the start time of its family).
  assertEquals(stored(s.db), [
    `{__name__="req_requests_total"} ${T0} 10 st=${T0 - 60_000}`,
    `{__name__="req_requests_created"} ${NOW} ${(T0 - 60_000) / 1000} st=${T0 - 60_000}`,
  ]);
  assertEquals(s.db.exemplars.flat().map((e) => [e.e.labels.toString(), e.e.ts]), [
    ['{trace_id="t1"}', T0],
  ]);
  assertEquals(s.db.metadata.flat().map((m) => m.m), [
    { type: "counter", help: "Requests.", unit: "requests" },
  ]);
  assertEquals(textFormatOf("application/openmetrics-text; version=0.0.1"), "OpenMetricsText0.0.1");
});

Deno.test("push: body over bodySizeLimit gets 413, before and while reading", async () => {
  const s = setup({ bodySizeLimit: 64 });
  const big = "x".repeat(200);
  const declared = await s.handle(text(big));
  assertEquals(declared.status, 413);
  // A streamed body (no Content-Length) is cut as it passes the limit.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("a".repeat(20)));
      c.close();
    },
  });
  const res = await s.handle(
    new Request(IMPORT, {
      method: "POST",
      body: stream,
      headers: { "content-type": "text/plain" },
    }),
  );
  assertEquals(res.status, 413);
  assertStringIncludes(await res.text(), "exceeds limit 64");
  assertEquals(stored(s.db), []);
});

Deno.test("push: sampleLimit gets 413 and stores nothing", async () => {
  const s = setup({ sampleLimit: 3 });
  assertEquals((await s.handle(rw(v1(floats(3))))).status, 204);
  const res = await s.handle(rw(v1(floats(4))));
  assertEquals(res.status, 413);
  assertStringIncludes(await res.text(), "exceed the limit of 3");
  assertEquals(stored(s.db).length, 3);
  assertEquals(
    metric(s.registry, "ferry_push_samples_rejected_total", { reason: "sample_limit" }),
    4,
  );
});

Deno.test("push: the rate limit answers 429 with Retry-After, and refills", async () => {
  const s = setup({ rateLimit: 2, rateLimitBurst: 4 });
  assertEquals((await s.handle(rw(v1(floats(4))))).status, 204);
  const res = await s.handle(rw(v1(floats(2))));
  assertEquals(res.status, 429);
  assertEquals(res.headers.get("retry-after"), "1");
  s.clock.t += 1000; // 2 tokens back
  assertEquals((await s.handle(rw(v1(floats(2))))).status, 204);
  const v2res = await s.handle(rw(v2(), CT_V2));
  assertEquals(v2res.status, 429);
  assertEquals(v2res.headers.get("retry-after"), "2");
  assertEquals(written(v2res), ["0", "0", "0"]);
  assertEquals(stored(s.db).length, 6);
  assertEquals(
    metric(s.registry, "ferry_push_samples_rejected_total", { reason: "rate_limited" }),
    6,
  );
});

Deno.test("TokenBucket: a request over the burst passes when full and leaves a debt", () => {
  let t = 0;
  const b = new TokenBucket(10, 5, () => t);
  assertEquals(b.take(20), 0); // full bucket: passes, tokens -15
  assertEquals(b.take(1), 2); // needs 1: 16 tokens short at 10/s → 2 s
  t += 1600;
  assertEquals(b.take(1), 0);
  b.configure(100, 5);
  t += 1000;
  assertEquals(b.take(5), 0);
});

Deno.test("push: push-specific basic auth answers 401 without valid credentials", async () => {
  const s = setup({ basicAuthUsers: { edge: bcrypt.hashSync("s3cret", 4) } });
  const auth = (u: string, p: string) => ({ authorization: `Basic ${btoa(`${u}:${p}`)}` });
  const none = await s.handle(rw(v1()));
  assertEquals(none.status, 401);
  assertEquals(none.headers.get("www-authenticate"), 'Basic realm="ferry"');
  assertEquals((await s.handle(rw(v1(), CT_V1, auth("edge", "wrong")))).status, 401);
  assertEquals((await s.handle(rw(v1(), CT_V1, auth("edge", "s3cret")))).status, 204);
  const t = text("up 1\n");
  t.headers.set("authorization", auth("edge", "s3cret").authorization);
  assertEquals((await s.handle(t)).status, 204);
  assertEquals((await s.handle(text("up 1\n"))).status, 401);
  // Other paths are not guarded by the push users.
  assertEquals((await s.handle(new Request("http://x/metrics"))).status, 200);
});

Deno.test("push: relabel stage drops and rewrites; extraLabels override pushed labels", async () => {
  const s = setup({
    extraLabels: { source: "push", job: "forced" },
    relabelConfigs: [
      {
        action: "drop",
        sourceLabels: ["__name__"],
        regex: "debug_.*",
        separator: ";",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
      },
      {
        action: "replace",
        sourceLabels: ["env"],
        regex: "prod(.*)",
        separator: ";",
        modulus: 0,
        targetLabel: "tier",
        replacement: "p$1",
      },
      {
        action: "labeldrop",
        sourceLabels: [],
        regex: "env",
        separator: ";",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
      },
    ],
  });
  const body = `debug_x 1 ${T0}\nreq{env="prod-eu",job="j"} 2 ${T0}\n`;
  const res = await s.handle(text(body, "text/plain", `${IMPORT}?extra_label=source=client`));
  assertEquals(res.status, 204);
  assertEquals(stored(s.db), [
    `{__name__="req", job="forced", source="push", tier="p-eu"} ${T0} 2`,
  ]);
  assertEquals(
    metric(s.registry, "ferry_push_samples_rejected_total", { reason: "relabel_dropped" }),
    1,
  );
  // RW 2.0's Written headers count what was stored.
  const b = floats(2);
  b.add(2, Labels.fromObject({ __name__: "debug_y" }), T0, 1, false);
  const r2 = await s.handle(rw(v2(b), CT_V2));
  assertEquals(written(r2), ["2", "0", "0"]);
});

Deno.test("push: a failing WAL write answers 500 so the client retries", async () => {
  const s = setup();
  s.db.failCommit = true;
  const res = await s.handle(rw(v2(), CT_V2));
  assertEquals(res.status, 500);
  assertStringIncludes(await res.text(), "cannot write to the WAL");
  assertEquals(written(res), ["0", "0", "0"]);
  assertEquals(metric(s.registry, "ferry_push_samples_rejected_total", { reason: "storage" }), 4);
});

Deno.test("push: disabled receiver answers 404 with Prometheus' message", async () => {
  const handle = createHandler({ status: status(), registry: new Registry() });
  for (const url of [WRITE, IMPORT]) {
    const res = await handle(new Request(url, { method: "POST", body: "x" }));
    assertEquals(res.status, 404);
    assertStringIncludes(await res.text(), "--web.enable-remote-write-receiver");
  }
  // GET on the push endpoints: 405, as for other POST-only API paths.
  const s = setup();
  const get = await s.handle(new Request(WRITE));
  assertEquals(get.status, 405);
  assert(get.headers.get("allow")?.includes("POST"));
});

import fc from "fast-check";
import { Labels } from "../model/labels.ts";
import { emptyHistogram, type Histogram } from "../model/histogram.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import {
  encodeMetadataRequest,
  encodeWriteRequest,
  encodeWriteRequestV2,
  snappyEncode,
  WriteBatch,
} from "../remote/codec.ts";
import { RemoteWriteClient } from "../remote/client.ts";
import { WriteRequestType } from "../remote/proto/rw1.ts";
import { RequestV2Type } from "../remote/proto/rw2.ts";
import { rwConfig } from "../remote/test_util.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import {
  FAIL_EVERY_STATUS,
  parseListen,
  protocolOf,
  type ReceiverOptions,
  renderHistogram,
  runReceiver,
} from "./receive.ts";

const T0 = 1_700_000_000_000;
const CT_V1 = "application/x-protobuf";
const CT_V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
const WRITTEN = [
  "x-prometheus-remote-write-samples-written",
  "x-prometheus-remote-write-histograms-written",
  "x-prometheus-remote-write-exemplars-written",
];

async function withReceiver(
  opts: Omit<ReceiverOptions, "listen">,
  fn: (url: string, lines: string[]) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const ctl = new AbortController();
  const { port, finished } = await runReceiver({
    listen: "127.0.0.1:0",
    signal: ctl.signal,
    out: (l) => lines.push(l),
    ...opts,
  });
  try {
    assertEquals(lines, [`listening on http://127.0.0.1:${port}/api/v1/write`]);
    lines.length = 0;
    await fn(`http://127.0.0.1:${port}`, lines);
  } finally {
    ctl.abort();
    await finished;
  }
}

const UP = Labels.fromObject({ __name__: "up", job: "node" });
const TEMP = Labels.fromObject({ __name__: "temp", room: 'a "b"' });
const LAT = Labels.fromObject({ __name__: "rpc_seconds", job: "api" });

/** Two float series, one staleness marker. */
function floatBatch(): WriteBatch {
  const b = new WriteBatch(16);
  b.add(1, UP, T0, 1, false);
  b.add(2, TEMP, T0 + 500, 21.5, false, T0 - 60_000);
  b.add(1, UP, T0 + 1000, 0, true);
  return b;
}

/** An integer native histogram: buckets [0:2] with deltas 1, 2 → counts 1, 3. */
function hist(): Histogram {
  return {
    ...emptyHistogram(),
    schema: 3,
    zeroThreshold: 0.001,
    zeroCount: 2,
    count: 6,
    sum: 12.5,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [1, 2],
  };
}

/** Floats, a histogram, a stale histogram and an exemplar. */
function mixedBatch(): WriteBatch {
  const b = floatBatch();
  b.addHistogram(3, LAT, T0, hist(), false, T0 - 1000);
  b.addHistogram(3, LAT, T0 + 1000, emptyHistogram(), true);
  b.addExemplar(3, LAT, { labels: Labels.fromObject({ trace_id: "abc" }), value: 0.05, ts: T0 });
  return b;
}

const META: Record<number, MetricMetadata> = {
  1: { type: "gauge", help: "Up.", unit: "" },
  3: { type: "histogram", help: "RPC latency.", unit: "seconds" },
};

const v1Body = (b = floatBatch()) => snappyEncode(encodeWriteRequest(b));
const v2Body = (b = mixedBatch()) =>
  snappyEncode(encodeWriteRequestV2(b, { metadata: (k) => META[k] }));

async function post(url: string, body: Uint8Array, headers: Record<string, string | null> = {}) {
  const h = new Headers({ "content-encoding": "snappy", "content-type": CT_V1 });
  for (const [k, v] of Object.entries(headers)) v === null ? h.delete(k) : h.set(k, v);
  const res = await fetch(url, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: h,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function written(h: Headers): (string | null)[] {
  return WRITTEN.map((n) => h.get(n));
}

Deno.test("receive: RW 1.0 end to end with the encoder and the client", async () => {
  await withReceiver({ print: true }, async (base, lines) => {
    const body = v1Body();
    const client = new RemoteWriteClient(rwConfig(`${base}/api/v1/write`), { version: "t" });
    const res = await client.send(body);
    assertEquals([res.kind, res.status], ["ok", 204]);
    assertEquals(lines, [
      `v1 series=2 samples=3 stale=1 histograms=0 exemplars=0 metadata=0 bytes=${body.length} ` +
      `first_ts=${T0} last_ts=${T0 + 1000} status=204`,
      '  {__name__="up", job="node"}',
      `    ${T0} 1`,
      `    ${T0 + 1000} stale`,
      '  {__name__="temp", room="a \\"b\\""}',
      `    ${T0 + 500} 21.5`,
    ]);
  });
});

Deno.test("receive: RW 2.0 with the client: Written headers carry the real counts", async () => {
  await withReceiver({}, async (base, lines) => {
    const client = new RemoteWriteClient(
      rwConfig(`${base}/api/v1/write`, { protobufMessage: "io.prometheus.write.v2.Request" }),
      { version: "t" },
    );
    const res = await client.send(v2Body(), { protocol: "io.prometheus.write.v2.Request" });
    assert(res.kind === "ok", JSON.stringify(res));
    assertEquals(res.written, { samples: 3, histograms: 2, exemplars: 1 });
    assertEquals(lines.length, 1);
    assert(
      lines[0].startsWith(
        "v2 series=3 samples=3 stale=2 histograms=2 exemplars=1 metadata=2 bytes=",
      ),
      lines[0],
    );
    assert(lines[0].endsWith(`first_ts=${T0} last_ts=${T0 + 1000} status=204`), lines[0]);
  });
});

Deno.test("receive: --print shows RW 2.0 start timestamps, metadata, histograms, exemplars", async () => {
  await withReceiver({ print: true }, async (base, lines) => {
    const res = await post(`${base}/api/v1/write`, v2Body(), { "content-type": CT_V2 });
    assertEquals(res.status, 204);
    assertEquals(written(res.headers), ["3", "2", "1"]);
    assertEquals(lines.slice(1), [
      '  {__name__="up", job="node"}',
      '  # gauge help="Up."',
      `    ${T0} 1`,
      `    ${T0 + 1000} stale`,
      '  {__name__="temp", room="a \\"b\\""}',
      `    ${T0 + 500} 21.5 st=${T0 - 60_000}`,
      '  {__name__="rpc_seconds", job="api"}',
      '  # histogram help="RPC latency." unit="seconds"',
      `  # histogram ${T0} int count=6 sum=12.5 schema=3 zero=2@0.001 pos=[0:2]{1 3} st=${
        T0 - 1000
      }`,
      `  # histogram ${T0 + 1000} stale`,
      `  # exemplar ${T0} 0.05 {trace_id="abc"}`,
    ]);
  });
});

Deno.test("receive: RW 1.0 metadata requests", async () => {
  await withReceiver({ print: true }, async (base, lines) => {
    const body = snappyEncode(encodeMetadataRequest([
      { family: "http_requests_total", metadata: { type: "counter", help: "Requests.", unit: "" } },
    ]));
    assertEquals((await post(`${base}/`, body)).status, 204);
    assertEquals(lines, [
      `v1 series=0 samples=0 stale=0 histograms=0 exemplars=0 metadata=1 bytes=${body.length} ` +
      "first_ts=- last_ts=- status=204",
      '  # metadata http_requests_total counter help="Requests."',
    ]);
  });
});

Deno.test("receive: the protocol comes from Content-Type", async (t) => {
  await withReceiver({}, async (base, lines) => {
    const url = `${base}/api/v1/write`;
    const cases: [string, string | null, Uint8Array, number, string][] = [
      ["v1", CT_V1, v1Body(), 204, "v1 "],
      ["v1 without Content-Type", null, v1Body(), 204, "v1 "],
      ["v1 named", "application/x-protobuf;proto=prometheus.WriteRequest", v1Body(), 204, "v1 "],
      ["v2", CT_V2, v2Body(), 204, "v2 "],
      [
        "v2, spaced and upper case",
        "Application/X-Protobuf; proto=io.prometheus.write.v2.Request",
        v2Body(),
        204,
        "v2 ",
      ],
      [
        "unknown proto",
        "application/x-protobuf;proto=foo.Bar",
        v1Body(),
        415,
        "rejected (415): unsupported proto",
      ],
      ["JSON", "application/json", v1Body(), 415, "rejected (415): unsupported Content-Type"],
    ];
    for (const [name, ct, body, status, line] of cases) {
      await t.step(name, async () => {
        lines.length = 0;
        const res = await post(url, body, { "content-type": ct });
        assertEquals(res.status, status, res.text);
        assertEquals(lines.length, 1);
        assert(lines[0].startsWith(line), lines[0]);
        if (status === 415) assert(res.text.length > 0, "415 explains itself");
        // Written headers: for RW 2.0 only.
        assertEquals(written(res.headers).every((x) => x !== null), line === "v2 ");
      });
    }
  });
});

Deno.test("receive: Content-Encoding must be snappy", async () => {
  await withReceiver({}, async (base, lines) => {
    for (const enc of [null, "gzip", "identity"]) {
      lines.length = 0;
      const res = await post(`${base}/api/v1/write`, v1Body(), { "content-encoding": enc });
      assertEquals(res.status, 415);
      assert(res.text.includes("Content-Encoding"), res.text);
      assert(lines[0].startsWith("rejected (415): unsupported Content-Encoding"), lines[0]);
    }
  });
});

Deno.test("receive: --v1-only answers RW 2.0 with 415 and accepts RW 1.0", async () => {
  await withReceiver({ v1Only: true }, async (base) => {
    const v2 = await post(`${base}/api/v1/write`, v2Body(), { "content-type": CT_V2 });
    assertEquals(v2.status, 415);
    assert(v2.text.includes("--v1-only"), v2.text);
    assertEquals((await post(`${base}/api/v1/write`, v1Body())).status, 204);
  });
});

Deno.test("receive: --no-written leaves the Written headers out", async () => {
  await withReceiver({ written: false }, async (base) => {
    const res = await post(`${base}/api/v1/write`, v2Body(), { "content-type": CT_V2 });
    assertEquals(res.status, 204);
    assertEquals(written(res.headers), [null, null, null]);
  });
});

Deno.test("receive: --status cycles; failures say nothing was written", async () => {
  await withReceiver({ statuses: [500, 500, 204] }, async (base, lines) => {
    const got: [number, (string | null)[]][] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(`${base}/api/v1/write`, v2Body(), { "content-type": CT_V2 });
      got.push([res.status, written(res.headers)]);
    }
    const zero = ["0", "0", "0"], real = ["3", "2", "1"];
    assertEquals(got, [[500, zero], [500, zero], [204, real], [500, zero], [500, zero], [
      204,
      real,
    ]]);
    assertEquals(lines.map((l) => l.slice(l.lastIndexOf(" ") + 1)), [
      "status=500",
      "status=500",
      "status=204",
      "status=500",
      "status=500",
      "status=204",
    ]);
  });
});

Deno.test("receive: --fail-every and --retry-after", async () => {
  await withReceiver({ failEvery: 3, retryAfter: 5 }, async (base) => {
    const got: [number, string | null][] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(`${base}/api/v1/write`, v1Body());
      got.push([res.status, res.headers.get("retry-after")]);
    }
    const F = FAIL_EVERY_STATUS;
    assertEquals(got, [[204, null], [204, null], [F, "5"], [204, null], [204, null], [F, "5"]]);
  });
});

Deno.test("receive: a sender sees the chosen status (retry classification)", async () => {
  await withReceiver({ statuses: [503], retryAfter: 2 }, async (base, lines) => {
    const client = new RemoteWriteClient(rwConfig(`${base}/api/v1/write`), { version: "t" });
    const res = await client.send(v1Body());
    assert(res.kind === "recoverable", JSON.stringify(res));
    assertEquals([res.status, res.retryAfterMs], [503, 2000]);
    assertEquals(lines.length, 1);
  });
});

Deno.test("receive: an empty request", async () => {
  await withReceiver({}, async (base, lines) => {
    const body = snappyEncode(new Uint8Array(0));
    assertEquals((await post(`${base}/api/v1/write`, body)).status, 204);
    assertEquals(lines, [
      `v1 series=0 samples=0 stale=0 histograms=0 exemplars=0 metadata=0 bytes=${body.length} ` +
      "first_ts=- last_ts=- status=204",
    ]);
  });
});

Deno.test("receive: bad requests", async (t) => {
  await withReceiver({}, async (base, lines) => {
    const url = `${base}/api/v1/write`;
    const unsorted = snappyEncode(
      WriteRequestType.encode(WriteRequestType.create({
        timeseries: [{
          labels: [{ name: "z", value: "1" }, { name: "__name__", value: "m" }],
          samples: [{ value: 1, timestamp: 1 }],
        }],
      })).finish(),
    );
    const badRef = snappyEncode(
      RequestV2Type.encode(RequestV2Type.create({
        symbols: ["", "a"],
        timeseries: [{ labelsRefs: [1, 7], samples: [{ value: 1, timestamp: 1 }] }],
      })).finish(),
    );
    const cases: [string, () => Promise<{ status: number; text: string }>, number, string][] = [
      ["not snappy", () => post(url, new Uint8Array([0xff, 0xff, 0xff])), 400, "snappy"],
      [
        "snappy but not protobuf",
        () => post(url, snappyEncode(new Uint8Array([0x0a, 0x40, 1]))),
        400,
        "",
      ],
      [
        "RW 2.0 with a bad symbol ref",
        () => post(url, badRef, { "content-type": CT_V2 }),
        400,
        "",
      ],
      ["unsorted labels", () => post(url, unsorted), 400, "labels not sorted"],
      [
        "decoded size over the limit",
        () => post(url, new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x41])),
        400,
        "exceeds limit",
      ],
      [
        "GET",
        () => fetch(url).then(async (r) => ({ status: r.status, text: await r.text() })),
        405,
        "",
      ],
      ["unknown path", () => post(`${base}/other`, v1Body()), 404, "not found"],
    ];
    for (const [name, send, status, reason] of cases) {
      await t.step(name, async () => {
        lines.length = 0;
        const res = await send();
        assertEquals(res.status, status, res.text);
        assert(res.text.includes(reason), res.text);
        if (status === 400) {
          assertEquals(lines.length, 1);
          assert(lines[0].startsWith("rejected (400): ") && lines[0].includes(reason), lines[0]);
        } else {
          assertEquals(lines, []);
        }
      });
    }
  });
});

Deno.test("receive: protocolOf", () => {
  assertEquals(protocolOf(null), 1);
  assertEquals(protocolOf(""), 1);
  assertEquals(protocolOf("application/x-protobuf"), 1);
  assertEquals(protocolOf('application/x-protobuf; proto="prometheus.WriteRequest"'), 1);
  assertEquals(
    protocolOf("application/x-protobuf;charset=x;proto=io.prometheus.write.v2.Request"),
    2,
  );
  assert(
    typeof protocolOf("application/x-protobuf;proto=io.prometheus.write.v2.request") === "object",
  );
  assert(typeof protocolOf("text/plain") === "object");
});

Deno.test("receive: renderHistogram", () => {
  const float: Histogram = {
    ...emptyHistogram(true),
    schema: -53,
    count: 3,
    sum: 1.5,
    positiveSpans: [{ offset: 0, length: 1 }, { offset: 1, length: 1 }],
    positiveBuckets: [1, 2],
    negativeSpans: [],
    customValues: [0.1, 0.5, 1],
    resetHint: 3,
  };
  assertEquals(
    renderHistogram({ ...float, timestamp: 5, startTimestamp: 0, stale: false }),
    "5 float count=3 sum=1.5 schema=-53 pos=[0:1 1:1]{1 2} bounds=[0.1 0.5 1] reset=gauge",
  );
  assertEquals(
    renderHistogram({
      ...hist(),
      negativeSpans: [{ offset: -2, length: 2 }],
      negativeBuckets: [4, -3],
      timestamp: 7,
      startTimestamp: 0,
      stale: false,
    }),
    "7 int count=6 sum=12.5 schema=3 zero=2@0.001 pos=[0:2]{1 3} neg=[-2:2]{4 1}",
  );
});

Deno.test("receive: parseListen", async (t) => {
  const table: [string, { hostname: string; port: number } | null][] = [
    ["127.0.0.1:9201", { hostname: "127.0.0.1", port: 9201 }],
    [":9201", { hostname: "0.0.0.0", port: 9201 }],
    ["[::1]:0", { hostname: "::1", port: 0 }],
    ["localhost:80", { hostname: "localhost", port: 80 }],
    ["9201", null],
    ["host:", null],
    ["host:99999", null],
  ];
  for (const [input, want] of table) {
    await t.step(input, () => {
      let got: unknown = null;
      try {
        got = parseListen(input);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
      assertEquals(got, want);
    });
  }
});

/** Runs `main.ts receive ARGS` (exits at once on a usage error or --help). */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", main, "receive", ...args],
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test("receive: the command rejects bad arguments with the help; --help succeeds", async () => {
  const table: [string[], string][] = [
    [["--bogus"], "unknown flag --bogus"],
    [["--status", "abc"], '--status takes HTTP statuses 200..599, not "abc"'],
    [["--status=99"], 'not "99"'],
    [["--status=204,600"], 'not "600"'],
    [["--fail-every=-1"], "--fail-every takes a whole number"],
    [["--retry-after=soon"], "--retry-after takes whole seconds"],
    [["--listen"], "--listen needs a value"],
    [["--listen", "nope"], "invalid listen address"],
    [["extra"], 'unexpected argument "extra"'],
  ];
  const runs = await Promise.all(table.map(([args]) => cli(args)));
  runs.forEach((r, i) => {
    const [args, msg] = table[i];
    assertEquals(r.code, 2, args.join(" "));
    assert(r.err.includes(msg), `${args.join(" ")}: ${r.err}`);
    assert(r.err.includes("usage: main.ts receive"), "the help follows the error");
  });
  const help = await cli(["--help"]);
  assertEquals(help.code, 0);
  for (
    const flag of [
      "--status",
      "--fail-every",
      "--retry-after",
      "--v1-only",
      "--no-written",
      "--print",
    ]
  ) {
    assert(help.out.includes(flag), `--help documents ${flag}`);
  }
});

Deno.test("receive: runReceiver rejects bad options", async () => {
  for (
    const bad of [
      { statuses: [42] },
      { statuses: [] },
      { failEvery: -1 },
      { retryAfter: 1.5 },
    ] as Partial<ReceiverOptions>[]
  ) {
    let err: unknown;
    try {
      await runReceiver({ listen: "127.0.0.1:0", out: () => {}, ...bad });
    } catch (e) {
      err = e;
    }
    assert(err instanceof RangeError, JSON.stringify(bad));
  }
});

Deno.test("receive: random and broken bodies get a clear 4xx, never a crash", async () => {
  await withReceiver({}, async (base, lines) => {
    const url = `${base}/api/v1/write`;
    const valid = [v1Body(), v2Body()];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(CT_V1, CT_V2),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => snappyEncode(b)),
          // A valid body with bytes flipped or cut.
          fc.tuple(fc.nat(1), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(
            ([i, at, x, cut]) => {
              const raw = valid[i].slice();
              const p = at % raw.length;
              if (cut) return raw.subarray(0, p);
              raw[p] ^= x;
              return raw;
            },
          ),
        ),
        async (ct, body) => {
          lines.length = 0;
          const res = await post(url, body, { "content-type": ct });
          assert([204, 400].includes(res.status), `status ${res.status}: ${res.text}`);
          assertEquals(lines.length, 1);
          if (res.status === 400) assert(lines[0].startsWith("rejected (400): "), lines[0]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

Deno.test("receive: with --print, requests with bytes inserted, deleted or changed before compression get 204 or a clear 400, every line rendered", async () => {
  await withReceiver({ print: true }, async (base, lines) => {
    const url = `${base}/api/v1/write`;
    const raw: [string, Uint8Array][] = [
      [CT_V1, encodeWriteRequest(floatBatch())],
      [CT_V1, encodeWriteRequest(mixedBatch())],
      [CT_V2, encodeWriteRequestV2(mixedBatch(), { metadata: (k) => META[k] })],
      [CT_V1, encodeMetadataRequest([{ family: "up", metadata: META[1] }])],
    ];
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(raw.length - 1),
        fc.array(
          fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "set"), fc.nat(255)),
          { minLength: 1, maxLength: 4 },
        ),
        async (i, muts) => {
          const [ct, valid] = raw[i];
          const b = Array.from(valid);
          for (const [at, op, v] of muts) {
            const p = at % (b.length + 1);
            if (op === "insert") b.splice(p, 0, v);
            else if (op === "delete") b.splice(p, 1);
            else if (p < b.length) b[p] = v;
          }
          lines.length = 0;
          const res = await post(url, snappyEncode(new Uint8Array(b)), { "content-type": ct });
          assert([204, 400].includes(res.status), `status ${res.status}: ${res.text}`);
          if (res.status === 400) {
            assertEquals(lines.length, 1);
            assert(lines[0].startsWith("rejected (400): "), lines[0]);
            return;
          }
          accepted++;
          assert(/^v[12] series=\d+ /.test(lines[0]), lines[0]);
          for (const l of lines.slice(1)) assert(l.startsWith("  "), `detail line ${l}`);
        },
      ),
      { numRuns: 150 },
    );
    // Not vacuous: some mutations still decode (about 15 of 150 on average; 10 seen in a run).
    assert(accepted > 3, `only ${accepted} mutated requests were valid`);
  });
});

Deno.test("receive: bodies over 16 MiB get 413, declared or streamed, and the receiver keeps serving", async () => {
  await withReceiver({}, async (base, lines) => {
    const url = `${base}/api/v1/write`;
    const big = new Uint8Array((16 << 20) + 1);
    const declared = await post(url, big);
    assertEquals(declared.status, 413, declared.text);
    assert(declared.text.includes("exceeds limit"), declared.text);
    let sent = 0;
    const chunk = new Uint8Array(1 << 20);
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-encoding": "snappy", "content-type": CT_V1 },
      body: new ReadableStream<Uint8Array>({
        pull(c) {
          // 64 MiB in all, without a Content-Length: the receiver stops reading at 16 MiB.
          if (sent++ < 64) c.enqueue(chunk);
          else c.close();
        },
      }),
    });
    assertEquals(res.status, 413);
    assert((await res.text()).includes("body exceeds limit"));
    assertEquals(lines.length, 2);
    assert(lines.every((l) => l.startsWith("rejected (413): ")), lines.join("\n"));
    assertEquals((await post(url, v1Body())).status, 204);
  });
});

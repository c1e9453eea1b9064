import { Labels } from "../model/labels.ts";
import { encodeWriteRequest, snappyEncode, WriteBatch } from "../remote/codec.ts";
import { RemoteWriteClient } from "../remote/client.ts";
import { WriteRequestType } from "../remote/proto/rw1.ts";
import { assert, assertEquals, rwConfig } from "../remote/test_util.ts";
import { parseListen, receiveMain, runReceiver } from "./receive.ts";

const T0 = 1_700_000_000_000;

async function withReceiver(
  opts: { print?: boolean; status?: number },
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

function sampleBody(): Uint8Array {
  const b = new WriteBatch(8);
  const up = Labels.fromObject({ __name__: "up", job: "node" });
  const t = Labels.fromObject({ __name__: "temp", room: 'a "b"' });
  b.add(1, up, T0, 1, false);
  b.add(2, t, T0 + 500, 21.5, false);
  b.add(1, up, T0 + 1000, 0, true);
  return snappyEncode(encodeWriteRequest(b));
}

async function post(url: string, body: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { "content-encoding": "snappy", "content-type": "application/x-protobuf", ...headers },
  });
  return { status: res.status, text: await res.text() };
}

Deno.test("receive: end to end with the encoder and the client", async () => {
  await withReceiver({ print: true }, async (base, lines) => {
    const body = sampleBody();
    const client = new RemoteWriteClient(rwConfig(`${base}/api/v1/write`), { version: "t" });
    assertEquals(await client.send(body), { kind: "ok", status: 204 });
    assertEquals(lines, [
      `series=2 samples=3 stale=1 first_ts=${T0} last_ts=${T0 + 1000} bytes=${body.length}`,
      '  {__name__="up", job="node"}',
      `    ${T0} 1`,
      `    ${T0 + 1000} stale`,
      '  {__name__="temp", room="a \\"b\\""}',
      `    ${T0 + 500} 21.5`,
    ]);
  });
});

Deno.test("receive: summary only without --print, and / also accepts writes", async () => {
  await withReceiver({}, async (base, lines) => {
    const body = sampleBody();
    assertEquals(await post(`${base}/`, body), { status: 204, text: "" });
    assertEquals(lines.length, 1);
    assert(lines[0].startsWith("series=2 samples=3 stale=1 "), lines[0]);
  });
});

Deno.test("receive: an empty request", async () => {
  await withReceiver({}, async (base, lines) => {
    const body = snappyEncode(new Uint8Array(0));
    assertEquals((await post(`${base}/api/v1/write`, body)).status, 204);
    assertEquals(lines, [`series=0 samples=0 stale=0 first_ts=- last_ts=- bytes=${body.length}`]);
  });
});

Deno.test("receive: --status is answered after printing", async () => {
  await withReceiver({ status: 503 }, async (base, lines) => {
    const client = new RemoteWriteClient(rwConfig(`${base}/api/v1/write`), { version: "t" });
    const res = await client.send(sampleBody());
    assertEquals([res.kind, res.status], ["recoverable", 503]);
    assertEquals(lines.length, 1);
  });
});

Deno.test("receive: bad requests", async (t) => {
  await withReceiver({}, async (base, lines) => {
    const url = `${base}/api/v1/write`;
    const cases: [string, () => Promise<{ status: number; text: string }>, number, string][] = [
      ["not snappy", () => post(url, new Uint8Array([0xff, 0xff, 0xff])), 400, "snappy"],
      [
        "snappy but not protobuf",
        () => post(url, snappyEncode(new Uint8Array([0x0a, 0x40, 1]))),
        400,
        "invalid protobuf",
      ],
      [
        "unsorted labels",
        () => {
          const msg = WriteRequestType.create({
            timeseries: [{
              labels: [{ name: "z", value: "1" }, { name: "__name__", value: "m" }],
              samples: [{ value: 1, timestamp: 1 }],
            }],
          });
          return post(url, snappyEncode(WriteRequestType.encode(msg).finish()));
        },
        400,
        "labels not sorted",
      ],
      [
        "decoded size over the limit",
        () => post(url, new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x41])),
        400,
        "exceeds limit",
      ],
      [
        "gzip encoding",
        () => post(url, sampleBody(), { "content-encoding": "gzip" }),
        415,
        "Content-Encoding",
      ],
      [
        "GET",
        () => fetch(url).then(async (r) => ({ status: r.status, text: await r.text() })),
        405,
        "",
      ],
      [
        "unknown path",
        () => post(`${base}/other`, sampleBody()),
        404,
        "not found",
      ],
    ];
    for (const [name, send, status, reason] of cases) {
      await t.step(name, async () => {
        lines.length = 0;
        const res = await send();
        assertEquals(res.status, status, res.text);
        assert(res.text.includes(reason), res.text);
        if (status === 400 || status === 415) {
          assertEquals(lines.length, 1);
          assert(lines[0].startsWith("rejected: ") && lines[0].includes(reason), lines[0]);
        } else {
          assertEquals(lines, []);
        }
      });
    }
  });
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

Deno.test("receive: receiveMain rejects bad arguments", async () => {
  // These write a usage message to stderr.
  assertEquals(await receiveMain(["--bogus"]), 2);
  assertEquals(await receiveMain(["--status", "abc"]), 2);
  assertEquals(await receiveMain(["--status=99"]), 2);
  assertEquals(await receiveMain(["--listen"]), 2);
  assertEquals(await receiveMain(["--listen", "nope"]), 2);
});

Deno.test("receive: runReceiver rejects a bad status", async () => {
  let err: unknown;
  try {
    await runReceiver({ listen: "127.0.0.1:0", status: 42, out: () => {} });
  } catch (e) {
    err = e;
  }
  assert(err instanceof RangeError);
});

/**
 * Reading bodies from hostile targets: text decoded while it arrives (same
 * result as decoding the whole body, however it is chunked), the hard cap
 * that applies without a body_size_limit, the hook a large body waits at,
 * and the gate that lets one large body through at a time.
 */

import fc from "fast-check";
import { assert, assertEquals, assertRejects } from "../testing/assert.ts";
import { BodySizeLimitError, keptBodyBuffers, MAX_BODY_BYTES, readBody } from "./http.ts";
import { LargeBodyGate } from "./largebody.ts";
import { BodyDecoder, decodeBody } from "./textparse/decode.ts";

/** A response streaming `chunks`; `pulled()` tells how many the reader took. */
function streamed(chunks: Uint8Array[]): { res: Response; pulled: () => number } {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i >= chunks.length) c.close();
      else c.enqueue(chunks[i++]);
    },
  }, { highWaterMark: 0 });
  return { res: new Response(body), pulled: () => i };
}

/** A response whose body is a byte stream of `chunks`, as fetch gives (read BYOB). */
function byteStreamed(chunks: Uint8Array[]): Response {
  let i = 0;
  const body = new ReadableStream({
    type: "bytes",
    pull(c) {
      while (i < chunks.length && chunks[i].length === 0) i++; // a byte stream takes no empty chunk
      if (i < chunks.length) {
        c.enqueue(chunks[i++].slice());
        return;
      }
      c.close();
      c.byobRequest?.respond(0); // a pending BYOB read ends with the stream
    },
  });
  return new Response(body);
}

/** `b` cut at `cuts` (positions, any order). */
function cut(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    out.push(b.subarray(from, c));
    from = c;
  }
  return out;
}

Deno.test("BodyDecoder: any chunking gives decodeBody's text, invalid and split sequences included", () => {
  const piece = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => new TextEncoder().encode(s)),
    fc.uint8Array({ maxLength: 6 }),
    fc.constantFrom(
      new Uint8Array([0xf0, 0x9f, 0x8c, 0x8d]), // a 4-byte character
      new Uint8Array([0xe6, 0xb8]), // a truncated one
      new Uint8Array([0xef, 0xbb, 0xbf]), // a byte order mark
    ),
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (pieces, cuts) => {
        const b = new Uint8Array(pieces.flatMap((p) => [...p]));
        const d = new BodyDecoder();
        for (const c of cut(b, cuts)) d.push(c);
        assertEquals(d.end(), decodeBody(b));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("BodyDecoder: a body past 16 MiB is decoded piece by piece, to the same text", () => {
  // Multi-byte characters and invalid bytes straddle the 1 MiB pieces.
  const unit = new TextEncoder().encode("温度 🌍 a\n");
  const b = new Uint8Array(17 * 1024 * 1024 + 5);
  for (let i = 0; i < b.length; i++) b[i] = unit[i % unit.length];
  for (let i = 1024 * 1024 - 1; i < b.length; i += 1024 * 1024 + 7) b[i] = 0xff;
  const d = new BodyDecoder();
  for (const c of cut(b, Array.from({ length: 300 }, (_, i) => i * 65_537))) d.push(c);
  const got = d.end();
  const want = decodeBody(b);
  assertEquals(got.length, want.length);
  assert(got === want);
});

Deno.test("readBody text: the decoded text, limits as for bytes", async () => {
  const enc = new TextEncoder();
  const chunks = [enc.encode('a 1\nb{l="\u00e9'), new Uint8Array([0xff]), enc.encode('"} 2\n')];
  const { res } = streamed(chunks);
  assertEquals(
    await readBody(res, { limit: 0, gunzip: false, text: true }),
    'a 1\nb{l="é\udcff"} 2\n',
  );
  await assertRejects(
    () => readBody(streamed(chunks).res, { limit: 10, gunzip: false, text: true }),
    BodySizeLimitError,
  );
  assertEquals(await readBody(new Response(null), { limit: 0, gunzip: false, text: true }), "");
});

Deno.test("readBody text over a byte stream: read into kept buffers, any chunking gives decodeBody's text (property)", async () => {
  const piece = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => new TextEncoder().encode(s)),
    fc.uint8Array({ maxLength: 8 }),
    fc.constant(new Uint8Array(300_000).fill(0x61)), // grows the first buffer
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(piece, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (pieces, cuts) => {
        const b = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of pieces) {
          b.set(p, at);
          at += p.length;
        }
        const got = await readBody(byteStreamed(cut(b, cuts)), {
          limit: 0,
          gunzip: false,
          text: true,
        });
        assert(got === decodeBody(b), "same text");
      },
    ),
    { numRuns: 150 },
  );
  assert(keptBodyBuffers() > 0, "buffers kept for the next reads");

  // Past 4 MiB the rest is read in pieces and decoded as it comes: still the same text.
  const unit = new TextEncoder().encode("温度 🌍 a\n");
  const big = new Uint8Array(6 * 1024 * 1024 + 3);
  for (let i = 0; i < big.length; i++) big[i] = unit[i % unit.length];
  const chunks = cut(big, Array.from({ length: 90 }, (_, i) => i * 70_001));
  const text = await readBody(byteStreamed(chunks), { limit: 0, gunzip: false, text: true });
  assert(text === decodeBody(big));
  // Limits apply as for the other reader, and a failed read leaves the kept buffers sound.
  await assertRejects(
    () => readBody(byteStreamed(chunks), { limit: 1_000_000, gunzip: false, text: true }),
    BodySizeLimitError,
  );
  assertEquals(
    await readBody(byteStreamed([new TextEncoder().encode("a 1\n")]), {
      limit: 0,
      gunzip: false,
      text: true,
    }),
    "a 1\n",
  );
});

Deno.test("readBody text: scrapes reading at once over fetch each get their own body, however the kept buffers go round", async () => {
  const bodyOf = (k: number) => `m{k="${k}"} ${"x".repeat(1000 + k * 37_111)}\n`.repeat(3);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(bodyOf(Number(new URL(req.url).pathname.slice(1)))),
  );
  try {
    for (let round = 0; round < 3; round++) {
      const ks = Array.from({ length: 12 }, (_, i) => i + round * 5);
      const got = await Promise.all(ks.map(async (k) => {
        const res = await fetch(`http://127.0.0.1:${server.addr.port}/${k}`);
        const limit = k % 7 === 3 ? 5000 : 0; // some fail part-way
        try {
          return await readBody(res, { limit, gunzip: false, text: true });
        } catch (e) {
          assert(e instanceof BodySizeLimitError);
          return "limit";
        }
      }));
      ks.forEach((k, i) => assertEquals(got[i], k % 7 === 3 ? "limit" : bodyOf(k), `body ${k}`));
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("readBody: without body_size_limit, more than the most a string holds fails at once", async () => {
  assertEquals(MAX_BODY_BYTES, 2 ** 29 - 24);
  const { res, pulled } = streamed(Array.from({ length: 100 }, () => new Uint8Array(100)));
  const e = await assertRejects(() => readBody(res, { limit: 0, gunzip: false, max: 1000 }));
  assert(e instanceof BodySizeLimitError);
  assertEquals(
    e.message,
    "body larger than 1000 bytes, the most ferry reads (the longest text a string holds); set body_size_limit",
  );
  assert(pulled() <= 12, `${pulled()} chunks read`);
  // A body_size_limit above the cap does not lift it; one below it wins.
  await assertRejects(
    () => readBody(streamed([new Uint8Array(2000)]).res, { limit: 5000, gunzip: false, max: 1000 }),
    BodySizeLimitError,
    "the most ferry reads",
  );
  await assertRejects(
    () => readBody(streamed([new Uint8Array(2000)]).res, { limit: 500, gunzip: false, max: 1000 }),
    BodySizeLimitError,
    "body size limit exceeded (limit 500 bytes)",
  );
});

Deno.test("readBody: a large body waits at the hook once, before reading on", async () => {
  const { res, pulled } = streamed(Array.from({ length: 10 }, () => new Uint8Array(100)));
  const events: string[] = [];
  let go!: () => void;
  const reading = readBody(res, {
    limit: 0,
    gunzip: false,
    large: {
      bytes: 250,
      wait: () => {
        events.push(`wait after ${pulled()} chunks`);
        return new Promise<void>((r) => go = r);
      },
    },
  });
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(events, ["wait after 3 chunks"]);
  assertEquals(pulled(), 3);
  go();
  assertEquals((await reading).length, 1000);
  assertEquals(events.length, 1);
  // A rejected wait fails the read.
  const again = streamed(Array.from({ length: 10 }, () => new Uint8Array(100)));
  await assertRejects(
    () =>
      readBody(again.res, {
        limit: 0,
        gunzip: false,
        large: { bytes: 250, wait: () => Promise.reject(new Error("timed out waiting")) },
      }),
    Error,
    "timed out waiting",
  );
});

Deno.test("LargeBodyGate: one holder at a time, first come first served; an abort leaves the queue", async () => {
  const gate = new LargeBodyGate();
  const order: string[] = [];
  const r1 = await gate.acquire();
  assert(gate.held);
  const abort = new AbortController();
  const p2 = gate.acquire().then((r) => (order.push("2"), r));
  const p3 = gate.acquire(abort.signal).then((r) => (order.push("3"), r));
  const p4 = gate.acquire().then((r) => (order.push("4"), r));
  abort.abort(new DOMException("timed out", "TimeoutError"));
  const e = await assertRejects(() => p3);
  assertEquals((e as DOMException).name, "TimeoutError");
  r1();
  const r2 = await p2;
  assertEquals(order, ["2"]);
  r2();
  r2(); // a second release changes nothing
  const r4 = await p4;
  assertEquals(order, ["2", "4"]);
  r4();
  assertEquals(gate.held, false);
  // Aborted before asking: rejected at once.
  await assertRejects(() => gate.acquire(AbortSignal.abort(new Error("gone"))), Error, "gone");
  assertEquals(gate.held, false);
});

import fc from "fast-check";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { assert, assertEquals } from "../testing/assert.ts";
import { mulberry32 } from "../testing/prng.ts";
import { walLike } from "../testing/wal_like.ts";
import { deflateRaw } from "./deflate.ts";

/** Inflates with zlib (as the WAL reader does) and checks the bytes come back. */
function roundTrip(src: Uint8Array): Uint8Array {
  const packed = deflateRaw(src);
  const back = new Uint8Array(inflateRawSync(packed));
  assertEquals(back.length, src.length, "length");
  for (let i = 0; i < src.length; i++) {
    if (back[i] !== src[i]) throw new Error(`byte ${i} of ${src.length} differs`);
  }
  return packed;
}

/** The block type of the first block: 0 stored, 1 fixed, 2 dynamic Huffman. */
const blockType = (packed: Uint8Array) => (packed[0] >> 1) & 3;

Deno.test("deflateRaw: zlib inflates what it writes, whatever the bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        // Few distinct bytes: long matches, overlapping ones (distance below length).
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 20_000 }).map((a) =>
          new Uint8Array(a)
        ),
        // A run of one byte, then noise, then the run again: matches 258 long and far back.
        fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.uint8Array({ maxLength: 40_000 })).map((
          [run, noise],
        ) => {
          const a = new Uint8Array(2 * run + noise.length).fill(7);
          a.set(noise, run);
          return a;
        }),
      ),
      (src) => {
        roundTrip(src);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("deflateRaw: edge sizes and every kind of block", () => {
  // Nothing: one fixed block with only its end.
  assertEquals(blockType(roundTrip(new Uint8Array(0))), 1);
  assertEquals(blockType(roundTrip(new Uint8Array([42]))), 1);
  // Random bytes do not compress: stored, 5 bytes of header per 16,384 (a block's symbols).
  const r = mulberry32(1);
  const noise = new Uint8Array(200_000).map(() => Math.floor(r() * 256));
  const stored = roundTrip(noise);
  assertEquals(blockType(stored), 0);
  assert(
    stored.length <= noise.length + 5 * Math.ceil(noise.length / 16_384) + 1,
    `${stored.length}`,
  );
  // Text: dynamic Huffman, and far smaller.
  const text = new TextEncoder().encode('http_requests_total{code="200"} 1027\n'.repeat(3000));
  const packed = roundTrip(text);
  assertEquals(blockType(packed), 2);
  assert(packed.length < text.length / 50, `${packed.length} bytes`);
  // A megabyte of zeros: many blocks of 16,384 symbols, each a 258-byte match.
  assert(roundTrip(new Uint8Array(1 << 20)).length < 5000);
  // Distances up to the window's 32,768 bytes, and past it (not allowed to match).
  for (const gap of [32_765, 32_766, 32_767, 32_768, 32_769, 40_000]) {
    const a = new Uint8Array(gap + 300);
    const head = noise.subarray(0, 300);
    a.set(head, 0);
    a.set(noise.subarray(1000, 1000 + gap - 300), 300);
    a.set(head, gap);
    roundTrip(a);
  }
});

Deno.test("deflateRaw: scratch state does not leak from one call into the next", () => {
  const r = mulberry32(7);
  const inputs = Array.from(
    { length: 20 },
    (_, i) => new Uint8Array(500 + i * 1500).map(() => Math.floor(r() * (i % 3 === 0 ? 4 : 40))),
  );
  const first = inputs.map((a) => deflateRaw(a).slice());
  // The same input gives the same bytes, whatever came before it.
  for (let i = inputs.length - 1; i >= 0; i--) assertEquals(deflateRaw(inputs[i]), first[i]);
});

Deno.test("deflateRaw: WAL-like bodies pack within 2% of zlib level 2", () => {
  let ours = 0, zlib = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const body = walLike(50 + seed * 97, seed);
    ours += roundTrip(body).length;
    zlib += deflateRawSync(body, { level: 2 }).length;
  }
  assert(ours <= zlib * 1.02, `ours ${ours} bytes, zlib level 2 ${zlib}`);
});

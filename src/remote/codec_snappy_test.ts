import fc from "fast-check";
import snappy from "snappyjs";
import { assert, assertEquals } from "../testing/assert.ts";
import { snappyDecode, snappyEncode } from "./codec_snappy.ts";
import { maxCompressedLength, snappyCompress } from "./codec_snappy_compress.ts";

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Compressible data: runs of a small alphabet, repeats of earlier pieces at any distance, noise. */
const data = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5000 })).map(([b, n]) =>
      new Uint8Array(n).fill(b)
    ),
    fc.tuple(fc.constantFrom("node_cpu_seconds_total", "instance", "eth0", "x"), fc.nat(20)).map((
      [s, n],
    ) => new TextEncoder().encode(s.repeat(n))),
  ),
  { maxLength: 40 },
).map((parts) => {
  const n = parts.reduce((k, p) => k + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
});

function check(input: Uint8Array): Uint8Array {
  const z = snappyCompress(input);
  assert(z.length <= maxCompressedLength(input.length), "within the bound");
  assert(same(snappy.uncompress(z) as Uint8Array, input), "snappyjs decodes it");
  assert(same(snappyDecode(z, input.length), input), "the validating decoder accepts it");
  return z;
}

Deno.test("snappyCompress: valid block format, decoded back by snappyjs", async (t) => {
  await t.step("property: compressible data", () => {
    fc.assert(fc.property(data, (d) => void check(d)), { numRuns: 300 });
  });
  await t.step("property: random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (d) => void check(d)), {
      numRuns: 300,
    });
  });
  await t.step("sizes around the 64 KiB block and literal-length boundaries", () => {
    const rnd = (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
      return out;
    };
    for (const n of [0, 1, 15, 16, 17, 60, 61, 256, 257, 65535, 65536, 65537, 200_000]) {
      check(rnd(n));
      check(new Uint8Array(n).fill(7));
      const mixed = rnd(n);
      mixed.fill(1, n >> 2, n >> 1);
      check(mixed);
    }
  });
  await t.step("long matches use few bytes, incompressible data grows by the bound only", () => {
    assert(check(new Uint8Array(1 << 20)).length < 50_000);
    const r = new Uint8Array(50_000);
    crypto.getRandomValues(r);
    assert(check(r).length <= 50_000 + 10);
  });
  await t.step("as good as snappyjs on repetitive text", () => {
    const text = new TextEncoder().encode(
      Array.from({ length: 3000 }, (_, i) => `node_cpu_seconds_total{cpu="${i % 64}"} ${i}\n`)
        .join(""),
    );
    const ours = check(text).length, theirs = (snappy.compress(text) as Uint8Array).length;
    assert(ours <= theirs * 1.02, `ours ${ours} B, snappyjs ${theirs} B`);
  });
  await t.step("snappyEncode uses it", () => {
    const d = new TextEncoder().encode("abcabcabcabcabcabcabcabc");
    assertEquals(Array.from(snappyEncode(d)), Array.from(snappyCompress(d)));
  });
});

Deno.test("snappyCompress into a reused buffer: each result is right, the buffer is used when it fits", () => {
  const into = new Uint8Array(maxCompressedLength(5000));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 6000 }), fc.integer({ min: 0, max: 40 }), (raw, rep) => {
      // Repetitive input too, so that copies are exercised.
      const src = new Uint8Array(raw.length * (rep > 20 ? 3 : 1));
      for (let i = 0; i < src.length; i++) src[i] = raw[i % Math.max(1, raw.length)];
      into.fill(0xaa); // leftovers of an earlier body must not matter
      const z = snappyCompress(src, into);
      assertEquals(z.buffer === into.buffer, maxCompressedLength(src.length) <= into.length);
      assertEquals(snappyDecode(z), src);
      assertEquals(z, snappyEncode(src));
    }),
    { numRuns: 300 },
  );
});

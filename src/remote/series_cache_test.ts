import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import { Labels } from "../model/labels.ts";
import { PbWriter } from "./codec_pb.ts";
import { SeriesCache } from "./series_cache.ts";

/** A stand-in encoder: the label pairs as `name=value;`, counting its calls. */
function encoder() {
  let calls = 0;
  const te = new TextEncoder();
  const encode = (w: PbWriter, l: Labels) => {
    calls++;
    const b = te.encode(pairs(l));
    w.ensure(b.length);
    w.buf.set(b, w.pos);
    w.pos += b.length;
  };
  return { encode, calls: () => calls };
}

function pairs(l: Labels): string {
  let s = "";
  l.forEach((n, v) => s += `${n}=${v};`);
  return s;
}

const text = (w: PbWriter) => new TextDecoder().decode(w.buf.subarray(0, w.pos));
const series = (i: number, pad = 200) =>
  Labels.fromObject({ __name__: "m", i: String(i), pad: "p".repeat(pad) });

/** Finds and copies the block of `ref` into `w`. */
function write(
  c: SeriesCache,
  w: PbWriter,
  ref: number,
  l: Labels,
  encode: (w: PbWriter, l: Labels) => void,
): number {
  const n = c.findBlock(ref, l, encode);
  c.copyBlock(w);
  return n;
}

Deno.test("SeriesCache holds labels by ref: unknown refs are undefined, dropped series null", () => {
  const c = new SeriesCache();
  const a = series(1);
  assertEquals(c.get(1), undefined);
  c.set(1, a);
  c.set(2, null);
  c.set(0, a);
  c.set(2 ** 40 + 3, a);
  assertEquals(c.size, 4);
  assert(c.get(1) === a);
  assertEquals(c.get(2), null);
  assert(c.get(0) === a);
  assert(c.get(2 ** 40 + 3) === a);
  assertEquals(c.get(3), undefined);
  assertEquals(c.get(2 ** 40 + 4), undefined);
  c.set(1, a); // again: one entry
  assertEquals(c.size, 4);
  assertThrows(() => c.set(-1, a), RangeError);
  assertThrows(() => c.set(1.5, a), RangeError);
  assertThrows(() => c.set(NaN, a), RangeError);
});

Deno.test("SeriesCache encodes a held series once and hands out the kept block after", () => {
  const c = new SeriesCache();
  const one = series(1, 10), two = series(2, 300);
  c.set(1, one);
  c.set(2, two);
  const { encode, calls } = encoder();
  const w = new PbWriter(16);
  assertEquals(write(c, w, 1, one, encode), pairs(one).length);
  write(c, w, 2, two, encode);
  write(c, w, 1, one, encode);
  write(c, w, 2, two, encode);
  assertEquals(calls(), 2);
  assertEquals(text(w), pairs(one) + pairs(two) + pairs(one) + pairs(two));
});

Deno.test("SeriesCache encodes a series it does not hold (or holds with other labels) each time", () => {
  const c = new SeriesCache();
  const held = series(1), other = series(2);
  c.set(1, held);
  const { encode, calls } = encoder();
  const w = new PbWriter();
  write(c, w, 7, other, encode);
  write(c, w, 7, other, encode);
  write(c, w, 1, other, encode); // a batch's labels that are not the ones held: not kept
  write(c, w, 1, other, encode);
  assertEquals(calls(), 4);
  assertEquals(c.bytes, 0);
  assertEquals(text(w), pairs(other).repeat(4));
  // New labels for a held ref drop its block.
  write(c, w, 1, held, encode);
  c.set(1, other);
  w.reset();
  write(c, w, 1, other, encode);
  assertEquals(calls(), 6);
  assertEquals(text(w), pairs(other));
});

Deno.test("SeriesCache compacts to the held blocks when the slab is full, and stays right", () => {
  const c = new SeriesCache();
  const { encode, calls } = encoder();
  const w = new PbWriter();
  // 10 rounds of 300 fresh series (~230 B each): far more than the first 64 KiB slab.
  for (let round = 0; round < 10; round++) {
    const refs = Array.from({ length: 300 }, (_, k) => round * 1000 + k);
    c.retain((ref) => ref >= round * 1000);
    for (const ref of refs) c.set(ref, series(ref));
    for (const ref of refs) write(c, w, ref, c.get(ref)!, encode);
    const before = calls();
    w.reset();
    for (const ref of refs) write(c, w, ref, c.get(ref)!, encode);
    assertEquals(text(w), refs.map((ref) => pairs(series(ref))).join(""));
    assertEquals(calls(), before, "copied, not encoded again");
    w.reset();
  }
  assert(c.compactions > 0, "never compacted");
  // Only held blocks survive: the slab stays within 1.5 times the live size (and 64 KiB steps).
  assert(c.capacity <= 1.5 * 300 * 240 + 65536, `capacity ${c.capacity}`);
});

Deno.test("SeriesCache.retain forgets refs, shrinks its table and keeps the others' blocks", () => {
  const c = new SeriesCache();
  const { encode, calls } = encoder();
  const w = new PbWriter();
  for (let ref = 1; ref <= 5000; ref++) c.set(ref, series(ref, 5));
  const grown = c.slots;
  assert(grown >= 10_000, `slots ${grown}`);
  for (let ref = 1; ref <= 5000; ref++) write(c, w, ref, c.get(ref)!, encode);
  c.retain((ref) => ref % 100 === 0);
  assertEquals(c.size, 50);
  assert(c.slots < grown / 10, `slots ${c.slots} after retain`);
  assertEquals(c.get(99), undefined);
  const before = calls();
  w.reset();
  for (let ref = 100; ref <= 5000; ref += 100) write(c, w, ref, c.get(ref)!, encode);
  assertEquals(calls(), before);
  let want = "";
  for (let ref = 100; ref <= 5000; ref += 100) want += pairs(series(ref, 5));
  assertEquals(text(w), want);
});

Deno.test("SeriesCache behaves as a map from ref to labels and encoded labels (property)", () => {
  const label = fc.nat(50).map((i) => series(i, i % 7));
  const ref = fc.oneof(fc.nat(3000), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 53 - 1));
  const op = fc.oneof(
    fc.record({ k: fc.constant("set" as const), ref, l: fc.option(label, { freq: 5 }) }),
    fc.record({ k: fc.constant("get" as const), ref }),
    fc.record({ k: fc.constant("block" as const), ref, l: label }),
    fc.record({ k: fc.constant("retain" as const), mod: fc.integer({ min: 1, max: 5 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const c = new SeriesCache();
      const model = new Map<number, Labels | null>();
      const { encode } = encoder();
      const w = new PbWriter(8);
      for (const o of ops) {
        if (o.k === "set") {
          c.set(o.ref, o.l);
          model.set(o.ref, o.l);
        } else if (o.k === "get") {
          assert(c.get(o.ref) === model.get(o.ref));
        } else if (o.k === "block") {
          // Held labels when the ref has some (as the endpoint's batches), else the given ones.
          const l = model.get(o.ref) ?? o.l;
          w.reset();
          assertEquals(write(c, w, o.ref, l, encode), w.pos);
          assertEquals(text(w), pairs(l));
        } else {
          c.retain((r) => r % o.mod === 0);
          for (const r of [...model.keys()]) if (r % o.mod !== 0) model.delete(r);
        }
        assertEquals(c.size, model.size);
      }
      for (const [r, l] of model) assert(c.get(r) === l);
    }),
    { numRuns: 200 },
  );
});

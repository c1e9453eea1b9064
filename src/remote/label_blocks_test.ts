import { assert, assertEquals } from "../testing/assert.ts";
import { Labels } from "../model/labels.ts";
import { PbWriter } from "./codec_pb.ts";
import { LabelBlocks } from "./label_blocks.ts";

/** A stand-in encoder: the label pairs as `name=value;`, counting its calls. */
function encoder() {
  let calls = 0;
  const te = new TextEncoder();
  const encode = (w: PbWriter, l: Labels) => {
    calls++;
    let s = "";
    l.forEach((n, v) => s += `${n}=${v};`);
    const b = te.encode(s);
    w.ensure(b.length);
    w.buf.set(b, w.pos);
    w.pos += b.length;
  };
  return { encode, calls: () => calls };
}

const text = (w: PbWriter) => new TextDecoder().decode(w.buf.subarray(0, w.pos));
const series = (i: number) =>
  Labels.fromObject({ __name__: "m", i: String(i), pad: "p".repeat(200) });

Deno.test("LabelBlocks encodes a label set once and hands out the kept block after", () => {
  const live: Labels[] = [series(1), series(2)];
  const blocks = new LabelBlocks(() => live);
  const { encode, calls } = encoder();
  const w = new PbWriter(16);
  w.raw(blocks.block(live[0], encode));
  w.raw(blocks.block(live[1], encode));
  w.raw(blocks.block(live[0], encode));
  assertEquals(calls(), 2);
  const one = `__name__=m;i=1;pad=${"p".repeat(200)};`, two = one.replace("i=1", "i=2");
  assertEquals(text(w), one + two + one);
});

Deno.test("LabelBlocks compacts to the live label sets when the slab is full, and stays right", () => {
  let live: Labels[] = [];
  const blocks = new LabelBlocks(() => live);
  const { encode, calls } = encoder();
  const w = new PbWriter();
  // 10 rounds of 300 fresh series (~230 B each): far more than the first 64 KiB slab.
  for (let round = 0; round < 10; round++) {
    live = Array.from({ length: 300 }, (_, k) => series(round * 1000 + k));
    for (const l of live) w.raw(blocks.block(l, encode));
    const before = calls();
    w.reset();
    for (const l of live) w.raw(blocks.block(l, encode));
    let want = "";
    for (const l of live) {
      let s = "";
      l.forEach((n, v) => s += `${n}=${v};`);
      want += s;
    }
    assertEquals(text(w), want);
    // Copied, not encoded again, unless the slab was compacted in between.
    assert(calls() - before <= 300);
    w.reset();
  }
  assert(blocks.compactions > 0, "never compacted");
  // Only live blocks survive: the slab stays within 1.5 times the live size (and 64 KiB steps).
  assert(blocks.capacity <= 1.5 * 300 * 240 + 65536, `capacity ${blocks.capacity}`);
});

Deno.test("LabelBlocks re-encodes a label set whose block a compaction dropped", () => {
  const dead = series(-1);
  let live: Labels[] = [dead];
  const blocks = new LabelBlocks(() => live);
  const { encode, calls } = encoder();
  const w = new PbWriter();
  w.raw(blocks.block(dead, encode));
  live = Array.from({ length: 400 }, (_, k) => series(k));
  for (const l of live) w.raw(blocks.block(l, encode)); // compacts: `dead` is no longer live
  assert(blocks.compactions > 0);
  const n = calls();
  w.reset();
  w.raw(blocks.block(dead, encode));
  assertEquals(calls(), n + 1);
  assert(text(w).startsWith("__name__=m;i=-1;"));
});

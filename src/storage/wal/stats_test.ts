import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { mulberry32 } from "../../testing/prng.ts";
import { RecordEncoder, SampleBuffer } from "./record.ts";
import { framedSize, frameRecord } from "./segment.ts";
import { countSamplesBefore, SegmentStats } from "./stats.ts";

Deno.test("SegmentStats counts the samples before any record boundary exactly, reading at most a page", async () => {
  // Records of varied sizes (some spanning pages), as a segment file.
  const payloads: Uint8Array[] = [];
  const counts: number[] = [];
  // Random floats: records keep their size when packed, so some span pages.
  const rand = mulberry32(7);
  for (let k = 0; k < 300; k++) {
    const n = k % 37 === 0 ? 4000 : 1 + ((k * 53) % 90);
    const cols = new SampleBuffer();
    for (let i = 0; i < n; i++) cols.push(1 + (i % 20), 10_000 + k * 1000 + i, rand(), 0);
    const enc = new RecordEncoder();
    enc.samples(cols);
    payloads.push(enc.buffer().slice());
    counts.push(n);
  }
  let size = 0;
  for (const p of payloads) size += framedSize(size, p.length);
  const file = new Uint8Array(size);
  const stats = new SegmentStats();
  const ends: number[] = [];
  let pos = 0;
  for (let k = 0; k < payloads.length; k++) {
    pos += frameRecord(payloads[k], { out: file, at: pos, pos });
    ends.push(pos);
    stats.add(pos, counts[k], 10_000 + k * 1000, 10_000 + k * 1000 + counts[k] - 1);
  }
  const path = await Deno.makeTempFile({ prefix: "ferry-stats-" });
  try {
    await Deno.writeFile(path, file);
    assertEquals(stats.samples, counts.reduce((a, b) => a + b, 0));
    const maxT = Math.max(...counts.map((n, k) => 10_000 + k * 1000 + n - 1));
    assertEquals([stats.minT, stats.maxT, stats.bytes], [10_000, maxT, size]);
    ok(
      stats.indexSize < ends.length / 3,
      `sparse index: ${stats.indexSize} entries for ${ends.length} records`,
    );
    ok(stats.indexSize > 5);
    let before = 0;
    assertEquals(await countSamplesBefore(path, stats, 0), 0);
    for (let k = 0; k < ends.length; k++) {
      before += counts[k];
      assertEquals(await countSamplesBefore(path, stats, ends[k]), before, `after record ${k}`);
    }
  } finally {
    await Deno.remove(path);
  }
});

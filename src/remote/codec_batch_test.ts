import fc from "fast-check";
import { assertEquals } from "../testing/assert.ts";
import { Labels } from "../model/labels.ts";
import { WriteBatch } from "./codec_batch.ts";

Deno.test("WriteBatch: samples are grouped by key, series in first-seen order, across resets", () => {
  // Keys are series refs up to 2^53: small, large, and ones that differ only in the high half.
  const key = fc.oneof(
    fc.integer({ min: 1, max: 50 }),
    fc.integer({ min: 1, max: 2 ** 53 - 1 }),
    fc.integer({ min: 1, max: 8 }).map((k) => k * 2 ** 32 + 7),
  );
  const batch = new WriteBatch(64);
  fc.assert(
    fc.property(fc.array(key, { minLength: 1, maxLength: 64 }), (keys) => {
      batch.reset();
      const want = new Map<number, number[]>();
      keys.forEach((k, i) => {
        batch.add(k, Labels.fromObject({ __name__: "m", k: String(k) }), i, i, false);
        want.set(k, [...(want.get(k) ?? []), i]);
      });
      assertEquals(batch.keys, [...want.keys()]);
      assertEquals(batch.series.map((l) => l.get("k")), [...want.keys()].map(String));
      const { order, starts } = batch.groupBySeries();
      const got = new Map<number, number[]>();
      batch.keys.forEach((k, s) => {
        got.set(k, [...order.subarray(starts[s], starts[s + 1])].map((i) => batch.ts[i]));
      });
      assertEquals(got, want);
    }),
    { numRuns: 500 },
  );
});

import fc from "fast-check";
import { Labels } from "../../model/labels.ts";
import { assertEquals, assertThrows } from "../../testing/assert.ts";
import type { ExemplarSample } from "../types.ts";
import { CorruptionError } from "./errors.ts";
import { decodeExemplars, ExemplarBatch } from "./exemplar_record.ts";
import { claimedSampleCount, MAX_REF, MAX_TIMESTAMP, RecordEncoder, RecordType } from "./record.ts";

function encode(xs: readonly ExemplarSample[]): Uint8Array {
  const batch = new ExemplarBatch();
  for (const x of xs) batch.add(x.ref, x.e);
  const enc = new RecordEncoder();
  enc.exemplars(batch);
  return enc.buffer().slice();
}

const labels = fc.dictionary(
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/),
  fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }),
  { maxKeys: 3 },
).map((o) => Labels.fromObject(o));

const exemplar: fc.Arbitrary<ExemplarSample> = fc.record({
  ref: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: MAX_REF })),
  ts: fc.oneof(
    fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
    fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
    fc.constantFrom(-MAX_TIMESTAMP, MAX_TIMESTAMP),
  ),
  value: fc.double().filter((v) => !Number.isNaN(v)),
  labels,
}).map((r) => ({ ref: r.ref, e: { labels: r.labels, value: r.value, ts: r.ts } }));

Deno.test("exemplars records round-trip refs, timestamps, values and labels (property)", () => {
  fc.assert(
    fc.property(fc.array(exemplar, { minLength: 1, maxLength: 10 }), (xs) => {
      const rec = encode(xs);
      assertEquals(rec[0], RecordType.Exemplars);
      const out: ExemplarSample[] = [{ ref: 1, e: { labels: Labels.EMPTY, value: 0, ts: 0 } }];
      decodeExemplars(rec, out);
      assertEquals(out.length, xs.length + 1);
      for (let i = 0; i < xs.length; i++) {
        const got = out[i + 1], want = xs[i];
        assertEquals([got.ref, got.e.ts, got.e.value], [want.ref, want.e.ts, want.e.value]);
        assertEquals(got.e.labels.toString(), want.e.labels.toString());
      }
      // Exemplars are not samples: loss reports do not count them.
      assertEquals(claimedSampleCount(rec), -1);
    }),
    { numRuns: 300 },
  );
});

Deno.test("exemplars records: a NaN value is NormalNaN; an empty label set is fine", () => {
  const rec = encode([{ ref: 3, e: { labels: Labels.EMPTY, value: NaN, ts: 5 } }]);
  const out: ExemplarSample[] = [];
  decodeExemplars(rec, out);
  assertEquals(out[0].e.labels.size, 0);
  assertEquals(Number.isNaN(out[0].e.value), true);
  const hex = [...rec].map((b) => b.toString(16).padStart(2, "0")).join("");
  assertEquals(hex.includes("010000000000f87f"), true, hex);
});

Deno.test("exemplars records: truncated, flipped or random bytes give CorruptionError, never a crash (property)", () => {
  const check = (rec: Uint8Array) => {
    const out: ExemplarSample[] = [];
    try {
      decodeExemplars(rec, out);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      assertEquals(out.length, 0, "nothing appended on error");
    }
  };
  fc.assert(
    fc.property(
      fc.array(exemplar, { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.nat(255),
      (xs, at, byte) => {
        const rec = encode(xs);
        const cut = rec.subarray(0, at % rec.length);
        assertThrows(() => decodeExemplars(cut, []), CorruptionError);
        const flipped = rec.slice();
        flipped[at % rec.length] ^= byte;
        check(flipped);
      },
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 60 }), (body) => {
      check(new Uint8Array([RecordType.Exemplars, ...body]));
    }),
    { numRuns: 2000 },
  );
});

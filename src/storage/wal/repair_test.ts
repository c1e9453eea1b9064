import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import fc from "fast-check";
import { Labels } from "../../model/labels.ts";
import { RecordReader } from "./reader.ts";
import { mulberry32 } from "../../testing/prng.ts";
import { countsSamples, RecordEncoder, RecordType, SampleBuffer, sampleCount } from "./record.ts";
import { assessLoss } from "./repair.ts";
import { framedSize, frameRecord, PAGE_SIZE } from "./segment.ts";

/** Frames records into one file image; returns it with each record's start, end, type and samples. */
function image(payloads: Uint8Array[]): {
  file: Uint8Array;
  recs: { start: number; end: number; type: number; samples: number }[];
} {
  let size = 0;
  for (const p of payloads) size += framedSize(size, p.length);
  const file = new Uint8Array(size);
  const recs = [];
  let pos = 0;
  for (const p of payloads) {
    const n = frameRecord(p, { out: file, at: pos, pos });
    recs.push({
      start: pos,
      end: pos + n,
      type: p[0],
      samples: countsSamples(p[0]) ? sampleCount(p) : 0,
    });
    pos += n;
  }
  return { file, recs };
}

function samplesRecord(n: number, seed: number): Uint8Array {
  const enc = new RecordEncoder();
  const cols = new SampleBuffer();
  // Random floats: records keep their size when packed, so the large ones span pages.
  const rand = mulberry32(seed);
  for (let i = 0; i < n; i++) cols.push(1 + ((i * 7 + seed) % 50), 1000 + i * 15, rand(), 0);
  enc.samples(cols);
  return enc.buffer().slice();
}

function seriesRecord(n: number): Uint8Array {
  const enc = new RecordEncoder();
  enc.series(
    Array.from({ length: n }, (_, i) => ({
      ref: i + 1,
      labels: Labels.fromObject({ __name__: "m", i: String(i) }),
    })),
  );
  return enc.buffer().slice();
}

/** A realistic mix: a series record, small and large (multi-page) samples records. */
function mix(): Uint8Array[] {
  const out = [seriesRecord(50)];
  for (let k = 0; k < 40; k++) out.push(samplesRecord(k % 9 === 0 ? 5000 : 20 + k * 13, k));
  return out;
}

/** What the records from index `k` on hold. */
function expected(recs: { type: number; samples: number }[], k: number) {
  const rest = recs.slice(k);
  return {
    records: rest.length,
    seriesRecords: rest.filter((r) => r.type === RecordType.Series).length,
    samples: rest.reduce((a, r) => a + r.samples, 0),
  };
}

Deno.test("assessLoss(): a flipped payload byte costs exactly its record and what follows", () => {
  const { file, recs } = image(mix());
  ok(file.length > 4 * PAGE_SIZE, "spans several pages");
  for (const k of [0, 1, 5, 9, 20, 39]) {
    const r = recs[k];
    const damaged = file.slice();
    damaged[Math.floor((r.start + r.end) / 2)] ^= 0x5a;
    const loss = assessLoss(damaged.subarray(r.start), r.start);
    const want = expected(recs, k);
    assertEquals(
      {
        records: loss.records,
        seriesRecords: loss.seriesRecords,
        samples: loss.samples,
        damaged: loss.damagedRecords,
        exact: loss.exact,
        bytes: loss.bytes,
      },
      { ...want, damaged: 1, exact: true, bytes: file.length - r.start },
      `record ${k}`,
    );
  }
});

Deno.test("assessLoss(): a torn tail counts the cut record with its full sample count", () => {
  const { file, recs } = image(mix());
  for (const k of [3, 9, 27, 40]) {
    const r = recs[k];
    // Cut a few bytes after the record's first fragment header and payload start.
    for (const cut of [r.start + 7 + 4, Math.floor((r.start + r.end) / 2), r.end - 1]) {
      const start = recs[k - 2].start;
      const loss = assessLoss(file.subarray(start, cut), start);
      const want = expected(recs.slice(0, k + 1), k - 2);
      assertEquals(
        [loss.records, loss.samples, loss.damagedRecords, loss.exact],
        [want.records, want.samples, 1, true],
        `record ${k} cut at ${cut - r.start}`,
      );
    }
  }
});

Deno.test("assessLoss(): an unreadable fragment header makes the report a lower bound", () => {
  const { file, recs } = image(mix());
  const r = recs[12];
  const damaged = file.slice();
  damaged[r.start] = 0x77; // not a fragment type
  const loss = assessLoss(damaged.subarray(r.start), r.start);
  assertEquals(loss.exact, false);
  ok(loss.records < expected(recs, 12).records);
  ok(loss.records > 0, "records after the next page boundary are still counted");
  // Zeros (space never written) are not damage: an empty tail costs nothing.
  const zeros = assessLoss(new Uint8Array(3 * PAGE_SIZE), 0);
  assertEquals([zeros.records, zeros.samples, zeros.exact], [0, 0, true]);
});

Deno.test("assessLoss() never throws and never reports more than the file holds (property)", () => {
  const { file, recs } = image(mix());
  const total = expected(recs, 0);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(file.length - 1), fc.integer({ min: 1, max: 255 })), {
        maxLength: 8,
      }),
      fc.nat(file.length),
      (flips, cut) => {
        const d = file.slice(0, Math.max(1, cut));
        for (const [at, x] of flips) if (at < d.length) d[at] ^= x;
        const loss = assessLoss(d, 0);
        ok(loss.records <= total.records + flips.length + 1);
        ok(loss.bytes === d.length);
        // With no damage, whole records parse and the count is exact.
        if (flips.length === 0 && cut >= file.length) {
          assertEquals([loss.records, loss.samples, loss.exact], [
            total.records,
            total.samples,
            true,
          ]);
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("assessLoss() agrees with a plain reader on undamaged data", () => {
  const { file } = image(mix());
  const r = new RecordReader();
  r.push(file);
  let records = 0, samples = 0;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    records++;
    if (countsSamples(rec[0])) samples += sampleCount(rec);
  }
  const loss = assessLoss(file, 0);
  assertEquals([loss.records, loss.samples, loss.damagedRecords], [records, samples, 0]);
});

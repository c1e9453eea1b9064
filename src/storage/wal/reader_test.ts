import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { Labels } from "../../model/labels.ts";
import { CorruptionError } from "./errors.ts";
import { RecordReader } from "./reader.ts";
import { decodeSamples, decodeSeries, RecordEncoder, RecordType, SampleBuffer } from "./record.ts";
import { Fragment, framedSize, frameRecord, HEADER_SIZE, PAGE_SIZE } from "./segment.ts";

/** Frames `payloads` back to back from file offset `start` (bytes before it are not included). */
function frame(payloads: Uint8Array[], start = 0): Uint8Array {
  let size = 0;
  for (const p of payloads) size += framedSize(start + size, p.length);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of payloads) at += frameRecord(p, { out, at, pos: start + at });
  assertEquals(at, size);
  return out;
}

function payload(len: number, seed: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = (i * 31 + seed * 17 + 1) & 0xff;
  return p;
}

/** Reads every record, feeding `chunk` bytes at a time. */
function readAll(data: Uint8Array, opts: { chunk?: number; offset?: number } = {}): Uint8Array[] {
  const r = new RecordReader({ offset: opts.offset ?? 0, bufferSize: 64 });
  const chunk = opts.chunk ?? data.length;
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length || i === 0; i += chunk) {
    r.push(data.subarray(i, Math.min(data.length, i + chunk)));
    for (let rec = r.next(); rec !== null; rec = r.next()) out.push(rec.slice());
    if (chunk === 0) break;
  }
  r.finish();
  return out;
}

/** Walks the fragment headers and checks no fragment crosses a page. */
function fragmentTypes(data: Uint8Array, start = 0): number[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const types: number[] = [];
  let i = 0;
  while (i < data.length) {
    const pos = start + i;
    const rem = PAGE_SIZE - (pos % PAGE_SIZE);
    if (rem <= HEADER_SIZE) {
      for (let k = 0; k < rem; k++) assertEquals(data[i + k], 0, "padding must be zero");
      i += rem;
      continue;
    }
    const len = view.getUint16(i + 1, false);
    ok(len >= 1 && HEADER_SIZE + len <= rem, `fragment at ${pos} crosses a page`);
    types.push(data[i]);
    i += HEADER_SIZE + len;
  }
  return types;
}

Deno.test("frameRecord() splits records larger than a page into first/middle/last fragments", async (t) => {
  const big = payload(3 * PAGE_SIZE + 123, 1);
  await t.step("from offset 0", () => {
    const data = frame([big]);
    assertEquals(fragmentTypes(data), [
      Fragment.First,
      Fragment.Middle,
      Fragment.Middle,
      Fragment.Last,
    ]);
    assertEquals(readAll(data), [big]);
  });
  await t.step("small records fill a page, then a full fragment moves to the next page", () => {
    const recs = Array.from({ length: 40 }, (_, i) => payload(1000 + i, i));
    const data = frame(recs);
    const types = fragmentTypes(data);
    ok(types.includes(Fragment.First) && types.includes(Fragment.Last));
    assertEquals(readAll(data), recs);
    assertEquals(readAll(data, { chunk: 97 }), recs, "fed in odd chunks");
  });
  await t.step("starting where fewer than a header's bytes remain in the page", () => {
    for (const gap of [1, 6, 7, 8, 9]) {
      const start = PAGE_SIZE - gap;
      const recs = [payload(10, 1), big, payload(1, 2)];
      const data = frame(recs, start);
      fragmentTypes(data, start);
      assertEquals(readAll(data, { offset: start, chunk: 1000 }), recs, `gap ${gap}`);
    }
  });
  await t.step("framedSize() agrees with frameRecord() at every page position", () => {
    for (let pos = PAGE_SIZE - 20; pos < PAGE_SIZE + 2; pos++) {
      for (const len of [1, 2, PAGE_SIZE - 8, PAGE_SIZE - 7, PAGE_SIZE, 2 * PAGE_SIZE + 5]) {
        const out = new Uint8Array(framedSize(pos, len));
        assertEquals(frameRecord(payload(len, 3), { out, at: 0, pos }), out.length);
      }
    }
  });
});

Deno.test("RecordReader reports torn and corrupted data as CorruptionError at the last good record", async (t) => {
  const recs = [payload(100, 1), payload(PAGE_SIZE + 10, 2), payload(50, 3)];
  const data = frame(recs);
  const end0 = framedSize(0, 100);
  const end1 = end0 + framedSize(end0, PAGE_SIZE + 10);
  const check = (name: string, bytes: Uint8Array, goodRecords: number, offset: number) =>
    t.step(name, () => {
      const r = new RecordReader();
      r.push(bytes);
      const got: Uint8Array[] = [];
      let err: unknown = undefined;
      try {
        for (let rec = r.next(); rec !== null; rec = r.next()) got.push(rec.slice());
        r.finish();
      } catch (e) {
        err = e;
      }
      ok(err instanceof CorruptionError, `want CorruptionError, got ${err}`);
      assertEquals(err.offset, offset);
      assertEquals(got, recs.slice(0, goodRecords));
    });
  await check("torn inside the multi-page record", data.subarray(0, end0 + 32_700), 1, end0);
  await check("torn inside a header", data.subarray(0, end1 + 3), 2, end1);
  const flipped = data.slice();
  flipped[end0 + HEADER_SIZE + 5] ^= 0x10;
  await check("flipped payload byte", flipped, 1, end0);
  const badType = data.slice();
  badType[end1] = 9;
  await check("invalid fragment type", badType, 2, end1);
  const zeroed = data.slice();
  zeroed.fill(0, end1);
  await check("zero-filled tail", zeroed, 2, end1);
  const badLen = data.slice();
  badLen[1] = 0xff;
  await check("fragment length past the page", badLen, 0, 0);
  const missingFirst = frame([payload(PAGE_SIZE + 10, 2)]).subarray(PAGE_SIZE);
  const r = new RecordReader({ offset: PAGE_SIZE });
  r.push(missingFirst);
  throws(() => r.next(), CorruptionError, "a last fragment without its first");
});

Deno.test("RecordReader never throws anything but CorruptionError and never hangs (property)", async (t) => {
  // A valid segment: series and samples records, one larger than a page.
  const enc = new RecordEncoder();
  const series = Array.from({ length: 300 }, (_, i) => ({
    ref: i + 1,
    labels: Labels.fromObject({ __name__: "m", i: String(i), pad: "x".repeat(i % 200) }),
  }));
  enc.series(series);
  const cols = new SampleBuffer();
  for (let i = 0; i < 300; i++) cols.push(i + 1, 1_700_000_000_000 + i, i / 3, i % 7 === 0 ? 1 : 0);
  enc.samples(cols);
  const buf = enc.buffer();
  const recs: Uint8Array[] = [];
  let s = 0;
  for (const e of enc.ends()) {
    recs.push(buf.slice(s, e));
    s = e;
  }
  recs.push(new Uint8Array([99, 1, 2, 3])); // unknown record type: skipped by decoders
  const valid = frame(recs);
  ok(valid.length > PAGE_SIZE);

  /** Reads and decodes everything; returns normally or throws. */
  const consume = (bytes: Uint8Array, chunk: number) => {
    const r = new RecordReader({ bufferSize: 16 });
    const out = new SampleBuffer();
    let fed = 0;
    let steps = 0;
    while (fed < bytes.length) {
      const n = Math.min(chunk, bytes.length - fed);
      r.push(bytes.subarray(fed, fed + n));
      fed += n;
      for (let rec = r.next(); rec !== null; rec = r.next()) {
        if (++steps > bytes.length + 10) throw new Error("reader does not make progress");
        if (rec[0] === RecordType.Series) decodeSeries(rec, () => {});
        else if (rec[0] === RecordType.SamplesCompact) decodeSamples(rec, out);
      }
    }
    r.finish();
  };
  const onlyCorruption = (bytes: Uint8Array, chunk: number) => {
    try {
      consume(bytes, chunk);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
    }
  };
  consume(valid, 4096); // the unmutated segment reads cleanly

  await t.step("random bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3 * PAGE_SIZE }),
        fc.integer({ min: 1, max: 70_000 }),
        onlyCorruption,
      ),
      { numRuns: 300 },
    );
  });
  await t.step("random headers with valid CRCs", () => {
    // Well-formed fragments around random payloads exercise the record decoders.
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom(1, 2, 99), fc.uint8Array({ minLength: 0, maxLength: 200 })),
          {
            maxLength: 20,
          },
        ),
        (items) => onlyCorruption(frame(items.map(([t, p]) => Uint8Array.of(t, ...p))), 333),
      ),
      { numRuns: 500 },
    );
  });
  await t.step("mutations of a valid segment", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(valid.length),
        fc.integer({ min: 1, max: 70_000 }),
        (flips, cut, chunk) => {
          const m = valid.slice(0, Math.max(cut, 1));
          for (const [at, x] of flips) if (at < m.length) m[at] ^= x;
          onlyCorruption(m, chunk);
        },
      ),
      { numRuns: 300 },
    );
  });
});

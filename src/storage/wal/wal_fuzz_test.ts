/**
 * Fuzzing the WAL on disk (issue 9, item 6): a real agent db's directory —
 * segments with series, float samples with start times, stale markers,
 * histograms and exemplars, a checkpoint and the cursors file — is damaged at
 * random (bytes flipped or overwritten, files cut, zeroed, extended with junk
 * or replaced by random bytes) and opened again, as after a crash or a bad
 * disk. The record-level decoders have their own property tests
 * (reader_test.ts, record_test.ts, histogram_record_test.ts,
 * exemplar_record_test.ts, repair_test.ts); this drives the whole path:
 * `AgentDb.open` (checkpoint and segment replay, repair, cursor loading) and
 * delivery reading (`tail`).
 *
 * Invariant 4 of `Wal`, checked here: damaged content never makes open fail;
 * it repairs and reports. After one open the WAL is clean: a second open finds
 * no corruption. Delivery reads the repaired WAL to its end without an error.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { emptyHistogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { setupLogging } from "../../util/log.ts";
import { commitRange, drain, openDb, series, withDir } from "../testutil.ts";

const SEGMENT = 1024;

/** Builds a db with every record type, a checkpoint and a cursor; returns its files. */
async function fixture(dir: string): Promise<Map<string, Uint8Array>> {
  const db = await openDb(dir, { segmentSize: SEGMENT });
  const rx = db.cursor("rx");
  await commitRange(db, 0, 30, 1_000_000);
  for (let k = 0; k < 10; k++) await commitRange(db, 0, 10, 1_001_000 + k * 1000);
  const delivered = db.position;
  for (let k = 0; k < 10; k++) await commitRange(db, 0, 10, 1_011_000 + k * 1000);
  rx.ack(delivered);
  await db.truncate(); // a checkpoint replaces the delivered segments
  const app = db.appender();
  const h = Labels.fromObject({ __name__: "h", job: "test" });
  for (let k = 0; k < 5; k++) {
    const t = 1_100_000 + k * 1000;
    const ref = app.appendHistogram(0, h, t, {
      ...emptyHistogram(),
      schema: 1,
      count: 3 + k,
      sum: 1.5 * k,
      zeroCount: 1,
      positiveSpans: [{ offset: 0, length: 2 }],
      positiveBuckets: [1, 1 + k],
    }, t - 50_000);
    app.appendExemplar(ref, h, {
      labels: Labels.fromObject({ trace_id: `t${k}` }),
      value: 0.5,
      ts: t,
    });
    app.appendWithStart(0, series(40 + k), t, k, t - 10_000);
  }
  app.appendStale(0, series(1), 1_200_000);
  await app.commit();
  for (let k = 0; k < 10; k++) await commitRange(db, 0, 8, 1_300_000 + k * 1000);
  await db.close();
  const files = new Map<string, Uint8Array>();
  for (const sub of ["", "wal"]) {
    for await (const e of Deno.readDir(join(dir, sub))) {
      if (e.isFile && e.name !== "lock") {
        files.set(join(sub, e.name), await Deno.readFile(join(dir, sub, e.name)));
      }
    }
  }
  return files;
}

type Damage =
  | { kind: "flip"; at: number; x: number }
  | { kind: "overwrite"; at: number; bytes: Uint8Array }
  | { kind: "cut"; at: number }
  | { kind: "zero"; at: number; len: number }
  | { kind: "append"; bytes: Uint8Array }
  | { kind: "replace"; bytes: Uint8Array };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("flip"),
      at: fc.nat(),
      x: fc.integer({ min: 1, max: 255 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("overwrite"),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cut"), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("zero"),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 40_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("append"),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 3000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("replace"),
      bytes: fc.uint8Array({ maxLength: 5000 }),
    }),
  },
) as fc.Arbitrary<Damage>;

function apply(data: Uint8Array, d: Damage): Uint8Array {
  const at = data.length === 0 ? 0 : ("at" in d ? d.at % data.length : 0);
  switch (d.kind) {
    case "flip": {
      const out = data.slice();
      if (out.length > 0) out[at] ^= d.x;
      return out;
    }
    case "overwrite": {
      const out = data.slice();
      out.set(d.bytes.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    }
    case "cut":
      return data.slice(0, at);
    case "zero": {
      const out = data.slice();
      out.fill(0, at, at + d.len);
      return out;
    }
    case "append": {
      const out = new Uint8Array(data.length + d.bytes.length);
      out.set(data);
      out.set(d.bytes, data.length);
      return out;
    }
    case "replace":
      return d.bytes;
  }
}

Deno.test("WAL fuzz: a damaged data directory always opens, repairs completely, and delivers to its end (property)", async () => {
  setupLogging({ level: "error", write: () => {} });
  try {
    await withDir(async (golden) => {
      const files = await fixture(golden);
      const names = [...files.keys()].sort();
      ok(names.some((n) => n.includes("checkpoint.")), `a checkpoint: ${names}`);
      ok(names.includes("cursors.json"), `a cursors file: ${names}`);
      ok(names.filter((n) => /wal\/\d{8}$/.test(n)).length >= 3, `segments: ${names}`);
      let corrupted = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(names.length - 1), damage), { minLength: 1, maxLength: 4 }),
          async (damages) => {
            await withDir(async (dir) => {
              await Deno.mkdir(join(dir, "wal"));
              const broken = new Map(files);
              for (const [i, d] of damages) broken.set(names[i], apply(broken.get(names[i])!, d));
              for (const [name, data] of broken) await Deno.writeFile(join(dir, name), data);

              let db = await openDb(dir, { segmentSize: SEGMENT });
              try {
                if (db.replay.corruptions > 0) corrupted++;
                const from = db.cursor("rx").position;
                const read = await drain(db, from, { quietMs: 50 });
                ok(read.ts.every((t) => Number.isFinite(t)));
              } finally {
                await db.close();
              }
              db = await openDb(dir, { segmentSize: SEGMENT });
              try {
                // The first open cut every damaged file (segments and checkpoint) back to its
                // last good record: the second reports nothing again.
                assertEquals(db.replay.corruptions, 0, "the first open repaired every file");
              } finally {
                await db.close();
              }
            });
          },
        ),
        { numRuns: 60 },
      );
      ok(corrupted > 10, `only ${corrupted} runs found corruption`);
    });
  } finally {
    setupLogging({ level: "error", write: () => {} });
  }
});

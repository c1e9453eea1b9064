/**
 * Series garbage collection: quiet series leave memory and checkpoints, but
 * never while a cursor or a reader still needs them.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { Registry } from "../metrics/registry.ts";
import { listWalDir } from "./wal/segment.ts";
import { commitRange, drain, metric, openDb, series, withDir } from "./testutil.ts";

const MIN = 60_000;

Deno.test("GC: quiet series whose records every cursor passed leave memory and the checkpoint", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const reg = new Registry();
    let db = await openDb(dir, {
      segmentSize: 2048,
      minTimeMs: MIN,
      now: () => now,
      elapsed: () => now,
      registry: reg,
    });
    const a = db.cursor("a");
    const old = await commitRange(db, 0, 20, 1000, "old");
    for (let k = 0; k < 30; k++) {
      await commitRange(db, 0, 20, 2000 + k, "live");
      now += 1000;
    }
    ok(db.segments.length > 3, "several segments");
    now += MIN;
    const live = await commitRange(db, 0, 20, 99_000, "live");
    a.ack(db.position);
    await db.truncate();
    assertEquals(db.seriesCount, 20);
    for (const r of old) assertEquals(db.labels(r), undefined, `old ref ${r} forgotten`);
    for (const r of live) ok(db.labels(r) !== undefined);
    assertEquals(metric(reg, "ferry_wal_series_garbage_collected_total"), 20);
    assertEquals(metric(reg, "prometheus_agent_active_series"), 20);
    assertEquals(
      metric(reg, "prometheus_agent_deleted_series"),
      0,
      "checkpoint written without them",
    );
    await db.close();

    db = await openDb(dir);
    try {
      assertEquals(db.seriesCount, 20, "the checkpoint holds only the live series");
      assertEquals(db.replay.orphanedSamples, 0);
      // A collected series that comes back gets a new ref.
      const again = await commitRange(db, 0, 1, 100_000, "old");
      ok(again[0] > Math.max(...old, ...live));
    } finally {
      await db.close();
    }
  });
});

Deno.test("GC: a series is kept while a cursor has its samples ahead and until min-time passed", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const db = await openDb(dir, {
      segmentSize: 2048,
      minTimeMs: MIN,
      now: () => now,
      elapsed: () => now,
    });
    try {
      const slow = db.cursor("slow");
      const fast = db.cursor("fast");
      const old = await commitRange(db, 0, 20, 1000, "old");
      for (let k = 0; k < 30; k++) await commitRange(db, 0, 20, 2000 + k, "live");
      fast.ack(db.position);
      await db.truncate();
      assertEquals(db.seriesCount, 40, "min-time not passed");
      now += 2 * MIN;
      await commitRange(db, 0, 20, 3000, "live");
      fast.ack(db.position);
      await db.truncate();
      assertEquals(db.seriesCount, 40, "the slow cursor still has their samples ahead");
      ok(db.labels(old[0]) !== undefined);
      slow.ack({ segment: db.segments[db.segments.length - 1], offset: 0 });
      await db.truncate();
      assertEquals(db.seriesCount, 20);
      assertEquals(db.labels(old[0]), undefined);
    } finally {
      await db.close();
    }
  });
});

Deno.test("GC: a chunk handed to a reader keeps its series known until the reader asks for more", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const db = await openDb(dir, {
      segmentSize: 2048,
      minTimeMs: MIN,
      now: () => now,
      elapsed: () => now,
    });
    const ac = new AbortController();
    try {
      const a = db.cursor("a");
      const start = a.position;
      const old = await commitRange(db, 0, 20, 1000, "old");
      for (let k = 0; k < 30; k++) await commitRange(db, 0, 20, 2000 + k, "live");
      now += 2 * MIN;
      await commitRange(db, 0, 20, 3000, "live");
      const it = db.tail(start, ac.signal, { cursor: "a" })[Symbol.asyncIterator]();
      const first = await it.next();
      ok(
        !first.done && first.value.samples.refs.includes(old[0]),
        "the first chunk holds old samples",
      );
      // The cursor moves past everything (as a drop would) while the chunk is still held.
      a.ack(db.position);
      await db.truncate();
      for (const r of old) ok(db.labels(r) !== undefined, `ref ${r} still resolves`);
      await it.return?.();
      await db.truncate();
      assertEquals(db.labels(old[0]), undefined, "collected once the reader let go");
    } finally {
      ac.abort();
      await db.close();
    }
  });
});

Deno.test("GC: an appender that holds a collected series brings it back, and its record is rewritten", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    let db = await openDb(dir, {
      segmentSize: 2048,
      minTimeMs: MIN,
      now: () => now,
      elapsed: () => now,
    });
    const a = db.cursor("a");
    const [ref] = await commitRange(db, 5, 6, 1000, "old");
    for (let k = 0; k < 30; k++) await commitRange(db, 0, 20, 2000 + k, "live");
    now += 2 * MIN;
    const app = db.appender();
    assertEquals(app.append(ref, series(5, "old"), 5000, 1), ref, "resolved before the GC");
    await commitRange(db, 0, 20, 5000, "live");
    a.ack(db.position);
    await db.truncate();
    assertEquals(db.labels(ref), undefined, "collected while the appender holds it");
    await app.commit();
    ok(db.labels(ref)?.equals(series(5, "old")), "back under the same ref");
    a.ack(db.position);
    await db.close();

    db = await openDb(dir);
    try {
      ok(db.labels(ref)?.equals(series(5, "old")), "its series record was written again");
      assertEquals(db.replay.orphanedSamples, 0);
      const { refs } = await drain(db, { segment: 0, offset: 0 });
      for (const r of refs) ok(db.labels(r) !== undefined, `ref ${r} resolves after restart`);
    } finally {
      await db.close();
    }
  });
});

Deno.test("GC: collected series leave the checkpoint even when no segment is deleted", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const reg = new Registry();
    let db = await openDb(dir, {
      segmentSize: 2048,
      minTimeMs: MIN,
      now: () => now,
      elapsed: () => now,
      registry: reg,
    });
    const a = db.cursor("a");
    await commitRange(db, 0, 100, 1000, "old");
    for (let k = 0; k < 30; k++) await commitRange(db, 0, 20, 2000 + k, "live");
    a.ack(db.position);
    ok((await db.truncate()) > 0);
    const cp = async () => {
      const l = await listWalDir(join(dir, "wal"));
      return (await Deno.stat(
        join(dir, "wal", `checkpoint.${String(l.checkpoints[0]).padStart(8, "0")}`),
      )).size;
    };
    const before = await cp();
    now += 2 * MIN;
    await commitRange(db, 0, 20, 3000, "live");
    assertEquals(await db.truncate(), 0, "no segment below the cursor");
    assertEquals(db.seriesCount, 20);
    ok((await cp()) < before / 2, "checkpoint rewritten without the 100 old series");
    assertEquals(metric(reg, "prometheus_agent_deleted_series"), 0);
    await db.close();
    db = await openDb(dir);
    try {
      assertEquals(db.seriesCount, 20);
    } finally {
      await db.close();
    }
  });
});

Deno.test("GC: churn does not grow the series set", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const reg = new Registry();
    const db = await openDb(dir, {
      segmentSize: 64 * 1024,
      minTimeMs: 0,
      now: () => now,
      elapsed: () => now,
      registry: reg,
    });
    try {
      const a = db.cursor("a");
      let maxActive = 0;
      for (let round = 0; round < 12; round++) {
        // A new generation of 3,000 series (pods replaced), scraped twice.
        await commitRange(db, 0, 3000, 1000 + round * 10, `gen${round}`);
        now += 1000;
        await commitRange(db, 0, 3000, 1001 + round * 10, `gen${round}`);
        now += 1000;
        a.ack(db.position);
        await db.truncate();
        maxActive = Math.max(maxActive, db.seriesCount);
      }
      ok(maxActive <= 6000, `active series stayed bounded: ${maxActive}`);
      assertEquals(metric(reg, "ferry_wal_series_garbage_collected_total") >= 30_000, true);
      ok(db.diskBytes < 3 * 64 * 1024 + 400_000, `disk bounded: ${db.diskBytes}`);
    } finally {
      await db.close();
    }
  });
});

Deno.test("GC: within one head segment (large segments, no rotation), quiet series leave memory once every cursor passed them", async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const db = await openDb(dir, { minTimeMs: MIN, now: () => now, elapsed: () => now });
    try {
      const a = db.cursor("a");
      const old = await commitRange(db, 0, 20, 1000, "old");
      await db.truncate(); // marks where the WAL ends now
      now += 2 * MIN;
      const live = await commitRange(db, 0, 20, 2000, "live");
      assertEquals(db.segments.length, 1, "all in the head segment");
      await db.truncate();
      assertEquals(db.seriesCount, 40, "the cursor has not passed them yet");
      a.ack(db.position);
      await db.truncate();
      assertEquals(db.seriesCount, 20, "collected without a segment completing");
      for (const r of old) assertEquals(db.labels(r), undefined, `old ref ${r} forgotten`);
      for (const r of live) ok(db.labels(r) !== undefined);
    } finally {
      await db.close();
    }
  });
});

/**
 * Retention and disk caps: the WAL stays bounded, the oldest undelivered
 * data goes first, and every sample is either delivered or counted as
 * dropped (exactly, per cursor, never twice).
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Registry } from "../metrics/registry.ts";
import type { DropEvent } from "./agentdb.ts";
import { commitRange, dirBytes, drain, metric, openDb, withDir } from "./testutil.ts";

const SEG = 4096;

function dropSum(events: DropEvent[], cursor: string, reason?: string): number {
  let n = 0;
  for (const e of events) {
    if (e.cursor === cursor && (!reason || e.reason === reason)) n += e.samples;
  }
  return n;
}

Deno.test("disk cap: the WAL never exceeds it, the oldest undelivered data is dropped and counted exactly", async () => {
  await withDir(async (dir) => {
    const cap = 8 * SEG;
    const drops: DropEvent[] = [];
    const reg = new Registry();
    const db = await openDb(dir, {
      segmentSize: SEG,
      maxDiskBytes: cap,
      registry: reg,
      onDrop: (e) => drops.push(e),
    });
    try {
      const start = db.cursor("rx").position; // the receiver is down: never acknowledged
      let total = 0;
      for (let k = 0; k < 400; k++) {
        await commitRange(db, 0, 30, 1_000_000 + k * 1000);
        total += 30;
        ok(db.diskBytes <= cap, `WAL ${db.diskBytes} > cap ${cap} after commit ${k}`);
        if (k % 25 === 0) {
          const onDisk = await dirBytes(dir);
          ok(onDisk <= cap, `directory ${onDisk} > cap ${cap} after commit ${k}`);
        }
      }
      const dropped = dropSum(drops, "rx", "wal_disk_cap");
      ok(dropped > total / 2, `most of it was dropped: ${dropped} of ${total}`);
      assertEquals(drops.every((d) => d.reason === "wal_disk_cap"), true);
      // What is left is delivered: together with the drops, every sample exactly once.
      const { ts } = await drain(db, start, { cursor: "rx" });
      assertEquals(dropped + ts.length, total);
      // The newest data survived, oldest first.
      const kept = new Set(ts);
      assertEquals(kept.size * 30, ts.length, "whole commits");
      const newest = 1_000_000 + 399 * 1000;
      for (let t = newest; t > newest - kept.size * 1000; t -= 1000) ok(kept.has(t), `kept ${t}`);
      ok(metric(reg, "prometheus_tsdb_wal_storage_size_bytes") <= cap);
    } finally {
      await db.close();
    }
  });
});

Deno.test("per-cursor cap: only that cursor skips data; the other still gets everything", async () => {
  await withDir(async (dir) => {
    const drops: DropEvent[] = [];
    const db = await openDb(dir, { segmentSize: SEG, onDrop: (e) => drops.push(e) });
    try {
      const small = db.cursor("small").position;
      const big = db.cursor("big").position;
      db.limitCursor("small", 5 * SEG);
      let total = 0;
      for (let k = 0; k < 300; k++) {
        await commitRange(db, 0, 30, 1_000_000 + k * 1000);
        total += 30;
      }
      await db.truncate();
      const dropped = dropSum(drops, "small");
      ok(dropped > 0);
      assertEquals(dropSum(drops, "big"), 0);
      const s = await drain(db, small, { cursor: "small" });
      assertEquals(dropped + s.ts.length, total);
      const b = await drain(db, big, { cursor: "big" });
      assertEquals(b.ts.length, total, "the uncapped cursor keeps its segments");
      db.limitCursor("small", 0);
      assertThrowsRange(() => db.limitCursor("small", -1));
    } finally {
      await db.close();
    }
  });
});

function assertThrowsRange(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    ok(e instanceof RangeError);
    return;
  }
  throw new Error("expected a RangeError");
}

Deno.test("retention: undelivered segments older than max-time are dropped and counted", async () => {
  await withDir(async (dir) => {
    let now = 2_000_000;
    const drops: DropEvent[] = [];
    const db = await openDb(dir, {
      segmentSize: SEG,
      maxTimeMs: 20_000,
      now: () => now,
      onDrop: (e) => drops.push(e),
    });
    try {
      const start = db.cursor("rx").position;
      let total = 0;
      for (let k = 0; k < 120; k++) {
        await commitRange(db, 0, 30, now);
        total += 30;
        now += 1000;
      }
      await db.truncate();
      const dropped = dropSum(drops, "rx", "retention");
      ok(dropped > 0 && drops.every((d) => d.reason === "retention"));
      const { ts } = await drain(db, start, { cursor: "rx" });
      assertEquals(dropped + ts.length, total);
      // Whole segments go: the oldest kept sample may be somewhat older than the cutoff, but the
      // newest dropped one is not younger than it.
      const oldestKept = Math.min(...ts);
      // A 4 KiB segment holds about 13 commits, i.e. 13 s.
      ok(oldestKept >= now - 20_000 - 15_000, `oldest kept ${now - oldestKept} ms old`);
      ok(oldestKept > 2_000_000);
    } finally {
      await db.close();
    }
  });
});

Deno.test("drops skip a reader forward; what it had handed out is neither counted nor repeated", async () => {
  await withDir(async (dir) => {
    const drops: DropEvent[] = [];
    const db = await openDb(dir, {
      segmentSize: SEG,
      maxDiskBytes: 8 * SEG,
      onDrop: (e) => drops.push(e),
    });
    const ac = new AbortController();
    try {
      const start = db.cursor("rx").position;
      let total = 0;
      const commit = async (k: number) => {
        await commitRange(db, 0, 30, 1_000_000 + k * 1000);
        total += 30;
      };
      for (let k = 0; k < 20; k++) await commit(k);
      const it = db.tail(start, ac.signal, { cursor: "rx" })[Symbol.asyncIterator]();
      const seen: number[] = [];
      const take = (r: IteratorResult<{ samples: { length: number; ts: Float64Array } }>) => {
        if (r.done) return;
        for (let i = 0; i < r.value.samples.length; i++) seen.push(r.value.samples.ts[i]);
      };
      take(await it.next()); // held, never acknowledged (the receiver is down)
      const handedOut = seen.length;
      ok(handedOut > 0);
      for (let k = 20; k < 300; k++) await commit(k);
      const dropped = dropSum(drops, "rx");
      ok(dropped > 0);
      // Read on until caught up.
      for (;;) {
        const r = await Promise.race([
          it.next(),
          new Promise<null>((res) => setTimeout(() => res(null), 300)),
        ]);
        if (r === null) break;
        take(r);
      }
      assertEquals(handedOut + dropped + (seen.length - handedOut), total);
      assertEquals(seen.length + dropped, total);
      assertEquals(new Set(seen).size * 30, seen.length, "no commit read twice");
      ac.abort();
      await it.return?.();
    } finally {
      ac.abort();
      await db.close();
    }
  });
});

Deno.test("caps apply on open to a WAL that is already too big", async () => {
  await withDir(async (dir) => {
    let db = await openDb(dir, { segmentSize: SEG });
    db.cursor("rx");
    for (let k = 0; k < 200; k++) await commitRange(db, 0, 30, 1_000_000 + k * 1000);
    await db.close();
    const before = await dirBytes(dir);
    const drops: DropEvent[] = [];
    db = await openDb(dir, {
      segmentSize: SEG,
      maxDiskBytes: 6 * SEG,
      truncateIntervalMs: 60_000,
      onDrop: (e) => drops.push(e),
    });
    try {
      const deadline = Date.now() + 5000;
      while ((await dirBytes(dir)) > 6 * SEG && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      ok(before > 6 * SEG);
      ok((await dirBytes(dir)) <= 6 * SEG, "cut down to the cap after open");
      ok(dropSum(drops, "rx") > 0);
    } finally {
      await db.close();
    }
  });
});

Deno.test("a head segment older than headMaxAgeMs is completed, so retention can act on it", async () => {
  await withDir(async (dir) => {
    let now = 5_000_000;
    const db = await openDb(dir, {
      segmentSize: 1 << 20,
      headMaxAgeMs: 10_000,
      truncateIntervalMs: 20,
      now: () => now,
      elapsed: () => now,
    });
    try {
      await commitRange(db, 0, 10, now);
      const head = db.segments[db.segments.length - 1];
      await new Promise((r) => setTimeout(r, 80));
      assertEquals(db.segments[db.segments.length - 1], head, "young head kept");
      now += 11_000;
      const deadline = Date.now() + 3000;
      while (db.segments[db.segments.length - 1] === head && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      ok(db.segments[db.segments.length - 1] > head, "rotated");
      assertEquals(db.position.segment > head, true, "readers see the new head");
    } finally {
      await db.close();
    }
  });
});

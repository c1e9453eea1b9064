/**
 * Wall clock jumps. Retention compares sample timestamps with the wall clock
 * (as Prometheus); every duration (series GC's min-time, the head's age, the
 * fsync and cursor-write pacing) goes by the monotonic clock, so a jump
 * either way neither collects early nor wedges anything.
 */

import { join } from "node:path";
import { Registry } from "../metrics/registry.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import type { DropEvent } from "./agentdb.ts";
import { commitRange, drain, metric, openDb, withDir } from "./testutil.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Waits (bounded) until `cond` holds. */
async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function dropped(drops: DropEvent[]): number {
  return drops.reduce((n, d) => n + d.samples, 0);
}

Deno.test("clock: the wall clock jumps forward by hours — retention drops only undelivered completed segments older than max-time by the new clock (counted), never the head; series GC waits for monotonic min-time", async () => {
  await withDir(async (dir) => {
    let wall = 10 * HOUR, mono = 0;
    const drops: DropEvent[] = [];
    const db = await openDb(dir, {
      segmentSize: 2048,
      maxTimeMs: 4 * HOUR,
      minTimeMs: 5 * MIN,
      now: () => wall,
      elapsed: () => mono,
      onDrop: (e) => drops.push(e),
    });
    try {
      const rx = db.cursor("rx");
      const start = rx.position;
      let total = 0;
      for (let k = 0; k < 30; k++) {
        await commitRange(db, 0, 10, wall, "old");
        await commitRange(db, 0, 10, wall, "live");
        total += 20;
        wall += 1000;
        mono += 1000;
      }
      const head = db.position.segment;
      const completed = db.segments.filter((s) => s < head);
      assert(completed.length >= 3, `segments ${db.segments}`);
      const inCompleted = completed.reduce((n, s) => n + db.segmentSamples(s), 0);

      wall += 5 * HOUR; // e.g. NTP fixing an edge box's clock
      await db.truncate();
      assertEquals(dropped(drops), inCompleted, "exactly the completed segments' samples");
      assert(drops.every((d) => d.reason === "retention" && d.cursor === "rx"));
      assert(db.segments.includes(head), "the head is never dropped");
      assertEquals(db.seriesCount, 20);

      await commitRange(db, 0, 10, wall, "live");
      const got = await drain(db, start, { cursor: "rx", ack: true });
      assertEquals(got.ts.length, total - inCompleted + 10, "the rest is still delivered");

      // Every segment holding "old" completed and delivered: it went quiet 1 s of monotonic
      // time ago, not 5 h.
      const last = db.position.segment;
      while (db.position.segment === last) await commitRange(db, 0, 10, wall += 1000, "live");
      rx.ack(db.position);
      await db.truncate();
      assertEquals(db.seriesCount, 20, "no series collected by a wall clock jump");
      mono += 6 * MIN;
      await commitRange(db, 0, 10, wall += 1000, "live");
      rx.ack(db.position);
      await db.truncate();
      assertEquals(db.seriesCount, 10, "collected after min-time of monotonic time");
    } finally {
      await db.close();
    }
  });
});

Deno.test("clock: the wall clock jumps back by hours — retention drops nothing, truncation still deletes delivered segments, GC still collects quiet series", async () => {
  await withDir(async (dir) => {
    let wall = 10 * HOUR, mono = 0;
    const drops: DropEvent[] = [];
    const db = await openDb(dir, {
      segmentSize: 2048,
      maxTimeMs: 4 * HOUR,
      minTimeMs: 5 * MIN,
      now: () => wall,
      elapsed: () => mono,
      onDrop: (e) => drops.push(e),
    });
    try {
      const rx = db.cursor("rx");
      for (let k = 0; k < 20; k++) {
        await commitRange(db, 0, 10, wall, "old");
        await commitRange(db, 0, 10, wall, "live");
        wall += 1000;
        mono += 1000;
      }
      wall -= 3 * HOUR;
      for (let k = 0; k < 20; k++) {
        await commitRange(db, 0, 10, wall, "live"); // timestamps earlier than before the jump
        wall += 1000;
        mono += 1000;
      }
      await db.truncate();
      assertEquals(drops, [], "nothing dropped");
      assert(db.segments.length > 3);

      rx.ack(db.position);
      await db.truncate();
      assertEquals(db.segments, [db.position.segment], "delivered segments deleted");
      assertEquals(db.seriesCount, 20, "old went quiet 20 s ago");
      mono += 6 * MIN;
      await commitRange(db, 0, 10, wall, "live");
      rx.ack(db.position);
      await db.truncate();
      assertEquals(db.seriesCount, 10, "old collected after min-time");
      await db.truncate(); // and truncation keeps working
      assertEquals(db.segments, [db.position.segment]);
    } finally {
      await db.close();
    }
  });
});

Deno.test("clock: after the wall clock jumps back by hours, the WAL is still fsynced and the cursors file still written within a second or so", async () => {
  await withDir(async (dir) => {
    let wall = Date.now();
    const reg = new Registry();
    const db = await openDb(dir, { registry: reg, now: () => wall }); // real monotonic clock
    try {
      const fsyncs = () => metric(reg, "prometheus_tsdb_wal_fsync_duration_seconds_count");
      const saved = async () =>
        JSON.parse(await Deno.readTextFile(join(dir, "cursors.json"))).cursors.rx;
      const rx = db.cursor("rx");
      await commitRange(db, 0, 5, wall);
      await until("the first fsync", () => fsyncs() >= 1);
      rx.ack(db.position);
      await until(
        "the first cursor write",
        async () => (await saved()).offset === rx.position.offset,
      );

      wall -= 3 * HOUR;
      await commitRange(db, 0, 5, wall);
      await until("an fsync after the jump", () => fsyncs() >= 2);
      rx.ack(db.position);
      await until("a cursor write after the jump", async () => {
        const p = await saved();
        return p.segment === rx.position.segment && p.offset === rx.position.offset;
      });
    } finally {
      await db.close();
    }
  });
});

Deno.test("clock: a wall clock jump does not complete the head segment early; its monotonic age does", async () => {
  await withDir(async (dir) => {
    let wall = 10 * HOUR, mono = 0;
    const db = await openDb(dir, {
      segmentSize: 1 << 20,
      headMaxAgeMs: HOUR,
      truncateIntervalMs: 20,
      now: () => wall,
      elapsed: () => mono,
    });
    try {
      await commitRange(db, 0, 10, wall);
      const head = db.position.segment;
      wall += 5 * HOUR;
      await new Promise((r) => setTimeout(r, 150)); // several timer runs
      assertEquals(db.position.segment, head, "not completed by the wall clock");
      mono += HOUR;
      await until("the head completed", () => db.position.segment > head);
    } finally {
      await db.close();
    }
  });
});

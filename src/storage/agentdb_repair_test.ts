/**
 * Repair on open reports exactly what the damaged bytes held, and every
 * sample outside them is still delivered.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { Registry } from "../metrics/registry.ts";
import { RecordReader } from "./wal/reader.ts";
import { isSamplesType, sampleCount } from "./wal/record.ts";
import { segmentName } from "./wal/segment.ts";
import { commitRange, drain, metric, openDb, withDir } from "./testutil.ts";

/** Record ends and sample counts of a segment file. */
async function records(path: string): Promise<{ end: number; samples: number }[]> {
  const r = new RecordReader();
  r.push(await Deno.readFile(path));
  const out = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    out.push({ end: r.offset, samples: isSamplesType(rec[0]) ? sampleCount(rec) : 0 });
  }
  return out;
}

Deno.test("AgentDb repair: a flipped byte mid-WAL and a torn tail; losses reported exactly, the rest delivered", async () => {
  await withDir(async (dir) => {
    let db = await openDb(dir, { segmentSize: 8192 });
    const start = db.cursor("rx").position;
    let total = 0;
    for (let k = 0; k < 120; k++) {
      await commitRange(db, 0, 25 + (k % 10), 1_000_000 + k * 1000);
      total += 25 + (k % 10);
    }
    const segs = [...db.segments].filter((s) => db.segmentSamples(s) > 0);
    ok(segs.length >= 5, `segments with data: ${segs}`);
    await db.close();

    // Damage: one byte in the middle of record 3 of a middle segment; cut the last segment in
    // the middle of its second-to-last record.
    const mid = join(dir, "wal", segmentName(segs[2]));
    const midRecs = await records(mid);
    const bytes = await Deno.readFile(mid);
    bytes[Math.floor((midRecs[2].end + midRecs[3].end) / 2)] ^= 0x10;
    await Deno.writeFile(mid, bytes);
    const last = join(dir, "wal", segmentName(segs[segs.length - 1]));
    const lastRecs = await records(last);
    const n = lastRecs.length;
    ok(n >= 3);
    await Deno.truncate(last, Math.floor((lastRecs[n - 3].end + lastRecs[n - 2].end) / 2));

    const lostMid = midRecs.slice(3);
    // The torn record is found and counted; the last record was cut away entirely and leaves no
    // trace (as after a crash in the middle of a write: it was never on disk).
    const lostLast = lastRecs.slice(n - 2, n - 1);
    const vanished = lastRecs[n - 1].samples;
    const want = {
      records: lostMid.length + lostLast.length,
      samples: [...lostMid, ...lostLast].reduce((a, r) => a + r.samples, 0),
    };
    ok(want.samples > 0);

    const reg = new Registry();
    db = await openDb(dir, { segmentSize: 8192, registry: reg });
    try {
      assertEquals(db.replay.corruptions, 2);
      assertEquals(
        [db.replay.lost.records, db.replay.lost.samples, db.replay.lost.exact],
        [want.records, want.samples, true],
      );
      assertEquals(metric(reg, "prometheus_agent_corruptions_total"), 2);
      assertEquals(metric(reg, "ferry_wal_corruption_lost_records_total"), want.records);
      assertEquals(metric(reg, "ferry_wal_corruption_lost_samples_total"), want.samples);
      assertEquals(db.replay.samples, total - want.samples - vanished);
      const { ts } = await drain(db, start, { cursor: "rx" });
      assertEquals(ts.length, total - want.samples - vanished, "everything else is delivered");
      assertEquals(db.replay.min, segs[0]);
      assertEquals(db.replay.current, db.replay.max);
    } finally {
      await db.close();
    }
  });
});

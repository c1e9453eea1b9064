import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { Labels } from "../model/labels.ts";
import { Registry } from "../metrics/registry.ts";
import { noiseFraction } from "../testing/prng.ts";
import { AgentDb, type AgentDbOptions } from "./agentdb.ts";
import { comparePositions, type TailOptions, type WalChunk, type WalPosition } from "./types.ts";
import { RecordReader } from "./wal/reader.ts";
import { RecordType } from "./wal/record.ts";
import { WalWriteError } from "./wal/writer.ts";
import { framedSize, frameRecord, listWalDir, segmentName } from "./wal/segment.ts";

// ---- helpers ----

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-agentdb-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function open(dir: string, opts: Partial<AgentDbOptions> = {}): Promise<AgentDb> {
  return AgentDb.open(dir, { registry: new Registry(), truncateIntervalMs: 0, ...opts });
}

const series = (i: number) => Labels.fromObject({ __name__: "m", i: String(i), job: "test" });

/** Appends one sample for each of series lo..hi-1 (ref 0: looked up by labels) and commits. */
async function commitRange(db: AgentDb, lo: number, hi: number, t: number): Promise<number[]> {
  const app = db.appender();
  const refs: number[] = [];
  // Full-precision values: 8 WAL bytes each, as the tests size segments by it.
  for (let i = lo; i < hi; i++) refs.push(app.append(0, series(i), t, i + t / 1000 + Math.PI / 7));
  await app.commit();
  return refs;
}

function counter(reg: Registry, name: string, labels?: Record<string, string>): number {
  return reg.counter({ name, help: "", labels }).value;
}

interface Flat {
  refs: number[];
  ts: number[];
  values: number[];
  stale: number[];
}

/** Collects tail() output until `want` samples arrived (or `ms` passed), then aborts. */
async function collect(
  db: AgentDb,
  from: WalPosition,
  want: number,
  ms = 5000,
  opts: TailOptions = {},
): Promise<{ flat: Flat; chunks: WalChunk[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const flat: Flat = { refs: [], ts: [], values: [], stale: [] };
  const chunks: WalChunk[] = [];
  try {
    for await (const c of db.tail(from, ac.signal, opts)) {
      chunks.push(c);
      const s = c.samples;
      for (let i = 0; i < s.length; i++) {
        flat.refs.push(s.refs[i]);
        flat.ts.push(s.ts[i]);
        flat.values.push(s.values[i]);
        flat.stale.push(s.stale[i]);
      }
      if (flat.refs.length >= want) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return { flat, chunks };
}

async function segmentFiles(dir: string): Promise<number[]> {
  return (await listWalDir(join(dir, "wal"))).segments;
}

function segPath(dir: string, n: number): string {
  return join(dir, "wal", segmentName(n));
}

/** Parses a whole segment file; returns its records' types and end offsets. */
async function scan(path: string): Promise<{ types: number[]; ends: number[] }> {
  const data = await Deno.readFile(path);
  const r = new RecordReader();
  r.push(data);
  const types: number[] = [];
  const ends: number[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    types.push(rec[0]);
    ends.push(r.offset);
  }
  r.finish();
  return { types, ends };
}

// ---- tests ----

Deno.test("AgentDb replays series after close and reopen; refs are stable and new ones don't collide", async () => {
  await withDir(async (dir) => {
    const reg = new Registry();
    let db = await open(dir, { registry: reg });
    const a = await commitRange(db, 0, 50, 1000);
    const b = await commitRange(db, 25, 120, 2000);
    assertEquals(a.slice(25), b.slice(0, 25), "same labels → same ref");
    assertEquals(new Set([...a, ...b]).size, 120);
    assertEquals(
      counter(reg, "prometheus_agent_samples_appended_total", { type: "float" }),
      50 + 95,
    );
    assertEquals(reg.gauge({ name: "prometheus_agent_active_series", help: "" }).value, 120);
    await db.close();

    const reg2 = new Registry();
    db = await open(dir, { registry: reg2 });
    try {
      assertEquals(db.seriesCount, 120);
      for (let i = 0; i < 120; i++) {
        const ref = i < 50 ? a[i] : b[i - 25];
        ok(db.labels(ref)?.equals(series(i)), `ref ${ref}`);
      }
      assertEquals(reg2.gauge({ name: "prometheus_agent_active_series", help: "" }).value, 120);
      const again = await commitRange(db, 0, 130, 3000);
      assertEquals(again.slice(0, 120), [...a, ...b.slice(25)]);
      const max = Math.max(...a, ...b);
      ok(again.slice(120).every((r) => r > max), "new refs above every replayed ref");
      assertEquals(counter(reg2, "prometheus_agent_corruptions_total"), 0);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb writes and replays a commit far larger than a page and the write buffer", async () => {
  await withDir(async (dir) => {
    let db = await open(dir, { sync: "commit" });
    const from = db.cursor("hold").position;
    // ~5,000 new series × ~60 bytes: several multi-page series records in one write.
    const app = db.appender();
    const big = (i: number) =>
      Labels.fromObject({ __name__: "big", i: String(i), pad: "p".repeat(40) });
    const refs: number[] = [];
    for (let i = 0; i < 5000; i++) refs.push(app.append(0, big(i), 1000, i));
    await app.commit();
    ok(db.position.offset > 4 * 64 * 1024, `wrote ${db.position.offset} bytes`);
    const { flat } = await collect(db, from, 5000);
    assertEquals(flat.refs, refs);
    await db.close();
    const reg = new Registry();
    db = await open(dir, { registry: reg });
    try {
      assertEquals(counter(reg, "prometheus_agent_corruptions_total"), 0);
      assertEquals(db.seriesCount, 5000);
      for (let i = 0; i < 5000; i += 499) ok(db.labels(refs[i])?.equals(big(i)));
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb writes a new series' record before its samples, in the same commit", async () => {
  await withDir(async (dir) => {
    const db = await open(dir, { sync: "commit" });
    await commitRange(db, 0, 3, 1);
    await commitRange(db, 0, 3, 2); // known series: samples only
    await commitRange(db, 2, 4, 3); // one new series
    const head = db.segments[db.segments.length - 1];
    await db.close();
    const { types } = await scan(segPath(dir, head));
    const S = RecordType.Series, X = RecordType.SamplesCompact;
    assertEquals(types, [S, X, X, S, X]);
  });
});

Deno.test("AgentDb appender: rollback discards, appendStale stores a marker, append validates", async () => {
  await withDir(async (dir) => {
    const db = await open(dir);
    try {
      const start = db.position;
      const app = db.appender();
      const r1 = app.append(0, series(1), 1000, 1);
      app.rollback();
      assertEquals(await collect(db, start, 1, 200).then((x) => x.flat.refs.length), 0);
      assertEquals(app.append(0, series(1), 2000, 2), r1, "ref kept after rollback");
      app.appendStale(r1, series(1), 3000);
      app.append(0, series(2), 3000, NaN);
      await app.commit();
      // The appender is reusable after commit.
      app.append(r1, series(1), 4000, 4);
      await app.commit();
      const { flat } = await collect(db, start, 4);
      assertEquals(flat.ts, [2000, 3000, 3000, 4000]);
      assertEquals(flat.stale, [0, 1, 0, 0]);
      ok(Number.isNaN(flat.values[2]));
      assertEquals(flat.values[3], 4);
      // A wrong ref with other labels resolves by labels.
      const r2 = db.appender().append(r1, series(2), 5000, 5);
      ok(r2 !== r1 && db.labels(r2)?.equals(series(2)));
      const bad = db.appender();
      let threw = false;
      try {
        bad.append(0, series(3), NaN, 1);
      } catch (e) {
        threw = e instanceof RangeError;
      }
      ok(threw, "non-finite timestamp rejected");
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb never lets a record cross a segment (tiny segments)", async () => {
  await withDir(async (dir) => {
    const segmentSize = 2048;
    const db = await open(dir, { segmentSize });
    const start = db.cursor("hold").position; // keeps truncation from deleting what we read back
    let total = 0;
    for (let c = 0; c < 40; c++) {
      await commitRange(db, c * 3, c * 3 + 20, 1000 + c); // mixes new and known series
      total += 20;
    }
    // One commit bigger than a segment: each of its records gets a segment of its own.
    await commitRange(db, 0, 300, 5000);
    total += 300;
    const { flat } = await collect(db, start, total);
    assertEquals(flat.refs.length, total);
    await db.close();
    const segs = await segmentFiles(dir);
    ok(segs.length > 5, `rotated: ${segs.length} segments`);
    let oversize = 0;
    for (const s of segs) {
      const size = (await Deno.stat(segPath(dir, s))).size;
      // Every segment parses on its own, with no record torn at its end.
      const { types } = await scan(segPath(dir, s));
      if (size > segmentSize) {
        oversize++;
        assertEquals(types.length, 1, "an oversize segment holds exactly one record");
      }
    }
    ok(oversize >= 1, "the big commit needed oversize segments");
  });
});

Deno.test("AgentDb repairs a torn tail and counts the corruption; start still succeeds", async () => {
  await withDir(async (dir) => {
    let db = await open(dir, { sync: "commit" });
    await commitRange(db, 0, 10, 1000);
    await commitRange(db, 10, 20, 2000);
    await commitRange(db, 20, 30, 3000);
    const seg = db.segments[0];
    await db.close();
    const path = segPath(dir, seg);
    const { ends } = await scan(path);
    assertEquals(ends.length, 6);
    // Cut the last record (samples of series 20..29) in half.
    await Deno.truncate(path, ends[4] + Math.floor((ends[5] - ends[4]) / 2));
    const reg = new Registry();
    db = await open(dir, { registry: reg });
    try {
      assertEquals(counter(reg, "prometheus_agent_corruptions_total"), 1);
      assertEquals((await Deno.stat(path)).size, ends[4], "truncated at the last good record");
      assertEquals(db.seriesCount, 30, "series of the surviving series record");
      const refs = await commitRange(db, 0, 31, 4000);
      assertEquals(new Set(refs).size, 31);
      assertEquals(counter(reg, "prometheus_agent_samples_appended_total", { type: "float" }), 31);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb repairs flipped bytes in several segments, counting each, and keeps later segments", async () => {
  await withDir(async (dir) => {
    let db = await open(dir, { sync: "commit" });
    const first = await commitRange(db, 0, 10, 1000);
    await db.close();
    db = await open(dir, { sync: "commit" });
    await commitRange(db, 10, 20, 2000);
    await commitRange(db, 20, 30, 3000);
    await db.close();
    db = await open(dir, { sync: "commit" });
    await commitRange(db, 0, 30, 4000); // samples only, using the refs of 20..29
    await commitRange(db, 0, 5, 5000);
    await db.close();
    const segs = await segmentFiles(dir);
    const withData = [];
    for (const s of segs) if ((await Deno.stat(segPath(dir, s))).size > 0) withData.push(s);
    assertEquals(withData.length, 3);
    // Damage segment 1's second commit (its series record) and segment 2's last record.
    const p1 = segPath(dir, withData[1]);
    const e1 = (await scan(p1)).ends;
    const b1 = await Deno.readFile(p1);
    b1[e1[1] + 10] ^= 0x40;
    await Deno.writeFile(p1, b1);
    const p2 = segPath(dir, withData[2]);
    const e2 = (await scan(p2)).ends;
    const b2 = await Deno.readFile(p2);
    b2[b2.length - 1] ^= 0x01;
    await Deno.writeFile(p2, b2);

    const reg = new Registry();
    db = await open(dir, { registry: reg });
    try {
      assertEquals(counter(reg, "prometheus_agent_corruptions_total"), 2);
      assertEquals((await Deno.stat(p1)).size, e1[1]);
      assertEquals((await Deno.stat(p2)).size, e2[0]);
      // Series 20..29 were lost with the damaged record; 0..19 survive with their refs.
      assertEquals(db.seriesCount, 20);
      assertEquals(db.labels(first[3])?.equals(series(3)), true);
      const refs = await commitRange(db, 20, 30, 5000);
      // New series must not reuse refs that samples in the WAL still use (20..29's old refs).
      ok(refs.every((r) => r > 30), `fresh refs ${refs}`);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb skips records of unknown types on replay and in tail()", async () => {
  await withDir(async (dir) => {
    let db = await open(dir);
    const from = db.cursor("hold").position;
    await commitRange(db, 0, 3, 1);
    const seg = db.segments[db.segments.length - 1];
    await db.close();
    // Append a well-framed record of a future type (77) after the existing ones.
    const path = segPath(dir, seg);
    const size = (await Deno.stat(path)).size;
    const future = Uint8Array.of(77, 1, 2, 3, 4, 5);
    const out = new Uint8Array(framedSize(size, future.length));
    frameRecord(future, { out, at: 0, pos: size });
    await Deno.writeFile(path, out, { append: true });
    const reg = new Registry();
    db = await open(dir, { registry: reg });
    try {
      assertEquals(counter(reg, "prometheus_agent_corruptions_total"), 0);
      assertEquals((await Deno.stat(path)).size, size + out.length, "not repaired away");
      assertEquals(db.seriesCount, 3);
      await commitRange(db, 0, 3, 2);
      const { flat } = await collect(db, from, 6);
      assertEquals(flat.ts, [1, 1, 1, 2, 2, 2]);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb opens a WAL directory holding garbage", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "wal"), { recursive: true });
    const junk = new Uint8Array(100_000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
    await Deno.writeFile(segPath(dir, 3), junk);
    await Deno.writeFile(join(dir, "wal", "checkpoint.00000001"), junk.subarray(0, 5000));
    await Deno.writeFile(join(dir, "cursors.json"), new TextEncoder().encode("{not json"));
    const reg = new Registry();
    const db = await open(dir, { registry: reg });
    try {
      assertEquals(counter(reg, "prometheus_agent_corruptions_total"), 2);
      assertEquals(db.segments, [3, 4]);
      assertEquals(db.cursorNames(), []);
      await commitRange(db, 0, 5, 1);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb.tail() yields exactly what was committed, in order, across rotations", async () => {
  await withDir(async (dir) => {
    const db = await open(dir, { segmentSize: 4096 });
    try {
      const from = db.cursor("hold").position;
      const want: Flat = { refs: [], ts: [], values: [], stale: [] };
      for (let c = 0; c < 60; c++) {
        const app = db.appender();
        for (let i = 0; i < 37; i++) {
          const t = 1_700_000_000_000 + c * 1000;
          const stale = (i + c) % 11 === 0;
          const v = c * 100 + i + noiseFraction(c, i); // 8 incompressible WAL bytes: many rotations
          const ref = stale ? app.appendStale(0, series(i), t) : app.append(0, series(i), t, v);
          want.refs.push(ref);
          want.ts.push(t);
          want.values.push(stale ? NaN : v);
          want.stale.push(stale ? 1 : 0);
        }
        await app.commit();
      }
      ok(db.segments.length > 5);
      const { flat, chunks } = await collect(db, from, want.refs.length);
      assertEquals(flat.refs, want.refs);
      assertEquals(flat.ts, want.ts);
      assertEquals(flat.stale, want.stale);
      assertEquals(
        flat.values.map((v, i) => (flat.stale[i] ? 0 : v)),
        want.values.map((v, i) => (want.stale[i] ? 0 : v)),
      );
      for (let i = 1; i < chunks.length; i++) {
        ok(comparePositions(chunks[i - 1].end, chunks[i].end) < 0, "chunk ends increase");
      }
      assertEquals(chunks[chunks.length - 1].end, db.position);
      // Resuming from a chunk's end yields exactly what followed it.
      const mid = chunks[Math.floor(chunks.length / 2)];
      let before = 0;
      for (const c of chunks) {
        before += c.samples.length;
        if (c === mid) break;
      }
      const rest = await collect(db, mid.end, want.refs.length - before);
      assertEquals(rest.flat.refs, want.refs.slice(before));
      // Lent samples (what the remote endpoint reads with): the same content, in two buffers
      // that take turns, each valid until the next chunk is asked for.
      const lent = await collect(db, from, want.refs.length, 5000, { lend: true });
      assertEquals(lent.flat, flat);
      ok(lent.chunks.length > 2);
      assertEquals(new Set(lent.chunks.map((c) => c.samples)).size, 2);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb.tail() waits for new commits and ends on abort", async () => {
  await withDir(async (dir) => {
    const db = await open(dir, { segmentSize: 1024, tailPollMs: 60_000 });
    try {
      db.cursor("hold");
      await commitRange(db, 0, 5, 1);
      const ac = new AbortController();
      const got: number[] = [];
      const reading = (async () => {
        for await (const c of db.tail({ segment: 0, offset: 0 }, ac.signal)) {
          for (let i = 0; i < c.samples.length; i++) got.push(c.samples.ts[i]);
        }
      })();
      const until = async (n: number) => {
        const deadline = Date.now() + 5000;
        while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      };
      await until(5);
      assertEquals(got.length, 5);
      // Commits after the reader caught up arrive through the notification (the poll is 60 s),
      // including ones that rotate segments.
      for (let k = 2; k < 12; k++) await commitRange(db, 0, 10, k);
      await until(105);
      assertEquals(got.length, 105);
      assertEquals(got.slice(-10), new Array(10).fill(11));
      ac.abort();
      const ended = await Promise.race([
        reading.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 2000)),
      ]);
      assertEquals(ended, true, "tail ends after abort");
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb.tail() follows a head segment that is being written concurrently", async () => {
  await withDir(async (dir) => {
    const db = await open(dir, { segmentSize: 8192, tailPollMs: 5 });
    try {
      const from = db.cursor("hold").position;
      const writers = (async () => {
        for (let k = 0; k < 100; k++) {
          await Promise.all([commitRange(db, 0, 7, k * 10), commitRange(db, 7, 13, k * 10 + 1)]);
        }
      })();
      const { flat } = await collect(db, from, 1300);
      await writers;
      assertEquals(flat.refs.length, 1300);
      // Per series, timestamps only go up: nothing read twice or out of order.
      const last = new Map<number, number>();
      for (let i = 0; i < flat.refs.length; i++) {
        ok((last.get(flat.refs[i]) ?? -1) < flat.ts[i]);
        last.set(flat.refs[i], flat.ts[i]);
      }
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb cursors are persisted, reloaded and released", async () => {
  await withDir(async (dir) => {
    let db = await open(dir);
    await commitRange(db, 0, 10, 1);
    const a = db.cursor("a");
    assertEquals(a.position, db.position, "a new cursor starts at the end");
    await commitRange(db, 0, 10, 2);
    const end = db.position;
    a.ack(end);
    a.ack({ segment: 0, offset: 0 }); // going back is ignored
    assertEquals(a.position, end);
    db.cursor("b");
    db.cursor("gone").release();
    await db.close();
    const saved = JSON.parse(await Deno.readTextFile(join(dir, "cursors.json")));
    assertEquals(Object.keys(saved.cursors).sort(), ["a", "b"]);

    db = await open(dir);
    try {
      assertEquals(db.cursorNames().sort(), ["a", "b"]);
      assertEquals(db.cursor("a").position, end);
      db.cursor("b").release();
      const c = db.cursor("c");
      assertEquals(c.position, db.position);
      assertEquals(
        comparePositions(c.position, end) > 0,
        true,
        "the new cursor is after the old end",
      );
    } finally {
      await db.close();
    }
    db = await open(dir);
    try {
      assertEquals(db.cursorNames().sort(), ["a", "c"]);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb cursor acks are written at most once a second, and on close", async () => {
  await withDir(async (dir) => {
    let now = 10_000;
    const db = await open(dir, { now: () => now, elapsed: () => now });
    const path = join(dir, "cursors.json");
    const read = async () => JSON.parse(await Deno.readTextFile(path)).cursors.a;
    const a = db.cursor("a");
    await commitRange(db, 0, 3, 1);
    await new Promise((r) => setTimeout(r, 50)); // first write: immediate
    assertEquals(await read(), a.position);
    const p1 = db.position;
    a.ack(p1);
    await new Promise((r) => setTimeout(r, 100)); // throttled: clock did not move
    ok(comparePositions(await read(), p1) < 0, "not yet written");
    await commitRange(db, 0, 3, 2);
    const p2 = db.position;
    a.ack(p2);
    now += 1000;
    await db.close();
    assertEquals(await read(), p2);
  });
});

Deno.test("AgentDb.truncate() deletes only segments below every cursor and checkpoints the series", async () => {
  await withDir(async (dir) => {
    const reg = new Registry();
    let db = await open(dir, { segmentSize: 1024, registry: reg });
    const slow = db.cursor("slow");
    const fast = db.cursor("fast");
    await commitRange(db, 0, 40, 1); // series 0..39 created early
    for (let k = 2; k < 80; k++) await commitRange(db, k % 28, k % 28 + 12, k); // samples reference old series
    const segs = [...db.segments];
    ok(segs.length > 8, `segments: ${segs}`);
    const midSeg = segs[Math.floor(segs.length / 2)];
    fast.ack({ segment: segs[segs.length - 1], offset: 0 });
    slow.ack({ segment: midSeg, offset: 10 });
    assertEquals(await db.truncate(), segs.filter((s) => s < midSeg).length);
    assertEquals(await segmentFiles(dir), segs.filter((s) => s >= midSeg));
    const listing = await listWalDir(join(dir, "wal"));
    assertEquals(listing.checkpoints, [midSeg - 1]);
    assertEquals(await db.truncate(), 0, "nothing more below the slow cursor");
    assertEquals(counter(reg, "prometheus_agent_checkpoint_creations_total"), 1);

    // What the slow endpoint will still read must resolve after a restart.
    await db.close();
    db = await open(dir, { segmentSize: 1024 });
    try {
      const { flat } = await collect(db, db.cursor("slow").position, 1, 300);
      ok(flat.refs.length > 0);
      const all = await collect(db, { segment: 0, offset: 0 }, 1e9, 300);
      for (const r of all.flat.refs) ok(db.labels(r) !== undefined, `ref ${r} resolves`);
      assertEquals(db.seriesCount, 40);
      // Releasing the slow cursor lets truncation reach the fast one.
      db.cursor("slow").release();
      const segsNow = [...db.segments];
      const deleted = await db.truncate();
      ok(deleted > 0);
      assertEquals(await segmentFiles(dir), segsNow.filter((s) => s >= segs[segs.length - 1]));
      const cps = (await listWalDir(join(dir, "wal"))).checkpoints;
      assertEquals(cps.length, 1, "the older checkpoint is deleted");
      ok(cps[0] > midSeg - 1);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb.truncate() with no cursors keeps only the head; reopen resolves every ref", async () => {
  await withDir(async (dir) => {
    let db = await open(dir, { segmentSize: 1024 });
    const hold = db.cursor("hold");
    const refs = await commitRange(db, 0, 30, 1);
    for (let k = 2; k < 20; k++) await commitRange(db, 0, 10, k);
    ok(db.segments.length > 3);
    hold.release();
    const head = db.segments[db.segments.length - 1];
    ok((await db.truncate()) > 0);
    assertEquals(await segmentFiles(dir), [head]);
    await db.close();
    db = await open(dir);
    try {
      assertEquals(db.seriesCount, 30);
      for (let i = 0; i < 30; i++) ok(db.labels(refs[i])?.equals(series(i)));
      const again = await commitRange(db, 0, 31, 100);
      assertEquals(again.slice(0, 30), refs);
      ok(again[30] > Math.max(...refs));
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb finishes an interrupted truncation on open", async () => {
  await withDir(async (dir) => {
    let db = await open(dir, { segmentSize: 1024 });
    const hold = db.cursor("hold");
    await commitRange(db, 0, 20, 1);
    for (let k = 2; k < 10; k++) await commitRange(db, 0, 10, k);
    const segs = [...db.segments];
    hold.release();
    await db.truncate();
    await db.close();
    // Put back a segment the checkpoint replaced, and a temporary checkpoint file.
    const cp = (await listWalDir(join(dir, "wal"))).checkpoints[0];
    await Deno.writeFile(segPath(dir, segs[0]), new Uint8Array(10));
    await Deno.writeFile(join(dir, "wal", "checkpoint.00000099.tmp"), new Uint8Array(10));
    const reg = new Registry();
    db = await open(dir, { registry: reg });
    try {
      const listing = await listWalDir(join(dir, "wal"));
      ok(listing.segments.every((s) => s > cp));
      assertEquals(listing.temporary, []);
      assertEquals(counter(reg, "prometheus_agent_corruptions_total"), 0);
      assertEquals(db.seriesCount, 20);
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb serializes concurrent commits from many appenders", async () => {
  await withDir(async (dir) => {
    const reg = new Registry();
    const db = await open(dir, { registry: reg, sync: "commit", segmentSize: 64 * 1024 });
    try {
      const from = db.position;
      // 20 "scrape loops", each with its own series, some shared.
      const loops = Array.from({ length: 20 }, (_, l) =>
        (async () => {
          for (let k = 0; k < 10; k++) {
            const app = db.appender();
            for (let i = 0; i < 15; i++) app.append(0, series(l * 10 + i), k, l);
            await app.commit();
          }
        })());
      await Promise.all(loops);
      assertEquals(
        counter(reg, "prometheus_agent_samples_appended_total", { type: "float" }),
        3000,
      );
      const fsyncs =
        reg.histogram({ name: "prometheus_tsdb_wal_fsync_duration_seconds", help: "" }).count;
      ok(fsyncs > 0 && fsyncs < 200, `group commit: ${fsyncs} fsyncs for 200 commits`);
      const { flat } = await collect(db, from, 3000);
      assertEquals(flat.refs.length, 3000);
      assertEquals(db.seriesCount, 205);
      await db.close();
      // Every sample's series record precedes it in WAL order.
      const seen = new Set<number>();
      const db2 = await open(dir);
      for (let ref = 1; ref <= 205; ref++) if (db2.labels(ref)) seen.add(ref);
      await db2.close();
      for (const r of flat.refs) ok(seen.has(r));
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb sync policy: 'commit' fsyncs every commit, an interval at most once per interval", async (t) => {
  for (
    const [name, sync, check] of [
      ["commit", "commit", (n: number) => n === 20],
      ["interval 60s", { intervalMs: 60_000 }, (n: number) => n <= 1],
    ] as const
  ) {
    await t.step(name, async () => {
      await withDir(async (dir) => {
        const reg = new Registry();
        const db = await open(dir, { registry: reg, sync });
        for (let k = 0; k < 20; k++) await commitRange(db, 0, 5, k);
        const n =
          reg.histogram({ name: "prometheus_tsdb_wal_fsync_duration_seconds", help: "" }).count;
        await db.close();
        ok(check(n), `${name}: ${n} fsyncs`);
      });
    });
  }
});

Deno.test("AgentDb fails a commit whose write fails, keeps going, and rewrites its series later", async () => {
  await withDir(async (dir) => {
    const reg = new Registry();
    let db = await open(dir, { segmentSize: 1024, registry: reg });
    const from = db.cursor("hold").position;
    const head = db.segments[db.segments.length - 1];
    await commitRange(db, 0, 3, 1);
    // Block the next segment so the rotation this commit needs fails.
    const blocker = segPath(dir, head + 1);
    await Deno.writeFile(blocker, new Uint8Array(0));
    await rejects(commitRange(db, 3, 60, 2), WalWriteError);
    assertEquals(counter(reg, "prometheus_tsdb_wal_writes_failed_total"), 1);
    await Deno.remove(blocker);
    // The same series again: their series records must be written this time.
    const refs = await commitRange(db, 3, 60, 3);
    const { flat } = await collect(db, from, 3 + 57);
    assertEquals(flat.ts, [...new Array(3).fill(1), ...new Array(57).fill(3)]);
    await db.close();
    db = await open(dir);
    try {
      for (let i = 0; i < refs.length; i++) {
        ok(db.labels(refs[i])?.equals(series(i + 3)), `ref ${refs[i]}`);
      }
    } finally {
      await db.close();
    }
  });
});

Deno.test("AgentDb rejects commits after close and closes twice safely", async () => {
  await withDir(async (dir) => {
    const db = await open(dir);
    const app = db.appender();
    app.append(0, series(1), 1, 1);
    await db.close();
    await rejects(app.commit());
    await db.close();
  });
});

/**
 * Native histograms, exemplars, start times and metadata through the agent
 * db: appended, committed or rolled back, tailed, replayed, checkpointed and
 * counted.
 */

import { join } from "node:path";
import type { Exemplar } from "../model/exemplar.ts";
import { emptyHistogram, type Histogram, ResetHint } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import { Registry } from "../metrics/registry.ts";
import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import type { DropEvent } from "./agentdb.ts";
import { commitRange, drain, metric, openDb, series, withDir } from "./testutil.ts";
import { RecordReader } from "./wal/reader.ts";
import { RecordType } from "./wal/record.ts";
import { checkpointName, listWalDir, segmentName } from "./wal/segment.ts";

const T0 = 1_700_000_000_000;
const A = series(1, "a");
const B = series(2, "b");
const H = series(3, "h");
const F = series(4, "f");

function intHistogram(k = 0): Histogram {
  return {
    ...emptyHistogram(false),
    schema: 3,
    zeroThreshold: 1e-128,
    zeroCount: 1,
    count: 10 + k,
    sum: 12.5 + k,
    positiveSpans: [{ offset: -1, length: 2 }, { offset: 3, length: 1 }],
    positiveBuckets: [2, 1 + k, -1],
    negativeSpans: [{ offset: 0, length: 1 }],
    negativeBuckets: [3],
    resetHint: ResetHint.No,
  };
}

function floatHistogram(): Histogram {
  return {
    ...emptyHistogram(true),
    schema: -53,
    count: 3.5,
    sum: 7.25,
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: [1.5, 0, 2],
    customValues: [0.1, 1, 10],
    resetHint: ResetHint.Gauge,
  };
}

const trace = (id: string) => Labels.fromObject({ trace_id: id });

/** Record types of every file of the WAL (checkpoint first), in order. */
async function recordTypes(dir: string): Promise<number[]> {
  const wal = join(dir, "wal");
  const listing = await listWalDir(wal);
  const files = [
    ...listing.checkpoints.map((n) => checkpointName(n)),
    ...listing.segments.map((n) => segmentName(n)),
  ];
  const types: number[] = [];
  for (const f of files) {
    const r = new RecordReader();
    r.push(await Deno.readFile(join(wal, f)));
    for (let rec = r.next(); rec !== null; rec = r.next()) types.push(rec[0]);
  }
  return types;
}

const count = (types: number[], t: number) => types.filter((x) => x === t).length;

Deno.test("tail() yields start times, histograms and exemplars of each commit, in order, with their refs", async () => {
  await withDir(async (dir) => {
    const reg = new Registry();
    const db = await openDb(dir, { registry: reg });
    try {
      const start = db.position;
      const app = db.appender();
      const ra = app.appendWithStart(0, A, T0, 1.5, T0 - 60_000);
      const rb = app.append(0, B, T0, 2);
      const ih = intHistogram();
      const rh = app.appendHistogram(0, H, T0, ih, T0 - 3_600_000);
      const rf = app.appendHistogram(0, F, T0, floatHistogram(), 0);
      const e: Exemplar = { labels: trace("abc"), value: 1.5, ts: T0 - 5 };
      assertEquals(app.appendExemplar(ra, A, e), ra);
      // The appender keeps no reference to what it was given.
      ih.count = 999;
      ih.positiveBuckets[0] = 999;
      await app.commit();
      app.appendWithStart(ra, A, T0 + 15_000, 3, T0 - 60_000);
      app.appendHistogram(rh, H, T0 + 15_000, intHistogram(1), T0 - 3_600_000);
      await app.commit();

      const d = await drain(db, start);
      assertEquals(d.refs, [ra, rb, ra]);
      assertEquals(d.ts, [T0, T0, T0 + 15_000]);
      assertEquals(d.st, [T0 - 60_000, 0, T0 - 60_000]);
      assertEquals(d.values, [1.5, 2, 3]);
      assertEquals(d.histograms, [
        { ref: rh, t: T0, st: T0 - 3_600_000, stale: false, h: intHistogram() },
        { ref: rf, t: T0, st: 0, stale: false, h: floatHistogram() },
        { ref: rh, t: T0 + 15_000, st: T0 - 3_600_000, stale: false, h: intHistogram(1) },
      ]);
      assertEquals(d.exemplars.length, 1);
      assertEquals(d.exemplars[0].ref, ra);
      assertEquals([d.exemplars[0].e.value, d.exemplars[0].e.ts], [1.5, T0 - 5]);
      assert(d.exemplars[0].e.labels.equals(trace("abc")));

      const types = await recordTypes(dir);
      assertEquals(count(types, RecordType.SamplesWithStart), 2);
      assertEquals(count(types, RecordType.SamplesCompact), 0);
      assertEquals(count(types, RecordType.Histograms), 2);
      assertEquals(count(types, RecordType.FloatHistograms), 1);
      assertEquals(count(types, RecordType.Exemplars), 1);

      const samples = (type: string) =>
        metric(reg, "prometheus_agent_samples_appended_total", { type });
      assertEquals([samples("float"), samples("histogram")], [3, 3]);
      assertEquals(metric(reg, "prometheus_agent_exemplars_appended_total"), 1);
      const head = db.segments[db.segments.length - 1];
      assertEquals(db.segmentSamples(head), 6, "histogram samples count in segment statistics");
    } finally {
      await db.close();
    }
  });
});

Deno.test("plain float commits still write the plain samples record", async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    try {
      const app = db.appender();
      app.append(0, A, T0, 1);
      app.appendWithStart(0, B, T0, 1, 0); // start time unknown
      app.appendWithStart(0, H, T0, 1, NaN); // not a time: unknown
      await app.commit();
      const types = await recordTypes(dir);
      assertEquals([
        count(types, RecordType.SamplesCompact),
        count(types, RecordType.SamplesWithStart),
      ], [
        1,
        0,
      ]);
    } finally {
      await db.close();
    }
  });
});

Deno.test("rollback drops histograms, exemplars and metadata and undoes the series' kind and last exemplar", async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    try {
      const start = db.position;
      const [ra] = await commitRange(db, 1, 2, T0, "a");
      const app = db.appender();
      const e: Exemplar = { labels: trace("x"), value: 1, ts: T0 };
      app.appendHistogram(ra, A, T0 + 1, intHistogram(), 0);
      app.appendExemplar(ra, A, e);
      app.updateMetadata(ra, A, { type: "counter", help: "h", unit: "" });
      app.rollback();
      // The series is a float series again: its marker is a float marker.
      app.appendStale(ra, A, T0 + 2);
      // The exemplar was never committed: it is not a repeat.
      app.appendExemplar(ra, A, e);
      await app.commit();
      assertEquals(db.metadata(ra), undefined);
      const d = await drain(db, start);
      assertEquals(d.histograms, []);
      assertEquals([d.refs, d.ts, d.stale], [[ra, ra], [T0, T0 + 2], [0, 1]]);
      assertEquals(d.exemplars.map((x) => x.e.ts), [T0]);
      assertEquals(count(await recordTypes(dir), RecordType.Metadata), 0);
    } finally {
      await db.close();
    }
  });
});

Deno.test("a staleness marker after a histogram is a stale histogram of the same kind", async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    try {
      const app = db.appender();
      const rh = app.appendHistogram(0, H, T0, intHistogram(), 0);
      const rf = app.appendHistogram(0, F, T0, floatHistogram(), 0);
      const ra = app.append(0, A, T0, 1);
      const rb = app.appendHistogram(0, B, T0, intHistogram(), 0);
      await app.commit();
      const from = db.position;
      app.append(rb, B, T0 + 1, 5); // B turns into a float series
      for (const [ref, labels] of [[rh, H], [rf, F], [ra, A], [rb, B]] as const) {
        app.appendStale(ref, labels, T0 + 2);
      }
      await app.commit();
      const d = await drain(db, from);
      assertEquals(d.histograms, [
        { ref: rh, t: T0 + 2, st: 0, stale: true, h: emptyHistogram(false) },
        { ref: rf, t: T0 + 2, st: 0, stale: true, h: emptyHistogram(true) },
      ]);
      assertEquals([d.refs, d.stale], [[rb, ra, rb], [0, 1, 1]]);
    } finally {
      await db.close();
    }
  });
});

Deno.test("metadata is written only when it changes; metadata() returns the latest, shared between series", async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    try {
      const m1: MetricMetadata = { type: "counter", help: "Requests.", unit: "" };
      const m2: MetricMetadata = { type: "counter", help: "Requests served.", unit: "" };
      const app = db.appender();
      const ra = app.updateMetadata(0, A, m1);
      const rb = app.updateMetadata(0, B, { ...m1 });
      await app.commit();
      assertEquals(
        count(await recordTypes(dir), RecordType.Series),
        1,
        "metadata alone creates series",
      );
      for (let k = 0; k < 3; k++) {
        assertEquals(app.updateMetadata(ra, A, { ...m1 }), ra);
        app.updateMetadata(rb, B, m1);
        app.append(ra, A, T0 + k, k);
        await app.commit();
      }
      assertEquals(count(await recordTypes(dir), RecordType.Metadata), 1);
      assertEquals(db.metadata(ra), m1);
      assert(db.metadata(ra) === db.metadata(rb), "one object for equal metadata");
      app.updateMetadata(ra, A, m2);
      await app.commit();
      assertEquals(count(await recordTypes(dir), RecordType.Metadata), 2);
      assertEquals([db.metadata(ra), db.metadata(rb)], [m2, m1]);
      // Two appenders setting the same change before either commits: one record,
      // whether they commit together or one after the other.
      const x = db.appender(), y = db.appender();
      x.updateMetadata(rb, B, m2);
      y.updateMetadata(rb, B, m2);
      await Promise.all([x.commit(), y.commit()]);
      assertEquals(count(await recordTypes(dir), RecordType.Metadata), 3);
      x.updateMetadata(ra, A, m1);
      y.updateMetadata(ra, A, m1);
      await x.commit();
      await y.commit();
      assertEquals(count(await recordTypes(dir), RecordType.Metadata), 4);
      assertEquals([db.metadata(ra), db.metadata(rb)], [m1, m2]);
      assertEquals(db.metadata(12345), undefined);
    } finally {
      await db.close();
    }
  });
});

Deno.test("a restart restores metadata and whether each series last held a histogram", async () => {
  await withDir(async (dir) => {
    let db = await openDb(dir);
    const app = db.appender();
    const rh = app.appendHistogram(0, H, T0, intHistogram(), 0);
    const rf = app.appendHistogram(0, F, T0, floatHistogram(), 0);
    const ra = app.append(0, A, T0, 1);
    app.appendExemplar(ra, A, { labels: trace("t"), value: 1, ts: T0 });
    app.updateMetadata(rh, H, { type: "histogram", help: "Latency.", unit: "seconds" });
    app.updateMetadata(ra, A, { type: "gauge", help: "", unit: "" });
    await app.commit();
    await db.close();

    db = await openDb(dir);
    try {
      assertEquals(db.replay.samples, 3, "histogram samples count as samples");
      assertEquals(db.replay.orphanedSamples, 0);
      assertEquals(db.metadata(rh), { type: "histogram", help: "Latency.", unit: "seconds" });
      assertEquals(db.metadata(ra), { type: "gauge", help: "", unit: "" });
      assertEquals(db.metadata(rf), undefined);
      const from = db.position;
      const app2 = db.appender();
      for (const [ref, labels] of [[rh, H], [rf, F], [ra, A]] as const) {
        app2.appendStale(ref, labels, T0 + 1);
      }
      await app2.commit();
      const d = await drain(db, from);
      assertEquals(d.histograms.map((x) => [x.ref, x.stale, x.h.float]), [
        [rh, true, false],
        [rf, true, true],
      ]);
      assertEquals([d.refs, d.stale], [[ra], [1]]);
      // A metadata update equal to the replayed one writes nothing.
      const before = count(await recordTypes(dir), RecordType.Metadata);
      app2.updateMetadata(ra, A, { type: "gauge", help: "", unit: "" });
      await app2.commit();
      assertEquals(count(await recordTypes(dir), RecordType.Metadata), before);
    } finally {
      await db.close();
    }
  });
});

Deno.test("checkpoints keep the metadata of live series; later changes win on replay", async () => {
  await withDir(async (dir) => {
    let db = await openDb(dir, { segmentSize: 1024 });
    const hold = db.cursor("hold");
    const meta = (i: number): MetricMetadata => ({
      type: i % 2 ? "counter" : "gauge",
      help: `Series ${i % 3}.`,
      unit: "",
    });
    const app = db.appender();
    const refs: number[] = [];
    for (let i = 0; i < 30; i++) refs.push(app.updateMetadata(0, series(i), meta(i)));
    await app.commit();
    for (let k = 1; k < 20; k++) await commitRange(db, 0, 30, T0 + k);
    assert(db.segments.length > 3);
    hold.release();
    assert((await db.truncate()) > 0);
    const types = await recordTypes(dir);
    assertEquals(types.slice(0, 2), [RecordType.Series, RecordType.Metadata], "checkpoint");
    app.updateMetadata(refs[0], series(0), { type: "info", help: "Changed.", unit: "" });
    await app.commit();
    await db.close();

    db = await openDb(dir);
    try {
      assertEquals(db.metadata(refs[0]), { type: "info", help: "Changed.", unit: "" });
      for (let i = 1; i < 30; i++) assertEquals(db.metadata(refs[i]), meta(i), `series ${i}`);
    } finally {
      await db.close();
    }
  });
});

Deno.test("a repeat of a series' last exemplar is dropped", async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    try {
      const start = db.position;
      const app = db.appender();
      const ra = app.append(0, A, T0, 1);
      const e = { labels: trace("a"), value: 2, ts: T0 };
      app.appendExemplar(ra, A, e);
      app.appendExemplar(ra, A, { ...e, labels: trace("a") });
      await app.commit();
      app.appendExemplar(ra, A, { ...e });
      app.appendExemplar(ra, A, { ...e, ts: T0 + 1 });
      app.appendExemplar(ra, A, { ...e, ts: T0 + 1, labels: trace("b") });
      app.appendExemplar(ra, A, { labels: trace("b"), value: NaN, ts: T0 + 1 });
      app.appendExemplar(ra, A, { labels: trace("b"), value: NaN, ts: T0 + 1 });
      await app.commit();
      const d = await drain(db, start);
      assertEquals(d.exemplars.map((x) => [x.e.ts, x.e.labels.get("trace_id")]), [
        [T0, "a"],
        [T0 + 1, "a"],
        [T0 + 1, "b"],
        [T0 + 1, "b"],
      ]);
    } finally {
      await db.close();
    }
  });
});

Deno.test("appendHistogram() and appendExemplar() reject what cannot be stored, creating nothing", async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    try {
      const app = db.appender();
      const bad = { ...intHistogram(), positiveBuckets: [1] };
      assertThrows(
        () => app.appendHistogram(0, H, T0, bad, 0),
        RangeError,
        "Cannot append a histogram",
      );
      assertThrows(
        () => app.appendHistogram(0, H, 2 ** 60, intHistogram(), 0),
        RangeError,
        "timestamp",
      );
      assertThrows(
        () => app.appendExemplar(0, A, { labels: Labels.EMPTY, value: 1, ts: NaN }),
        RangeError,
        "Cannot append an exemplar",
      );
      await app.commit();
      assertEquals(db.seriesCount, 0);
    } finally {
      await db.close();
    }
  });
});

Deno.test("histogram samples are counted exactly when a capped cursor drops them", async () => {
  await withDir(async (dir) => {
    const SEG = 4096;
    const drops: DropEvent[] = [];
    const db = await openDb(dir, { segmentSize: SEG, onDrop: (e) => drops.push(e) });
    try {
      const from = db.cursor("small").position;
      db.limitCursor("small", 5 * SEG);
      const app = db.appender();
      let total = 0;
      for (let k = 0; k < 200; k++) {
        for (let i = 0; i < 5; i++) {
          app.appendHistogram(0, series(i, "h"), T0 + k, intHistogram(k), 0);
        }
        app.append(0, A, T0 + k, k);
        total += 6;
        await app.commit();
      }
      await db.truncate();
      const dropped = drops.reduce((n, e) => n + e.samples, 0);
      assert(dropped > 0);
      const d = await drain(db, from, { cursor: "small" });
      assertEquals(dropped + d.histograms.length + d.refs.length, total);
    } finally {
      await db.close();
    }
  });
});

Deno.test("a garbage-collected series brought back by an appender gets its metadata record again", async () => {
  await withDir(async (dir) => {
    const MIN = 60_000;
    let now = 1_000_000;
    let db = await openDb(dir, {
      segmentSize: 2048,
      minTimeMs: MIN,
      now: () => now,
      elapsed: () => now,
    });
    const a = db.cursor("a");
    const old = series(5, "old");
    const meta: MetricMetadata = { type: "summary", help: "Old.", unit: "bytes" };
    const app = db.appender();
    const ref = app.updateMetadata(0, old, meta);
    app.append(ref, old, 1000, 1);
    await app.commit();
    for (let k = 0; k < 30; k++) await commitRange(db, 0, 20, 2000 + k, "live");
    now += 2 * MIN;
    app.append(ref, old, 5000, 1); // resolved before the GC
    await commitRange(db, 0, 20, 5000, "live");
    a.ack(db.position);
    await db.truncate();
    assertEquals(db.labels(ref), undefined, "collected while the appender holds it");
    await app.commit();
    assertEquals(db.metadata(ref), meta, "back with its metadata");
    a.ack(db.position);
    await db.truncate();
    await db.close();

    db = await openDb(dir);
    try {
      assertEquals(db.metadata(ref), meta, "its metadata record was written again");
    } finally {
      await db.close();
    }
  });
});

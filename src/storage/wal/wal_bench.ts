/**
 * WAL benchmarks: append throughput through encode + write for 10,000 series
 * in commits of 1,000 samples (one commit = one scrape of a 1,000-series
 * target), the sync policies' cost, decode, and CRC32C.
 *
 * Replay: opening a db on a WAL of a million samples.
 *
 * Histograms: encoding (as an appender does, into a batch, then the record)
 * and decoding 100 typical native histograms (schema 3, ~20 buckets).
 *
 * Run: deno bench --allow-read --allow-write src/storage/wal/wal_bench.ts
 *
 * Bytes per sample on disk for the append workload are printed to stderr
 * once, at the end of the run.
 *
 * @module
 */

import { Labels } from "../../model/labels.ts";
import { Registry } from "../../metrics/registry.ts";
import { AgentDb, type SyncPolicy } from "../agentdb.ts";
import type { Appender } from "../types.ts";
import { crc32c, crc32cBytewise } from "./crc32c.ts";
import { decodeHistograms, HistogramBatch } from "./histogram_record.ts";
import { decodeSamples, RecordEncoder, SampleBuffer } from "./record.ts";
import type { HistogramSample } from "../types.ts";
import { type Histogram, ResetHint } from "../../model/histogram.ts";

const SERIES = 10_000;
const PER_COMMIT = 1_000;
const T0 = 1_700_000_000_000;

const labels: Labels[] = Array.from({ length: SERIES }, (_, i) =>
  Labels.fromObject({
    __name__: `node_metric_${i % 97}`,
    instance: `10.0.${(i / PER_COMMIT) | 0}.1:9100`,
    job: "node",
    idx: String(i),
  }));

interface Bed {
  db: AgentDb;
  refs: Uint32Array;
  app: Appender;
  commits: number;
}

const dirs: string[] = [];

async function bed(sync: SyncPolicy): Promise<Bed> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-wal-bench-" });
  dirs.push(dir);
  const db = await AgentDb.open(dir, { registry: new Registry(), sync, truncateIntervalMs: 0 });
  db.cursor("hold"); // keep every segment, so the bytes on disk can be counted at the end
  const refs = new Uint32Array(SERIES);
  const app = db.appender();
  // Create every series once, as the first scrapes would.
  for (let i = 0; i < SERIES; i++) refs[i] = app.append(0, labels[i], T0, i);
  await app.commit();
  return { db, refs, app, commits: 0 };
}

/** One scrape-sized commit: 1,000 series of one "target", same timestamp, refs from the scrape cache. */
async function commitOnce(b: Bed): Promise<void> {
  const k = b.commits++;
  const base = (k % (SERIES / PER_COMMIT)) * PER_COMMIT;
  const t = T0 + 15_000 * (1 + Math.floor(k / (SERIES / PER_COMMIT)));
  const { app, refs } = b;
  for (let i = 0; i < PER_COMMIT; i++) {
    const s = base + i;
    app.append(refs[s], labels[s], t, (s * 7 + k) * 0.25);
  }
  await app.commit();
}

const interval = await bed({ intervalMs: 1000 });
const perCommit = await bed("commit");

Deno.bench({
  group: "append",
  name: "commit 1,000 samples (10,000 series), sync every 1 s (default)",
  baseline: true,
  n: 20_000,
  async fn() {
    await commitOnce(interval);
  },
});

Deno.bench({
  group: "append",
  name: "commit 1,000 samples (10,000 series), fdatasync every commit",
  n: 2_000,
  async fn() {
    await commitOnce(perCommit);
  },
});

// Replay: opening a db on a WAL of 1,000,000 samples (10,000 series) rebuilds series, segment
// statistics and series liveness; what `prometheus_agent_data_replay_duration_seconds` measures.
const replayDir = await Deno.makeTempDir({ prefix: "ferry-wal-bench-replay-" });
dirs.push(replayDir);
{
  const db = await AgentDb.open(replayDir, {
    registry: new Registry(),
    truncateIntervalMs: 0,
    segmentSize: 8 << 20,
  });
  db.cursor("hold");
  const b: Bed = { db, refs: new Uint32Array(SERIES), app: db.appender(), commits: 0 };
  for (let i = 0; i < SERIES; i++) b.refs[i] = b.app.append(0, labels[i], T0, i);
  await b.app.commit();
  for (let k = 0; k < 1000; k++) await commitOnce(b);
  await db.close();
}

Deno.bench({
  group: "replay",
  name: "open (replay) a WAL of 1,000,000 samples, 10,000 series",
  n: 20,
  async fn() {
    const db = await AgentDb.open(replayDir, { registry: new Registry(), truncateIntervalMs: 0 });
    await db.close();
  },
});

// Encode and decode alone, no I/O.
const enc = new RecordEncoder();
const cols = new SampleBuffer(PER_COMMIT);
for (let i = 0; i < PER_COMMIT; i++) cols.push(1 + i, T0, i * 0.25, 0);
enc.samples(cols);
const rec = enc.buffer().slice();
const out = new SampleBuffer(PER_COMMIT);

Deno.bench({
  group: "codec",
  name: "encode samples record (1,000 samples)",
  baseline: true,
  fn() {
    enc.reset();
    enc.samples(cols);
  },
});

Deno.bench({
  group: "codec",
  name: "decode samples record (1,000 samples)",
  fn() {
    out.reset();
    decodeSamples(rec, out);
  },
});

// Native histograms: a typical latency histogram, 20 populated buckets in 3 spans.
const hist: Histogram = {
  float: false,
  schema: 3,
  zeroThreshold: 2.938735877055719e-39,
  zeroCount: 2,
  count: 4711,
  sum: 1234.5,
  positiveSpans: [{ offset: -4, length: 8 }, { offset: 2, length: 7 }, { offset: 1, length: 5 }],
  positiveBuckets: Array.from({ length: 20 }, (_, i) => (i < 10 ? 3 + i : -(i - 9))),
  negativeSpans: [],
  negativeBuckets: [],
  resetHint: ResetHint.No,
  customValues: [],
};
const HISTS = 100;
const hbatch = new HistogramBatch(false);
const henc = new RecordEncoder();
for (let i = 0; i < HISTS; i++) hbatch.add(1 + i, T0, T0 - 3_600_000, hist);
henc.histograms(hbatch);
const hrec = henc.buffer().slice();
const hout: HistogramSample[] = [];

Deno.bench({
  group: "histograms",
  name: `encode histograms record (${HISTS} histograms, ${hrec.length} bytes)`,
  baseline: true,
  fn() {
    hbatch.reset();
    for (let i = 0; i < HISTS; i++) hbatch.add(1 + i, T0, T0 - 3_600_000, hist);
    henc.reset();
    henc.histograms(hbatch);
  },
});

Deno.bench({
  group: "histograms",
  name: `decode histograms record (${HISTS} histograms)`,
  fn() {
    hout.length = 0;
    decodeHistograms(hrec, hout);
  },
});

const page = Uint8Array.from({ length: 32 * 1024 }, (_, i) => (i * 131 + 7) & 0xff);

Deno.bench({
  group: "crc32c",
  name: "crc32c slicing-by-8, 32 KiB",
  baseline: true,
  fn() {
    crc32c(page);
  },
});

Deno.bench({
  group: "crc32c",
  name: "crc32c bytewise, 32 KiB",
  fn() {
    crc32cBytewise(page);
  },
});

globalThis.addEventListener("unload", () => {
  const report: string[] = [];
  for (const [name, b] of [["interval", interval], ["commit", perCommit]] as const) {
    const samples = b.commits * PER_COMMIT + SERIES;
    let bytes = 0;
    const dir = `${b.db.dir}/wal`;
    for (const e of Deno.readDirSync(dir)) bytes += Deno.statSync(`${dir}/${e.name}`).size;
    report.push(
      `${name}: ${samples} samples, ${bytes} bytes on disk = ${
        (bytes / samples).toFixed(2)
      } bytes/sample ` +
        `(includes the series records of ${SERIES} series)\n`,
    );
  }
  Deno.stderr.writeSync(new TextEncoder().encode(report.join("")));
  for (const d of dirs) Deno.removeSync(d, { recursive: true });
});

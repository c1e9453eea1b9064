/**
 * The agent db: series refs over a write-ahead log, as Prometheus Agent
 * keeps them. Scrapes append through `appender()`; remote endpoints read
 * through `tail()` and record progress in named cursors; `truncate()`
 * deletes what every endpoint has delivered.
 *
 * @module
 */

import { join } from "node:path";
import type { Labels } from "../model/labels.ts";
import type { Registry } from "../metrics/registry.ts";
import { log } from "../util/log.ts";
import { createStorageMetrics, type StorageMetrics } from "./metrics.ts";
import {
  type Appendable,
  type Appender,
  comparePositions,
  type DeliveryCursor,
  type SeriesRef,
  type WalChunk,
  type WalPosition,
  type WalSource,
} from "./types.ts";
import type { RecordBatch } from "./wal/checkpoint.ts";
import { CursorStore } from "./wal/cursors.ts";
import { CorruptionError } from "./wal/errors.ts";
import { READ_CHUNK, RecordReader } from "./wal/reader.ts";
import {
  decodeSamples,
  decodeSeries,
  MAX_REF,
  MAX_TIMESTAMP,
  maxSampleRef,
  RecordEncoder,
  recordError,
  RecordType,
  SampleBuffer,
  type SeriesEntry,
} from "./wal/record.ts";
import { segmentName } from "./wal/segment.ts";
import { Wal } from "./wal/wal.ts";

/** WAL sync policy: fsync on every commit, or at most every `intervalMs`. */
export type SyncPolicy = "commit" | { intervalMs: number };

/** Options of `AgentDb.open`. */
export interface AgentDbOptions {
  /** Maximum WAL segment size in bytes. @default {134217728} (128 MiB) */
  segmentSize?: number;
  /**
   * `"commit"`: fdatasync before each commit resolves (group commit: commits
   * queued while a write is under way share one write and one fsync).
   * `{ intervalMs }`: commits resolve after the write; the head segment is
   * fsynced at most every `intervalMs` (a crash may lose that much).
   * @default {{ intervalMs: 1000 }}
   */
  sync?: SyncPolicy;
  /** Where the db's metrics are registered. */
  registry: Registry;
  /** Clock in ms. @default {Date.now} */
  now?: () => number;
  /**
   * Period of the automatic `truncate()`; 0 disables the timer (truncation
   * still runs whenever a segment is completed). @default {60000}
   */
  truncateIntervalMs?: number;
  /** How long `tail()` waits for a commit notification before looking again. @default {1000} */
  tailPollMs?: number;
}

/** Series per series record (bounds record size in commits and checkpoints). */
const SERIES_PER_RECORD = 1000;
/** `tail()` yields a chunk once it holds this many samples. */
const MAX_CHUNK_SAMPLES = 16384;

interface Series extends SeriesEntry {
  /** Whether a series record for it is in the WAL (or being written by the current flush). */
  written: boolean;
  /** Next series with the same labels hash. */
  nextSameHash: Series | undefined;
}

interface PendingCommit {
  cols: SampleBuffer;
  series: Series[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Series refs ↔ labels. Refs are dense, so the ref index is an array. */
class SeriesSet {
  readonly byRef: (Series | undefined)[] = [];
  readonly #byHash = new Map<number, Series>();
  nextRef = 1;
  count = 0;

  get(ref: number): Series | undefined {
    return this.byRef[ref];
  }

  /** The series of `labels`, if known. */
  find(labels: Labels): Series | undefined {
    for (let s = this.#byHash.get(labels.hash()); s !== undefined; s = s.nextSameHash) {
      if (s.labels.equals(labels)) return s;
    }
    return undefined;
  }

  /** Adds a series under `ref` (replay) or the next free ref. */
  add(labels: Labels, ref: number, written: boolean): Series {
    const h = labels.hash();
    const s: Series = { ref, labels, written, nextSameHash: this.#byHash.get(h) };
    this.#byHash.set(h, s);
    this.byRef[ref] = s;
    this.count++;
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return s;
  }

  /** The series for an append: by ref when it matches, else by labels, else a new one. */
  resolve(ref: number, labels: Labels): Series {
    if (ref > 0) {
      const s = this.byRef[ref];
      if (s !== undefined && (s.labels === labels || s.labels.equals(labels))) return s;
    }
    const found = this.find(labels);
    if (found) return found;
    if (labels.size === 0) throw new TypeError("Cannot append a sample: the label set is empty");
    if (this.nextRef > MAX_REF) {
      throw new RangeError("Cannot create a series: series refs exhausted");
    }
    return this.add(labels, this.nextRef, false);
  }
}

class DbAppender implements Appender {
  readonly #series: SeriesSet;
  readonly #enqueue: (c: PendingCommit) => void;
  #cols: SampleBuffer;
  #spare: SampleBuffer | undefined;
  #newSeries: Series[] = [];

  constructor(series: SeriesSet, enqueue: (c: PendingCommit) => void, capacity: number) {
    this.#series = series;
    this.#enqueue = enqueue;
    this.#cols = new SampleBuffer(capacity);
  }

  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    return this.#add(ref, labels, t, v, 0);
  }

  appendStale(ref: SeriesRef, labels: Labels, t: number): SeriesRef {
    return this.#add(ref, labels, t, 0, 1);
  }

  #add(ref: number, labels: Labels, t: number, v: number, stale: number): number {
    if (!Number.isSafeInteger(t)) t = Math.trunc(t);
    if (!(t <= MAX_TIMESTAMP && t >= -MAX_TIMESTAMP)) {
      throw new RangeError(`Cannot append a sample: timestamp ${t} is out of range`);
    }
    const s = this.#series.resolve(ref, labels);
    if (!s.written) this.#newSeries.push(s);
    this.#cols.push(s.ref, t, v, stale);
    return s.ref;
  }

  commit(): Promise<void> {
    const cols = this.#cols;
    if (cols.length === 0) {
      this.#newSeries.length = 0;
      return Promise.resolve();
    }
    const series = this.#newSeries;
    // Hand the buffers over; keep appending into the spare (or a new one).
    this.#cols = this.#spare ?? new SampleBuffer(cols.capacity);
    this.#spare = undefined;
    this.#newSeries = [];
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({ cols, series, resolve, reject });
    }).finally(() => {
      cols.reset();
      this.#spare ??= cols;
    });
  }

  rollback(): void {
    this.#cols.reset();
    this.#newSeries.length = 0;
  }
}

/**
 * The agent's storage: an `Appendable` for scrapes and a `WalSource` for
 * remote write, over a `Wal` in `<dir>/wal` and cursors in
 * `<dir>/cursors.json`.
 *
 * - Commits are serialized and grouped: one writer encodes every commit
 *   queued so far (series records for new series first, then one samples
 *   record per commit) and writes them in one file write, then syncs per
 *   the sync policy. A commit is visible to `tail()` once it resolves.
 * - Series are never forgotten while the db is open (no series GC).
 * - Truncation runs when a segment is completed and every
 *   `truncateIntervalMs`; it deletes segments below every live cursor (all
 *   but the head when there are no cursors), after writing a checkpoint of
 *   the known series.
 */
export class AgentDb implements Appendable, WalSource {
  readonly dir: string;
  readonly #wal: Wal;
  readonly #series: SeriesSet;
  readonly #cursors: CursorStore;
  readonly #metrics: StorageMetrics;
  readonly #now: () => number;
  readonly #sync: SyncPolicy;
  readonly #tailPollMs: number;
  readonly #encoder = new RecordEncoder();
  readonly #log = log("wal");

  #committed: WalPosition;
  #queue: PendingCommit[] = [];
  #flushScheduled = false;
  #lock: Promise<void> = Promise.resolve();
  #lastSync: number;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;
  #truncateTimer: ReturnType<typeof setInterval> | undefined;
  #truncating: Promise<number> | null = null;
  #waiters = new Set<() => void>();
  #recheckSeries = false;
  #lastCommitSize = 64;
  #closed = false;

  private constructor(init: {
    dir: string;
    wal: Wal;
    series: SeriesSet;
    cursors: CursorStore;
    metrics: StorageMetrics;
    now: () => number;
    sync: SyncPolicy;
    tailPollMs: number;
  }) {
    this.dir = init.dir;
    this.#wal = init.wal;
    this.#series = init.series;
    this.#cursors = init.cursors;
    this.#metrics = init.metrics;
    this.#now = init.now;
    this.#sync = init.sync;
    this.#tailPollMs = init.tailPollMs;
    this.#committed = init.wal.position;
    this.#lastSync = init.now();
  }

  /**
   * Opens the db in `dir` (created if needed): replays the checkpoint and
   * every segment to rebuild the series, repairs damaged segments (never
   * failing because of them), loads the cursors and starts a new segment.
   */
  static async open(dir: string, opts: AgentDbOptions): Promise<AgentDb> {
    const sync = opts.sync ?? { intervalMs: 1000 };
    if (sync !== "commit" && !(Number.isFinite(sync.intervalMs) && sync.intervalMs >= 0)) {
      throw new RangeError(
        `Cannot open agent db as 'sync.intervalMs' must be a non-negative number: current value is ${sync.intervalMs}`,
      );
    }
    const now = opts.now ?? Date.now;
    const logger = log("wal");
    await Deno.mkdir(dir, { recursive: true });
    const series = new SeriesSet();
    // Filled once the db exists; callbacks registered before then see undefined.
    const self: { db?: AgentDb } = {};
    const metrics = createStorageMetrics(opts.registry, {
      activeSeries: () => series.count,
      segmentCurrent: () => (self.db === undefined ? 0 : self.db.#wal.head),
    });

    const started = performance.now();
    const interned = new Map<string, string>();
    const intern = (s: string) => {
      const v = interned.get(s);
      if (v !== undefined) return v;
      interned.set(s, s);
      return s;
    };
    let maxRef = 0;
    let unknownRecords = 0;
    let conflicts = 0;
    const onSeries = (ref: number, labels: Labels) => {
      const old = series.get(ref);
      if (old !== undefined) {
        if (!old.labels.equals(labels)) conflicts++;
        return;
      }
      series.add(labels, ref, true);
    };
    let wal: Wal;
    try {
      wal = await Wal.open(join(dir, "wal"), {
        segmentSize: opts.segmentSize,
        replay: (rec) => {
          switch (rec[0]) {
            case RecordType.Series:
              decodeSeries(rec, onSeries, intern);
              break;
            case RecordType.Samples: {
              const m = maxSampleRef(rec);
              if (m > maxRef) maxRef = m;
              break;
            }
            default:
              unknownRecords++;
          }
        },
        onCorruption: () => metrics.corruptions.inc(),
        onRotate: (completed) => {
          if (self.db !== undefined) self.db.#onRotate(completed);
        },
      });
    } catch (e) {
      metrics.dispose();
      throw e;
    }
    if (maxRef >= series.nextRef) series.nextRef = maxRef + 1;
    const replaySeconds = (performance.now() - started) / 1000;
    metrics.replayDuration.set(replaySeconds);
    if (conflicts > 0) {
      logger.warn("WAL holds conflicting series records; kept the first", { conflicts });
    }
    if (unknownRecords > 0) {
      logger.info("Skipped WAL records of unknown types", { records: unknownRecords });
    }

    const end = wal.position;
    const cursors = await CursorStore.load(join(dir, "cursors.json"), {
      now,
      clamp: (p) => (comparePositions(p, end) > 0 ? end : p),
    });
    const db = new AgentDb({
      dir,
      wal,
      series,
      cursors,
      metrics,
      now,
      sync,
      tailPollMs: opts.tailPollMs ?? 1000,
    });
    self.db = db;
    logger.info("Agent db opened", {
      dir,
      series: series.count,
      segments: wal.segments.length,
      head: segmentName(wal.head),
      cursors: cursors.size,
      replay_seconds: replaySeconds,
    });
    const every = opts.truncateIntervalMs ?? 60_000;
    if (every > 0) {
      db.#truncateTimer = setInterval(() => db.#truncateInBackground(), every);
    }
    return db;
  }

  /** A new appender. It may be reused after `commit()` or `rollback()`. */
  appender(): Appender {
    this.#assertOpen("create an appender");
    return new DbAppender(this.#series, (c) => this.#enqueue(c), this.#lastCommitSize);
  }

  /** The labels of a series ref, while the series is known. */
  labels(ref: SeriesRef): Labels | undefined {
    return this.#series.get(ref)?.labels;
  }

  /** Number of known series. */
  get seriesCount(): number {
    return this.#series.count;
  }

  /** End of the last committed record: where a new cursor starts. */
  get position(): WalPosition {
    return this.#committed;
  }

  /** Existing segment numbers, ascending (the last is the head). */
  get segments(): readonly number[] {
    return this.#wal.segments;
  }

  /** The named cursor, created at the current end of the WAL if it does not exist. */
  cursor(name: string): DeliveryCursor {
    this.#assertOpen("get a cursor");
    return this.#cursors.get(name, () => this.#committed);
  }

  /** Names of the live cursors (including ones loaded from disk and not requested yet). */
  cursorNames(): string[] {
    return this.#cursors.names();
  }

  /**
   * Samples from `from` onward, in WAL order, in chunks; follows segment
   * rotation and, once caught up, waits for the next commit (or a poll
   * timeout) until `signal` aborts or the db closes. Only committed records
   * are read. A position in a deleted segment continues at the oldest
   * remaining one; a damaged completed segment is logged and skipped.
   */
  async *tail(from: WalPosition, signal: AbortSignal): AsyncIterable<WalChunk> {
    const out = new SampleBuffer(4096);
    let seg = from.segment;
    let off = from.offset;
    let file: Deno.FsFile | null = null;
    let reader: RecordReader | null = null;
    try {
      while (!signal.aborted && !this.#closed) {
        const c = this.#committed;
        if (file === null) {
          if (comparePositions({ segment: seg, offset: off }, c) > 0) {
            seg = c.segment;
            off = c.offset;
          }
          const segs = this.#wal.segments;
          if (!segs.includes(seg)) {
            const next = segs.find((s) => s > seg);
            if (next === undefined) throw new Error(`BUG: no WAL segment after ${seg}`);
            if (seg < segs[0]) {
              this.#log.warn("Tail position was truncated away; continuing at the oldest segment", {
                from: segmentName(seg),
                to: segmentName(next),
              });
            }
            seg = next;
            off = 0;
          }
          const path = this.#wal.segmentPath(seg);
          try {
            file = await Deno.open(path, { read: true });
          } catch (e) {
            if (e instanceof Deno.errors.NotFound) continue; // deleted meanwhile: look again
            throw e;
          }
          if (off > 0) {
            const size = (await file.stat()).size;
            if (off > size && c.segment > seg) {
              // The segment was repaired to below this position: nothing more in it.
              file.close();
              file = null;
              seg++;
              off = 0;
              continue;
            }
            await file.seek(off, Deno.SeekMode.Start);
          }
          reader = new RecordReader({
            segment: seg,
            offset: off,
            path,
            bufferSize: READ_CHUNK * 2,
          });
        }
        const r = reader!;
        const completed = c.segment > seg;
        const limit = completed ? Infinity : c.offset;
        let atEnd = false;
        const want = Math.min(READ_CHUNK, limit - r.fedTo);
        if (want > 0) {
          const n = await file.read(r.space(want).subarray(0, want));
          if (n === null) atEnd = true;
          else r.filled(n);
        } else atEnd = true;

        let damaged: CorruptionError | null = null;
        try {
          for (;;) {
            const before = r.offset;
            const rec = r.next();
            if (rec === null) break;
            if (rec[0] === RecordType.Samples) {
              try {
                decodeSamples(rec, out);
              } catch (e) {
                throw recordError(e, { segment: seg, offset: before });
              }
            }
            if (out.length >= MAX_CHUNK_SAMPLES) {
              yield { samples: out.take(), end: { segment: seg, offset: r.offset } };
              out.reset();
              if (signal.aborted || this.#closed) return;
            }
          }
          if (atEnd && completed) r.finish();
        } catch (e) {
          if (!(e instanceof CorruptionError)) throw e;
          damaged = e;
        }
        if (out.length > 0 && (atEnd || damaged)) {
          yield { samples: out.take(), end: { segment: seg, offset: r.offset } };
          out.reset();
        }
        if (damaged) {
          this.#log.error("Skipping the rest of a damaged WAL segment while reading", {
            segment: segmentName(seg),
            offset: damaged.offset,
            error: damaged.message,
          });
        }
        if ((atEnd && completed) || damaged) {
          if (!completed) {
            // Damage in the head segment below the committed end: wait until it is completed.
            await this.#waitForRotation(seg, signal);
          }
          file.close();
          file = null;
          reader = null;
          seg++;
          off = 0;
          continue;
        }
        if (atEnd && comparePositions(this.#committed, c) === 0) {
          await this.#waitForCommit(signal);
        }
      }
    } finally {
      file?.close();
    }
  }

  /**
   * Deletes every segment that all live cursors have passed (with no
   * cursors: every segment but the head), after writing a checkpoint of the
   * known series. Returns how many segments were deleted. Runs by itself
   * after each completed segment and every `truncateIntervalMs`.
   */
  truncate(): Promise<number> {
    if (this.#truncating) {
      // One at a time; a caller asking during a run gets a fresh run after it.
      const again = () => this.truncate();
      return this.#truncating.then(again, again);
    }
    const run = this.#doTruncate().finally(() => {
      if (this.#truncating === run) this.#truncating = null;
    });
    this.#truncating = run;
    return run;
  }

  /** Flushes pending commits, fsyncs, persists the cursors and closes the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#truncateTimer !== undefined) clearInterval(this.#truncateTimer);
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    this.#truncateTimer = this.#syncTimer = undefined;
    this.#notify();
    await this.#truncating?.catch(() => {});
    await this.#withLock(async () => {
      await this.#flushQueue();
      await this.#timedSync();
    }).catch((e) => this.#log.error("Cannot flush the WAL on close", { error: String(e) }));
    try {
      await this.#wal.close();
    } finally {
      await this.#cursors.close();
      this.#metrics.dispose();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- commits ----

  #enqueue(c: PendingCommit): void {
    if (this.#closed) {
      c.reject(new Error("Cannot commit: the agent db is closed"));
      return;
    }
    this.#queue.push(c);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    void this.#withLock(() => this.#flushQueue());
  }

  #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(() => {}, () => {});
    return run;
  }

  /** Writes every queued commit in one write (caller holds the lock). */
  async #flushQueue(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const enc = this.#encoder;
    enc.reset();
    const fresh: Series[] = [];
    const take = (s: Series) => {
      if (!s.written) {
        s.written = true;
        fresh.push(s);
      }
    };
    let samples = 0;
    for (const c of batch) {
      for (const s of c.series) take(s);
      if (this.#recheckSeries) {
        for (let i = 0; i < c.cols.length; i++) take(this.#series.get(c.cols.refs[i])!);
      }
      samples += c.cols.length;
    }
    this.#recheckSeries = false;
    for (let i = 0; i < fresh.length; i += SERIES_PER_RECORD) {
      enc.series(fresh.slice(i, i + SERIES_PER_RECORD));
    }
    for (const c of batch) enc.samples(c.cols);
    try {
      await this.#wal.write(enc.buffer(), enc.ends());
      if (this.#sync === "commit") await this.#timedSync();
      else this.#scheduleSync(this.#sync.intervalMs);
    } catch (e) {
      for (const s of fresh) s.written = false;
      // A concurrent appender may have skipped these series as written.
      this.#recheckSeries = fresh.length > 0;
      this.#metrics.writesFailed.inc();
      this.#log.error("Cannot write to the WAL", { error: String(e), samples });
      this.#advance();
      for (const c of batch) c.reject(e);
      return;
    }
    this.#metrics.samplesAppended.inc(samples);
    this.#lastCommitSize = Math.max(64, Math.min(1 << 16, batch[batch.length - 1].cols.length));
    this.#advance();
    for (const c of batch) c.resolve();
  }

  /** Publishes the writer's position to readers. */
  #advance(): void {
    const p = this.#wal.position;
    if (comparePositions(p, this.#committed) !== 0) {
      this.#committed = p;
      this.#notify();
    }
  }

  async #timedSync(): Promise<void> {
    if (!this.#wal.dirty) return;
    const t0 = performance.now();
    await this.#wal.sync();
    this.#metrics.fsyncDuration.observe((performance.now() - t0) / 1000);
    this.#lastSync = this.#now();
  }

  /** Interval policy: sync now if the interval has passed, else once it has. */
  #scheduleSync(intervalMs: number): void {
    if (this.#syncTimer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastSync + intervalMs - this.#now());
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#withLock(() => this.#timedSync()).catch((e) => {
        this.#metrics.writesFailed.inc();
        this.#log.error("Cannot sync the WAL", { error: String(e) });
      });
    }, wait);
  }

  // ---- tail support ----

  #notify(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  #waitForCommit(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.#tailPollMs);
      signal.addEventListener("abort", done, { once: true });
      this.#waiters.add(done);
    });
  }

  async #waitForRotation(seg: number, signal: AbortSignal): Promise<void> {
    while (this.#committed.segment <= seg && !signal.aborted && !this.#closed) {
      await this.#waitForCommit(signal);
    }
  }

  // ---- truncation ----

  #onRotate(completed: number): void {
    this.#log.debug("WAL segment completed", { segment: segmentName(completed) });
    this.#truncateInBackground();
  }

  #truncateInBackground(): void {
    if (this.#closed || this.#truncating) return;
    this.truncate().catch(() => {});
  }

  async #doTruncate(): Promise<number> {
    if (this.#closed) return 0;
    const wal = this.#wal;
    let bound = wal.head;
    for (const p of this.#cursors.positions()) if (p.segment < bound) bound = p.segment;
    const doomed = wal.segments.filter((s) => s < bound);
    if (doomed.length === 0) return 0;
    const upTo = doomed[doomed.length - 1];
    const t0 = performance.now();
    this.#metrics.checkpointCreations.inc();
    try {
      const deleted = await wal.truncate(upTo, this.#checkpointBatches());
      this.#metrics.truncations.inc();
      this.#metrics.truncateDuration.observe((performance.now() - t0) / 1000);
      this.#log.info("WAL truncated", {
        deleted: deleted.length,
        first: segmentName(deleted[0]),
        last: segmentName(upTo),
        series: this.#series.count,
      });
      return deleted.length;
    } catch (e) {
      this.#metrics.checkpointCreationsFailed.inc();
      this.#metrics.truncationsFailed.inc();
      this.#log.error("Cannot truncate the WAL", { upTo: segmentName(upTo), error: String(e) });
      throw e;
    }
  }

  /** Series records for every series in the WAL, in batches (one encoder, reused). */
  *#checkpointBatches(): Generator<RecordBatch> {
    const enc = new RecordEncoder();
    const byRef = this.#series.byRef;
    const group: Series[] = [];
    for (let ref = 1; ref < byRef.length; ref++) {
      const s = byRef[ref];
      if (s === undefined || !s.written) continue;
      group.push(s);
      if (group.length === SERIES_PER_RECORD) {
        enc.series(group);
        group.length = 0;
        if (enc.buffer().length >= READ_CHUNK) {
          yield { buf: enc.buffer(), ends: enc.ends() };
          enc.reset();
        }
      }
    }
    enc.series(group);
    if (enc.count > 0) yield { buf: enc.buffer(), ends: enc.ends() };
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new Error(`Cannot ${what}: the agent db is closed`);
  }
}

/**
 * The agent db: series refs over a write-ahead log, as Prometheus Agent
 * keeps them. Scrapes append through `appender()`; remote endpoints read
 * through `tail()` and record progress in named cursors; `truncate()`
 * deletes what every endpoint has delivered, drops undelivered data only
 * when retention or a disk cap demands it (counted per cursor), and
 * garbage-collects series that went quiet.
 *
 * @module
 */

import { internLabelString } from "../model/intern.ts";
import { join } from "node:path";
import type { Exemplar } from "../model/exemplar.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import { metricKind, type MetricMetadata, sameMetadata } from "../model/metadata.ts";
import type { Registry } from "../metrics/registry.ts";
import { log } from "../util/log.ts";
import { FailureLog } from "./failures.ts";
import { createStorageMetrics, type StorageMetrics } from "./metrics.ts";
import {
  type Appendable,
  type Appender,
  comparePositions,
  type DeliveryCursor,
  type ExemplarSample,
  type HistogramSample,
  type SampleColumns,
  type SeriesRef,
  type TailOptions,
  type WalChunk,
  type WalPosition,
  type WalSource,
} from "./types.ts";
import type { RecordBatch } from "./wal/checkpoint.ts";
import { CursorStore } from "./wal/cursors.ts";
import { CorruptionError } from "./wal/errors.ts";
import { decodeExemplars, ExemplarBatch } from "./wal/exemplar_record.ts";
import { normalizeStart } from "./wal/format.ts";
import {
  decodeHistograms,
  HistogramBatch,
  histogramProblem,
  scanHistograms,
} from "./wal/histogram_record.ts";
import { READ_CHUNK, RecordReader } from "./wal/reader.ts";
import {
  decodeMetadata,
  decodeSamples,
  decodeSeries,
  isHistogramsType,
  isSamplesType,
  MAX_REF,
  MAX_TIMESTAMP,
  RecordEncoder,
  recordError,
  RecordType,
  SampleBuffer,
  type SeriesEntry,
} from "./wal/record.ts";
import { type LossReport, noLoss } from "./wal/repair.ts";
import { segmentName } from "./wal/segment.ts";
import { countSamplesBefore, SegmentStats } from "./wal/stats.ts";
import { type ReplayStatus, Wal } from "./wal/wal.ts";
import { type OpenSegment, WalWriteError } from "./wal/writer.ts";

/** WAL sync policy: fsync on every commit, or at most every `intervalMs`. */
export type SyncPolicy = "commit" | { intervalMs: number };

/** Why undelivered data was dropped (the `reason` label of `prometheus_remote_storage_samples_dropped_total`). */
export type DropReason = "retention" | "wal_disk_cap";

/** Undelivered data a cursor lost to retention or a disk cap. */
export interface DropEvent {
  /** The cursor (remote endpoint name). */
  cursor: string;
  reason: DropReason;
  /**
   * Samples (float and histogram) between `from` and `to` that were never
   * handed to the cursor's reader.
   */
  samples: number;
  /** Where the cursor's data effectively started (its position, or what its reader had read). */
  from: WalPosition;
  /** Where it continues. */
  to: WalPosition;
}

/** What the last open found while replaying the WAL. */
export interface ReplayReport extends ReplayStatus {
  /** Wall time the replay took. */
  durationSeconds: number;
  /** Series known after the replay. */
  series: number;
  /** Samples (float and histogram) in the replayed segments. */
  samples: number;
  /** Samples whose series record is missing (lost to corruption); remote write drops them. */
  orphanedSamples: number;
  /** Damaged files repaired. */
  corruptions: number;
  /** What the repaired files lost, summed. */
  lost: LossReport;
}

/** Options of `AgentDb.open`. */
export interface AgentDbOptions {
  /** Maximum WAL segment size in bytes. @default {134217728} (128 MiB) */
  segmentSize?: number;
  /**
   * `"commit"`: fdatasync before each commit resolves (group commit: commits
   * queued while a write is under way share one write and one fsync).
   * `{ intervalMs }`: commits resolve after the write; the head segment is
   * fsynced at most every `intervalMs` (a crash of the machine may lose that
   * much; a crash of the process loses nothing written).
   * @default {{ intervalMs: 1000 }}
   */
  sync?: SyncPolicy;
  /** Where the db's metrics are registered. */
  registry: Registry;
  /**
   * Wall clock in ms. Only retention (`maxTimeMs`) uses it, comparing it with
   * sample timestamps as Prometheus does. @default {Date.now}
   */
  now?: () => number;
  /**
   * Monotonic clock in ms for durations: series GC's `minTimeMs`, the head
   * segment's age (`headMaxAgeMs`), the fsync interval and the pacing of
   * cursor writes, so wall clock jumps do not stretch or shrink them.
   * @default {performance.now}
   */
  elapsed?: () => number;
  /** Creates segment files: a fault-injection seam for tests (see `SegmentWriterOptions.openSegment`). */
  openSegment?: OpenSegment;
  /**
   * Period of the automatic `truncate()`; 0 disables the timer (truncation
   * still runs whenever a segment is completed). @default {60000}
   */
  truncateIntervalMs?: number;
  /** How long `tail()` waits for a commit notification before looking again. @default {1000} */
  tailPollMs?: number;
  /**
   * `--storage.agent.retention.min-time`: a series is garbage-collected only
   * once nothing was appended to it for this long (and no live cursor still
   * has its samples ahead). @default {300000} (5 min)
   */
  minTimeMs?: number;
  /**
   * `--storage.agent.retention.max-time`: completed segments whose newest
   * sample is older than this are dropped even if not delivered (counted,
   * reason `retention`). 0 disables. @default {0}
   */
  maxTimeMs?: number;
  /**
   * `--storage.agent.max-disk-bytes`: segments plus checkpoint plus a full
   * head segment stay under this; the oldest undelivered segments are dropped
   * to keep it (counted, reason `wal_disk_cap`). 0 disables. @default {0}
   */
  maxDiskBytes?: number;
  /**
   * A non-empty head segment older than this is completed at the next
   * truncation, so retention and series GC also work on a WAL that fills
   * slowly. 0 disables. @default {3600000} (1 h)
   */
  headMaxAgeMs?: number;
  /** Called whenever undelivered data is dropped for a cursor (after it was logged). */
  onDrop?: (e: DropEvent) => void;
}

/** Series per series record (bounds record size in commits and checkpoints). */
const SERIES_PER_RECORD = 1000;
/** `tail()` yields a chunk once it holds this many samples, histograms and exemplars together. */
const MAX_CHUNK_SAMPLES = 16384;
/**
 * Flush sequence numbers of this process start at 1. Records replayed from
 * segment `s` get the pseudo sequence `s - REPLAYED` (the checkpoint's is
 * `-1 - REPLAYED`): below every real one and ordered like the segments.
 */
const REPLAYED = 2 ** 40;
/** Room kept for `cursors.json` (and its temporary copy) under the disk cap. */
const CURSORS_ALLOWANCE = 2048;
/** Minimum time between two flush time marks (see `#seqBefore`). */
const MARK_EVERY_MS = 1000;
/** Minimum time between two checks that the head segment's file still exists. */
const HEAD_CHECK_MS = 1000;

/** What a series' last appended value was (decides what a staleness marker is). */
const FLOAT = 0;
const INT_HISTOGRAM = 1;
const FLOAT_HISTOGRAM = 2;

interface Series extends SeriesEntry {
  /** Whether a series record for it is in the WAL (or being written by the current flush). */
  written: boolean;
  /** `FLOAT`, `INT_HISTOGRAM` or `FLOAT_HISTOGRAM`: the kind of the last value appended. */
  kind: number;
  /** The latest committed metadata (shared, frozen objects; see `SeriesSet.internMeta`). */
  meta: MetricMetadata | undefined;
  /** The last exemplar appended, to drop repeats. */
  lastExemplar: Exemplar | undefined;
  /** Next series with the same labels hash. */
  nextSameHash: Series | undefined;
  /**
   * Sequence number of the last flush that wrote a record for it (samples or
   * series). Every flush with a smaller number wrote only to segments below
   * the first segment a later flush touched; see `#collectGarbage`.
   */
  lastFlush: number;
  /** Garbage-collected; an appender that still holds it brings it back at commit. */
  deleted: boolean;
}

/**
 * What one commit carries, reused between commits: float samples in columns,
 * histograms and exemplars already encoded (so `h` and `e` are not kept),
 * metadata changes, and what a rollback must undo.
 */
class CommitBuffers {
  readonly cols: SampleBuffer;
  /**
   * The series of each float sample, parallel to `cols` (entries at and past
   * `cols.length` are leftovers; the array is never shrunk, so a steady
   * scrape does not reallocate it).
   */
  readonly touched: Series[] = [];
  readonly ints = new HistogramBatch(false);
  readonly floats = new HistogramBatch(true);
  readonly exemplars = new ExemplarBatch();
  /** The series of each histogram and exemplar (the first `otherCount` entries). */
  readonly others: Series[] = [];
  otherCount = 0;
  /** Metadata changes, in call order. */
  readonly meta: { s: Series; m: MetricMetadata }[] = [];
  /** Float samples' time range, set by the flush. */
  minT = Infinity;
  maxT = -Infinity;
  readonly #kindSeries: Series[] = [];
  readonly #kindPrev: number[] = [];
  readonly #exSeries: Series[] = [];
  readonly #exPrev: (Exemplar | undefined)[] = [];

  constructor(capacity: number) {
    this.cols = new SampleBuffer(capacity);
  }

  get empty(): boolean {
    return this.cols.length === 0 && this.otherCount === 0 && this.meta.length === 0;
  }

  /** Notes the series of a histogram or exemplar. */
  other(s: Series): void {
    this.others[this.otherCount++] = s;
  }

  /** Sets a series' kind, remembering the old one for a rollback. */
  setKind(s: Series, kind: number): void {
    this.#kindSeries.push(s);
    this.#kindPrev.push(s.kind);
    s.kind = kind;
  }

  /** Sets a series' last exemplar, remembering the old one for a rollback. */
  setLastExemplar(s: Series, e: Exemplar): void {
    this.#exSeries.push(s);
    this.#exPrev.push(s.lastExemplar);
    s.lastExemplar = e;
  }

  /** Restores the kinds and last exemplars this commit changed (rollback). */
  undo(): void {
    for (let i = this.#kindSeries.length - 1; i >= 0; i--) {
      this.#kindSeries[i].kind = this.#kindPrev[i];
    }
    for (let i = this.#exSeries.length - 1; i >= 0; i--) {
      this.#exSeries[i].lastExemplar = this.#exPrev[i];
    }
    this.keep();
  }

  /** Forgets what a rollback would undo (committed). */
  keep(): void {
    if (this.#kindSeries.length > 0) this.#kindSeries.length = this.#kindPrev.length = 0;
    if (this.#exSeries.length > 0) this.#exSeries.length = this.#exPrev.length = 0;
  }

  /** Empties everything, keeps the memory. */
  reset(): void {
    this.cols.reset();
    if (this.otherCount > 0) {
      this.ints.reset();
      this.floats.reset();
      this.exemplars.reset();
      this.otherCount = 0;
    }
    if (this.meta.length > 0) this.meta.length = 0;
    this.keep();
  }
}

interface PendingCommit {
  bufs: CommitBuffers;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A running `tail()` that delivers for a cursor. */
interface TailState {
  name: string;
  /** End of the last chunk handed out. */
  yielded: WalPosition;
  /** Start of the chunk the consumer holds (while the iterator is suspended), else null. */
  held: WalPosition | null;
}

const PAGE_BITS = 12;
const PAGE_REFS = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_REFS - 1;

/**
 * Series refs ↔ labels. Refs are dense and never reused; the ref index is a
 * two-level table of 4,096-ref pages, and a page whose series were all
 * garbage-collected is freed, so churn does not grow memory.
 */
class SeriesSet {
  readonly #pages: ((Series | undefined)[] | undefined)[] = [];
  readonly #pageCounts: number[] = [];
  readonly #byHash = new Map<number, Series>();
  readonly #metas = new Map<string, MetricMetadata>();
  nextRef = 1;
  count = 0;
  /** The `lastFlush` a new series starts with: the next flush's number. */
  pendingFlush = 1;

  get(ref: number): Series | undefined {
    const p = this.#pages[ref >>> PAGE_BITS];
    return p === undefined ? undefined : p[ref & PAGE_MASK];
  }

  /** The series of `labels`, if known. */
  find(labels: Labels): Series | undefined {
    for (let s = this.#byHash.get(labels.hash()); s !== undefined; s = s.nextSameHash) {
      if (s.labels.equals(labels)) return s;
    }
    return undefined;
  }

  /**
   * One shared, frozen object per distinct metadata value, so series of one
   * family share their metadata. The table is dropped when it grows large
   * (series keep their objects; later ones share anew).
   */
  internMeta(m: MetricMetadata): MetricMetadata {
    const key = m.type + "\u0000" + m.unit + "\u0000" + m.help;
    let v = this.#metas.get(key);
    if (v === undefined) {
      if (this.#metas.size >= 65536) this.#metas.clear();
      v = Object.freeze({ type: m.type, help: m.help, unit: m.unit });
      this.#metas.set(key, v);
    }
    return v;
  }

  /** Adds a series under `ref` (replay) or the next free ref. */
  add(labels: Labels, ref: number, written: boolean, lastFlush: number): Series {
    const s: Series = {
      ref,
      labels,
      written,
      kind: FLOAT,
      meta: undefined,
      lastExemplar: undefined,
      nextSameHash: undefined,
      lastFlush,
      deleted: false,
    };
    this.#insert(s);
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return s;
  }

  /** Removes a series (garbage collection). Its ref is never handed out again. */
  remove(s: Series): void {
    const h = s.labels.hash();
    const head = this.#byHash.get(h);
    if (head === s) {
      if (s.nextSameHash === undefined) this.#byHash.delete(h);
      else this.#byHash.set(h, s.nextSameHash);
    } else {
      for (let p = head; p !== undefined; p = p.nextSameHash) {
        if (p.nextSameHash === s) {
          p.nextSameHash = s.nextSameHash;
          break;
        }
      }
    }
    s.nextSameHash = undefined;
    const pi = s.ref >>> PAGE_BITS;
    const page = this.#pages[pi];
    if (page !== undefined && page[s.ref & PAGE_MASK] === s) {
      page[s.ref & PAGE_MASK] = undefined;
      if (--this.#pageCounts[pi] === 0) this.#pages[pi] = undefined;
    }
    s.deleted = true;
    this.count--;
  }

  /**
   * Brings a garbage-collected series back under its ref (an appender still
   * held it); its series record is written again, as the old one may be gone.
   */
  restore(s: Series): void {
    s.deleted = false;
    s.written = false;
    this.#insert(s);
  }

  /** Every series, by ascending ref. Safe against removals during the iteration. */
  *all(): Generator<Series> {
    const pages = this.#pages;
    for (let pi = 0; pi < pages.length; pi++) {
      const page = pages[pi];
      if (page === undefined) continue;
      for (let i = 0; i < page.length; i++) {
        const s = page[i];
        if (s !== undefined) yield s;
      }
    }
  }

  /** Allocated pages (for tests). */
  get pages(): number {
    let n = 0;
    for (const p of this.#pages) if (p !== undefined) n++;
    return n;
  }

  /** The series for an append: by ref when it matches, else by labels, else a new one. */
  resolve(ref: number, labels: Labels): Series {
    if (ref > 0) {
      const s = this.get(ref);
      if (s !== undefined && (s.labels === labels || s.labels.equals(labels))) return s;
    }
    const found = this.find(labels);
    if (found) return found;
    if (labels.size === 0) throw new TypeError("Cannot append a sample: the label set is empty");
    if (this.nextRef > MAX_REF) {
      throw new RangeError("Cannot create a series: series refs exhausted");
    }
    return this.add(labels, this.nextRef, false, this.pendingFlush);
  }

  #insert(s: Series): void {
    const h = s.labels.hash();
    s.nextSameHash = this.#byHash.get(h);
    this.#byHash.set(h, s);
    const pi = s.ref >>> PAGE_BITS;
    let page = this.#pages[pi];
    if (page === undefined) {
      page = new Array<Series | undefined>(PAGE_REFS).fill(undefined);
      this.#pages[pi] = page;
      this.#pageCounts[pi] = 0;
    }
    if (page[s.ref & PAGE_MASK] === undefined) this.#pageCounts[pi]++;
    page[s.ref & PAGE_MASK] = s;
    this.count++;
  }
}

class DbAppender implements Appender {
  readonly #series: SeriesSet;
  readonly #enqueue: (c: PendingCommit) => void;
  #buf: CommitBuffers;
  /** `#buf.cols` and `#buf.touched`, held directly for the float hot path. */
  #cols: SampleBuffer;
  #touched: Series[];
  #spare: CommitBuffers | undefined;

  constructor(
    series: SeriesSet,
    deps: { enqueue: (c: PendingCommit) => void; capacity: number },
  ) {
    this.#series = series;
    this.#enqueue = deps.enqueue;
    this.#buf = new CommitBuffers(deps.capacity);
    this.#cols = this.#buf.cols;
    this.#touched = this.#buf.touched;
  }

  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    return this.#add(ref, labels, t, v, 0, 0);
  }

  appendWithStart(ref: SeriesRef, labels: Labels, t: number, v: number, st: number): SeriesRef {
    return this.#add(ref, labels, t, v, 0, st === 0 ? 0 : normalizeStart(st));
  }

  appendStale(ref: SeriesRef, labels: Labels, t: number): SeriesRef {
    return this.#add(ref, labels, t, 0, 1, 0);
  }

  /** Hot path: a float sample or a staleness marker (positional arguments). */
  #add(ref: number, labels: Labels, t: number, v: number, stale: number, st: number): number {
    if (!Number.isSafeInteger(t)) t = Math.trunc(t);
    if (!(t <= MAX_TIMESTAMP && t >= -MAX_TIMESTAMP)) checkTime(t, "a sample");
    const s = this.#series.resolve(ref, labels);
    if (s.kind !== FLOAT && this.#afterHistogram(s, t, stale)) return s.ref;
    const cols = this.#cols;
    this.#touched[cols.length] = s;
    if (st === 0) cols.push(s.ref, t, v, stale);
    else cols.pushWithStart(s.ref, t, v, stale, st);
    return s.ref;
  }

  /**
   * A float sample or marker for a series whose last value was a histogram:
   * a marker becomes a stale histogram (returns true: handled); a sample
   * makes it a float series again (returns false).
   */
  #afterHistogram(s: Series, t: number, stale: number): boolean {
    const b = this.#buf;
    if (stale === 1) {
      (s.kind === FLOAT_HISTOGRAM ? b.floats : b.ints).add(s.ref, t, 0, null);
      b.other(s);
      return true;
    }
    b.setKind(s, FLOAT);
    return false;
  }

  appendHistogram(ref: SeriesRef, labels: Labels, t: number, h: Histogram, st: number): SeriesRef {
    t = checkTime(t, "a histogram");
    const problem = histogramProblem(h);
    if (problem !== undefined) throw new RangeError(`Cannot append a histogram: ${problem}`);
    const s = this.#series.resolve(ref, labels);
    const b = this.#buf;
    const kind = h.float ? FLOAT_HISTOGRAM : INT_HISTOGRAM;
    if (s.kind !== kind) b.setKind(s, kind);
    (h.float ? b.floats : b.ints).add(s.ref, t, st === 0 ? 0 : normalizeStart(st), h);
    b.other(s);
    return s.ref;
  }

  appendExemplar(ref: SeriesRef, labels: Labels, e: Exemplar): SeriesRef {
    const ts = checkTime(e.ts, "an exemplar");
    const s = this.#series.resolve(ref, labels);
    const last = s.lastExemplar;
    if (
      last !== undefined && last.ts === ts &&
      (last.value === e.value || (last.value !== last.value && e.value !== e.value)) &&
      (last.labels === e.labels || last.labels.equals(e.labels))
    ) return s.ref;
    const b = this.#buf;
    const copy: Exemplar = { labels: e.labels, value: e.value, ts };
    b.setLastExemplar(s, copy);
    b.exemplars.add(s.ref, copy);
    b.other(s);
    return s.ref;
  }

  updateMetadata(ref: SeriesRef, labels: Labels, m: MetricMetadata): SeriesRef {
    const s = this.#series.resolve(ref, labels);
    if (s.meta !== undefined && sameMetadata(s.meta, m)) return s.ref;
    this.#buf.meta.push({ s, m: { type: metricKind(m.type), help: m.help, unit: m.unit } });
    return s.ref;
  }

  commit(): Promise<void> {
    const b = this.#buf;
    b.keep();
    if (b.empty) return Promise.resolve();
    // Hand the buffers over; keep appending into the spare (or new ones).
    const spare = this.#spare;
    this.#spare = undefined;
    const next = spare ?? new CommitBuffers(b.cols.capacity);
    this.#buf = next;
    this.#cols = next.cols;
    this.#touched = next.touched;
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({ bufs: b, resolve, reject });
    }).finally(() => {
      b.reset();
      this.#spare ??= b;
    });
  }

  rollback(): void {
    this.#buf.undo();
    this.#buf.reset();
  }
}

/** What `#applyMetadata` returns when a flush has no metadata to write. */
const NO_METADATA: { listed: readonly Series[]; undo: () => void } = Object.freeze({
  listed: Object.freeze([]),
  undo: () => {},
});

/** `t` as an integer timestamp; throws a RangeError when it is out of range. */
function checkTime(t: number, what: string): number {
  if (!Number.isSafeInteger(t)) t = Math.trunc(t);
  if (!(t <= MAX_TIMESTAMP && t >= -MAX_TIMESTAMP)) {
    throw new RangeError(`Cannot append ${what}: timestamp ${t} is out of range`);
  }
  return t;
}

/**
 * The agent's storage: an `Appendable` for scrapes and a `WalSource` for
 * remote write, over a `Wal` in `<dir>/wal` and cursors in
 * `<dir>/cursors.json`.
 *
 * - Commits are serialized and grouped: one writer encodes every commit
 *   queued so far (series records for new series first, then metadata
 *   records for the series whose metadata changed, then per commit a
 *   samples record, an integer and a float histograms record and an
 *   exemplars record, each only when not empty) and writes them in one file
 *   write, then syncs per the sync policy. A commit is visible to `tail()`
 *   once it resolves.
 * - Per series, memory holds its labels, its latest metadata (one shared
 *   object per distinct value), whether its last value was a histogram
 *   (so a staleness marker becomes a stale histogram; restored by replay)
 *   and its last exemplar (repeats are dropped).
 * - "Samples" in counts (segment statistics, drops, loss reports, replay)
 *   are float and histogram samples; exemplars are not counted.
 * - Truncation runs when a segment is completed and every
 *   `truncateIntervalMs`, in this order:
 *   1. a head segment older than `headMaxAgeMs` is completed;
 *   2. retention (`maxTimeMs`), per-cursor caps (`limitCursor`) and the disk
 *      cap (`maxDiskBytes`) move cursors past the oldest completed segments
 *      when they demand it; the samples skipped are counted exactly per
 *      cursor (from the later of its position and what its reader already
 *      handed out), logged, and reported through `onDrop`;
 *   3. series garbage collection (below);
 *   4. segments below every live cursor (all but the head when there are no
 *      cursors) are deleted after writing a checkpoint of the live series.
 *   With a disk cap, steps 2–4 also run before every new segment is created,
 *   so the WAL never grows past the cap (unless the cap is below a checkpoint
 *   plus two segments).
 * - Series GC: a series is removed from memory, and left out of the next
 *   checkpoint, when no record for it was written in the last `minTimeMs`
 *   and all its records lie in segments that every live cursor, and every
 *   chunk a reader still holds, is past. An appender that still holds a
 *   removed series (appended before, commits after) brings it back under the
 *   same ref and its series record is written again.
 * - Local faults. A write that fails (disk full, read-only filesystem or
 *   directory, I/O error) rejects the commits it held: nothing of them is
 *   stored, they are counted (`prometheus_tsdb_wal_writes_failed_total`,
 *   `ferry_wal_samples_failed_total`) and logged when the failure starts,
 *   every 10 s while it lasts and when writing works again; the next commit
 *   simply tries again, so writing resumes by itself. WAL files removed
 *   underneath (the head is checked at most once a second after an fsync,
 *   every file at each truncation timer tick and whenever a reader misses
 *   one) are logged, counted (`ferry_wal_files_missing_total`) and
 *   forgotten; a lost head makes the WAL start over in a new segment (the
 *   directory created again), and the series records of every known series
 *   are written into the head, so the WAL on disk is self-contained again.
 * - Clocks: retention compares sample timestamps with the wall clock (`now`),
 *   as Prometheus does: a forward jump of more than `maxTimeMs` drops the
 *   undelivered completed segments written before it (counted), a backward
 *   jump delays retention by as much. Every duration (GC's `minTimeMs`, the
 *   head's age, fsync and cursor-write pacing) uses the monotonic `elapsed`.
 */
export class AgentDb implements Appendable, WalSource {
  readonly dir: string;
  readonly #wal: Wal;
  readonly #series: SeriesSet;
  readonly #cursors: CursorStore;
  readonly #metrics: StorageMetrics;
  readonly #now: () => number;
  readonly #elapsed: () => number;
  readonly #sync: SyncPolicy;
  readonly #tailPollMs: number;
  readonly #minTimeMs: number;
  readonly #maxTimeMs: number;
  readonly #maxDiskBytes: number;
  readonly #headMaxAgeMs: number;
  readonly #onDrop?: (e: DropEvent) => void;
  readonly #encoder = new RecordEncoder();
  readonly #log = log("wal");
  readonly #stats: Map<number, SegmentStats>;
  readonly #limits = new Map<string, number>();
  readonly #tails = new Set<TailState>();
  /**
   * WAL positions ascending, each with the first flush sequence that may have
   * written at or after it: the start of every segment, and where the WAL
   * ended at each truncation tick (so series collection does not wait for
   * the head segment to complete).
   */
  #flushMarkPos: WalPosition[] = [];
  #flushMarkSeq: number[] = [];
  /**
   * Flush time marks, ascending, at most one a second: every flush below
   * `seq` happened at or before `t`.
   */
  #marks: { seq: number; t: number }[] = [];
  readonly replay: ReplayReport;

  #committed: WalPosition;
  #queue: PendingCommit[] = [];
  #flushScheduled = false;
  #flushSeq = 0;
  /** When the last flush started (the open time before the first). */
  #lastFlushAt: number;
  #inFlush = false;
  #lock: Promise<void> = Promise.resolve();
  #lastSync: number;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;
  #truncateTimer: ReturnType<typeof setInterval> | undefined;
  #firstTruncation: ReturnType<typeof setTimeout> | undefined;
  #truncating: Promise<number> | null = null;
  #waiters = new Set<() => void>();
  #lastCommitSize = 64;
  #headCreated: number;
  #deletedPending = 0;
  /** Bytes and series of the series records written or replayed (a checkpoint size estimate). */
  #seriesRecordBytes = 0;
  #seriesRecorded = 0;
  /** Bytes and entries of the metadata records written or replayed. */
  #metaRecordBytes = 0;
  #metaRecorded = 0;
  #capWarned = false;
  #closed = false;
  readonly #writeFailures: FailureLog;
  #lastHeadCheck: number;
  /** Missing files already logged and counted (`s<n>` segments, `c<n>` checkpoints). */
  readonly #reportedMissing = new Set<string>();

  private constructor(init: {
    dir: string;
    wal: Wal;
    series: SeriesSet;
    cursors: CursorStore;
    metrics: StorageMetrics;
    stats: Map<number, SegmentStats>;
    replay: ReplayReport;
    opts: AgentDbOptions;
    now: () => number;
    elapsed: () => number;
    sync: SyncPolicy;
  }) {
    const o = init.opts;
    this.dir = init.dir;
    this.#wal = init.wal;
    this.#series = init.series;
    this.#cursors = init.cursors;
    this.#metrics = init.metrics;
    this.#stats = init.stats;
    this.replay = init.replay;
    this.#now = init.now;
    this.#elapsed = init.elapsed;
    this.#sync = init.sync;
    this.#tailPollMs = o.tailPollMs ?? 1000;
    this.#minTimeMs = o.minTimeMs ?? 5 * 60_000;
    this.#maxTimeMs = o.maxTimeMs ?? 0;
    this.#maxDiskBytes = o.maxDiskBytes ?? 0;
    this.#headMaxAgeMs = o.headMaxAgeMs ?? 3_600_000;
    this.#onDrop = o.onDrop;
    this.#committed = init.wal.position;
    const t = init.elapsed();
    this.#lastSync = t;
    this.#headCreated = t;
    this.#lastFlushAt = t;
    this.#lastHeadCheck = t;
    this.#writeFailures = new FailureLog(this.#log, {
      message: "Cannot write to the WAL; the samples of the failed commits are lost",
      recovered: "Writing to the WAL works again",
      now: init.elapsed,
    });
    // Replayed segments carry pseudo sequences; the new head gets flush 1 onwards.
    for (const seg of init.wal.segments) {
      this.#flushMarkPos.push({ segment: seg, offset: 0 });
      this.#flushMarkSeq.push(seg === init.wal.head ? 1 : seg - REPLAYED);
    }
    // Replayed series count as appended at open.
    this.#marks.push({ seq: 1, t });
  }

  /**
   * Opens the db in `dir` (created if needed): replays the checkpoint and
   * every segment to rebuild the series and the segment statistics, repairs
   * damaged segments (never failing because of them, reporting what they
   * lost), loads the cursors and starts a new segment.
   */
  static async open(dir: string, opts: AgentDbOptions): Promise<AgentDb> {
    const sync = opts.sync ?? { intervalMs: 1000 };
    if (sync !== "commit" && !(Number.isFinite(sync.intervalMs) && sync.intervalMs >= 0)) {
      throw new RangeError(
        `Cannot open agent db as 'sync.intervalMs' must be a non-negative number: current value is ${sync.intervalMs}`,
      );
    }
    for (const k of ["minTimeMs", "maxTimeMs", "maxDiskBytes", "headMaxAgeMs"] as const) {
      const v = opts[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
        throw new RangeError(
          `Cannot open agent db as '${k}' must be a non-negative number: current value is ${v}`,
        );
      }
    }
    const now = opts.now ?? Date.now;
    const elapsed = opts.elapsed ?? (() => performance.now());
    const logger = log("wal");
    await Deno.mkdir(dir, { recursive: true });
    const series = new SeriesSet();
    // Filled once the db exists; callbacks registered before then see undefined.
    const self: { db?: AgentDb } = {};
    const metrics = createStorageMetrics(opts.registry, {
      activeSeries: () => series.count,
      segmentCurrent: () => (self.db === undefined ? 0 : self.db.#wal.head),
      walBytes: () => (self.db === undefined ? 0 : self.db.#wal.totalBytes),
    });

    const started = performance.now();
    const interned = new Map<string, string>();
    const intern = (s: string) => {
      const v = interned.get(s);
      if (v !== undefined) return v;
      interned.set(s, s);
      return s;
    };
    const stats = new Map<number, SegmentStats>();
    const statsOf = (seg: number) => {
      let st = stats.get(seg);
      if (st === undefined) {
        st = new SegmentStats();
        stats.set(seg, st);
      }
      return st;
    };
    let maxRef = 0;
    let unknownRecords = 0;
    let conflicts = 0;
    let samples = 0;
    let orphaned = 0;
    let corruptions = 0;
    let seriesSeen = 0, seriesBytes = 0;
    let metaSeen = 0, metaBytes = 0;
    const lost = noLoss();
    let pseudo = -1 - REPLAYED;
    const onSeries = (ref: number, labels: Labels) => {
      const old = series.get(ref);
      if (old !== undefined) {
        if (!old.labels.equals(labels)) conflicts++;
        old.lastFlush = pseudo;
        return;
      }
      series.add(labels, ref, true, pseudo);
    };
    const buf = new SampleBuffer(4096);
    const exemplars: ExemplarSample[] = [];
    /** Marks a ref seen in a record of segment `pseudo`; false when its series is unknown. */
    const seen = (ref: number): Series | undefined => {
      if (ref > maxRef) maxRef = ref;
      const s = series.get(ref);
      if (s !== undefined) s.lastFlush = pseudo;
      return s;
    };
    let wal: Wal;
    try {
      wal = await Wal.open(join(dir, "wal"), {
        segmentSize: opts.segmentSize,
        openSegment: opts.openSegment,
        replay: (rec, where) => {
          pseudo = where.segment - REPLAYED;
          const type = rec[0];
          if (type === RecordType.Series) {
            const before = seriesSeen;
            decodeSeries(rec, (ref, labels) => {
              seriesSeen++;
              onSeries(ref, labels);
            }, internLabelString);
            if (seriesSeen > before) seriesBytes += rec.length;
            if (where.segment >= 0) statsOf(where.segment).add(where.offset, 0, 0, 0);
          } else if (isSamplesType(type)) {
            buf.reset();
            decodeSamples(rec, buf);
            const { refs, ts } = buf;
            let minT = Infinity, maxT = -Infinity;
            for (let i = 0; i < buf.length; i++) {
              const ref = refs[i];
              if (ref > maxRef) maxRef = ref;
              const s = series.get(ref);
              if (s !== undefined) {
                s.lastFlush = pseudo;
                if (s.kind !== FLOAT) s.kind = FLOAT;
              } else orphaned++;
              const t = ts[i];
              if (t < minT) minT = t;
              if (t > maxT) maxT = t;
            }
            samples += buf.length;
            if (where.segment >= 0) {
              statsOf(where.segment).add(where.offset, buf.length, minT, maxT);
            }
          } else if (isHistogramsType(type)) {
            // Check the whole record before using it: refs and times go to `buf`.
            buf.reset();
            scanHistograms(rec, (ref, t) => buf.push(ref, t, 0, 0));
            const kind = type === RecordType.FloatHistograms ? FLOAT_HISTOGRAM : INT_HISTOGRAM;
            let minT = Infinity, maxT = -Infinity;
            for (let i = 0; i < buf.length; i++) {
              const s = seen(buf.refs[i]);
              if (s !== undefined) s.kind = kind;
              else orphaned++;
              const t = buf.ts[i];
              if (t < minT) minT = t;
              if (t > maxT) maxT = t;
            }
            samples += buf.length;
            if (where.segment >= 0) {
              statsOf(where.segment).add(where.offset, buf.length, minT, maxT);
            }
          } else if (type === RecordType.Exemplars) {
            exemplars.length = 0;
            decodeExemplars(rec, exemplars);
            for (const x of exemplars) seen(x.ref);
            exemplars.length = 0;
            if (where.segment >= 0) statsOf(where.segment).add(where.offset, 0, 0, 0);
          } else if (type === RecordType.Metadata) {
            const updates: [number, MetricMetadata][] = [];
            decodeMetadata(rec, (ref, m) => updates.push([ref, m]), intern);
            // A group's series share one decoded object: intern it once.
            let last: MetricMetadata | undefined, shared: MetricMetadata | undefined;
            for (const [ref, m] of updates) {
              const s = seen(ref);
              if (s === undefined) continue;
              if (m !== last) {
                last = m;
                shared = series.internMeta(m);
              }
              s.meta = shared;
            }
            metaSeen += updates.length;
            metaBytes += rec.length;
            if (where.segment >= 0) statsOf(where.segment).add(where.offset, 0, 0, 0);
          } else {
            unknownRecords++;
            if (where.segment >= 0) statsOf(where.segment).add(where.offset, 0, 0, 0);
          }
        },
        onCorruption: (_e, loss) => {
          corruptions++;
          metrics.corruptions.inc();
          metrics.lostRecords.inc(loss.records);
          metrics.lostSamples.inc(loss.samples);
          metrics.lostBytes.inc(loss.bytes);
          lost.bytes += loss.bytes;
          lost.records += loss.records;
          lost.seriesRecords += loss.seriesRecords;
          lost.samples += loss.samples;
          lost.damagedRecords += loss.damagedRecords;
          lost.exact &&= loss.exact;
        },
        onRotate: (completed, next) => {
          if (self.db !== undefined) self.db.#onRotate(completed, next);
        },
        beforeRotate: (completing) =>
          self.db === undefined ? Promise.resolve() : self.db.#beforeRotate(completing),
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
    if (orphaned > 0) {
      logger.warn(
        "WAL samples refer to series whose records were lost; remote write drops them (reason unintentionally_dropped_series)",
        { samples: orphaned },
      );
    }

    const end = wal.position;
    const cursors = await CursorStore.load(join(dir, "cursors.json"), {
      now: elapsed,
      clamp: (p) => (comparePositions(p, end) > 0 ? end : p),
    });
    const replay: ReplayReport = {
      ...wal.replayStatus,
      durationSeconds: replaySeconds,
      series: series.count,
      samples,
      orphanedSamples: orphaned,
      corruptions,
      lost,
    };
    const db = new AgentDb({
      dir,
      wal,
      series,
      cursors,
      metrics,
      stats,
      replay,
      opts,
      now,
      elapsed,
      sync,
    });
    self.db = db;
    db.#seriesRecordBytes = seriesBytes;
    db.#seriesRecorded = seriesSeen;
    db.#metaRecordBytes = metaBytes;
    db.#metaRecorded = metaSeen;
    logger.info("Agent db opened", {
      dir,
      series: series.count,
      samples,
      segments: wal.segments.length,
      head: segmentName(wal.head),
      cursors: cursors.size,
      replay_seconds: replaySeconds,
      corruptions,
      lost_records: lost.records,
      lost_samples: lost.samples,
    });
    const every = opts.truncateIntervalMs ?? 60_000;
    if (every > 0) {
      db.#truncateTimer = setInterval(() => db.#onTimer(), every);
      // Apply the caps to what was replayed without waiting for the first period.
      db.#firstTruncation = setTimeout(() => {
        db.#firstTruncation = undefined;
        db.#truncateInBackground();
      }, 0);
    }
    return db;
  }

  /** A new appender. It may be reused after `commit()` or `rollback()`. */
  appender(): Appender {
    this.#assertOpen("create an appender");
    return new DbAppender(this.#series, {
      enqueue: (c) => this.#enqueue(c),
      capacity: this.#lastCommitSize,
    });
  }

  /** The labels of a series ref, while the series is known. */
  labels(ref: SeriesRef): Labels | undefined {
    return this.#series.get(ref)?.labels;
  }

  /** The latest committed metadata of a series ref, if any, while the series is known. */
  metadata(ref: SeriesRef): MetricMetadata | undefined {
    return this.#series.get(ref)?.meta;
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

  /** Bytes of the WAL's segments and checkpoint. */
  get diskBytes(): number {
    return this.#wal.totalBytes;
  }

  /** Samples (float and histogram) in segment `n`'s statistics (0 for an unknown segment). */
  segmentSamples(n: number): number {
    return this.#stats.get(n)?.samples ?? 0;
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
   * Caps the WAL bytes the named cursor may hold back (from its position to
   * the end, counting a full head segment); 0 removes the cap. When exceeded,
   * the cursor is moved past its oldest segments (reason `wal_disk_cap`).
   */
  limitCursor(name: string, maxBytes: number): void {
    if (!(Number.isFinite(maxBytes) && maxBytes >= 0)) {
      throw new RangeError(
        `Cannot limit cursor ${name} as 'maxBytes' must be a non-negative number: current value is ${maxBytes}`,
      );
    }
    if (maxBytes === 0) {
      this.#limits.delete(name);
      return;
    }
    this.#limits.set(name, maxBytes);
    if (maxBytes < 2 * this.#wal.segmentSize) {
      this.#log.warn(
        "The endpoint's WAL cap is below two segments: it will keep little more than the head segment",
        { endpoint: name, max_disk_bytes: maxBytes, segment_bytes: this.#wal.segmentSize },
      );
    }
  }

  /**
   * Samples, histograms and exemplars from `from` onward, in WAL order, in
   * chunks; follows segment rotation and, once caught up, waits for the next
   * commit (or a poll timeout) until `signal` aborts or the db closes. Only committed records
   * are read. A position in a deleted segment continues at the oldest
   * remaining one; a damaged completed segment is logged and skipped.
   *
   * With `opts.cursor`, the reader follows that cursor when a drop moves it
   * past the reader's position (skipping, never yielding, the dropped data),
   * and the labels of a chunk it handed out stay known until it is asked for
   * the next one.
   */
  async *tail(
    from: WalPosition,
    signal: AbortSignal,
    opts: TailOptions = {},
  ): AsyncIterable<WalChunk> {
    const state: TailState | null = opts.cursor === undefined
      ? null
      : { name: opts.cursor, yielded: from, held: null };
    if (state !== null) this.#tails.add(state);
    let out = new SampleBuffer(4096);
    // With `lend`, the buffer handed out last: filled again once the reader asked for more.
    let lent = opts.lend ? new SampleBuffer(4096) : null;
    let histograms: HistogramSample[] = [];
    let exemplars: ExemplarSample[] = [];
    /** Samples, histograms and exemplars read and not handed out yet. */
    const pending = () => out.length + histograms.length + exemplars.length;
    let seg = from.segment;
    let off = from.offset;
    let file: Deno.FsFile | null = null;
    let reader: RecordReader | null = null;
    /** The cursor's position when a drop moved it past where this reader is. */
    const skipTo = (): WalPosition | null => {
      if (state === null) return null;
      const c = this.#cursors.peek(state.name);
      if (c === undefined) return null;
      const here = { segment: seg, offset: reader === null ? off : reader.offset };
      return comparePositions(c.position, here) > 0 ? c.position : null;
    };
    const handOut = (end: WalPosition): WalChunk => {
      let samples: SampleColumns;
      if (lent === null) {
        samples = out.take();
      } else {
        const full = out;
        out = lent;
        lent = full;
        samples = full;
      }
      out.reset();
      const chunk = { samples, histograms, exemplars, end };
      histograms = [];
      exemplars = [];
      if (state !== null) {
        state.held = state.yielded;
        state.yielded = end;
      }
      return chunk;
    };
    try {
      while (!signal.aborted && !this.#closed) {
        const skip = skipTo();
        if (skip !== null) {
          // Data was dropped under this reader: what it read but did not hand out goes too.
          file?.close();
          file = null;
          reader = null;
          out.reset();
          histograms = [];
          exemplars = [];
          seg = skip.segment;
          off = skip.offset;
          state!.yielded = skip;
          continue;
        }
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
            if (seg < segs[0] && state === null) {
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
            if (!(e instanceof Deno.errors.NotFound)) throw e;
            // Deleted by a truncation meanwhile (it unlists first): look again. Still listed:
            // removed by something else; let the db forget it, then look again.
            if (this.#wal.segments.includes(seg)) await this.#missingWhileReading(seg, signal);
            continue;
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
          continue; // look for a drop that happened while opening
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
          if (skipTo() !== null) continue;
        } else atEnd = true;

        let damaged: CorruptionError | null = null;
        let moved = false;
        try {
          for (;;) {
            const before = r.offset;
            const rec = r.next();
            if (rec === null) break;
            const type = rec[0];
            try {
              if (isSamplesType(type)) decodeSamples(rec, out);
              else if (isHistogramsType(type)) decodeHistograms(rec, histograms);
              else if (type === RecordType.Exemplars) decodeExemplars(rec, exemplars);
            } catch (e) {
              throw recordError(e, { segment: seg, offset: before });
            }
            if (pending() >= MAX_CHUNK_SAMPLES) {
              yield handOut({ segment: seg, offset: r.offset });
              if (state !== null) state.held = null;
              if (signal.aborted || this.#closed) return;
              if (skipTo() !== null) {
                moved = true;
                break;
              }
            }
          }
          if (!moved && atEnd && completed) r.finish();
        } catch (e) {
          if (!(e instanceof CorruptionError)) throw e;
          damaged = e;
        }
        if (moved) continue;
        if (pending() > 0 && (atEnd || damaged)) {
          yield handOut({ segment: seg, offset: r.offset });
          if (state !== null) state.held = null;
          if (skipTo() !== null) continue;
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
      if (state !== null) this.#tails.delete(state);
    }
  }

  /**
   * Applies retention and the disk caps, garbage-collects series, and deletes
   * every segment that all live cursors have passed (with no cursors: every
   * segment but the head), after writing a checkpoint of the live series.
   * Returns how many segments were deleted. Runs by itself after each
   * completed segment and every `truncateIntervalMs`.
   */
  truncate(): Promise<number> {
    return this.#schedule(-1);
  }

  /** Flushes pending commits, fsyncs, persists the cursors and closes the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#truncateTimer !== undefined) clearInterval(this.#truncateTimer);
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    if (this.#firstTruncation !== undefined) clearTimeout(this.#firstTruncation);
    this.#truncateTimer = this.#syncTimer = this.#firstTruncation = undefined;
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
    const seq = ++this.#flushSeq;
    this.#series.pendingFlush = seq + 1;
    const now = this.#elapsed();
    const marks = this.#marks;
    if (now - marks[marks.length - 1].t >= MARK_EVERY_MS) {
      // Every flush before this one happened at or before the previous flush.
      marks.push({ seq, t: this.#lastFlushAt });
    }
    this.#lastFlushAt = now;
    const enc = this.#encoder;
    enc.reset();
    const fresh: Series[] = [];
    let samples = 0, histograms = 0, exemplars = 0;
    for (const c of batch) {
      const b = c.bufs;
      const { touched, cols } = b;
      const ts = cols.ts;
      let minT = Infinity, maxT = -Infinity;
      for (let i = 0; i < cols.length; i++) {
        const s = touched[i];
        // Once per series and flush (a new series may already carry this flush's number).
        if (s.lastFlush !== seq || !s.written) {
          if (s.deleted) this.#series.restore(s);
          if (!s.written) {
            s.written = true;
            fresh.push(s);
          }
          s.lastFlush = seq;
        }
        const t = ts[i];
        if (t < minT) minT = t;
        if (t > maxT) maxT = t;
      }
      b.minT = minT;
      b.maxT = maxT;
      for (let i = 0; i < b.otherCount; i++) this.#touch(b.others[i], seq, fresh);
      for (const u of b.meta) this.#touch(u.s, seq, fresh);
      samples += cols.length;
      histograms += b.ints.count + b.floats.count;
      exemplars += b.exemplars.count;
    }
    // Statistics of each record, in encoding order.
    const recSamples: number[] = [];
    const recMin: number[] = [];
    const recMax: number[] = [];
    const noted = (before: number, n: number, minT: number, maxT: number) => {
      for (let k = before; k < enc.count; k++) {
        recSamples.push(n);
        recMin.push(minT);
        recMax.push(maxT);
      }
    };
    for (let i = 0; i < fresh.length; i += SERIES_PER_RECORD) {
      enc.series(fresh.slice(i, i + SERIES_PER_RECORD));
    }
    const seriesRecords = enc.count;
    noted(0, 0, 0, 0);
    if (seriesRecords > 0) {
      this.#seriesRecordBytes += enc.ends()[seriesRecords - 1];
      this.#seriesRecorded += fresh.length;
    }
    const metaUndo = this.#applyMetadata(batch, fresh);
    const metaOut = metaUndo.listed;
    for (let i = 0; i < metaOut.length; i += SERIES_PER_RECORD) {
      enc.metadata(metaOut.slice(i, i + SERIES_PER_RECORD));
    }
    noted(seriesRecords, 0, 0, 0);
    if (enc.count > seriesRecords) {
      const from = seriesRecords > 0 ? enc.ends()[seriesRecords - 1] : 0;
      this.#metaRecordBytes += enc.ends()[enc.count - 1] - from;
      this.#metaRecorded += metaOut.length;
    }
    for (const c of batch) {
      const b = c.bufs;
      let before = enc.count;
      enc.samples(b.cols);
      noted(before, b.cols.length, b.minT, b.maxT);
      before = enc.count;
      enc.histograms(b.ints);
      noted(before, b.ints.count, b.ints.minT, b.ints.maxT);
      before = enc.count;
      enc.histograms(b.floats);
      noted(before, b.floats.count, b.floats.minT, b.floats.maxT);
      before = enc.count;
      enc.exemplars(b.exemplars);
      noted(before, 0, 0, 0);
    }
    const onRecord = (index: number, segment: number, end: number) => {
      this.#statsOf(segment).add(end, recSamples[index], recMin[index], recMax[index]);
    };
    this.#inFlush = true;
    try {
      await this.#wal.write(enc.buffer(), enc.ends(), onRecord);
      if (this.#sync === "commit") await this.#timedSync();
      else this.#scheduleSync(this.#sync.intervalMs);
    } catch (e) {
      // Rewritten by the next commit that appends to them.
      for (const s of fresh) s.written = false;
      metaUndo.undo();
      this.#metrics.writesFailed.inc();
      this.#metrics.samplesFailed.inc(samples + histograms);
      this.#writeFailures.fail(e, {}, { commits: batch.length, samples: samples + histograms });
      if (e instanceof WalWriteError && e.cause instanceof Deno.errors.NotFound) {
        // The directory is gone: start over in a new one before the next commit.
        await this.#recoverFiles(false).catch((err) =>
          this.#log.error("Cannot recreate the WAL", { error: String(err) })
        );
      }
      this.#advance();
      for (const c of batch) c.reject(e);
      return;
    } finally {
      this.#inFlush = false;
    }
    this.#writeFailures.ok();
    this.#metrics.samplesAppended.inc(samples);
    if (histograms > 0) this.#metrics.histogramsAppended.inc(histograms);
    if (exemplars > 0) this.#metrics.exemplarsAppended.inc(exemplars);
    this.#lastCommitSize = Math.max(
      64,
      Math.min(1 << 16, batch[batch.length - 1].bufs.cols.length),
    );
    this.#advance();
    for (const c of batch) c.resolve();
  }

  /** Marks a series as written by flush `seq` (see the float loop in `#flushQueue`). */
  #touch(s: Series, seq: number, fresh: Series[]): void {
    if (s.lastFlush === seq && s.written) return;
    if (s.deleted) this.#series.restore(s);
    if (!s.written) {
      s.written = true;
      fresh.push(s);
    }
    s.lastFlush = seq;
  }

  /**
   * Applies the metadata changes of `batch` to the series and lists the
   * series whose metadata record this flush writes: those that changed and
   * fresh series that already have metadata (brought back after garbage
   * collection, their old record may be gone). `undo()` restores the old
   * values when the write fails.
   */
  #applyMetadata(
    batch: readonly PendingCommit[],
    fresh: readonly Series[],
  ): { listed: readonly Series[]; undo: () => void } {
    let any = false;
    for (let i = 0; i < batch.length && !any; i++) any = batch[i].bufs.meta.length > 0;
    for (let i = 0; i < fresh.length && !any; i++) any = fresh[i].meta !== undefined;
    if (!any) return NO_METADATA;
    const listed: Series[] = [];
    for (const s of fresh) if (s.meta !== undefined) listed.push(s);
    const changed: Series[] = [];
    const old: (MetricMetadata | undefined)[] = [];
    let seen: Set<Series> | undefined;
    for (const c of batch) {
      for (const { s, m } of c.bufs.meta) {
        if (s.meta !== undefined && sameMetadata(s.meta, m)) continue;
        changed.push(s);
        old.push(s.meta);
        s.meta = this.#series.internMeta(m);
        seen ??= new Set(listed);
        if (!seen.has(s)) {
          seen.add(s);
          listed.push(s);
        }
      }
    }
    const undo = () => {
      for (let i = changed.length - 1; i >= 0; i--) changed[i].meta = old[i];
    };
    return { listed, undo };
  }

  /** Publishes the writer's position to readers. */
  #advance(): void {
    const p = this.#wal.position;
    if (comparePositions(p, this.#committed) !== 0) {
      this.#committed = p;
      this.#notify();
    }
  }

  /** fsync of the head (caller holds the lock); then, at most once a second, checks that its file still exists. */
  async #timedSync(): Promise<void> {
    if (!this.#wal.dirty) return;
    const t0 = performance.now();
    await this.#wal.sync();
    this.#metrics.fsyncDuration.observe((performance.now() - t0) / 1000);
    this.#lastSync = this.#elapsed();
    if (this.#lastSync - this.#lastHeadCheck >= HEAD_CHECK_MS) {
      this.#lastHeadCheck = this.#lastSync;
      await this.#recoverFiles(true).catch((e) =>
        this.#log.error("Cannot recreate the WAL", { error: String(e) })
      );
    }
  }

  /** Interval policy: sync now if the interval has passed, else once it has. */
  #scheduleSync(intervalMs: number): void {
    if (this.#syncTimer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastSync + intervalMs - this.#elapsed());
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#withLock(() => this.#timedSync()).catch((e) => {
        this.#metrics.writesFailed.inc();
        this.#writeFailures.fail(e);
      });
    }, wait);
  }

  /**
   * Checks that the WAL's files are still there (caller holds the lock).
   * `headOnly`: look at the rest only when the head segment is gone. Files
   * removed by something else are logged and counted once; the WAL forgets
   * them. A lost checkpoint with every segment still there is written again
   * from memory. Lost segments: the WAL continues in a new head segment
   * (recreating its directory if needed), and the series records of every
   * known series are written into it again, so the WAL on disk stays
   * self-contained for a restart.
   */
  async #recoverFiles(headOnly: boolean): Promise<void> {
    const wal = this.#wal;
    if (this.#closed || (headOnly && !(await wal.headMissing()))) return;
    const missing = await wal.missingFiles();
    if (missing.segments.length === 0 && !missing.checkpoint) return;
    const keys = missing.segments.map((s) => `s${s}`);
    if (missing.checkpoint) keys.push(`c${wal.checkpoint}`);
    const fresh = keys.filter((k) => !this.#reportedMissing.has(k));
    for (const k of fresh) this.#reportedMissing.add(k);
    if (fresh.length > 0) {
      this.#metrics.filesMissing.inc(fresh.length);
      // What each endpoint had not read yet (at most: a reader with the file open still reads it).
      const unread: Record<string, number> = {};
      for (const name of this.#cursors.names()) {
        const p = this.#effectivePosition(name);
        let n = 0;
        for (const s of missing.segments) {
          const st = this.#stats.get(s);
          if (st === undefined || s < p.segment) continue;
          n += st.samples - (s === p.segment ? st.floor(p.offset).samples : 0);
        }
        unread[name] = n;
      }
      this.#log.error(
        missing.segments.includes(wal.head)
          ? "WAL files were removed while ferry was running (the directory or the head segment); the WAL continues in a new segment, undelivered samples in the removed files are lost"
          : missing.segments.length > 0
          ? "WAL segment files were removed while ferry was running; undelivered samples in them are lost"
          : "The WAL checkpoint was removed while ferry was running; writing it again",
        {
          dir: wal.dir,
          segments: missing.segments.map(segmentName).join(","),
          checkpoint: missing.checkpoint,
          unread_samples_at_most: JSON.stringify(unread),
        },
      );
    }
    if (missing.segments.length === 0) {
      await wal.rewriteCheckpoint(this.#checkpointBatches());
      this.#reportedMissing.delete(`c${wal.checkpoint}`);
      return;
    }
    const head = wal.head;
    await wal.forgetMissing(missing);
    for (const s of missing.segments) this.#stats.delete(s);
    this.#advance();
    try {
      for (const b of this.#checkpointBatches()) {
        await wal.write(b.buf, b.ends, (_i, seg, end) => this.#statsOf(seg).add(end, 0, 0, 0));
      }
    } catch (e) {
      // Each series' record is then written with its next sample instead.
      for (const x of this.#series.all()) x.written = false;
      this.#log.error("Cannot write the series records into the new WAL segment", {
        error: String(e),
      });
    }
    this.#advance();
    if (missing.segments.includes(head)) {
      this.#log.info("The WAL continues in a new segment", {
        dir: wal.dir,
        segment: segmentName(wal.head),
        series: this.#series.count,
      });
    }
  }

  #statsOf(segment: number): SegmentStats {
    let st = this.#stats.get(segment);
    if (st === undefined) {
      st = new SegmentStats();
      this.#stats.set(segment, st);
    }
    return st;
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

  /** A reader found listed segment `seg` missing: recover, and wait a little if it is still listed. */
  async #missingWhileReading(seg: number, signal: AbortSignal): Promise<void> {
    await this.#withLock(() => this.#recoverFiles(false)).catch((e) =>
      this.#log.error("Cannot recreate the WAL", { error: String(e) })
    );
    if (this.#wal.segments.includes(seg)) await this.#waitForCommit(signal);
  }

  async #waitForRotation(seg: number, signal: AbortSignal): Promise<void> {
    while (this.#committed.segment <= seg && !signal.aborted && !this.#closed) {
      await this.#waitForCommit(signal);
    }
  }

  // ---- truncation ----

  #onRotate(completed: number, next: number): void {
    this.#log.debug("WAL segment completed", { segment: segmentName(completed) });
    this.#pushFlushMark({ segment: next, offset: 0 });
    this.#headCreated = this.#elapsed();
    this.#truncateInBackground();
  }

  /** With disk caps: make room before a new segment is created (runs under the commit lock). */
  async #beforeRotate(completing: number): Promise<void> {
    if ((this.#maxDiskBytes <= 0 && this.#limits.size === 0) || this.#closed) return;
    try {
      await this.#schedule(completing);
    } catch {
      // Logged by the truncation; the write goes on.
    }
  }

  #onTimer(): void {
    if (this.#closed) return;
    void this.#withLock(() => this.#recoverFiles(false)).catch((e) =>
      this.#log.error("Cannot recreate the WAL", { error: String(e) })
    ).then(() => this.#rotateOldHead()).catch((e) =>
      this.#log.error("Cannot complete the head segment", { error: String(e) })
    ).finally(() => this.#truncateInBackground());
  }

  /** Completes a non-empty head segment older than `headMaxAgeMs`. */
  async #rotateOldHead(): Promise<void> {
    if (this.#headMaxAgeMs <= 0) return;
    if (this.#elapsed() - this.#headCreated < this.#headMaxAgeMs) return;
    await this.#withLock(async () => {
      if (this.#closed || this.#wal.position.offset === 0) return;
      await this.#wal.rotate();
      this.#advance();
    });
  }

  #truncateInBackground(): void {
    if (this.#closed || this.#truncating) return;
    this.truncate().catch(() => {});
  }

  /** Runs truncations one at a time; a caller asking during a run gets a fresh run after it. */
  #schedule(rotating: number): Promise<number> {
    if (this.#truncating) {
      const again = () => this.#schedule(rotating);
      return this.#truncating.then(again, again);
    }
    const run = this.#doTruncate(rotating).finally(() => {
      if (this.#truncating === run) this.#truncating = null;
    });
    this.#truncating = run;
    return run;
  }

  /**
   * One truncation. `rotating` is the head segment being completed when
   * called before a rotation (it then counts as completed but cannot be
   * dropped or deleted yet), else -1.
   */
  async #doTruncate(rotating: number): Promise<number> {
    if (this.#closed) return 0;
    let deleted = 0;
    // A new checkpoint may be larger than the one the cap was computed with: then go again.
    for (let pass = 0; pass < 3; pass++) {
      deleted += await this.#truncatePass(rotating);
      if (this.#closed || this.#maxDiskBytes <= 0) break;
      if (this.#projectedBytes(rotating, this.#minCursorSegment()) <= this.#maxDiskBytes) break;
    }
    return deleted;
  }

  /** The larger of the current checkpoint and one holding every live series and its metadata. */
  #checkpointEstimate(): number {
    const recorded = Math.max(1, this.#seriesRecorded);
    const perSeries = this.#seriesRecordBytes / recorded;
    // Metadata: the average entry, times the share of series that have one (at most all).
    const perMeta = this.#metaRecordBytes / Math.max(1, this.#metaRecorded) *
      Math.min(1, this.#metaRecorded / recorded);
    // Framing: a 7-byte header per 32 KiB page, two records per 1,000 series.
    const est = Math.ceil(this.#series.count * (perSeries + perMeta) * (1 + 7 / 32768)) +
      Math.ceil(this.#series.count / SERIES_PER_RECORD) * 16;
    // 2% headroom: a rewritten checkpoint repeats each metadata value once per group of series,
    // which the averages above do not see.
    return Math.ceil(Math.max(this.#wal.checkpointBytes, est) * 1.02);
  }

  /** Lowest segment of a live cursor (the head without cursors). */
  #minCursorSegment(): number {
    let m = this.#wal.head;
    for (const p of this.#cursors.positions()) if (p.segment < m) m = p.segment;
    return m;
  }

  /**
   * Disk use after a truncation with the lowest cursor at segment `from`:
   * the segments from `from` on, a full head segment (before a rotation:
   * the completing head at its size plus a full next one), the checkpoint
   * twice (while a checkpoint is rewritten, the old one and the new one's
   * temporary file both exist) and an allowance for the cursors file.
   */
  #projectedBytes(rotating: number, from: number): number {
    const wal = this.#wal;
    let n = 2 * this.#checkpointEstimate() + wal.segmentSize + CURSORS_ALLOWANCE;
    for (const s of wal.segments) {
      if (s >= from && (s !== wal.head || rotating >= 0)) n += wal.segmentBytes(s);
    }
    return n;
  }

  /** Limits, garbage collection, deletion of segments every cursor passed. */
  async #truncatePass(rotating: number): Promise<number> {
    const wal = this.#wal;
    const t0 = performance.now();
    try {
      await this.#enforceLimits(rotating);
    } catch (e) {
      this.#log.error("Cannot apply WAL retention and disk caps", { error: String(e) });
    }
    let bound = wal.head;
    for (const p of this.#cursors.positions()) if (p.segment < bound) bound = p.segment;
    // Series may leave memory once every cursor and every reader holding records passed them.
    let gcPos: WalPosition = wal.position;
    for (const p of this.#cursors.positions()) if (comparePositions(p, gcPos) < 0) gcPos = p;
    for (const t of this.#tails) {
      if (t.held !== null && comparePositions(t.held, gcPos) < 0) gcPos = t.held;
    }
    this.#collectGarbage(gcPos);
    const doomed = wal.segments.filter((s) => s < bound);
    if (doomed.length === 0) {
      const pending = this.#deletedPending;
      if (pending > 0 && wal.checkpoint >= 0 && pending >= (this.#series.count >> 4)) {
        try {
          await wal.rewriteCheckpoint(this.#checkpointBatches());
          this.#deletedPending = 0;
          this.#metrics.deletedSeries.set(0);
          this.#metrics.checkpointCreations.inc();
        } catch (e) {
          this.#metrics.checkpointCreationsFailed.inc();
          this.#log.error("Cannot rewrite the WAL checkpoint", { error: String(e) });
        }
      }
      return 0;
    }
    const upTo = doomed[doomed.length - 1];
    this.#metrics.checkpointCreations.inc();
    try {
      const deleted = await wal.truncate(upTo, this.#checkpointBatches());
      for (const s of deleted) this.#stats.delete(s);
      this.#deletedPending = 0;
      this.#metrics.deletedSeries.set(0);
      this.#metrics.truncations.inc();
      this.#metrics.truncateDuration.observe((performance.now() - t0) / 1000);
      this.#log.info("WAL truncated", {
        deleted: deleted.length,
        first: segmentName(deleted[0]),
        last: segmentName(upTo),
        series: this.#series.count,
        bytes: wal.totalBytes,
      });
      return deleted.length;
    } catch (e) {
      this.#metrics.checkpointCreationsFailed.inc();
      this.#metrics.truncationsFailed.inc();
      this.#log.error("Cannot truncate the WAL", { upTo: segmentName(upTo), error: String(e) });
      throw e;
    }
  }

  /**
   * Retention, per-cursor caps and the disk cap: moves cursors past the
   * oldest completed segments as needed, then counts, logs and reports what
   * each moved cursor lost.
   */
  async #enforceLimits(rotating: number): Promise<void> {
    const wal = this.#wal;
    const names = this.#cursors.names();
    if (names.length === 0) return;
    const head = wal.head;
    const segs = [...wal.segments];
    // Segments that may be dropped: completed ones, never the head (or the one being completed).
    if (segs.length < 2 || segs[0] >= head) return;
    const size = (s: number) => wal.segmentBytes(s);
    const next = (s: number) => segs.find((x) => x > s)!;
    /** The head segment as it will be: a full segment (before a rotation: the next one). */
    const reserve = wal.segmentSize;
    const liveHead = rotating >= 0 ? -1 : head;
    /** Bytes from `p` to the end of the WAL, counting a full head. */
    const bytesFrom = (p: WalPosition) => {
      let n = reserve;
      for (const s of segs) {
        if (s < p.segment || s === liveHead) continue;
        n += size(s) - (s === p.segment ? Math.min(p.offset, size(s)) : 0);
      }
      return n;
    };
    const moves: { name: string; reason: DropReason; from: WalPosition; to: WalPosition }[] = [];
    const move = (name: string, to: WalPosition, reason: DropReason) => {
      const c = this.#cursors.peek(name)!;
      const from = this.#effectivePosition(name);
      const last = moves.findLast((m) => m.name === name && m.reason === reason);
      if (comparePositions(to, from) > 0) {
        if (last !== undefined && comparePositions(last.to, from) === 0) last.to = to;
        else moves.push({ name, reason, from, to });
      }
      c.ack(to);
    };
    const minSegment = () => {
      let m = Infinity;
      for (const n of names) m = Math.min(m, this.#cursors.peek(n)!.position.segment);
      return m;
    };

    // 1. Retention: completed segments whose newest sample is too old.
    if (this.#maxTimeMs > 0) {
      const cutoff = this.#now() - this.#maxTimeMs;
      const from = minSegment();
      for (const s of segs) {
        if (s >= head || s < from) continue;
        const st = this.#stats.get(s);
        if (st !== undefined && st.maxT >= cutoff) break;
        for (const n of names) {
          if (this.#cursors.peek(n)!.position.segment <= s) {
            move(n, { segment: next(s), offset: 0 }, "retention");
          }
        }
      }
    }
    // 2. Per-cursor caps.
    for (const [name, limit] of this.#limits) {
      const c = this.#cursors.peek(name);
      if (c === undefined) continue;
      while (c.position.segment < head && bytesFrom(c.position) > limit) {
        move(name, { segment: next(c.position.segment), offset: 0 }, "wal_disk_cap");
      }
    }
    // 3. The disk cap: what stays after this truncation must fit, with a full head.
    if (this.#maxDiskBytes > 0) {
      for (;;) {
        const m = minSegment();
        if (this.#projectedBytes(rotating, m) <= this.#maxDiskBytes) break;
        if (m >= head) {
          if (!this.#capWarned) {
            this.#capWarned = true;
            this.#log.warn(
              "The WAL disk cap is too small to hold the checkpoint twice (while it is rewritten) and two segments; it will be exceeded",
              {
                max_disk_bytes: this.#maxDiskBytes,
                needed_bytes: this.#projectedBytes(rotating, m),
                checkpoint_bytes: wal.checkpointBytes,
                segment_bytes: wal.segmentSize,
              },
            );
          }
          break;
        }
        for (const n of names) {
          if (this.#cursors.peek(n)!.position.segment === m) {
            move(n, { segment: next(m), offset: 0 }, "wal_disk_cap");
          }
        }
      }
    }
    if (moves.length === 0) return;

    for (const mv of moves) {
      const samples = await this.#samplesBetween(mv.from, mv.to);
      if (samples === 0) continue; // e.g. a segment of series records only: nothing lost
      this.#log.warn("Dropping undelivered WAL data", {
        endpoint: mv.name,
        reason: mv.reason,
        samples,
        from_segment: segmentName(mv.from.segment),
        from_offset: mv.from.offset,
        to_segment: segmentName(mv.to.segment),
      });
      this.#onDrop?.({ cursor: mv.name, reason: mv.reason, samples, from: mv.from, to: mv.to });
    }
  }

  /** The later of a cursor's position and the end of what its readers handed out. */
  #effectivePosition(name: string): WalPosition {
    let p = this.#cursors.peek(name)!.position;
    for (const t of this.#tails) {
      if (t.name === name && comparePositions(t.yielded, p) > 0) p = t.yielded;
    }
    return p;
  }

  /** Samples in the records between two positions (record boundaries), from the segment statistics. */
  async #samplesBetween(from: WalPosition, to: WalPosition): Promise<number> {
    let n = 0;
    for (const s of this.#wal.segments) {
      if (s < from.segment || s > to.segment) continue;
      const st = this.#stats.get(s);
      if (st === undefined) continue;
      const path = this.#wal.segmentPath(s);
      const start = s === from.segment && from.offset > 0
        ? await countSamplesBefore(path, st, from.offset)
        : 0;
      const end = s === to.segment
        ? (to.offset > 0 ? await countSamplesBefore(path, st, to.offset) : 0)
        : st.samples;
      if (end > start) n += end - start;
    }
    return n;
  }

  /**
   * Removes the series whose last record was written before every cursor's
   * and held chunk's segment (`gcBound`) and more than `minTimeMs` ago.
   */
  #collectGarbage(gcPos: WalPosition): void {
    const threshold = Math.min(
      this.#flushMarkAtOrBefore(gcPos),
      this.#seqBefore(this.#elapsed() - this.#minTimeMs),
    );
    // Marks below the latest one every reader passed are never needed again.
    let k = 0;
    while (
      k + 1 < this.#flushMarkPos.length && comparePositions(this.#flushMarkPos[k + 1], gcPos) <= 0
    ) k++;
    if (k > 0) {
      this.#flushMarkPos = this.#flushMarkPos.slice(k);
      this.#flushMarkSeq = this.#flushMarkSeq.slice(k);
    }
    // Where the WAL ends now: usable once every reader passed it (a later tick).
    this.#pushFlushMark(this.#wal.position);
    if (threshold === -Infinity) return;
    let removed = 0, withRecords = 0;
    for (const s of this.#series.all()) {
      if (s.lastFlush < threshold) {
        this.#series.remove(s);
        removed++;
        if (s.written) withRecords++;
      }
    }
    if (removed === 0) return;
    this.#deletedPending += withRecords;
    this.#metrics.deletedSeries.set(this.#deletedPending);
    this.#metrics.seriesCollected.inc(removed);
    this.#log.info("Garbage-collected inactive series", {
      series: removed,
      active: this.#series.count,
    });
  }

  /** The flush sequence of the latest mark at or before `pos`, or -Infinity. */
  #flushMarkAtOrBefore(pos: WalPosition): number {
    const marks = this.#flushMarkPos;
    for (let i = marks.length - 1; i >= 0; i--) {
      if (comparePositions(marks[i], pos) <= 0) return this.#flushMarkSeq[i];
    }
    return -Infinity;
  }

  /**
   * Records that every flush below the next one (the current one, during a
   * flush) wrote only before `pos`; kept ascending in both.
   */
  #pushFlushMark(pos: WalPosition): void {
    const seq = this.#inFlush ? this.#flushSeq : this.#flushSeq + 1;
    const n = this.#flushMarkPos.length;
    if (n > 0) {
      if (comparePositions(pos, this.#flushMarkPos[n - 1]) <= 0) return;
      // Nothing flushed since the last mark: it already says all there is.
      if (seq <= this.#flushMarkSeq[n - 1]) return;
    }
    this.#flushMarkPos.push({ ...pos });
    this.#flushMarkSeq.push(seq);
  }

  /** A flush sequence below which every flush happened at or before `t`, or -Infinity. */
  #seqBefore(t: number): number {
    if (this.#lastFlushAt <= t) return this.#flushSeq + 1;
    const marks = this.#marks;
    let i = -1;
    while (i + 1 < marks.length && marks[i + 1].t <= t) i++;
    if (i < 0) return -Infinity;
    const seq = marks[i].seq;
    if (i > 0) this.#marks = marks.slice(i);
    return seq;
  }

  /**
   * Series records for every live series in the WAL, each followed by a
   * metadata record for those of its series that have metadata, in batches
   * (one encoder, reused).
   */
  *#checkpointBatches(): Generator<RecordBatch> {
    const enc = new RecordEncoder();
    const group: Series[] = [];
    for (const s of this.#series.all()) {
      if (!s.written) continue;
      group.push(s);
      if (group.length === SERIES_PER_RECORD) {
        enc.series(group);
        enc.metadata(group);
        group.length = 0;
        if (enc.buffer().length >= READ_CHUNK) {
          yield { buf: enc.buffer(), ends: enc.ends() };
          enc.reset();
        }
      }
    }
    enc.series(group);
    enc.metadata(group);
    if (enc.count > 0) yield { buf: enc.buffer(), ends: enc.ends() };
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new Error(`Cannot ${what}: the agent db is closed`);
  }
}

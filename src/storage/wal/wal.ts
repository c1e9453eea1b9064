/**
 * The write-ahead log: a directory of segment files plus at most one
 * checkpoint. See `Wal` for the format and its invariants.
 *
 * @module
 */

import { log } from "../../util/log.ts";
import type { WalPosition } from "../types.ts";
import { checkpointPath, type RecordBatch, writeCheckpoint } from "./checkpoint.ts";
import { CorruptionError } from "./errors.ts";
import { scanFile } from "./reader.ts";
import { assessFileLoss, type LossReport } from "./repair.ts";
import {
  checkpointName,
  DEFAULT_SEGMENT_SIZE,
  listWalDir,
  MIN_SEGMENT_SIZE,
  segmentName,
  segmentPath,
} from "./segment.ts";
import { type OpenSegment, type RecordWritten, SegmentWriter, syncDir } from "./writer.ts";

/** Where a replayed record came from. */
export interface ReplayPosition {
  /** Segment number, or -1 for the checkpoint. */
  segment: number;
  /** Offset just after the record. */
  offset: number;
}

/** Options of `Wal.open`. */
export interface WalOptions {
  /** Maximum segment size in bytes. @default {128 MiB} */
  segmentSize?: number;
  /**
   * Called with every record found on open, in WAL order: the checkpoint's
   * first, then each segment's. Throw a `CorruptionError` for a record that
   * does not decode; the segment is then repaired at that record.
   */
  replay?: (rec: Uint8Array, where: ReplayPosition) => void;
  /**
   * Called for each corruption found on open (after it was repaired), with
   * what the dropped bytes held.
   */
  onCorruption?: (err: CorruptionError, loss: LossReport) => void;
  /** Called after the head segment was completed and a new one started. */
  onRotate?: (completed: number, next: number) => void;
  /** Awaited before a new head segment is created (see `SegmentWriterOptions.beforeRotate`). */
  beforeRotate?: (completing: number) => Promise<void>;
  /** Creates segment files (fault-injection seam for tests; see `SegmentWriterOptions.openSegment`). */
  openSegment?: OpenSegment;
}

/** WAL files that vanished underneath the WAL (see `Wal.missingFiles`). */
export interface MissingFiles {
  /** Listed segments whose file is gone, ascending (may include the head). */
  segments: number[];
  /** Whether the current checkpoint's file is gone. */
  checkpoint: boolean;
}

/** Which segments the last open replayed (as Prometheus' `/api/v1/status/walreplay`). */
export interface ReplayStatus {
  /** First segment replayed (-1: none). */
  min: number;
  /** Last segment replayed (-1: none). */
  max: number;
  /** The segment being replayed; equals `max` once the replay finished. */
  current: number;
}

/**
 * The write-ahead log in `<dir>` (the agent db passes `<data>/wal`).
 *
 * Format:
 * - Segment files named by an 8-digit, zero-padded, increasing number
 *   (`00000000`, `00000001`, …). Only the highest-numbered one, the head,
 *   is written to; every other segment is complete and never changes
 *   (except repair truncating a damaged tail on open).
 * - A segment is a sequence of 32 KiB pages. Records are split into
 *   fragments (type byte full=1/first=2/middle=3/last=4, uint16 BE length,
 *   CRC32C BE of the payload, payload) that never cross a page; the 1–7
 *   bytes that cannot hold a fragment at the end of a page are zeros.
 * - Record payloads start with a type byte (1 series, 3 samples with their
 *   count, 2 samples without, read only, 4 samples with start times,
 *   5/6 integer/float native histograms, 7 exemplars, 8 metadata; see
 *   `record.ts`); readers skip types they do not know.
 * - `checkpoint.<n>` holds series records, with the same framing, for
 *   every series known when segments ≤ n were deleted, each group followed
 *   by a metadata record for those of them that have metadata.
 *
 * Invariants:
 * 1. A record never crosses a segment: when it would not fit in the rest of
 *    the head segment, a new segment is started (a record larger than the
 *    segment size gets a segment of its own).
 * 2. Series records precede the first samples record that uses their refs,
 *    in WAL order (checkpoint first, then segments by number). The agent db
 *    writes a new series' record in the same commit, before its samples.
 * 3. Every open starts a new head segment after the highest existing one
 *    (and after the checkpoint's number); old segments are never appended to.
 * 4. On open, the first bad fragment or record in a segment (torn write,
 *    checksum mismatch, broken fragment sequence, undecodable record) makes
 *    the segment be truncated at the end of the last good record; the
 *    corruption is reported with what the dropped bytes held (records,
 *    samples, bytes; see `repair.ts`) and later segments are still read.
 *    Open never fails because of damaged content.
 * 5. A checkpoint is written and fsynced under a temporary name and renamed
 *    before any segment it replaces is deleted; segments ≤ n still present
 *    beside `checkpoint.<n>` (an interrupted truncation) are deleted on
 *    open, as are older checkpoints and leftover temporary files.
 * 6. `position` is always at the end of a whole record; bytes before it in
 *    the head segment are never rewritten.
 * 7. Only whole completed segments are ever deleted (never the head), and
 *    only by `truncate`, after the checkpoint that replaces them is durable.
 *    Which segments may go (every cursor past them, or dropped by retention
 *    or a disk cap) is the agent db's decision; see `AgentDb`. A segment is
 *    unlisted before its file is removed, so a listed segment whose file is
 *    missing was removed by something else (`missingFiles`).
 * 8. Files removed by something else (the directory deleted underneath the
 *    agent) are forgotten by `forgetMissing`; when the head was among them
 *    the directory is created again and writing continues in a new head
 *    segment, numbered on from the lost one.
 */
export class Wal {
  readonly dir: string;
  readonly segmentSize: number;
  readonly #writer: SegmentWriter;
  /** Existing segment numbers, ascending; the last one is the head. */
  readonly #segments: number[];
  /** Sizes of the completed segments (the head's is the writer's offset). */
  readonly #sizes: Map<number, number>;
  #checkpoint: number;
  #checkpointBytes: number;
  readonly replayStatus: ReplayStatus;

  private constructor(
    dir: string,
    segmentSize: number,
    writer: SegmentWriter,
    init: {
      segments: number[];
      sizes: Map<number, number>;
      checkpoint: number;
      checkpointBytes: number;
      replay: ReplayStatus;
    },
  ) {
    this.dir = dir;
    this.segmentSize = segmentSize;
    this.#writer = writer;
    this.#segments = init.segments;
    this.#sizes = init.sizes;
    this.#checkpoint = init.checkpoint;
    this.#checkpointBytes = init.checkpointBytes;
    this.replayStatus = init.replay;
  }

  /** Opens (creating if needed) the WAL in `dir`, replays and repairs it, and starts a new head segment. */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!Number.isSafeInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE) {
      throw new RangeError(
        `Cannot open WAL as 'segmentSize' must be an integer ≥ ${MIN_SEGMENT_SIZE}: current value is ${segmentSize}`,
      );
    }
    const logger = log("wal");
    await Deno.mkdir(dir, { recursive: true });
    const listing = await listWalDir(dir);
    for (const t of listing.temporary) await Deno.remove(`${dir}/${t}`).catch(() => {});
    const cp = listing.checkpoints.length > 0
      ? listing.checkpoints[listing.checkpoints.length - 1]
      : -1;
    for (const c of listing.checkpoints) {
      if (c < cp) await Deno.remove(checkpointPath(dir, c)).catch(() => {});
    }
    const segments: number[] = [];
    for (const s of listing.segments) {
      if (s <= cp) {
        logger.info("Removing segment replaced by checkpoint", {
          segment: segmentName(s),
          checkpoint: cp,
        });
        await Deno.remove(segmentPath(dir, s)).catch(() => {});
      } else segments.push(s);
    }

    const replay = opts.replay ?? (() => {});
    const corrupt = (e: CorruptionError, loss: LossReport) => opts.onCorruption?.(e, loss);
    let checkpointBytes = 0;
    if (cp >= 0) {
      const path = checkpointPath(dir, cp);
      const res = await scanFile(path, {
        onRecord: (rec, offset) => replay(rec, { segment: -1, offset }),
      });
      checkpointBytes = res.error ? res.error.offset : res.size;
      if (res.error) {
        const loss = await assessFileLoss(path, res.error.offset);
        logger.error(
          "Checkpoint is damaged; series after the damage are unknown (truncated there)",
          {
            file: checkpointName(cp),
            offset: res.error.offset,
            error: res.error.message,
            lost_series_records: loss.seriesRecords,
            lost_bytes: loss.bytes,
            exact: loss.exact,
          },
        );
        // Repaired like a segment, so the next start does not report the same damage again.
        await Deno.truncate(path, res.error.offset);
        corrupt(res.error, loss);
      }
    }
    const sizes = new Map<number, number>();
    const replayStatus: ReplayStatus = {
      min: segments.length > 0 ? segments[0] : -1,
      max: segments.length > 0 ? segments[segments.length - 1] : -1,
      current: -1,
    };
    let prev = -1;
    for (const s of segments) {
      if (prev >= 0 && s !== prev + 1) {
        logger.warn("WAL segments are not contiguous", {
          after: segmentName(prev),
          next: segmentName(s),
        });
      }
      prev = s;
      replayStatus.current = s;
      const path = segmentPath(dir, s);
      const res = await scanFile(path, {
        segment: s,
        onRecord: (rec, offset) => replay(rec, { segment: s, offset }),
      });
      sizes.set(s, res.error ? res.error.offset : res.size);
      if (res.error) {
        const loss = await assessFileLoss(path, res.error.offset);
        logger.warn("Repairing damaged WAL segment: truncating after the last good record", {
          segment: segmentName(s),
          offset: res.error.offset,
          lost_bytes: loss.bytes,
          lost_records: loss.records,
          lost_samples: loss.samples,
          lost_series_records: loss.seriesRecords,
          damaged_records: loss.damagedRecords,
          exact: loss.exact,
          error: res.error.message,
        });
        await Deno.truncate(path, res.error.offset);
        corrupt(res.error, loss);
      }
    }

    const head = Math.max(prev, cp) + 1;
    const writer = await SegmentWriter.create(dir, head, {
      segmentSize,
      openSegment: opts.openSegment,
      onRotate: (completed, next) => {
        wal.#segments.push(next);
        opts.onRotate?.(completed, next);
      },
      beforeRotate: async (completing) => {
        wal.#sizes.set(completing, wal.#writer.position.offset);
        if (opts.beforeRotate) await opts.beforeRotate(completing);
      },
    });
    segments.push(head);
    const wal: Wal = new Wal(dir, segmentSize, writer, {
      segments,
      sizes,
      checkpoint: cp,
      checkpointBytes,
      replay: replayStatus,
    });
    return wal;
  }

  /** End of the last whole record written. */
  get position(): WalPosition {
    return this.#writer.position;
  }

  /** The head segment's number. */
  get head(): number {
    return this.#writer.segment;
  }

  /** Existing segment numbers, ascending (the last is the head). */
  get segments(): readonly number[] {
    return this.#segments;
  }

  /** The current checkpoint's number, or -1. */
  get checkpoint(): number {
    return this.#checkpoint;
  }

  /** The current checkpoint's size in bytes (0 without one). */
  get checkpointBytes(): number {
    return this.#checkpointBytes;
  }

  /** Size of segment `n` in bytes (the head's grows; 0 for an unknown segment). */
  segmentBytes(n: number): number {
    if (n === this.#writer.segment) return this.#writer.position.offset;
    return this.#sizes.get(n) ?? 0;
  }

  /** Bytes of every segment and the checkpoint. */
  get totalBytes(): number {
    let n = this.#checkpointBytes;
    for (const s of this.#segments) n += this.segmentBytes(s);
    return n;
  }

  /** Whether data was written since the last sync. */
  get dirty(): boolean {
    return this.#writer.dirty;
  }

  /** Path of segment `n`. */
  segmentPath(n: number): string {
    return segmentPath(this.dir, n);
  }

  /** Appends records (see `SegmentWriter.write`). Callers serialize writes. */
  write(buf: Uint8Array, ends: readonly number[], onRecord?: RecordWritten): Promise<void> {
    return this.#writer.write(buf, ends, onRecord);
  }

  /** Completes the head segment and starts a new one (nothing when the head is empty). Callers serialize this with writes. */
  rotate(): Promise<void> {
    return this.#writer.rotate();
  }

  /** fdatasync of the head segment if it has unsynced data. */
  sync(): Promise<void> {
    return this.#writer.sync();
  }

  /**
   * Deletes every segment ≤ `upTo` (which must be below the head) after
   * writing `checkpoint.<upTo>` from `series`, then deletes older
   * checkpoints. Returns the deleted segment numbers.
   */
  async truncate(upTo: number, series: Iterable<RecordBatch>): Promise<number[]> {
    if (upTo >= this.head) {
      throw new RangeError(`Cannot truncate WAL up to segment ${upTo}: the head is ${this.head}`);
    }
    const doomed = this.#segments.filter((s) => s <= upTo);
    if (doomed.length === 0) return [];
    this.#checkpointBytes = await writeCheckpoint(this.dir, upTo, series);
    const old = this.#checkpoint;
    this.#checkpoint = upTo;
    for (const s of doomed) {
      // Unlisted first: a listed segment without a file was removed by something else.
      this.#segments.splice(this.#segments.indexOf(s), 1);
      this.#sizes.delete(s);
      await Deno.remove(segmentPath(this.dir, s)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    if (old >= 0 && old !== upTo) {
      await Deno.remove(checkpointPath(this.dir, old)).catch(() => {});
    }
    await syncDir(this.dir);
    return doomed;
  }

  /**
   * Writes the current checkpoint again from `series` (e.g. without series
   * that were garbage-collected since), atomically replacing it. Does
   * nothing without a checkpoint.
   */
  async rewriteCheckpoint(series: Iterable<RecordBatch>): Promise<void> {
    if (this.#checkpoint < 0) return;
    this.#checkpointBytes = await writeCheckpoint(this.dir, this.#checkpoint, series);
  }

  /** Whether the head segment's file is gone (removed underneath the WAL, perhaps with its directory). */
  async headMissing(): Promise<boolean> {
    return !(await exists(segmentPath(this.dir, this.head)));
  }

  /**
   * The listed segments (the head included) and the checkpoint whose files
   * are gone. Other errors than "not found" (e.g. no permission) do not
   * count as missing.
   */
  async missingFiles(): Promise<MissingFiles> {
    const segments: number[] = [];
    for (const s of [...this.#segments]) {
      if (!(await exists(segmentPath(this.dir, s))) && this.#segments.includes(s)) segments.push(s);
    }
    const cp = this.#checkpoint;
    const checkpoint = cp >= 0 && !(await exists(checkpointPath(this.dir, cp))) &&
      this.#checkpoint === cp;
    return { segments, checkpoint };
  }

  /**
   * Forgets the missing files `m` (from `missingFiles`). When the head is
   * among them, creates the directory again if needed and starts a new head
   * segment (the lost one is not synced: its data is gone with it). A
   * missing checkpoint is forgotten too; a caller that still has every
   * segment should `rewriteCheckpoint` instead. Throws when the new head
   * cannot be created (the next write tries again).
   */
  async forgetMissing(m: MissingFiles): Promise<void> {
    const head = this.head;
    for (const s of m.segments) {
      if (s === head) continue;
      const i = this.#segments.indexOf(s);
      if (i >= 0) this.#segments.splice(i, 1);
      this.#sizes.delete(s);
    }
    if (m.checkpoint) {
      this.#checkpoint = -1;
      this.#checkpointBytes = 0;
    }
    if (!m.segments.includes(head)) return;
    await Deno.mkdir(this.dir, { recursive: true });
    await this.#writer.abandon();
    const i = this.#segments.indexOf(head);
    if (i >= 0) this.#segments.splice(i, 1);
    this.#sizes.delete(head);
  }

  /** Syncs and closes the head segment. */
  close(): Promise<void> {
    return this.#writer.close();
  }
}

/** Whether `path` exists; only "not found" counts as absent. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    return true;
  }
}

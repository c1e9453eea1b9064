/**
 * Appends framed records to the head segment and rolls to a new segment when
 * a record would not fit.
 *
 * @module
 */

import type { WalPosition } from "../types.ts";
import { framedSize, frameRecord, segmentPath } from "./segment.ts";

/** A failed write to a segment file, with where it happened. */
export class WalWriteError extends Error {
  override readonly name = "WalWriteError";
  readonly segment: number;
  readonly offset: number;
  constructor(message: string, opts: { segment: number; offset: number; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.segment = opts.segment;
    this.offset = opts.offset;
  }
}

/**
 * What the writer needs of an open segment file (`Deno.FsFile` has it all).
 * A narrow seam so tests can inject faults (disk full, read-only) into writes.
 */
export type SegmentFile = Pick<
  Deno.FsFile,
  "write" | "truncate" | "seek" | "syncData" | "close"
>;

/** Creates segment file `path` (which must not exist) for writing. */
export type OpenSegment = (path: string) => Promise<SegmentFile>;

/** Options of `SegmentWriter.create`. */
export interface SegmentWriterOptions {
  /** Rotate before a record would make the segment larger than this. */
  segmentSize: number;
  /** Called after a segment was completed (synced, closed) and the next one created. */
  onRotate?: (completed: number, next: number) => void;
  /**
   * Awaited after the head segment was synced and closed and before the next
   * one is created (the agent db enforces its disk cap here, so the new
   * segment never takes the WAL past it). An error is logged by the caller's
   * hook, never thrown from here.
   */
  beforeRotate?: (completing: number) => Promise<void>;
  /**
   * Creates a segment file (fault-injection seam for tests).
   * @default {Deno.open(path, { write: true, createNew: true })}
   */
  openSegment?: OpenSegment;
}

/** Called for each record written by `SegmentWriter.write`: its index in `ends`, segment and end offset. */
export type RecordWritten = (index: number, segment: number, end: number) => void;

/**
 * Writes records into segment files. Not safe for concurrent use: the owner
 * serializes calls. Invariants it keeps:
 *
 * - A record never crosses a segment: when the framed record would end past
 *   `segmentSize`, the segment is synced and closed and a new one started
 *   (a record larger than a whole segment gets an otherwise empty segment).
 * - `position` is always at the end of a whole record; after a failed write
 *   the file is truncated back to it (or, if that fails too, the next write
 *   starts a new segment).
 * - After a failed fsync the head is not trusted (the kernel may have
 *   dropped the dirty pages and will not report it again): the next write
 *   starts a new segment.
 * - Completed segments are fsynced before the next one is created.
 * - A failed write or rotation leaves the writer usable: each later write
 *   tries again, so writing resumes by itself once the cause is gone (disk
 *   space freed, directory writable again).
 */
export class SegmentWriter {
  readonly #walDir: string;
  readonly #segmentSize: number;
  readonly #onRotate?: (completed: number, next: number) => void;
  readonly #beforeRotate?: (completing: number) => Promise<void>;
  readonly #open: OpenSegment;
  /** Records framed but not yet written out: index, segment, end (flat triples). */
  readonly #framed: number[] = [];
  /** Null between a completed segment and a successfully created next one. */
  #file: SegmentFile | null;
  #segment: number;
  #offset = 0;
  #frames = new Uint8Array(64 * 1024);
  #dirty = false;
  #broken = false;
  #closed = false;

  private constructor(
    walDir: string,
    segment: number,
    file: SegmentFile,
    opts: SegmentWriterOptions,
  ) {
    this.#walDir = walDir;
    this.#segment = segment;
    this.#file = file;
    this.#segmentSize = opts.segmentSize;
    this.#onRotate = opts.onRotate;
    this.#beforeRotate = opts.beforeRotate;
    this.#open = opts.openSegment ?? createSegment;
  }

  /** Creates segment `segment` (which must not exist) and writes into it. */
  static async create(
    walDir: string,
    segment: number,
    opts: SegmentWriterOptions,
  ): Promise<SegmentWriter> {
    let file: SegmentFile;
    try {
      file = await (opts.openSegment ?? createSegment)(segmentPath(walDir, segment));
    } catch (e) {
      throw new WalWriteError(`Cannot start WAL segment ${segment}: ${errMessage(e)}`, {
        segment,
        offset: 0,
        cause: e,
      });
    }
    await syncDir(walDir);
    return new SegmentWriter(walDir, segment, file, opts);
  }

  /** End of the last whole record written. */
  get position(): WalPosition {
    return { segment: this.#segment, offset: this.#offset };
  }

  /** The head segment's number. */
  get segment(): number {
    return this.#segment;
  }

  /** Whether data was written since the last `sync()`. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /**
   * Frames and writes the records `buf[0, ends[0])`, `buf[ends[0], ends[1])`…,
   * in one file write per segment touched. `onRecord` is called for every
   * record once the bytes holding it were written (so after a failure, only
   * for the records that did reach the file).
   */
  async write(buf: Uint8Array, ends: readonly number[], onRecord?: RecordWritten): Promise<void> {
    if (this.#closed) throw new WalWriteError("Cannot write: WAL is closed", this.position);
    if (this.#file === null || this.#broken) await this.#rotate();
    const framed = this.#framed;
    framed.length = 0;
    let fl = 0;
    let pos = this.#offset;
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const payload = buf.subarray(start, ends[i]);
      start = ends[i];
      if (payload.length === 0) continue;
      let size = framedSize(pos, payload.length);
      if (pos + size > this.#segmentSize && pos > 0) {
        if (fl > 0) await this.#writeOut(fl, onRecord);
        fl = 0;
        await this.#rotate();
        pos = 0;
        size = framedSize(0, payload.length);
      }
      this.#ensureFrames(fl + size, fl);
      frameRecord(payload, { out: this.#frames, at: fl, pos });
      fl += size;
      pos += size;
      if (onRecord) framed.push(i, this.#segment, pos);
    }
    if (fl > 0) await this.#writeOut(fl, onRecord);
  }

  /** Completes the head segment and starts the next one, unless the head is empty. */
  async rotate(): Promise<void> {
    if (this.#closed) throw new WalWriteError("Cannot rotate: WAL is closed", this.position);
    if (this.#file !== null && !this.#broken && this.#offset === 0) return;
    await this.#rotate();
  }

  /**
   * Gives the head segment up without syncing it (its file was removed) and
   * starts the next one.
   */
  async abandon(): Promise<void> {
    if (this.#closed) throw new WalWriteError("Cannot rotate: WAL is closed", this.position);
    this.#broken = true;
    await this.#rotate();
  }

  /** fdatasync of the head segment, when something was written since the last one. */
  async sync(): Promise<void> {
    if (!this.#dirty || this.#closed || this.#file === null) return;
    this.#dirty = false;
    try {
      await this.#file.syncData();
    } catch (e) {
      // What was written may not be on disk, and a second fsync would not say so.
      this.#broken = true;
      throw new WalWriteError(`Cannot sync WAL segment ${this.#segment}: ${errMessage(e)}`, {
        ...this.position,
        cause: e,
      });
    }
  }

  /** Syncs and closes the head segment. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.sync();
    } finally {
      this.#closed = true;
      this.#file?.close();
      this.#file = null;
    }
  }

  /** Grows the frame buffer to `n` bytes, keeping the first `used`. */
  #ensureFrames(n: number, used: number): void {
    if (n <= this.#frames.length) return;
    let cap = this.#frames.length * 2;
    while (cap < n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#frames.subarray(0, used));
    this.#frames = next;
  }

  async #writeOut(n: number, onRecord?: RecordWritten): Promise<void> {
    const file = this.#file!;
    const data = this.#frames.subarray(0, n);
    let done = 0;
    try {
      while (done < n) done += await file.write(data.subarray(done));
    } catch (e) {
      // Undo the partial write so the segment ends at a whole record.
      if (done > 0) {
        try {
          await file.truncate(this.#offset);
          await file.seek(this.#offset, Deno.SeekMode.Start);
        } catch {
          this.#broken = true;
        }
      }
      throw new WalWriteError(
        `Cannot write ${n} bytes to WAL segment ${this.#segment} at offset ${this.#offset}: ${
          errMessage(e)
        }`,
        { ...this.position, cause: e },
      );
    }
    this.#offset += n;
    this.#dirty = true;
    if (onRecord) {
      const f = this.#framed;
      for (let k = 0; k < f.length; k += 3) onRecord(f[k], f[k + 1], f[k + 2]);
      f.length = 0;
    }
  }

  /**
   * Completes the head segment (fsync, close) and creates the next. If the
   * creation fails, the writer has no file and the next write retries.
   */
  async #rotate(): Promise<void> {
    const completed = this.#segment;
    const next = completed + 1;
    try {
      if (this.#file !== null) {
        // A broken head already failed; it is given up on, not synced again.
        if (!this.#broken) {
          await this.#file.syncData().catch((e) => {
            this.#broken = true;
            throw e;
          });
        }
        this.#file.close();
        this.#file = null;
        this.#dirty = false;
      }
      if (this.#beforeRotate) await this.#beforeRotate(completed);
      this.#file = await this.#open(segmentPath(this.#walDir, next));
    } catch (e) {
      throw new WalWriteError(`Cannot start WAL segment ${next}: ${errMessage(e)}`, {
        ...this.position,
        cause: e,
      });
    }
    this.#segment = next;
    this.#offset = 0;
    this.#broken = false;
    await syncDir(this.#walDir).catch(() => {});
    this.#onRotate?.(completed, next);
  }
}

function createSegment(path: string): Promise<Deno.FsFile> {
  return Deno.open(path, { write: true, createNew: true });
}

/** fsync of a directory, so created/renamed/removed entries are durable. */
export async function syncDir(dir: string): Promise<void> {
  using d = await Deno.open(dir, { read: true });
  await d.sync();
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

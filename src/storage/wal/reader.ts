/**
 * Reading framed records back: an incremental, allocation-light parser that
 * is fed file bytes in large chunks and hands out whole record payloads, and
 * a helper that scans a whole file with it.
 *
 * @module
 */

import { crc32c } from "./crc32c.ts";
import { CorruptionError } from "./errors.ts";
import { Fragment, HEADER_SIZE, PAGE_SIZE } from "./segment.ts";

/** Default read size when scanning files. */
export const READ_CHUNK = 1024 * 1024;

/**
 * Parses the fragment stream of one segment (or checkpoint) file.
 *
 * Feed bytes in file order (`space()` + `filled()`, or `push()`), then call
 * `next()` until it returns null (more bytes needed). At the end of the data
 * call `finish()`, which throws if a record was left incomplete (a torn
 * write). Every problem is a `CorruptionError` whose `offset` is the end of
 * the last whole record: the point to truncate at.
 *
 * A payload returned by `next()` is a view, valid until the next call to
 * `next()`, `space()` or `push()`.
 */
export class RecordReader {
  readonly segment: number;
  readonly path: string | undefined;
  #buf: Uint8Array;
  #view: DataView;
  /** File offset of #buf[0]. */
  #base: number;
  #start = 0;
  #end = 0;
  #rec = new Uint8Array(PAGE_SIZE);
  #recLen = 0;
  #inRecord = false;
  #good: number;

  /** `offset`: the file offset of the first byte that will be fed. */
  constructor(
    opts: { segment?: number; path?: string; offset?: number; bufferSize?: number } = {},
  ) {
    this.segment = opts.segment ?? -1;
    this.path = opts.path;
    this.#base = opts.offset ?? 0;
    this.#good = this.#base;
    this.#buf = new Uint8Array(opts.bufferSize ?? READ_CHUNK);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** File offset just after the last whole record returned (or the start offset). */
  get offset(): number {
    return this.#good;
  }

  /** File offset up to which bytes have been fed. */
  get fedTo(): number {
    return this.#base + this.#end;
  }

  /** Whether bytes were fed that are not yet part of a returned record. */
  get pending(): boolean {
    return this.#inRecord || this.#end > this.#start;
  }

  /** A writable region of at least `min` bytes right after the fed bytes. */
  space(min = READ_CHUNK): Uint8Array {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#base += this.#start;
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#buf.length - this.#end < min) {
      let cap = this.#buf.length * 2;
      while (cap - this.#end < min) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, this.#end));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    return this.#buf.subarray(this.#end);
  }

  /** Marks `n` bytes written into `space()` as fed. */
  filled(n: number): void {
    this.#end += n;
  }

  /** Feeds a copy of `data`. */
  push(data: Uint8Array): void {
    this.space(data.length).set(data);
    this.#end += data.length;
  }

  /** The next whole record's payload, or null when more bytes are needed. */
  next(): Uint8Array | null {
    const buf = this.#buf;
    for (;;) {
      const avail = this.#end - this.#start;
      const pos = this.#base + this.#start;
      const rem = PAGE_SIZE - (pos % PAGE_SIZE);
      if (rem <= HEADER_SIZE) {
        if (avail < rem) return null;
        for (let i = this.#start; i < this.#start + rem; i++) {
          if (buf[i] !== 0) this.#corrupt(`non-zero page padding at offset ${pos}`);
        }
        this.#start += rem;
        continue;
      }
      if (avail < HEADER_SIZE) return null;
      const s = this.#start;
      const type = buf[s];
      if (type < Fragment.Full || type > Fragment.Last) {
        this.#corrupt(`invalid fragment type ${type} at offset ${pos}`);
      }
      const len = this.#view.getUint16(s + 1, false);
      if (len === 0 || len > rem - HEADER_SIZE) {
        this.#corrupt(`invalid fragment length ${len} at offset ${pos}`);
      }
      if (avail < HEADER_SIZE + len) return null;
      const payload = buf.subarray(s + HEADER_SIZE, s + HEADER_SIZE + len);
      const want = this.#view.getUint32(s + 3, false);
      if (crc32c(payload) !== want) this.#corrupt(`checksum mismatch at offset ${pos}`);
      this.#start = s + HEADER_SIZE + len;
      switch (type) {
        case Fragment.Full:
          if (this.#inRecord) this.#corrupt(`full fragment inside a record at offset ${pos}`);
          this.#good = this.#base + this.#start;
          return payload;
        case Fragment.First:
          if (this.#inRecord) this.#corrupt(`first fragment inside a record at offset ${pos}`);
          this.#inRecord = true;
          this.#recLen = 0;
          this.#append(payload);
          break;
        case Fragment.Middle:
          if (!this.#inRecord) this.#corrupt(`middle fragment outside a record at offset ${pos}`);
          this.#append(payload);
          break;
        default: // Last
          if (!this.#inRecord) this.#corrupt(`last fragment outside a record at offset ${pos}`);
          this.#append(payload);
          this.#inRecord = false;
          this.#good = this.#base + this.#start;
          return this.#rec.subarray(0, this.#recLen);
      }
    }
  }

  /** Declares the end of the data; throws `CorruptionError` if a record is incomplete. */
  finish(): void {
    if (this.pending) {
      this.#corrupt(
        `torn record at end of data (${this.fedTo - this.#good} bytes after the last record)`,
      );
    }
  }

  #append(p: Uint8Array): void {
    const need = this.#recLen + p.length;
    if (need > this.#rec.length) {
      let cap = this.#rec.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#rec.subarray(0, this.#recLen));
      this.#rec = next;
    }
    this.#rec.set(p, this.#recLen);
    this.#recLen = need;
  }

  #corrupt(msg: string): never {
    throw new CorruptionError(msg, { segment: this.segment, offset: this.#good, path: this.path });
  }
}

/** What `scanFile` found. */
export interface ScanResult {
  /** Offset just after the last whole record. */
  end: number;
  /** File size. */
  size: number;
  /** The corruption that stopped the scan, if any. */
  error?: CorruptionError;
}

/**
 * Reads every record of a file in order, in large chunks, calling
 * `onRecord` with each payload and the offset just after it. Stops at the
 * first corruption and reports it instead of throwing; an error thrown by
 * `onRecord` that is a `CorruptionError` is reported the same way (with the
 * record's start as offset), any other error propagates.
 */
export async function scanFile(
  path: string,
  opts: {
    segment?: number;
    onRecord: (rec: Uint8Array, end: number) => void;
    chunkSize?: number;
  },
): Promise<ScanResult> {
  const chunk = opts.chunkSize ?? READ_CHUNK;
  const reader = new RecordReader({ segment: opts.segment, path, bufferSize: chunk * 2 });
  using file = await Deno.open(path, { read: true });
  let size = 0;
  try {
    for (;;) {
      const n = await file.read(reader.space(chunk));
      if (n === null) break;
      size += n;
      reader.filled(n);
      for (;;) {
        const before = reader.offset;
        const rec = reader.next();
        if (rec === null) break;
        try {
          opts.onRecord(rec, reader.offset);
        } catch (e) {
          if (!(e instanceof CorruptionError)) throw e;
          throw new CorruptionError(`bad record at offset ${before}: ${e.message}`, {
            segment: opts.segment,
            offset: before,
            path,
            cause: e,
          });
        }
      }
    }
    reader.finish();
    return { end: reader.offset, size };
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e;
    const st = await file.stat();
    return { end: e.offset, size: st.size, error: e };
  }
}

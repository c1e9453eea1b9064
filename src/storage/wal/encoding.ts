/**
 * Byte-level helpers for WAL records: a growable writer reused across
 * records, and bounds-checked varint reads that throw `CorruptionError`.
 *
 * Integers are unsigned LEB128 varints ("uvarint") or zigzag-mapped signed
 * varints ("varint"). Both are limited to JavaScript safe integers: a value
 * that would not be exact in a `number` is rejected on read.
 *
 * @module
 */

import { writeFloat64LE } from "../../model/sample.ts";
import { CorruptionError } from "./errors.ts";

const utf8 = new TextEncoder();

/** A growable byte buffer; `reset()` keeps the memory for the next use. */
export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  /** Bytes written so far. */
  len = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Forgets the content, keeps the memory. */
  reset(): void {
    this.len = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** The written bytes (a view, valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Appends raw bytes. */
  raw(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }

  /** An unsigned varint; `v` must be a non-negative safe integer. */
  uvarint(v: number): void {
    this.ensure(9);
    const b = this.buf;
    let p = this.len;
    while (v >= 0x80000000) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.len = p;
  }

  /** A zigzag varint; `|v|` must be at most 2^52. */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** A little-endian float64, or the StaleNaN bits when `stale`. */
  float64(v: number, stale: boolean): void {
    this.ensure(8);
    writeFloat64LE(this.view, this.len, v, stale);
    this.len += 8;
  }

  /** A uvarint byte length followed by the UTF-8 bytes of `s`. */
  string(s: string): void {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const enc = utf8.encode(s);
      this.uvarint(enc.length);
      this.raw(enc);
      return;
    }
    this.uvarint(n);
    this.ensure(n);
    const b = this.buf;
    let p = this.len;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.len = p;
  }
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * A bounds-checked reader over one record. Every read past the end or of a
 * malformed value throws `CorruptionError` (offset = position in the record).
 */
export class ByteReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = buf.length;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(what: string): never {
    throw new CorruptionError(`Cannot decode record: ${what} at byte ${this.pos}`, {
      offset: this.pos,
    });
  }

  byte(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.buf[this.pos++];
  }

  /** An unsigned varint, at most 8 bytes and a safe integer. */
  uvarint(): number {
    const b = this.buf;
    let p = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (p >= this.end) this.fail("truncated varint");
      const c = b[p++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) this.fail("varint overflow");
        this.pos = p;
        return v;
      }
      mul *= 128;
    }
    return this.fail("varint too long");
  }

  /** A zigzag varint. */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** A uvarint length followed by that many UTF-8 bytes. */
  string(): string {
    const n = this.uvarint();
    if (n > this.end - this.pos) this.fail("string past end of record");
    const b = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n <= 64) {
      let ascii = true;
      for (let i = start; i < start + n; i++) {
        if (b[i] > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, b.subarray(start, start + n) as never);
    }
    try {
      return utf8Fatal.decode(b.subarray(start, start + n));
    } catch (e) {
      this.pos = start;
      throw new CorruptionError(`Cannot decode record: invalid UTF-8 at byte ${start}`, {
        offset: start,
        cause: e,
      });
    }
  }
}

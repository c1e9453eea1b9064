/**
 * A small reader for the protobuf wire format, for the hand-written decoder
 * of the protobuf exposition format (`protobuf.ts`).
 *
 * One object walks a byte array with a cursor (`p`); every read takes the
 * end of the enclosing message (`end`) and fails with a {@link ParseError}
 * naming the byte offset when a value runs past it. Reads allocate nothing:
 * a 64-bit varint is kept as two 32-bit halves (`lo`, `hi`) and converted
 * to a `number` by the typed accessors (exact up to 2^53, rounded above).
 *
 * @module
 */

import { ParseError } from "./errors.ts";

/** Wire types of the protobuf encoding. */
export const WIRE_VARINT = 0;
/** 8 bytes, little-endian (double, fixed64). */
export const WIRE_I64 = 1;
/** A length-delimited value (string, bytes, message, packed repeated). */
export const WIRE_LEN = 2;
/** 4 bytes, little-endian (float, fixed32). */
export const WIRE_I32 = 5;

const TWO_32 = 4294967296;

/** A cursor over protobuf bytes. */
export class ProtoReader {
  readonly b: Uint8Array;
  readonly #dv: DataView;
  /** The position of the next byte to read. */
  p = 0;
  /** Low 32 bits (unsigned) of the last varint read by `varint`. */
  lo = 0;
  /** High 32 bits (as read) of the last varint read by `varint`. */
  hi = 0;

  constructor(b: Uint8Array) {
    this.b = b;
    this.#dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** A ParseError at byte `at` (the cursor when omitted). */
  error(reason: string, at: number = this.p): ParseError {
    return ParseError.atByte(at, reason);
  }

  /** Reads a varint of up to 64 bits into `lo`/`hi`. */
  varint(end: number): void {
    const b = this.b;
    let p = this.p;
    const start = p;
    let lo = 0;
    let c: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) throw this.error("truncated varint", start);
      c = b[p++];
      lo |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.p = p;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (p >= end) throw this.error("truncated varint", start);
    c = b[p++];
    lo |= (c & 0x0f) << 28;
    let hi = (c & 0x7f) >>> 4;
    if (c >= 0x80) {
      for (let shift = 3;; shift += 7) {
        if (shift > 31) throw this.error("varint longer than 10 bytes", start);
        if (p >= end) throw this.error("truncated varint", start);
        c = b[p++];
        hi |= (c & 0x7f) << shift;
        if (c < 0x80) break;
      }
    }
    this.p = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A field tag (field number << 3 | wire type); field number 0 is an error. */
  tag(end: number): number {
    const p = this.p;
    const c = p < end ? this.b[p] : 0x80;
    let t: number;
    if (c < 0x80) {
      this.p = p + 1;
      t = c;
    } else {
      this.varint(end);
      if (this.hi !== 0 || this.lo > 0xffffffff) throw this.error("field tag out of range", p);
      t = this.lo;
    }
    if (t < 8) throw this.error(`invalid field number 0 (tag ${t})`, p);
    return t;
  }

  /** A uint64 (rounded to the nearest double above 2^53). */
  uint64(end: number): number {
    const p = this.p;
    const c = p < end ? this.b[p] : 0x80;
    if (c < 0x80) {
      this.p = p + 1;
      return c;
    }
    this.varint(end);
    return this.hi * TWO_32 + this.lo;
  }

  /** An int64 in two's complement (rounded beyond ±2^53). */
  int64(end: number): number {
    const p = this.p;
    const c = p < end ? this.b[p] : 0x80;
    if (c < 0x80) {
      this.p = p + 1;
      return c;
    }
    this.varint(end);
    return (this.hi | 0) * TWO_32 + this.lo;
  }

  /** A zigzag-encoded sint64. */
  sint64(end: number): number {
    this.varint(end);
    const lo = this.lo;
    const hi = this.hi;
    // (n >>> 1) ^ -(n & 1) on 64 bits.
    const neg = lo & 1;
    let l = ((lo >>> 1) | (hi << 31)) >>> 0;
    let h = hi >>> 1;
    if (neg) {
      l = ~l >>> 0;
      h = ~h >>> 0;
    }
    return (h | 0) * TWO_32 + l;
  }

  /** An int32 (the low 32 bits of the varint, signed). */
  int32(end: number): number {
    this.varint(end);
    return this.lo | 0;
  }

  /** A uint32 (the low 32 bits of the varint). */
  uint32(end: number): number {
    this.varint(end);
    return this.lo;
  }

  /** A zigzag-encoded sint32. */
  sint32(end: number): number {
    this.varint(end);
    const n = this.lo;
    return (n >>> 1) ^ -(n & 1);
  }

  /** A little-endian double. */
  double(end: number): number {
    const p = this.p;
    if (end - p < 8) throw this.error("truncated double", p);
    this.p = p + 8;
    return this.#dv.getFloat64(p, true);
  }

  /**
   * The length of a length-delimited value; the cursor is left at its first
   * byte. Fails when the value would run past `end`.
   */
  len(end: number): number {
    const p = this.p;
    const c = p < end ? this.b[p] : 0x80;
    let n: number;
    if (c < 0x80) {
      this.p = p + 1;
      n = c;
    } else {
      this.varint(end);
      n = this.hi === 0 ? this.lo : Infinity;
    }
    if (n > end - this.p) {
      throw this.error(
        `length ${this.hi === 0 ? n : "≥ 2^32"} runs past the end of its message`,
        p,
      );
    }
    return n;
  }

  /** Skips the value of a field with wire type `wt` (groups are not supported). */
  skip(wt: number, end: number): void {
    switch (wt) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_I64:
        if (end - this.p < 8) throw this.error("truncated fixed64");
        this.p += 8;
        return;
      case WIRE_LEN: {
        const n = this.len(end);
        this.p += n;
        return;
      }
      case WIRE_I32:
        if (end - this.p < 4) throw this.error("truncated fixed32");
        this.p += 4;
        return;
      default:
        throw this.error(`unsupported wire type ${wt}`);
    }
  }
}

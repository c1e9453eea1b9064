/**
 * A minimal protobuf wire-format writer and reader for the remote-write hot
 * paths: the writer appends to one growable buffer (no object per field, as
 * opposed to protobufjs' op list) and the reader walks a `Uint8Array` with
 * bounds checks, throwing `CodecError` on malformed input.
 *
 * Numbers are JS doubles: 64-bit integers are exact up to 2^53.
 *
 * @module
 */

import { STALE_NAN_HI, STALE_NAN_LO } from "../model/sample.ts";
import { CodecError } from "./codec_types.ts";

/** Wire types. */
export const WT = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

/** A field tag as a number (`field << 3 | wireType`). */
export const tag = (field: number, wireType: number): number => (field << 3) | wireType;

const TWO32 = 4294967296;

/** Number of bytes of the varint of an unsigned 32-bit value. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

const textEncoder = new TextEncoder();

/**
 * Writes the `int64` varint of the integer `v` (|v| below 2^53; negative
 * values in 64-bit two's complement, 10 bytes) at `p` in `buf`, which has room
 * for ten bytes; returns the position after it.
 */
export function putInt64(buf: Uint8Array, p: number, v: number): number {
  if (v >= 0) {
    // Below 2^53: ToUint32 gives the exact low word.
    const lo = v >>> 0;
    return putVarint64(buf, p, lo, (v - lo) / TWO32);
  }
  const hi = Math.floor(v / TWO32);
  return putVarint64(buf, p, v - hi * TWO32, hi >>> 0);
}

/**
 * Writes the varint of the unsigned 64-bit value `hi << 32 | lo` (both
 * unsigned 32-bit) at `p` in `buf`, which has room for ten bytes; returns the
 * position after it.
 */
function putVarint64(buf: Uint8Array, p: number, lo: number, hi: number): number {
  while (hi !== 0) {
    buf[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo >= 0x80) {
    buf[p++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[p] = lo;
  return p + 1;
}

/** An append-only protobuf writer over one growable buffer. */
export class PbWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  /** Set by `string` when a string had a code unit ≥ U+D800 (UTF-16 order may differ from byte order). */
  sawHigh = false;

  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Drops a buffer grown past `max` bytes (after a huge request) for a fresh small one. */
  shrink(max = 1 << 22): void {
    if (this.buf.length <= max) return;
    this.buf = new Uint8Array(1 << 16);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }

  /** Forgets the content (keeps the buffer). */
  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** An unsigned varint of a value below 2^32 (tags, lengths, refs). */
  uint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  /**
   * A varint of an integer-valued number, as protobuf `int64`/`uint64`:
   * negative values in 64-bit two's complement (10 bytes).
   */
  int64(v: number): void {
    if (v >= 0 && v < TWO32) {
      this.uint32(v);
      return;
    }
    this.ensure(10);
    this.pos = putInt64(this.buf, this.pos, v);
  }

  /** A zig-zag varint (`sint32`). */
  sint32(v: number): void {
    this.uint32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** A zig-zag varint of an integer-valued number (`sint64`), exact up to ±2^53. */
  sint64(v: number): void {
    if (v >= -0x40000000 && v < 0x40000000) {
      this.uint32(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    }
    const h = Math.floor(v / TWO32);
    const lo = (v - h * TWO32) >>> 0, hi = h >>> 0;
    const sign = (hi >> 31) >>> 0;
    this.#varint64((((lo << 1) >>> 0) ^ sign) >>> 0, (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0);
  }

  /** A varint of the unsigned 64-bit value `hi << 32 | lo`. */
  #varint64(lo: number, hi: number): void {
    this.ensure(10);
    this.pos = putVarint64(this.buf, this.pos, lo, hi);
  }

  /** A little-endian double. */
  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** The eight bytes of Prometheus' StaleNaN. */
  staleNaN(): void {
    this.ensure(8);
    this.view.setUint32(this.pos, STALE_NAN_LO, true);
    this.view.setUint32(this.pos + 4, STALE_NAN_HI, true);
    this.pos += 8;
  }

  /** Raw bytes. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * Writes a one-byte tag (`t < 128`) and starts its length-delimited value:
   * `uint32(t)` then `fork()` in one step.
   */
  open(t: number): number {
    this.ensure(2);
    this.buf[this.pos] = t;
    this.pos += 2;
    return this.pos;
  }

  /**
   * Writes a one-byte tag (`t < 128`) and starts a length-delimited value
   * whose length is expected to take `n` bytes (1–5); returns the content
   * start, to pass to `closeSized` with the same `n`.
   */
  openSized(t: number, n: number): number {
    this.ensure(1 + n);
    this.buf[this.pos] = t;
    this.pos += 1 + n;
    return this.pos;
  }

  /**
   * Ends a value started by `openSized(…, n)` at `start`: writes its length,
   * moving the content only when the length takes other than `n` bytes.
   */
  closeSized(start: number, n: number): void {
    const len = this.pos - start;
    const size = varintSize(len);
    if (size !== n) {
      const shift = size - n;
      if (shift > 0) this.ensure(shift);
      this.buf.copyWithin(start + shift, start, this.pos);
      this.pos += shift;
      start += shift;
    }
    const buf = this.buf;
    let p = start - size, v = len;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
  }

  /**
   * Starts a length-delimited value: reserves one length byte and returns the
   * content start, to pass to `ldelim`.
   */
  fork(): number {
    this.ensure(1);
    return ++this.pos;
  }

  /** Ends a length-delimited value started at `start`, moving the content when the length needs more than one byte. */
  ldelim(start: number): void {
    const len = this.pos - start;
    if (len < 0x80) {
      this.buf[start - 1] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.ensure(extra);
    const buf = this.buf;
    buf.copyWithin(start + extra, start, this.pos);
    let p = start - 1, v = len;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
    this.pos += extra;
  }

  /** A length-delimited UTF-8 string (lone surrogates become U+FFFD, as with `TextEncoder`). */
  string(s: string): void {
    const n = s.length;
    if (n > 64) {
      this.#longString(s);
      return;
    }
    this.ensure(1 + n * 3);
    const buf = this.buf;
    const start = this.pos + 1;
    let p = start;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800) this.sawHigh = true;
        if (c >= 0xd800 && c < 0xe000) {
          const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
            i++;
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            buf[p++] = 0xf0 | (c >> 18);
            buf[p++] = 0x80 | ((c >> 12) & 0x3f);
            buf[p++] = 0x80 | ((c >> 6) & 0x3f);
            buf[p++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd;
        }
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.pos = p;
    this.ldelim(start);
  }

  #longString(s: string): void {
    if (/[\ud800-\uffff]/.test(s)) this.sawHigh = true;
    this.ensure(5 + s.length * 3);
    const start = this.fork();
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start));
    this.pos = start + written;
    this.ldelim(start);
  }

  /** The content: a view into the buffer (valid until the next use) or, with `copy`, a fresh copy. */
  finish(copy: boolean): Uint8Array {
    return copy ? this.buf.slice(0, this.pos) : this.buf.subarray(0, this.pos);
  }
}

// ignoreBOM: a leading U+FEFF is content, not a byte order mark.
const textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A bounds-checked protobuf reader. Sub-messages are read by narrowing
 * `end` (see `enter`/`leave`).
 */
export class PbReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos = 0;
  end: number;
  /** Low and high 32 bits of the last `varint64`/`fixed64`. */
  lo = 0;
  hi = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = buf.length;
  }

  /** Fails with a message naming the byte offset. */
  fail(what: string): never {
    throw new CodecError(`invalid protobuf: ${what} at byte ${this.pos}`);
  }

  /** An unsigned varint whose value fits 32 bits (higher bits are dropped, as protobuf does for uint32). */
  uint32(): number {
    const buf = this.buf, end = this.end;
    let p = this.pos;
    if (p < end) {
      const b = buf[p];
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (p >= end) this.fail("truncated varint");
      const b = buf[p++];
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    this.pos = p;
    return this.fail("varint longer than 10 bytes");
  }

  /** A field key (`field << 3 | wireType`); field number 0 is invalid. */
  key(): number {
    const k = this.uint32();
    if (k < 8) this.fail(`invalid field number 0 (key ${k})`);
    return k;
  }

  /** Reads a 64-bit varint into `lo`/`hi`. */
  #varint64(): void {
    const buf = this.buf, end = this.end;
    let p = this.pos, lo = 0, hi = 0, b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) this.fail("truncated varint");
      b = buf[p++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = p;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (p >= end) this.fail("truncated varint");
    b = buf[p++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >> 4;
    for (let shift = 3; b >= 0x80; shift += 7) {
      if (shift > 31) {
        this.pos = p;
        this.fail("varint longer than 10 bytes");
      }
      if (p >= end) this.fail("truncated varint");
      b = buf[p++];
      hi |= (b & 0x7f) << shift;
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** An `int64` varint as a number. */
  int64(): number {
    this.#varint64();
    return (this.hi | 0) * TWO32 + this.lo;
  }

  /** A `uint64` varint as a number. */
  uint64(): number {
    this.#varint64();
    return this.hi * TWO32 + this.lo;
  }

  /** A `sint32` (zig-zag) varint. */
  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  /** A `sint64` (zig-zag) varint as a number. */
  sint64(): number {
    this.#varint64();
    const lo = this.lo, hi = this.hi, neg = lo & 1;
    let l = ((lo >>> 1) | (hi << 31)) >>> 0, h = hi >>> 1;
    if (neg) {
      l = ~l >>> 0;
      h = ~h >>> 0;
    }
    return (h | 0) * TWO32 + l;
  }

  /** A little-endian double; its raw bits are left in `lo`/`hi`. */
  double(): number {
    const p = this.pos;
    if (p + 8 > this.end) this.fail("truncated double");
    this.lo = this.view.getUint32(p, true);
    this.hi = this.view.getUint32(p + 4, true);
    this.pos = p + 8;
    return this.view.getFloat64(p, true);
  }

  /** Whether the last `double` had exactly the StaleNaN bits. */
  wasStaleNaN(): boolean {
    return this.lo === STALE_NAN_LO && this.hi === STALE_NAN_HI;
  }

  /** Reads a length prefix and returns the end of the value, checking it is in range. */
  len(): number {
    const n = this.uint32();
    const e = this.pos + n;
    if (e > this.end) this.fail(`length ${n} past the end of the message`);
    return e;
  }

  /** Enters a length-delimited sub-message: returns the outer end to pass to `leave`. */
  enter(): number {
    const outer = this.end;
    this.end = this.len();
    return outer;
  }

  /** Leaves a sub-message entered with `enter`. */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  /** A length-delimited UTF-8 string (invalid sequences become U+FFFD). */
  string(): string {
    const e = this.len();
    const buf = this.buf;
    let p = this.pos;
    const n = e - p;
    if (n <= 24) {
      let s = "";
      for (; p < e; p++) {
        const c = buf[p];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (p === e) {
        this.pos = e;
        return s;
      }
      p = this.pos;
    }
    this.pos = e;
    return textDecoder.decode(buf.subarray(p, e));
  }

  /** Skips a field of wire type `wt`. */
  skip(wt: number): void {
    switch (wt) {
      case WT.VARINT:
        this.#varint64();
        return;
      case WT.I64:
        if (this.pos + 8 > this.end) this.fail("truncated fixed64");
        this.pos += 8;
        return;
      case WT.LEN:
        this.pos = this.len();
        return;
      case WT.I32:
        if (this.pos + 4 > this.end) this.fail("truncated fixed32");
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wt}`);
    }
  }

  /** Fails unless the field's wire type is `want`. */
  expect(wt: number, want: number, field: string): void {
    if (wt !== want) this.fail(`wrong wire type ${wt} for ${field} (want ${want})`);
  }
}

/** Writers kept per caller-provided `protobuf.Writer` identity (see `EncodeOptions.writer`). */
const writers = new WeakMap<object, PbWriter>();
const shared = new PbWriter();

/**
 * The writer to encode into for a caller's writer identity, and whether the
 * result must be copied out (no identity: a shared scratch writer is used).
 */
export function writerFor(id: object | undefined): { w: PbWriter; copy: boolean } {
  if (id === undefined) {
    shared.shrink();
    shared.reset();
    return { w: shared, copy: true };
  }
  let w = writers.get(id);
  if (w === undefined) {
    w = new PbWriter();
    writers.set(id, w);
  }
  w.reset();
  return { w, copy: false };
}

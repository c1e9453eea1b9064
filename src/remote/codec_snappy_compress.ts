/**
 * A snappy block-format compressor (the format of github.com/google/snappy
 * `format_description.txt`; never the framed format).
 *
 * The stream is the uncompressed length as a varint, then elements: literals
 * (tag `00`, length - 1 in the tag's upper six bits or in 1-4 following
 * bytes) and copies of earlier output (tag `01`: length 4-11 and an 11-bit
 * offset; tag `10`: length 1-64 and a 16-bit offset). The input is cut into
 * 64 KiB blocks that never refer to each other, so every offset fits 16 bits.
 *
 * Matching: a hash table of the positions of 4-byte sequences, probed at a
 * step that grows while nothing matches (incompressible data is skipped
 * quickly); a match is extended as far as it goes, then the search resumes
 * right after it. Written for V8: 32-bit loads through a `DataView`,
 * `Math.imul` hashing, block copies for long literals, one reused hash table.
 *
 * @module
 */

const BLOCK = 1 << 16;
const MAX_TABLE_BITS = 14;
/** Bytes at the end of a block never searched for matches (room for 4-byte loads). */
const MARGIN = 15;
const table = new Uint16Array(1 << MAX_TABLE_BITS);

/** Upper bound of the compressed size of `n` bytes. */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/**
 * Compresses `src` into a snappy block: into `into` when it holds
 * `maxCompressedLength(src.length)` bytes (the result is then a view of it),
 * otherwise into a new buffer.
 */
export function snappyCompress(src: Uint8Array, into?: Uint8Array): Uint8Array {
  const n = src.length;
  const need = maxCompressedLength(n);
  const out = into !== undefined && into.length >= need ? into : new Uint8Array(need);
  let op = 0;
  for (let v = n;; v = Math.floor(v / 128)) {
    if (v < 128) {
      out[op++] = v;
      break;
    }
    out[op++] = (v & 0x7f) | 0x80;
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let start = 0; start < n; start += BLOCK) {
    op = compressBlock(src, view, start, Math.min(n, start + BLOCK), out, op);
  }
  return out.subarray(0, op);
}

function compressBlock(
  src: Uint8Array,
  view: DataView,
  base: number,
  end: number,
  out: Uint8Array,
  op: number,
): number {
  const size = end - base;
  if (size < MARGIN + 1) return emitLiteral(src, base, end, out, op);
  let bits = 8;
  while (bits < MAX_TABLE_BITS && 1 << bits < size) bits++;
  const shift = 32 - bits;
  table.fill(0, 0, 1 << bits);
  const limit = end - MARGIN;
  let nextEmit = base;
  let ip = base + 1;
  outer: for (;;) {
    // Find a 4-byte match, stepping faster while none turns up.
    let skip = 32, cand = 0;
    for (;;) {
      const cur = view.getUint32(ip, true);
      const h = Math.imul(cur, 0x1e35a7bd) >>> shift;
      cand = base + table[h];
      table[h] = ip - base;
      if (cur === view.getUint32(cand, true) && cand < ip) break;
      ip += skip++ >> 5;
      if (ip > limit) break outer;
    }
    op = emitLiteral(src, nextEmit, ip, out, op);
    // Emit copies for as long as matches follow each other directly.
    let again = true;
    while (again) {
      let len = 4;
      while (
        ip + len + 4 <= end && view.getUint32(ip + len, true) === view.getUint32(cand + len, true)
      ) {
        len += 4;
      }
      while (ip + len < end && src[ip + len] === src[cand + len]) len++;
      op = emitCopy(out, op, ip - cand, len);
      ip += len;
      nextEmit = ip;
      if (ip > limit) break outer;
      // Index the position just before, then try a match right here.
      table[Math.imul(view.getUint32(ip - 1, true), 0x1e35a7bd) >>> shift] = ip - 1 - base;
      const cur = view.getUint32(ip, true);
      const h = Math.imul(cur, 0x1e35a7bd) >>> shift;
      cand = base + table[h];
      table[h] = ip - base;
      again = cur === view.getUint32(cand, true) && cand < ip;
    }
    ip++;
    if (ip > limit) break;
  }
  return nextEmit < end ? emitLiteral(src, nextEmit, end, out, op) : op;
}

/** Emits `src[from .. to)` as one literal (a block is at most 64 KiB: two length bytes suffice). */
function emitLiteral(
  src: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  op: number,
): number {
  const len = to - from;
  if (len === 0) return op;
  const n = len - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 256) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  }
  if (len < 16) {
    for (let i = 0; i < len; i++) out[op + i] = src[from + i];
  } else {
    out.set(src.subarray(from, to), op);
  }
  return op + len;
}

/** Emits a copy of `len` bytes from `offset` back (offset < 65536). */
function emitCopy(out: Uint8Array, op: number, offset: number, len: number): number {
  while (len >= 68) {
    op = copy2(out, op, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    op = copy2(out, op, offset, 60);
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    out[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
    return op;
  }
  return copy2(out, op, offset, len);
}

function copy2(out: Uint8Array, op: number, offset: number, len: number): number {
  out[op++] = 2 | ((len - 1) << 2);
  out[op++] = offset & 0xff;
  out[op++] = offset >>> 8;
  return op;
}

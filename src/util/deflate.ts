/**
 * A raw DEFLATE (RFC 1951) compressor in TypeScript, for the WAL's packed
 * sample records: greedy LZ77 over a 32 KiB window with short hash chains
 * (what zlib does at its fast levels), then each block as stored, fixed or
 * dynamic Huffman, whichever is smallest.
 *
 * Why not only `node:zlib`: a WAL record is compressed on every scrape's
 * commit, a few hundred bytes at a time, and `deflateRawSync` builds a Node
 * stream object around a fresh zlib state (~270 KiB) for each call. At ten
 * commits a second that code never runs warm: timed call by call in the
 * agent (bench 50 targets × 100 series), 600-byte bodies took ~100 µs each
 * with zlib and ~55 µs with this, which also allocates nothing outside V8.
 * Warm, on large bodies, zlib's C loop is ~1.6× faster, so the WAL uses this
 * for small bodies only. It packs WAL bodies as small as zlib's level 2 and
 * its output is read by any inflate (`node:zlib`'s in the WAL reader).
 *
 * @module
 */

/** Window: the farthest back a match may reach. */
const WINDOW = 32_768;
const WMASK = WINDOW - 1;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
/** Candidates tried per position (zlib level 2 tries 8). */
const MAX_CHAIN = 8;
/** A match this long is taken without looking further. */
const NICE_MATCH = 64;
/** Positions inside a match longer than this are not indexed (zlib level 2: 5). */
const MAX_INSERT = 5;
/** A 3-byte match reaching farther than this is not taken (as zlib does). */
const TOO_FAR = 4096;
/** Symbols per block: each block gets its own Huffman codes. */
const BLOCK_SYMBOLS = 16_384;
/** The largest stored block. */
const MAX_STORED = 65_535;
const END_OF_BLOCK = 256;

// Length and distance codes (RFC 1951 3.2.5).
const LEN_BASE = new Uint16Array(29);
const LEN_EXTRA = new Uint8Array(29);
/** Length code (0–28, i.e. symbol − 257) of each match length 3–258, by length − 3. */
const LEN_CODE = new Uint8Array(256);
const DIST_BASE = new Uint16Array(30);
const DIST_EXTRA = new Uint8Array(30);
/** Distance code of distances 1–256 (by distance − 1) and, past 256, of (distance − 1) >> 7. */
const DIST_CODE = new Uint8Array(512);

{
  let len = 3;
  for (let c = 0; c < 28; c++) {
    LEN_EXTRA[c] = c < 8 ? 0 : (c >> 2) - 1;
    LEN_BASE[c] = len;
    for (let i = 0; i < 1 << LEN_EXTRA[c]; i++) LEN_CODE[len - 3 + i] = c;
    len += 1 << LEN_EXTRA[c];
  }
  // 258 has its own code, with no extra bits (227–257 stay with code 27).
  LEN_BASE[28] = 258;
  LEN_EXTRA[28] = 0;
  LEN_CODE[255] = 28;
  let dist = 1;
  for (let c = 0; c < 30; c++) {
    DIST_EXTRA[c] = c < 4 ? 0 : (c >> 1) - 1;
    DIST_BASE[c] = dist;
    dist += 1 << DIST_EXTRA[c];
  }
  for (let d = 1; d <= WINDOW; d++) {
    const c = distCodeSlow(d);
    if (d <= 256) DIST_CODE[d - 1] = c;
    else DIST_CODE[256 + ((d - 1) >> 7)] = c;
  }
}

function distCodeSlow(d: number): number {
  let c = 29;
  while (DIST_BASE[c] > d) c--;
  return c;
}

function distCode(d: number): number {
  return d <= 256 ? DIST_CODE[d - 1] : DIST_CODE[256 + ((d - 1) >> 7)];
}

/** Order the code length code lengths are sent in. */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

// Scratch of codeLengths and canonicalCodes.
const sortKeys = new Int32Array(286);
const mkScratch = new Int32Array(286);
const lenCount = new Int32Array(32);
const codeCount = new Uint16Array(16);
const codeNext = new Uint16Array(16);

/** The fixed Huffman code lengths (RFC 1951 3.2.6). */
const FIXED_LIT = new Uint8Array(288);
const FIXED_DIST = new Uint8Array(30).fill(5);
FIXED_LIT.fill(8, 0, 144);
FIXED_LIT.fill(9, 144, 256);
FIXED_LIT.fill(7, 256, 280);
FIXED_LIT.fill(8, 280, 288);
const FIXED_LIT_CODES = canonicalCodes(FIXED_LIT, new Uint16Array(288));
const FIXED_DIST_CODES = canonicalCodes(FIXED_DIST, new Uint16Array(30));

/**
 * Huffman code lengths for `freq` (0 for unused symbols), none longer than
 * `limit`, into `lens`. Symbols are sorted by frequency, lengths computed in
 * place (Moffat and Katajainen's method), then, if too long, the deepest
 * are moved up until the code fits (Kraft's sum kept exactly one).
 */
function codeLengths(freq: Uint32Array, n: number, limit: number, lens: Uint8Array): void {
  lens.fill(0, 0, n);
  // Symbols sorted by frequency (then number): keys frequency << 9 | symbol.
  const keys = sortKeys;
  let m = 0;
  for (let i = 0; i < n; i++) if (freq[i] > 0) keys[m++] = freq[i] * 512 + i;
  if (m === 0) return;
  if (m === 1) {
    lens[keys[0] & 511] = 1;
    return;
  }
  const sorted = keys.subarray(0, m).sort();
  const a = mkScratch;
  for (let i = 0; i < m; i++) a[i] = Math.floor(sorted[i] / 512);
  // Moffat–Katajainen: internal node weights, then parents, then depths.
  a[0] += a[1];
  let root = 0, leaf = 2;
  for (let next = 1; next < m - 1; next++) {
    if (leaf >= m || a[root] < a[leaf]) {
      a[next] = a[root];
      a[root++] = next;
    } else a[next] = a[leaf++];
    if (leaf >= m || (root < next && a[root] < a[leaf])) {
      a[next] += a[root];
      a[root++] = next;
    } else a[next] += a[leaf++];
  }
  a[m - 2] = 0;
  for (let next = m - 3; next >= 0; next--) a[next] = a[a[next]] + 1;
  let avail = 1, used = 0, depth = 0;
  root = m - 2;
  let next = m - 1;
  while (avail > 0) {
    while (root >= 0 && a[root] === depth) {
      used++;
      root--;
    }
    while (avail > used) {
      a[next--] = depth;
      avail--;
    }
    avail = 2 * used;
    depth++;
    used = 0;
  }
  // a[i] is now the length of the i-th rarest symbol, longest first.
  const count = lenCount.fill(0);
  const longest = a[0];
  for (let i = 0; i < m; i++) count[a[i] < limit ? a[i] : limit]++;
  if (longest > limit) {
    // Fold the too-long codes onto `limit`, then deepen shorter ones until Kraft's sum is one.
    let kraft = 0;
    for (let l = 1; l <= limit; l++) kraft += count[l] << (limit - l);
    while (kraft > 1 << limit) {
      count[limit]--;
      for (let l = limit - 1; l > 0; l--) {
        if (count[l] > 0) {
          count[l]--;
          count[l + 1] += 2;
          break;
        }
      }
      kraft--;
    }
  }
  // The rarest symbols get the longest codes.
  let i = 0;
  for (let l = limit; l > 0; l--) {
    for (let k = count[l]; k > 0; k--) lens[sorted[i++] & 511] = l;
  }
}

/** Canonical codes for `lens`, bit-reversed for an LSB-first stream, into `codes`. */
function canonicalCodes(lens: Uint8Array, codes: Uint16Array): Uint16Array {
  const count = codeCount.fill(0);
  for (let i = 0; i < lens.length; i++) count[lens[i]]++;
  count[0] = 0;
  const next = codeNext;
  let code = 0;
  for (let l = 1; l < 16; l++) {
    code = (code + count[l - 1]) << 1;
    next[l] = code;
  }
  for (let i = 0; i < lens.length; i++) {
    const l = lens[i];
    if (l === 0) continue;
    let c = next[l]++, r = 0;
    for (let k = 0; k < l; k++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[i] = r;
  }
  return codes;
}

/** An LSB-first bit writer into a growing byte array. */
class Bits {
  buf: Uint8Array;
  pos = 0;
  #acc = 0;
  #n = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  /** Writes the low `n` (≤ 16) bits of `v`. */
  put(v: number, n: number): void {
    this.#acc |= v << this.#n;
    this.#n += n;
    if (this.#n >= 16) {
      if (this.pos + 2 > this.buf.length) this.#grow(2);
      this.buf[this.pos++] = this.#acc & 0xff;
      this.buf[this.pos++] = (this.#acc >>> 8) & 0xff;
      this.#acc >>>= 16;
      this.#n -= 16;
    }
  }

  /** Pads to a byte boundary. */
  align(): void {
    while (this.#n > 0) {
      if (this.pos + 1 > this.buf.length) this.#grow(1);
      this.buf[this.pos++] = this.#acc & 0xff;
      this.#acc >>>= 8;
      this.#n = Math.max(0, this.#n - 8);
    }
    this.#acc = 0;
  }

  bytes(src: Uint8Array, from: number, to: number): void {
    if (this.pos + (to - from) > this.buf.length) this.#grow(to - from);
    this.buf.set(src.subarray(from, to), this.pos);
    this.pos += to - from;
  }

  #grow(need: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + need + 64));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

// Scratch, reused by every call (the function runs to completion, never re-entered).
let head = new Int32Array(1 << 8);
const prev = new Int32Array(WINDOW);
/** Per symbol: a literal byte, or 256 + match length. */
const symLit = new Uint16Array(BLOCK_SYMBOLS);
/** Per symbol: the match distance, 0 for a literal. */
const symDist = new Uint16Array(BLOCK_SYMBOLS);
const litFreq = new Uint32Array(286);
const distFreq = new Uint32Array(30);
const litLens = new Uint8Array(286);
const distLens = new Uint8Array(30);
const litCodes = new Uint16Array(286);
const distCodes = new Uint16Array(30);
const clFreq = new Uint32Array(19);
const clLens = new Uint8Array(19);
const clCodes = new Uint16Array(19);
/** Run-length coded code lengths: symbol | extra << 8. */
const clSyms = new Uint16Array(286 + 30);

/** `src` compressed as raw DEFLATE (no zlib or gzip wrapper). */
export function deflateRaw(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Bits((n >> 1) + 64);
  if (n === 0) {
    // One final fixed block holding only its end.
    out.put(0b011, 3);
    out.put(FIXED_LIT_CODES[END_OF_BLOCK], FIXED_LIT[END_OF_BLOCK]);
    out.align();
    return out.buf.subarray(0, out.pos);
  }
  // Positions are indexed by a hash of their next 4 bytes (3 gather too many
  // positions per chain on bytes of a small alphabet, as WAL bodies are).
  let hashBits = 8;
  while (hashBits < 15 && 1 << hashBits < n) hashBits++;
  if (head.length < 1 << hashBits) head = new Int32Array(1 << hashBits);
  head.fill(-1, 0, 1 << hashBits);
  let nsym = 0;
  let blockStart = 0;
  litFreq.fill(0);
  distFreq.fill(0);
  let i = 0;
  while (i < n) {
    let best = 0, bestDist = 0;
    if (i + 4 <= n) {
      const h = Math.imul(
        src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24),
        0x9e3779b1,
      ) >>> (32 - hashBits);
      let cand = head[h];
      prev[i & WMASK] = cand;
      head[h] = i;
      const maxLen = n - i < MAX_MATCH ? n - i : MAX_MATCH;
      for (let chain = MAX_CHAIN; cand >= 0 && i - cand <= WINDOW && chain > 0; chain--) {
        if (src[cand + best] === src[i + best]) {
          let len = 0;
          while (len < maxLen && src[cand + len] === src[i + len]) len++;
          if (len > best) {
            best = len;
            bestDist = i - cand;
            if (len >= NICE_MATCH || len === maxLen) break;
          }
        }
        const p = prev[cand & WMASK];
        if (p >= cand) break;
        cand = p;
      }
    }
    // A 3-byte match from far back costs more bits than three literals.
    if (best === MIN_MATCH && bestDist > TOO_FAR) best = 0;
    if (best >= MIN_MATCH) {
      symLit[nsym] = 256 + best;
      symDist[nsym++] = bestDist;
      litFreq[257 + LEN_CODE[best - 3]]++;
      distFreq[distCode(bestDist)]++;
      // Index the positions a short match covers, so later matches can start
      // there; a long one's are skipped (they would crowd the chains).
      const end = i + best;
      if (best > MAX_INSERT) i = end;
      else {
        for (i++; i < end; i++) {
          if (i + 4 <= n) {
            const h = Math.imul(
              src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24),
              0x9e3779b1,
            ) >>> (32 - hashBits);
            prev[i & WMASK] = head[h];
            head[h] = i;
          }
        }
      }
    } else {
      symLit[nsym] = src[i];
      symDist[nsym++] = 0;
      litFreq[src[i]]++;
      i++;
    }
    if (nsym === BLOCK_SYMBOLS || i === n) {
      writeBlock(out, src, blockStart, i, nsym, i === n);
      blockStart = i;
      nsym = 0;
      litFreq.fill(0);
      distFreq.fill(0);
    }
  }
  out.align();
  return out.buf.subarray(0, out.pos);
}

/** Writes symbols `[0, nsym)`, covering `src[from, to)`, as the cheapest kind of block. */
function writeBlock(
  out: Bits,
  src: Uint8Array,
  from: number,
  to: number,
  nsym: number,
  last: boolean,
): void {
  litFreq[END_OF_BLOCK] = 1;
  // Two codes at least in each tree: zlib's inflate refuses a code with one.
  atLeastTwo(distFreq);
  codeLengths(litFreq, 286, 15, litLens);
  codeLengths(distFreq, 30, 15, distLens);
  let hlit = 286;
  while (hlit > 257 && litLens[hlit - 1] === 0) hlit--;
  let hdist = 30;
  while (hdist > 1 && distLens[hdist - 1] === 0) hdist--;
  const ncl = runLengths(hlit, hdist);
  atLeastTwo(clFreq);
  codeLengths(clFreq, 19, 7, clLens);
  let hclen = 19;
  while (hclen > 4 && clLens[CL_ORDER[hclen - 1]] === 0) hclen--;

  // Sizes in bits of the three kinds of block.
  let extra = 0, dynBits = 0, fixedBits = 0;
  for (let s = 0; s < 286; s++) {
    const f = litFreq[s];
    if (f === 0) continue;
    dynBits += f * litLens[s];
    fixedBits += f * FIXED_LIT[s];
    if (s > 256) extra += f * LEN_EXTRA[s - 257];
  }
  for (let s = 0; s < 30; s++) {
    const f = distFreq[s];
    if (f === 0) continue;
    dynBits += f * distLens[s];
    fixedBits += f * 5;
    extra += f * DIST_EXTRA[s];
  }
  dynBits += 3 + 14 + 3 * hclen + extra;
  for (let k = 0; k < ncl; k++) {
    const s = clSyms[k] & 0xff;
    dynBits += clLens[s] + (s === 16 ? 2 : s === 17 ? 3 : s === 18 ? 7 : 0);
  }
  fixedBits += 3 + extra;
  const storedBits = 8 * (to - from + 5 * Math.ceil((to - from) / MAX_STORED)) + 7;

  if (storedBits <= dynBits && storedBits <= fixedBits) {
    for (let at = from; at < to; at += MAX_STORED) {
      const len = Math.min(MAX_STORED, to - at);
      out.put(last && at + len === to ? 1 : 0, 3);
      out.align();
      out.put(len, 16);
      out.put(~len & 0xffff, 16);
      out.bytes(src, at, at + len);
    }
    return;
  }
  let lc: Uint16Array, ll: Uint8Array, dc: Uint16Array, dl: Uint8Array;
  if (fixedBits <= dynBits) {
    out.put(last ? 0b011 : 0b010, 3);
    lc = FIXED_LIT_CODES, ll = FIXED_LIT, dc = FIXED_DIST_CODES, dl = FIXED_DIST;
  } else {
    out.put(last ? 0b101 : 0b100, 3);
    out.put(hlit - 257, 5);
    out.put(hdist - 1, 5);
    out.put(hclen - 4, 4);
    for (let k = 0; k < hclen; k++) out.put(clLens[CL_ORDER[k]], 3);
    canonicalCodes(clLens, clCodes);
    for (let k = 0; k < ncl; k++) {
      const s = clSyms[k] & 0xff, x = clSyms[k] >> 8;
      out.put(clCodes[s], clLens[s]);
      if (s === 16) out.put(x, 2);
      else if (s === 17) out.put(x, 3);
      else if (s === 18) out.put(x, 7);
    }
    lc = canonicalCodes(litLens, litCodes), ll = litLens;
    dc = canonicalCodes(distLens, distCodes), dl = distLens;
  }
  for (let k = 0; k < nsym; k++) {
    const lit = symLit[k];
    if (lit < 256) {
      out.put(lc[lit], ll[lit]);
      continue;
    }
    const len = lit - 256;
    const c = LEN_CODE[len - 3];
    out.put(lc[257 + c], ll[257 + c]);
    if (LEN_EXTRA[c] > 0) out.put(len - LEN_BASE[c], LEN_EXTRA[c]);
    const d = symDist[k];
    const dcode = distCode(d);
    out.put(dc[dcode], dl[dcode]);
    if (DIST_EXTRA[dcode] > 0) out.put(d - DIST_BASE[dcode], DIST_EXTRA[dcode]);
  }
  out.put(lc[END_OF_BLOCK], ll[END_OF_BLOCK]);
}

/** Gives symbols 0 and 1 a count of one where fewer than two symbols have one. */
function atLeastTwo(freq: Uint32Array): void {
  let k = 0;
  for (let i = 0; i < freq.length; i++) if (freq[i] !== 0) k++;
  for (let i = 0; k < 2; i++) {
    if (freq[i] === 0) {
      freq[i] = 1;
      k++;
    }
  }
}

/**
 * The literal/length then distance code lengths, run-length coded with
 * codes 16 (repeat the previous 3–6 times), 17 (3–10 zeros) and 18 (11–138
 * zeros), into `clSyms`; counts each into `clFreq`. Returns how many.
 */
function runLengths(hlit: number, hdist: number): number {
  const total = hlit + hdist;
  const at = (k: number) => (k < hlit ? litLens[k] : distLens[k - hlit]);
  clFreq.fill(0);
  let n = 0;
  const emit = (sym: number, x: number) => {
    clSyms[n++] = sym | (x << 8);
    clFreq[sym]++;
  };
  for (let k = 0; k < total;) {
    const l = at(k);
    let run = 1;
    while (k + run < total && at(k + run) === l) run++;
    k += run;
    if (l === 0) {
      while (run >= 11) {
        const r = Math.min(run, 138);
        emit(18, r - 11);
        run -= r;
      }
      if (run >= 3) {
        emit(17, run - 3);
        run = 0;
      }
    } else {
      emit(l, 0);
      run--;
      while (run >= 3) {
        const r = Math.min(run, 6);
        emit(16, r - 3);
        run -= r;
      }
    }
    for (; run > 0; run--) emit(l, 0);
  }
  return n;
}

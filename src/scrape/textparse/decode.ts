/**
 * Decoding a scraped text body into the string the text parsers read.
 *
 * @module
 */

/**
 * Decodes a body as UTF-8; a byte order mark is kept, so it fails parsing as
 * in Prometheus. Each byte of an invalid sequence becomes a lone surrogate
 * (U+DC80–U+DCFF) rather than U+FFFD, so the parsers, which require names,
 * label values and HELP text to be well-formed, reject invalid UTF-8 exactly
 * where Prometheus does and let it pass in comments.
 */
export function decodeBody(bytes: Uint8Array): string {
  // Fast path: the default decoder is several times quicker, but it drops a byte order mark and
  // turns invalid bytes into U+FFFD. Without a leading BOM and without any U+FFFD in its result
  // (decided at once for an all-ASCII body, which V8 holds as a one-byte string), its result is
  // exactly the strict decoder's.
  if (!(bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) {
    const s = quick.decode(bytes);
    if (s.indexOf("\ufffd") < 0) return s;
  }
  try {
    return decoder.decode(bytes);
  } catch (e) {
    // Only a decoding error falls back; a body too long for a string stays a RangeError.
    if (!(e instanceof TypeError)) throw e;
    return decodeMarkingInvalid(bytes);
  }
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
const quick = new TextDecoder();

/** Code units converted to a string at a time (`String.fromCharCode` arguments). */
const UNITS = 8192;
/** Valid runs at least this long go through `TextDecoder` as they are. */
const LONG_RUN = 256;

/**
 * UTF-8 decoding that turns every byte of an invalid sequence into U+DC00 +
 * byte. Linear in time, and the pieces it joins are few whatever the input
 * (long valid runs, or blocks of {@link UNITS} code units), so a body full of
 * invalid bytes costs about what a valid one of the same size does.
 */
function decodeMarkingInvalid(b: Uint8Array): string {
  const parts: string[] = [];
  const units = new Uint16Array(UNITS + 2);
  let k = 0; // code units pending in `units`
  const flush = () => {
    if (k === 0) return;
    parts.push(String.fromCharCode.apply(null, units.subarray(0, k) as unknown as number[]));
    k = 0;
  };
  let run = 0; // start of the current valid run
  for (let i = 0; i < b.length;) {
    const n = utf8SequenceLength(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    // An invalid byte at i: the valid run before it, then the byte's lone surrogate.
    if (i - run >= LONG_RUN) {
      flush();
      parts.push(decoder.decode(b.subarray(run, i)));
    } else {
      for (let j = run; j < i;) {
        const m = utf8SequenceLength(b, j);
        const cp = codePoint(b, j, m);
        if (cp >= 0x10000) {
          units[k++] = 0xd800 + ((cp - 0x10000) >> 10);
          units[k++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        } else units[k++] = cp;
        j += m;
        if (k >= UNITS) flush();
      }
    }
    units[k++] = 0xdc00 + b[i];
    if (k >= UNITS) flush();
    run = ++i;
  }
  flush();
  parts.push(decoder.decode(b.subarray(run)));
  return parts.join("");
}

/** The code point of the well-formed `m`-byte sequence at `b[i]`. */
function codePoint(b: Uint8Array, i: number, m: number): number {
  switch (m) {
    case 1:
      return b[i];
    case 2:
      return ((b[i] & 0x1f) << 6) | (b[i + 1] & 0x3f);
    case 3:
      return ((b[i] & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
    default:
      return ((b[i] & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) |
        (b[i + 3] & 0x3f);
  }
}

/** Length of the well-formed UTF-8 sequence at `b[i]`, or 0 when it is not one. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) =>
    i + j < b.length && b[i + j] >= lo && b[i + j] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const ok = c === 0xe0 ? cont(1, 0xa0) : c === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return ok && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const ok = c === 0xf0 ? cont(1, 0x90) : c === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return ok && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * {@link decodeBody} over a body that arrives in chunks. Up to
 * {@link STREAM_AFTER} bytes the chunks are kept and decoded at the end
 * (bytes are external memory, released by V8's frequent young-generation
 * collections, so a body abandoned at a limit leaves no string garbage);
 * past that, each piece is decoded as it comes (a sequence split between
 * pieces is carried over) and the bytes are dropped, so a huge body costs its
 * decoded pieces and, when they are joined, the result — not its bytes too.
 * `end()` gives the same string `decodeBody` gives for the whole body.
 */
export class BodyDecoder {
  #chunks: Uint8Array[] = [];
  #kept = 0;
  readonly #pieces: string[] = [];
  /** Bytes not decoded yet, once streaming: gathered into pieces of {@link PIECE_BYTES}. */
  #buf: Uint8Array | null = null;
  #len = 0;

  /** Takes the next chunk of the body. */
  push(chunk: Uint8Array): void {
    if (this.#buf === null) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
      if (this.#kept < STREAM_AFTER) return;
      this.#buf = new Uint8Array(PIECE_BYTES + 4);
      const kept = this.#chunks;
      this.#chunks = [];
      for (const c of kept) this.#gather(c);
      return;
    }
    this.#gather(chunk);
  }

  #gather(chunk: Uint8Array): void {
    const buf = this.#buf!;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, buf.length - this.#len);
      buf.set(chunk.subarray(at, at + n), this.#len);
      this.#len += n;
      at += n;
      if (this.#len === buf.length) {
        // Decode up to a sequence the piece ends in the middle of; carry that over.
        const cut = incompleteTail(buf);
        this.#pieces.push(decodeBody(buf.subarray(0, cut)));
        buf.copyWithin(0, cut, this.#len);
        this.#len -= cut;
      }
    }
  }

  /** The whole body decoded. */
  end(): string {
    if (this.#buf === null) {
      const chunks = this.#chunks;
      this.#chunks = [];
      if (chunks.length === 1) return decodeBody(chunks[0]);
      const all = joinScratch(this.#kept);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      return decodeBody(all);
    }
    if (this.#len > 0) this.#pieces.push(decodeBody(this.#buf.subarray(0, this.#len)));
    this.#len = 0;
    this.#buf = null;
    const s = this.#pieces.join("");
    this.#pieces.length = 0;
    return s;
  }
}

/** Bodies up to this many bytes are decoded whole at the end. */
const STREAM_AFTER = 16 * 1024 * 1024;

/** Bodies up to this size are joined in one shared buffer (decoding copies them out at once). */
const SCRATCH_MAX = 4 * 1024 * 1024;
let scratch = new Uint8Array(0);

/**
 * A buffer of `n` bytes to join a body's chunks in before it is decoded: the
 * shared scratch buffer (grown as needed) for bodies up to {@link SCRATCH_MAX},
 * so a scrape leaves no garbage of its body's size; a new one past that.
 */
function joinScratch(n: number): Uint8Array {
  if (n > SCRATCH_MAX) return new Uint8Array(n);
  if (scratch.length < n) {
    let size = Math.max(65536, scratch.length);
    while (size < n) size *= 2;
    scratch = new Uint8Array(size);
  }
  return scratch.subarray(0, n);
}

/**
 * Bytes decoded at a time once streaming: pieces this large go straight to
 * V8's large object space instead of being copied out of the young generation.
 */
const PIECE_BYTES = 1024 * 1024;

/**
 * Where a sequence that the bytes after `b` might complete starts (b.length
 * when none): the last lead byte among the final three whose sequence needs
 * more bytes than follow it. Whatever precedes it decodes the same whatever
 * comes next.
 */
function incompleteTail(b: Uint8Array): number {
  for (let i = b.length - 1; i >= 0 && i >= b.length - 3; i--) {
    const c = b[i];
    if (c < 0x80) return b.length; // ASCII: nothing pending
    if (c < 0xc0) continue; // a continuation byte
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    return i + need > b.length ? i : b.length;
  }
  return b.length;
}

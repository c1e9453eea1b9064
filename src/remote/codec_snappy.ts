/**
 * The snappy block format (never the framed format), as remote write uses
 * it: compression with our own compressor (codec_snappy_compress.ts, about
 * twice as fast as `snappyjs` on remote-write bodies, same ratio),
 * decompression through `snappyjs` after validating the whole stream.
 *
 * @module
 */

import snappy from "snappyjs";
import { maxCompressedLength, snappyCompress } from "./codec_snappy_compress.ts";

export { maxCompressedLength };
import { CodecError } from "./codec_types.ts";

/** Default cap on a decompressed request: 32 MiB. */
export const DEFAULT_MAX_DECODED_BYTES = 32 << 20;

/**
 * Compresses with the snappy block format (never the framed format); into
 * `into` (the result a view of it) when it is large enough (see
 * `maxCompressedLength`).
 */
export function snappyEncode(data: Uint8Array, into?: Uint8Array): Uint8Array {
  return snappyCompress(data, into);
}

/**
 * Decompresses a snappy block. Validates the whole stream first (declared
 * length within `maxLength`, every copy in range, output exactly the declared
 * length) so a bomb or a truncated body is rejected before allocating.
 */
export function snappyDecode(data: Uint8Array, maxLength = DEFAULT_MAX_DECODED_BYTES): Uint8Array {
  const declared = snappyValidate(data, maxLength);
  let out: Uint8Array;
  try {
    out = snappy.uncompress(data, maxLength) as Uint8Array;
  } catch (e) {
    throw new CodecError(`snappy: ${(e as Error).message}`);
  }
  if (out.length !== declared) throw new CodecError("snappy: length mismatch");
  return out;
}

/** The declared decoded length of a snappy block, after validating the stream. */
function snappyValidate(a: Uint8Array, maxLength: number): number {
  let pos = 0, len = 0, shift = 0;
  for (;;) {
    if (pos >= a.length || shift > 28) throw new CodecError("snappy: bad length header");
    const c = a[pos++];
    len += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
    shift += 7;
  }
  if (len > maxLength) {
    throw new CodecError(`snappy: decoded size ${len} exceeds limit ${maxLength}`);
  }
  let out = 0;
  while (pos < a.length) {
    const c = a[pos++];
    const kind = c & 3;
    if (kind === 0) {
      let n = (c >>> 2) + 1;
      if (n > 60) {
        const extra = n - 60;
        if (pos + extra > a.length) throw new CodecError("snappy: truncated literal header");
        n = 0;
        for (let k = 0; k < extra; k++) n += a[pos + k] * 2 ** (8 * k);
        n += 1;
        pos += extra;
      }
      if (pos + n > a.length) throw new CodecError("snappy: truncated literal");
      pos += n;
      out += n;
    } else {
      let n: number, off: number;
      if (kind === 1) {
        if (pos + 1 > a.length) throw new CodecError("snappy: truncated copy");
        n = ((c >>> 2) & 7) + 4;
        off = ((c >>> 5) << 8) | a[pos];
        pos += 1;
      } else if (kind === 2) {
        if (pos + 2 > a.length) throw new CodecError("snappy: truncated copy");
        n = (c >>> 2) + 1;
        off = a[pos] | (a[pos + 1] << 8);
        pos += 2;
      } else {
        if (pos + 4 > a.length) throw new CodecError("snappy: truncated copy");
        n = (c >>> 2) + 1;
        off = (a[pos] | (a[pos + 1] << 8) | (a[pos + 2] << 16)) + a[pos + 3] * 2 ** 24;
        pos += 4;
      }
      if (off === 0 || off > out) throw new CodecError("snappy: copy offset out of range");
      out += n;
    }
    if (out > len) throw new CodecError("snappy: output exceeds declared length");
  }
  if (out !== len) throw new CodecError("snappy: output shorter than declared length");
  return len;
}

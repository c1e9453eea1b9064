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
  try {
    return decoder.decode(bytes);
  } catch {
    return decodeMarkingInvalid(bytes);
  }
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** UTF-8 decoding that turns every byte of an invalid sequence into U+DC00 + byte. */
function decodeMarkingInvalid(b: Uint8Array): string {
  let out = "";
  let run = 0; // start of the current valid run
  for (let i = 0; i < b.length;) {
    const n = utf8SequenceLength(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += decoder.decode(b.subarray(run, i)) + String.fromCharCode(0xdc00 + b[i]);
    run = ++i;
  }
  return out + decoder.decode(b.subarray(run));
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

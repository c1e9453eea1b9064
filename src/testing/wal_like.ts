/**
 * Test and bench input: bytes shaped like a WAL packed-samples body.
 *
 * @module
 */

import { mulberry32 } from "./prng.ts";

/** Bytes like a WAL packed body: a repetitive control column, then varint-ish values. */
export function walLike(samples: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) out.push(1, 0x21 + (r() < 0.1 ? 1 : 0));
  for (let i = 0; i < samples; i++) {
    const kind = r();
    if (kind < 0.5) {
      // A counter: a small varint increment.
      out.push(Math.floor(r() * 128));
    } else if (kind < 0.8) {
      // A gauge with a few decimals: three to five bytes.
      for (let k = 2 + Math.floor(r() * 3); k > 0; k--) out.push(0x80 | Math.floor(r() * 128));
      out.push(Math.floor(r() * 128));
    } else {
      for (let k = 0; k < 8; k++) out.push(Math.floor(r() * 256));
    }
  }
  return new Uint8Array(out);
}

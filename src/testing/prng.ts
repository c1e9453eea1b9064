/**
 * A small seeded PRNG for tests, benchmarks and the bench farm, so every run
 * generates the same data (and a failing seed can be replayed).
 *
 * @module
 */

/** mulberry32: a 32-bit seeded generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/**
 * A number in [0, 0.5) made of 53 pseudo-random bits drawn from `a` and `b`:
 * the same for the same pair. Added to a test's values it keeps them apart
 * (`Math.floor` still gives the value) and makes them incompressible, so a
 * test that sizes WAL segments or fills a disk by the samples it writes gets
 * about 8 bytes a sample whatever the WAL's compression does.
 */
export function noiseFraction(a: number, b: number): number {
  const hi = mulberry32(Math.imul(a | 0, 0x9e3779b1) ^ (b | 0))();
  const lo = mulberry32(Math.imul(b | 0, 0x85ebca6b) ^ (a | 0) ^ 0x5bd1e995)();
  return (hi + lo * 2 ** -32) / 2;
}

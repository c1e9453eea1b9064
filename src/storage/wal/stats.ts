/**
 * Per-segment statistics the agent db keeps in memory: sample count (float
 * and histogram samples; exemplars are not counted), sample time range,
 * size, and a sparse index of cumulative sample counts, so the samples lost
 * when undelivered data is dropped are counted exactly without re-reading
 * whole segments.
 *
 * The index holds one (record end, samples up to there) entry per page's
 * worth of bytes (32 KiB), i.e. 4,096 entries for a 128 MiB segment. The
 * samples before an arbitrary record boundary are the nearest entry's count
 * plus the samples of the few records between that entry and the boundary,
 * which `countSamplesBefore` reads from the file (at most one page plus one
 * record).
 *
 * @module
 */

import { CorruptionError } from "./errors.ts";
import { RecordReader } from "./reader.ts";
import { countsSamples, sampleCount } from "./record.ts";
import { PAGE_SIZE } from "./segment.ts";

/** What is known about one segment. */
export class SegmentStats {
  /** Samples in the segment's whole records. */
  samples = 0;
  /** Smallest and largest sample timestamp (ms); ±Infinity while there are none. */
  minT = Infinity;
  maxT = -Infinity;
  /** End of the last record seen. */
  bytes = 0;
  /** Sparse index: record ends, ascending, and the samples in records ending at or before each. */
  readonly #ends: number[] = [0];
  readonly #cums: number[] = [0];

  /** Records a record ending at `end` holding `n` samples in [minT, maxT]. */
  add(end: number, n: number, minT: number, maxT: number): void {
    if (n > 0) {
      this.samples += n;
      if (minT < this.minT) this.minT = minT;
      if (maxT > this.maxT) this.maxT = maxT;
    }
    if (end > this.bytes) this.bytes = end;
    if (end - this.#ends[this.#ends.length - 1] >= PAGE_SIZE) {
      this.#ends.push(end);
      this.#cums.push(this.samples);
    }
  }

  /** The index entry at or before `offset`: a record end and the samples before it. */
  floor(offset: number): { end: number; samples: number } {
    const ends = this.#ends;
    let lo = 0, hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ends[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { end: ends[lo], samples: this.#cums[lo] };
  }

  /** Index entries (for tests and memory accounting). */
  get indexSize(): number {
    return this.#ends.length;
  }
}

/**
 * The number of samples in the records of segment file `path` that end at or
 * before `offset` (a record boundary). Reads only from the nearest index
 * entry on. A record that does not decode ends the count there.
 */
export async function countSamplesBefore(
  path: string,
  stats: SegmentStats,
  offset: number,
): Promise<number> {
  if (offset >= stats.bytes) return stats.samples;
  const { end: from, samples } = stats.floor(offset);
  if (from === offset) return samples;
  let n = samples;
  using file = await Deno.open(path, { read: true });
  await file.seek(from, Deno.SeekMode.Start);
  const reader = new RecordReader({ offset: from, path, bufferSize: PAGE_SIZE * 2 });
  let fed = from;
  while (fed < offset) {
    const want = Math.min(PAGE_SIZE, offset - fed);
    const got = await file.read(reader.space(want).subarray(0, want));
    if (got === null) break;
    reader.filled(got);
    fed += got;
    try {
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        if (countsSamples(rec[0])) n += sampleCount(rec);
        if (reader.offset >= offset) return n;
      }
    } catch (e) {
      if (e instanceof CorruptionError) return n;
      throw e;
    }
  }
  return n;
}

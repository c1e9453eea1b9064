/**
 * Native (sparse, exponential-bucket) histograms, as Prometheus defines them:
 * integer histograms (counts are whole numbers, buckets stored as deltas) and
 * float histograms (counts are floats, buckets stored as absolute counts).
 * One type carries both; `float` says which.
 *
 * A staleness marker for a histogram series is not a `Histogram`: it travels
 * as a flag next to it (see `HistogramSample.stale`), and only the byte
 * encoders write Prometheus' StaleNaN bits into the `sum` field.
 *
 * @module
 */

/** A run of consecutive buckets: `offset` is the gap to the previous span (or the first index). */
export interface BucketSpan {
  offset: number;
  length: number;
}

/** Counter-reset hints, numbered as in both remote-write protos. */
export const ResetHint = {
  /** Whether a reset happened must be worked out from the data. */
  Unknown: 0,
  /** This is the first histogram after a counter reset. */
  Yes: 1,
  /** No reset happened since the previous histogram. */
  No: 2,
  /** A gauge histogram: resets do not apply. */
  Gauge: 3,
} as const;

/** One of `ResetHint`'s values. */
export type ResetHint = typeof ResetHint[keyof typeof ResetHint];

/** Schema of native histograms with custom bucket bounds (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA = -53;

/** A native histogram value. */
export interface Histogram {
  /** Float histogram: counts are floats and buckets are absolute counts. Otherwise integers and deltas. */
  float: boolean;
  /** -4…8 (exponential buckets), or `CUSTOM_BUCKETS_SCHEMA`. */
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: BucketSpan[];
  /** Integer histograms: delta to the previous bucket (the first to 0). Float: absolute counts. */
  positiveBuckets: number[];
  negativeSpans: BucketSpan[];
  negativeBuckets: number[];
  resetHint: ResetHint;
  /** Upper bounds of custom buckets (schema -53); empty otherwise. */
  customValues: number[];
}

/** A histogram with an empty bucket layout, for building values in code and tests. */
export function emptyHistogram(float = false): Histogram {
  return {
    float,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    positiveBuckets: [],
    negativeSpans: [],
    negativeBuckets: [],
    resetHint: ResetHint.Unknown,
    customValues: [],
  };
}

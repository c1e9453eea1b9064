/**
 * The seams around storage: scrape → `Appender` → agent db → WAL, and WAL →
 * `WalSource` → remote endpoints. Remote write and scraping depend only on
 * these types, never on the WAL's internals.
 *
 * @module
 */

import type { Exemplar } from "../model/exemplar.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";

/** A small positive integer naming a series inside the agent db. 0 means "unknown". */
export type SeriesRef = number;

/**
 * Collects one scrape's samples; committed or rolled back whole.
 * Staleness markers are passed with `appendStale`, never as a NaN value.
 */
export interface Appender {
  /**
   * Adds a sample. `ref` is the series' ref from an earlier append, or 0 to
   * look the series up (or create it) by `labels`. Returns the series' ref.
   */
  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef;
  /**
   * Like `append`, with the series' start time (`st`, ms; OpenMetrics
   * `_created`, protobuf `created_timestamp`). `st` 0 means unknown.
   */
  appendWithStart(ref: SeriesRef, labels: Labels, t: number, v: number, st: number): SeriesRef;
  /**
   * Adds a native histogram sample (`st`: start time in ms, 0 when unknown).
   * The appender does not keep `h`: it may be reused after the call.
   */
  appendHistogram(ref: SeriesRef, labels: Labels, t: number, h: Histogram, st: number): SeriesRef;
  /**
   * Adds a staleness marker for the series. For a series whose last value was
   * a histogram, the marker is a stale histogram (RW sends it as a histogram
   * whose `sum` has the StaleNaN bits); otherwise a stale float sample.
   */
  appendStale(ref: SeriesRef, labels: Labels, t: number): SeriesRef;
  /** Adds an exemplar of the series (deduplicated against the series' last exemplar). */
  appendExemplar(ref: SeriesRef, labels: Labels, e: Exemplar): SeriesRef;
  /**
   * Sets the series' metadata. Written to the WAL only when it differs from
   * what the series has, so calling it every scrape is cheap.
   */
  updateMetadata(ref: SeriesRef, labels: Labels, m: MetricMetadata): SeriesRef;
  /** Makes the appended samples durable per the WAL's sync policy and visible to readers. */
  commit(): Promise<void>;
  /** Discards everything appended since the last commit. */
  rollback(): void;
}

/** Something that hands out appenders (the agent db). */
export interface Appendable {
  appender(): Appender;
}

/** A byte position in the WAL: segment number and offset inside it. */
export interface WalPosition {
  segment: number;
  offset: number;
}

/** Compares two positions: negative when a < b. */
export function comparePositions(a: WalPosition, b: WalPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

/**
 * Samples read from the WAL, columnar. `stale[i] === 1` marks a staleness
 * marker, whose `values[i]` is meaningless. `st[i]` is the sample's start
 * time in ms (0: unknown).
 */
export interface SampleColumns {
  length: number;
  refs: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
  stale: Uint8Array;
  st: Float64Array;
}

/** A native histogram sample read from the WAL. */
export interface HistogramSample {
  ref: SeriesRef;
  t: number;
  /** Start time in ms, 0 when unknown. */
  st: number;
  /** A staleness marker: `h` is then an empty histogram and must not be used as a value. */
  stale: boolean;
  h: Histogram;
}

/** An exemplar read from the WAL. */
export interface ExemplarSample {
  ref: SeriesRef;
  e: Exemplar;
}

/**
 * A run of WAL records handed to a remote endpoint. Each list is in WAL order;
 * samples, histograms and exemplars of one series keep their order within
 * their list.
 */
export interface WalChunk {
  samples: SampleColumns;
  /** Native histogram samples (empty when none). */
  histograms: HistogramSample[];
  /** Exemplars (empty when none). */
  exemplars: ExemplarSample[];
  /** Position just after the last record of this chunk: acknowledging it means all of it was delivered. */
  end: WalPosition;
}

/** An endpoint's persisted delivery position. */
export interface DeliveryCursor {
  /** Where delivery resumes: everything before it was delivered. */
  readonly position: WalPosition;
  /** Records that everything before `pos` was delivered. Persisted at most once a second and on close. */
  ack(pos: WalPosition): void;
  /** Forgets this cursor (endpoint removed from the config), so it holds back no truncation. */
  release(): void;
}

/** Options of `WalSource.tail`. */
export interface TailOptions {
  /**
   * The cursor this reader delivers for. When the WAL drops undelivered data
   * (retention, disk cap) it moves that cursor forward; the reader then skips
   * to it, and what it had already handed out is not counted as dropped.
   */
  cursor?: string;
  /**
   * Lend each chunk's `samples` instead of giving a copy: they stay valid
   * until the iterator is asked for the next chunk, and are then reused.
   * For a reader that copies what it keeps before asking for more.
   */
  lend?: boolean;
}

/** The WAL as remote write sees it. */
export interface WalSource {
  /** The named cursor, created at the current end of the WAL if it does not exist. */
  cursor(name: string): DeliveryCursor;
  /**
   * Reads samples from `from` onward in WAL order; when caught up, waits for
   * new commits. Ends when `signal` aborts. A chunk is consumed once the
   * iterator is asked for the next one: until then, the labels of its refs
   * stay known.
   */
  tail(from: WalPosition, signal: AbortSignal, opts?: TailOptions): AsyncIterable<WalChunk>;
  /** The labels of a series ref, while the series is known. */
  labels(ref: SeriesRef): Labels | undefined;
  /** The latest metadata of a series ref, if any was recorded and the series is known. */
  metadata(ref: SeriesRef): MetricMetadata | undefined;
}

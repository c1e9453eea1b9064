/**
 * Types shared by the remote-write encoders and decoders: the error class,
 * encoder options and the decoded request shapes (RW 1.0 and RW 2.0 decode
 * into the same structure).
 *
 * @module
 */

import type { SeriesCache } from "./series_cache.ts";
import type protobuf from "protobufjs";
import type { Histogram } from "../model/histogram.ts";
import type { MetricKind, MetricMetadata } from "../model/metadata.ts";

/** A malformed request body (bad snappy stream, bad protobuf, over the size limit). */
export class CodecError extends Error {
  override name = "CodecError";
}

/** Options of the request encoders. */
export interface EncodeOptions {
  /**
   * A writer identity to reuse across calls: the encoders keep their output
   * buffer per writer, so the returned bytes are then a view into that buffer,
   * valid until the next call with the same writer. Without one, the result is
   * a fresh copy.
   */
  writer?: protobuf.Writer;
  /**
   * RW 1.0 only: the encoded label blocks of the series the cache holds (by
   * the batch's keys, which are series refs), so a steady series is encoded
   * once. Costs about the encoded label size per held series.
   */
  labelCache?: SeriesCache;
  /** RW 2.0 only: metadata of a series key (ref); omitted or undefined → UNSPECIFIED metadata. */
  metadata?: (key: number) => MetricMetadata | undefined;
}

/** A decoded native histogram sample. */
export interface DecodedHistogram extends Histogram {
  /** Sample timestamp (ms). */
  timestamp: number;
  /** Start (created) timestamp in ms; 0 when unset (always 0 in RW 1.0). */
  startTimestamp: number;
  /** Whether `sum` had exactly the StaleNaN bits (then `sum` reads as NaN). */
  stale: boolean;
}

/** A decoded exemplar. */
export interface DecodedExemplar {
  /** Label pairs in wire order. */
  labels: [string, string][];
  value: number;
  /** Milliseconds; 0 when unset. */
  timestamp: number;
}

/** One decoded `TimeSeries`. */
export interface DecodedSeries {
  /** Label pairs in wire order (a valid request has them sorted by name). */
  labels: [string, string][];
  /** Float sample timestamps (ms). */
  timestamps: number[];
  /** Float sample values; `NaN` where `stale[i]`. */
  values: number[];
  /** Whether each float sample's value had exactly the StaleNaN bits. */
  stale: boolean[];
  /** Start timestamp of each float sample (ms), 0 when unset (always 0 in RW 1.0). */
  startTimestamps: number[];
  /** Native histogram samples. */
  histograms: DecodedHistogram[];
  /** Number of exemplars (`exemplarList.length`). */
  exemplars: number;
  /** The exemplars. */
  exemplarList: DecodedExemplar[];
  /** RW 2.0 inline metadata (type 0 reads as "unknown"); null when absent and always in RW 1.0. */
  metadata: MetricMetadata | null;
}

/** One RW 1.0 `MetricMetadata` entry. */
export interface DecodedMetadata {
  family: string;
  type: MetricKind;
  help: string;
  unit: string;
}

/** A decoded write request (RW 1.0 `prometheus.WriteRequest` or RW 2.0 `io.prometheus.write.v2.Request`). */
export interface DecodedWriteRequest {
  /** Series in wire order. RW 2.0 may carry the same labels in several entries. */
  series: DecodedSeries[];
  /** Total float samples. */
  samples: number;
  /** Float samples that are staleness markers (stale histograms are flagged on the histogram). */
  staleMarkers: number;
  /** Number of RW 1.0 `MetricMetadata` entries. */
  metadata: number;
  /** Total histogram samples. */
  histograms: number;
  /** Total exemplars. */
  exemplars: number;
  /** RW 1.0 metadata entries (empty in RW 2.0). */
  metadataList: DecodedMetadata[];
  /** RW 2.0 symbol table (empty in RW 1.0). */
  symbols: string[];
  /** Protocol the body was decoded as. */
  version: 1 | 2;
}

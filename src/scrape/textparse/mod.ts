/**
 * Exposition parsers behind one pull interface, and the choice of parser from
 * a scrape's Content-Type.
 *
 * @module
 */

import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { ScrapeProtocol } from "../../config/types.ts";
import { decodeBody } from "./decode.ts";
import { ParseError, TooManyLabelsError } from "./errors.ts";
import { OpenMetricsParser } from "./openmetrics.ts";
import { PromParser } from "./prom.ts";
import { ProtobufParser } from "./protobuf.ts";

export { ParseError, TooManyLabelsError };

/**
 * What `next()` stopped at: a float sample ("series"), a native histogram
 * sample ("histogram", protobuf only), or family metadata. Parsers may add
 * kinds; callers skip kinds they do not know.
 */
export type EntryKind = "series" | "histogram" | "type" | "help" | "unit";

/** Metric types across both formats (OpenMetrics adds info, stateset, gaugehistogram; `unknown` is OM's untyped). */
export type MetricType =
  | "counter"
  | "gauge"
  | "histogram"
  | "summary"
  | "untyped"
  | "unknown"
  | "info"
  | "stateset"
  | "gaugehistogram";

/** An exemplar attached to the current sample (OpenMetrics, protobuf). */
export interface Exemplar {
  labels: Labels;
  value: number;
  /** Milliseconds, or null when absent. */
  timestamp: number | null;
}

/**
 * A pull parser over one exposition body. After `next()` returns "series"
 * or "histogram", the accessors describe that sample until the next call.
 */
export interface Parser {
  next(): EntryKind | null;
  /**
   * The sample's cache key: the same string for the same series in every
   * scrape of one format (text parsers: the raw series text, a slice of the
   * body).
   */
  series(): string;
  /** The same text as a copy that does not pin the body (for storing). */
  ownedSeries(): string;
  /**
   * Full label set incl. `__name__`; may allocate (called on cache misses).
   * With `owned` false the strings may share memory with the body, which is
   * cheaper for a look that does not keep them (formats whose strings never
   * do may ignore it). @default true
   */
  labels(owned?: boolean): Labels;
  value(): number;
  /** Milliseconds, or null. */
  timestamp(): number | null;
  family(): string;
  type(): MetricType;
  help(): string;
  /** OpenMetrics, protobuf: the exemplar of the current series sample, if any. */
  exemplar?(): Exemplar | null;
  /**
   * Protobuf: every exemplar of the current sample (a native histogram may
   * have several; those without a timestamp are already left out there).
   */
  exemplars?(): readonly Exemplar[];
  /** Protobuf: the native histogram of a "histogram" entry (a fresh object each entry). */
  histogram?(): Histogram;
  /** OpenMetrics: the UNIT of the current entry's family ("" if none). */
  unit?(): string;
  /** OpenMetrics: on a `_created` series, its value as a start time in ms; otherwise null. */
  createdTimestamp?(): number | null;
  /**
   * The start time in ms of the current sample, or null: OpenMetrics from
   * its family's `_created` line, protobuf from `created_timestamp`.
   */
  startTimestamp?(): number | null;
}

/** How a parser treats histograms (protobuf; the text formats have only classic ones). */
export interface ParserOptions {
  /** Yield native histograms (`scrape_native_histograms`). @default false */
  nativeHistograms?: boolean;
  /** Also yield the classic series of histograms that have both forms. @default false */
  classicHistograms?: boolean;
  /**
   * Most labels with a non-empty value a series may have, the metric name
   * not counted: `labels()` of a series with more throws
   * {@link TooManyLabelsError} without building them, and the parser keeps
   * the positions of at most this many labels of a series, so a series with
   * millions of labels costs no more memory than its text. @default Infinity
   */
  maxLabels?: number;
}

/** Exposition formats, named as Prometheus' `scrape_protocols` (defined with the config model). */
export type { ScrapeProtocol };

/**
 * A parser for a body in `protocol`. The protobuf format needs the bytes;
 * the text formats take text or bytes (decoded as `decodeBody` does).
 */
export function createParser(
  protocol: ScrapeProtocol,
  body: string | Uint8Array,
  opts: ParserOptions = {},
): Parser {
  switch (protocol) {
    case "PrometheusText0.0.4":
    case "PrometheusText1.0.0":
      return new PromParser(typeof body === "string" ? body : decodeBody(body), {
        maxLabels: opts.maxLabels,
      });
    case "OpenMetricsText1.0.0":
    case "OpenMetricsText0.0.1":
      return new OpenMetricsParser(typeof body === "string" ? body : decodeBody(body), {
        maxLabels: opts.maxLabels,
      });
    case "PrometheusProto":
      if (typeof body === "string") {
        throw new TypeError("the PrometheusProto format is binary: pass the body's bytes");
      }
      return new ProtobufParser(body, opts);
    default:
      throw new ParseError(`the ${protocol} format is not supported`, 1, 1);
  }
}

/**
 * Exposition parsers behind one pull interface, and the choice of parser from
 * a scrape's Content-Type.
 *
 * @module
 */

import type { Labels } from "../../model/labels.ts";
import type { ScrapeProtocol } from "../../config/types.ts";
import { ParseError } from "./errors.ts";
import { OpenMetricsParser } from "./openmetrics.ts";
import { PromParser } from "./prom.ts";

export { ParseError };

/** What `next()` stopped at. Parsers may add kinds (`unit`); callers skip kinds they do not know. */
export type EntryKind = "series" | "type" | "help" | "unit";

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

/** An exemplar attached to the last series entry (OpenMetrics). */
export interface Exemplar {
  labels: Labels;
  value: number;
  /** Milliseconds, or null when absent. */
  timestamp: number | null;
}

/**
 * A pull parser over one exposition body. After `next()` returns "series",
 * the accessors describe that line until the next call.
 */
export interface Parser {
  next(): EntryKind | null;
  /** Raw series text of the line (cache key); a slice of the body. */
  series(): string;
  /** The same text as a copy that does not pin the body (for storing). */
  ownedSeries(): string;
  /** Full label set incl. `__name__`; may allocate (called on cache misses). */
  labels(): Labels;
  value(): number;
  /** Milliseconds, or null. */
  timestamp(): number | null;
  family(): string;
  type(): MetricType;
  help(): string;
  /** OpenMetrics: the exemplar of the current series line, if any. */
  exemplar?(): Exemplar | null;
  /** OpenMetrics: the UNIT of the current entry's family ("" if none). */
  unit?(): string;
  /** OpenMetrics: on a `_created` series, its value as a start time in ms; otherwise null. */
  createdTimestamp?(): number | null;
  /** OpenMetrics: the start time in ms of the current sample from its family's `_created` line, or null. */
  startTimestamp?(): number | null;
}

/** Exposition formats, named as Prometheus' `scrape_protocols` (defined with the config model). */
export type { ScrapeProtocol };

/** A parser for a body in `protocol`. */
export function createParser(protocol: ScrapeProtocol, text: string): Parser {
  switch (protocol) {
    case "PrometheusText0.0.4":
    case "PrometheusText1.0.0":
      return new PromParser(text);
    case "OpenMetricsText1.0.0":
    case "OpenMetricsText0.0.1":
      return new OpenMetricsParser(text);
    default:
      throw new ParseError(`the ${protocol} format is not supported yet`, 1, 1);
  }
}

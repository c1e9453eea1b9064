/**
 * Exemplars: a labelled example observation (typically a trace ID) attached
 * to a sample of a series.
 *
 * @module
 */

import type { Labels } from "./labels.ts";

/** One exemplar. */
export interface Exemplar {
  /** Exemplar labels (e.g. `trace_id`); may be empty. */
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch; the scrape's timestamp when the exposition gave none. */
  ts: number;
}

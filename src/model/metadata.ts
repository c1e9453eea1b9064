/**
 * Metric metadata (type, help, unit) as scraped from TYPE/HELP/UNIT lines or
 * the protobuf format, and sent with remote write (RW 1.0 `MetricMetadata`
 * requests, RW 2.0 inline per series).
 *
 * @module
 */

/** Metric types, as both remote-write protos number them. */
export const MetricTypeCode = {
  unknown: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
} as const;

/** A metric type name (`untyped` from the 0.0.4 text format is stored as `unknown`). */
export type MetricKind = keyof typeof MetricTypeCode;

/** The metadata of one metric family. */
export interface MetricMetadata {
  type: MetricKind;
  /** "" when none. */
  help: string;
  /** "" when none. */
  unit: string;
}

/** Maps a parser's type name to a `MetricKind` (`untyped` and unknown names become `unknown`). */
export function metricKind(type: string): MetricKind {
  return Object.hasOwn(MetricTypeCode, type) ? type as MetricKind : "unknown";
}

/** Whether two metadata values are equal. */
export function sameMetadata(a: MetricMetadata, b: MetricMetadata): boolean {
  return a.type === b.type && a.help === b.help && a.unit === b.unit;
}

/**
 * Whether a series named `name` belongs to the metric family `family` of
 * `type`, as Prometheus decides before attaching metadata: the name is the
 * family's, or it with the type's suffix (`_total` for counters; `_sum`,
 * `_count` for summaries, and `_bucket` for histograms; gauge histograms
 * also `_gsum`, `_gcount`, as OpenMetrics names them, besides the `_sum`,
 * `_count` the protobuf format gives; `_info` for info).
 */
export function belongsToFamily(name: string, family: string, type: string): boolean {
  if (!name.startsWith(family)) return false;
  if (name.length === family.length) return true;
  const rest = name.slice(family.length);
  switch (type) {
    case "counter":
      return rest === "_total";
    case "histogram":
    case "summary":
      return rest === "_sum" || rest === "_count" || (type === "histogram" && rest === "_bucket");
    case "gaugehistogram":
      return rest === "_bucket" || rest === "_sum" || rest === "_count" || rest === "_gsum" ||
        rest === "_gcount";
    case "info":
      return rest === "_info";
    default:
      return false;
  }
}

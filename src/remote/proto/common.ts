/**
 * Pieces shared by the RW 1.0 and RW 2.0 reflection schemas: the field
 * helper, the `Histogram`/`BucketSpan` messages (same field numbers in both
 * protocols, RW 2.0 adds `start_timestamp = 17`) and the metric type enum.
 *
 * @module
 */

import type protobuf from "protobufjs";

type FieldJson = protobuf.IField & { rule?: "repeated" };

/** A field descriptor. */
export function field(type: string, id: number, repeated = false): FieldJson {
  return repeated ? { type, id, rule: "repeated" } : { type, id };
}

/** The metric type enum values, names prefixed with `prefix` (RW 2.0 uses `METRIC_TYPE_`). */
export function metricTypeValues(prefix: string): Record<string, number> {
  const names = [
    "UNKNOWN",
    "COUNTER",
    "GAUGE",
    "HISTOGRAM",
    "GAUGEHISTOGRAM",
    "SUMMARY",
    "INFO",
    "STATESET",
  ];
  const out: Record<string, number> = {};
  names.forEach((n, i) => out[prefix + (i === 0 && prefix ? "UNSPECIFIED" : n)] = i);
  return out;
}

/** `Histogram` and `BucketSpan`, with doubles as `valueType`; `withStart` adds RW 2.0's field 17. */
export function histogramMessages(
  valueType: "double" | "fixed64",
  withStart: boolean,
): Record<string, protobuf.AnyNestedObject> {
  const fields: Record<string, FieldJson> = {
    countInt: field("uint64", 1),
    countFloat: field(valueType, 2),
    sum: field(valueType, 3),
    schema: field("sint32", 4),
    zeroThreshold: field(valueType, 5),
    zeroCountInt: field("uint64", 6),
    zeroCountFloat: field(valueType, 7),
    negativeSpans: field("BucketSpan", 8, true),
    negativeDeltas: field("sint64", 9, true),
    negativeCounts: field(valueType, 10, true),
    positiveSpans: field("BucketSpan", 11, true),
    positiveDeltas: field("sint64", 12, true),
    positiveCounts: field(valueType, 13, true),
    resetHint: field("ResetHint", 14),
    timestamp: field("int64", 15),
    customValues: field(valueType, 16, true),
  };
  if (withStart) fields.startTimestamp = field("int64", 17);
  return {
    Histogram: {
      oneofs: {
        count: { oneof: ["countInt", "countFloat"] },
        zeroCount: { oneof: ["zeroCountInt", "zeroCountFloat"] },
      },
      fields,
      nested: { ResetHint: { values: { UNKNOWN: 0, YES: 1, NO: 2, GAUGE: 3 } } },
    },
    BucketSpan: { fields: { offset: field("sint32", 1), length: field("uint32", 2) } },
  };
}

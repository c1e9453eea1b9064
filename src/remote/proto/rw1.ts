/**
 * Remote Write 1.0 (`prometheus.WriteRequest`) as a protobufjs reflection
 * descriptor, plus a twin namespace used for bit-exact decoding.
 *
 * Field numbers follow the RW 1.0 spec (`remote.proto` / `types.proto`):
 *
 * ```proto
 * message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
 * message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; }
 * message Label        { string name = 1; string value = 2; }
 * message Sample       { double value = 1; int64 timestamp = 2; }
 * message Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
 * message MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 * ```
 *
 * `ferry.rw1raw` is the same schema with every `double` declared `fixed64`
 * (same wire type 1), so decoding yields the raw 64 bits and staleness
 * markers are recognised by their bits rather than through a JS number.
 *
 * @module
 */

import protobuf from "protobufjs";

/** Wire tags (field number << 3 | wire type) used by the hand-written encoder. */
export const TAG = {
  /** WriteRequest.timeseries, length-delimited. */
  WRITE_REQUEST_TIMESERIES: (1 << 3) | 2,
  /** TimeSeries.labels, length-delimited. */
  TIMESERIES_LABELS: (1 << 3) | 2,
  /** TimeSeries.samples, length-delimited. */
  TIMESERIES_SAMPLES: (2 << 3) | 2,
  /** Label.name, length-delimited. */
  LABEL_NAME: (1 << 3) | 2,
  /** Label.value, length-delimited. */
  LABEL_VALUE: (2 << 3) | 2,
  /** Sample.value, 64-bit. */
  SAMPLE_VALUE: (1 << 3) | 1,
  /** Sample.timestamp, varint. */
  SAMPLE_TIMESTAMP: (2 << 3) | 0,
} as const;

type FieldJson = protobuf.IField & { rule?: "repeated" };

function messages(valueType: "double" | "fixed64"): Record<string, protobuf.AnyNestedObject> {
  const f = (type: string, id: number, repeated = false): FieldJson =>
    repeated ? { type, id, rule: "repeated" } : { type, id };
  return {
    WriteRequest: {
      fields: {
        timeseries: f("TimeSeries", 1, true),
        metadata: f("MetricMetadata", 3, true),
      },
      reserved: [[2, 2]],
    },
    TimeSeries: {
      fields: {
        labels: f("Label", 1, true),
        samples: f("Sample", 2, true),
        exemplars: f("Exemplar", 3, true),
      },
    },
    Label: { fields: { name: f("string", 1), value: f("string", 2) } },
    Sample: { fields: { value: f(valueType, 1), timestamp: f("int64", 2) } },
    Exemplar: {
      fields: {
        labels: f("Label", 1, true),
        value: f(valueType, 2),
        timestamp: f("int64", 3),
      },
    },
    MetricMetadata: {
      fields: {
        type: f("MetricType", 1),
        metricFamilyName: f("string", 2),
        help: f("string", 4),
        unit: f("string", 5),
      },
      nested: {
        MetricType: {
          values: {
            UNKNOWN: 0,
            COUNTER: 1,
            GAUGE: 2,
            HISTOGRAM: 3,
            GAUGEHISTOGRAM: 4,
            SUMMARY: 5,
            INFO: 6,
            STATESET: 7,
          },
        },
      },
    },
  };
}

/** The reflection root holding `prometheus.*` (true schema) and `ferry.rw1raw.*` (raw-bits twin). */
export const rw1Root: protobuf.Root = protobuf.Root.fromJSON({
  nested: {
    prometheus: { nested: messages("double") },
    ferry: { nested: { rw1raw: { nested: messages("fixed64") } } },
  },
});

/** `prometheus.WriteRequest` with `double` values (as published). */
export const WriteRequestType: protobuf.Type = rw1Root.lookupType("prometheus.WriteRequest");

/** `prometheus.WriteRequest` with values read as raw `fixed64` bits. */
export const RawWriteRequestType: protobuf.Type = rw1Root.lookupType(
  "ferry.rw1raw.WriteRequest",
);

/**
 * Remote Write 1.0 (`prometheus.WriteRequest`) as a protobufjs reflection
 * descriptor, plus a twin namespace for bit-exact reading. Used by tests and
 * benches as an independent check of the hand-written codec (codec_rw1.ts).
 *
 * Field numbers follow `prompb/remote.proto` and `prompb/types.proto`:
 *
 * ```proto
 * message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
 * message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
 *                        repeated Histogram histograms = 4; }
 * message Label        { string name = 1; string value = 2; }
 * message Sample       { double value = 1; int64 timestamp = 2; }
 * message Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
 * message MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 * message Histogram    { oneof count { uint64 count_int = 1; double count_float = 2; } double sum = 3;
 *                        sint32 schema = 4; double zero_threshold = 5;
 *                        oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
 *                        repeated BucketSpan negative_spans = 8; repeated sint64 negative_deltas = 9;
 *                        repeated double negative_counts = 10; repeated BucketSpan positive_spans = 11;
 *                        repeated sint64 positive_deltas = 12; repeated double positive_counts = 13;
 *                        ResetHint reset_hint = 14; int64 timestamp = 15; repeated double custom_values = 16; }
 * message BucketSpan   { sint32 offset = 1; uint32 length = 2; }
 * ```
 *
 * `ferry.rw1raw` is the same schema with every `double` declared `fixed64`
 * (same wire type 1), so decoding yields the raw 64 bits and staleness
 * markers are recognised by their bits rather than through a JS number.
 *
 * @module
 */

import protobuf from "protobufjs";
import { field as f, histogramMessages, metricTypeValues } from "./common.ts";

function messages(valueType: "double" | "fixed64"): Record<string, protobuf.AnyNestedObject> {
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
        histograms: f("Histogram", 4, true),
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
      nested: { MetricType: { values: metricTypeValues("") } },
    },
    ...histogramMessages(valueType, false),
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

/** `prometheus.WriteRequest` with doubles read as raw `fixed64` bits. */
export const RawWriteRequestType: protobuf.Type = rw1Root.lookupType(
  "ferry.rw1raw.WriteRequest",
);

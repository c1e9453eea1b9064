/**
 * Remote Write 2.0 (`io.prometheus.write.v2.Request`, spec 2.0-rc.4) as a
 * protobufjs reflection descriptor, plus a raw-bits twin (`double` read as
 * `fixed64`). Used by tests as an independent check of the hand-written
 * codec (codec_rw2.ts). Field numbers follow
 * `prompb/io/prometheus/write/v2/types.proto`:
 *
 * ```proto
 * message Request    { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
 * message TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
 *                      repeated Exemplar exemplars = 4; Metadata metadata = 5; reserved 6; }
 * message Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
 * message Exemplar   { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
 * message Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
 * // Histogram as in RW 1.0 plus int64 start_timestamp = 17.
 * ```
 *
 * @module
 */

import protobuf from "protobufjs";
import { field as f, histogramMessages, metricTypeValues } from "./common.ts";

function messages(valueType: "double" | "fixed64"): Record<string, protobuf.AnyNestedObject> {
  return {
    Request: {
      fields: { symbols: f("string", 4, true), timeseries: f("TimeSeries", 5, true) },
      reserved: [[1, 3]],
    },
    TimeSeries: {
      fields: {
        labelsRefs: f("uint32", 1, true),
        samples: f("Sample", 2, true),
        histograms: f("Histogram", 3, true),
        exemplars: f("Exemplar", 4, true),
        metadata: f("Metadata", 5),
      },
      reserved: [[6, 6]],
    },
    Sample: {
      fields: {
        value: f(valueType, 1),
        timestamp: f("int64", 2),
        startTimestamp: f("int64", 3),
      },
    },
    Exemplar: {
      fields: {
        labelsRefs: f("uint32", 1, true),
        value: f(valueType, 2),
        timestamp: f("int64", 3),
      },
    },
    Metadata: {
      fields: { type: f("MetricType", 1), helpRef: f("uint32", 3), unitRef: f("uint32", 4) },
      nested: { MetricType: { values: metricTypeValues("METRIC_TYPE_") } },
    },
    ...histogramMessages(valueType, true),
  };
}

/** The reflection root holding `io.prometheus.write.v2.*` and its raw-bits twin `ferry.rw2raw.*`. */
export const rw2Root: protobuf.Root = protobuf.Root.fromJSON({
  nested: {
    io: {
      nested: {
        prometheus: { nested: { write: { nested: { v2: { nested: messages("double") } } } } },
      },
    },
    ferry: { nested: { rw2raw: { nested: messages("fixed64") } } },
  },
});

/** `io.prometheus.write.v2.Request` with `double` values (as published). */
export const RequestV2Type: protobuf.Type = rw2Root.lookupType("io.prometheus.write.v2.Request");

/** `io.prometheus.write.v2.Request` with doubles read as raw `fixed64` bits. */
export const RawRequestV2Type: protobuf.Type = rw2Root.lookupType("ferry.rw2raw.Request");

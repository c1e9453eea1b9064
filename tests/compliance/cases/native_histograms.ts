/**
 * Native histograms end to end (issue 6, item 5), beyond the upstream
 * histograms_test.go whose targets can only serve classic histograms: a
 * target serves the protobuf format (`PrometheusProto`) and the job sets
 * `scrape_native_histograms: true`; the endpoint has
 * `send_native_histograms: true`. The histogram must arrive as one native
 * histogram per scrape with its layout, counts, start timestamp, exemplar
 * and metadata; and a disappearing one must get a staleness marker.
 *
 * @module
 */

import {
  encodeFamilies,
  PB_TYPE,
  type PbFamily,
} from "../../../src/scrape/textparse/protobuf_testutil.ts";
import {
  check,
  type JobCase,
  type JobView,
  PROTOBUF_CT,
  type RawExposition,
  type RxHistogram,
} from "../harness.ts";

/** One native histogram: zero bucket 2, positive buckets 1 and 3, negative bucket 0. */
const FAMILY: PbFamily = {
  name: "rpc_latency_seconds",
  help: "RPC latency.",
  type: PB_TYPE.histogram,
  metrics: [{
    labels: [["method", "get"]],
    histogram: {
      sampleCount: 6,
      sampleSum: 12.5,
      schema: 3,
      zeroThreshold: 0.001,
      zeroCount: 2,
      positiveSpans: [{ offset: 0, length: 2 }],
      positiveDeltas: [1, 2],
      negativeSpans: [{ offset: 1, length: 1 }],
      negativeDeltas: [0],
      createdTimestamp: { seconds: 1700000000, nanos: 500_000_000 },
      exemplars: [{
        labels: [["trace_id", "nh1"]],
        value: 0.3,
        timestamp: { seconds: 1234567890 },
      }],
    },
  }],
};

const proto = (fams: PbFamily[]): RawExposition => ({
  body: encodeFamilies(fams),
  contentType: PROTOBUF_CT,
});

const NATIVE_SCRAPE = {
  scrape_native_histograms: true,
  scrape_protocols: ["PrometheusProto", "OpenMetricsText1.0.0", "PrometheusText0.0.4"],
};

/** The native histograms of rpc_latency_seconds. */
function histograms(v: JobView): RxHistogram[] {
  return v.named("rpc_latency_seconds").flatMap((s) => s.histograms);
}

/** The histogram as exposed. */
function isExposed(h: RxHistogram): string | null {
  const want = {
    float: false,
    schema: 3,
    count: 6,
    sum: 12.5,
    zeroThreshold: 0.001,
    zeroCount: 2,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [1, 2],
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: [0],
    startTimestamp: 1700000000500,
  };
  for (const [k, val] of Object.entries(want)) {
    const got = (h as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(got) !== JSON.stringify(val)) {
      return `${k}: want ${JSON.stringify(val)}, got ${JSON.stringify(got)}`;
    }
  }
  return null;
}

export const nativeHistogramCases: JobCase[] = [
  {
    name:
      "histograms_test.go: native_histogram_structure (protobuf scrape: a native histogram with its layout)",
    level: "MUST",
    exposition: proto([FAMILY]),
    scrape: NATIVE_SCRAPE,
    ready: (v) => histograms(v).length >= 2,
    check: (v) => {
      const hs = histograms(v);
      check(hs.length >= 2, `want a native histogram per scrape, got ${hs.length}`);
      for (const h of hs) {
        const bad = isExposed(h);
        check(bad === null, `histogram differs: ${bad}`);
        check(!h.stale && Math.abs(Date.now() - h.timestamp) < 60_000, `timestamp ${h.timestamp}`);
      }
      for (const s of v.named("rpc_latency_seconds")) {
        check(s.samples.length === 0, "a native histogram series carries no float samples");
      }
      check(
        v.series.every((s) => !s.labels.__name__.startsWith("rpc_latency_seconds_")),
        "no classic _bucket/_sum/_count series without always_scrape_classic_histograms",
      );
    },
  },
  {
    name:
      "histograms_test.go: histogram_with_metadata_and_exemplars (native: type, help and exemplar)",
    level: "MAY",
    exposition: proto([FAMILY]),
    scrape: NATIVE_SCRAPE,
    ready: (v) => histograms(v).length >= 2,
    check: (v) => {
      const s = v.named("rpc_latency_seconds").find((x) => x.histograms.length > 0);
      check(s, "no native histogram arrived");
      check(
        s.metadata?.type === "histogram" && s.metadata.help === "RPC latency.",
        `metadata ${JSON.stringify(s.metadata)}`,
      );
      const ex = v.named("rpc_latency_seconds").flatMap((x) => x.exemplars);
      check(
        ex.some((e) =>
          e.labels.trace_id === "nh1" && e.value === 0.3 && e.timestamp === 1234567890000
        ),
        `exemplars ${JSON.stringify(ex)}`,
      );
    },
  },
  {
    name:
      "edge_cases_test.go: stale_marker (a native histogram that disappears gets a stale histogram)",
    level: "SHOULD",
    exposition: (n) =>
      proto(
        n === 0
          ? [FAMILY]
          : [{ name: "other", type: PB_TYPE.gauge, metrics: [{ gauge: { value: 1 } }] }],
      ),
    scrape: NATIVE_SCRAPE,
    ready: (v) => histograms(v).some((h) => h.stale) || v.scrapes >= 4,
    check: (v) => {
      const hs = histograms(v);
      const stale = hs.findIndex((h) => h.stale);
      check(stale > 0, `no stale histogram after ${hs.length} histograms`);
      check(stale === hs.length - 1, "histograms after the staleness marker");
      check(Number.isNaN(hs[stale].sum), "a stale histogram's sum reads as NaN");
    },
  },
];

/** RW 1.0 carries native histograms too (TimeSeries.histograms). */
export const nativeHistogramRw1Cases: JobCase[] = [
  {
    name:
      "rw1_compat_test.go: rw1_no_native_histograms (native histograms from a protobuf scrape go as RW 1.0 histograms)",
    level: "MUST",
    exposition: proto([FAMILY]),
    scrape: NATIVE_SCRAPE,
    ready: (v) => histograms(v).length >= 2,
    check: (v) => {
      const hs = histograms(v);
      check(hs.length >= 2, `want a native histogram per scrape, got ${hs.length}`);
      for (const r of v.requests) check(r.version === 1, "RW 1.0");
      for (const h of hs) {
        const bad = isExposed({ ...h, startTimestamp: 1700000000500 });
        check(bad === null, `histogram differs: ${bad}`);
        check(h.startTimestamp === 0, "RW 1.0 has no start timestamp");
      }
    },
  },
];

/**
 * Port of remotewrite/sender/edge_cases_test.go (TestEdgeCases,
 * TestRobustnessUnderLoad).
 *
 * Where the upstream generators produce something other than what the case
 * describes, this port serves what the case describes, and says so:
 * many_timeseries and high_cardinality build names and values with
 * `string(rune(48 + i))`, which yields ':' ';' '<' … and non-ASCII runes past
 * i = 9 (an invalid exposition, so the whole scrape fails); future_timestamp
 * writes the Unix time as one rune; stale_marker serves the word `StaleNaN`,
 * which no text format accepts. Here: 100 and 50 valid series, a timestamp
 * 24 h ahead, and a series that disappears (which is how a real staleness
 * marker comes about).
 *
 * @module
 */

import { check, firstValue, type JobCase, type JobView, requireSeries } from "../harness.ts";

const pad3 = (i: number) => String(i).padStart(3, "0");
const FUTURE_MS = Math.floor(Date.now() / 1000 + 86_400) * 1000;

/** Names of metrics of this job (scrape-report series excluded). */
function names(v: JobView): Set<string> {
  return new Set(
    v.series.map((s) => s.labels.__name__).filter((n) => n !== "up" && !n.startsWith("scrape_")),
  );
}

export const edgeCases: JobCase[] = [
  {
    name: "edge_cases_test.go: empty_scrape",
    level: "SHOULD",
    exposition: "# No metrics\n",
    check: (v) => {
      check(
        firstValue(v, "up") === 1,
        "an empty scrape should still be a successful scrape (up 1)",
      );
      check(firstValue(v, "scrape_samples_scraped") === 0, "scrape_samples_scraped should be 0");
    },
  },
  {
    name: "edge_cases_test.go: huge_label_values",
    level: "SHOULD",
    exposition: `test_metric{large_label="${"x".repeat(10_000)}"} 42\n`,
    check: (v) => {
      const s = requireSeries(v, "test_metric");
      check(
        s.labels.large_label === "x".repeat(10_000),
        `large_label has ${s.labels.large_label?.length} chars`,
      );
    },
  },
  {
    name: "edge_cases_test.go: unicode_in_labels",
    level: "MUST",
    exposition:
      'test_metric{emoji="🚀",chinese="测试",arabic="مرحبا",vietnamese="tôi yêu việt nam"} 42\n',
    check: (v) => {
      const s = requireSeries(v, "test_metric");
      const want = {
        emoji: "🚀",
        chinese: "测试",
        arabic: "مرحبا",
        vietnamese: "tôi yêu việt nam",
      };
      for (const [k, val] of Object.entries(want)) {
        check(s.labels[k] === val, `${k}=${JSON.stringify(s.labels[k])}`);
      }
    },
  },
  {
    name:
      "edge_cases_test.go: many_timeseries (100 valid series; upstream's generator emits invalid names)",
    level: "RECOMMENDED",
    exposition: Array.from({ length: 100 }, (_, i) => `metric_${pad3(i)} ${i}\n`).join(""),
    check: (v) => {
      for (let i = 0; i < 100; i++) {
        check(firstValue(v, `metric_${pad3(i)}`) === i, `metric_${pad3(i)} should be ${i}`);
      }
    },
  },
  {
    name:
      "edge_cases_test.go: high_cardinality (50 valid series; upstream's generator emits invalid values)",
    level: "RECOMMENDED",
    exposition: Array.from(
      { length: 50 },
      (_, i) =>
        `http_requests{path="/api/v1/endpoint_${String(i).padStart(2, "0")}",method="GET"} ${i}\n`,
    ).join(""),
    check: (v) => {
      const paths = new Set(v.named("http_requests").map((s) => s.labels.path));
      check(paths.size === 50, `${paths.size} of 50 series arrived`);
    },
  },
  {
    name: "edge_cases_test.go: very_long_metric_name",
    level: "SHOULD",
    exposition: `metric_${"very_long_name_".repeat(50)} 42\n`,
    check: (v) =>
      check(firstValue(v, `metric_${"very_long_name_".repeat(50)}`) === 42, "long name lost"),
  },
  {
    name: "edge_cases_test.go: special_float_combinations",
    level: "MUST",
    exposition: `special_values{type="nan"} NaN
special_values{type="inf"} +Inf
special_values{type="ninf"} -Inf
special_values{type="zero"} 0
special_values{type="negative"} -123.45
`,
    check: (v) => {
      check(Number.isNaN(firstValue(v, "special_values", { type: "nan" })), "nan");
      check(firstValue(v, "special_values", { type: "inf" }) === Infinity, "+Inf");
      check(firstValue(v, "special_values", { type: "ninf" }) === -Infinity, "-Inf");
      check(Object.is(firstValue(v, "special_values", { type: "zero" }), 0), "0");
      check(firstValue(v, "special_values", { type: "negative" }) === -123.45, "-123.45");
    },
  },
  {
    name: "edge_cases_test.go: zero_timestamp (sent with timestamp 0)",
    level: "SHOULD",
    exposition: "test_metric 42 0\n",
    check: (v) => {
      check(firstValue(v, "up") === 1, "the scrape should succeed");
      const s = requireSeries(v, "test_metric");
      check(s.samples[0].t === 0, `timestamp ${s.samples[0].t}, want 0`);
    },
  },
  {
    name: "edge_cases_test.go: future_timestamp (24 h ahead, sent as exposed)",
    level: "SHOULD",
    exposition: `test_metric 42 ${FUTURE_MS}\n`,
    check: (v) => {
      check(firstValue(v, "up") === 1, "the scrape should succeed");
      const s = requireSeries(v, "test_metric");
      check(s.samples[0].t === FUTURE_MS, `timestamp ${s.samples[0].t}, want ${FUTURE_MS}`);
    },
  },
  {
    name: "edge_cases_test.go: metric_name_with_colons",
    level: "MUST",
    exposition: "http:request:duration:seconds 0.5\n",
    check: (v) => check(firstValue(v, "http:request:duration:seconds") === 0.5, "value"),
  },
  {
    name: "edge_cases_test.go: stale_marker (a series that disappears gets a StaleNaN sample)",
    level: "SHOULD",
    exposition: (n) => n === 0 ? "test_metric 42\n" : "other_metric 1\n",
    ready: (v) => v.samples("test_metric").some((p) => p.stale) || v.scrapes >= 4,
    check: (v) => {
      const ps = v.samples("test_metric");
      const stale = ps.find((p) => p.stale);
      check(stale, `no staleness marker among ${ps.length} test_metric samples`);
      check(Number.isNaN(stale.v), "a staleness marker should decode as NaN");
      check(ps.indexOf(stale) === ps.length - 1, "samples after the staleness marker");
      check(stale.t > ps[0].t, "the marker should come after the last sample");
    },
  },
  {
    name: "edge_cases_test.go: mixed_sample_and_histogram_families",
    level: "MUST",
    exposition: `# Counter
requests_total 100

# Gauge
temperature_celsius 22.5

# Histogram
response_time_bucket{le="0.1"} 50
response_time_bucket{le="+Inf"} 100
response_time_sum 10.5
response_time_count 100

# Summary
rpc_duration{quantile="0.5"} 0.05
rpc_duration{quantile="0.9"} 0.1
rpc_duration_sum 50.0
rpc_duration_count 1000
`,
    check: (v) => {
      const n = names(v);
      for (
        const want of [
          "requests_total",
          "temperature_celsius",
          "response_time_bucket",
          "response_time_sum",
          "response_time_count",
          "rpc_duration",
          "rpc_duration_sum",
          "rpc_duration_count",
        ]
      ) check(n.has(want), `${want} missing`);
    },
  },
  {
    name: "edge_cases_test.go: TestRobustnessUnderLoad",
    level: "SHOULD",
    exposition: Array.from(
      { length: 200 },
      (_, i) => `load_test_metric_${pad3(i)}{label="value_${i % 10}"} ${i % 10}\n`,
    )
      .join(""),
    check: (v) => {
      check(names(v).size === 200, `${names(v).size} of 200 series arrived`);
      const most = Math.max(
        ...v.requests.map((r) => r.series.filter((s) => s.labels.job === v.job).length),
      );
      check(most >= 50, `largest request has ${most} series of this job, want ≥ 50`);
    },
  },
];

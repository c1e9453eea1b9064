/**
 * Port of remotewrite/sender/samples_test.go (TestSampleEncoding,
 * TestSampleOrdering): float values, timestamps, job/instance labels.
 *
 * @module
 */

import { check, firstValue, type JobCase, type JobView, requireSeries } from "../harness.ts";

/** Checks the first sample of `name` is exactly `want` (Object.is: NaN, -0 and ±Inf exact). */
function valueIs(name: string, want: number): (v: JobView) => void {
  return (v) => {
    const got = firstValue(v, name);
    check(Object.is(got, want), `${name}: want ${want}, got ${got}`);
  };
}

/** Timestamps of every series are non-decreasing within each request and across requests. */
export function timestampsOrdered(v: JobView): void {
  const last = new Map<string, number>();
  for (const s of v.series) {
    const key = JSON.stringify(s.pairs);
    for (const p of [...s.samples.map((x) => x.t), ...s.histograms.map((h) => h.timestamp)]) {
      const prev = last.get(key) ?? -Infinity;
      check(prev <= p, `${key}: timestamp ${p} after ${prev}`);
      last.set(key, p);
    }
  }
}

export const sampleCases: JobCase[] = [
  {
    name: "samples_test.go: float_value_encoding",
    level: "MUST",
    exposition: "test_metric 123.45\n",
    check: valueIs("test_metric", 123.45),
  },
  {
    name: "samples_test.go: integer_value_encoding",
    level: "MUST",
    exposition: "test_counter_total 42\n",
    check: valueIs("test_counter_total", 42),
  },
  {
    name: "samples_test.go: zero_value_encoding",
    level: "MUST",
    exposition: "test_gauge 0\n",
    check: valueIs("test_gauge", 0),
  },
  {
    name: "samples_test.go: negative_value_encoding",
    level: "MUST",
    exposition: "temperature_celsius -15.5\n",
    check: valueIs("temperature_celsius", -15.5),
  },
  {
    name: "samples_test.go: positive_infinity_encoding",
    level: "MUST",
    exposition: "test_gauge +Inf\n",
    check: valueIs("test_gauge", Infinity),
  },
  {
    name: "samples_test.go: negative_infinity_encoding",
    level: "MUST",
    exposition: "test_gauge -Inf\n",
    check: valueIs("test_gauge", -Infinity),
  },
  {
    name: "samples_test.go: nan_encoding (a NaN, not a staleness marker)",
    level: "MUST",
    exposition: "test_gauge NaN\n",
    check: (v) => {
      const s = requireSeries(v, "test_gauge");
      check(Number.isNaN(s.samples[0].v), `want NaN, got ${s.samples[0].v}`);
      check(
        !s.samples.some((p) => p.stale),
        "a scraped NaN must not be sent as a staleness marker",
      );
    },
  },
  {
    name: "samples_test.go: timestamp_milliseconds_format",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: (v) => {
      const t = requireSeries(v, "test_metric").samples[0].t;
      check(t > 1e12 && t < 1e16, `timestamp ${t} is not in milliseconds`);
      check(Number.isInteger(t), `timestamp ${t} is not an integer`);
    },
  },
  {
    name: "samples_test.go: timestamp_recent",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      const t = requireSeries(v, "test_metric").samples[0].t;
      check(Math.abs(Date.now() - t) < 5 * 60_000, `timestamp ${t} is not within 5 minutes of now`);
    },
  },
  {
    name: "samples_test.go: multiple_samples_same_series (one sample per scrape, in order)",
    level: "MAY",
    exposition: "test_counter_total 100\n",
    ready: (v) => v.samples("test_counter_total").length >= 2,
    check: (v) => {
      const ts = v.samples("test_counter_total").map((p) => p.t);
      check(ts.length >= 2, `want ≥ 2 samples over two scrapes, got ${ts.length}`);
      check(new Set(ts).size === ts.length, `a timestamp was sent twice: ${ts}`);
      timestampsOrdered(v);
    },
  },
  {
    name: "samples_test.go: large_float_values",
    level: "MUST",
    exposition: "test_large 1.7976931348623157e+308\n",
    check: valueIs("test_large", 1.7976931348623157e+308),
  },
  {
    name: "samples_test.go: small_float_values",
    level: "MUST",
    exposition: "test_small 2.2250738585072014e-308\n",
    check: valueIs("test_small", 2.2250738585072014e-308),
  },
  {
    name: "samples_test.go: scientific_notation",
    level: "MUST",
    exposition: "test_scientific 1.23e-4\n",
    check: valueIs("test_scientific", 1.23e-4),
  },
  {
    name: "samples_test.go: precision_preservation",
    level: "SHOULD",
    exposition: "test_precision 0.123456789012345\n",
    check: valueIs("test_precision", 0.123456789012345),
  },
  {
    name: "samples_test.go: job_instance_labels_present",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      const s = requireSeries(v, "test_metric");
      check(s.labels.job === v.job, `job label ${s.labels.job}, want ${v.job}`);
      check(/^127\.0\.0\.1:\d+$/.test(s.labels.instance ?? ""), `instance ${s.labels.instance}`);
    },
  },
  {
    name: "samples_test.go: TestSampleOrdering",
    level: "MUST",
    exposition: "# Multiple metrics\nmetric_a 1\nmetric_b 2\nmetric_c 3\n",
    ready: (v) => v.scrapes >= 3,
    check: (v) => {
      for (const n of ["metric_a", "metric_b", "metric_c"]) requireSeries(v, n);
      timestampsOrdered(v);
    },
  },
];

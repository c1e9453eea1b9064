/**
 * Port of remotewrite/sender/histograms_test.go (TestHistogramEncoding). The
 * upstream cases serve classic histograms in the 0.0.4 text format, so they
 * arrive as `_bucket`/`_sum`/`_count` series; native histograms (protobuf
 * scrapes) are covered by the native case at the end.
 *
 * @module
 */

import { check, firstValue, type JobCase, type JobView, requireSeries } from "../harness.ts";

/** No series of the job carries both samples and histograms. */
function noMixed(v: JobView): void {
  for (const s of v.series) {
    check(
      s.samples.length === 0 || s.histograms.length === 0,
      `${JSON.stringify(s.labels)} has samples and histograms`,
    );
  }
}

/** The classic series of `base` have these values. */
function classic(base: string, want: { count: number; sum: number; buckets?: [string, number][] }) {
  return (v: JobView) => {
    const count = firstValue(v, `${base}_count`);
    check(count === want.count, `${base}_count: want ${want.count}, got ${count}`);
    const sum = firstValue(v, `${base}_sum`);
    check(sum === want.sum, `${base}_sum: want ${want.sum}, got ${sum}`);
    for (const [le, n] of want.buckets ?? []) {
      const got = firstValue(v, `${base}_bucket`, { le });
      check(got === n, `${base}_bucket{le="${le}"}: want ${n}, got ${got}`);
    }
    noMixed(v);
  };
}

export const histogramCases: JobCase[] = [
  {
    name:
      'histograms_test.go: native_histogram_structure (classic from text; le="1" arrives as "1.0", as Prometheus 3 normalises it)',
    level: "MUST",
    exposition: `# TYPE test_histogram histogram
test_histogram_count 10
test_histogram_sum 25.5
test_histogram_bucket{le="1"} 2
test_histogram_bucket{le="5"} 7
test_histogram_bucket{le="+Inf"} 10
`,
    check: classic("test_histogram", {
      count: 10,
      sum: 25.5,
      buckets: [["1.0", 2], ["5.0", 7], ["+Inf", 10]],
    }),
  },
  {
    name: "histograms_test.go: histogram_count_present",
    level: "MUST",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.5\ntest_histogram_bucket{le="+Inf"} 100\n',
    check: (v) => check(firstValue(v, "test_histogram_count") === 100, "count is not 100"),
  },
  {
    name: "histograms_test.go: histogram_sum_present",
    level: "MUST",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.5\ntest_histogram_bucket{le="+Inf"} 100\n',
    check: (v) => check(firstValue(v, "test_histogram_sum") === 250.5, "sum is not 250.5"),
  },
  {
    name: "histograms_test.go: histogram_buckets_ordered",
    level: "SHOULD",
    exposition: `# TYPE request_duration histogram
request_duration_bucket{le="0.1"} 10
request_duration_bucket{le="0.5"} 50
request_duration_bucket{le="1.0"} 100
request_duration_bucket{le="5.0"} 200
request_duration_bucket{le="+Inf"} 250
request_duration_sum 500.0
request_duration_count 250
`,
    check: classic("request_duration", {
      count: 250,
      sum: 500,
      buckets: [["0.1", 10], ["0.5", 50], ["1.0", 100], ["5.0", 200], ["+Inf", 250]],
    }),
  },
  {
    name: "histograms_test.go: histogram_positive_buckets",
    level: "MAY",
    exposition:
      "# TYPE test_native_histogram histogram\ntest_native_histogram_count 100\ntest_native_histogram_sum 250.0\n",
    check: classic("test_native_histogram", { count: 100, sum: 250 }),
  },
  {
    name: "histograms_test.go: histogram_negative_buckets",
    level: "MAY",
    exposition:
      "# TYPE test_histogram histogram\ntest_histogram_count 50\ntest_histogram_sum -25.0\n",
    check: classic("test_histogram", { count: 50, sum: -25 }),
  },
  {
    name: "histograms_test.go: histogram_zero_bucket",
    level: "MAY",
    exposition:
      "# TYPE test_histogram histogram\ntest_histogram_count 10\ntest_histogram_sum 0.0\n",
    check: classic("test_histogram", { count: 10, sum: 0 }),
  },
  {
    name: "histograms_test.go: histogram_schema",
    level: "MUST",
    exposition:
      "# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 500.0\n",
    check: (v) => {
      classic("test_histogram", { count: 100, sum: 500 })(v);
      for (const s of v.series) {
        for (const h of s.histograms) {
          check(Number.isInteger(h.schema), "native histogram without schema");
        }
      }
    },
  },
  {
    name: "histograms_test.go: histogram_timestamp",
    level: "MUST",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.0\ntest_histogram_bucket{le="+Inf"} 100\n',
    check: (v) => {
      const t = requireSeries(v, "test_histogram_count").samples[0].t;
      check(t > 1e12, `timestamp ${t} is not valid`);
    },
  },
  {
    name: "histograms_test.go: histogram_no_mixed_with_samples",
    level: "MUST",
    exposition:
      "# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.0\n",
    check: (v) => {
      requireSeries(v, "test_histogram_count");
      noMixed(v);
    },
  },
  {
    name: "histograms_test.go: histogram_empty_buckets",
    level: "SHOULD",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 0\ntest_histogram_sum 0\ntest_histogram_bucket{le="+Inf"} 0\n',
    check: classic("test_histogram", { count: 0, sum: 0, buckets: [["+Inf", 0]] }),
  },
  {
    name: "histograms_test.go: histogram_large_counts",
    level: "MUST",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 1000000000\ntest_histogram_sum 5000000000.0\ntest_histogram_bucket{le="+Inf"} 1000000000\n',
    check: classic("test_histogram", { count: 1e9, sum: 5e9, buckets: [["+Inf", 1e9]] }),
  },
];

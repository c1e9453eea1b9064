/**
 * Port of remotewrite/sender/timestamps_test.go (TestTimestampEncoding), plus
 * start timestamps from OpenMetrics `_created` (the RW 2.0 item; the
 * upstream cases serve the 0.0.4 text format, which has no `_created`, so
 * they only check a start timestamp *if* one is sent).
 *
 * @module
 */

import { check, type JobCase, type JobView, requireSeries } from "../harness.ts";
import { timestampsOrdered } from "./samples.ts";

/** Every sample with a start timestamp has a valid one (ms, not after the sample). */
function startTimestampsValid(v: JobView): void {
  check(v.series.length > 0, "no series arrived");
  for (const s of v.series) {
    for (const p of s.samples) {
      if (p.st === 0) continue;
      check(p.st > 1e12, `${s.labels.__name__}: start timestamp ${p.st} is not in milliseconds`);
      check(p.st <= p.t, `${s.labels.__name__}: start timestamp ${p.st} after sample ${p.t}`);
    }
  }
}

const CREATED_S = 1700000000.5;

export const timestampCases: JobCase[] = [
  {
    name: "timestamps_test.go: timestamp_int64_milliseconds",
    level: "MUST",
    exposition: "test_counter_total 42\n",
    check: (v) => {
      const t = requireSeries(v, "test_counter_total").samples[0].t;
      check(Number.isInteger(t) && t > 1e12 && t < 1e16, `timestamp ${t} is not int64 ms`);
    },
  },
  {
    name: "timestamps_test.go: timestamp_ordering_within_series",
    level: "MUST",
    exposition: "# Multiple metrics over time\nmetric_a 1\nmetric_b 2\nmetric_c 3\n",
    ready: (v) => v.scrapes >= 3,
    check: timestampsOrdered,
  },
  {
    name: "timestamps_test.go: start_timestamp_for_counters",
    level: "MAY",
    exposition: "# TYPE test_counter counter\ntest_counter_total 100\n",
    check: (v) => {
      requireSeries(v, "test_counter_total");
      startTimestampsValid(v);
    },
  },
  {
    name:
      "timestamps_test.go: start_timestamp_for_counters (OpenMetrics _created → start_timestamp)",
    level: "MAY",
    exposition:
      `# TYPE test_counter counter\ntest_counter_total 100\ntest_counter_created ${CREATED_S}\n# EOF\n`,
    check: (v) => {
      const s = requireSeries(v, "test_counter_total");
      check(
        s.samples.every((p) => p.st === CREATED_S * 1000),
        `want start_timestamp ${CREATED_S * 1000}, got ${s.samples.map((p) => p.st)}`,
      );
      startTimestampsValid(v);
    },
  },
  {
    name: "timestamps_test.go: start_timestamp_for_histograms",
    level: "MAY",
    exposition:
      '# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.0\ntest_histogram_bucket{le="+Inf"} 100\n',
    check: (v) => {
      requireSeries(v, "test_histogram_count");
      startTimestampsValid(v);
    },
  },
  {
    name:
      "timestamps_test.go: start_timestamp_for_histograms (OpenMetrics _created → start_timestamp)",
    level: "MAY",
    exposition: `# TYPE test_histogram histogram\ntest_histogram_bucket{le="+Inf"} 100\n` +
      `test_histogram_count 100\ntest_histogram_sum 250.0\ntest_histogram_created ${CREATED_S}\n# EOF\n`,
    check: (v) => {
      for (const n of ["test_histogram_count", "test_histogram_sum", "test_histogram_bucket"]) {
        const s = requireSeries(v, n);
        check(
          s.samples.every((p) => p.st === CREATED_S * 1000),
          `${n}: want start_timestamp ${CREATED_S * 1000}, got ${s.samples.map((p) => p.st)}`,
        );
      }
      startTimestampsValid(v);
    },
  },
  {
    name: "timestamps_test.go: start_timestamp_zero_handling",
    level: "SHOULD",
    exposition: "# TYPE test_counter counter\ntest_counter_total 50\n",
    check: (v) => {
      requireSeries(v, "test_counter_total");
      startTimestampsValid(v);
    },
  },
  {
    name: "timestamps_test.go: timestamp_precision",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      const t = requireSeries(v, "test_metric").samples[0].t;
      check(Math.abs(Date.now() - t) < 10 * 60_000, `timestamp ${t} is not within 10 minutes`);
    },
  },
  {
    name: "timestamps_test.go: timestamp_future_values",
    level: "SHOULD",
    exposition: "test_metric 42\n",
    check: (v) => {
      const t = requireSeries(v, "test_metric").samples[0].t;
      check(t - Date.now() < 5 * 60_000, `timestamp ${t} is more than 5 minutes ahead`);
    },
  },
  {
    name: "timestamps_test.go: start_timestamp_before_sample_timestamp",
    level: "SHOULD",
    exposition: "# TYPE test_counter counter\ntest_counter_total 100\n",
    check: (v) => {
      requireSeries(v, "test_counter_total");
      startTimestampsValid(v);
    },
  },
];

/**
 * Port of remotewrite/sender/exemplars_test.go (TestExemplarEncoding). The
 * targets serve OpenMetrics (they carry exemplars); ferry runs with
 * `send_exemplars: true`, so the MAY cases are checked as implemented: the
 * exemplar arrives on the sample's series with its labels, value and
 * timestamp.
 *
 * @module
 */

import { check, type JobCase, type JobView, type RxExemplar } from "../harness.ts";

/** The exemplars of series `name` (labels including `match`). */
function exemplarsOf(v: JobView, name: string, match: Record<string, string> = {}): RxExemplar[] {
  return v.named(name)
    .filter((s) => Object.entries(match).every(([k, val]) => s.labels[k] === val))
    .flatMap((s) => s.exemplars);
}

/** An exemplar with exactly these labels, value and timestamp arrived on `name`. */
export function hasExemplar(
  v: JobView,
  name: string,
  match: Record<string, string>,
  want: { labels: Record<string, string>; value: number; timestamp: number },
): void {
  const got = exemplarsOf(v, name, match);
  const ok = got.some((e) =>
    JSON.stringify(Object.entries(e.labels).sort()) ===
      JSON.stringify(Object.entries(want.labels).sort()) &&
    e.value === want.value && e.timestamp === want.timestamp
  );
  check(
    ok,
    `no exemplar ${JSON.stringify(want)} on ${name}${JSON.stringify(match)}; got ${
      JSON.stringify(got)
    }`,
  );
}

/** Structural checks on every exemplar of the job (refs resolve, pairs, timestamp in ms). */
function exemplarsValid(v: JobView): void {
  for (const s of v.series) {
    for (const e of s.exemplars) {
      check(Number.isFinite(e.value) || Number.isNaN(e.value), "exemplar value unset");
      check(e.timestamp > 1e12, `exemplar timestamp ${e.timestamp} is not in ms`);
      check(e.pairs.every(([n]) => n !== ""), "exemplar label with an empty name");
    }
  }
}

const hasExemplars = (v: JobView) => v.series.some((s) => s.exemplars.length > 0) || v.scrapes >= 3;

export const exemplarCases: JobCase[] = [
  {
    name: "exemplars_test.go: exemplar_with_trace_id",
    level: "MAY",
    exposition: `# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 50 # {trace_id="abc123xyz"} 0.05 1234567890.123
http_request_duration_seconds_bucket{le="+Inf"} 100
http_request_duration_seconds_sum 10.5
http_request_duration_seconds_count 100
`,
    ready: hasExemplars,
    check: (v) => {
      hasExemplar(v, "http_request_duration_seconds_bucket", { le: "0.1" }, {
        labels: { trace_id: "abc123xyz" },
        value: 0.05,
        timestamp: 1234567890123,
      });
      exemplarsValid(v);
    },
  },
  {
    name: "exemplars_test.go: exemplar_with_span_id",
    level: "MAY",
    exposition: `# TYPE http_requests_total counter
http_requests_total 1000 # {trace_id="abc123",span_id="def456"} 999 1234567890.5
`,
    ready: hasExemplars,
    check: (v) =>
      hasExemplar(v, "http_requests_total", {}, {
        labels: { trace_id: "abc123", span_id: "def456" },
        value: 999,
        timestamp: 1234567890500,
      }),
  },
  {
    name: "exemplars_test.go: exemplar_value_valid",
    level: "MUST",
    exposition:
      '# TYPE test_counter counter\ntest_counter 100 # {trace_id="test123"} 99.5 1234567890.0\n',
    ready: hasExemplars,
    check: (v) => {
      hasExemplar(v, "test_counter", {}, {
        labels: { trace_id: "test123" },
        value: 99.5,
        timestamp: 1234567890000,
      });
      exemplarsValid(v);
    },
  },
  {
    name: "exemplars_test.go: exemplar_timestamp_valid",
    level: "MUST",
    exposition:
      '# TYPE test_counter counter\ntest_counter 100 # {trace_id="test123"} 99 1234567890.123\n',
    ready: hasExemplars,
    check: (v) => {
      hasExemplar(v, "test_counter", {}, {
        labels: { trace_id: "test123" },
        value: 99,
        timestamp: 1234567890123,
      });
      exemplarsValid(v);
    },
  },
  {
    name: "exemplars_test.go: exemplar_labels_valid_refs",
    level: "MUST",
    exposition: '# TYPE test_metric counter\ntest_metric 100 # {trace_id="xyz"} 99 1234567890.0\n',
    ready: hasExemplars,
    check: (v) => {
      // Out-of-range refs make the decoder fail the request (counted by the symbols cases too).
      check(v.all.every((r) => r.error === ""), "a request did not decode");
      hasExemplar(v, "test_metric", {}, {
        labels: { trace_id: "xyz" },
        value: 99,
        timestamp: 1234567890000,
      });
    },
  },
  {
    name: "exemplars_test.go: exemplar_custom_labels",
    level: "MAY",
    exposition:
      '# TYPE test_counter counter\ntest_counter 50 # {user_id="user123",request_id="req456"} 49 1234567890.0\n',
    ready: hasExemplars,
    check: (v) =>
      hasExemplar(v, "test_counter", {}, {
        labels: { user_id: "user123", request_id: "req456" },
        value: 49,
        timestamp: 1234567890000,
      }),
  },
  {
    name: "exemplars_test.go: exemplar_on_histogram",
    level: "MAY",
    exposition: `# TYPE request_duration histogram
request_duration_bucket{le="0.1"} 10 # {trace_id="hist123"} 0.05 1234567890.0
request_duration_bucket{le="+Inf"} 100
request_duration_sum 50.0
request_duration_count 100
`,
    ready: hasExemplars,
    check: (v) =>
      hasExemplar(v, "request_duration_bucket", { le: "0.1" }, {
        labels: { trace_id: "hist123" },
        value: 0.05,
        timestamp: 1234567890000,
      }),
  },
  {
    name: "exemplars_test.go: exemplar_labels_even_length",
    level: "MUST",
    exposition:
      '# TYPE test_counter counter\ntest_counter 100 # {trace_id="test"} 99 1234567890.0\n',
    ready: hasExemplars,
    check: (v) => {
      // An odd labels_refs makes the decoder fail the request.
      check(v.all.every((r) => r.error === ""), "a request did not decode");
      hasExemplar(v, "test_counter", {}, {
        labels: { trace_id: "test" },
        value: 99,
        timestamp: 1234567890000,
      });
    },
  },
  {
    name: "exemplars_test.go: multiple_exemplars_per_series (one per bucket series)",
    level: "MAY",
    exposition: `# TYPE test_histogram histogram
test_histogram_bucket{le="0.1"} 10 # {trace_id="ex1"} 0.05 1234567890.0
test_histogram_bucket{le="0.5"} 50 # {trace_id="ex2"} 0.3 1234567891.0
test_histogram_bucket{le="+Inf"} 100
test_histogram_sum 50.0
test_histogram_count 100
`,
    ready: hasExemplars,
    check: (v) => {
      // Each OpenMetrics sample carries at most one exemplar, so every bucket series gets its own.
      hasExemplar(v, "test_histogram_bucket", { le: "0.1" }, {
        labels: { trace_id: "ex1" },
        value: 0.05,
        timestamp: 1234567890000,
      });
      hasExemplar(v, "test_histogram_bucket", { le: "0.5" }, {
        labels: { trace_id: "ex2" },
        value: 0.3,
        timestamp: 1234567891000,
      });
    },
  },
];

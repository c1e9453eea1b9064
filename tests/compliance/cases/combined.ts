/**
 * Port of remotewrite/sender/combined_test.go (TestCombinedFeatures).
 *
 * @module
 */

import { check, firstValue, type JobCase, type JobView } from "../harness.ts";
import { hasExemplar } from "./exemplars.ts";
import { hasMetadata } from "./metadata.ts";

/** No series carries both samples and histograms. */
function noMixed(v: JobView): void {
  for (const s of v.series) {
    check(s.samples.length === 0 || s.histograms.length === 0, `${JSON.stringify(s.labels)} mixes`);
  }
}

export const combinedCases: JobCase[] = [
  {
    name: "combined_test.go: samples_with_metadata",
    level: "SHOULD",
    exposition: `# HELP http_requests_total Total HTTP requests received
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 1000
http_requests_total{method="POST",status="201"} 500
`,
    check: (v) => {
      for (const method of ["GET", "POST"]) {
        hasMetadata(v, "http_requests_total", {
          type: "counter",
          help: "Total HTTP requests received",
        }, { method });
      }
    },
  },
  {
    name: "combined_test.go: samples_with_exemplars",
    level: "MAY",
    exposition:
      '# TYPE request_count counter\nrequest_count 1000 # {trace_id="abc123",span_id="def456"} 999 1234567890.123\n',
    ready: (v) => v.series.some((s) => s.exemplars.length > 0) || v.scrapes >= 3,
    check: (v) => {
      check(firstValue(v, "request_count") === 1000, "request_count");
      hasExemplar(v, "request_count", {}, {
        labels: { trace_id: "abc123", span_id: "def456" },
        value: 999,
        timestamp: 1234567890123,
      });
    },
  },
  {
    name: "combined_test.go: histogram_with_metadata_and_exemplars",
    level: "MAY",
    exposition: `# HELP request_duration_seconds Request duration in seconds
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="0.1"} 100 # {trace_id="hist123"} 0.05 1234567890.0
request_duration_seconds_bucket{le="0.5"} 250
request_duration_seconds_bucket{le="1.0"} 500
request_duration_seconds_bucket{le="+Inf"} 1000
request_duration_seconds_sum 450.5
request_duration_seconds_count 1000
`,
    ready: (v) => v.series.some((s) => s.exemplars.length > 0) || v.scrapes >= 3,
    check: (v) => {
      hasMetadata(v, "request_duration_seconds_count", {
        type: "histogram",
        help: "Request duration in seconds",
      });
      hasMetadata(v, "request_duration_seconds_bucket", { type: "histogram" }, { le: "0.1" });
      hasExemplar(v, "request_duration_seconds_bucket", { le: "0.1" }, {
        labels: { trace_id: "hist123" },
        value: 0.05,
        timestamp: 1234567890000,
      });
    },
  },
  {
    name: "combined_test.go: multiple_metric_types",
    level: "MUST",
    exposition: `# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 123.45

# TYPE process_memory_bytes gauge
process_memory_bytes 1048576

# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="+Inf"} 100
request_duration_seconds_sum 50.0
request_duration_seconds_count 100
`,
    check: (v) => {
      check(firstValue(v, "process_cpu_seconds_total") === 123.45, "counter");
      check(firstValue(v, "process_memory_bytes") === 1048576, "gauge");
      check(firstValue(v, "request_duration_seconds_count") === 100, "histogram");
    },
  },
  {
    name: "combined_test.go: high_cardinality_labels",
    level: "RECOMMENDED",
    exposition: `# TYPE http_requests_total counter
http_requests_total{method="GET",path="/api/v1/users",status="200"} 100
http_requests_total{method="GET",path="/api/v1/posts",status="200"} 200
http_requests_total{method="POST",path="/api/v1/users",status="201"} 50
http_requests_total{method="POST",path="/api/v1/posts",status="201"} 75
http_requests_total{method="GET",path="/api/v1/comments",status="200"} 300
http_requests_total{method="DELETE",path="/api/v1/users",status="204"} 10
`,
    check: (v) => {
      const keys = new Set(
        v.named("http_requests_total").map((s) => `${s.labels.method} ${s.labels.path}`),
      );
      check(keys.size === 6, `${keys.size} of 6 series arrived`);
    },
  },
  {
    name: "combined_test.go: complete_metric_family",
    level: "MUST",
    exposition: `# HELP api_request_duration_seconds API request duration
# TYPE api_request_duration_seconds histogram
api_request_duration_seconds_bucket{le="0.1"} 50
api_request_duration_seconds_bucket{le="0.5"} 150
api_request_duration_seconds_bucket{le="1.0"} 250
api_request_duration_seconds_bucket{le="+Inf"} 300
api_request_duration_seconds_sum 200.5
api_request_duration_seconds_count 300
`,
    check: (v) => {
      check(firstValue(v, "api_request_duration_seconds_count") === 300, "_count");
      check(firstValue(v, "api_request_duration_seconds_sum") === 200.5, "_sum");
      for (const [le, n] of [["0.1", 50], ["0.5", 150], ["1.0", 250], ["+Inf", 300]] as const) {
        check(
          firstValue(v, "api_request_duration_seconds_bucket", { le }) === n,
          `_bucket{le="${le}"}`,
        );
      }
    },
  },
  {
    name: "combined_test.go: mixed_labels_and_metadata",
    level: "SHOULD",
    exposition: `# HELP api_calls_total Total API calls with detailed labels
# TYPE api_calls_total counter
api_calls_total{service="auth",method="POST",endpoint="/login",region="us-east",status="200"} 1000
api_calls_total{service="auth",method="POST",endpoint="/logout",region="us-east",status="200"} 500
api_calls_total{service="users",method="GET",endpoint="/profile",region="eu-west",status="200"} 2000
`,
    check: (v) => {
      const series = v.named("api_calls_total");
      check(new Set(series.map((s) => s.labels.endpoint)).size === 3, "want three series");
      for (const s of series) {
        check(
          s.labels.service && s.labels.method && s.labels.endpoint,
          `labels of ${JSON.stringify(s.labels)}`,
        );
      }
      for (const endpoint of ["/login", "/logout", "/profile"]) {
        hasMetadata(v, "api_calls_total", {
          type: "counter",
          help: "Total API calls with detailed labels",
        }, {
          endpoint,
        });
      }
    },
  },
  {
    name: "combined_test.go: real_world_scenario",
    level: "MUST",
    exposition: `# Realistic scrape output with multiple metric types
# TYPE up gauge
up 1

# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 45.67

# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 2097152

# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 100
http_request_duration_seconds_bucket{le="0.1"} 200
http_request_duration_seconds_bucket{le="0.5"} 450
http_request_duration_seconds_bucket{le="1.0"} 480
http_request_duration_seconds_bucket{le="+Inf"} 500
http_request_duration_seconds_sum 125.5
http_request_duration_seconds_count 500

# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 5000
http_requests_total{method="POST",code="201"} 1000
`,
    check: (v) => {
      for (const s of v.series) {
        check(s.labels.__name__, `series without __name__: ${JSON.stringify(s.labels)}`);
      }
      noMixed(v);
      for (
        const n of [
          "process_cpu_seconds_total",
          "go_memstats_alloc_bytes",
          "http_request_duration_seconds_count",
          "http_requests_total",
        ]
      ) check(v.named(n).length > 0, `${n} missing`);
    },
  },
];

/**
 * Port of remotewrite/sender/metadata_test.go (TestMetadataEncoding): RW 2.0
 * inline metadata. ferry sends metadata, so the SHOULD cases are checked as
 * implemented: the series carries the type, help and unit of its family.
 *
 * @module
 */

import { check, type JobCase, type JobView, requireSeries } from "../harness.ts";

/** Metadata of the first series `name` (labels including `match`) with data. */
function metadataOf(v: JobView, name: string, match: Record<string, string> = {}) {
  const s = requireSeries(v, name, match);
  check(s.metadata !== null, `${name}: no metadata (request v${s.request.version})`);
  return s.metadata;
}

/** The series `name` has metadata `want` (fields given). */
export function hasMetadata(
  v: JobView,
  name: string,
  want: { type?: string; help?: string; unit?: string },
  match: Record<string, string> = {},
): void {
  const md = metadataOf(v, name, match);
  for (const [k, val] of Object.entries(want)) {
    const got = (md as Record<string, string>)[k];
    check(
      got === val,
      `${name} metadata ${k}: want ${JSON.stringify(val)}, got ${JSON.stringify(got)}`,
    );
  }
}

export const metadataCases: JobCase[] = [
  {
    name: "metadata_test.go: metadata_type_counter",
    level: "SHOULD",
    exposition:
      "# HELP http_requests_total Total HTTP requests\n# TYPE http_requests_total counter\nhttp_requests_total 100\n",
    check: (v) => hasMetadata(v, "http_requests_total", { type: "counter" }),
  },
  {
    name: "metadata_test.go: metadata_type_gauge",
    level: "SHOULD",
    exposition:
      "# HELP memory_usage_bytes Current memory usage\n# TYPE memory_usage_bytes gauge\nmemory_usage_bytes 1048576\n",
    check: (v) => hasMetadata(v, "memory_usage_bytes", { type: "gauge" }),
  },
  {
    name: "metadata_test.go: metadata_type_histogram (on _bucket, _sum and _count)",
    level: "SHOULD",
    exposition: `# HELP request_duration_seconds Request duration
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="+Inf"} 100
request_duration_seconds_sum 50.0
request_duration_seconds_count 100
`,
    check: (v) => {
      for (const n of ["_count", "_sum", "_bucket"]) {
        hasMetadata(v, `request_duration_seconds${n}`, {
          type: "histogram",
          help: "Request duration",
        });
      }
    },
  },
  {
    name: "metadata_test.go: metadata_type_summary",
    level: "SHOULD",
    exposition: `# HELP rpc_duration_seconds RPC duration
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.05
rpc_duration_seconds{quantile="0.9"} 0.1
rpc_duration_seconds_sum 100.0
rpc_duration_seconds_count 1000
`,
    check: (v) => {
      hasMetadata(v, "rpc_duration_seconds", { type: "summary", help: "RPC duration" }, {
        quantile: "0.5",
      });
      hasMetadata(v, "rpc_duration_seconds_count", { type: "summary" });
    },
  },
  {
    name: "metadata_test.go: metadata_help_text",
    level: "SHOULD",
    exposition:
      "# HELP http_requests_total The total number of HTTP requests\n# TYPE http_requests_total counter\nhttp_requests_total 100\n",
    check: (v) =>
      hasMetadata(v, "http_requests_total", { help: "The total number of HTTP requests" }),
  },
  {
    name: "metadata_test.go: metadata_unit (the 0.0.4 text format has no UNIT: none is sent)",
    level: "MAY",
    exposition:
      "# HELP memory_usage_bytes Memory usage\n# TYPE memory_usage_bytes gauge\n# UNIT memory_usage_bytes bytes\nmemory_usage_bytes 1048576\n",
    check: (v) =>
      hasMetadata(v, "memory_usage_bytes", { type: "gauge", help: "Memory usage", unit: "" }),
  },
  {
    name: "metadata_test.go: metadata_unit (OpenMetrics UNIT is sent)",
    level: "MAY",
    exposition:
      "# HELP memory_usage_bytes Memory usage\n# TYPE memory_usage_bytes gauge\n# UNIT memory_usage_bytes bytes\nmemory_usage_bytes 1048576\n# EOF\n",
    check: (v) =>
      hasMetadata(v, "memory_usage_bytes", { type: "gauge", help: "Memory usage", unit: "bytes" }),
  },
  {
    name: "metadata_test.go: metadata_help_with_newlines (the last HELP line wins)",
    level: "SHOULD",
    exposition: `# HELP multiline_metric This is a help text
# HELP multiline_metric that spans multiple lines
# TYPE multiline_metric gauge
multiline_metric 42
`,
    check: (v) =>
      hasMetadata(v, "multiline_metric", { type: "gauge", help: "that spans multiple lines" }),
  },
  {
    name: "metadata_test.go: metadata_help_with_special_chars",
    level: "SHOULD",
    exposition: `# HELP special_metric This help contains "quotes" and \\backslashes\\
# TYPE special_metric counter
special_metric 100
`,
    // HELP resolves only \\ and \n: "\\b" and a trailing "\\" stay as they are.
    check: (v) =>
      hasMetadata(v, "special_metric", {
        type: "counter",
        help: 'This help contains "quotes" and \\backslashes\\',
      }),
  },
  {
    name: "metadata_test.go: metadata_help_refs_valid",
    level: "MUST",
    exposition:
      "# HELP test_metric Test metric description\n# TYPE test_metric counter\ntest_metric 42\n",
    check: (v) => {
      // help_ref/unit_ref out of range make the decoder fail the request.
      check(v.all.every((r) => r.error === ""), "a request did not decode");
      hasMetadata(v, "test_metric", { type: "counter", help: "Test metric description" });
    },
  },
  {
    name: "metadata_test.go: metadata_consistent_across_series",
    level: "SHOULD",
    exposition: `# HELP http_requests_total Total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET"} 100
http_requests_total{method="POST"} 50
`,
    check: (v) => {
      const mds = v.named("http_requests_total").map((s) => JSON.stringify(s.metadata));
      check(mds.length >= 2, "both series should arrive");
      check(new Set(mds).size === 1, `metadata differs between series: ${[...new Set(mds)]}`);
      hasMetadata(v, "http_requests_total", { type: "counter", help: "Total HTTP requests" });
    },
  },
  {
    name: "metadata_test.go: metadata_empty_help_allowed",
    level: "MAY",
    exposition: "# TYPE no_help_metric counter\nno_help_metric 42\n",
    check: (v) => hasMetadata(v, "no_help_metric", { type: "counter", help: "" }),
  },
];

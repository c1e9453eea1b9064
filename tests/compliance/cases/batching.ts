/**
 * Port of remotewrite/sender/batching_test.go (TestBatchingBehavior,
 * TestConcurrentRequests).
 *
 * @module
 */

import { check, type JobCase, type JobView } from "../harness.ts";
import { symbolsDeduplicated } from "./symbols.ts";

/** The most series of this job in one request, and the metric names in it. */
function largestRequest(v: JobView): { series: number; names: Set<string> } {
  let best = { series: 0, names: new Set<string>() };
  for (const r of v.requests) {
    const mine = r.series.filter((s) => s.labels.job === v.job);
    if (mine.length > best.series) {
      best = { series: mine.length, names: new Set(mine.map((s) => s.labels.__name__)) };
    }
  }
  return best;
}

/** Distinct values of label `label` among series `name`. */
function distinct(v: JobView, name: string, label: string): Set<string> {
  return new Set(v.named(name).map((s) => s.labels[label]));
}

const BIG = 12_000;

export const batchingCases: JobCase[] = [
  {
    name: "batching_test.go: multiple_series_per_request",
    level: "RECOMMENDED",
    exposition: `# Multiple metrics to batch
http_requests_total{method="GET",status="200"} 1000
http_requests_total{method="POST",status="200"} 500
http_requests_total{method="GET",status="404"} 50
cpu_usage_percent 45.2
memory_usage_bytes 1048576
disk_io_bytes_total 1000000
`,
    check: (v) => {
      const { series, names } = largestRequest(v);
      check(series >= 3, `largest request has ${series} series of this job, want ≥ 3`);
      check(names.size >= 2, `largest request has ${names.size} metric names, want ≥ 2`);
    },
  },
  {
    name:
      "batching_test.go: batch_size_reasonable (12k series: every request ≤ 10k series, all arrive)",
    level: "RECOMMENDED",
    exposition: "# Large scrape to test batch size handling\n" +
      Array.from({ length: BIG }, (_, i) => `metric{label="${i}"} 1\n`).join(""),
    ready: (v) => distinct(v, "metric", "label").size >= BIG,
    check: (v) => {
      for (const r of v.all) {
        check(r.series.length <= 10_000, `request #${r.n} has ${r.series.length} series`);
      }
      const got = distinct(v, "metric", "label").size;
      check(got === BIG, `${got} of ${BIG} series arrived`);
    },
  },
  {
    name: "batching_test.go: handles_varying_cardinality",
    level: "RECOMMENDED",
    exposition: `# High cardinality metrics
api_calls{endpoint="/users",method="GET",region="us-east",status="200"} 100
api_calls{endpoint="/users",method="POST",region="us-east",status="201"} 50
api_calls{endpoint="/posts",method="GET",region="us-west",status="200"} 200
api_calls{endpoint="/posts",method="DELETE",region="eu-west",status="204"} 10
api_calls{endpoint="/comments",method="GET",region="ap-south",status="200"} 500
low_cardinality_metric 42
`,
    check: (v) => {
      check(
        distinct(v, "api_calls", "region").size === 4,
        "the five api_calls series should arrive",
      );
      check(v.named("low_cardinality_metric").length > 0, "low_cardinality_metric missing");
      symbolsDeduplicated(v);
    },
  },
  {
    name: "batching_test.go: efficient_symbol_reuse",
    level: "RECOMMENDED",
    exposition: `# Metrics with shared labels
http_requests{service="api",method="GET"} 100
http_requests{service="api",method="POST"} 50
http_requests{service="web",method="GET"} 200
http_duration{service="api",method="GET"} 0.5
http_duration{service="api",method="POST"} 0.3
`,
    check: symbolsDeduplicated,
  },
  {
    name: "batching_test.go: metadata_batching",
    level: "RECOMMENDED",
    exposition: `# HELP http_requests_total Total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET"} 1000
http_requests_total{method="POST"} 500

# HELP memory_usage_bytes Current memory usage
# TYPE memory_usage_bytes gauge
memory_usage_bytes 1048576
`,
    check: (v) => {
      const { series } = largestRequest(v);
      check(series >= 2, `largest request has ${series} series, want ≥ 2`);
      for (const n of ["http_requests_total", "memory_usage_bytes"]) {
        check(
          v.named(n).some((s) => s.metadata !== null && s.metadata.type !== "unknown"),
          `${n} without metadata`,
        );
      }
    },
  },
  {
    name: "batching_test.go: TestConcurrentRequests",
    level: "MAY",
    exposition: "# Multiple metrics\nmetric_1 1\nmetric_2 2\nmetric_3 3\nmetric_4 4\nmetric_5 5\n",
    check: (v) => {
      for (let i = 1; i <= 5; i++) check(v.named(`metric_${i}`).length > 0, `metric_${i} missing`);
    },
  },
];

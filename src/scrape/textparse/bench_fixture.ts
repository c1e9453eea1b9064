/**
 * The generated exposition the text and protobuf parser benchmarks share:
 * 10,000 series of counters, gauges, histograms with `le` buckets and a
 * summary, with 3–6 labels of realistic length (~1.1 MB as 0.0.4 text).
 *
 * @module
 */

import { mulberry32 } from "../../testing/prng.ts";

/** Label values the generated expositions draw from (shared by the parser benchmarks). */
export const VOCABULARY = {
  methods: ["GET", "POST", "PUT", "DELETE", "PATCH"],
  codes: [
    "200",
    "201",
    "204",
    "301",
    "304",
    "400",
    "401",
    "403",
    "404",
    "500",
    "502",
    "503",
  ],
  handlers: [
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/targets",
    "/metrics",
    "/-/healthy",
    "/-/ready",
    "/static/*filepath",
    "/graph",
  ],
  namespaces: ["kube-system", "monitoring", "default", "payments-prod", "checkout-staging"],
  pods: Array.from(
    { length: 40 },
    (_, i) => `api-server-7c9f${(i * 7919).toString(16)}-x${i}q`,
  ),
  buckets: [
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1",
    "2.5",
    "5",
    "10",
    "+Inf",
  ],
} as const;

/** Builds an exposition with exactly `target` series. */
export function generateExposition(target: number, seed = 1): string {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const { methods, codes, handlers, namespaces, pods, buckets } = VOCABULARY;
  const lines: string[] = [];
  let n = 0;
  let fam = 0;
  const value = () => (r() < 0.5 ? String(Math.floor(r() * 1e6)) : String(r() * 1000));
  while (n < target) {
    const kind = fam % 7;
    const base = `${pick(["http", "grpc", "process", "node", "go", "app"])}_${
      pick(["server", "client", "requests", "disk", "network", "cache"])
    }_${fam}`;
    fam++;
    if (kind < 3) {
      const name = `${base}_total`;
      lines.push(
        `# HELP ${name} Total number of handled requests, partitioned by method and code.`,
      );
      lines.push(`# TYPE ${name} counter`);
      for (let i = 0; i < 60 && n < target; i++, n++) {
        lines.push(
          `${name}{method="${pick(methods)}",code="${pick(codes)}",handler="${
            pick(handlers)
          }",instance="10.0.${i % 256}.${fam % 256}:9090",job="api"} ${value()}`,
        );
      }
    } else if (kind < 5) {
      const name = `${base}_bytes`;
      lines.push(`# HELP ${name} Current size in bytes.`);
      lines.push(`# TYPE ${name} gauge`);
      for (let i = 0; i < 40 && n < target; i++, n++) {
        lines.push(
          `${name}{namespace="${pick(namespaces)}",pod="${
            pick(pods)
          }",container="app-${i}"} ${value()} 1712345678${String(i).padStart(3, "0")}`,
        );
      }
    } else if (kind < 6) {
      const name = `${base}_duration_seconds`;
      lines.push(`# HELP ${name} Request latency in seconds.`);
      lines.push(`# TYPE ${name} histogram`);
      for (let i = 0; i < 6 && n < target; i++) {
        const ls = `handler="${pick(handlers)}",method="${pick(methods)}",code="${
          pick(codes)
        }",instance="node-${i}"`;
        let cum = 0;
        for (const le of buckets) {
          if (n >= target) break;
          cum += Math.floor(r() * 100);
          lines.push(`${name}_bucket{${ls},le="${le}"} ${cum}`);
          n++;
        }
        if (n < target) lines.push(`${name}_sum{${ls}} ${r() * 1000}`), n++;
        if (n < target) lines.push(`${name}_count{${ls}} ${cum}`), n++;
      }
    } else {
      const name = `${base}_gc_seconds`;
      lines.push(`# HELP ${name} A summary of pause durations.`);
      lines.push(`# TYPE ${name} summary`);
      for (const q of ["0", "0.25", "0.5", "0.75", "1"]) {
        if (n >= target) break;
        lines.push(`${name}{quantile="${q}",instance="node-1",job="go"} ${r() * 0.001}`);
        n++;
      }
      if (n < target) lines.push(`${name}_sum{instance="node-1",job="go"} ${r()}`), n++;
      if (n < target) {
        lines.push(`${name}_count{instance="node-1",job="go"} ${Math.floor(r() * 1e5)}`), n++;
      }
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Benchmarks of the 0.0.4 text parser over a generated, realistic exposition
 * of 10,000 series (counters, gauges, histograms with `le` buckets, a summary;
 * 3–6 labels of realistic length; ~1.1 MB of text), and over the same series
 * written with quoted UTF-8 names (`{"http.server_0_total","method.name"="GET",…}`),
 * as a target answering `escaping=allow-utf-8` may send them.
 *
 * Run:
 *   deno bench --allow-read src/scrape/textparse/prom_bench.ts
 *
 * @module
 */

import { PromParser } from "./prom.ts";

/** Deterministic PRNG (mulberry32) so every run parses the same text. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds an exposition with exactly `target` series. */
export function generateExposition(target: number, seed = 1): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
  const codes = [
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
  ];
  const handlers = [
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
  ];
  const namespaces = ["kube-system", "monitoring", "default", "payments-prod", "checkout-staging"];
  const pods = Array.from(
    { length: 40 },
    (_, i) => `api-server-7c9f${(i * 7919).toString(16)}-x${i}q`,
  );
  const buckets = [
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
  ];
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

/**
 * `text` with every metric name quoted inside the braces (its first `_` made
 * a `.`) and the first label name of each series quoted (with `.name`
 * appended), HELP and TYPE lines quoting the family likewise: what an
 * exporter with UTF-8 names sends. For expositions without exemplars.
 */
export function quoteNames(text: string): string {
  const dotted = (name: string) => name.replace("_", ".");
  return text.split("\n").map((line) => {
    if (/^# (HELP|TYPE|UNIT) /.test(line)) {
      const end = line.indexOf(" ", 7);
      return `${line.slice(0, 7)}"${dotted(line.slice(7, end))}"${line.slice(end)}`;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?( .*)$/.exec(line);
    if (m === null) return line;
    const labels = m[2] ? "," + m[2].replace(/^(\w+)=/, '"$1.name"=') : "";
    return `{"${dotted(m[1])}"${labels}}${m[3]}`;
  }).join("\n");
}

const TEXT = generateExposition(10_000);
const TEXT_UTF8 = quoteNames(TEXT);

// A warm scrape cache: raw series text → ref, as the scrape loop keeps it.
const CACHE = new Map<string, number>();
{
  const p = new PromParser(TEXT);
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "series") CACHE.set(p.ownedSeries(), CACHE.size + 1);
  }
  if (CACHE.size !== 10_000) throw new Error(`fixture has ${CACHE.size} series`);
}
const CACHE_UTF8 = new Map<string, number>();
{
  const p = new PromParser(TEXT_UTF8);
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "series") CACHE_UTF8.set(p.ownedSeries(), CACHE_UTF8.size + 1);
  }
  if (CACHE_UTF8.size !== 10_000) throw new Error(`UTF-8 fixture has ${CACHE_UTF8.size} series`);
}

// Results are summed into a local and stored once per run: accumulating a
// float into a module-level variable boxes it on every line and would
// dominate the measurement.
let sink = 0;

Deno.bench({
  name: "cold: next + labels() for every series",
  group: "prom 10k series",
  fn() {
    const p = new PromParser(TEXT);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === "series") x += p.labels().size + p.value();
    }
    sink += x;
  },
});

Deno.bench({
  name: "steady: next + series() + value + timestamp + cache lookup",
  group: "prom 10k series",
  baseline: true,
  fn() {
    const p = new PromParser(TEXT);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "scan only: next + value",
  group: "prom 10k series",
  fn() {
    const p = new PromParser(TEXT);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) if (k === "series") x += p.value();
    sink += x;
  },
});

Deno.bench({
  name: "reference: split lines + indexOf + Number (no validation)",
  group: "prom 10k series",
  fn() {
    let x = 0;
    for (const line of TEXT.split("\n")) {
      if (line.length === 0 || line.charCodeAt(0) === 35) continue;
      const sp = line.lastIndexOf("}");
      const v = line.indexOf(" ", sp < 0 ? 0 : sp);
      const e = line.indexOf(" ", v + 1);
      x += Number(line.slice(v + 1, e < 0 ? line.length : e));
    }
    sink += x;
  },
});

Deno.bench({
  name: "quoted UTF-8 names, steady: next + series() + value + timestamp + cache lookup",
  group: "prom 10k series, quoted UTF-8 names",
  baseline: true,
  fn() {
    const p = new PromParser(TEXT_UTF8);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_UTF8.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "quoted UTF-8 names, cold: next + labels() for every series",
  group: "prom 10k series, quoted UTF-8 names",
  fn() {
    const p = new PromParser(TEXT_UTF8);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === "series") x += p.labels().size + p.value();
    }
    sink += x;
  },
});

addEventListener("unload", () => {
  if (sink === 0.5) Deno.exit(1); // keep `sink` observable
});

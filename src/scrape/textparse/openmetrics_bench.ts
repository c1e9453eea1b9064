/**
 * Benchmarks of the OpenMetrics parser over the same shape of exposition as
 * `prom_bench.ts` — 10,000 series of counters, gauges, histograms with `le`
 * buckets and a summary, 3–6 labels of realistic length — written as
 * OpenMetrics (counter samples `_total`, timestamps in seconds, `# EOF`).
 * The 0.0.4 parser runs over the same series written as 0.0.4 text for
 * comparison, a variant adds exemplars to buckets and counters and
 * `_created` lines, and another writes the names quoted as UTF-8 names
 * (`{"http.server_0_total","method.name"="GET",…}`).
 *
 * Run:
 *   deno bench --allow-read src/scrape/textparse/openmetrics_bench.ts
 *
 * @module
 */

import { OpenMetricsParser } from "./openmetrics.ts";
import { PromParser } from "./prom.ts";
import { mulberry32 } from "../../testing/prng.ts";
import { VOCABULARY } from "./bench_fixture.ts";

interface Options {
  /** OpenMetrics (true) or 0.0.4 text (false). */
  om: boolean;
  /** Exemplars on every fourth bucket and counter sample, and `_created` lines (OpenMetrics only). */
  extras?: boolean;
}

/** Builds an exposition with exactly `target` series (not counting `_created` lines). */
export function generate(target: number, opts: Options, seed = 1): string {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const { methods, codes, handlers, namespaces, pods, buckets } = VOCABULARY;
  const { om, extras = false } = opts;
  const lines: string[] = [];
  let n = 0;
  let fam = 0;
  let ex = 0;
  const value = () => (r() < 0.5 ? String(Math.floor(r() * 1e6)) : String(r() * 1000));
  const exemplar = () =>
    extras && ex++ % 4 === 0
      ? ` # {trace_id="${Math.floor(r() * 2 ** 52).toString(16).padStart(16, "0")}"} ${
        (r() * 10).toFixed(3)
      } 1712345678.${String(ex % 1000).padStart(3, "0")}`
      : "";
  const created = (series: string) => {
    if (extras) lines.push(`${series} 1712300000.${String(fam % 1000).padStart(3, "0")}`);
  };
  while (n < target) {
    const kind = fam % 7;
    const base = `${pick(["http", "grpc", "process", "node", "go", "app"])}_${
      pick(["server", "client", "requests", "disk", "network", "cache"])
    }_${fam}`;
    fam++;
    if (kind < 3) {
      const family = om ? base : `${base}_total`;
      lines.push(
        `# HELP ${family} Total number of handled requests, partitioned by method and code.`,
      );
      lines.push(`# TYPE ${family} counter`);
      for (let i = 0; i < 60 && n < target; i++, n++) {
        const ls = `method="${pick(methods)}",code="${pick(codes)}",handler="${
          pick(handlers)
        }",instance="10.0.${i % 256}.${fam % 256}:9090",job="api"`;
        lines.push(`${base}_total{${ls}} ${value()}${exemplar()}`);
        created(`${base}_created{${ls}}`);
      }
    } else if (kind < 5) {
      const name = `${base}_bytes`;
      lines.push(`# HELP ${name} Current size in bytes.`);
      lines.push(`# TYPE ${name} gauge`);
      for (let i = 0; i < 40 && n < target; i++, n++) {
        const ts = om
          ? `1712345678.${String(i).padStart(3, "0")}`
          : `1712345678${String(i).padStart(3, "0")}`;
        lines.push(
          `${name}{namespace="${pick(namespaces)}",pod="${
            pick(pods)
          }",container="app-${i}"} ${value()} ${ts}`,
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
          lines.push(`${name}_bucket{${ls},le="${le}"} ${cum}${exemplar()}`);
          n++;
        }
        if (n < target) lines.push(`${name}_sum{${ls}} ${r() * 1000}`), n++;
        if (n < target) lines.push(`${name}_count{${ls}} ${cum}`), n++;
        created(`${name}_created{${ls}}`);
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
      created(`${name}_created{instance="node-1",job="go"}`);
    }
  }
  if (om) lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/**
 * `text` with every metric name quoted inside the braces (its first `_` made
 * a `.`) and the first label name of each series quoted (with `.name`
 * appended), HELP, TYPE and UNIT lines quoting the family likewise: what an
 * exporter with UTF-8 names sends. For expositions without exemplars. (A
 * copy of the one in `prom_bench.ts`: importing that module would register
 * its benchmarks here.)
 */
function quoteNames(text: string): string {
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

const OM = generate(10_000, { om: true });
const OM_EXTRAS = generate(10_000, { om: true, extras: true });
const PROM = generate(10_000, { om: false });
const OM_UTF8 = quoteNames(OM);

/** A warm scrape cache (raw series text → ref) for `text`, as the scrape loop keeps it. */
function warmCache(
  text: string,
  parser: (t: string) => OpenMetricsParser | PromParser,
): Map<string, number> {
  const cache = new Map<string, number>();
  const p = parser(text);
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "series") cache.set(p.ownedSeries(), cache.size + 1);
  }
  return cache;
}
const om = (t: string) => new OpenMetricsParser(t);
const CACHE_OM = warmCache(OM, om);
const CACHE_OM_EXTRAS = warmCache(OM_EXTRAS, om);
const CACHE_PROM = warmCache(PROM, (t) => new PromParser(t));
const CACHE_OM_UTF8 = warmCache(OM_UTF8, om);
if (CACHE_OM.size !== 10_000 || CACHE_PROM.size !== 10_000 || CACHE_OM_UTF8.size !== 10_000) {
  throw new Error(
    `fixtures have ${CACHE_OM.size}, ${CACHE_PROM.size} and ${CACHE_OM_UTF8.size} series`,
  );
}

// Results are summed into a local and stored once per run: accumulating a
// float into a module-level variable boxes it on every line.
let sink = 0;

Deno.bench({
  name: "cold: next + labels() for every series",
  group: "openmetrics 10k series",
  fn() {
    const p = new OpenMetricsParser(OM);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === "series") x += p.labels().size + p.value();
    }
    sink += x;
  },
});

Deno.bench({
  name: "steady: next + series() + value + timestamp + cache lookup",
  group: "openmetrics 10k series",
  baseline: true,
  fn() {
    const p = new OpenMetricsParser(OM);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_OM.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "steady + type() + exemplar() per series",
  group: "openmetrics 10k series",
  fn() {
    const p = new OpenMetricsParser(OM);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_OM.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0) + (p.type() === "counter" ? 1 : 0);
      if (p.exemplar() !== null) x++;
    }
    sink += x;
  },
});

Deno.bench({
  name: "scan only: next + value",
  group: "openmetrics 10k series",
  fn() {
    const p = new OpenMetricsParser(OM);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) if (k === "series") x += p.value();
    sink += x;
  },
});

Deno.bench({
  name: "strict mode: scan only",
  group: "openmetrics 10k series",
  fn() {
    const p = new OpenMetricsParser(OM, { strict: true });
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) if (k === "series") x += p.value();
    sink += x;
  },
});

Deno.bench({
  name: "0.0.4 parser, same series: steady",
  group: "openmetrics 10k series",
  fn() {
    const p = new PromParser(PROM);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_PROM.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "steady + exemplar(), with exemplars and _created lines",
  group: "openmetrics 10k series + exemplars and _created",
  baseline: true,
  fn() {
    const p = new OpenMetricsParser(OM_EXTRAS);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_OM_EXTRAS.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
      const e = p.exemplar();
      if (e !== null) x += e.value;
    }
    sink += x;
  },
});

Deno.bench({
  name: "steady + startTimestamp() per series",
  group: "openmetrics 10k series + exemplars and _created",
  fn() {
    const p = new OpenMetricsParser(OM_EXTRAS);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_OM_EXTRAS.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0) + (p.startTimestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "quoted UTF-8 names, steady: next + series() + value + timestamp + cache lookup",
  group: "openmetrics 10k series, quoted UTF-8 names",
  baseline: true,
  fn() {
    const p = new OpenMetricsParser(OM_UTF8);
    let x = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k !== "series") continue;
      const ref = CACHE_OM_UTF8.get(p.series());
      if (ref === undefined) throw new Error("cache miss");
      x += ref + p.value() + (p.timestamp() ?? 0);
    }
    sink += x;
  },
});

Deno.bench({
  name: "quoted UTF-8 names, cold: next + labels() for every series",
  group: "openmetrics 10k series, quoted UTF-8 names",
  fn() {
    const p = new OpenMetricsParser(OM_UTF8);
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

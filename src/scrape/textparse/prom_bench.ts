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

import { generateExposition } from "./bench_fixture.ts";
import { PromParser } from "./prom.ts";

export { generateExposition };

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

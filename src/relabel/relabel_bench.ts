/**
 * A typical metric_relabel_configs rule set over 10,000 series, run with the
 * automatic engine choice (native RegExp where exact and bounded) and with
 * every regex on re2js; then each rule's regex alone on both engines, and a
 * pattern V8 backtracks on exponentially.
 *
 * Run: deno bench src/relabel/relabel_bench.ts
 */

import type { ResolvedRelabelConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { compileRules, relabel } from "./relabel.ts";
import { type TranslatedRegex, translateRegex } from "./regex.ts";
import { rule } from "./testutil.ts";

const NAMES = [
  "http_requests_total",
  "http_request_duration_seconds_bucket",
  "node_cpu_seconds_total",
  "node_network_receive_bytes_total",
  "container_memory_working_set_bytes",
  "kube_pod_status_phase",
  "go_gc_duration_seconds",
  "go_memstats_alloc_bytes",
  "process_cpu_seconds_total",
  "up",
];
const LE = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"];

function series(n: number): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < n; i++) {
    const name = NAMES[i % NAMES.length];
    const pod = `api-${(i % 37).toString(36)}7f9c8d-x${(i % 97).toString(36).padStart(4, "0")}`;
    const obj: Record<string, string> = {
      __name__: name,
      job: "kubernetes-pods",
      instance: `10.1.${i % 250}.${(i * 7) % 250}:8080`,
      namespace: `ns-${i % 12}`,
      pod,
      pod_template_hash: "7f9c8d",
      container: "api",
      code: String(200 + (i % 5)),
      method: i % 3 === 0 ? "GET" : "POST",
    };
    if (name.endsWith("_bucket")) obj.le = LE[i % LE.length];
    out.push(Labels.fromObject(obj));
  }
  return out;
}

const RULES: ResolvedRelabelConfig[] = [
  rule({ sourceLabels: ["__name__"], regex: "go_.*|process_.*|promhttp_.*", action: "drop" }),
  rule({ regex: "pod_template_hash|controller_revision_hash", action: "labeldrop" }),
  rule({
    sourceLabels: ["instance"],
    regex: "([^:]+):\\d+",
    targetLabel: "host",
    replacement: "$1",
  }),
  rule({
    sourceLabels: ["namespace", "pod"],
    separator: "/",
    regex: "(.+)/(.+)-[a-z0-9]+-[a-z0-9]{5}",
    targetLabel: "workload",
    replacement: "$1/$2",
  }),
  rule({ sourceLabels: ["__name__", "le"], regex: ".*_bucket;(0\\.005|0\\.01)", action: "drop" }),
];

const SERIES = series(10_000);
const compiled = compileRules(RULES);
const compiledRe2 = compileRules(RULES, { regexEngine: "re2js" });
const noop = compileRules([
  rule({ sourceLabels: ["__name__"], regex: "nomatch_.*", action: "drop" }),
]);

let sink = 0;
function run(rules: typeof compiled): void {
  for (let i = 0; i < SERIES.length; i++) {
    const out = relabel(rules, SERIES[i]);
    if (out !== null) sink += out.size;
  }
}

Deno.bench("metric relabel: 5 rules × 10,000 series", { group: "apply", baseline: true }, () => {
  run(compiled);
});

Deno.bench("metric relabel: 5 rules × 10,000 series, all regexes on re2js", {
  group: "apply",
}, () => {
  run(compiledRe2);
});

Deno.bench("metric relabel: 1 non-matching drop × 10,000 series", { group: "apply" }, () => {
  run(noop);
});

// Each rule's regex alone over the values it sees in the rule set above.
const VALUES: [string, string[], "test" | "exec"][] = [
  [RULES[0].regex, SERIES.map((l) => l.get("__name__")), "test"],
  [RULES[2].regex, SERIES.map((l) => l.get("instance")), "exec"],
  [RULES[3].regex, SERIES.map((l) => l.get("namespace") + "/" + l.get("pod")), "exec"],
  [RULES[4].regex, SERIES.map((l) => l.get("__name__") + ";" + l.get("le")), "test"],
];
for (const [src, values, op] of VALUES) {
  for (const engine of ["native", "re2js"] as const) {
    const re: TranslatedRegex = translateRegex(src, { engine });
    Deno.bench(`${op} ${src} × 10,000 (${engine})`, {
      group: `regex ${src}`,
      baseline: engine === "native",
    }, () => {
      if (op === "test") {
        for (let i = 0; i < values.length; i++) if (re.test(values[i])) sink++;
      } else {
        for (let i = 0; i < values.length; i++) sink += re.exec(values[i])?.length ?? 0;
      }
    });
  }
}

// (\w+\s?)*x on "word word … !": V8 backtracks exponentially (measured on
// V8 15: 110 s for 61 characters, so it is not run here); the automatic
// choice sends it to re2js.
const REDOS = translateRegex("(\\w+\\s?)*x");
const REDOS_INPUT = "x " + "word ".repeat(12) + "!";
Deno.bench("(\\w+\\s?)*x on 63 characters (auto → re2js)", { group: "redos" }, () => {
  if (REDOS.test(REDOS_INPUT)) sink++;
});

Deno.bench("compile the 5 rules", { group: "compile" }, () => {
  sink += compileRules(RULES).length;
});

Deno.bench("compile the 5 rules, re2js", { group: "compile" }, () => {
  sink += compileRules(RULES, { regexEngine: "re2js" }).length;
});

Deno.bench("translate a regex", { group: "compile" }, () => {
  sink += translateRegex("(.+)/(.+)-[a-z0-9]+-[a-z0-9]{5}").groupNames.length;
});

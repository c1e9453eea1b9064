import type { ResolvedRelabelConfig, ResolvedScrapeConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { rule } from "../relabel/testutil.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { formatGoDuration, type PopulatedTarget, populateLabels } from "./target.ts";
import { scrapeConfig } from "./testutil.ts";

const config = (over: Partial<ResolvedScrapeConfig> = {}) =>
  scrapeConfig({ scrapeIntervalMs: 60_000, ...over });

function populate(
  target: Record<string, string>,
  opts: {
    group?: Record<string, string>;
    cfg?: Partial<ResolvedScrapeConfig>;
    rules?: Partial<ResolvedRelabelConfig>[];
  } = {},
): PopulatedTarget {
  const cfg = config(opts.cfg);
  return populateLabels(target, opts.group ?? {}, cfg, compileRules((opts.rules ?? []).map(rule)));
}

const str = (l: Labels | null) => l?.toString() ?? null;

Deno.test("defaults, instance and URL for a plain target", () => {
  const r = populate({ __address__: "10.0.0.1:9100" }, { group: { env: "prod" } });
  assertEquals(r.error, undefined);
  assertEquals(str(r.labels), '{env="prod", instance="10.0.0.1:9100", job="node"}');
  assertEquals(
    str(r.discoveredLabels),
    '{__address__="10.0.0.1:9100", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="1m", __scrape_timeout__="10s", env="prod", job="node"}',
  );
  assertEquals(
    str(r.targetLabels),
    '{__address__="10.0.0.1:9100", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="1m", __scrape_timeout__="10s", env="prod", instance="10.0.0.1:9100", job="node"}',
  );
  assertEquals(r.scrapeUrl, "http://10.0.0.1:9100/metrics");
  assertEquals(r.intervalMs, 60_000);
  assertEquals(r.timeoutMs, 10_000);
});

Deno.test("target labels win over group labels; discovered defaults do not override", () => {
  const r = populate(
    {
      __address__: "h:1",
      env: "dev",
      job: "custom",
      __metrics_path__: "/probe",
      __scheme__: "https",
    },
    { group: { env: "prod", team: "a" } },
  );
  assertEquals(str(r.labels), '{env="dev", instance="h:1", job="custom", team="a"}');
  assertEquals(r.scrapeUrl, "https://h:1/probe");
  // An empty target label hides the group's.
  assertEquals(
    str(populate({ __address__: "h:1", env: "" }, { group: { env: "prod" } }).labels),
    '{instance="h:1", job="node"}',
  );
});

Deno.test("an explicit instance is kept; no default port is added", () => {
  assertEquals(
    str(populate({ __address__: "h:1", instance: "mine" }).labels),
    '{instance="mine", job="node"}',
  );
  const r = populate({ __address__: "example.org" });
  assertEquals(str(r.labels), '{instance="example.org", job="node"}');
  assertEquals(r.scrapeUrl, "http://example.org/metrics");
});

Deno.test("params: first value as __param_ label, all values in the URL, labels override", () => {
  const cfg = { params: { module: ["http_2xx", "extra"], target: ["x y&z"] } };
  const r = populate({ __address__: "bb:9115" }, { cfg });
  assertEquals(r.discoveredLabels.get("__param_module"), "http_2xx");
  assertEquals(r.discoveredLabels.get("__param_target"), "x y&z");
  assertEquals(r.scrapeUrl, "http://bb:9115/metrics?module=http_2xx&module=extra&target=x+y%26z");

  // The blackbox pattern: move the address into a param, point __address__ at the prober.
  const probe = populate({ __address__: "https://example.org/health" }, {
    cfg: { params: { module: ["http_2xx"] }, metricsPath: "/probe" },
    rules: [
      { sourceLabels: ["__address__"], targetLabel: "__param_target" },
      { sourceLabels: ["__param_target"], targetLabel: "instance" },
      { targetLabel: "__address__", replacement: "127.0.0.1:9115" },
    ],
  });
  assertEquals(probe.error, undefined);
  assertEquals(str(probe.labels), '{instance="https://example.org/health", job="node"}');
  assertEquals(
    probe.scrapeUrl,
    "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.org%2Fhealth",
  );

  // A discovered __param_ label with no configured param still reaches the URL; keys are sorted.
  const d = populate({ __address__: "h:1", __param_z: "1", __param_a: "2" });
  assertEquals(d.scrapeUrl, "http://h:1/metrics?a=2&z=1");
  // Relabeling a param replaces only its first configured value.
  const o = populate({ __address__: "h:1" }, {
    cfg,
    rules: [{ targetLabel: "__param_module", replacement: "tcp" }],
  });
  assertEquals(o.scrapeUrl, "http://h:1/metrics?module=tcp&module=extra&target=x+y%26z");
});

Deno.test("__ labels are removed from the final labels; __meta_ even from targetLabels", () => {
  const r = populate({ __address__: "h:1", __meta_zone: "a", __tmp_x: "1", keep: "v" });
  assertEquals(str(r.labels), '{instance="h:1", job="node", keep="v"}');
  assert(!r.targetLabels!.has("__meta_zone"));
  assertEquals(r.targetLabels!.get("__tmp_x"), "1");
  assertEquals(r.discoveredLabels.get("__meta_zone"), "a");
});

Deno.test("relabeling can drop a target (no error) and sees the defaults", () => {
  const r = populate({ __address__: "h:1", __meta_role: "db" }, {
    rules: [{ sourceLabels: ["__meta_role"], regex: "web", action: "keep" }],
  });
  assertEquals(r.labels, null);
  assertEquals(r.targetLabels, null);
  assertEquals(r.error, undefined);
  assertEquals(r.scrapeUrl, "");
  assertEquals(r.discoveredLabels.get("__meta_role"), "db");
  const byJob = populate({ __address__: "h:1" }, {
    rules: [{ sourceLabels: ["job", "__scheme__"], regex: "node;http", action: "drop" }],
  });
  assertEquals(byJob.labels, null);
});

Deno.test("invalid targets", async (t) => {
  const cases: [string, Record<string, string>, Partial<ResolvedRelabelConfig>[], string][] = [
    ["missing address", { foo: "bar" }, [], "no address"],
    ["address deleted by relabeling", { __address__: "h:1" }, [{
      targetLabel: "__address__",
      replacement: "",
    }], "no address"],
    [
      "address with a scheme",
      { __address__: "http://h:1" },
      [],
      '"http://h:1" is not a valid hostname',
    ],
    ["address with a path", { __address__: "h:1/metrics" }, [], "is not a valid hostname"],
    [
      "unparsable interval",
      { __address__: "h:1", __scrape_interval__: "1.5s" },
      [],
      "error parsing scrape interval: not a valid duration string",
    ],
    ["empty interval", { __address__: "h:1" }, [{
      regex: "__scrape_interval__",
      action: "labeldrop",
    }], "error parsing scrape interval: empty duration string"],
    [
      "zero interval",
      { __address__: "h:1", __scrape_interval__: "0s" },
      [],
      "scrape interval cannot be 0",
    ],
    [
      "unparsable timeout",
      { __address__: "h:1", __scrape_timeout__: "soon" },
      [],
      "error parsing scrape timeout",
    ],
    [
      "zero timeout",
      { __address__: "h:1", __scrape_timeout__: "0" },
      [],
      "scrape timeout cannot be 0",
    ],
    [
      "timeout above interval",
      { __address__: "h:1", __scrape_interval__: "5s" },
      [],
      'scrape timeout cannot be greater than scrape interval ("10s" > "5s")',
    ],
    ["empty label name from labelmap", { __address__: "h:1", x: "1" }, [{
      regex: "x",
      replacement: "$2",
      action: "labelmap",
    }], 'invalid label name ""'],
  ];
  for (const [name, target, rules, msg] of cases) {
    await t.step(name, () => {
      const r = populate(target, { rules });
      assertEquals(r.labels, null);
      assert(r.error !== undefined && r.error.includes(msg), `got ${r.error}`);
      assert(r.discoveredLabels.size > 0);
    });
  }
});

Deno.test("interval and timeout overrides through labels", () => {
  const r = populate({ __address__: "h:1", __scrape_interval__: "30s", __scrape_timeout__: "1m" }, {
    rules: [{ targetLabel: "__scrape_timeout__", replacement: "15s" }],
  });
  assertEquals(r.error, undefined);
  assertEquals([r.intervalMs, r.timeoutMs], [30_000, 15_000]);
  assertEquals(r.labels!.has("__scrape_interval__"), false);
  const eq = populate({ __address__: "h:1", __scrape_interval__: "10s" });
  assertEquals([eq.intervalMs, eq.timeoutMs], [10_000, 10_000]);
});

Deno.test("URL escaping follows Go's net/url", () => {
  const r = populate({ __address__: "h:1", __metrics_path__: "/a b/c?d!" }, {
    cfg: { params: { "k k": ["v/ü"] } },
  });
  assertEquals(r.scrapeUrl, "http://h:1/a%20b/c%3Fd%21?k+k=v%2F%C3%BC");
  const rel = populate({ __address__: "[::1]:9100", __metrics_path__: "metrics" });
  assertEquals(rel.scrapeUrl, "http://[::1]:9100/metrics");
});

Deno.test("durations are formatted like Prometheus' model.Duration", () => {
  assertEquals(formatGoDuration(0), "0s");
  assertEquals(formatGoDuration(15_000), "15s");
  assertEquals(formatGoDuration(90_000), "1m30s");
  assertEquals(formatGoDuration(1500), "1s500ms");
  assertEquals(formatGoDuration(90 * 86_400_000), "90d"); // not 12w6d
  assertEquals(formatGoDuration(14 * 86_400_000), "2w");
  assertEquals(formatGoDuration(365 * 86_400_000), "1y");
  assertEquals(formatGoDuration(366 * 86_400_000), "366d");
  const r = populate({ __address__: "h:1" }, {
    cfg: { scrapeIntervalMs: 90_000, scrapeTimeoutMs: 1500 },
  });
  assertEquals(r.discoveredLabels.get("__scrape_interval__"), "1m30s");
  assertEquals(r.discoveredLabels.get("__scrape_timeout__"), "1s500ms");
});

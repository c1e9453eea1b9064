/**
 * Scrape options of issue 3 in both config forms: protocols, compression,
 * limits (job and global), track_timestamps_staleness, tls_config, proxy_url;
 * defaults, inheritance from `global`, and the errors at load.
 */

import { assertEquals } from "../testing/assert.ts";
import { ConfigError, formatIssue } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import {
  DEFAULT_SCRAPE_PROTOCOLS,
  PROTO_FIRST_SCRAPE_PROTOCOLS,
  resolveConfig,
} from "./resolve.ts";

const job = (extra: Record<string, unknown> = {}) => ({
  jobName: "j",
  staticConfigs: [{ targets: ["a:1"] }],
  ...extra,
});

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const ts = (input: unknown) => () => resolveConfig(input);
const yml = (text: string) => () => loadYamlConfig(text, "prometheus.yml", { baseDir: "/cfg" });

Deno.test("scrape options: defaults as Prometheus 3", () => {
  const s = resolveConfig({ scrapeConfigs: [job()] }).scrapeConfigs[0];
  assertEquals(s.scrapeProtocols, [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
  ]);
  assertEquals(s.fallbackScrapeProtocol, "");
  assertEquals(s.enableCompression, true);
  assertEquals(s.trackTimestampsStaleness, false);
  assertEquals(
    [s.bodySizeLimit, s.sampleLimit, s.labelLimit, s.labelNameLengthLimit, s.labelValueLengthLimit],
    [0, 0, 0, 0, 0],
  );
  assertEquals(s.targetLimit, 0);
  assertEquals(s.proxyUrl, "");
});

Deno.test("scrape options: the TypeScript and YAML forms give the same model", () => {
  const fromTs = resolveConfig({
    global: { scrapeProtocols: ["PrometheusText0.0.4"], bodySizeLimit: "1MB", labelLimit: 30 },
    scrapeConfigs: [
      job({
        scrapeProtocols: ["OpenMetricsText1.0.0", "PrometheusText0.0.4"],
        fallbackScrapeProtocol: "PrometheusText0.0.4",
        enableCompression: false,
        trackTimestampsStaleness: true,
        bodySizeLimit: "10MB",
        sampleLimit: 1000,
        labelLimit: 20,
        labelNameLengthLimit: 64,
        labelValueLengthLimit: 256,
        targetLimit: 5,
        tlsConfig: { caFile: "ca.pem", certFile: "/abs/c.pem", keyFile: "k.pem" },
        proxyUrl: "http://user:pw@proxy:3128",
      }),
      job({ jobName: "inherits" }),
    ],
  }, { baseDir: "/cfg" });
  const fromYaml = loadYamlConfig(
    `global:
  scrape_protocols: [PrometheusText0.0.4]
  body_size_limit: 1MB
  label_limit: 30
scrape_configs:
  - job_name: j
    static_configs: [{targets: ["a:1"]}]
    scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]
    fallback_scrape_protocol: PrometheusText0.0.4
    enable_compression: no
    track_timestamps_staleness: true
    body_size_limit: 10MB
    sample_limit: 1000
    label_limit: 20
    label_name_length_limit: 64
    label_value_length_limit: 256
    target_limit: 5
    tls_config:
      ca_file: ca.pem
      cert_file: /abs/c.pem
      key_file: k.pem
      insecure_skip_verify: false
    proxy_url: http://user:pw@proxy:3128
  - job_name: inherits
    static_configs: [{targets: ["a:1"]}]
`,
    "prometheus.yml",
    { baseDir: "/cfg" },
  );
  assertEquals(fromYaml, fromTs);
  const [s, inherits] = fromTs.scrapeConfigs;
  assertEquals(s.scrapeProtocols, ["OpenMetricsText1.0.0", "PrometheusText0.0.4"]);
  assertEquals(s.fallbackScrapeProtocol, "PrometheusText0.0.4");
  assertEquals([s.enableCompression, s.trackTimestampsStaleness], [false, true]);
  assertEquals(s.bodySizeLimit, 10 * 1024 * 1024);
  assertEquals(
    [s.sampleLimit, s.labelLimit, s.labelNameLengthLimit, s.labelValueLengthLimit, s.targetLimit],
    [1000, 20, 64, 256, 5],
  );
  assertEquals(s.tlsConfig, {
    ca: "",
    caFile: "/cfg/ca.pem",
    cert: "",
    certFile: "/abs/c.pem",
    key: "",
    keyFile: "/cfg/k.pem",
  });
  assertEquals(s.proxyUrl, "http://user:pw@proxy:3128");
  // A job without its own values takes the global ones.
  assertEquals(inherits.scrapeProtocols, ["PrometheusText0.0.4"]);
  assertEquals([inherits.bodySizeLimit, inherits.labelLimit], [1024 * 1024, 30]);
});

Deno.test("scrape options: 0 limits and an empty protocol list inherit from global", () => {
  const c = resolveConfig({
    global: {
      sampleLimit: 1,
      targetLimit: 2,
      labelLimit: 3,
      labelNameLengthLimit: 4,
      labelValueLengthLimit: 5,
      bodySizeLimit: 6,
    },
    scrapeConfigs: [job({
      sampleLimit: 0,
      targetLimit: 0,
      labelLimit: 0,
      labelNameLengthLimit: 0,
      labelValueLengthLimit: 0,
      bodySizeLimit: 0,
      scrapeProtocols: [],
    })],
  });
  const s = c.scrapeConfigs[0];
  assertEquals(
    [
      s.sampleLimit,
      s.targetLimit,
      s.labelLimit,
      s.labelNameLengthLimit,
      s.labelValueLengthLimit,
      s.bodySizeLimit,
    ],
    [1, 2, 3, 4, 5, 6],
  );
  assertEquals(s.scrapeProtocols, [...DEFAULT_SCRAPE_PROTOCOLS]);
});

Deno.test("scrape options: what Prometheus or Deno cannot do is an error at load", async (t) => {
  const table: [string, () => unknown, string[]][] = [
    [
      "unknown protocol",
      ts({ scrapeConfigs: [job({ scrapeProtocols: ["PrometheusText0.0.5"] })] }),
      [
        'scrapeConfigs[0].scrapeProtocols[0]: unknown scrape protocol "PrometheusText0.0.5" (want one of OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4, PrometheusProto)',
      ],
    ],
    [
      "duplicate protocol",
      ts({
        scrapeConfigs: [job({ scrapeProtocols: ["PrometheusText0.0.4", "PrometheusText0.0.4"] })],
      }),
      ['scrapeConfigs[0].scrapeProtocols[1]: "PrometheusText0.0.4" is listed twice'],
    ],
    [
      "empty global protocol list",
      ts({ global: { scrapeProtocols: [] } }),
      ["global.scrapeProtocols: must not be empty"],
    ],
    [
      "negative limit",
      ts({ scrapeConfigs: [job({ labelLimit: -1 })] }),
      ["scrapeConfigs[0].labelLimit: must be at least 0, got -1"],
    ],
    [
      "bad size",
      yml("scrape_configs:\n  - job_name: j\n    body_size_limit: 10 parsecs\n"),
      [
        'prometheus.yml:3:5: scrape_configs[0].body_size_limit: invalid byte size "10 parsecs": want an integer with an optional unit B, KB, MB, GB, TB, PB, EB (powers of 2), e.g. "512MB"',
      ],
    ],
    [
      "insecure_skip_verify",
      yml(
        "scrape_configs:\n  - job_name: j\n    tls_config:\n      insecure_skip_verify: true\n",
      ),
      [
        "prometheus.yml:4:7: scrape_configs[0].tls_config.insecure_skip_verify: true is not supported: Deno cannot turn off certificate verification for one client; give the target's CA in ca or ca_file, or run ferry with --unsafely-ignore-certificate-errors=HOST",
      ],
    ],
    [
      "server_name",
      ts({ scrapeConfigs: [job({ tlsConfig: { serverName: "db.internal" } })] }),
      [
        "scrapeConfigs[0].tlsConfig.serverName: is not supported: Deno verifies the certificate against the host of the scrape URL; scrape the target under a name its certificate holds (relabel __address__)",
      ],
    ],
    [
      "tls versions",
      ts({
        scrapeConfigs: [job({ tlsConfig: { minVersion: "TLS13", maxVersion: "TLS12" } })],
      }),
      [
        "scrapeConfigs[0].tlsConfig.minVersion: TLS13 is not supported: Deno always accepts TLS 1.2 and cannot be limited to TLS 1.3",
        "scrapeConfigs[0].tlsConfig.maxVersion: TLS12 is not supported: Deno always allows TLS 1.3 and cannot be capped below it",
      ],
    ],
    [
      "ca twice, cert without key",
      ts({ scrapeConfigs: [job({ tlsConfig: { ca: "x", caFile: "y", cert: "c" } })] }),
      [
        "scrapeConfigs[0].tlsConfig: give ca or caFile, not both",
        "scrapeConfigs[0].tlsConfig: a client certificate needs key or keyFile",
      ],
    ],
    [
      "key without cert, unknown field",
      yml("scrape_configs:\n  - job_name: j\n    tls_config: {key_file: k, ca_ref: x}\n"),
      ["prometheus.yml:3:31: scrape_configs[0].tls_config.ca_ref: not supported by ferry yet"],
    ],
    [
      "key without cert",
      yml("scrape_configs:\n  - job_name: j\n    tls_config: {key_file: k}\n"),
      ["prometheus.yml:3:5: scrape_configs[0].tls_config: a client key needs cert or cert_file"],
    ],
    [
      "proxy scheme",
      ts({ scrapeConfigs: [job({ proxyUrl: "ftp://proxy:21" })] }),
      [
        'scrapeConfigs[0].proxyUrl: want an http://, https:// or socks5:// URL with a host, got "ftp://proxy:21"',
      ],
    ],
    [
      "proxy not a URL",
      ts({ scrapeConfigs: [job({ proxyUrl: "http://[::1" })] }),
      ['scrapeConfigs[0].proxyUrl: not a URL: "http://[::1"'],
    ],
  ];
  for (const [name, run, want] of table) {
    await t.step(name, () => assertEquals(problems(run), want));
  }
});

Deno.test("scrape options: TLS settings Deno can honour load; inline PEM is kept", () => {
  const s = resolveConfig({
    scrapeConfigs: [job({
      tlsConfig: {
        ca: "-----BEGIN CERTIFICATE-----",
        cert: "C",
        key: "K",
        insecureSkipVerify: false,
        serverName: "",
        minVersion: "TLS12",
        maxVersion: "TLS13",
      },
    })],
  }).scrapeConfigs[0];
  assertEquals(s.tlsConfig, {
    ca: "-----BEGIN CERTIFICATE-----",
    caFile: "",
    cert: "C",
    certFile: "",
    key: "K",
    keyFile: "",
  });
});

Deno.test("scrape options: the README's Scraping example loads", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Scraping"));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1];
  const s = loadYamlConfig(yaml, "README.md").scrapeConfigs[0];
  assertEquals([s.jobName, s.bodySizeLimit, s.targetLimit], ["app", 10 * 1024 * 1024, 500]);
  assertEquals(s.fallbackScrapeProtocol, "PrometheusText0.0.4");
});

Deno.test("native histograms: scrape_native_histograms puts PrometheusProto first, as Prometheus 3", async (t) => {
  const protocols = (input: unknown) =>
    resolveConfig(input).scrapeConfigs.map((s) => [
      s.scrapeProtocols,
      s.scrapeNativeHistograms,
      s.alwaysScrapeClassicHistograms,
    ]);
  await t.step("defaults: off, text formats only", () => {
    assertEquals(protocols({ scrapeConfigs: [job()] }), [
      [[...DEFAULT_SCRAPE_PROTOCOLS], false, false],
    ]);
  });
  await t.step("on, no protocols given anywhere: protobuf first, then the defaults", () => {
    assertEquals(
      protocols({ scrapeConfigs: [job({ scrapeNativeHistograms: true })] }),
      [[
        [
          "PrometheusProto",
          "OpenMetricsText1.0.0",
          "OpenMetricsText0.0.1",
          "PrometheusText1.0.0",
          "PrometheusText0.0.4",
        ],
        true,
        false,
      ]],
    );
    assertEquals(PROTO_FIRST_SCRAPE_PROTOCOLS, ["PrometheusProto", ...DEFAULT_SCRAPE_PROTOCOLS]);
  });
  await t.step("the job's own protocols win", () => {
    assertEquals(
      protocols({
        scrapeConfigs: [
          job({ scrapeNativeHistograms: true, scrapeProtocols: ["PrometheusText0.0.4"] }),
        ],
      }),
      [[["PrometheusText0.0.4"], true, false]],
    );
  });
  await t.step("protocols given in global win over the protobuf-first default", () => {
    assertEquals(
      protocols({
        global: { scrapeProtocols: ["OpenMetricsText1.0.0"] },
        scrapeConfigs: [job({ scrapeNativeHistograms: true })],
      }),
      [[["OpenMetricsText1.0.0"], true, false]],
    );
  });
  await t.step("global defaults are inherited and can be overridden per job", () => {
    assertEquals(
      protocols({
        global: { scrapeNativeHistograms: true, alwaysScrapeClassicHistograms: true },
        scrapeConfigs: [
          job(),
          job({
            jobName: "k",
            scrapeNativeHistograms: false,
            alwaysScrapeClassicHistograms: false,
          }),
        ],
      }),
      [
        [[...PROTO_FIRST_SCRAPE_PROTOCOLS], true, true],
        [[...DEFAULT_SCRAPE_PROTOCOLS], false, false],
      ],
    );
  });
  await t.step("PrometheusProto may be asked for and be the fallback", () => {
    const s = resolveConfig({
      scrapeConfigs: [job({
        scrapeProtocols: ["PrometheusProto", "PrometheusText0.0.4"],
        fallbackScrapeProtocol: "PrometheusProto",
      })],
    }).scrapeConfigs[0];
    assertEquals(s.scrapeProtocols, ["PrometheusProto", "PrometheusText0.0.4"]);
    assertEquals(s.fallbackScrapeProtocol, "PrometheusProto");
  });
  await t.step("YAML: job and global keys", () => {
    const c = loadYamlConfig(
      `global:
  scrape_native_histograms: true
  always_scrape_classic_histograms: yes
scrape_configs:
  - job_name: a
  - job_name: b
    scrape_native_histograms: false
    always_scrape_classic_histograms: false
`,
      "prometheus.yml",
    );
    assertEquals(
      c.scrapeConfigs.map((
        s,
      ) => [s.scrapeProtocols[0], s.scrapeNativeHistograms, s.alwaysScrapeClassicHistograms]),
      [["PrometheusProto", true, true], ["OpenMetricsText1.0.0", false, false]],
    );
    assertEquals(
      problems(yml("scrape_configs:\n  - job_name: j\n    scrape_native_histograms: sometimes\n")),
      [
        'prometheus.yml:3:31: scrape_configs[0].scrape_native_histograms: expected a boolean (true/false, yes/no, on/off), got "sometimes"',
      ],
    );
  });
});

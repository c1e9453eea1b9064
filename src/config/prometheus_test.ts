import fc from "fast-check";
import { stringify } from "yaml";
import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import { ConfigError, type ConfigIssue, formatIssue } from "./errors.ts";
import { expandEnv, loadYamlConfig, parsePrometheusYaml } from "./prometheus.ts";
import { DEFAULT_SCRAPE_PROTOCOLS, resolveConfig } from "./resolve.ts";
import type { ResolvedConfig, ResolvedRelabelConfig } from "./types.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);
const testdata = (name: string) => Deno.readTextFileSync(new URL(name, TESTDATA));
const TESTDATA_DIR = decodeURIComponent(TESTDATA.pathname).replace(/\/$/, "");

/** The formatted issues of the ConfigError that `fn` throws. */
function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const parseErrors = (yaml: string) => errorsOf(() => parsePrometheusYaml(yaml));
const loadErrors = (yaml: string) => errorsOf(() => loadYamlConfig(yaml, "prometheus.yml"));

function rule(r: Partial<ResolvedRelabelConfig>): ResolvedRelabelConfig {
  return {
    sourceLabels: [],
    separator: ";",
    regex: "(.*)",
    modulus: 0,
    targetLabel: "",
    replacement: "$1",
    action: "replace",
    ...r,
  };
}

const QUEUE_DEFAULTS = {
  capacity: 10000,
  maxShards: 50,
  minShards: 1,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOnHttp429: false,
  sampleAgeLimitMs: 0,
  maxBytesPerSend: 4 * 1024 * 1024,
};

/** A remote-write endpoint's defaults beyond url, name, queue and auth. */
const RW_DEFAULTS = {
  protobufMessage: "prometheus.WriteRequest" as const,
  fallbackToRw1: false,
  sendExemplars: false,
  sendNativeHistograms: false,
  metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2000 },
  tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
  proxyUrl: "",
};

const SCRAPE_DEFAULTS = {
  metricsPath: "/metrics",
  scheme: "http" as const,
  params: {},
  honorLabels: false,
  honorTimestamps: true,
  sampleLimit: 0,
  scrapeProtocols: [...DEFAULT_SCRAPE_PROTOCOLS],
  fallbackScrapeProtocol: "" as const,
  enableCompression: true,
  trackTimestampsStaleness: false,
  scrapeNativeHistograms: false,
  alwaysScrapeClassicHistograms: false,
  bodySizeLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
  targetLimit: 0,
  tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
  proxyUrl: "",
  fileSdConfigs: [],
  httpSdConfigs: [],
  dnsSdConfigs: [],
  keepDroppedTargets: 1000,
  relabelConfigs: [],
  metricRelabelConfigs: [],
  followRedirects: true,
};

const GLOBAL_SCRAPE_DEFAULTS = {
  scrapeProtocols: [...DEFAULT_SCRAPE_PROTOCOLS],
  bodySizeLimit: 0,
  sampleLimit: 0,
  targetLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
};

Deno.test("loadYamlConfig() maps a realistic prometheus.yml onto the model", () => {
  const warnings: ConfigIssue[] = [];
  const got = loadYamlConfig(testdata("prometheus.full.yml"), "prometheus.full.yml", {
    baseDir: "/cfg",
    onWarning: (w) => warnings.push(w),
  });
  const want: ResolvedConfig = {
    global: {
      scrapeIntervalMs: 15000,
      scrapeTimeoutMs: 10000,
      externalLabels: { cluster: "eu-1", replica: "a" },
      keepDroppedTargets: 1000,
      ...GLOBAL_SCRAPE_DEFAULTS,
    },
    scrapeConfigs: [
      {
        ...SCRAPE_DEFAULTS,
        jobName: "prometheus",
        scrapeIntervalMs: 15000,
        scrapeTimeoutMs: 10000,
        staticConfigs: [{ targets: ["localhost:9090"], labels: {} }],
      },
      {
        ...SCRAPE_DEFAULTS,
        jobName: "node",
        scrapeIntervalMs: 30000,
        scrapeTimeoutMs: 20000,
        honorTimestamps: false, // `no`
        sampleLimit: 10000, // `0x2710`
        staticConfigs: [
          // `rack: 010` keeps its source text
          { targets: ["node-1:9100", "node-2:9100"], labels: { env: "prod", rack: "010" } },
          { targets: ["[::1]:9100"], labels: {} },
        ],
        relabelConfigs: [
          rule({ sourceLabels: ["__address__"], regex: "([^:]+):\\d+", targetLabel: "instance" }),
          rule({ sourceLabels: ["env"], regex: "1.0", action: "keep" }), // `regex: 1.0`, `Keep`
          rule({ regex: "__meta_(.+)", action: "labelmap" }),
        ],
        metricRelabelConfigs: [
          rule({ sourceLabels: ["__name__"], regex: "go_gc_.*", action: "drop" }),
          rule({
            sourceLabels: ["__name__", "job"],
            separator: ":",
            modulus: 8,
            targetLabel: "shard",
            action: "hashmod",
          }),
        ],
      },
      {
        ...SCRAPE_DEFAULTS,
        jobName: "blackbox",
        scrapeIntervalMs: 5000,
        scrapeTimeoutMs: 5000,
        metricsPath: "/probe",
        scheme: "https",
        params: { module: ["http_2xx"] },
        honorLabels: true, // `on`
        followRedirects: false,
        basicAuth: { username: "prom", passwordFile: "/cfg/secrets/bb.pass" },
        staticConfigs: [{ targets: ["blackbox:9115"], labels: {} }],
      },
    ],
    remoteWrite: [
      {
        url: "https://mimir.example.com/api/v1/push",
        name: "mimir",
        remoteTimeoutMs: 60000,
        headers: { "X-Scope-OrgID": "tenant-1" },
        writeRelabelConfigs: [rule({ regex: "tmp_.*", action: "labeldrop" })],
        queue: {
          capacity: 20000,
          maxShards: 10,
          minShards: 2,
          maxSamplesPerSend: 5000,
          batchSendDeadlineMs: 10000,
          minBackoffMs: 50,
          maxBackoffMs: 10000,
          retryOnHttp429: true,
          sampleAgeLimitMs: 0,
          maxBytesPerSend: 4 * 1024 * 1024,
        },
        ...RW_DEFAULTS,
        maxDiskBytes: 0,
        followRedirects: true,
        authorization: { type: "Bearer", credentialsFile: "/etc/ferry/token" },
      },
      {
        url: "http://127.0.0.1:9201/api/v1/write",
        name: got.remoteWrite[1]?.name,
        remoteTimeoutMs: 30000,
        headers: {},
        writeRelabelConfigs: [],
        queue: QUEUE_DEFAULTS,
        ...RW_DEFAULTS,
        maxDiskBytes: 0,
        followRedirects: true,
      },
    ],
    // prometheus.yml has no sharding; the defaults.
    shard: null,
    replicaLabel: "__replica__",
  };
  assertEquals(got, want);
  assert(/^[0-9a-f]{6}$/.test(got.remoteWrite[1].name));
  assertEquals(warnings.map(formatIssue), [
    "prometheus.full.yml:5:3: global.evaluation_interval: has no effect in agent mode (there are no rules)",
  ]);
});

Deno.test("parsePrometheusYaml() rejects unknown fields with their line", () => {
  assertEquals(
    parseErrors(`global:
  scrape_interval: 15s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: [a:1]
    scrape_intervall: 10s
    static_config: []
  - job_name: x
    relabel_configs:
      - source_label: [a]
        frobnicate: 1
remote_write:
  - url: http://x/
    queue_config:
      max_shard: 2
scrape_config: []
`),
    [
      'prometheus.yml:7:5: unknown field "scrape_intervall" in scrape_configs[0] (did you mean "scrape_interval"?)',
      'prometheus.yml:8:5: unknown field "static_config" in scrape_configs[0] (did you mean "static_configs"?)',
      'prometheus.yml:11:9: unknown field "source_label" in scrape_configs[1].relabel_configs[0] (did you mean "source_labels"?)',
      'prometheus.yml:12:9: unknown field "frobnicate" in scrape_configs[1].relabel_configs[0]',
      'prometheus.yml:16:7: unknown field "max_shard" in remote_write[0].queue_config (did you mean "max_shards"?)',
      'prometheus.yml:17:1: unknown field "scrape_config" at the top level (did you mean "scrape_configs"?)',
    ],
  );
});

Deno.test("parsePrometheusYaml() names what ferry does not support yet", async (t) => {
  await t.step("unsupported fields are errors", () => {
    assertEquals(
      parseErrors(`scrape_configs:
  - job_name: k8s
    consul_sd_configs:
      - role: pod
    proxy_connect_header:
      X: [y]
    enable_http2: false
remote_write:
  - url: http://x/
    oauth2: {client_id: a, token_url: http://t/, client_secret_ref: s, grant_type: jwt}
    azuread: {cloud: AzurePublic}
    sigv4: {use_fips_sts_endpoint: true, external_id: x}
scrape_config_files: [a/*.yml]
`),
      [
        "prometheus.yml:3:5: scrape_configs[0].consul_sd_configs: not supported by ferry yet",
        "prometheus.yml:5:5: scrape_configs[0].proxy_connect_header: not supported by ferry yet",
        "prometheus.yml:7:5: scrape_configs[0].enable_http2: not supported by ferry yet",
        "prometheus.yml:10:50: remote_write[0].oauth2.client_secret_ref: not supported by ferry yet",
        "prometheus.yml:10:72: remote_write[0].oauth2.grant_type: not supported by ferry yet",
        "prometheus.yml:11:5: remote_write[0].azuread: not supported by ferry yet",
        "prometheus.yml:12:13: remote_write[0].sigv4.use_fips_sts_endpoint: not supported by ferry yet",
        "prometheus.yml:12:42: remote_write[0].sigv4.external_id: not supported by ferry yet",
        "prometheus.yml:13:1: scrape_config_files: not supported by ferry yet",
      ],
    );
  });
  await t.step("empty values and Prometheus' defaults are accepted", () => {
    const c = parsePrometheusYaml(`scrape_configs:
  - job_name: a
    tls_config: {}
    consul_sd_configs: []
    enable_http2: yes
    enable_compression: True
    label_limit: 0
    metric_name_validation_scheme: utf8
  - job_name: b
    tls_config:
      insecure_skip_verify: false
remote_write:
  - url: http://x/
    enable_http2: false
    round_robin_dns: false
    oauth2: {client_id: a, token_url: http://t/, grant_type: client_credentials}
    sigv4: {use_fips_sts_endpoint: false}
`);
    assertEquals(c, {
      scrapeConfigs: [
        { jobName: "a", tlsConfig: {}, enableCompression: true, labelLimit: 0 },
        { jobName: "b", tlsConfig: { insecureSkipVerify: false } },
      ],
      remoteWrite: [{
        url: "http://x/",
        oauth2: { clientId: "a", tokenUrl: "http://t/" },
        sigv4: {},
      }],
    });
  });
  await t.step("rule_files, alerting and remote_read are not allowed in agent mode", () => {
    assertEquals(
      parseErrors(`rule_files:
  - rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: [am:9093]
remote_read:
  - url: http://x/read
`),
      [
        "prometheus.yml:1:1: rule_files: not allowed in agent mode",
        "prometheus.yml:3:1: alerting: not allowed in agent mode",
        "prometheus.yml:7:1: remote_read: not allowed in agent mode",
      ],
    );
    // As in Prometheus Agent: empty sections are fine.
    assertEquals(
      parsePrometheusYaml("rule_files:\nremote_read: []\nalerting:\n  alertmanagers: []\n"),
      {},
    );
  });
});

Deno.test("parsePrometheusYaml() decodes scalars as go-yaml v2 does", async (t) => {
  const relabel = (body: string) =>
    parsePrometheusYaml(`scrape_configs:
  - job_name: j
    relabel_configs:
      - ${body}
`).scrapeConfigs?.[0].relabelConfigs?.[0];

  await t.step("string fields keep a plain scalar's source text", () => {
    assertEquals(relabel("{regex: 1.0, replacement: 010, target_label: 0x1F, separator: yes}"), {
      regex: "1.0",
      replacement: "010",
      targetLabel: "0x1F",
      separator: "yes",
    });
    assertEquals(relabel("{regex: 1e3, replacement: .inf, target_label: true, action: Keep}"), {
      regex: "1e3",
      replacement: ".inf",
      targetLabel: "true",
      action: "Keep",
    });
    assertEquals(relabel(`{regex: "1.0", replacement: '010'}`), {
      regex: "1.0",
      replacement: "010",
    });
    const c = parsePrometheusYaml(
      "scrape_configs:\n  - job_name: 123\n    static_configs: [{targets: [a:1], labels: {1: 2.50}}]\n",
    );
    assertEquals(c.scrapeConfigs?.[0].jobName, "123");
    assertEquals(c.scrapeConfigs?.[0].staticConfigs?.[0].labels, { "1": "2.50" });
  });

  await t.step("booleans accept YAML 1.1 spellings", () => {
    for (
      const [text, want] of [
        ["yes", true],
        ["Yes", true],
        ["on", true],
        ["ON", true],
        ["y", true],
        ["True", true],
        ["no", false],
        ["off", false],
        ["n", false],
        ["FALSE", false],
      ] as const
    ) {
      const c = parsePrometheusYaml(
        `scrape_configs:\n  - job_name: j\n    honor_labels: ${text}\n`,
      );
      assertEquals(c.scrapeConfigs?.[0].honorLabels, want, text);
    }
    assertEquals(
      parseErrors(
        'scrape_configs:\n  - job_name: j\n    honor_labels: "true"\n    follow_redirects: maybe\n',
      ),
      [
        'prometheus.yml:3:19: scrape_configs[0].honor_labels: expected a boolean (true/false, yes/no, on/off), got the string "true"',
        'prometheus.yml:4:23: scrape_configs[0].follow_redirects: expected a boolean (true/false, yes/no, on/off), got "maybe"',
      ],
    );
  });

  await t.step("integers", () => {
    for (
      const [text, want] of [
        ["1000", 1000],
        ["1_000", 1000],
        ["0x10", 16],
        ["010", 8],
        ["0o17", 15],
        ["0b101", 5],
        ["+7", 7],
        ["1e3", 1000],
        ["-1", -1],
      ] as const
    ) {
      const c = parsePrometheusYaml(
        `scrape_configs:\n  - job_name: j\n    sample_limit: ${text}\n`,
      );
      assertEquals(c.scrapeConfigs?.[0].sampleLimit, want, text);
    }
    assertEquals(
      parseErrors("scrape_configs:\n  - job_name: j\n    sample_limit: '5'\n    params: {a: b}\n"),
      [
        'prometheus.yml:3:19: scrape_configs[0].sample_limit: expected an integer, got the string "5"',
        'prometheus.yml:4:17: scrape_configs[0].params.a: expected a list of strings, got "b"',
      ],
    );
  });

  await t.step("null, ~ and empty values mean not set", () => {
    assertEquals(
      parsePrometheusYaml(
        "global:\n  scrape_interval:\n  scrape_timeout: ~\nscrape_configs: null\n",
      ),
      { global: {} },
    );
  });

  await t.step("aliases and merge keys", () => {
    const c = parsePrometheusYaml(`scrape_configs:
  - &base
    job_name: a
    scrape_interval: 5s
    static_configs: &targets
      - targets: [a:1]
  - <<: *base
    job_name: b
    static_configs: *targets
  - <<: [*base]
    job_name: c
`);
    assertEquals(c.scrapeConfigs, [
      { jobName: "a", scrapeInterval: "5s", staticConfigs: [{ targets: ["a:1"] }] },
      { jobName: "b", scrapeInterval: "5s", staticConfigs: [{ targets: ["a:1"] }] },
      { jobName: "c", scrapeInterval: "5s", staticConfigs: [{ targets: ["a:1"] }] },
    ]);
  });
});

Deno.test("parsePrometheusYaml() refuses documents that expand aliases without bound", () => {
  let doc = "scrape_configs:\n  - &j0\n    job_name: a\n    static_configs: [{targets: [a:1]}]\n";
  doc += "  - &j1 {<<: [*j0, *j0, *j0, *j0, *j0, *j0, *j0, *j0, *j0, *j0]}\n";
  for (let i = 2; i < 8; i++) {
    doc += `  - &j${i} {<<: [${Array(10).fill(`*j${i - 1}`).join(", ")}]}\n`;
  }
  assertEquals(parseErrors(doc), [
    "prometheus.yml:1:1: the document uses aliases more than 10000 times",
  ]);
});

Deno.test("loadYamlConfig() reports resolve problems with snake_case paths and lines", () => {
  assertEquals(
    loadErrors(`global:
  scrape_interval: 15s
scrape_configs:
  - job_name: node
    static_configs: [{targets: [a:1]}]
  - job_name: slow
    scrape_timeout: 20s
  - job_name: node
  - static_configs: [{targets: ["http://a/"]}]
    relabel_configs:
      - action: hashmod
        target_label: x
remote_write:
  - url: ftp://x/
    queue_config:
      min_shards: 9
      max_shards: 3
`),
    [
      "prometheus.yml:7:5: scrape_configs[1].scrape_timeout: 20s is longer than scrape_interval 15s",
      'prometheus.yml:8:5: scrape_configs[2].job_name: "node" is already used by scrape_configs[0]',
      "prometheus.yml:9:5: scrape_configs[3].job_name: required",
      'prometheus.yml:9:33: scrape_configs[3].static_configs[0].targets[0]: "http://a/" is not a host:port address (give no scheme or path; the job\'s scheme and metrics_path apply)',
      'prometheus.yml:11:9: scrape_configs[3].relabel_configs[0].modulus: must be greater than 0 for action "hashmod"',
      'prometheus.yml:14:5: remote_write[0].url: not an http(s) URL: "ftp://x/"',
      "prometheus.yml:16:7: remote_write[0].queue_config.min_shards: 9 is more than max_shards 3",
    ],
  );
});

Deno.test("loadYamlConfig() message names the file and every problem", () => {
  const e = assertThrows(
    () => loadYamlConfig("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "cfg/prom.yml"),
    ConfigError,
  ) as ConfigError;
  assertEquals(
    e.message,
    'config cfg/prom.yml: cfg/prom.yml:3:5: scrape_configs[1].job_name: "a" is already used by scrape_configs[0]',
  );
  assertEquals(e.issues[0].path, "scrape_configs[1].job_name");
  assertEquals([e.issues[0].line, e.issues[0].column], [3, 5]);
});

Deno.test("parsePrometheusYaml() wraps YAML syntax errors with their line", () => {
  const errs = parseErrors("scrape_configs:\n  - job_name: [a\n");
  assert(errs.length >= 1);
  assert(/^prometheus\.yml:\d+:\d+: YAML syntax error: /.test(errs[0]), errs[0]);
  assertEquals(parseErrors("global: {}\nglobal: {}\n"), [
    "prometheus.yml:2:1: YAML syntax error: Map keys must be unique",
  ]);
  assertEquals(parseErrors("global: {}\n---\nglobal: {}\n"), [
    "prometheus.yml:2:1: YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments()",
  ]);
  assertEquals(parseErrors("- a\n"), [
    "prometheus.yml:1:1: expected a map at the top level, got a list",
  ]);
  assertEquals(parseErrors("global: 5\n"), ['prometheus.yml:1:9: global: expected a map, got "5"']);
  assertEquals(parsePrometheusYaml(""), {});
  assertEquals(parsePrometheusYaml("# only a comment\n"), {});
});

Deno.test("parsePrometheusYaml() expands $VAR in external_labels when given env", () => {
  const env: Record<string, string> = { REGION: "eu", ZONE: "b" };
  const warnings: string[] = [];
  const c = parsePrometheusYaml(
    `global:
  external_labels:
    region: $REGION
    zone: "\${ZONE}-1"
    cost: "$$5"
    missing: a$NOPE
`,
    { env: (n) => env[n], onWarning: (w) => warnings.push(formatIssue(w)) },
  );
  assertEquals(c.global?.externalLabels, { region: "eu", zone: "b-1", cost: "$5", missing: "a" });
  assertEquals(warnings, [
    "prometheus.yml:6:5: global.external_labels.missing: environment variable NOPE is empty or unset",
  ]);
  assertEquals(
    parsePrometheusYaml("global:\n  external_labels: {a: $X}\n").global?.externalLabels,
    { a: "$X" },
    "without env, values are kept",
  );
  assertEquals(
    errorsOf(() =>
      parsePrometheusYaml("global:\n  external_labels: {a: $X}\n", {
        env: () => {
          throw new Error("no env access to X");
        },
      })
    ),
    ["prometheus.yml:2:21: global.external_labels.a: no env access to X"],
  );
});

Deno.test("expandEnv() follows Go's os.Expand", () => {
  const env = (n: string) => ({ A: "1", AB: "2", "1": "one" } as Record<string, string>)[n] ?? "";
  for (
    const [input, want] of [
      ["$A", "1"],
      ["${A}B", "1B"],
      ["$AB", "2"],
      ["$A-x", "1-x"],
      ["$$", "$"],
      ["${$}", "$"],
      ["$1", "one"],
      ["a$", "a$"],
      ["a$ b", "a$ b"],
      ["${}x", "x"],
      ["${A", "A"],
      ["$%", "$%"],
      ["", ""],
    ] as const
  ) {
    assertEquals(expandEnv(input, env), want, input);
  }
});

Deno.test("the same config written as YAML and as TypeScript resolves identically", async () => {
  const mod = await import(new URL("equivalent.config.ts", TESTDATA).href);
  const fromTs = resolveConfig(mod.default, { baseDir: TESTDATA_DIR });
  const fromYaml = loadYamlConfig(testdata("equivalent.yml"), "equivalent.yml", {
    baseDir: TESTDATA_DIR,
  });
  assertEquals(fromYaml, fromTs);
  assertEquals(fromTs.scrapeConfigs[0].basicAuth?.passwordFile, `${TESTDATA_DIR}/pass.txt`);
});

Deno.test("JSON is read through the YAML path", () => {
  const c = loadYamlConfig(testdata("json.config.json"), "json.config.json");
  assertEquals(c.global.scrapeIntervalMs, 20000);
  assertEquals(c.scrapeConfigs[0].jobName, "json");
});

Deno.test("parsePrometheusYaml() and loadYamlConfig() throw nothing but ConfigError", async (t) => {
  const check = (text: string) => {
    for (const f of [() => parsePrometheusYaml(text), () => loadYamlConfig(text, "p.yml")]) {
      try {
        f();
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        for (const i of e.issues) {
          if (i.path === "" && i.message.startsWith("YAML syntax error")) {
            assert(i.line !== undefined && i.line >= 1, "syntax errors carry a line");
          }
        }
      }
    }
  };
  await t.step("random YAML-ish text", () => {
    const piece = fc.constantFrom(
      "scrape_configs:",
      "global:",
      "remote_write:",
      "  - job_name: ",
      "    static_configs:",
      "      - targets: [",
      "]",
      "{",
      "}",
      "  ",
      "\n",
      "- ",
      ": ",
      "&a ",
      "*a",
      "<<: ",
      "'",
      '"',
      "#",
      "yes",
      "15s",
      "1.0",
      "~",
      "!!str ",
      "---\n",
      "\t",
      "relabel_configs:",
      "action: hashmod",
      "regex: (",
      "url: http://x/",
      "external_labels: {a: $B}",
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 40 }),
        (parts) => check(parts.join("")),
      ),
      { numRuns: 1500 },
    );
  });
  await t.step("random documents over the prometheus.yml vocabulary", () => {
    const keys = [
      "global",
      "scrape_configs",
      "remote_write",
      "job_name",
      "scrape_interval",
      "scrape_timeout",
      "static_configs",
      "targets",
      "labels",
      "relabel_configs",
      "source_labels",
      "regex",
      "action",
      "modulus",
      "target_label",
      "url",
      "queue_config",
      "max_shards",
      "basic_auth",
      "username",
      "password",
      "tls_config",
      "rule_files",
      "honor_labels",
      "sample_limit",
      "params",
      "external_labels",
      "<<",
      "__proto__",
    ];
    const scalar = fc.oneof(
      fc.constantFrom("15s", "0", "a:1", "http://x/", "hashmod", "yes", "(", "", null, 1.5, -1),
      fc.string({ maxLength: 6 }),
      fc.integer(),
      fc.boolean(),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        scalar,
        fc.array(tie("tree"), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom(...keys), tie("tree"), { maxKeys: 5 }),
      ),
    }));
    fc.assert(fc.property(tree, (doc) => check(stringify(doc))), { numRuns: 1500 });
  });
});

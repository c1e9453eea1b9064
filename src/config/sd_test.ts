/** Service-discovery configs in both forms: TypeScript (with helpers) and prometheus.yml. */

import { assertEquals } from "../testing/assert.ts";
import { ConfigError } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import { resolveConfig } from "./resolve.ts";
import { dnsSd, fileSd, httpSd } from "./sd.ts";
import type { AgentConfig, ScrapeConfig } from "./types.ts";

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) {
      return e.issues.map((i) => (i.line ? `${i.line}: ${i.message}` : `${i.path}: ${i.message}`));
    }
    throw e;
  }
  return [];
}

const job = (over: Partial<ScrapeConfig>): AgentConfig => ({
  scrapeConfigs: [{ jobName: "j", ...over }],
});

Deno.test("SD configs resolve with Prometheus' defaults", () => {
  const c = resolveConfig(
    job({
      fileSdConfigs: [fileSd("targets/*.json")],
      httpSdConfigs: [httpSd("http://cmdb:8080/sd")],
      dnsSdConfigs: [
        dnsSd("_node._tcp.example.com"),
        dnsSd("db.example.com", { type: "A", port: 9100 }),
      ],
    }),
    { baseDir: "/etc/ferry" },
  ).scrapeConfigs[0];
  assertEquals(c.fileSdConfigs, [{
    files: ["/etc/ferry/targets/*.json"],
    refreshIntervalMs: 300_000,
  }]);
  assertEquals(c.httpSdConfigs, [{
    url: "http://cmdb:8080/sd",
    refreshIntervalMs: 60_000,
    httpHeaders: {},
    followRedirects: true,
  }]);
  assertEquals(c.dnsSdConfigs, [
    { names: ["_node._tcp.example.com"], type: "SRV", port: 0, refreshIntervalMs: 30_000 },
    { names: ["db.example.com"], type: "A", port: 9100, refreshIntervalMs: 30_000 },
  ]);
  assertEquals(c.keepDroppedTargets, 1000);
});

Deno.test("keepDroppedTargets: job, else global, else 1000; 0 means unset", () => {
  const keep = (global: number | undefined, jobValue: number | undefined) =>
    resolveConfig({
      global: global === undefined ? {} : { keepDroppedTargets: global },
      scrapeConfigs: [{ jobName: "j", keepDroppedTargets: jobValue }],
    }).scrapeConfigs[0].keepDroppedTargets;
  assertEquals(keep(undefined, undefined), 1000);
  assertEquals(keep(50, undefined), 50);
  assertEquals(keep(50, 7), 7);
  assertEquals(keep(50, 0), 50);
  assertEquals(keep(0, 0), 1000);
  assertEquals(issues(() => keep(-1, undefined)), [
    "global.keepDroppedTargets: must be at least 0, got -1",
  ]);
});

Deno.test("SD configs are validated with the path of each problem", () => {
  assertEquals(
    issues(() =>
      resolveConfig(job({
        fileSdConfigs: [
          { files: [] },
          { files: ["a/*/b.json", "t.txt", ""], refreshInterval: "0" },
          // deno-lint-ignore no-explicit-any
          { files: ["ok.yml"], refresh: "1m" } as any,
        ],
        httpSdConfigs: [
          { url: "ftp://x/" },
          {
            url: "http://x/",
            httpHeaders: {
              "Authorization": { values: ["x"] },
              "Bad Header": {},
              "X-Ok": { values: ["a\nb"] },
            },
            basicAuth: { username: "u" },
            authorization: { credentials: "c" },
          },
          // deno-lint-ignore no-explicit-any
          {} as any,
        ],
        dnsSdConfigs: [
          // deno-lint-ignore no-explicit-any
          { names: [], type: "TXT" as any },
          { names: ["a", ""], type: "A" },
          { names: ["b"], type: "MX", port: 70000 },
        ],
      }))
    ).sort(),
    [
      "scrapeConfigs[0].fileSdConfigs[0].files: required (at least one path or glob)",
      'scrapeConfigs[0].fileSdConfigs[1].files[0]: "a/*/b.json": glob characters are allowed only in the last path element',
      'scrapeConfigs[0].fileSdConfigs[1].files[1]: "t.txt" must end in .json, .yml or .yaml',
      "scrapeConfigs[0].fileSdConfigs[1].files[2]: a path must not be empty",
      "scrapeConfigs[0].fileSdConfigs[1].refreshInterval: must be greater than 0",
      "scrapeConfigs[0].fileSdConfigs[2].refresh: unknown field",
      'scrapeConfigs[0].httpSdConfigs[0].url: not an http(s) URL with a host: "ftp://x/"',
      "scrapeConfigs[0].httpSdConfigs[1]: give basicAuth or authorization, not both",
      'scrapeConfigs[0].httpSdConfigs[1].httpHeaders.Authorization: "Authorization" is reserved (use basicAuth or authorization for credentials)',
      'scrapeConfigs[0].httpSdConfigs[1].httpHeaders["Bad Header"]: "Bad Header" is not a valid HTTP header name',
      'scrapeConfigs[0].httpSdConfigs[1].httpHeaders["X-Ok"]: values must not contain CR, LF or NUL',
      "scrapeConfigs[0].httpSdConfigs[2].url: required",
      "scrapeConfigs[0].dnsSdConfigs[0].names: required (at least one name)",
      'scrapeConfigs[0].dnsSdConfigs[0].type: unknown record type "TXT" (want one of SRV, A, AAAA, MX, NS)',
      "scrapeConfigs[0].dnsSdConfigs[1].names[1]: a name must not be empty",
      "scrapeConfigs[0].dnsSdConfigs[1].port: required for record type A (only SRV records carry a port)",
      "scrapeConfigs[0].dnsSdConfigs[2].port: must be at most 65535, got 70000",
    ].sort(),
  );
});

const YAML = `global:
  keep_dropped_targets: 200
scrape_configs:
  - job_name: node
    keep_dropped_targets: 20
    file_sd_configs:
      - files: [targets/*.json, /abs/t.yml]
        refresh_interval: 1m
    http_sd_configs:
      - url: https://cmdb.example.com/sd
        refresh_interval: 30s
        authorization: {credentials_file: token}
        http_headers:
          X-Tenant:
            values: [a]
            secrets: [s]
            files: [tenant.txt]
        follow_redirects: false
        enable_http2: true
    dns_sd_configs:
      - names: [_node._tcp.example.com]
      - names: [db.example.com]
        type: aaaa
        port: 9100
        refresh_interval: 10s
`;

Deno.test("prometheus.yml: file_sd, http_sd and dns_sd map onto the model", () => {
  const c = loadYamlConfig(YAML, "prometheus.yml", { baseDir: "/cfg" });
  assertEquals(c.global.keepDroppedTargets, 200);
  const s = c.scrapeConfigs[0];
  assertEquals(s.keepDroppedTargets, 20);
  assertEquals(s.fileSdConfigs, [{
    files: ["/cfg/targets/*.json", "/abs/t.yml"],
    refreshIntervalMs: 60_000,
  }]);
  assertEquals(s.httpSdConfigs, [{
    url: "https://cmdb.example.com/sd",
    refreshIntervalMs: 30_000,
    httpHeaders: { "X-Tenant": { values: ["a"], secrets: ["s"], files: ["/cfg/tenant.txt"] } },
    followRedirects: false,
    authorization: { type: "Bearer", credentialsFile: "/cfg/token" },
  }]);
  assertEquals(s.dnsSdConfigs, [
    { names: ["_node._tcp.example.com"], type: "SRV", port: 0, refreshIntervalMs: 30_000 },
    { names: ["db.example.com"], type: "AAAA", port: 9100, refreshIntervalMs: 10_000 },
  ]);
});

Deno.test("prometheus.yml: the TypeScript and YAML forms resolve to the same config", () => {
  const ts = resolveConfig({
    global: { keepDroppedTargets: 200 },
    scrapeConfigs: [{
      jobName: "node",
      keepDroppedTargets: 20,
      fileSdConfigs: [fileSd(["targets/*.json", "/abs/t.yml"], { refreshInterval: "1m" })],
      httpSdConfigs: [httpSd("https://cmdb.example.com/sd", {
        refreshInterval: "30s",
        authorization: { credentialsFile: "token" },
        httpHeaders: { "X-Tenant": { values: ["a"], secrets: ["s"], files: ["tenant.txt"] } },
        followRedirects: false,
      })],
      dnsSdConfigs: [
        dnsSd("_node._tcp.example.com"),
        dnsSd(["db.example.com"], { type: "AAAA", port: 9100, refreshInterval: "10s" }),
      ],
    }],
  }, { baseDir: "/cfg" });
  assertEquals(ts, loadYamlConfig(YAML, "prometheus.yml", { baseDir: "/cfg" }));
});

Deno.test("prometheus.yml: SD errors have lines; other SD kinds are still named as unsupported", () => {
  assertEquals(
    issues(() =>
      loadYamlConfig(
        `scrape_configs:
  - job_name: a
    dns_sd_configs:
      - names: [x]
        type: A
`,
        "prometheus.yml",
      )
    ),
    [
      "4: scrape_configs[0].dns_sd_configs[0].port: required for record type A (only SRV records carry a port)",
    ],
  );
  assertEquals(
    issues(() =>
      loadYamlConfig(
        `scrape_configs:
  - job_name: a
    http_sd_configs:
      - url: http://x/
        proxy_url: http://proxy/
        http_headers:
          X: {value: [a]}
    consul_sd_configs:
      - server: localhost:8500
`,
        "prometheus.yml",
      )
    ),
    [
      "5: scrape_configs[0].http_sd_configs[0].proxy_url: not supported by ferry yet",
      '7: unknown field "value" in scrape_configs[0].http_sd_configs[0].http_headers.X (did you mean "values"?)',
      "8: scrape_configs[0].consul_sd_configs: not supported by ferry yet",
    ],
  );
});

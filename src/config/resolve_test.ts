import { createHash } from "node:crypto";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import { ConfigError, formatIssue } from "./errors.ts";
import { resolveConfig } from "./resolve.ts";
import type { ResolvedConfig, ResolvedRemoteWrite } from "./types.ts";

/** The issues resolveConfig reports for `input`, as `path: message` lines (formatIssue). */
function problems(input: unknown): string[] {
  try {
    resolveConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error("expected a ConfigError, got a resolved config");
}

/** `input` fails with exactly these issues. */
function rejects(input: unknown, ...want: string[]): void {
  assertEquals(problems(input), want);
}

const job = (extra: Record<string, unknown> = {}) => ({
  jobName: "j",
  staticConfigs: [{ targets: ["a:1"] }],
  ...extra,
});
const relabel = (...rules: unknown[]) => ({ scrapeConfigs: [job({ relabelConfigs: rules })] });
const rw = (extra: Record<string, unknown> = {}) => ({
  remoteWrite: [{ url: "http://rw:9090/api/v1/write", ...extra }],
});

Deno.test("resolveConfig() applies Prometheus' defaults", async (t) => {
  await t.step("empty config", () => {
    assertEquals(resolveConfig({}), {
      global: {
        scrapeIntervalMs: 60_000,
        scrapeTimeoutMs: 10_000,
        externalLabels: {},
        keepDroppedTargets: 1000,
        scrapeProtocols: [
          "OpenMetricsText1.0.0",
          "OpenMetricsText0.0.1",
          "PrometheusText1.0.0",
          "PrometheusText0.0.4",
        ],
        bodySizeLimit: 0,
        sampleLimit: 0,
        targetLimit: 0,
        labelLimit: 0,
        labelNameLengthLimit: 0,
        labelValueLengthLimit: 0,
      },
      scrapeConfigs: [],
      remoteWrite: [],
      shard: null,
      replicaLabel: "__replica__",
    });
  });

  // [global, job, want interval, want timeout]
  const timing: [Record<string, string>, Record<string, string>, number, number][] = [
    [{}, {}, 60_000, 10_000],
    [{ scrapeInterval: "30s" }, {}, 30_000, 10_000],
    [{ scrapeInterval: "5s" }, {}, 5_000, 5_000], // global default timeout capped by the interval
    [{ scrapeInterval: "15s", scrapeTimeout: "5s" }, {}, 15_000, 5_000],
    [{}, { scrapeInterval: "5s" }, 5_000, 5_000], // job interval below the global timeout
    [{}, { scrapeInterval: "2m" }, 120_000, 10_000],
    [{ scrapeTimeout: "30s" }, { scrapeInterval: "20s" }, 20_000, 20_000],
    [{}, { scrapeInterval: "20s", scrapeTimeout: "20s" }, 20_000, 20_000],
    [{ scrapeInterval: "15s" }, { scrapeInterval: "0" }, 15_000, 10_000], // 0 = unset
    [{ scrapeInterval: "0", scrapeTimeout: "0" }, {}, 60_000, 10_000],
    [{}, { scrapeTimeout: "3s" }, 60_000, 3_000],
  ];
  for (const [global, j, interval, timeout] of timing) {
    await t.step(`intervals: global ${JSON.stringify(global)} job ${JSON.stringify(j)}`, () => {
      const c = resolveConfig({ global, scrapeConfigs: [job(j)] });
      assertEquals(
        [c.scrapeConfigs[0].scrapeIntervalMs, c.scrapeConfigs[0].scrapeTimeoutMs],
        [interval, timeout],
      );
    });
  }

  await t.step("scrape config", () => {
    assertEquals(resolveConfig({ scrapeConfigs: [job()] }).scrapeConfigs[0], {
      jobName: "j",
      scrapeIntervalMs: 60_000,
      scrapeTimeoutMs: 10_000,
      metricsPath: "/metrics",
      scheme: "http",
      params: {},
      honorLabels: false,
      honorTimestamps: true,
      sampleLimit: 0,
      scrapeProtocols: [
        "OpenMetricsText1.0.0",
        "OpenMetricsText0.0.1",
        "PrometheusText1.0.0",
        "PrometheusText0.0.4",
      ],
      fallbackScrapeProtocol: "",
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
      staticConfigs: [{ targets: ["a:1"], labels: {} }],
      fileSdConfigs: [],
      httpSdConfigs: [],
      dnsSdConfigs: [],
      keepDroppedTargets: 1000,
      relabelConfigs: [],
      metricRelabelConfigs: [],
      followRedirects: true,
    });
  });

  await t.step("relabel config", () => {
    const c = resolveConfig(relabel({ targetLabel: "x" }, { action: "Keep" }, { action: "DROP" }));
    assertEquals(c.scrapeConfigs[0].relabelConfigs, [
      {
        sourceLabels: [],
        separator: ";",
        regex: "(.*)",
        modulus: 0,
        targetLabel: "x",
        replacement: "$1",
        action: "replace",
      },
      {
        sourceLabels: [],
        separator: ";",
        regex: "(.*)",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
        action: "keep",
      },
      {
        sourceLabels: [],
        separator: ";",
        regex: "(.*)",
        modulus: 0,
        targetLabel: "",
        replacement: "$1",
        action: "drop",
      },
    ]);
  });

  await t.step("remote write", () => {
    const got = resolveConfig(rw()).remoteWrite[0];
    const want: ResolvedRemoteWrite = {
      url: "http://rw:9090/api/v1/write",
      name: got.name,
      remoteTimeoutMs: 30_000,
      headers: {},
      writeRelabelConfigs: [],
      maxDiskBytes: 0,
      queue: {
        capacity: 10_000,
        maxShards: 50,
        minShards: 1,
        maxSamplesPerSend: 2_000,
        batchSendDeadlineMs: 5_000,
        minBackoffMs: 30,
        maxBackoffMs: 5_000,
        retryOnHttp429: false,
        sampleAgeLimitMs: 0,
        maxBytesPerSend: 4 * 1024 * 1024,
      },
      protobufMessage: "prometheus.WriteRequest",
      fallbackToRw1: false,
      sendExemplars: false,
      sendNativeHistograms: false,
      metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2_000 },
      tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
      proxyUrl: "",
      followRedirects: true,
    };
    assertEquals(got, want);
  });

  await t.step("remote write name: 6 hex digits of the SHA-256 of the endpoint URL", () => {
    const got = resolveConfig(rw()).remoteWrite[0];
    const hash = createHash("sha256").update(got.url).digest("hex");
    assertEquals(got.name, hash.slice(0, 6));
    assertEquals(resolveConfig(rw()).remoteWrite[0].name, got.name, "stable");
    assert(resolveConfig(rw({ url: "http://other/" })).remoteWrite[0].name !== got.name);
    // The name keys the WAL delivery cursor: tuning an endpoint must not orphan its backlog.
    assertEquals(
      resolveConfig(rw({ queueConfig: { capacity: 5 }, remoteTimeout: "5s" })).remoteWrite[0].name,
      got.name,
    );
    assertEquals(resolveConfig(rw({ name: "mine" })).remoteWrite[0].name, "mine");
  });

  await t.step("http client", () => {
    const c = resolveConfig({
      scrapeConfigs: [job({ authorization: { credentials: "t" } })],
      remoteWrite: [{
        url: "https://x/",
        basicAuth: { username: "u", passwordFile: "secret" },
        followRedirects: false,
      }],
    }, { baseDir: "/etc/ferry" });
    assertEquals(c.scrapeConfigs[0].authorization, { type: "Bearer", credentials: "t" });
    assertEquals(c.remoteWrite[0].basicAuth, { username: "u", passwordFile: "/etc/ferry/secret" });
    assertEquals(c.remoteWrite[0].followRedirects, false);
    const abs = resolveConfig(
      { scrapeConfigs: [job({ authorization: { credentialsFile: "/abs/t" } })] },
      { baseDir: "/etc" },
    );
    assertEquals(abs.scrapeConfigs[0].authorization, { type: "Bearer", credentialsFile: "/abs/t" });
    const kept = resolveConfig({
      scrapeConfigs: [job({ basicAuth: { username: "u", passwordFile: "p" } })],
    });
    assertEquals(kept.scrapeConfigs[0].basicAuth?.passwordFile, "p", "no baseDir: as written");
  });

  await t.step("everything given", () => {
    const c: ResolvedConfig = resolveConfig({
      global: { scrapeInterval: "10s", scrapeTimeout: "2s", externalLabels: { "a.b": "c" } },
      scrapeConfigs: [job({
        metricsPath: "/m",
        scheme: "https",
        params: { module: ["x", "y"] },
        honorLabels: true,
        honorTimestamps: false,
        sampleLimit: 100,
        staticConfigs: [{ targets: ["[::1]:80", "localhost"], labels: { __param_x: "1" } }],
      })],
    });
    const s = c.scrapeConfigs[0];
    assertEquals(c.global.externalLabels, { "a.b": "c" });
    assertEquals(
      [s.metricsPath, s.scheme, s.params, s.honorLabels, s.honorTimestamps, s.sampleLimit],
      ["/m", "https", { module: ["x", "y"] }, true, false, 100],
    );
    assertEquals(s.staticConfigs, [{
      targets: ["[::1]:80", "localhost"],
      labels: { __param_x: "1" },
    }]);
  });
});

Deno.test("resolveConfig() reports every problem with its path", async (t) => {
  await t.step("timeout longer than interval", () => {
    rejects(
      {
        scrapeConfigs: [job(), job({ jobName: "k", scrapeInterval: "15s", scrapeTimeout: "20s" })],
      },
      "scrapeConfigs[1].scrapeTimeout: 20s is longer than scrapeInterval 15s",
    );
    rejects(
      { global: { scrapeInterval: "10s", scrapeTimeout: "1m" } },
      "global.scrapeTimeout: 1m is longer than scrapeInterval 10s",
    );
    rejects(
      { global: { scrapeInterval: "30s" }, scrapeConfigs: [job({ scrapeTimeout: "1m" })] },
      "scrapeConfigs[0].scrapeTimeout: 1m is longer than scrapeInterval 30s",
    );
  });

  await t.step("job name required and unique", () => {
    rejects({ scrapeConfigs: [{}] }, "scrapeConfigs[0].jobName: required");
    rejects({ scrapeConfigs: [{ jobName: "" }] }, "scrapeConfigs[0].jobName: required");
    rejects(
      { scrapeConfigs: [job({ jobName: "node" }), job(), job({ jobName: "node" })] },
      'scrapeConfigs[2].jobName: "node" is already used by scrapeConfigs[0]',
    );
  });

  await t.step("remote write URL", () => {
    rejects(rw({ url: "ftp://x/" }), 'remoteWrite[0].url: not an http(s) URL: "ftp://x/"');
    rejects(
      rw({ url: "localhost:9090" }),
      'remoteWrite[0].url: not an http(s) URL: "localhost:9090"',
    );
    rejects({ remoteWrite: [{}] }, "remoteWrite[0].url: required");
  });

  await t.step("remote write names unique", () => {
    rejects(
      { remoteWrite: [{ url: "http://a/", name: "x" }, { url: "http://b/", name: "x" }] },
      'remoteWrite[1].name: "x" is already used by remoteWrite[0]',
    );
    rejects(
      { remoteWrite: [{ url: "http://a/" }, { url: "http://a/" }] },
      "remoteWrite[1]: same URL as remoteWrite[0] (give each a distinct name)",
    );
    rejects(
      rw({ name: "" }),
      "remoteWrite[0].name: must not be empty (leave it out for a generated name)",
    );
  });

  await t.step("unknown fields", () => {
    rejects(
      { scrapeConfigs: [job({ scrapeIntervall: "1m" })] },
      'scrapeConfigs[0].scrapeIntervall: unknown field (did you mean "scrapeInterval"?)',
    );
    rejects(
      { scrape_configs: [] },
      'scrape_configs: unknown field (did you mean "scrapeConfigs"?)',
    );
    rejects({ rules: [] }, "rules: unknown field");
    rejects(
      relabel({ targetLabel: "x", sourceLabel: ["a"] }),
      'scrapeConfigs[0].relabelConfigs[0].sourceLabel: unknown field (did you mean "sourceLabels"?)',
    );
    rejects(
      rw({ queueConfig: { maxShard: 1 } }),
      'remoteWrite[0].queueConfig.maxShard: unknown field (did you mean "maxShards"?)',
    );
    rejects(
      { global: { externalLabel: {} } },
      'global.externalLabel: unknown field (did you mean "externalLabels"?)',
    );
  });

  await t.step("wrong types", () => {
    rejects(null, "a config must be an object, got null");
    rejects([], "a config must be an object, got an array");
    rejects({ global: "x" }, 'global: expected an object, got the string "x"');
    rejects({ scrapeConfigs: {} }, "scrapeConfigs: expected a list, got an object");
    rejects(
      { scrapeConfigs: [null] },
      "scrapeConfigs[0]: expected an object, got null",
      "scrapeConfigs[0].jobName: required",
    );
    rejects(
      { scrapeConfigs: [job({ jobName: 5 })] },
      "scrapeConfigs[0].jobName: expected a string, got the number 5",
    );
    rejects(
      { scrapeConfigs: [job({ honorLabels: "yes" })] },
      'scrapeConfigs[0].honorLabels: expected a boolean (true or false), got the string "yes"',
    );
    rejects(
      { scrapeConfigs: [job({ sampleLimit: 1.5 })] },
      "scrapeConfigs[0].sampleLimit: expected an integer, got the number 1.5",
    );
    rejects(
      { scrapeConfigs: [job({ sampleLimit: -1 })] },
      "scrapeConfigs[0].sampleLimit: must be at least 0, got -1",
    );
    rejects(
      { scrapeConfigs: [job({ scheme: "ftp" })] },
      'scrapeConfigs[0].scheme: must be "http" or "https", got "ftp"',
    );
    rejects(
      { scrapeConfigs: [job({ params: { a: "b" } })] },
      'scrapeConfigs[0].params.a: expected a list, got the string "b"',
    );
    rejects(
      { scrapeConfigs: [job({ staticConfigs: [{ targets: "a:1" }] })] },
      'scrapeConfigs[0].staticConfigs[0].targets: expected a list, got the string "a:1"',
    );
    rejects(
      { global: { externalLabels: { a: 1 } } },
      "global.externalLabels.a: expected a string, got the number 1",
    );
    rejects(
      { global: { externalLabels: new Map() } },
      "global.externalLabels: expected an object of strings, got a Map",
    );
    rejects(
      { scrapeConfigs: [job({ jobName: "\ud800" })] },
      "scrapeConfigs[0].jobName: is not valid UTF-8 (contains a lone surrogate)",
    );
  });

  await t.step("durations", () => {
    rejects(
      { global: { scrapeInterval: "15 s" } },
      'global.scrapeInterval: not a valid duration string: "15 s"',
    );
    rejects(
      { global: { scrapeInterval: "1.5m" } },
      'global.scrapeInterval: not a valid duration string: "1.5m"',
    );
    rejects(
      { global: { scrapeInterval: 15 } },
      'global.scrapeInterval: expected a duration string such as "15s", got the number 15',
    );
    rejects(rw({ remoteTimeout: "0" }), "remoteWrite[0].remoteTimeout: must be greater than 0");
    rejects(
      rw({ queueConfig: { batchSendDeadline: "5" } }),
      'remoteWrite[0].queueConfig.batchSendDeadline: not a valid duration string: "5"',
    );
  });

  await t.step("an invalid interval does not also report a misleading timeout", () => {
    rejects(
      { global: { scrapeInterval: "bad", scrapeTimeout: "2m" } },
      'global.scrapeInterval: not a valid duration string: "bad"',
    );
  });

  await t.step("authentication", () => {
    rejects(
      { scrapeConfigs: [job({ basicAuth: { username: "u", password: "p", passwordFile: "f" } })] },
      "scrapeConfigs[0].basicAuth: give password or passwordFile, not both",
    );
    rejects(
      rw({ authorization: { credentials: "c", credentialsFile: "f" } }),
      "remoteWrite[0].authorization: give credentials or credentialsFile, not both",
    );
    rejects(
      rw({ authorization: { type: "Basic", credentials: "c" } }),
      'remoteWrite[0].authorization.type: "Basic" is not allowed; use basicAuth instead',
    );
    rejects(
      rw({ authorization: { credentials: "c" }, basicAuth: { username: "u" } }),
      "remoteWrite[0]: give at most one of basicAuth, authorization, oauth2 and sigv4 (got basicAuth and authorization)",
    );
    rejects(
      {
        scrapeConfigs: [job({ authorization: { credentials: "c" }, basicAuth: { username: "u" } })],
      },
      "scrapeConfigs[0]: give basicAuth or authorization, not both",
    );
    rejects(rw({ basicAuth: { password: "p" } }), "remoteWrite[0].basicAuth.username: required");
  });

  await t.step("targets", () => {
    const targets = (...t: string[]) => ({
      scrapeConfigs: [job({ staticConfigs: [{ targets: t }] })],
    });
    for (
      const ok of [
        "a:1",
        "localhost",
        "10.0.0.1:9100",
        "[::1]:9100",
        "[fe80::1%eth0]:80",
        "my-host.example.com:443",
      ]
    ) {
      resolveConfig(targets(ok));
    }
    const p = "scrapeConfigs[0].staticConfigs[0].targets";
    rejects(
      targets("http://a:1/metrics", "", "a b:1", "a:0", "a:", "::1:9100", ":80", "a:99999", "[::1"),
      `${p}[0]: "http://a:1/metrics" is not a host:port address (give no scheme or path; the job's scheme and metricsPath apply)`,
      `${p}[1]: a target must not be empty`,
      `${p}[2]: "a b:1" contains whitespace or control characters`,
      `${p}[3]: "a:0" has an invalid port (want 1-65535)`,
      `${p}[4]: "a:" has an invalid port (want 1-65535)`,
      `${p}[5]: "::1:9100" is not a host:port address (put IPv6 addresses in brackets)`,
      `${p}[6]: ":80" has no host`,
      `${p}[7]: "a:99999" has an invalid port (want 1-65535)`,
      `${p}[8]: "[::1" is not a valid [IPv6]:port address`,
    );
  });

  await t.step("label names", () => {
    rejects(
      { global: { externalLabels: { "": "x" } } },
      'global.externalLabels[""]: "" is not a valid label name',
    );
    rejects(
      {
        scrapeConfigs: [job({ staticConfigs: [{ targets: ["a:1"], labels: { "\udc00": "x" } }] })],
      },
      'scrapeConfigs[0].staticConfigs[0].labels["\\udc00"]: "\\udc00" is not a valid label name',
    );
    rejects(
      relabel({ sourceLabels: ["a", ""], targetLabel: "x" }),
      'scrapeConfigs[0].relabelConfigs[0].sourceLabels[1]: "" is not a valid label name',
    );
  });

  await t.step("headers", () => {
    rejects(
      rw({ headers: { "Content-Type": "text/plain", "X-Ok": "1", "bad header": "x" } }),
      'remoteWrite[0].headers["Content-Type"]: "Content-Type" is set by remote write itself and cannot be overridden',
      'remoteWrite[0].headers["bad header"]: "bad header" is not a valid HTTP header name',
    );
    rejects(
      rw({ headers: { Authorization: "Bearer x" }, basicAuth: { username: "u" } }),
      "remoteWrite[0].headers: an Authorization header cannot be combined with basicAuth",
    );
    assertEquals(
      resolveConfig(rw({ headers: { Authorization: "Bearer x" } })).remoteWrite[0].headers,
      {
        Authorization: "Bearer x",
      },
    );
  });

  await t.step("queue", () => {
    rejects(
      rw({ queueConfig: { minShards: 5, maxShards: 2 } }),
      "remoteWrite[0].queueConfig.minShards: 5 is more than maxShards 2",
    );
    rejects(
      rw({ queueConfig: { capacity: 0 } }),
      "remoteWrite[0].queueConfig.capacity: must be at least 1, got 0",
    );
    rejects(
      rw({ queueConfig: { minBackoff: "10s" } }),
      "remoteWrite[0].queueConfig.minBackoff: 10s is longer than maxBackoff 5s",
    );
    rejects(
      rw({ queueConfig: { retryOnHttp429: 1 } }),
      "remoteWrite[0].queueConfig.retryOnHttp429: expected a boolean (true or false), got the number 1",
    );
  });

  await t.step("every problem is listed in the message", () => {
    const e = assertThrows(
      () =>
        resolveConfig({
          scrapeConfigs: [{ scrapeIntervall: "1m" }],
          remoteWrite: [{ url: "nope" }],
        }, { source: "agent.config.ts" }),
      ConfigError,
    ) as ConfigError;
    assertEquals(e.issues.length, 3);
    assertEquals(
      e.message,
      "config agent.config.ts: 3 problems:\n" +
        '  - scrapeConfigs[0].scrapeIntervall: unknown field (did you mean "scrapeInterval"?)\n' +
        "  - scrapeConfigs[0].jobName: required\n" +
        '  - remoteWrite[0].url: not an http(s) URL: "nope"',
    );
    assertEquals(e.source, "agent.config.ts");
    const one = assertThrows(() => resolveConfig({ scrapeConfigs: [{}] }), ConfigError);
    assertEquals(one.message, "invalid config: scrapeConfigs[0].jobName: required");
  });
});

Deno.test("resolveConfig() validates relabel rules per action", async (t) => {
  const p = "scrapeConfigs[0].relabelConfigs[0]";
  for (const action of ["replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"]) {
    await t.step(`${action} requires targetLabel`, () => {
      const extra = action === "hashmod" ? { modulus: 2 } : {};
      rejects(relabel({ action, ...extra }), `${p}.targetLabel: required for action "${action}"`);
      resolveConfig(relabel({ action, targetLabel: "t", ...extra }));
    });
  }
  await t.step("rules Go accepts load, also where JS captures differ (re2js runs them)", () => {
    resolveConfig(relabel({ sourceLabels: ["a"], regex: "(?:a|(b))*", targetLabel: "x" }));
    resolveConfig(relabel({ sourceLabels: ["a"], regex: "(?i)[\\PLa]", targetLabel: "x" }));
  });
  await t.step("hashmod requires a modulus", () => {
    rejects(
      relabel({ action: "hashmod", targetLabel: "t" }),
      `${p}.modulus: must be greater than 0 for action "hashmod"`,
    );
    rejects(
      relabel({ action: "hashmod", targetLabel: "t", modulus: -1 }),
      `${p}.modulus: must be at least 0, got -1`,
    );
  });
  await t.step("labeldrop and labelkeep take only regex", () => {
    rejects(
      relabel({
        action: "labeldrop",
        sourceLabels: ["a"],
        targetLabel: "b",
        separator: ",",
        replacement: "x",
        modulus: 1,
      }),
      `${p}.sourceLabels: cannot be set for action "labeldrop" (it takes only regex)`,
      `${p}.targetLabel: cannot be set for action "labeldrop" (it takes only regex)`,
      `${p}.modulus: cannot be set for action "labeldrop" (it takes only regex)`,
      `${p}.separator: cannot be set for action "labeldrop" (it takes only regex)`,
      `${p}.replacement: cannot be set for action "labeldrop" (it takes only regex)`,
    );
    resolveConfig(relabel({ action: "labelkeep", regex: "a|b" }));
    resolveConfig(relabel({ action: "labeldrop", separator: ";", replacement: "$1" }), {
      source: "explicit defaults are fine, as in Prometheus",
    });
  });
  await t.step("keepequal and dropequal take only sourceLabels and targetLabel", () => {
    rejects(
      relabel({ action: "keepequal", targetLabel: "t", regex: "x", separator: "," }),
      `${p}.regex: cannot be set for action "keepequal" (it takes only sourceLabels and targetLabel)`,
      `${p}.separator: cannot be set for action "keepequal" (it takes only sourceLabels and targetLabel)`,
    );
  });
  await t.step("lowercase and uppercase take no replacement", () => {
    rejects(
      relabel({ action: "uppercase", targetLabel: "t", replacement: "x" }),
      `${p}.replacement: cannot be set for action "uppercase"`,
    );
  });
  await t.step("labelmap", () => {
    resolveConfig(relabel({ action: "labelmap", regex: "__meta_(.+)" }));
    rejects(
      relabel({ action: "labelmap", replacement: "" }),
      `${p}.replacement: must not be empty for action "labelmap"`,
    );
  });
  await t.step("unknown action, case-insensitive names", () => {
    rejects(
      relabel({ action: "rename" }),
      `${p}.action: unknown action "rename" (want one of replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase)`,
    );
    assertEquals(
      resolveConfig(relabel({ action: "LabelDrop", regex: "x" })).scrapeConfigs[0].relabelConfigs[0]
        .action,
      "labeldrop",
    );
  });
  await t.step("regex must compile", () => {
    const got = problems(relabel({ action: "keep", regex: "(" }));
    assertEquals(got.length, 1);
    assert(got[0].startsWith(`${p}.regex: `), got[0]);
    assert(got[0].includes('"("'), got[0]);
  });
  await t.step("metric and write relabel configs are checked the same way", () => {
    rejects(
      { scrapeConfigs: [job({ metricRelabelConfigs: [{ action: "hashmod", targetLabel: "t" }] })] },
      'scrapeConfigs[0].metricRelabelConfigs[0].modulus: must be greater than 0 for action "hashmod"',
    );
    rejects(
      rw({ writeRelabelConfigs: [{ action: "replace" }] }),
      'remoteWrite[0].writeRelabelConfigs[0].targetLabel: required for action "replace"',
    );
  });
});

Deno.test("resolveConfig() throws nothing but ConfigError on arbitrary input", () => {
  const anything = fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withBoxedValues: true,
    withNullPrototype: true,
  });
  const keys = [
    "global",
    "scrapeConfigs",
    "remoteWrite",
    "jobName",
    "scrapeInterval",
    "scrapeTimeout",
    "externalLabels",
    "staticConfigs",
    "targets",
    "labels",
    "relabelConfigs",
    "metricRelabelConfigs",
    "action",
    "regex",
    "sourceLabels",
    "targetLabel",
    "modulus",
    "replacement",
    "url",
    "name",
    "queueConfig",
    "basicAuth",
    "authorization",
    "headers",
    "protobufMessage",
    "metadataConfig",
    "sampleAgeLimit",
    "oauth2",
    "clientId",
    "clientSecretFile",
    "tokenUrl",
    "endpointParams",
    "scopes",
    "sigv4",
    "accessKey",
    "secretKey",
    "profile",
    "tlsConfig",
    "proxyUrl",
    "scrapeNativeHistograms",
    "__proto__",
  ];
  const scalar = fc.oneof(
    fc.constantFrom("15s", "1m", "0", "a:1", "http://x/", "replace", "hashmod", "(", "", "\ud800"),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalar,
      fc.array(tie("tree"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...keys), tie("tree"), { maxKeys: 5 }),
    ),
  }));
  fc.assert(
    fc.property(fc.oneof(anything, tree), (v) => {
      try {
        resolveConfig(v);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

/**
 * Remote-write settings of issue 6 in both config forms: protocol, fallback,
 * exemplars, native histograms, metadata_config, oauth2, sigv4, tls_config,
 * proxy_url, sample_age_limit, max_bytes_per_send; defaults, errors at load,
 * the endpoint name, and rendering.
 */

import { createHash } from "node:crypto";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { ConfigError, formatIssue } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import { renderConfigYaml, SECRET } from "./render.ts";
import { resolveConfig } from "./resolve.ts";
import type { RemoteWriteConfig } from "./types.ts";

const URL_ = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write";
const NO_TLS = { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" };

const ts = (extra: Record<string, unknown> = {}) => () =>
  resolveConfig({ remoteWrite: [{ url: URL_, ...extra }] }, { baseDir: "/cfg" });
const yml = (body: string) => () =>
  loadYamlConfig(`remote_write:\n  - url: ${URL_}\n${body}`, "prometheus.yml", {
    baseDir: "/cfg",
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

Deno.test("remote write: every new field in TypeScript and in YAML gives the same model", () => {
  const fromTs = resolveConfig({
    remoteWrite: [
      {
        url: URL_,
        protobufMessage: "io.prometheus.write.v2.Request",
        fallbackToRw1: true,
        sendExemplars: true,
        sendNativeHistograms: true,
        metadataConfig: { send: false, sendInterval: "30s", maxSamplesPerSend: 500 },
        queueConfig: { sampleAgeLimit: "10m", maxBytesPerSend: 1048576 },
        oauth2: {
          clientId: "id",
          clientSecretFile: "secrets/oauth",
          scopes: ["a", "b"],
          tokenUrl: "https://idp.example/token",
          endpointParams: { audience: "rw", "odd key": "v" },
          tlsConfig: { caFile: "idp-ca.pem" },
          proxyUrl: "http://proxy:3128",
        },
        tlsConfig: { caFile: "ca.pem", certFile: "c.pem", keyFile: "k.pem" },
        proxyUrl: "socks5://user:pw@proxy:1080",
      } satisfies RemoteWriteConfig,
    ],
  }, { baseDir: "/cfg" });
  const fromYaml = yml(`    protobuf_message: io.prometheus.write.v2.Request
    fallback_to_rw1: true
    send_exemplars: yes
    send_native_histograms: true
    metadata_config:
      send: false
      send_interval: 30s
      max_samples_per_send: 500
    queue_config:
      sample_age_limit: 10m
      max_bytes_per_send: 1048576
    oauth2:
      client_id: id
      client_secret_file: secrets/oauth
      scopes: [a, b]
      token_url: https://idp.example/token
      endpoint_params: {audience: rw, "odd key": v}
      tls_config: {ca_file: idp-ca.pem}
      proxy_url: http://proxy:3128
    tls_config:
      ca_file: ca.pem
      cert_file: c.pem
      key_file: k.pem
    proxy_url: socks5://user:pw@proxy:1080
`)();
  assertEquals(fromYaml, fromTs);
  const rw = fromTs.remoteWrite[0];
  assertEquals(rw.protobufMessage, "io.prometheus.write.v2.Request");
  assertEquals([rw.fallbackToRw1, rw.sendExemplars, rw.sendNativeHistograms], [true, true, true]);
  assertEquals(rw.metadata, { send: false, sendIntervalMs: 30_000, maxSamplesPerSend: 500 });
  assertEquals([rw.queue.sampleAgeLimitMs, rw.queue.maxBytesPerSend], [600_000, 1048576]);
  assertEquals(rw.oauth2, {
    clientId: "id",
    clientSecret: "",
    clientSecretFile: "/cfg/secrets/oauth",
    scopes: ["a", "b"],
    tokenUrl: "https://idp.example/token",
    endpointParams: { audience: "rw", "odd key": "v" },
    tlsConfig: { ...NO_TLS, caFile: "/cfg/idp-ca.pem" },
    proxyUrl: "http://proxy:3128",
  });
  assertEquals(rw.tlsConfig, {
    ...NO_TLS,
    caFile: "/cfg/ca.pem",
    certFile: "/cfg/c.pem",
    keyFile: "/cfg/k.pem",
  });
  assertEquals(rw.proxyUrl, "socks5://user:pw@proxy:1080");
  assertEquals(rw.sigv4, undefined);
});

Deno.test("remote write: sigv4 in both forms; service defaults to aps", () => {
  const fromTs = ts({ sigv4: { region: "us-east-1", accessKey: "AKID", secretKey: "s" } })();
  const fromYaml = yml(
    `    sigv4:\n      region: us-east-1\n      access_key: AKID\n      secret_key: s\n`,
  )();
  assertEquals(fromYaml, fromTs);
  assertEquals(fromTs.remoteWrite[0].sigv4, {
    region: "us-east-1",
    accessKey: "AKID",
    secretKey: "s",
    serviceName: "aps",
  });
  // Everything from the environment.
  assertEquals(yml("    sigv4: {}\n")().remoteWrite[0].sigv4, {
    region: "",
    accessKey: "",
    secretKey: "",
    serviceName: "aps",
  });
  assertEquals(
    ts({ sigv4: { serviceName: "execute-api" } })().remoteWrite[0].sigv4?.serviceName,
    "execute-api",
  );
  assertEquals(ts({ oauth2: undefined })().remoteWrite[0].oauth2, undefined);
});

Deno.test("remote write: what Prometheus or ferry cannot do is an error at load", async (t) => {
  const p = "remoteWrite[0]";
  const table: [string, () => unknown, string[]][] = [
    [
      "unknown protobuf message",
      ts({ protobufMessage: "prometheus.WriteRequestV2" }),
      [
        `${p}.protobufMessage: unknown protobuf message "prometheus.WriteRequestV2" (want prometheus.WriteRequest or io.prometheus.write.v2.Request)`,
      ],
    ],
    [
      "unknown protobuf message in YAML",
      yml("    protobuf_message: v2\n"),
      [
        'prometheus.yml:3:5: remote_write[0].protobuf_message: unknown protobuf message "v2" (want prometheus.WriteRequest or io.prometheus.write.v2.Request)',
      ],
    ],
    [
      "two auth methods",
      ts({
        basicAuth: { username: "u", password: "p" },
        oauth2: { clientId: "i", tokenUrl: "http://t/" },
      }),
      [`${p}: give at most one of basicAuth, authorization, oauth2 and sigv4 (got basicAuth and oauth2)`],
    ],
    [
      "oauth2 and sigv4, in YAML",
      yml("    oauth2: {client_id: i, token_url: 'http://t/'}\n    sigv4: {}\n"),
      [
        "prometheus.yml:2:5: remote_write[0]: give at most one of basic_auth, authorization, oauth2 and sigv4 (got oauth2 and sigv4)",
      ],
    ],
    [
      "Authorization header with sigv4",
      ts({ headers: { authorization: "x" }, sigv4: {} }),
      [`${p}.headers: an Authorization header cannot be combined with sigv4`],
    ],
    [
      "Authorization header with oauth2",
      ts({ headers: { Authorization: "x" }, oauth2: { clientId: "i", tokenUrl: "http://t/" } }),
      [`${p}.headers: an Authorization header cannot be combined with oauth2`],
    ],
    [
      "oauth2 without client id and token URL",
      ts({ oauth2: {} }),
      [`${p}.oauth2.clientId: required`, `${p}.oauth2.tokenUrl: required`],
    ],
    [
      "oauth2 token URL not http(s)",
      ts({ oauth2: { clientId: "i", tokenUrl: "ftp://idp/token" } }),
      [`${p}.oauth2.tokenUrl: not an http(s) URL with a host: "ftp://idp/token"`],
    ],
    [
      "oauth2 secret twice",
      yml(
        "    oauth2:\n      client_id: i\n      token_url: http://t/\n      client_secret: a\n      client_secret_file: f\n",
      ),
      ["prometheus.yml:3:5: remote_write[0].oauth2: give client_secret or client_secret_file, not both"],
    ],
    [
      "oauth2 scope twice",
      ts({
        oauth2: {
          clientId: "i",
          tokenUrl: "http://t/",
          scopes: ["a"],
          endpointParams: { scope: "b" },
        },
      }),
      [`${p}.oauth2.endpointParams.scope: conflicts with scopes (give the scopes in one place)`],
    ],
    [
      "oauth2 unknown field",
      ts({ oauth2: { clientId: "i", tokenUrl: "http://t/", clientSecretFil: "f" } }),
      [`${p}.oauth2.clientSecretFil: unknown field (did you mean "clientSecretFile"?)`],
    ],
    [
      "oauth2 TLS and proxy",
      ts({
        oauth2: {
          clientId: "i",
          tokenUrl: "https://t/",
          tlsConfig: { serverName: "idp" },
          proxyUrl: "ftp://p",
        },
      }),
      [
        `${p}.oauth2.tlsConfig.serverName: is not supported: Deno verifies the certificate against the host of the URL; use a URL whose host the server's certificate names`,
        `${p}.oauth2.proxyUrl: want an http://, https:// or socks5:// URL with a host, got "ftp://p"`,
      ],
    ],
    [
      "sigv4 profile",
      yml("    sigv4:\n      profile: prod\n"),
      [
        "prometheus.yml:4:7: remote_write[0].sigv4.profile: is not supported: ferry does not read AWS shared config or credentials files; give access_key and secret_key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in ferry's environment",
      ],
    ],
    [
      "sigv4 role",
      ts({ sigv4: { roleArn: "arn:aws:iam::1:role/r" } }),
      [
        `${p}.sigv4.roleArn: is not supported: ferry cannot assume a role (STS AssumeRole); give the role's credentials as accessKey and secretKey, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in ferry's environment`,
      ],
    ],
    [
      "sigv4 half a key pair",
      ts({ sigv4: { accessKey: "AKID" } }),
      [`${p}.sigv4.secretKey: required with accessKey`],
    ],
    [
      "sigv4 the other half",
      yml("    sigv4: {secret_key: s}\n"),
      ["prometheus.yml:3:5: remote_write[0].sigv4.access_key: required with secret_key"],
    ],
    [
      "metadata_config",
      ts({ metadataConfig: { sendInterval: "0s", maxSamplesPerSend: 0, sendd: true } }),
      [
        `${p}.metadataConfig.sendd: unknown field (did you mean "send"?)`,
        `${p}.metadataConfig.sendInterval: must be greater than 0`,
        `${p}.metadataConfig.maxSamplesPerSend: must be at least 1, got 0`,
      ],
    ],
    [
      "queue limits",
      ts({ queueConfig: { sampleAgeLimit: "10", maxBytesPerSend: 0 } }),
      [
        `${p}.queueConfig.sampleAgeLimit: not a valid duration string: "10"`,
        `${p}.queueConfig.maxBytesPerSend: must be at least 1, got 0`,
      ],
    ],
    [
      "booleans",
      ts({ sendExemplars: "yes", fallbackToRw1: 1 }),
      [
        `${p}.fallbackToRw1: expected a boolean (true or false), got the number 1`,
        `${p}.sendExemplars: expected a boolean (true or false), got the string "yes"`,
      ],
    ],
    [
      "tls_config and proxy_url of the endpoint",
      yml(
        "    tls_config:\n      insecure_skip_verify: true\n      cert_file: c\n    proxy_url: 'http://[::1'\n",
      ),
      [
        "prometheus.yml:3:5: remote_write[0].tls_config: a client certificate needs key or key_file",
        "prometheus.yml:4:7: remote_write[0].tls_config.insecure_skip_verify: true is not supported: Deno cannot turn off certificate verification for one client; give the server's CA in ca or ca_file, or run ferry with --unsafely-ignore-certificate-errors=HOST",
        'prometheus.yml:6:5: remote_write[0].proxy_url: not a URL: "http://[::1"',
      ],
    ],
  ];
  for (const [name, run, want] of table) {
    await t.step(name, () => assertEquals(problems(run), want));
  }
});

Deno.test("remote write: the generated name depends on the URL only", () => {
  const want = createHash("sha256").update(URL_).digest("hex").slice(0, 6);
  assertEquals(ts()().remoteWrite[0].name, want);
  // Existing WAL cursors are keyed by the name: no new setting may change it.
  const tuned = ts({
    protobufMessage: "io.prometheus.write.v2.Request",
    fallbackToRw1: true,
    sendExemplars: true,
    sendNativeHistograms: true,
    metadataConfig: { send: false },
    queueConfig: { sampleAgeLimit: "1h", maxBytesPerSend: 100 },
    sigv4: { region: "eu-west-1" },
    tlsConfig: { ca: "-----BEGIN CERTIFICATE-----" },
    proxyUrl: "http://proxy:3128",
  })();
  assertEquals(tuned.remoteWrite[0].name, want);
});

Deno.test("remote write: rendering shows the new settings and hides their secrets", () => {
  const yaml = renderConfigYaml(resolveConfig({
    remoteWrite: [
      {
        url: "https://a/",
        protobufMessage: "io.prometheus.write.v2.Request",
        sendExemplars: true,
        queueConfig: { sampleAgeLimit: "5m", retryOnHttp429: true },
        oauth2: {
          clientId: "id",
          clientSecret: "hunter2",
          tokenUrl: "https://idp/token",
          endpointParams: { "Odd-Name": "v" },
        },
      },
      { url: "https://b/", sigv4: { region: "us-east-1", accessKey: "AKID", secretKey: "wJalr" } },
    ],
  }));
  assert(!yaml.includes("hunter2") && !yaml.includes("wJalr"), yaml);
  assertStringIncludes(yaml, `client_secret: ${SECRET}`);
  assertStringIncludes(yaml, `secret_key: ${SECRET}`);
  assertStringIncludes(yaml, "access_key: AKID");
  assertStringIncludes(yaml, "protobuf_message: io.prometheus.write.v2.Request");
  assertStringIncludes(yaml, "send_exemplars: true");
  assertStringIncludes(yaml, "Odd-Name: v");
  assertStringIncludes(yaml, "queue_config:\n");
  assertStringIncludes(yaml, "sample_age_limit: 5m");
  assertStringIncludes(yaml, "max_bytes_per_send: 4194304");
  assertStringIncludes(yaml, "retry_on_http_429: true");
  assertStringIncludes(yaml, "metadata_config:\n");
  assertStringIncludes(yaml, "send_interval: 1m");
  assertStringIncludes(yaml, "service_name: aps");
  // What is rendered loads again (as prometheus.yml) to the same model, secrets aside.
  const plain = renderConfigYaml(resolveConfig({
    remoteWrite: [{
      url: "https://a/",
      protobufMessage: "io.prometheus.write.v2.Request",
      metadataConfig: { sendInterval: "2m" },
      queueConfig: { retryOnHttp429: true, sampleAgeLimit: "1h" },
      sigv4: { region: "r" },
    }],
  }));
  const again = loadYamlConfig(plain, "rendered.yml");
  assertEquals(again.remoteWrite[0].queue.retryOnHttp429, true);
  assertEquals(again.remoteWrite[0].queue.sampleAgeLimitMs, 3_600_000);
  assertEquals(again.remoteWrite[0].metadata.sendIntervalMs, 120_000);
  assertEquals(again.remoteWrite[0].sigv4?.region, "r");
});

Deno.test("remote write: an oauth2 or sigv4 that is not an object is one error", () => {
  assertEquals(problems(ts({ oauth2: null, sigv4: "aps" })), [
    "remoteWrite[0].oauth2: expected an object, got null",
    'remoteWrite[0].sigv4: expected an object, got the string "aps"',
  ]);
});

Deno.test("remote write: each wrongly typed sigv4 field is reported once", () => {
  assertEquals(problems(ts({ sigv4: { profile: 5, roleArn: true, region: 1 } })), [
    "remoteWrite[0].sigv4.region: expected a string, got the number 1",
    "remoteWrite[0].sigv4.profile: expected a string, got the number 5",
    "remoteWrite[0].sigv4.roleArn: expected a string, got the boolean true",
  ]);
});

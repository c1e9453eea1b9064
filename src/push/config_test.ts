import bcrypt from "bcryptjs";
import { ConfigError, formatIssue } from "../config/errors.ts";
import { loadYamlConfig } from "../config/prometheus.ts";
import { renderConfigYaml } from "../config/render.ts";
import { resolveConfig } from "../config/resolve.ts";
import type { AgentConfig } from "../config/types.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";

const HASH = bcrypt.hashSync("pw", 4);

const RELABEL = {
  sourceLabels: ["__name__"],
  separator: ";",
  regex: "debug_.*",
  modulus: 0,
  targetLabel: "",
  replacement: "$1",
  action: "drop",
};

const WANT = {
  relabelConfigs: [RELABEL],
  extraLabels: { source: "push" },
  bodySizeLimit: 4 << 20,
  sampleLimit: 10_000,
  rateLimit: 5000,
  rateLimitBurst: 20_000,
  basicAuthUsers: { edge: HASH },
};

Deno.test("push config: the TypeScript form", () => {
  const config: AgentConfig = {
    push: {
      relabelConfigs: [{ sourceLabels: ["__name__"], regex: "debug_.*", action: "drop" }],
      extraLabels: { source: "push" },
      bodySizeLimit: "4MB",
      sampleLimit: 10_000,
      rateLimit: 5000,
      rateLimitBurst: 20_000,
      basicAuthUsers: { edge: HASH },
    },
  };
  assertEquals(resolveConfig(config).push, WANT);
  // Without a push section there is none (the agent uses the defaults).
  assertEquals(resolveConfig({}).push, undefined);
  // Defaults: 16 MiB, no limits; the burst follows the rate.
  assertEquals(resolveConfig({ push: { rateLimit: 100 } }).push, {
    relabelConfigs: [],
    extraLabels: {},
    bodySizeLimit: 16 << 20,
    sampleLimit: 0,
    rateLimit: 100,
    rateLimitBurst: 100,
    basicAuthUsers: {},
  });
});

Deno.test("push config: the prometheus.yml form (push_config, ferry's extension)", () => {
  const yaml = `remote_write:
  - url: http://127.0.0.1:9201/api/v1/write
push_config:
  relabel_configs:
    - source_labels: [__name__]
      regex: debug_.*
      action: drop
  extra_labels: { source: push }
  body_size_limit: 4MB
  sample_limit: 10000
  rate_limit: 5000
  rate_limit_burst: 20000
  basic_auth_users:
    edge: ${HASH}
`;
  const got = loadYamlConfig(yaml, "prometheus.yml");
  assertEquals(got.push, WANT);
  // Rendered for /api/v1/status/config as push_config, hashes hidden.
  const rendered = renderConfigYaml(got);
  assertStringIncludes(rendered, "push_config:\n");
  assertStringIncludes(rendered, "edge: <secret>");
  assert(!rendered.includes(HASH));
  assertEquals(loadYamlConfig(rendered.replace("edge: <secret>", `edge: ${HASH}`), "r.yml").push, {
    ...WANT,
  });
});

Deno.test("push config: invalid values are reported with their place", () => {
  const yaml = `push_config:
  sample_limit: -1
  rate_limit_burst: 5
  basic_auth_users:
    edge: plaintext
  relabel_configs:
    - action: nonsense
  bogus: 1
`;
  let err: unknown;
  try {
    loadYamlConfig(yaml, "p.yml");
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError, String(err));
  const lines = err.issues.map(formatIssue).join("\n");
  assertStringIncludes(lines, 'p.yml:8:3: unknown field "bogus" in push_config');
  // The rest is only checked once the keys are known; check them on their own.
  let err2: unknown;
  try {
    loadYamlConfig(yaml.replace("  bogus: 1\n", ""), "p.yml");
  } catch (e) {
    err2 = e;
  }
  assert(err2 instanceof ConfigError);
  const all = err2.issues.map(formatIssue).join("\n");
  assertStringIncludes(all, "p.yml:2:3: push_config.sample_limit: must be at least 0");
  assertStringIncludes(
    all,
    "p.yml:3:3: push_config.rate_limit_burst: has no effect without rate_limit",
  );
  assertStringIncludes(
    all,
    "push_config.basic_auth_users.edge: the password of edge must be a bcrypt hash",
  );
  assertStringIncludes(all, "p.yml:7:7: push_config.relabel_configs[0]");
  // The TS form names camelCase paths.
  try {
    resolveConfig({ push: { rateLimit: -1, extraLabels: { "": "x" } } });
    assert(false, "no error");
  } catch (e) {
    assert(e instanceof ConfigError);
    const msg = e.issues.map(formatIssue).join("\n");
    assertStringIncludes(msg, "push.rateLimit: expected samples a second");
    assertStringIncludes(msg, 'push.extraLabels[""]');
  }
});

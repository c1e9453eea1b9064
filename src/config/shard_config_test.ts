import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { sameValue } from "../scrape/manager.ts";
import { ConfigError, formatIssue } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import { renderConfigYaml } from "./render.ts";
import { resolveConfig, withShard } from "./resolve.ts";

function problems(input: unknown): string[] {
  try {
    resolveConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error("expected a ConfigError, got a resolved config");
}

const jobs = [
  { jobName: "a", staticConfigs: [{ targets: ["h:1"] }] },
  { jobName: "b", staticConfigs: [{ targets: ["h:2"] }] },
];

Deno.test("resolveConfig(): shard and replicaLabel default to no sharding and __replica__", () => {
  const c = resolveConfig({ scrapeConfigs: jobs });
  assertEquals(c.shard, null);
  assertEquals(c.replicaLabel, "__replica__");
  for (const j of c.scrapeConfigs) assertEquals("shard" in j, false);
});

Deno.test("resolveConfig(): the shard is kept and copied into every job", () => {
  const c = resolveConfig({
    shard: { index: 2, total: 3 },
    replicaLabel: "replica",
    scrapeConfigs: jobs,
  });
  assertEquals(c.shard, { index: 2, total: 3 });
  assertEquals(c.replicaLabel, "replica");
  assertEquals(c.scrapeConfigs.map((j) => j.shard), [
    { index: 2, total: 3 },
    { index: 2, total: 3 },
  ]);
  assertEquals(resolveConfig({ shard: { index: 0, total: 1 } }).shard, { index: 0, total: 1 });
});

Deno.test("resolveConfig(): shard and replicaLabel are validated with clear messages", () => {
  const table: [unknown, string[]][] = [
    [{ shard: { index: 3, total: 3 } }, ["shard.index: must be less than total (3), got 3"]],
    [{ shard: { index: -1, total: 3 } }, ["shard.index: must be at least 0, got -1"]],
    [{ shard: { index: 0, total: 0 } }, ["shard.total: must be at least 1, got 0"]],
    [{ shard: { index: 1.5, total: 3 } }, ["shard.index: expected an integer, got the number 1.5"]],
    [{ shard: { index: "1", total: 3 } }, ['shard.index: expected an integer, got the string "1"']],
    [{ shard: { total: 3 } }, ["shard.index: required"]],
    [{ shard: { index: 0 } }, ["shard.total: required"]],
    [{ shard: { index: 0, total: 2, count: 2 } }, ["shard.count: unknown field"]],
    [{ shard: 2 }, ["shard: expected an object, got the number 2"]],
    [{ replicaLabel: "" }, ['replicaLabel: "" is not a valid label name']],
    [{ replicaLabel: 7 }, ["replicaLabel: expected a string, got the number 7"]],
    [{ shards: { index: 0, total: 2 } }, ['shards: unknown field (did you mean "shard"?)']],
  ];
  for (const [input, want] of table) assertEquals(problems(input), want, JSON.stringify(input));
});

Deno.test("withShard(): sets or removes the shard of every job, leaving the input alone", () => {
  const c = resolveConfig({ shard: { index: 1, total: 2 }, scrapeConfigs: jobs });
  const none = withShard(c.scrapeConfigs, null);
  assertEquals(none.map((j) => "shard" in j), [false, false]);
  assertEquals(c.scrapeConfigs[0].shard, { index: 1, total: 2 });
  const other = withShard(none, { index: 0, total: 4 });
  assertEquals(other.map((j) => j.shard), [{ index: 0, total: 4 }, { index: 0, total: 4 }]);
  assertEquals(other[0].jobName, "a");
});

Deno.test("prometheus.yml: no shard field, the resolved model has the defaults", () => {
  const c = loadYamlConfig(
    "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1']}]\n",
    "p.yml",
  );
  assertEquals(c.shard, null);
  assertEquals(c.replicaLabel, "__replica__");
  let err: unknown;
  try {
    loadYamlConfig("shard: {index: 0, total: 2}\n", "p.yml");
  } catch (e) {
    err = e;
  }
  assertStringIncludes(String(err), "shard");
});

Deno.test("renderConfigYaml(): shows the shard once and a non-default replica label", () => {
  const plain = renderConfigYaml(resolveConfig({ scrapeConfigs: jobs }));
  assertEquals(plain.includes("shard"), false, plain);
  assertEquals(plain.includes("replica_label"), false, plain);
  const yaml = renderConfigYaml(resolveConfig({
    shard: { index: 1, total: 3 },
    replicaLabel: "replica",
    scrapeConfigs: jobs,
  }));
  assertStringIncludes(yaml, "shard:\n  index: 1\n  total: 3\n");
  assertStringIncludes(yaml, "replica_label: replica\n");
  assertEquals(yaml.split("shard:").length - 1, 1, yaml);
});

Deno.test("a job whose shard changed is a changed job for the scrape manager's reload", () => {
  const at = (shard?: { index: number; total: number }) =>
    resolveConfig({ ...(shard ? { shard } : {}), scrapeConfigs: jobs }).scrapeConfigs[0];
  assert(sameValue(at({ index: 0, total: 3 }), at({ index: 0, total: 3 })));
  assert(!sameValue(at({ index: 0, total: 3 }), at({ index: 1, total: 3 })));
  assert(!sameValue(at({ index: 0, total: 3 }), at({ index: 0, total: 2 })));
  assert(!sameValue(at({ index: 0, total: 3 }), at()));
  assert(sameValue(at(), at()));
});

import { resolveConfig } from "../config/resolve.ts";
import type { ResolvedConfig } from "../config/types.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { parseFlags } from "./flags.ts";
import { renderConfigModule } from "./import.ts";
import {
  applyShardOptions,
  parseShardIndex,
  readFerryEnv,
  SHARD_ENV_VARS,
  SHARD_FLAGS,
  shardSummary,
} from "./shard.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

const base = (extra: Record<string, unknown> = {}): ResolvedConfig =>
  resolveConfig({
    global: { externalLabels: { cluster: "eu-1" } },
    scrapeConfigs: [{ jobName: "a", staticConfigs: [{ targets: ["h:1"] }] }],
    ...extra,
  });

const flags = (...args: string[]) => parseFlags(args, SHARD_FLAGS).flags;

Deno.test("parseShardIndex(): a number, or a StatefulSet pod name's trailing ordinal", () => {
  const table: [string, number][] = [
    ["0", 0],
    ["2", 2],
    ["007", 7],
    [" 3\n", 3],
    ["ferry-2", 2],
    ["ferry-12", 12],
    ["ferry-agent-3", 3],
    ["web-1-0", 0],
  ];
  for (const [v, want] of table) assertEquals(parseShardIndex(v, "--shard.index"), want, v);
  for (
    const bad of ["", "-1", "ferry", "ferry-", "web2", "1.5", "ferry-2a", "99999999999999999999"]
  ) {
    const e = assertThrows(() => parseShardIndex(bad, "FERRY_SHARD_INDEX"));
    assertStringIncludes(
      e.message,
      `FERRY_SHARD_INDEX: ${
        JSON.stringify(bad)
      } is neither a shard number nor a pod name ending in -<number> (such as ferry-2)`,
    );
  }
});

Deno.test("applyShardOptions(): flag > environment > config, field by field", () => {
  // Nothing given: the config as it was.
  const none = applyShardOptions(base(), flags(), {});
  assertEquals(none.shard, null);
  assertEquals(none.scrapeConfigs[0].shard, undefined);
  assertEquals(none.global.externalLabels, { cluster: "eu-1" });

  const cfg = base({ shard: { index: 1, total: 4 } });
  assertEquals(applyShardOptions(cfg, flags(), {}).shard, { index: 1, total: 4 });
  // The environment overrides the config, per field.
  assertEquals(
    applyShardOptions(cfg, flags(), { FERRY_SHARD_INDEX: "ferry-3" }).shard,
    { index: 3, total: 4 },
  );
  assertEquals(applyShardOptions(cfg, flags(), { FERRY_SHARD_TOTAL: "2" }).shard, {
    index: 1,
    total: 2,
  });
  // Flags override both.
  const env = { FERRY_SHARD_INDEX: "ferry-3", FERRY_SHARD_TOTAL: "5" };
  assertEquals(applyShardOptions(cfg, flags(), env).shard, { index: 3, total: 5 });
  assertEquals(
    applyShardOptions(cfg, flags("--shard.index=0"), env).shard,
    { index: 0, total: 5 },
  );
  const both = applyShardOptions(cfg, flags("--shard.index", "ferry-1", "--shard.total=2"), env);
  assertEquals(both.shard, { index: 1, total: 2 });
  // Copied into every job (so a reload with another shard restarts them).
  assertEquals(both.scrapeConfigs[0].shard, { index: 1, total: 2 });
  // Without a config shard, flags alone.
  const fromFlags = applyShardOptions(base(), flags("--shard.index=2", "--shard.total=3"), {});
  assertEquals(fromFlags.shard, { index: 2, total: 3 });
  assertEquals(shardSummary(fromFlags), "scraping shard 2 of 3");
  assertEquals(shardSummary(none), "scraping every target (no sharding)");
  // The input is left alone.
  assertEquals(cfg.shard, { index: 1, total: 4 });
  assertEquals(cfg.scrapeConfigs[0].shard, { index: 1, total: 4 });
});

Deno.test("applyShardOptions(): errors name the flag, variable or config field", () => {
  const cases: [ResolvedConfig, Record<string, unknown>, Record<string, string>, string][] = [
    [
      base(),
      flags("--shard.index=1"),
      {},
      "--shard.index needs a shard count: give --shard.total, FERRY_SHARD_TOTAL or shard.total in the config",
    ],
    [
      base(),
      flags(),
      { FERRY_SHARD_TOTAL: "3" },
      "FERRY_SHARD_TOTAL needs a shard index: give --shard.index, FERRY_SHARD_INDEX or shard.index in the config",
    ],
    [
      base(),
      flags("--shard.index=ferry-3", "--shard.total=3"),
      {},
      '--shard.index: shard 3 (from "ferry-3") must be less than the shard count 3 (--shard.total); shards are numbered from 0',
    ],
    [
      base({ shard: { index: 2, total: 3 } }),
      flags(),
      { FERRY_SHARD_TOTAL: "2" },
      "shard.index in the config: shard 2 must be less than the shard count 2 (FERRY_SHARD_TOTAL)",
    ],
    [
      base(),
      flags("--shard.index=0", "--shard.total=0"),
      {},
      '--shard.total: "0" is not an integer of at least 1',
    ],
    [
      base(),
      flags("--shard.index=0"),
      { FERRY_SHARD_TOTAL: "three" },
      'FERRY_SHARD_TOTAL: "three" is not an integer of at least 1',
    ],
    [
      base(),
      flags("--shard.index=x", "--shard.total=2"),
      {},
      '--shard.index: "x" is neither a shard number nor a pod name',
    ],
  ];
  for (const [cfg, f, env, want] of cases) {
    const e = assertThrows(() => applyShardOptions(cfg, f, env));
    assertStringIncludes(e.message, want);
  }
});

Deno.test("applyShardOptions(): the replica name becomes the replica label (flag > env)", () => {
  const withFlag = applyShardOptions(base(), flags("--replica=a"), { FERRY_REPLICA: "b" });
  assertEquals(withFlag.global.externalLabels, { cluster: "eu-1", __replica__: "a" });
  const withEnv = applyShardOptions(base(), flags(), { FERRY_REPLICA: "ferry-1" });
  assertEquals(withEnv.global.externalLabels, { cluster: "eu-1", __replica__: "ferry-1" });
  // Thanos style: replicaLabel "replica".
  const thanos = applyShardOptions(base({ replicaLabel: "replica" }), flags("--replica=x"), {});
  assertEquals(thanos.global.externalLabels, { cluster: "eu-1", replica: "x" });
  // A value from the config is replaced (the per-instance setting wins), with a note.
  const notes: string[] = [];
  const cfg = base({
    global: { externalLabels: { cluster: "eu-1", __replica__: "from-config" } },
  });
  const replaced = applyShardOptions(cfg, flags("--replica=b"), {}, (n) => notes.push(n));
  assertEquals(replaced.global.externalLabels.__replica__, "b");
  assertEquals(cfg.global.externalLabels.__replica__, "from-config");
  assertEquals(notes, [
    '--replica "b" replaces the external label __replica__="from-config" from the config',
  ]);
  // The same value: no note.
  applyShardOptions(cfg, flags(), { FERRY_REPLICA: "from-config" }, (n) => notes.push(n));
  assertEquals(notes.length, 1);
  // Odd label names are set as own properties.
  const proto = applyShardOptions(base({ replicaLabel: "__proto__" }), flags("--replica=p"), {});
  assert(Object.hasOwn(proto.global.externalLabels, "__proto__"));
  assertEquals(Object.entries(proto.global.externalLabels).at(-1), ["__proto__", "p"]);
});

Deno.test("SHARD_FLAGS and SHARD_ENV_VARS name the decided flags and variables", () => {
  assertEquals(Object.keys(SHARD_FLAGS), ["shard.index", "shard.total", "replica"]);
  assertEquals([...SHARD_ENV_VARS], ["FERRY_SHARD_INDEX", "FERRY_SHARD_TOTAL", "FERRY_REPLICA"]);
});

/** Runs readFerryEnv() in a child with the given permission flags and environment. */
async function childEnv(perms: string[], env: Record<string, string>): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-shard-env-" });
  try {
    const script = `${dir}/probe.ts`;
    await Deno.writeTextFile(
      script,
      `import { readFerryEnv } from ${JSON.stringify(new URL("./shard.ts", import.meta.url).href)};
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(readFerryEnv())));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", `--config=${ROOT}deno.json`, ...perms, script],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.success, new TextDecoder().decode(out.stderr));
    return JSON.parse(text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readFerryEnv(): reads granted variables only, never prompts; empty is unset", async () => {
  const env = { FERRY_SHARD_INDEX: "ferry-1", FERRY_SHARD_TOTAL: "2", FERRY_REPLICA: "" };
  assertEquals(await childEnv(["--allow-read"], env), {});
  assertEquals(
    await childEnv(["--allow-read", "--allow-env=FERRY_SHARD_INDEX"], env),
    { FERRY_SHARD_INDEX: "ferry-1" },
  );
  assertEquals(
    await childEnv(["--allow-read", "--allow-env"], env),
    { FERRY_SHARD_INDEX: "ferry-1", FERRY_SHARD_TOTAL: "2" },
  );
  // In this process (tests run with --allow-all) it reads whatever is set.
  assertEquals(typeof readFerryEnv(), "object");
});

Deno.test("run: a bad shard option exits 2 naming it; the flags are in run --help", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-shard-run-" });
  try {
    const cfg = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(cfg, "scrape_configs: []\n");
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-net=127.0.0.1",
          "--allow-env=FERRY_SHARD_INDEX,FERRY_SHARD_TOTAL,FERRY_REPLICA",
          `${ROOT}main.ts`,
          "run",
          cfg,
          `--storage.agent.path=${dir}/data`,
          "--web.listen-address=",
          ...args,
        ],
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
    };
    const r = await run(["--shard.total=3"], { FERRY_SHARD_INDEX: "ferry-3" });
    assertEquals(r.code, 2, r.out);
    assertStringIncludes(
      r.out,
      'error: FERRY_SHARD_INDEX: shard 3 (from "ferry-3") must be less than the shard count 3 (--shard.total)',
    );
    const help = await run(["--help"]);
    assertEquals(help.code, 0);
    for (const f of ["--shard.index=N|POD", "--shard.total=N", "--replica=NAME"]) {
      assertStringIncludes(help.out, f);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import's module renderer writes shard and replicaLabel when a config has them", () => {
  const src = renderConfigModule(
    { shard: { index: 1, total: 3 }, replicaLabel: "replica", scrapeConfigs: [] },
    { module: "ferry", source: "p.yml" },
  );
  assertStringIncludes(src, "  shard: {\n    index: 1,\n    total: 3,\n  },\n");
  assertStringIncludes(src, '  replicaLabel: "replica",\n');
  const plain = renderConfigModule({ scrapeConfigs: [] }, { module: "ferry", source: "p.yml" });
  assert(!plain.includes("shard") && !plain.includes("replicaLabel"), plain);
});

import { resolveConfig } from "../config/resolve.ts";
import { TestDnsServer } from "../discovery/testutil.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { checkTargets, targetsApiData } from "./check_targets.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-net=127.0.0.1", MAIN, "check", "targets", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A directory with a prometheus.yml using file_sd and http_sd, and an HTTP SD server. */
async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "ferry-check-targets-" });
  let fail = false;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      fail
        ? new Response("down", { status: 503 })
        : Response.json([{ targets: ["10.1.0.1:8080"], labels: { team: "web" } }]),
  );
  await Deno.writeTextFile(
    `${dir}/nodes.json`,
    JSON.stringify([
      { targets: ["10.0.0.1:9100", "10.0.0.2:9100"], labels: { env: "prod" } },
      { targets: ["10.0.0.3:9100"], labels: { env: "dev" } },
    ]),
  );
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `scrape_configs:
  - job_name: node
    file_sd_configs:
      - files: ["*.json"]
    relabel_configs:
      - source_labels: [env]
        regex: dev
        action: drop
  - job_name: web
    http_sd_configs:
      - url: http://127.0.0.1:${server.addr.port}/sd
`,
  );
  return {
    dir,
    config: `${dir}/prometheus.yml`,
    breakHttp: () => fail = true,
    async cleanup() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("check targets: prints discovered labels, labels after relabeling and drop reasons", async () => {
  const f = await fixture();
  try {
    const r = await cli([f.config]);
    assertEquals(r.code, 0, r.stderr);
    const out = r.stdout;
    assertStringIncludes(out, 'job "node": 2 active, 1 dropped');
    assertStringIncludes(out, "  http://10.0.0.1:9100/metrics\n");
    assertStringIncludes(
      out,
      `    discovered: {__address__="10.0.0.1:9100", __meta_filepath="${f.dir}/nodes.json", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="1m", __scrape_timeout__="10s", env="prod", job="node"}\n`,
    );
    assertStringIncludes(
      out,
      '    labels:     {env="prod", instance="10.0.0.1:9100", job="node"}\n',
    );
    assertStringIncludes(out, "  10.0.0.3:9100 dropped: dropped by relabeling\n");
    assertStringIncludes(out, 'job "web": 1 active, 0 dropped');
    assertStringIncludes(out, '__meta_url="http://127.0.0.1:');
  } finally {
    await f.cleanup();
  }
});

Deno.test("check targets --json prints the data of /api/v1/targets; a failed source exits 1", async () => {
  const f = await fixture();
  try {
    const r = await cli([f.config, "--json", "--job", "node"]);
    assertEquals(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout);
    assertEquals(Object.keys(data), ["activeTargets", "droppedTargets", "droppedTargetCounts"]);
    assertEquals(data.activeTargets.length, 2);
    const t = data.activeTargets[0];
    assertEquals(t.scrapePool, "node");
    assertEquals(t.scrapeUrl, "http://10.0.0.1:9100/metrics");
    assertEquals(t.labels, { env: "prod", instance: "10.0.0.1:9100", job: "node" });
    assertEquals(t.discoveredLabels.__meta_filepath, `${f.dir}/nodes.json`);
    assertEquals(t.health, "unknown");
    assertEquals(data.droppedTargets, [{
      discoveredLabels: {
        __address__: "10.0.0.3:9100",
        __meta_filepath: `${f.dir}/nodes.json`,
        __metrics_path__: "/metrics",
        __scheme__: "http",
        __scrape_interval__: "1m",
        __scrape_timeout__: "10s",
        env: "dev",
        job: "node",
      },
      scrapePool: "node",
    }]);
    assertEquals(data.droppedTargetCounts, { node: 1 });

    f.breakHttp();
    const bad = await cli([f.config, "--json"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "error: job web: http_sd_configs[0]: http://127.0.0.1:");
    assertStringIncludes(bad.stderr, "server returned HTTP status 503");
    assert(JSON.parse(bad.stdout).activeTargets.length === 2, "the good sources are still shown");

    const text = await cli([f.config]);
    assertEquals(text.code, 1);
    assertStringIncludes(text.stdout, 'job "web": 0 active, 0 dropped, 1 source(s) failed');
    assertStringIncludes(text.stdout, "  error: http_sd_configs[0]: ");
  } finally {
    await f.cleanup();
  }
});

Deno.test("check targets: usage errors exit 2, an unknown job or a broken file exits 1", async () => {
  const f = await fixture();
  try {
    assertEquals((await cli([])).code, 2);
    assertEquals((await cli([f.config, "--bogus"])).code, 2);
    const nojob = await cli([f.config, "--job", "nope"]);
    assertEquals(nojob.code, 1);
    assertStringIncludes(nojob.stderr, 'no job named "nope" (the config has "node", "web")');
    await Deno.writeTextFile(`${f.dir}/broken.json`, "[{");
    const broken = await cli([f.config, "--job", "node"]);
    assertEquals(broken.code, 1);
    assertStringIncludes(
      broken.stdout,
      `error: file_sd_configs[0]: ${f.dir}/broken.json: invalid JSON`,
    );
    assertStringIncludes(broken.stdout, 'job "node": 2 active, 1 dropped, 1 source(s) failed');
  } finally {
    await f.cleanup();
  }
});

Deno.test("checkTargets runs dns_sd once and renders through the API handler", async () => {
  const dns = await TestDnsServer.start();
  try {
    dns.set("_node._tcp.lab", [{ type: "SRV", port: 9100, target: "n1.lab" }]);
    const cfg = resolveConfig({
      scrapeConfigs: [{ jobName: "dns", dnsSdConfigs: [{ names: ["_node._tcp.lab"] }] }],
    });
    const results = await checkTargets(cfg.scrapeConfigs, { dnsNameServer: dns.nameServer });
    assertEquals(results[0].errors, []);
    // deno-lint-ignore no-explicit-any
    const data = await targetsApiData(results) as any;
    assertEquals(data.activeTargets[0].labels, { instance: "n1.lab:9100", job: "dns" });
    assertEquals(data.activeTargets[0].discoveredLabels.__meta_dns_srv_record_target, "n1.lab.");
    assertEquals(data.droppedTargetCounts, { dns: 0 });
  } finally {
    await dns.close();
  }
});

/** `check targets` with the sharding variables readable and set to `env`. */
async function cliEnv(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-net=127.0.0.1",
      "--allow-env=FERRY_SHARD_INDEX,FERRY_SHARD_TOTAL,FERRY_REPLICA",
      MAIN,
      "check",
      "targets",
      ...args,
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("check targets: targets of other shards are dropped with their shard (flags > env)", async () => {
  const f = await fixture();
  try {
    // hashmod(address, 3): 10.0.0.1 → 2, 10.0.0.2 → 0, 10.0.0.3 → 2.
    const r = await cli([f.config, "--job", "node", "--shard.index=0", "--shard.total=3"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "scraping shard 0 of 3\n");
    assertStringIncludes(r.stdout, 'job "node": 1 active, 2 dropped');
    assertStringIncludes(r.stdout, "  http://10.0.0.2:9100/metrics\n");
    assertStringIncludes(
      r.stdout,
      "  10.0.0.1:9100 dropped: belongs to shard 2 of 3 (this agent is shard 0)\n",
    );
    // Sharding comes before relabeling.
    assertStringIncludes(
      r.stdout,
      "  10.0.0.3:9100 dropped: belongs to shard 2 of 3 (this agent is shard 0)\n",
    );

    // From the environment, the index as a StatefulSet pod name.
    const env = { FERRY_SHARD_INDEX: "ferry-2", FERRY_SHARD_TOTAL: "3" };
    const e = await cliEnv([f.config, "--job", "node"], env);
    assertEquals(e.code, 0, e.stderr);
    assertStringIncludes(e.stdout, "scraping shard 2 of 3\n");
    assertStringIncludes(e.stdout, "  http://10.0.0.1:9100/metrics\n");
    assertStringIncludes(
      e.stdout,
      "  10.0.0.2:9100 dropped: belongs to shard 0 of 3 (this agent is shard 2)\n",
    );
    assertStringIncludes(e.stdout, "  10.0.0.3:9100 dropped: dropped by relabeling\n");

    // The flag wins over the variable.
    const both = await cliEnv([f.config, "--job", "node", "--shard.index=0"], env);
    assertStringIncludes(both.stdout, "scraping shard 0 of 3\n");

    // Without --allow-env the variables are unset (and nothing prompts): every target.
    const noEnv = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", MAIN, "check", "targets", f.config, "--job", "node"],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const noEnvOut = new TextDecoder().decode(noEnv.stdout);
    assertEquals(noEnv.code, 0, new TextDecoder().decode(noEnv.stderr));
    assertStringIncludes(noEnvOut, 'job "node": 2 active, 1 dropped');

    // --json lists other shards' targets among droppedTargets.
    const j = await cli([
      f.config,
      "--job",
      "node",
      "--json",
      "--shard.index=0",
      "--shard.total=3",
    ]);
    const data = JSON.parse(j.stdout);
    assertEquals(data.droppedTargetCounts, { node: 2 });

    const bad = await cli([f.config, "--shard.index=3", "--shard.total=3"]);
    assertEquals(bad.code, 2);
    assertStringIncludes(
      bad.stderr,
      "error: --shard.index: shard 3 must be less than the shard count 3 (--shard.total)",
    );
  } finally {
    await f.cleanup();
  }
});

/**
 * CLI subprocess tests: output and exit codes of main.ts commands, and that
 * `permissions` prints flags the agent actually runs under.
 */

import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { freePort, Proc, ROOT, waitFor } from "../../tests/helpers.ts";

const DENO = Deno.execPath();
const MAIN = `${ROOT}main.ts`;

async function run(
  args: string[],
  perms = ["-A"],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(DENO, {
    args: ["run", ...perms, MAIN, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli: --help on every command exits 0", async (t) => {
  for (
    const cmd of [
      ["--help"],
      ["run", "--help"],
      ["receive", "--help"],
      ["check", "--help"],
      ["check", "config", "--help"],
      ["check", "relabel", "--help"],
      ["check", "targets", "--help"],
      ["permissions", "--help"],
      ["import", "--help"],
      ["version", "--help"],
    ]
  ) {
    await t.step(cmd.join(" "), async () => {
      const r = await run(cmd);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes((r.stdout + r.stderr).toLowerCase(), "usage");
    });
  }
});

Deno.test("cli: version", async () => {
  const r = await run(["version"]);
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "ferry ");
});

Deno.test("cli: check config — good, broken TS, broken YAML, JSON output", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-check-" });
  try {
    const good = `${dir}/good.config.ts`;
    await Deno.writeTextFile(
      good,
      `import { defineConfig } from "${ROOT}mod.ts";
export default defineConfig({
  scrapeConfigs: [{ jobName: "a", staticConfigs: [{ targets: ["127.0.0.1:9100"] }] }],
});
`,
    );
    const badTs = `${dir}/bad.config.ts`;
    await Deno.writeTextFile(
      badTs,
      `import { defineConfig } from "${ROOT}mod.ts";
export default defineConfig({
  scrapeConfigs: [{ jobName: 1, staticConfigs: [{ targets: ["127.0.0.1:9100"] }] }],
});
`,
    );
    const badYaml = `${dir}/bad.yml`;
    await Deno.writeTextFile(
      badYaml,
      "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_timeout: 1m\n",
    );
    const goodYaml = `${dir}/good.yml`;
    await Deno.writeTextFile(
      goodYaml,
      "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [127.0.0.1:9100]\n",
    );

    await t.step("good files exit 0", async () => {
      const r = await run(["check", "config", good, goodYaml]);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, `${good}: SUCCESS`);
      assertStringIncludes(r.stdout, `${goodYaml}: SUCCESS`);
    });
    await t.step("a TS type error is reported file:line:col, exit 1", async () => {
      const r = await run(["check", "config", badTs]);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertStringIncludes(r.stderr, `${badTs}:3:`);
      assertStringIncludes(r.stderr, "TS2");
    });
    await t.step("a YAML error has its line, exit 1", async () => {
      const r = await run(["check", "config", badYaml]);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertStringIncludes(r.stderr, `${badYaml}:5:`);
    });
    await t.step("one bad file among good ones: exit 1; --json lists each", async () => {
      const r = await run(["check", "config", "--json", good, badYaml]);
      assertEquals(r.code, 1);
      const out = JSON.parse(r.stdout);
      assertEquals(out.map((f: { ok: boolean }) => f.ok), [true, false]);
      assertEquals(out[1].errors[0].line, 5);
    });
    await t.step("a missing file: exit 1; no file: exit 2", async () => {
      assertEquals((await run(["check", "config", `${dir}/nope.yml`])).code, 1);
      assertEquals((await run(["check", "config"])).code, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "cli: the agent runs under exactly the flags `permissions` prints",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-perms-" });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("test_up 1\n"),
    );
    const rxPort = freePort(), webPort = freePort();
    const rx = new Proc("receiver", DENO, [
      "run",
      `--allow-net=127.0.0.1:${rxPort}`,
      MAIN,
      "receive",
      "--listen",
      `127.0.0.1:${rxPort}`,
      "--print",
    ]);
    const cfg = `${dir}/agent.config.ts`;
    await Deno.writeTextFile(
      cfg,
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "t", staticConfigs: [{ targets: ["127.0.0.1:${server.addr.port}"] }] }],
  remoteWrite: [{ url: "http://127.0.0.1:${rxPort}/api/v1/write", queueConfig: { batchSendDeadline: "500ms" } }],
};
`,
    );
    const storage = `${dir}/data`;
    const listen = `127.0.0.1:${webPort}`;
    let agent: Proc | undefined;
    try {
      const p = await run([
        "permissions",
        cfg,
        `--storage.agent.path=${storage}`,
        `--web.listen-address=${listen}`,
      ]);
      assertEquals(p.code, 0, p.stderr);
      const flags = p.stdout.split("\n")[0].split(" ");
      assertEquals(flags.length, 4, p.stdout);
      assertStringIncludes(
        flags[0],
        `127.0.0.1:${server.addr.port}`,
      );
      assertStringIncludes(flags[0], `127.0.0.1:${rxPort}`);
      assertStringIncludes(flags[0], listen);
      assert(!flags.join(" ").includes("--allow-all"));
      agent = new Proc("ferry", DENO, [
        "run",
        "--no-prompt",
        ...flags,
        MAIN,
        cfg,
        `--storage.agent.path=${storage}`,
        `--web.listen-address=${listen}`,
      ], { cwd: dir });
      await waitFor(
        "samples at the receiver",
        () => Promise.resolve(rx.output().includes('{__name__="test_up"') || undefined),
        30_000,
      );
      const st = await agent.stop("SIGTERM");
      assertEquals(st.code, 0, agent.output());
      assert(
        !/PermissionDenied|NotCapable|Requires \w+ access/.test(agent.output()),
        agent.output(),
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent?.output().slice(-3000)}`);
    } finally {
      await agent?.stop();
      await rx.stop();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("cli: import prometheus.yml round trip — same resolved model, type-checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-import-" });
  try {
    const yml = `${ROOT}src/config/testdata/prometheus.full.yml`;
    const out = `${dir}/agent.config.ts`;
    const r = await run(["import", yml, "--output", out]);
    assertEquals(r.code, 0, r.stderr);
    const again = await run(["import", yml, "--output", out]);
    assertEquals(again.code, 1, "refuses to overwrite without --force");
    const check = await run(["check", "config", out]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
    // Formatted: deno fmt --check accepts it.
    const fmt = await new Deno.Command(DENO, { args: ["fmt", "--check", out] }).output();
    assert(fmt.success, "the imported file is formatted");
    const { loadConfig } = await import("../config/load.ts");
    const fromYaml = await loadConfig(yml);
    const fromTs = await loadConfig(out);
    assertEquals(fromTs.config, fromYaml.config);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * loadConfig() tests. YAML files load in-process. TypeScript modules load in a
 * Worker whose permissions need --unstable-worker-options (or deno.json
 * "unstable": ["worker-options"]); `deno test -A src/config/` may run without
 * it, and then creating such a Worker would exit the test process, so those
 * cases run in a child `deno run` (testdata/load_main.ts) started from a
 * temporary directory with all permissions (-A): whatever a config module is
 * denied is denied by the sandbox, not by its parent.
 */

import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/assert.ts";
import { ConfigError } from "./errors.ts";
import { configRoot, explainFailure, loadConfig, sandboxReadPaths } from "./load.ts";
import { DENO_JSON, harness, type LoadResult, type LoadStep, ROOT, TESTDATA } from "./testutil.ts";

const MOD_URL = new URL("../../mod.ts", import.meta.url).href;

type Result = LoadResult;
type Step = LoadStep;

function errorOf(r: Result | undefined): string {
  assert(r !== undefined, "missing result");
  if (r.ok) throw new Error(`expected a failure, got a config from ${r.source}`);
  assertEquals(r.name, "ConfigError");
  return r.message;
}

const SANDBOX_NOTE = "config modules run without network, env, write or run permissions";

/** The end of a read denial for a config without a deno.json above it. */
const noRootNote = (dir: string) =>
  `config modules can read only their config root (${dir}: no deno.json or deno.jsonc above ` +
  "the config, so its own directory) and ferry's mod.ts and src/; put a deno.json at the root " +
  "of a config repository to let its configs import modules from anywhere in it";

/** Config modules that try more than the sandbox allows, and other broken ones. */
const MODULES: Record<string, string> = {
  "fetch.config.ts": 'await fetch("http://example.com/");\nexport default {};\n',
  "env.config.ts":
    'export default { global: { externalLabels: { h: Deno.env.get("HOME") ?? "" } } };\n',
  "write.config.ts":
    'Deno.writeTextFileSync(new URL("./out.txt", import.meta.url), "x");\nexport default {};\n',
  "read-outside.config.ts":
    'const s = Deno.readTextFileSync(new URL("../secret.txt", import.meta.url));\nexport default { global: { externalLabels: { s } } };\n',
  "read-own.config.ts":
    'const s = Deno.readTextFileSync(new URL("./own.txt", import.meta.url)).trim();\nexport default { global: { externalLabels: { s } } };\n',
  "run.config.ts": 'await new Deno.Command("true").output();\nexport default {};\n',
  "sys.config.ts": "export default { global: { externalLabels: { h: Deno.hostname() } } };\n",
  "remote.config.ts": 'import "https://example.com/ferry.ts";\nexport default {};\n',
  "function.config.ts":
    'export default { scrapeConfigs: [{ jobName: "a", relabelConfigs: [() => 1] }] };\n',
  "hang.config.ts": "await new Promise(() => {});\nexport default {};\n",
  "spin.config.ts": "while (Date.now() > 0) {\n  // never ends\n}\nexport default {};\n",
  "throws.config.ts": 'throw new Error("boom");\n',
  "syntax.config.ts": "export default {\n",
  "noexport.config.ts": "export const settings = {};\n",
  "invalid.config.ts":
    'export default { scrapeConfigs: [{ jobName: "a", scrapeInterval: "15s", scrapeTimeout: "20s" }] };\n',
  "abs-import.config.ts": `import { defineConfig } from "${MOD_URL}";\n` +
    'export default defineConfig({ scrapeConfigs: [{ jobName: "abs" }] });\n',
  "reload.config.ts": 'export default { scrapeConfigs: [{ jobName: "v1" }] };\n',
};

Deno.test({
  name: "loadConfig() imports TypeScript configs in a sandboxed Worker",
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "ferry-load-test-" });
    try {
      await Deno.mkdir(`${tmp}/cfg`);
      await Deno.writeTextFile(`${tmp}/secret.txt`, "secret\n");
      await Deno.writeTextFile(`${tmp}/cfg/own.txt`, "mine\n");
      for (const [name, text] of Object.entries(MODULES)) {
        await Deno.writeTextFile(`${tmp}/cfg/${name}`, text);
      }
      const names = Object.keys(MODULES).filter((n) => n !== "reload.config.ts");
      const steps: Step[] = [
        ...names.map((n) => ({ load: `cfg/${n}`, timeoutMs: 1500 })),
        { load: `${TESTDATA}/equivalent.config.ts` },
        { load: `${TESTDATA}/equivalent.yml` },
        { load: `${TESTDATA}/named.config.ts` },
        { load: `${TESTDATA}/json.config.json` },
        { load: "cfg/reload.config.ts" },
        {
          write: `${tmp}/cfg/reload.config.ts`,
          text: 'export default { scrapeConfigs: [{ jobName: "v2" }] };\n',
        },
        { load: "cfg/reload.config.ts" },
      ];
      const { code, results, stderr } = await harness(steps, { cwd: tmp });
      assertEquals(code, 0, stderr);
      const byName = new Map(names.map((n, i) => [n, results[i]]));
      const rest = results.slice(names.length);
      const err = (n: string) => errorOf(byName.get(n));

      await t.step("fetch is denied: no network", () => {
        assertEquals(
          err("fetch.config.ts"),
          `config cfg/fetch.config.ts: requires net access to "example.com:80"; ${SANDBOX_NOTE}`,
        );
      });
      await t.step("Deno.env is denied", () => {
        assertEquals(
          err("env.config.ts"),
          `config cfg/env.config.ts: requires env access to "HOME"; ${SANDBOX_NOTE}`,
        );
      });
      await t.step("writing is denied", () => {
        assertEquals(
          err("write.config.ts"),
          `config cfg/write.config.ts: requires write access to "${tmp}/cfg/out.txt"; ${SANDBOX_NOTE}`,
        );
      });
      await t.step("reading outside its directory is denied", () => {
        assertEquals(
          err("read-outside.config.ts"),
          `config cfg/read-outside.config.ts: requires read access to "${tmp}/secret.txt"; ` +
            `${noRootNote(`${tmp}/cfg`)}`,
        );
      });
      await t.step("reading inside its directory is allowed", () => {
        const r = byName.get("read-own.config.ts");
        assert(r?.ok, JSON.stringify(r));
        assertEquals(r.config.global.externalLabels, { s: "mine" });
      });
      await t.step("spawning is denied", () => {
        assertEquals(
          err("run.config.ts"),
          `config cfg/run.config.ts: requires run access to "true"; ${SANDBOX_NOTE}`,
        );
      });
      await t.step("system information is denied", () => {
        assertEquals(
          err("sys.config.ts"),
          `config cfg/sys.config.ts: requires sys access to "hostname"; ${SANDBOX_NOTE}`,
        );
      });
      await t.step("remote imports are denied", () => {
        assertEquals(
          err("remote.config.ts"),
          'config cfg/remote.config.ts: requires import access to "example.com:443"; ' +
            "config modules cannot import remote modules",
        );
      });
      await t.step("a function value is rejected with its path", () => {
        assertEquals(
          err("function.config.ts"),
          "config cfg/function.config.ts: scrapeConfigs[0].relabelConfigs[0] is a function; " +
            "config modules must export plain data",
        );
      });
      for (const name of ["hang.config.ts", "spin.config.ts"]) {
        await t.step(`a module that never finishes times out (${name})`, () => {
          assertEquals(
            err(name),
            `config cfg/${name}: did not finish loading within 1.5s (a config module must not ` +
              "wait for anything that never completes, or loop forever)",
          );
        });
      }
      await t.step("a module that throws", () => {
        assertEquals(
          err("throws.config.ts"),
          "config cfg/throws.config.ts: failed to load: Error: boom",
        );
      });
      await t.step("a module that does not parse", () => {
        const m = err("syntax.config.ts");
        assert(m.startsWith("config cfg/syntax.config.ts: failed to load: "), m);
      });
      await t.step("a module without a config export", () => {
        assertEquals(
          err("noexport.config.ts"),
          'config cfg/noexport.config.ts: has no default export and no export named "config" (it exports settings)',
        );
      });
      await t.step("an invalid config is reported by resolveConfig", () => {
        const r = byName.get("invalid.config.ts");
        assertEquals(
          errorOf(r),
          "config cfg/invalid.config.ts: scrapeConfigs[0].scrapeTimeout: 20s is longer than scrapeInterval 15s",
        );
        assert(r && !r.ok);
        assertEquals(r.issues, [
          {
            path: "scrapeConfigs[0].scrapeTimeout",
            message: "20s is longer than scrapeInterval 15s",
          },
        ]);
      });
      await t.step("a module outside ferry may import ferry's mod.ts", () => {
        const r = byName.get("abs-import.config.ts");
        assert(r?.ok, JSON.stringify(r));
        assertEquals(r.config.scrapeConfigs[0].jobName, "abs");
      });
      await t.step("default export, with a relative import of ../mod.ts; same as the YAML", () => {
        const [ts, yaml] = rest;
        assert(ts.ok && yaml.ok, JSON.stringify([ts, yaml]));
        assertEquals([ts.kind, yaml.kind], ["ts", "yaml"]);
        assertEquals(ts.source, `${TESTDATA}/equivalent.config.ts`);
        assertEquals(ts.config, yaml.config);
      });
      await t.step("named `config` export", () => {
        const r = rest[2];
        assert(r.ok, JSON.stringify(r));
        assertEquals(r.config.scrapeConfigs.map((s) => s.jobName), ["named"]);
      });
      await t.step(".json goes through the YAML path", () => {
        const r = rest[3];
        assert(r.ok, JSON.stringify(r));
        assertEquals([r.kind, r.config.scrapeConfigs[0].jobName], ["yaml", "json"]);
      });
      await t.step("each load imports the module afresh (reload sees edits)", () => {
        const [v1, v2] = rest.slice(4);
        assert(v1.ok && v2.ok, JSON.stringify([v1, v2]));
        assertEquals(
          [v1.config.scrapeConfigs[0].jobName, v2.config.scrapeConfigs[0].jobName],
          ["v1", "v2"],
        );
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("loadConfig() sandbox: what the process needs", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "ferry-load-flags-" });
  try {
    await t.step('deno.json "unstable": ["worker-options"] instead of the flag', async () => {
      const main = JSON.parse(await Deno.readTextFile(DENO_JSON));
      await Deno.writeTextFile(
        `${tmp}/deno.json`,
        JSON.stringify({ imports: main.imports, unstable: ["worker-options"] }),
      );
      const { code, results, stderr } = await harness(
        [{ load: `${TESTDATA}/equivalent.config.ts` }],
        { cwd: tmp, flags: ["-A", "--config", `${tmp}/deno.json`] },
      );
      assertEquals(code, 0, stderr);
      assert(results[0]?.ok, JSON.stringify(results));
    });
    await t.step("without either, Deno exits the process (code 70)", async () => {
      // The project's deno.json enables the flag; use a copy without it.
      const cfg = JSON.parse(await Deno.readTextFile(DENO_JSON));
      delete cfg.unstable;
      await Deno.writeTextFile(`${tmp}/no-unstable.json`, JSON.stringify(cfg));
      const { code, stderr } = await harness(
        [{ load: `${TESTDATA}/equivalent.config.ts` }],
        { cwd: tmp, flags: ["-A", "--config", `${tmp}/no-unstable.json`] },
      );
      assertEquals(code, 70);
      assertStringIncludes(stderr, "--unstable-worker-options");
    });
    await t.step("the process must be able to read the config's directory", async () => {
      await Deno.writeTextFile(`${tmp}/x.config.ts`, "export default {};\n");
      const { code, results, stderr } = await harness([{ load: `${tmp}/x.config.ts` }], {
        cwd: ROOT,
        flags: [
          "--unstable-worker-options",
          `--allow-read=${ROOT}`,
          "--no-prompt",
          "--config",
          DENO_JSON,
        ],
      });
      assertEquals(code, 0, stderr);
      assertEquals(
        errorOf(results[0]),
        `config ${tmp}/x.config.ts: ferry has no read access to ${tmp} (run it with --allow-read=${tmp})`,
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadConfig() reads prometheus.yml in-process", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "ferry-load-yaml-" });
  try {
    await t.step("resolves it, with warnings and paths relative to the file", async () => {
      await Deno.writeTextFile(
        `${tmp}/prometheus.yml`,
        "global:\n  evaluation_interval: 1m\nscrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: pw}\n",
      );
      const r = await loadConfig(`${tmp}/prometheus.yml`);
      assertEquals([r.kind, r.source], ["yaml", `${tmp}/prometheus.yml`]);
      assertEquals(r.config.scrapeConfigs[0].basicAuth, {
        username: "u",
        passwordFile: `${tmp}/pw`,
      });
      assertEquals(r.warnings.map((w) => w.path), ["global.evaluation_interval"]);
    });
    await t.step("errors name the file and line", async () => {
      await Deno.writeTextFile(`${tmp}/bad.yaml`, "scrape_configs:\n  - job_name: a\n    foo: 1\n");
      const e = await assertRejects(() => loadConfig(`${tmp}/bad.yaml`), ConfigError);
      assertEquals(
        e.message,
        `config ${tmp}/bad.yaml: ${tmp}/bad.yaml:3:5: unknown field "foo" in scrape_configs[0]`,
      );
    });
    await t.step("$VAR in external_labels needs env access to that variable", async () => {
      await Deno.writeTextFile(
        `${tmp}/env.yml`,
        "global:\n  external_labels: {a: $FERRY_TEST_VAR}\n",
      );
      Deno.env.set("FERRY_TEST_VAR", "x");
      try {
        const r = await loadConfig(`${tmp}/env.yml`);
        assertEquals(r.config.global.externalLabels, { a: "x" });
      } finally {
        Deno.env.delete("FERRY_TEST_VAR");
      }
    });
    await t.step("a missing file", async () => {
      const e = await assertRejects(() => loadConfig(`${tmp}/nope.yml`), ConfigError);
      assertStringIncludes(e.message, `config ${tmp}/nope.yml: cannot read: `);
    });
    await t.step("an unknown extension", async () => {
      const e = await assertRejects(() => loadConfig(`${tmp}/ferry.toml`), ConfigError);
      assertEquals(
        e.message,
        `config ${tmp}/ferry.toml: unsupported file extension ".toml" (want .ts, .mts, .js, .mjs, .yml, .yaml or .json)`,
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("sandboxReadPaths() grants the config root and ferry's mod.ts and src/", async () => {
  assertEquals(sandboxReadPaths("/somewhere/agent.config.ts"), [
    "/somewhere",
    `${ROOT}/mod.ts`,
    `${ROOT}/src`,
  ]);
  assertEquals(sandboxReadPaths(`${ROOT}/agent.config.ts`), [ROOT], "no duplicates inside");
  assertEquals(
    sandboxReadPaths(`${ROOT}/src/config/testdata/equivalent.config.ts`),
    [ROOT],
    "inside ferry's checkout, ferry's deno.json makes its root the config root",
  );
  const tmp = await Deno.makeTempDir({ prefix: "ferry-root-paths-" });
  try {
    await Deno.mkdir(`${tmp}/repo/sites`, { recursive: true });
    await Deno.writeTextFile(`${tmp}/repo/deno.json`, "{}");
    assertEquals(sandboxReadPaths(`${tmp}/repo/sites/x.config.ts`), [
      `${tmp}/repo`,
      `${ROOT}/mod.ts`,
      `${ROOT}/src`,
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("configRoot() is the nearest directory with a deno.json or deno.jsonc", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "ferry-root-" });
  try {
    await Deno.mkdir(`${tmp}/repo/sites/eu/deep`, { recursive: true });
    await t.step("none: the config's own directory", () => {
      assertEquals(configRoot(`${tmp}/repo/sites/x.config.ts`), { dir: `${tmp}/repo/sites` });
    });
    await t.step("a deno.json above it", async () => {
      await Deno.writeTextFile(`${tmp}/repo/deno.json`, "{}");
      assertEquals(configRoot(`${tmp}/repo/sites/eu/deep/x.config.ts`), {
        dir: `${tmp}/repo`,
        marker: `${tmp}/repo/deno.json`,
      });
    });
    await t.step("the nearest one wins; deno.jsonc counts", async () => {
      await Deno.writeTextFile(`${tmp}/repo/sites/deno.jsonc`, "// c\n{}");
      assertEquals(configRoot(`${tmp}/repo/sites/eu/x.config.ts`), {
        dir: `${tmp}/repo/sites`,
        marker: `${tmp}/repo/sites/deno.jsonc`,
      });
    });
    await t.step("in the config's own directory", async () => {
      await Deno.writeTextFile(`${tmp}/repo/sites/eu/deno.json`, "{}");
      assertEquals(configRoot(`${tmp}/repo/sites/eu/x.config.ts`).dir, `${tmp}/repo/sites/eu`);
    });
    await t.step("a directory named deno.json is not a marker", async () => {
      await Deno.mkdir(`${tmp}/repo/sites/eu/deep/deno.json`);
      assertEquals(configRoot(`${tmp}/repo/sites/eu/deep/x.config.ts`).dir, `${tmp}/repo/sites/eu`);
    });
    await t.step("relative paths resolve against the working directory", () => {
      assertEquals(configRoot("config.example.ts").dir, Deno.cwd() === ROOT ? ROOT : Deno.cwd());
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadConfig() lets a config import from its config root", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "ferry-load-root-" });
  try {
    await Deno.mkdir(`${tmp}/repo/sites`, { recursive: true });
    await Deno.mkdir(`${tmp}/repo/lib`);
    await Deno.writeTextFile(`${tmp}/secret.txt`, "secret\n");
    await Deno.writeTextFile(
      `${tmp}/repo/lib/jobs.ts`,
      'import type { ScrapeConfig } from "ferry";\n' +
        'export const selfJob = (): ScrapeConfig => ({ jobName: "shared" });\n',
    );
    await Deno.writeTextFile(
      `${tmp}/repo/sites/x.config.ts`,
      'import { defineConfig } from "ferry";\nimport { selfJob } from "../lib/jobs.ts";\n' +
        "export default defineConfig({ scrapeConfigs: [selfJob()] });\n",
    );
    await Deno.writeTextFile(
      `${tmp}/repo/sites/outside.config.ts`,
      'const s = Deno.readTextFileSync(new URL("../../secret.txt", import.meta.url));\n' +
        "export default { global: { externalLabels: { s } } };\n",
    );
    const load = (flags?: string[]) =>
      harness([{ load: "repo/sites/x.config.ts" }, { load: "repo/sites/outside.config.ts" }], {
        cwd: tmp,
        flags,
      });

    await t.step("without a deno.json, ../lib is outside the sandbox", async () => {
      const { code, results, stderr } = await load();
      assertEquals(code, 0, stderr);
      assertEquals(
        errorOf(results[0]),
        `config repo/sites/x.config.ts: requires read access to "${tmp}/repo/lib/jobs.ts"; ` +
          noRootNote(`${tmp}/repo/sites`),
      );
    });
    await Deno.writeTextFile(`${tmp}/repo/deno.json`, '{ "imports": {} }\n');
    const rootNote = `config modules can read only their config root (${tmp}/repo, where ` +
      "deno.json is) and ferry's mod.ts and src/";
    await t.step("with repo/deno.json, a site config imports ../lib/jobs.ts", async (t) => {
      const { code, results, stderr } = await load();
      assertEquals(code, 0, stderr);
      assert(results[0]?.ok, JSON.stringify(results[0]));
      assertEquals(results[0].config.scrapeConfigs.map((s) => s.jobName), ["shared"]);
      await t.step("reading outside the config root is still denied", () => {
        assertEquals(
          errorOf(results[1]),
          `config repo/sites/outside.config.ts: requires read access to "${tmp}/secret.txt"; ` +
            rootNote,
        );
      });
    });
    await t.step("the root is searched only as far as ferry may read", async () => {
      const { code, results, stderr } = await load([
        "--unstable-worker-options",
        `--allow-read=${ROOT},${tmp}/repo/sites`,
        "--no-prompt",
        "--config",
        DENO_JSON,
      ]);
      assertEquals(code, 0, stderr);
      assertEquals(
        errorOf(results[0]),
        `config repo/sites/x.config.ts: requires read access to "${tmp}/repo/lib/jobs.ts"; ` +
          noRootNote(`${tmp}/repo/sites`),
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("explainFailure() names the permission a config module lacked", () => {
  const f = (
    message: string,
    stage: "import" | "export" | "data" = "import",
    name = "NotCapable",
  ) => explainFailure({ id: "", ok: false, stage, name, message }, "/cfg");
  assertEquals(
    f('Requires net access to "example.com:443", run again with the --allow-net flag'),
    `requires net access to "example.com:443"; ${SANDBOX_NOTE}`,
  );
  assertEquals(
    f(
      'Requires read access to "/x/mod.ts", run again with the --allow-read flag\n    at \x1b[0m\x1b[36mfile:///cfg/a.ts\x1b[0m:1:30',
      "import",
      "TypeError",
    ),
    `requires read access to "/x/mod.ts"; ${noRootNote("/cfg")}`,
  );
  assertEquals(
    explainFailure(
      {
        id: "",
        ok: false,
        stage: "import",
        name: "NotCapable",
        message: 'Requires read access to "/etc/passwd", run again with the --allow-read flag',
      },
      { dir: "/repo", marker: "/repo/deno.jsonc" },
    ),
    'requires read access to "/etc/passwd"; config modules can read only their config root ' +
      "(/repo, where deno.jsonc is) and ferry's mod.ts and src/",
  );
  assertEquals(f("boom", "import", "Error"), "failed to load: Error: boom");
  assertEquals(f("x is a function", "data", "TypeError"), "x is a function");
});

/**
 * The GitOps example (examples/gitops): its site configs pass `check config`,
 * its own tests pass under its own deno.json, its permission snapshots are
 * current, and a copy of it elsewhere works the same way — site configs import
 * shared modules from the config root (the directory of deno.json), which
 * `check config` also type-checks with.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { ROOT } from "./helpers.ts";

const EXAMPLE = `${ROOT}examples/gitops`;
const SITES = ["sites/berlin.config.ts", "sites/paris.config.ts"];

interface FileCheck {
  file: string;
  ok: boolean;
  errors: { kind: string; message: string; file?: string; line?: number }[];
  warnings: { message: string }[];
  jobs?: number;
}

async function run(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `main.ts check config --json FILES` from `cwd`, with ferry's deno.json. */
async function checkConfig(files: string[], cwd: string) {
  const r = await run(
    [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}main.ts`,
      "check",
      "config",
      "--json",
      ...files,
    ],
    cwd,
  );
  return { ...r, results: JSON.parse(r.stdout) as FileCheck[] };
}

/** A copy of the example at `dir`, pointing at this ferry checkout by absolute path. */
async function copyExample(dir: string): Promise<void> {
  const copy = async (from: string, to: string) => {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
      else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  };
  await copy(EXAMPLE, dir);
  const deno = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  assertEquals(deno.imports.ferry, "../../mod.ts");
  deno.imports.ferry = `${ROOT}mod.ts`;
  deno.tasks.ferry = deno.tasks.ferry.replaceAll("../../", ROOT);
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify(deno, null, 2) + "\n");
}

Deno.test("examples/gitops: both site configs pass check config", async () => {
  const { code, results, stderr } = await checkConfig(SITES, EXAMPLE);
  assertEquals(code, 0, stderr);
  assertEquals(results.map((r) => [r.file, r.ok, r.errors, r.warnings]), [
    [SITES[0], true, [], []],
    [SITES[1], true, [], []],
  ]);
  assertEquals(results.map((r) => r.jobs), [3, 2]);
});

Deno.test("examples/gitops: its relabel tests pass with `deno test` in the example", async () => {
  const r = await run(["test"], EXAMPLE);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assertStringIncludes(r.stdout, "tests/relabel_test.ts");
  assert(/ok \| [1-9]\d* passed \| 0 failed/.test(r.stdout), r.stdout);
});

Deno.test("examples/gitops: permissions/<site>.json are current", async () => {
  const r = await run(["task", "--quiet", "permissions", "--check"], EXAMPLE);
  assertEquals(
    r.code,
    0,
    `${r.stderr}\nexamples/gitops/permissions is stale: run \`deno task permissions\` in ` +
      "examples/gitops and review the diff",
  );
});

Deno.test("a copy of the example elsewhere: config root, type check, permissions", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "ferry-gitops-" });
  const repo = `${tmp}/repo`;
  try {
    await copyExample(repo);
    await t.step("the sites pass check config; the permission files still match", async () => {
      const { code, results, stderr } = await checkConfig(SITES, repo);
      assertEquals(code, 0, stderr);
      assert(results.every((r) => r.ok), JSON.stringify(results));
      const p = await run(["task", "--quiet", "permissions", "--check"], repo);
      assertEquals(p.code, 0, p.stderr);
    });
    await t.step("a new target makes the permission check fail until committed", async () => {
      const site = `${repo}/sites/berlin.config.ts`;
      const text = await Deno.readTextFile(site);
      await Deno.writeTextFile(
        site,
        text.replace(
          '"gw.berlin.example.net:9100"',
          '"gw.berlin.example.net:9100", "db9.example.org:9100"',
        ),
      );
      const p = await run(["task", "--quiet", "permissions", "--check"], repo);
      assertEquals(p.code, 1);
      assertStringIncludes(p.stderr, "permissions/berlin.json is out of date");
      assertStringIncludes(p.stderr, "db9.example.org:9100");
      const w = await run(["task", "--quiet", "permissions"], repo);
      assertEquals(w.code, 0, w.stderr);
      assertStringIncludes(
        await Deno.readTextFile(`${repo}/permissions/berlin.json`),
        "db9.example.org",
      );
      assertEquals((await run(["task", "--quiet", "permissions", "--check"], repo)).code, 0);
    });
    await t.step("check config type-checks with the config repository's deno.json", async () => {
      const deno = JSON.parse(await Deno.readTextFile(`${repo}/deno.json`));
      deno.compilerOptions = { noUnusedLocals: true };
      await Deno.writeTextFile(`${repo}/deno.json`, JSON.stringify(deno));
      await Deno.writeTextFile(
        `${repo}/sites/unused.config.ts`,
        'import { defineConfig } from "ferry";\nconst unused = 1;\nexport default defineConfig({});\n',
      );
      // From ferry's directory: its own deno.json does not set noUnusedLocals.
      const { code, results } = await checkConfig([`${repo}/sites/unused.config.ts`], ROOT);
      assertEquals(code, 1);
      const errors = results[0].errors.map((e) => [e.kind, e.message.split(":")[0], e.line]);
      assertEquals(errors, [["typecheck", "TS6133", 2]]);
      await Deno.remove(`${repo}/sites/unused.config.ts`);
    });
    await t.step("without deno.json, ../lib is outside the config's sandbox", async () => {
      await Deno.remove(`${repo}/deno.json`);
      // From ferry's directory, so "ferry" still resolves for the type check.
      const { code, results } = await checkConfig([`${repo}/sites/paris.config.ts`], ROOT);
      assertEquals(code, 1);
      const messages = results[0].errors.map((e) => `${e.kind}: ${e.message}`);
      assertEquals(messages.length, 1, messages.join("\n"));
      assertStringIncludes(
        messages[0],
        `config: requires read access to "${repo}/lib/jobs.ts"; config modules can read only ` +
          `their config root (${repo}/sites: no deno.json or deno.jsonc above the config`,
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

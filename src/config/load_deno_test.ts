import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/assert.ts";
import { explainFailure } from "./load.ts";
import { DENO_MISSING, importWithDeno } from "./load_deno.ts";

async function withConfigs(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-load-deno-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const opts = (dir: string) => ({ read: [dir], timeoutMs: 30_000, deno: Deno.execPath() });

Deno.test("load_deno: a deno subprocess evaluates the config module and returns its export", async () => {
  await withConfigs({
    "a.config.ts": `import { jobs } from "./jobs.ts";
console.log("a config that prints to stdout");
export default { scrapeConfigs: jobs, global: { externalLabels: { odd: "x\\ny" } } };
`,
    "jobs.ts": `export const jobs = [{ jobName: "n", staticConfigs: [{ targets: ["h:1"] }] }];`,
    "named.config.ts": `export const config = Promise.resolve({ remoteWrite: [] });`,
  }, async (dir) => {
    const r = await importWithDeno(`${dir}/a.config.ts`, "a.config.ts", opts(dir));
    assert(r.ok, JSON.stringify(r));
    assertEquals(r.value, {
      scrapeConfigs: [{ jobName: "n", staticConfigs: [{ targets: ["h:1"] }] }],
      global: { externalLabels: { odd: "x\ny" } },
    });
    const n = await importWithDeno(`${dir}/named.config.ts`, "named.config.ts", opts(dir));
    assertEquals(n.ok && n.value, { remoteWrite: [] });
  });
});

Deno.test("load_deno: the subprocess is sandboxed and non-data exports are named", async () => {
  await withConfigs({
    "env.config.ts": `export default { x: Deno.env.get("HOME") };`,
    "net.config.ts": `await fetch("http://127.0.0.1:65000/"); export default {};`,
    "outside.config.ts": `export default { x: Deno.readTextFileSync("/etc/hostname") };`,
    "fn.config.ts": `export default () => ({});`,
    "class.config.ts": `export default { scrapeConfigs: [{ jobName: "a", when: new Date(0) }] };`,
    "none.config.ts": `export const other = 1;`,
    "inf.config.ts": `export default { scrapeConfigs: [{ sampleLimit: Infinity }] };`,
  }, async (dir) => {
    const reply = (f: string) => importWithDeno(`${dir}/${f}`, f, opts(dir));
    const fails = async (f: string) => {
      const r = await reply(f);
      assert(!r.ok, `${f} loaded`);
      return explainFailure(r, dir);
    };
    assertStringIncludes(await fails("env.config.ts"), "requires env access");
    assertStringIncludes(await fails("net.config.ts"), "requires net access");
    assertStringIncludes(await fails("outside.config.ts"), "requires read access to");
    assertStringIncludes(await fails("fn.config.ts"), "the default export is a function");
    assertStringIncludes(
      await fails("class.config.ts"),
      "scrapeConfigs[0].when is a Date, not a plain object",
    );
    assertStringIncludes(await fails("none.config.ts"), "(it exports other)");
    // JSON would turn it into null, so the subprocess refuses it (the Worker need not).
    assertStringIncludes(
      await fails("inf.config.ts"),
      "scrapeConfigs[0].sampleLimit is Infinity; use a finite number",
    );
  });
});

Deno.test("load_deno: without deno, or without leave to run it, the error says what to do instead; a hanging module times out", async () => {
  await withConfigs({
    "a.config.ts": `export default {};`,
    "hang.config.ts": `await new Promise(() => setInterval(() => {}, 1000)); export default {};`,
  }, async (dir) => {
    const e = await assertRejects(() =>
      importWithDeno(`${dir}/a.config.ts`, "a.config.ts", {
        ...opts(dir),
        deno: `${dir}/no-such-deno`,
      })
    );
    assertStringIncludes((e as Error).message, DENO_MISSING);
    assertStringIncludes((e as Error).message, "config a.config.ts: ");
    // Without --allow-run=deno (a site binary): says so, never prompts.
    const script = `${dir}/try.ts`;
    await Deno.writeTextFile(
      script,
      `import { importWithDeno } from ${
        JSON.stringify(new URL("./load_deno.ts", import.meta.url).href)
      };
try {
  await importWithDeno(${
        JSON.stringify(`${dir}/a.config.ts`)
      }, "a.config.ts", { read: [], timeoutMs: 5000 });
} catch (e) {
  Deno.stdout.writeSync(new TextEncoder().encode((e as Error).message));
}
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertStringIncludes(
      new TextDecoder().decode(out.stdout),
      "this binary may not run deno to load a TS config (it was built without --allow-run=deno)",
    );
    const t = await assertRejects(() =>
      importWithDeno(`${dir}/hang.config.ts`, "hang.config.ts", { ...opts(dir), timeoutMs: 3000 })
    );
    assertStringIncludes((t as Error).message, "did not finish loading within 3s");
  });
});

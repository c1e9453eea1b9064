import { assertEquals } from "../testing/assert.ts";
import { findNonPlainData, loadModuleValue } from "./worker.ts";

Deno.test("findNonPlainData() accepts plain data and names the first thing that is not", () => {
  assertEquals(
    findNonPlainData({ a: [1, "x", true, null, undefined, { b: NaN }], c: Object.create(null) }),
    undefined,
  );
  assertEquals(
    findNonPlainData({ scrapeConfigs: [{ jobName: "a", relabelConfigs: [() => 1] }] }),
    "scrapeConfigs[0].relabelConfigs[0] is a function; config modules must export plain data",
  );
  assertEquals(
    findNonPlainData({ a: { regex: /x/ } }),
    "a.regex is a RegExp, not a plain object; config modules must export plain data",
  );
  assertEquals(
    findNonPlainData({ "odd key": new Map() }),
    '["odd key"] is a Map, not a plain object; config modules must export plain data',
  );
  assertEquals(findNonPlainData(10n), "the exported value is a bigint; use a number");
  assertEquals(
    findNonPlainData({ a: [1, -Infinity] }, "", new Set(), true),
    "a[1] is -Infinity; use a finite number",
  );
  assertEquals(
    findNonPlainData(() => {}),
    "the exported value is a function; config modules must export plain data",
  );
  class Cfg {
    jobName = "x";
  }
  assertEquals(
    findNonPlainData({ scrapeConfigs: [new Cfg()] }),
    "scrapeConfigs[0] is a Cfg, not a plain object; config modules must export plain data",
  );
  const cyclic: Record<string, unknown> = { a: {} };
  (cyclic.a as Record<string, unknown>).back = cyclic;
  assertEquals(findNonPlainData(cyclic), "a.back refers back to one of its parents (a cycle)");
  const shared = { x: 1 };
  assertEquals(findNonPlainData({ a: shared, b: [shared] }), undefined, "sharing is not a cycle");
  assertEquals(
    findNonPlainData({ s: Symbol("x") }),
    "s is a symbol; config modules must export plain data",
  );
});

Deno.test("loadModuleValue() takes the default export, else `config`", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-worker-test-" });
  let n = 0;
  const mod = async (source: string) => {
    const path = `${dir}/m${n++}.ts`;
    await Deno.writeTextFile(path, source);
    return loadModuleValue({ id: "i", url: new URL(`file://${path}`).href });
  };
  try {
    await t.step("default export", async () => {
      assertEquals(await mod("export default { a: 1 };"), { id: "i", ok: true, value: { a: 1 } });
    });
    await t.step("named config", async () => {
      assertEquals(await mod("export const config = { b: 2 };"), {
        id: "i",
        ok: true,
        value: { b: 2 },
      });
    });
    await t.step("default wins over config", async () => {
      assertEquals(
        await mod("export const config = 1; export default { c: 3 };"),
        { id: "i", ok: true, value: { c: 3 } },
      );
    });
    await t.step("a promise is awaited", async () => {
      assertEquals(await mod("export default Promise.resolve({ d: 4 });"), {
        id: "i",
        ok: true,
        value: { d: 4 },
      });
    });
    await t.step("neither export", async () => {
      assertEquals(await mod("export const x = 1, y = 2;"), {
        id: "i",
        ok: false,
        stage: "export",
        name: "TypeError",
        message: 'has no default export and no export named "config" (it exports x, y)',
      });
    });
    await t.step("a function export", async () => {
      assertEquals(await mod("export default () => ({});"), {
        id: "i",
        ok: false,
        stage: "export",
        name: "TypeError",
        message:
          "the default export is a function; export the config object itself (for example defineConfig({ … }))",
      });
    });
    await t.step("a function inside", async () => {
      assertEquals(await mod("export const config = { global: { f() {} } };"), {
        id: "i",
        ok: false,
        stage: "data",
        name: "TypeError",
        message: "global.f is a function; config modules must export plain data",
      });
    });
    await t.step("throwing while imported", async () => {
      assertEquals(await mod('throw new RangeError("boom");'), {
        id: "i",
        ok: false,
        stage: "import",
        name: "RangeError",
        message: "boom",
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

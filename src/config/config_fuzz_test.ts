/**
 * Fuzzing the config loaders (issue 9, item 6). prometheus_test.ts already
 * feeds the YAML loader random YAML-ish text and random documents over the
 * prometheus.yml vocabulary, and resolve_test.ts feeds `resolveConfig` random
 * values; this file adds:
 *
 * - valid prometheus.yml files mutated at the character level (YAML
 *   indicators, tags, anchors, tabs, quotes, invalid UTF-16 inserted; lines
 *   cut, duplicated, deleted), and arbitrary text;
 * - pathological documents (deep nesting, thousands of anchors, thousands of
 *   errors, long lines), whose ConfigError message stays bounded;
 * - TypeScript config modules exporting random values, JSON-ish and not
 *   (NaN, bigints, symbols, class instances, cycles, proxies and getters that
 *   throw, rejected promises, deep nesting, large arrays), through the
 *   sandboxed Worker: a handful of loads, since each starts a Worker.
 *
 * Each input gives a ConfigError or a valid config, never another exception.
 */

import fc from "fast-check";
import { assert, assertEquals } from "../testing/assert.ts";
import { ConfigError, MAX_LISTED_ISSUES } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import { harness, TESTDATA } from "./testutil.ts";
import type { ResolvedConfig } from "./types.ts";

/** A ConfigError or a resolved config; anything else fails the test. */
function loadsOrRejects(text: string): ResolvedConfig | ConfigError {
  try {
    const c = loadYamlConfig(text, "prometheus.yml");
    assert(Array.isArray(c.scrapeConfigs) && Array.isArray(c.remoteWrite));
    return c;
  } catch (e) {
    if (e instanceof ConfigError) {
      assert(e.issues.length > 0, "a ConfigError names its problems");
      return e;
    }
    throw e;
  }
}

const VALID = [
  Deno.readTextFileSync(`${TESTDATA}/prometheus.full.yml`),
  Deno.readTextFileSync(`${TESTDATA}/equivalent.yml`),
];

const piece = fc.constantFrom(
  ": ",
  "- ",
  "&a ",
  "*a",
  "<<: *a\n",
  "!!binary ",
  "!!int ",
  "!!float ",
  "!!map ",
  "!custom ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "\t",
  "\n",
  "\n  ",
  "'",
  '"',
  "\\",
  "#",
  "---\n",
  "...\n",
  "%YAML 1.1\n",
  "? ",
  "|\n",
  ">-\n",
  "~",
  "null",
  "0x",
  "1e400",
  "-.inf",
  ".nan",
  "\ud800",
  "\0",
  "\ufeff",
  "__proto__",
  "$",
  "${A}",
);
const mutation = fc.tuple(
  fc.nat(),
  fc.constantFrom("insert", "delete", "replace", "dup-line", "drop-line"),
  fc.oneof(piece, fc.string({ maxLength: 3 })),
);

function mutate(text: string, muts: [number, string, string][]): string {
  for (const [at, op, s] of muts) {
    const i = at % (text.length + 1);
    if (op === "insert") text = text.slice(0, i) + s + text.slice(i);
    else if (op === "delete") text = text.slice(0, i) + text.slice(i + 1 + (at % 7));
    else if (op === "replace") text = text.slice(0, i) + s + text.slice(i + s.length);
    else {
      const start = text.lastIndexOf("\n", i - 1) + 1;
      const end = text.indexOf("\n", i);
      const line = text.slice(start, end < 0 ? text.length : end + 1);
      const rest = text.slice(end < 0 ? text.length : end + 1);
      text = text.slice(0, start) + (op === "dup-line" ? line + line : "") + rest;
    }
  }
  return text;
}

Deno.test("config fuzz: mutated valid prometheus.yml files give a ConfigError or a valid config", () => {
  for (const v of VALID) assert(!(loadsOrRejects(v) instanceof ConfigError), "the seeds are valid");
  let valid = 0;
  fc.assert(
    fc.property(
      fc.nat(VALID.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      (i, muts) => {
        if (!(loadsOrRejects(mutate(VALID[i], muts)) instanceof ConfigError)) valid++;
      },
    ),
    { numRuns: 1500 },
  );
  assert(valid > 50, `only ${valid} mutated configs stayed valid`);
});

Deno.test("config fuzz: arbitrary text gives a ConfigError or a valid config", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.string({ unit: "grapheme", maxLength: 100 }),
        fc.array(fc.oneof(piece, fc.constantFrom("global:", "scrape_configs:", "a")), {
          maxLength: 60,
        }).map((p) => p.join("")),
      ),
      (text) => void loadsOrRejects(text),
    ),
    { numRuns: 1500 },
  );
});

Deno.test("config fuzz: pathological prometheus.yml files give a ConfigError with a bounded message", async (t) => {
  const cases: [string, string][] = [
    ["100k unclosed [", "[".repeat(100_000)],
    ["20k nested flow sequences", "[".repeat(20_000) + "]".repeat(20_000)],
    ["20k nested flow maps", "{a: ".repeat(20_000) + "}".repeat(20_000)],
    [
      "5k nested block maps",
      Array.from({ length: 5000 }, (_, i) => " ".repeat(i) + "a:").join("\n"),
    ],
    ["30k compact-mapping errors on one line", "a: ".repeat(30_000)],
    [
      "5k anchors aliasing each other",
      Array.from({ length: 5000 }, (_, i) => `a${i}: &x${i} [*x${Math.max(0, i - 1)}]`).join("\n"),
    ],
    [
      "deep targets",
      "scrape_configs:\n  - job_name: x\n    static_configs:\n      - targets: " +
      "[".repeat(20_000) + "]".repeat(20_000),
    ],
    [
      "5k duplicate jobs",
      "scrape_configs:\n" + "  - job_name: j\n".repeat(5000),
    ],
    [
      "a billion laughs",
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    ],
  ];
  for (const [name, text] of cases) {
    await t.step(name, () => {
      const r = loadsOrRejects(text);
      assert(r instanceof ConfigError, "rejected");
      // At most MAX_LISTED_ISSUES lines, each short (no issue repeats the document).
      const lines = r.message.split("\n");
      assert(lines.length <= MAX_LISTED_ISSUES + 2, `${lines.length} lines`);
      assert(r.message.length < 64 * 1024, `a message of ${r.message.length} characters`);
    });
  }
});

/** Sources of values a config module may export, JSON-ish and not. */
const SPECIAL = [
  "NaN",
  "Infinity",
  "-0",
  "undefined",
  "null",
  "10n",
  "Symbol('s')",
  "new Date(0)",
  "new Map([[1, 2]])",
  "new Uint8Array(4)",
  "/re/g",
  "new Error('x')",
  "Object.create(null)",
  "[, , 1]",
  "Promise.resolve({ scrapeConfigs: [] })",
  "Promise.reject(new Error('rejected'))",
  "Promise.reject(7)",
  "(() => { const a: unknown[] = []; a.push(a); return a; })()",
  "new Proxy({}, { ownKeys() { throw new Error('trap'); } })",
  "new Proxy({}, { getPrototypeOf() { throw new Error('proto trap'); } })",
  "{ get scrapeConfigs() { throw new Error('getter'); } }",
  "JSON.parse('['.repeat(5000) + ']'.repeat(5000))",
  "Array.from({ length: 20000 }, (_, i) => ({ jobName: 'j' + (i % 3) }))",
  "'x'.repeat(1 << 20)",
  "() => ({})",
  "class {}",
];
const KEYS = [
  "global",
  "scrapeConfigs",
  "remoteWrite",
  "jobName",
  "scrapeInterval",
  "staticConfigs",
  "targets",
  "relabelConfigs",
  "regex",
  "action",
  "url",
  "externalLabels",
  "__proto__",
  "constructor",
];
const source: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...SPECIAL),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? "null"),
    fc.constantFrom('"15s"', '"a:1"', '"http://127.0.0.1:9/w"', '"replace"', '"("', "0", "-1"),
    fc.array(tie("node"), { maxLength: 3 }).map((xs) => `[${xs.join(", ")}]`),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie("node")), { maxLength: 4 })
      .map((kv) => `{ ${kv.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(", ")} }`),
  ),
})).node;

Deno.test({
  name:
    "config fuzz: TypeScript config modules exporting random values give a ConfigError or a valid config",
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "ferry-config-fuzz-" });
    try {
      // Every special value once at the top and once inside a job, plus random trees.
      const exports = [
        ...SPECIAL,
        ...SPECIAL.map((s) => `{ scrapeConfigs: [{ jobName: "a", staticConfigs: [${s}] }] }`),
        ...fc.sample(source, { numRuns: 16 }),
      ];
      const files = exports.map((_, i) => `m${i}.config.ts`);
      for (const [i, e] of exports.entries()) {
        await Deno.writeTextFile(`${tmp}/${files[i]}`, `export default ${e};\n`);
      }
      const { code, results, stderr } = await harness(
        files.map((f) => ({ load: f, timeoutMs: 20_000 })),
        { cwd: tmp },
      );
      assertEquals(code, 0, stderr);
      assertEquals(results.length, files.length, stderr);
      results.forEach((r, i) => {
        const what = `${files[i]} (export default ${exports[i].slice(0, 200)})`;
        if (r.ok) {
          assert(Array.isArray(r.config.scrapeConfigs), what);
          return;
        }
        assertEquals(r.name, "ConfigError", `${what}: ${r.message}`);
        assert(r.message.startsWith(`config ${files[i]}: `), `${what}: ${r.message}`);
        assert(r.message.length < 64 * 1024, `${what}: a message of ${r.message.length}`);
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

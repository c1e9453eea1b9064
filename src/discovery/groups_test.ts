import fc from "fast-check";
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import {
  decodeJsonGroups,
  decodeYamlGroups,
  DOCUMENT_LIMITS,
  type RawGroup,
  TargetGroupError,
} from "./groups.ts";

const text = fc.string({ unit: "binary", maxLength: 20 });
const group: fc.Arbitrary<RawGroup> = fc.record({
  targets: fc.array(text, { maxLength: 4 }),
  labels: fc.dictionary(text.filter((s) => s !== "" && s !== "__proto__"), text, {
    maxKeys: 4,
  }),
}).map((g) => ({ targets: [...g.targets], labels: { ...g.labels } })); // plain objects

/** Either decoded groups or a TargetGroupError: never anything else. */
function decodesOrRejects(decode: (s: string) => RawGroup[], input: string): void {
  try {
    const out = decode(input);
    assert(Array.isArray(out));
  } catch (e) {
    if (!(e instanceof TargetGroupError)) throw e;
  }
}

Deno.test("decodeJsonGroups / decodeYamlGroups: round trips and arbitrary input", async (t) => {
  await t.step("JSON round trip", () => {
    fc.assert(fc.property(fc.array(group, { maxLength: 4 }), (groups) => {
      assertEquals(decodeJsonGroups(JSON.stringify(groups)), groups);
    }));
  });
  await t.step("YAML round trip (every scalar kept as text)", () => {
    fc.assert(fc.property(fc.array(group, { minLength: 1, maxLength: 4 }), (groups) => {
      assertEquals(decodeYamlGroups(stringify(groups)), groups);
    }));
  });
  await t.step("random text is decoded or rejected with a TargetGroupError", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
      decodesOrRejects(decodeJsonGroups, s);
      decodesOrRejects(decodeYamlGroups, s);
    }));
  });
  await t.step("broken-up valid documents are decoded or rejected with a TargetGroupError", () => {
    fc.assert(fc.property(
      fc.array(group, { maxLength: 3 }),
      fc.nat(),
      fc.nat(),
      (groups, a, b) => {
        for (const doc of [JSON.stringify(groups), stringify(groups)]) {
          const cut = doc.slice(0, a % (doc.length + 1)) + doc.slice(b % (doc.length + 1));
          decodesOrRejects(decodeJsonGroups, cut);
          decodesOrRejects(decodeYamlGroups, cut);
        }
      },
    ));
  });
});

Deno.test("target-group decoding errors say where", async (t) => {
  const table: [string, () => unknown, string][] = [
    ["JSON syntax, with line", () => decodeJsonGroups('[\n{"targets": []\n"x"}]'), "line 3"],
    ["not a list", () => decodeJsonGroups('{"targets": []}'), "expected a list"],
    ["a group is not an object", () => decodeJsonGroups("[1]"), "group 0: expected an object"],
    ["targets not strings", () => decodeJsonGroups('[{"targets": [1]}]'), "list of strings"],
    ["label not a string", () => decodeJsonGroups('[{"labels": {"a": 1}}]'), 'label "a"'],
    ["empty label name", () => decodeJsonGroups('[{"labels": {"": "x"}}]'), "not a valid label"],
    [
      "lone surrogate",
      () => decodeJsonGroups('[{"targets": ["\\ud800"]}]'),
      "not valid UTF-8",
    ],
    [
      "http_sd: targets required",
      () => decodeJsonGroups("[{}]", { requireTargets: true }),
      '"targets" is required',
    ],
    ["YAML syntax", () => decodeYamlGroups("- targets: [a\n"), "invalid YAML at line"],
    [
      "YAML unknown key, with line",
      () => decodeYamlGroups("- targets: []\n- target: [a]\n"),
      'group 1 (line 2): unknown field "target"',
    ],
    ["YAML duplicate key", () => decodeYamlGroups("- targets: []\n  targets: []\n"), "line 2"],
    [
      "YAML alias bomb",
      () =>
        decodeYamlGroups(
          "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        ),
      "invalid YAML",
    ],
  ];
  for (const [name, fn, want] of table) {
    await t.step(name, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      assert(err instanceof TargetGroupError, `${name}: want a TargetGroupError, got ${err}`);
      assertStringIncludes(err.message, want);
    });
  }
  await t.step("JSON ignores unknown keys, as Prometheus' encoding/json does", () => {
    assertEquals(decodeJsonGroups('[{"targets": ["a:1"], "extra": 1}]'), [
      { targets: ["a:1"], labels: {} },
    ]);
  });
});

Deno.test("target-group documents over a limit are rejected before they cost memory", async (t) => {
  const rejects = (fn: () => unknown, want: string) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    assert(err instanceof TargetGroupError, `want a TargetGroupError, got ${err}`);
    assertStringIncludes(err.message, want);
  };
  const limits = { targets: 5, jsonContainers: 20, yamlNodes: 40 };
  const many = (n: number) => Array.from({ length: n }, (_, i) => `10.0.0.${i}:9100`);

  await t.step("more targets than the limit, over all groups", () => {
    const doc = JSON.stringify([{ targets: many(3) }, { targets: many(3) }]);
    rejects(() => decodeJsonGroups(doc, { limits }), "6 targets, more than the limit of 5");
    rejects(
      () => decodeYamlGroups(stringify([{ targets: many(3) }, { targets: many(3) }]), { limits }),
      "6 targets",
    );
    assertEquals(decodeJsonGroups(JSON.stringify([{ targets: many(5) }]), { limits }).length, 1);
  });
  await t.step("the default limit is 100,000 targets", () => {
    assertEquals(DOCUMENT_LIMITS.targets, 100_000);
    const doc = JSON.stringify([{ targets: Array(100_001).fill("a:1") }]);
    rejects(() => decodeJsonGroups(doc), "100001 targets, more than the limit of 100000");
    assertEquals(decodeJsonGroups(doc.replace('"a:1",', ""))[0].targets.length, 100_000);
  });
  await t.step("YAML aliases count every time they are used", () => {
    const doc = `- targets: &t [${many(4).join(", ")}]\n- targets: *t\n`;
    rejects(() => decodeYamlGroups(doc, { limits }), "8 targets");
  });
  await t.step("JSON: objects and lists are counted before parsing (not inside strings)", () => {
    rejects(
      () => decodeJsonGroups("[" + Array(30).fill("{}").join(",") + "]", { limits }),
      "more than 20 JSON objects and lists",
    );
    const braces = JSON.stringify([{ targets: ["a:1"], labels: { re: "{[".repeat(50) } }]);
    assertEquals(decodeJsonGroups(braces, { limits })[0].labels.re, "{[".repeat(50));
  });
  await t.step("JSON: the default limit takes the worst 16 MiB document", () => {
    const doc = "[" + "{},".repeat(600_000) + "{}]";
    rejects(() => decodeJsonGroups(doc), "more than 500000 JSON objects and lists");
  });
  await t.step("YAML: nodes are counted with the lexer before the document is built", () => {
    rejects(
      () => decodeYamlGroups("[" + Array(300).fill("a").join(",") + "]", { limits }),
      "more than 40 YAML nodes",
    );
    const block = (n: number) => "- targets:\n" + many(n).map((a) => `  - ${a}\n`).join("");
    rejects(() => decodeYamlGroups(block(30), { limits }), "more than 40 YAML nodes");
    rejects(
      () => decodeYamlGroups("[" + "a,".repeat(300_000) + "a]"),
      "more than 250000 YAML nodes",
    );
    // A block list of as many targets as the target limit allows is within the node limit.
    assertEquals(decodeYamlGroups(block(100_000))[0].targets.length, 100_000);
  });
});

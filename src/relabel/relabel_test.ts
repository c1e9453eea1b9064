import { createHash } from "node:crypto";
import fc from "fast-check";
import type { RelabelAction, ResolvedRelabelConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import {
  compileRules,
  goToLower,
  goToUpper,
  hashMod,
  relabel,
  RelabelConfigError,
  relabelSteps,
} from "./relabel.ts";
import { check, parseLabels, rule } from "./testutil.ts";

Deno.test("testutil parses label text", () => {
  assertEquals(parseLabels('{a="b",c="d"}').toObject(), { a: "b", c: "d" });
  assertEquals(parseLabels('{ b = "x\\"y\\\\z\\n" , a="1" }').toObject(), {
    a: "1",
    b: 'x"y\\z\n',
  });
  assertEquals(parseLabels("{}").size, 0);
  assertEquals(parseLabels('{"foo.bar"="1", e=""}').toObject(), { "foo.bar": "1" });
});

Deno.test("replace", async (t) => {
  await t.step("defaults: source value copied to the target", () => {
    check('{a="foo"}', [{ sourceLabels: ["a"], targetLabel: "b" }], '{a="foo",b="foo"}');
  });
  await t.step("regex groups and ${n} in the replacement", () => {
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], regex: "f(.*)", targetLabel: "d", replacement: "ch${1}-ch${1}" }],
      '{a="foo",d="choo-choo"}',
    );
  });
  await t.step("several source labels joined with the separator", () => {
    check(
      '{a="foo",b="bar"}',
      [{
        sourceLabels: ["a", "b"],
        regex: "f(.*);(.*)r",
        targetLabel: "a",
        replacement: "b${1}${2}m",
      }],
      '{a="boobam",b="bar"}',
    );
    check(
      '{a="foo",b="bar"}',
      [{
        sourceLabels: ["a", "b"],
        separator: "|",
        regex: "(.*)\\|(.*)",
        targetLabel: "c",
        replacement: "$2$1",
      }],
      '{a="foo",b="bar",c="barfoo"}',
    );
  });
  await t.step("missing source labels are empty strings", () => {
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a", "x", "b"], targetLabel: "c" }],
      '{a="foo",c="foo;;"}',
    );
  });
  await t.step("no match: unchanged", () => {
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], regex: "f|o", targetLabel: "a", replacement: "x" }],
      '{a="foo"}',
    );
  });
  await t.step("the regex is anchored", () => {
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], regex: "o", targetLabel: "b", replacement: "x" }],
      '{a="foo"}',
    );
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], regex: ".*o", targetLabel: "b", replacement: "x" }],
      '{a="foo",b="x"}',
    );
  });
  await t.step("an empty result deletes the target", () => {
    check('{a="foo",b="bar"}', [{ sourceLabels: ["x"], targetLabel: "b" }], '{a="foo"}');
    check('{a="foo",b="bar"}', [{
      sourceLabels: ["a"],
      regex: "(f)(.*)",
      targetLabel: "b",
      replacement: "$3",
    }], '{a="foo"}');
  });
  await t.step("literal replacement into a new label (fast path)", () => {
    check('{a="foo"}', [{ targetLabel: "env", replacement: "prod" }], '{a="foo",env="prod"}');
    check('{a="foo"}', [{ targetLabel: "env", replacement: "pr$$od" }], '{a="foo",env="pr$od"}');
  });
  await t.step("the target label is expanded too", () => {
    check(
      '{a="some-name-value"}',
      [{
        sourceLabels: ["a"],
        regex: "some-([^-]+)-([^,]+)",
        targetLabel: "${1}",
        replacement: "${2}",
      }],
      '{a="some-name-value",name="value"}',
    );
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], regex: "(f)(o)o", targetLabel: "x_$2$1" }],
      '{a="foo",x_of="f"}',
    );
  });
  await t.step("an invalid expanded target skips the rule", () => {
    check('{a="foo"}', [{
      sourceLabels: ["a"],
      regex: "(.*)",
      targetLabel: "${2}",
      replacement: "x",
    }], '{a="foo"}');
    check(
      '{a="1foo"}',
      [{ sourceLabels: ["a"], regex: "(.*)", targetLabel: "${1}", replacement: "x" }],
      '{"1foo"="x",a="1foo"}',
    ); // utf8 names
    const legacy = compileRules(
      [rule({ sourceLabels: ["a"], regex: "(.*)", targetLabel: "${1}", replacement: "x" })],
      { nameValidation: "legacy" },
    );
    assertEquals(relabel(legacy, parseLabels('{a="1foo"}'))!.toString(), '{a="1foo"}');
    assertEquals(relabel(legacy, parseLabels('{a="foo"}'))!.toString(), '{a="foo", foo="x"}');
  });
  await t.step("Prometheus' __address__ example", () => {
    check(
      '{__address__="10.0.0.1:80",__meta_port="9100"}',
      [{
        sourceLabels: ["__address__", "__meta_port"],
        regex: "([^:]+)(?::\\d+)?;(\\d+)",
        targetLabel: "__address__",
        replacement: "$1:$2",
      }],
      '{__address__="10.0.0.1:9100",__meta_port="9100"}',
    );
  });
  await t.step("$1x is the group named 1x, not group 1 + x", () => {
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], targetLabel: "b", replacement: "$1x" }],
      '{a="foo"}',
    );
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], targetLabel: "b", replacement: "${1}x" }],
      '{a="foo",b="foox"}',
    );
  });
  await t.step("action names are case-insensitive", () => {
    check(
      '{a="foo"}',
      [{ sourceLabels: ["a"], regex: "bar", action: "Keep" as RelabelAction }],
      null,
    );
  });
});

Deno.test("keep and drop", async (t) => {
  await t.step("drop on match", () => {
    check('{a="foo"}', [{ sourceLabels: ["a"], regex: ".*o.*", action: "drop" }], null);
    check('{a="bar"}', [{ sourceLabels: ["a"], regex: ".*o.*", action: "drop" }], '{a="bar"}');
  });
  await t.step("keep on match", () => {
    check('{a="foo"}', [{ sourceLabels: ["a"], regex: "f.*", action: "keep" }], '{a="foo"}');
    check('{a="foo"}', [{ sourceLabels: ["a"], regex: "b.*", action: "keep" }], null);
  });
  await t.step("missing label matches the empty string", () => {
    check('{a="foo"}', [{ sourceLabels: ["x"], regex: "", action: "keep" }], '{a="foo"}');
    check('{a="foo"}', [{ sourceLabels: ["x"], regex: ".+", action: "keep" }], null);
  });
  await t.step("default regex keeps everything, drops everything", () => {
    check('{a="foo"}', [{ sourceLabels: ["a"], action: "keep" }], '{a="foo"}');
    check('{a="foo"}', [{ sourceLabels: ["a"], action: "drop" }], null);
  });
  await t.step("fast paths agree with the regex", () => {
    const cases: [string, string, boolean][] = [
      ["foo|bar", "bar", true],
      ["foo|bar", "baz", false],
      ["go_.*", "go_gc", true],
      ["go_.*", "go", false],
      ["go_.*", "go_\n", true],
      [".+", "", false],
      ["up", "up", true],
      ["up", "upx", false],
    ];
    for (const [regex, v, keep] of cases) {
      check(
        `{a=${JSON.stringify(v)}, z="1"}`,
        [{ sourceLabels: ["a"], regex, action: "keep" }],
        keep ? `{a=${JSON.stringify(v)}, z="1"}` : null,
      );
    }
  });
  await t.step("rules stop at the first drop", () => {
    const steps = relabelSteps(
      [
        rule({ sourceLabels: ["a"], regex: "foo", action: "drop" }),
        rule({ targetLabel: "b", replacement: "x" }),
      ],
      parseLabels('{a="foo"}'),
    );
    assertEquals(steps.length, 1);
    assertEquals(steps[0].kept, false);
    assertEquals(steps[0].after, null);
  });
});

Deno.test("keepequal and dropequal", () => {
  check(
    '{a="1",b="1"}',
    [{ sourceLabels: ["a"], targetLabel: "b", action: "keepequal" }],
    '{a="1",b="1"}',
  );
  check('{a="1",b="2"}', [{ sourceLabels: ["a"], targetLabel: "b", action: "keepequal" }], null);
  check('{a="1",b="1"}', [{ sourceLabels: ["a"], targetLabel: "b", action: "dropequal" }], null);
  check(
    '{a="1",b="2"}',
    [{ sourceLabels: ["a"], targetLabel: "b", action: "dropequal" }],
    '{a="1",b="2"}',
  );
  // Both missing: "" == "".
  check('{c="1"}', [{ sourceLabels: ["a"], targetLabel: "b", action: "keepequal" }], '{c="1"}');
  // Joined source labels.
  check('{a="1",b="2",c="1;2"}', [{
    sourceLabels: ["a", "b"],
    targetLabel: "c",
    action: "keepequal",
  }], '{a="1",b="2",c="1;2"}');
});

/** md5(s) bytes 8..15 as an unsigned 64-bit big-endian integer, mod m — computed with BigInt only. */
function referenceHashMod(s: string, m: number): number {
  const d = createHash("md5").update(s).digest("hex");
  return Number(BigInt("0x" + d.slice(16)) % BigInt(m));
}

Deno.test("hashmod", async (t) => {
  await t.step("a value derived by hand", () => {
    // md5("foo") = acbd18db4cc2f85c edef654fccc4a4d8; the last 8 bytes are
    // 0xedef654fccc4a4d8 = 17145033699835028696, so mod 1000 = 696 and,
    // ending in hex 8, it is divisible by 8.
    assertEquals(hashMod("foo", 1000), 696);
    assertEquals(hashMod("foo", 8), 0);
    check('{a="foo"}', [{
      sourceLabels: ["a"],
      targetLabel: "d",
      modulus: 1000,
      action: "hashmod",
    }], '{a="foo",d="696"}');
  });
  await t.step("agrees with an independent BigInt computation", () => {
    for (const s of ["", "bar;baz", "10.0.0.1:9100", "日本", "x".repeat(1000)]) {
      for (
        const m of [
          1,
          2,
          3,
          7,
          1000,
          0x1fffff,
          0x200000,
          2 ** 32 - 1,
          2 ** 32 + 15,
          2 ** 40,
          Number.MAX_SAFE_INTEGER,
        ]
      ) {
        assertEquals(hashMod(s, m), referenceHashMod(s, m), `${s} % ${m}`);
      }
    }
    assertEquals(hashMod("10.0.0.1:9100", 2 ** 40), 277082180413); // python's hashlib agrees
    assertEquals(hashMod("", 10), 8);
  });
  await t.step("joined sources and sharding keep", () => {
    check(
      '{__address__="10.0.0.1:9100",job="node"}',
      [
        {
          sourceLabels: ["__address__"],
          modulus: 2 ** 40,
          targetLabel: "__tmp_hash",
          action: "hashmod",
        },
        { sourceLabels: ["__tmp_hash"], regex: "277082180413", action: "keep" },
        { regex: "__tmp_hash", action: "labeldrop" },
      ],
      '{__address__="10.0.0.1:9100",job="node"}',
    );
  });
});

Deno.test("labelmap", async (t) => {
  await t.step("copies matching labels under the replaced name", () => {
    check(
      '{__meta_kubernetes_node_label_zone="a",__meta_kubernetes_node_label_role="db",job="n"}',
      [{ regex: "__meta_kubernetes_node_label_(.+)", action: "labelmap" }],
      '{__meta_kubernetes_node_label_role="db",__meta_kubernetes_node_label_zone="a",job="n",role="db",zone="a"}',
    );
  });
  await t.step("custom replacement", () => {
    check(
      '{a="foo",b="bar"}',
      [{ regex: "(b.*)", replacement: "${1}_x", action: "labelmap" }],
      '{a="foo",b="bar",b_x="bar"}',
    );
  });
  await t.step("collisions resolve in Go's Builder.Range order", () => {
    // Untouched labels are visited in sorted order: b_x wins over a_x.
    check(
      '{a_x="1",b_x="2"}',
      [{ regex: "[ab]_(.*)", action: "labelmap" }],
      '{a_x="1",b_x="2",x="2"}',
    );
    // A label set by an earlier rule is visited after the untouched ones.
    check(
      '{a_x="1",b_x="2"}',
      [{ targetLabel: "a_x", replacement: "3" }, { regex: "[ab]_(.*)", action: "labelmap" }],
      '{a_x="3",b_x="2",x="3"}',
    );
  });
  await t.step("unanchored patterns replace every match (ReplaceAllString)", () => {
    // Prometheus' "^(?s:" + re + ")$" wrapping lets this pattern escape the anchors.
    check(
      '{ab="v"}',
      [{ regex: "a)|(b", replacement: "Z$1", action: "labelmap" }],
      '{ZZb="v",ab="v"}',
    );
  });
});

Deno.test("labeldrop and labelkeep", () => {
  check(
    '{a="foo",b="bar",c="baz"}',
    [{ regex: "(b.*)", action: "labeldrop" }],
    '{a="foo",c="baz"}',
  );
  check('{a="foo",b="bar",c="baz"}', [{ regex: "(b.*)", action: "labelkeep" }], '{b="bar"}');
  check('{__name__="up",instance="i",pod_template_hash="x"}', [{
    regex: "pod_template_hash|instance",
    action: "labeldrop",
  }], '{__name__="up"}');
  // labelkeep can remove everything.
  check('{a="1"}', [{ regex: "zzz", action: "labelkeep" }], "{}");
});

Deno.test("lowercase and uppercase use Go's per-rune mappings", () => {
  check('{foo="bAr123Foo"}', [{
    sourceLabels: ["foo"],
    targetLabel: "foo_lower",
    action: "lowercase",
  }], '{foo="bAr123Foo",foo_lower="bar123foo"}');
  check(
    '{foo="bAr123Foo"}',
    [{ sourceLabels: ["foo"], targetLabel: "foo", action: "uppercase" }],
    '{foo="BAR123FOO"}',
  );
  check('{a="x"}', [{ sourceLabels: ["missing"], targetLabel: "a", action: "lowercase" }], "{}");
  assertEquals(goToLower("ΣΑΣ"), "σασ"); // no final-sigma rule in Go (JS: "σας")
  assertEquals(goToLower("İ"), "i"); // JS: "i̇"
  assertEquals(goToUpper("ß"), "ß"); // JS: "SS"
  assertEquals(goToUpper("ﬁ"), "ﬁ"); // JS: "FI"
  assertEquals(goToUpper("ᾳ"), "ᾼ"); // simple mapping; JS: "ΑΙ"
  assertEquals(goToUpper("ǆ"), "Ǆ");
  assertEquals(goToUpper("straße"), "STRAßE");
  assertEquals(goToUpper("😀a"), "😀A");
});

Deno.test("identity: the same object when nothing changes", () => {
  const l = parseLabels('{a="foo",b="bar"}');
  const rules = compileRules([
    rule({ sourceLabels: ["a"], regex: "nomatch", targetLabel: "c" }),
    rule({ sourceLabels: ["a"], targetLabel: "a" }), // sets the same value
    rule({ regex: "zzz", action: "labeldrop" }),
    rule({ sourceLabels: ["b"], regex: "bar", action: "keep" }),
    rule({ targetLabel: "b", replacement: "x" }),
    rule({ targetLabel: "b", replacement: "bar" }), // changed, then changed back
  ]);
  assert(relabel(rules, l) === l);
  assert(relabel(compileRules([]), l) === l);
  const changed = relabel(compileRules([rule({ targetLabel: "c", replacement: "x" })]), l)!;
  assert(changed !== l);
  assertEquals(changed.toString(), '{a="foo", b="bar", c="x"}');
  assertEquals(l.toString(), '{a="foo", b="bar"}'); // input untouched
});

Deno.test("relabelSteps records every intermediate set", () => {
  const steps = relabelSteps(
    [
      rule({ sourceLabels: ["a"], targetLabel: "b" }),
      rule({ regex: "a", action: "labeldrop" }),
      rule({ sourceLabels: ["b"], regex: "foo", action: "keep" }),
    ],
    parseLabels('{a="foo"}'),
  );
  assertEquals(steps.map((s) => [s.before.toString(), s.after?.toString() ?? null, s.kept]), [
    ['{a="foo"}', '{a="foo", b="foo"}', true],
    ['{a="foo", b="foo"}', '{b="foo"}', true],
    ['{b="foo"}', '{b="foo"}', true],
  ]);
});

Deno.test("compileRules validates like Prometheus", async (t) => {
  const bad: [Partial<ResolvedRelabelConfig>, string][] = [
    [{ action: "hashmod", targetLabel: "x", modulus: 0 }, "requires non-zero modulus"],
    [{ action: "hashmod", targetLabel: "x", modulus: 1.5 }, "requires non-zero modulus"],
    [{ action: "replace" }, "requires 'target_label' value"],
    [{ action: "lowercase" }, "requires 'target_label' value"],
    [{ action: "keepequal", sourceLabels: ["a"] }, "requires 'target_label' value"],
    [
      { action: "keepequal", sourceLabels: ["a"], targetLabel: "b", regex: "x" },
      "requires only 'source_labels'",
    ],
    [
      { action: "dropequal", sourceLabels: ["a"], targetLabel: "b", separator: "," },
      "requires only 'source_labels'",
    ],
    [{ action: "uppercase", targetLabel: "b", replacement: "x" }, "'replacement' can not be set"],
    [{ action: "labeldrop", sourceLabels: ["a"] }, "requires only 'regex'"],
    [{ action: "labelkeep", targetLabel: "a" }, "requires only 'regex'"],
    [{ action: "labelmap", replacement: "" }, "invalid 'replacement'"],
    [{ action: "bogus" as RelabelAction }, "unknown relabel action"],
    [{ sourceLabels: [""], targetLabel: "a" }, "invalid 'source_label'"],
    [{ regex: "(?=x)", targetLabel: "a" }, "lookahead"],
  ];
  for (const [partial, msg] of bad) {
    await t.step(JSON.stringify(partial), () => {
      const e = assertThrows(
        () => compileRules([rule({ targetLabel: "ok" }), rule(partial)]),
        RelabelConfigError,
        msg,
      );
      assertEquals((e as RelabelConfigError).index, 1);
    });
  }
  await t.step("a bad regex carries the SyntaxError as cause", () => {
    const e = assertThrows(
      () => compileRules([rule({ regex: "a(", targetLabel: "x" })]),
      RelabelConfigError,
    );
    assert(e.cause instanceof SyntaxError);
  });
  await t.step("captures inside repetitions are taken from re2js, as Go sets them", () => {
    // JS clears group 1 when the last iteration takes "b"; RE2 keeps "a".
    check(
      '{x="ab"}',
      [{ regex: "(?:(a)|b)+", sourceLabels: ["x"], targetLabel: "y" }],
      '{x="ab", y="a"}',
    );
    check(
      '{x="abc"}',
      [{ regex: "(?:(a)|b)+(c)", sourceLabels: ["x"], targetLabel: "y", replacement: "$2$1" }],
      '{x="abc", y="ca"}',
    );
    // A named reference uses the first group of that name that took part;
    // Go's (?P<v>a|)* takes part with "" where JS's does not.
    check(
      '{x="b"}',
      [{
        regex: "(?P<v>a|)*(?P<v>b)",
        sourceLabels: ["x"],
        targetLabel: "y",
        replacement: "<${v}>",
      }],
      '{x="b", y="<>"}',
    );
    check(
      '{x="b"}',
      [{ regex: "(?P<v>a|)*(?P<v>b)", action: "labelmap", replacement: "${v}_2" }],
      '{x="b"}',
    );
  });
  await t.step("a regex V8 would backtrack on for minutes runs on re2js", () => {
    const long = "word ".repeat(2000) + "!";
    const t0 = performance.now();
    check(
      `{x="${long}"}`,
      [{ regex: "(\\w+\\s?)*x", sourceLabels: ["x"], action: "drop" }],
      `{x="${long}"}`,
    );
    assert(performance.now() - t0 < 2000);
  });
  await t.step("regexEngine: re2js gives the same results", () => {
    const rules = [
      rule({ sourceLabels: ["instance"], regex: "([^:]+):\\d+", targetLabel: "host" }),
      rule({ regex: "(.+)_(id)", action: "labelmap", replacement: "${2}_$1" }),
      rule({ sourceLabels: ["host"], regex: "10\\..*", action: "keep" }),
    ];
    const input = parseLabels('{instance="10.0.0.1:9100", pod_id="p", job="j"}');
    const auto = relabel(compileRules(rules), input);
    assertEquals(relabel(compileRules(rules, { regexEngine: "re2js" }), input), auto);
    assertEquals(
      auto?.toString(),
      '{host="10.0.0.1", id_pod="p", instance="10.0.0.1:9100", job="j", pod_id="p"}',
    );
  });
  await t.step("legacy validation", () => {
    assertThrows(
      () =>
        compileRules([rule({ targetLabel: "foo.bar", replacement: "x" })], {
          nameValidation: "legacy",
        }),
      RelabelConfigError,
      "invalid 'target_label'",
    );
    compileRules([rule({ targetLabel: "foo.bar", replacement: "x" })]);
    compileRules([rule({ targetLabel: "${1}_x", replacement: "x" })], { nameValidation: "legacy" });
  });
});

Deno.test("relabel accepts uncompiled rules", () => {
  const out = relabel([rule({ targetLabel: "a", replacement: "b" })], Labels.EMPTY);
  assertEquals(out!.toString(), '{a="b"}');
});

// ---------------------------------------------------------------------------
// Property: compiled rule sets never throw at apply time, and results are
// well-formed label sets that the step-by-step API agrees with.

const NAMES = ["__name__", "a", "b", "job", "instance", "__meta_x", "__tmp", "x_y", "é"];
const VALUES = fc.oneof(
  fc.constantFrom("", "foo", "bar", "a;b", "10.0.0.1:9100", "go_gc_total", "ΣΑΣ", "ß", "\n", "$1"),
  fc.string({ maxLength: 8 }),
);
const REGEX_PIECES = [
  ".*",
  "(.*)",
  "(.+)",
  "foo",
  "foo|bar",
  "go_.*",
  "([a-z]+)_(.*)",
  "(?i)FOO",
  "[[:alpha:]]+",
  "\\d+",
  "(?P<n>\\w+)",
  "(a|b)?c",
  "\\p{L}*",
  "(?m)^x$",
  ";",
  "\\Q$\\E",
  "a)|(b",
  "",
];
const regexArb = fc.array(fc.constantFrom(...REGEX_PIECES), { minLength: 1, maxLength: 3 }).map((
  p,
) => p.join(""));
const ACTION_LIST: RelabelAction[] = [
  "replace",
  "keep",
  "drop",
  "keepequal",
  "dropequal",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
  "lowercase",
  "uppercase",
];
const ruleArb = fc.record({
  action: fc.constantFrom(...ACTION_LIST),
  sourceLabels: fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }),
  separator: fc.constantFrom(";", ",", ""),
  regex: regexArb,
  modulus: fc.constantFrom(0, 1, 7, 2 ** 40),
  targetLabel: fc.constantFrom("", "a", "b", "${1}", "$n", "t_$2", "__tmp"),
  replacement: fc.constantFrom("$1", "", "x", "${1}_${2}", "$n", "$$", "${0}"),
});
const labelsArb = fc.dictionary(fc.constantFrom(...NAMES), VALUES, { maxKeys: 6 });

Deno.test("property: compiled rules never throw when applied", () => {
  let applied = 0;
  fc.assert(
    fc.property(fc.array(ruleArb, { maxLength: 6 }), labelsArb, (rules, obj) => {
      // Shape each rule to pass validation often; rules that still fail validation are skipped.
      const shaped = rules.map((r): ResolvedRelabelConfig => {
        const x = { ...r };
        if (x.action === "labeldrop" || x.action === "labelkeep") {
          Object.assign(x, {
            sourceLabels: [],
            targetLabel: "",
            modulus: 0,
            separator: ";",
            replacement: "$1",
          });
        }
        if (x.action === "keepequal" || x.action === "dropequal") {
          Object.assign(x, {
            regex: "(.*)",
            modulus: 0,
            separator: ";",
            replacement: "$1",
            targetLabel: "b",
          });
        }
        if (x.action === "lowercase" || x.action === "uppercase") x.replacement = "$1";
        if (x.action === "hashmod" && x.modulus === 0) x.modulus = 7;
        if (x.targetLabel === "" && x.action !== "labeldrop" && x.action !== "labelkeep") {
          x.targetLabel = "a";
        }
        return x;
      });
      let compiled;
      try {
        compiled = compileRules(shaped);
      } catch (e) {
        if (e instanceof RelabelConfigError) return;
        throw e;
      }
      applied++;
      const input = Labels.fromObject(obj);
      const out = relabel(compiled, input);
      const again = relabel(compiled, input);
      assertEquals(out?.toString(), again?.toString());
      const steps = relabelSteps(compiled, input);
      const last = steps.length === 0 ? input : steps[steps.length - 1].after;
      assertEquals(out?.toString() ?? null, last?.toString() ?? null);
      if (out !== null) {
        const kv = out.flat();
        for (let i = 0; i < kv.length; i += 2) {
          assert(kv[i + 1] !== "", "no empty values");
          if (i > 0) assert(kv[i - 2] < kv[i], "sorted, unique names");
        }
      }
    }),
    { numRuns: 500 },
  );
  assert(applied > 250, `only ${applied} of 500 generated rule sets were valid`);
});

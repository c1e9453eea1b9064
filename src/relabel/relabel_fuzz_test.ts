/**
 * Fuzzing relabeling (issue 9, item 6): random rule sets, including random
 * regexes, wrong actions, names and moduli, applied to random label sets with
 * long and invalid values. Compiling throws nothing but RelabelConfigError;
 * applying throws nothing, always ends, and gives a well-formed label set.
 * Catastrophic-backtracking patterns run on long values through real rules
 * and finish (the RE2 translation never backtracks exponentially; the test
 * would not end otherwise).
 */

import fc from "fast-check";
import type { RelabelAction, ResolvedRelabelConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { compileRules, relabel, RelabelConfigError, relabelSteps } from "./relabel.ts";

const ACTIONS: string[] = [
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
  "Replace",
  "KEEP",
  "",
  "nope",
  "__proto__",
  "constructor",
];

/** Regex text: RE2 syntax pieces, metacharacters and arbitrary characters. */
const regexText = fc.array(
  fc.oneof(
    fc.constantFrom(
      "(",
      ")",
      "(?:",
      "(?P<n>",
      "(?<m>",
      "(?i)",
      "(?s",
      "(?m)",
      "[",
      "]",
      "[^",
      "[[:alpha:]]",
      "[[:^digit:]]",
      "\\",
      "\\d",
      "\\pL",
      "\\p{Greek}",
      "\\P{L}",
      "\\Q",
      "\\E",
      "\\x{10FFFF}",
      "\\z",
      "\\b",
      "*",
      "+",
      "?",
      "*?",
      "{2}",
      "{2,}",
      "{1,1001}",
      "{,3}",
      "|",
      ".",
      "^",
      "$",
      "a",
      "b",
      ".*",
      "(a+)+",
      "(a|a)*",
      "é",
      "\ud800",
      "\0",
    ),
    fc.string({ maxLength: 3 }),
  ),
  { maxLength: 10 },
).map((parts) => parts.join(""));

const NAMES = ["__name__", "job", "instance", "a", "b", "__tmp", "__address__", "é", "1x"];
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "\ud800", "a b", "${1}", "$a", "a-b") },
);
const template = fc.oneof(
  fc.constantFrom("$1", "${1}", "$0", "${n}", "$$", "$", "${", "x$1y", "${1}_${2}", "", "a"),
  fc.string({ maxLength: 8 }),
);

const rawRule: fc.Arbitrary<ResolvedRelabelConfig> = fc.record({
  action: fc.constantFrom(...ACTIONS).map((a) => a as RelabelAction),
  sourceLabels: fc.array(name, { maxLength: 3 }),
  separator: fc.oneof(fc.constantFrom(";", "", ","), fc.string({ maxLength: 2 })),
  regex: fc.oneof(fc.constantFrom("(.*)", ".*", "(.+)_(.+)", "a|b"), regexText),
  modulus: fc.oneof(
    fc.constantFrom(0, 1, 7, 2 ** 53, -1, 0.5, NaN, Infinity),
    fc.integer({ min: 0, max: 1000 }),
  ),
  targetLabel: fc.oneof(name, template),
  replacement: template,
});

/**
 * Half the rules are shaped to what their action requires (only the fields it
 * takes, a modulus for hashmod, a target label), so many rule sets compile;
 * the other half stay as generated and mostly fail validation.
 */
const rule = fc.tuple(rawRule, fc.boolean()).map(([r, shape]): ResolvedRelabelConfig => {
  if (!shape) return r;
  const x = { ...r, action: ACTIONS.slice(0, 11).includes(r.action) ? r.action : "replace" };
  const defaults = { modulus: 0, separator: ";", replacement: "$1" };
  if (x.action === "labeldrop" || x.action === "labelkeep") {
    Object.assign(x, defaults, { sourceLabels: [], targetLabel: "" });
  }
  if (x.action === "keepequal" || x.action === "dropequal") {
    Object.assign(x, defaults, { regex: "(.*)" });
  }
  if (x.action === "lowercase" || x.action === "uppercase") x.replacement = "$1";
  if (x.action === "hashmod") x.modulus = 7;
  if (x.action === "labelmap" && x.replacement === "") x.replacement = "$1";
  x.sourceLabels = x.sourceLabels.filter((n) => n !== "" && n.isWellFormed());
  if (x.targetLabel === "" || !x.targetLabel.isWellFormed()) {
    x.targetLabel = x.action === "labeldrop" || x.action === "labelkeep" ? "" : "t";
  }
  return x as ResolvedRelabelConfig;
});

/** Values: short, long runs that make backtrackers try everything, and invalid UTF-16. */
const value = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("a", "ab", "a_", "x "), fc.integer({ min: 1, max: 3000 }))
      .map(([s, n]) => s.repeat(n) + "!"),
  },
  { weight: 1, arbitrary: fc.constantFrom("\ud800", "é\udfff", "", ";;;", "$1") },
);
const labels = fc.dictionary(name.filter((n) => n !== ""), value, { maxKeys: 6 })
  .map((o) => Labels.fromObject({ ...o }));

/**
 * A result is a well-formed label set: sorted, unique names, no empty values.
 * Names are non-empty too, except after `labelmap`: like Prometheus' it sets
 * whatever its replacement expands to (`$1` of a regex without groups is
 * ""), and the scrape validates the names afterwards.
 */
function wellFormed(out: Labels | null, rules: readonly ResolvedRelabelConfig[]): void {
  if (out === null) return;
  const labelmap = rules.some((r) => r.action.toLowerCase() === "labelmap");
  const kv = out.flat();
  for (let i = 0; i < kv.length; i += 2) {
    assert(kv[i + 1] !== "", `empty value in ${out}`);
    assert(kv[i] !== "" || labelmap, `empty name in ${out}`);
    if (i > 0) assert(kv[i - 2] < kv[i], `not sorted or not unique: ${out}`);
  }
}

Deno.test("relabel fuzz: random rule sets compile or fail with RelabelConfigError; applying never throws", () => {
  let compiled = 0;
  fc.assert(
    fc.property(
      fc.array(rule, { minLength: 1, maxLength: 5 }),
      fc.array(labels, { minLength: 1, maxLength: 3 }),
      fc.constantFrom("utf8" as const, "legacy" as const),
      (rules, inputs, nameValidation) => {
        let c;
        try {
          c = compileRules(rules, { nameValidation });
        } catch (e) {
          if (e instanceof RelabelConfigError) return;
          throw e;
        }
        compiled++;
        for (const input of inputs) {
          const out = relabel(c, input);
          wellFormed(out, rules);
          const steps = relabelSteps(c, input);
          const last = steps.length === 0 ? input : steps[steps.length - 1].after;
          assertEquals(out?.toString() ?? null, last?.toString() ?? null);
        }
      },
    ),
    { numRuns: 1500 },
  );
  assert(compiled > 100, `only ${compiled} rule sets compiled`);
});

Deno.test("relabel fuzz: random regexes either fail to compile with RelabelConfigError or match long values", () => {
  let valid = 0;
  fc.assert(
    fc.property(regexText, fc.array(value, { minLength: 1, maxLength: 4 }), (regex, values) => {
      const rules = (["keep", "replace", "labelmap", "labeldrop"] as const).map((action) => ({
        action,
        sourceLabels: action === "keep" || action === "replace" ? ["v"] : [],
        separator: ";",
        regex,
        modulus: 0,
        targetLabel: action === "replace" ? "out" : "",
        replacement: action === "labelmap" ? "m_$1" : "$1",
      }));
      let c;
      try {
        c = compileRules(rules.slice(1));
        compileRules(rules.slice(0, 1));
      } catch (e) {
        if (e instanceof RelabelConfigError) return;
        throw e;
      }
      valid++;
      for (const v of values) wellFormed(relabel(c, Labels.fromObject({ v, w: v })), rules);
    }),
    { numRuns: 1500 },
  );
  assert(valid > 200, `only ${valid} regexes compiled`);
});

Deno.test("relabel fuzz: catastrophic patterns on long values finish through real rules", async (t) => {
  // Each value holds the pattern's literals, so no prefilter can skip the work, and fails at the end.
  const cases: [string, string][] = [
    ["(a+)+b", "a".repeat(100_000) + "b!"],
    ["(a|a)*b", "a".repeat(100_000) + "b!"],
    ["(a|aa)+c", "a".repeat(100_000) + "c!"],
    ["(.*a){20}", "a".repeat(5_000) + "!"],
    ["(\\w+\\s?)*x", "word ".repeat(20_000) + "x!"],
    ["(.*)_(.*)_(.*)_(.*)=", "a_".repeat(50_000) + "=!"],
    ["(?:a?){500}a{500}", "a".repeat(499)],
    ["((a*)*)*b", "a".repeat(100_000) + "b!"],
    ["(x+x+)+y", "x".repeat(100_000) + "y!"],
  ];
  for (const [regex, v] of cases) {
    await t.step(`${regex} on ${v.length} characters`, () => {
      for (const action of ["keep", "drop", "replace", "labelmap", "labeldrop"] as const) {
        const rules = [{
          action,
          sourceLabels: action === "keep" || action === "drop" || action === "replace" ? ["v"] : [],
          separator: ";",
          regex,
          modulus: 0,
          targetLabel: action === "replace" ? "out" : "",
          replacement: action === "labelmap" ? "m_$1" : "$1",
        }];
        // Names as long as the value, so labelmap and labeldrop match against them too.
        wellFormed(relabel(compileRules(rules), Labels.fromObject({ v, [v]: "x" })), rules);
      }
    });
  }
});

/**
 * Test helpers for relabeling: a tiny label-set parser and a table checker.
 *
 * @module
 */

import type { ResolvedRelabelConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { assertEquals } from "../testing/assert.ts";
import { compileRules, relabel } from "./relabel.ts";

/**
 * Parses `{a="b", c="d"}` (also without braces or spaces). Values use the
 * escapes `\\`, `\"` and `\n`; names are bare or quoted.
 */
export function parseLabels(text: string): Labels {
  let s = text.trim();
  if (s.startsWith("{")) {
    if (!s.endsWith("}")) throw new SyntaxError(`unbalanced braces in ${text}`);
    s = s.slice(1, -1);
  }
  const pairs: [string, string][] = [];
  let i = 0;
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const quoted = (): string => {
    if (s[i] !== '"') throw new SyntaxError(`expected " at ${i} in ${text}`);
    i++;
    let out = "";
    while (i < s.length && s[i] !== '"') {
      if (s[i] === "\\") {
        const e = s[i + 1];
        out += e === "n" ? "\n" : e;
        i += 2;
      } else out += s[i++];
    }
    if (s[i] !== '"') throw new SyntaxError(`unterminated string in ${text}`);
    i++;
    return out;
  };
  skipWs();
  while (i < s.length) {
    let name: string;
    if (s[i] === '"') name = quoted();
    else {
      const start = i;
      while (i < s.length && s[i] !== "=" && s[i] !== " ") i++;
      name = s.slice(start, i);
    }
    skipWs();
    if (s[i] !== "=") throw new SyntaxError(`expected = at ${i} in ${text}`);
    i++;
    skipWs();
    pairs.push([name, quoted()]);
    skipWs();
    if (s[i] === ",") i++;
    skipWs();
  }
  return Labels.fromPairs(pairs);
}

/** A rule with Prometheus' defaults for every field not given. */
export function rule(partial: Partial<ResolvedRelabelConfig>): ResolvedRelabelConfig {
  return {
    sourceLabels: [],
    separator: ";",
    regex: "(.*)",
    modulus: 0,
    targetLabel: "",
    replacement: "$1",
    action: "replace",
    ...partial,
  };
}

/**
 * Relabels `input` with `rules` and compares with `expected` (label text, or
 * null for "dropped").
 */
export function check(
  input: string,
  rules: Partial<ResolvedRelabelConfig>[],
  expected: string | null,
): void {
  const compiled = compileRules(rules.map(rule));
  const got = relabel(compiled, parseLabels(input));
  if (expected === null) {
    assertEquals(got?.toString() ?? null, null, `${input} should be dropped`);
  } else {
    assertEquals(got?.toString() ?? null, parseLabels(expected).toString());
  }
}

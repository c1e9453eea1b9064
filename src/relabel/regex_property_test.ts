/**
 * Differential tests: random RE2 patterns and inputs, our compiled regex
 * (native translation, re2js on our normalised pattern, and the automatic
 * choice) against re2js compiling Prometheus' wrapped pattern as written —
 * an independent RE2 port standing in for Go's regexp.
 *
 * re2js' `\pC` includes unassigned code points, Go's does not, so `\pC` is
 * left to the table tests in regex_test.ts.
 *
 * Runs are bounded so the suite stays fast; raise FERRY_FC_RUNS to dig deeper.
 */

import fc from "fast-check";
import { RE2JS } from "re2js";
import { assert, assertEquals } from "../testing/assert.ts";
import { type RegexMatch, type TranslatedRegex, translateRegex } from "./regex.ts";

const RUNS = Number(Deno.env.get("FERRY_FC_RUNS") ?? 400);

/** Pieces covering the syntax: classes, escapes, flags, anchors, Unicode, groups. */
const ATOM = fc.constantFrom(
  "a",
  "b",
  "A",
  "\\n",
  "\n",
  ".",
  "[ab]",
  "[^a]",
  "[a-c]",
  "\\d",
  "\\w",
  "\\W",
  "\\s",
  "\\S",
  "[[:alpha:]]",
  "[[:^alpha:]]",
  "\\pL",
  "\\PL",
  "\\p{Lu}",
  "[\\d\\s]",
  "[a\\PL]",
  "(?i:[b\\PL])",
  "\\b",
  "\\B",
  "^",
  "$",
  "\\A",
  "\\z",
  "\\x41",
  "\\Qa.\\E",
  "é",
  "[é-ë]",
  "(?i:a)",
  "(?i)",
  "(?m)",
  "(?s)",
  "(?-s)",
  "(?U)",
  "()",
  "1",
);
const QUANT = fc.constantFrom(
  "",
  "",
  "",
  "*",
  "+",
  "?",
  "*?",
  "+?",
  "??",
  "{2}",
  "{1,2}",
  "{0,}",
  "{1,2}?",
);
const OPEN = fc.constantFrom("(", "(", "(?:", "(?P<n>", "(?i:", "(?m:", "(?s:", "(?-s:", "(?U:");

const pattern: fc.Arbitrary<string> = fc.letrec((tie) => ({
  piece: fc.tuple(
    fc.oneof({ weight: 4, arbitrary: ATOM }, { weight: 1, arbitrary: tie("group") }),
    QUANT,
  ).map(([a, q]) => (a as string) + q),
  seq: fc.array(tie("piece"), { maxLength: 4 }).map((x) => x.join("")),
  alt: fc.array(tie("seq"), { minLength: 1, maxLength: 3 }).map((x) => x.join("|")),
  group: fc.tuple(OPEN, tie("alt")).map(([o, b]) => o + b + ")"),
})).alt.map((p) => {
  // Go allows duplicate group names, RE2/J does not: number them.
  let k = 0;
  return p.replaceAll("(?P<n>", () => `(?P<n${k++}>`);
});

/** A smaller alphabet makes matches (and captures inside repetitions) likely. */
const denseAtom = fc.constantFrom(
  "a",
  "b",
  ".",
  "[ab]",
  "\\w",
  "(?i:a)",
  "A",
  "\\n",
  "\\s",
  "[^a]",
);
const groupQuant = fc.constantFrom("", "", "+", "+?", "{2}", "{1,2}", "{1,2}?", "?", "*", "*?");
const densePattern: fc.Arbitrary<string> = fc.letrec((tie) => ({
  piece: fc.oneof(
    { weight: 4, arbitrary: fc.tuple(denseAtom, QUANT).map(([a, q]) => a + q) },
    { weight: 1, arbitrary: fc.constantFrom("^", "$", "\\b", "\\B", "(?m:^)", "(?m:$)") },
    { weight: 1, arbitrary: tie("group") },
  ),
  seq: fc.tuple(denseAtom, fc.array(tie("piece"), { maxLength: 3 })).map(([c, x]) =>
    c + x.join("")
  ),
  alt: fc.array(tie("seq"), { minLength: 1, maxLength: 3 }).map((x) => x.join("|")),
  group: fc.tuple(fc.constantFrom("(", "(", "(?:", "(?i:", "(?U:"), tie("alt"), groupQuant)
    .map(([o, b, q]) => o + b + ")" + q),
})).alt;

const input = (chars: string[]) =>
  fc.array(fc.constantFrom(...chars), { maxLength: 6 }).map((x) => x.join(""));
const RICH_INPUT = input(["a", "b", "A", "\n", "1", " ", "_", "é", "B", "\u0378", "\u{1f600}"]);
const DENSE_INPUT = input(["a", "b", "A", "\n", " "]);

/** What a match looks like from Go: span and every group (null = not taken). */
function goMatch(m: RegexMatch | null, groups: number): (string | null | number)[] | null {
  if (m === null) return null;
  const out: (string | null | number)[] = [m.index];
  for (let i = 0; i <= groups; i++) out.push(m[i] ?? null);
  return out;
}

function oracleMatch(re: RE2JS, s: string): (string | null | number)[] | null {
  const m = re.matcher(s);
  if (!m.find()) return null;
  const out: (string | null | number)[] = [m.start()];
  for (let i = 0; i <= m.groupCount(); i++) out.push(m.group(i));
  return out;
}

/** Compiles with our code; null when rejected (with the reason). */
function ours(src: string, engine: "auto" | "native" | "re2js"): TranslatedRegex | string {
  try {
    return translateRegex(src, { engine });
  } catch (e) {
    assert(e instanceof SyntaxError, `not a SyntaxError: ${e}`);
    return e.message;
  }
}

/** Matches as a serialised list, for comparing replaceAll loops across engines. */
function replaceTrace(re: TranslatedRegex, s: string, groups: readonly number[]): string {
  return re.replaceAll(
    s,
    (m) => `<${m.index}:${groups.map((g) => JSON.stringify(m[g] ?? null)).join(",")}>`,
  );
}

function checkPattern(src: string, inputs: string[]): void {
  const wrapped = "^(?s:" + src + ")$";
  let oracle: RE2JS | null = null;
  try {
    oracle = RE2JS.compile(wrapped);
  } catch {
    oracle = null;
  }
  const auto = ours(src, "auto");
  const viaRe2 = ours(src, "re2js");
  assertEquals(
    typeof auto === "string",
    oracle === null,
    `accept/reject differs for ${JSON.stringify(src)}: ${typeof auto === "string" ? auto : "ok"}`,
  );
  if (oracle === null || typeof auto === "string" || typeof viaRe2 === "string") return;
  const native = ours(src, "native");
  const ngroups = oracle.groupCount();
  assertEquals(auto.groupNames.length - 1, ngroups);
  const all = Array.from({ length: ngroups + 1 }, (_, i) => i);
  for (const s of inputs) {
    const want = oracleMatch(oracle, s);
    const ctx = `${JSON.stringify(src)} on ${JSON.stringify(s)}`;
    // re2js on our normalised pattern, and the automatic choice: exactly Go.
    for (const [name, re] of [["re2js", viaRe2], ["auto", auto]] as const) {
      assertEquals(re.test(s), want !== null, `${name} test: ${ctx}`);
      assertEquals(goMatch(re.exec(s), ngroups), want, `${name} exec: ${ctx}`);
    }
    assertEquals(replaceTrace(auto, s, all), replaceTrace(viaRe2, s, all), `replaceAll: ${ctx}`);
    if (typeof native === "string") continue;
    // The native translation: same decision, same span and stable captures.
    assertEquals(native.test(s), want !== null, `native test: ${ctx} (${native.regex!.source})`);
    const got = goMatch(native.exec(s), ngroups);
    if (want === null || got === null) {
      assertEquals(got, want, `native exec: ${ctx}`);
      continue;
    }
    const stable = all.filter((g) => !native.unstableGroups.has(g));
    if (!native.unstableGroups.has(0)) assertEquals(got[0], want[0], `native span: ${ctx}`);
    for (const g of stable) {
      assertEquals(got[g + 1], want[g + 1], `native group ${g}: ${ctx} (${native.regex!.source})`);
    }
    if (!native.unstableGroups.has(0)) {
      assertEquals(
        replaceTrace(native, s, stable),
        replaceTrace(viaRe2, s, stable),
        `native replaceAll: ${ctx}`,
      );
    }
  }
}

Deno.test("random RE2 patterns: accept/reject, matches, spans and captures as RE2", async (t) => {
  await t.step("syntax coverage", () => {
    fc.assert(
      fc.property(pattern, fc.array(RICH_INPUT, { minLength: 1, maxLength: 5 }), checkPattern),
      { numRuns: RUNS },
    );
  });
  await t.step("dense patterns (captures inside repetitions)", () => {
    fc.assert(
      fc.property(
        densePattern,
        fc.array(DENSE_INPUT, { minLength: 1, maxLength: 5 }),
        checkPattern,
      ),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------
// Backtracking: patterns the analysis lets run natively on any input length
// must not backtrack badly. The native regexes run in a worker that is
// terminated on timeout, so a misclassified pattern fails instead of hanging.

const WORKER = `
self.onmessage = (e) => {
  const out = [];
  for (const [src, inputs] of e.data) {
    const re = new RegExp(src, "su");
    let worst = 0;
    for (const s of inputs) {
      const t0 = performance.now();
      re.test(s);
      worst = Math.max(worst, performance.now() - t0);
    }
    out.push(worst);
  }
  self.postMessage(out);
};`;

function runNative(jobs: [string, string[]][], timeoutMs: number): Promise<number[] | null> {
  const url = URL.createObjectURL(new Blob([WORKER], { type: "application/javascript" }));
  const w = new Worker(url, { type: "module" });
  return new Promise<number[] | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    w.onmessage = (e) => {
      clearTimeout(timer);
      resolve(e.data as number[]);
    };
    w.postMessage(jobs);
  }).finally(() => {
    w.terminate();
    URL.revokeObjectURL(url);
  });
}

const riskyAtom = fc.constantFrom("a", "b", "[ab]", ".", "\\w", "\\s", "a?", "(?:a|b)", "(?:a|ab)");
const riskyQuant = fc.constantFrom("", "", "*", "+", "?", "{1,3}", "{2,}");
const risky: fc.Arbitrary<string> = fc.letrec((tie) => ({
  piece: fc.tuple(
    fc.oneof({ weight: 3, arbitrary: riskyAtom }, { weight: 2, arbitrary: tie("group") }),
    riskyQuant,
  )
    .map(([a, q]) => (a as string) + q),
  seq: fc.array(tie("piece"), { minLength: 1, maxLength: 4 }).map((x) => x.join("")),
  alt: fc.array(tie("seq"), { minLength: 1, maxLength: 2 }).map((x) => x.join("|")),
  group: fc.tuple(fc.constantFrom("(", "(?:"), tie("alt")).map(([o, b]) => o + b + ")"),
})).alt;

/** Inputs that make a backtracker try everything: long runs, then a character that fails. */
function adversarial(n: number): string[] {
  const runs = ["a", "ab", "a ", "aab", "b"];
  const out: string[] = [];
  for (const r of runs) {
    const body = r.repeat(Math.ceil(n / r.length)).slice(0, n);
    out.push(body + "!", body + "\n!", "!" + body);
  }
  return out;
}

Deno.test("patterns classified as linear backtrack linearly in V8", async () => {
  const jobs: [string, string[]][] = [];
  const seen = new Set<string>();
  fc.assert(
    fc.property(risky, (src) => {
      if (seen.has(src)) return;
      seen.add(src);
      let re: TranslatedRegex;
      try {
        re = translateRegex(src, { captures: [] });
      } catch {
        return; // stacked repetitions such as a?{2,}
      }
      if (re.nativeTestLimit === Infinity) jobs.push([re.regex!.source, adversarial(3000)]);
    }),
    { numRuns: Math.max(100, RUNS / 2) },
  );
  assert(jobs.length > 20, `only ${jobs.length} linear patterns generated`);
  const times = await runNative(jobs, 20_000);
  assert(times !== null, "a pattern classified as linear did not finish within 20 s");
  const slow = jobs.map(([src], i) => [src, times[i]] as const).filter(([, ms]) => ms > 250);
  assertEquals(slow, [], "linear patterns that took more than 250 ms on 3000 characters");
});

Deno.test("the automatic choice is fast on catastrophic patterns", () => {
  const cases: [string, string][] = [
    // Each input contains the pattern's literals, so no prefilter can skip the work.
    ["(a+)+b", "b" + "a".repeat(5000) + "c"],
    ["(\\w+\\s?)*x", "x " + "word ".repeat(1000) + "!"],
    ["(.*,)*x", "x" + "a,".repeat(2000) + "y"],
    [".*.*.*.*=", "=" + "a".repeat(20_000)],
    ["(.*)_(.*)_(.*)_(.*)=", "=" + "a_".repeat(5000)],
    ["(a|a)*b", "b" + "a".repeat(5000)],
    ["(?:a?){1000}b", "b" + "a".repeat(1000)],
  ];
  for (const [src, s] of cases) {
    const re = translateRegex(src);
    const t0 = performance.now();
    assertEquals(re.test(s), false);
    assertEquals(re.exec(s), null);
    const ms = performance.now() - t0;
    assert(ms < 2000, `${src} took ${ms.toFixed(0)} ms`);
  }
});

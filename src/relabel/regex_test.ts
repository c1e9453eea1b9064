import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import { compileRegex, translateRegex, unicodeProperty } from "./regex.ts";

/** [pattern, input, whether Go's `^(?s:pattern)$` matches]. */
const MATCHES: [string, string, boolean][] = [
  // Anchoring and (?s): the whole value must match; . matches \n.
  ["a", "a", true],
  ["a", "ba", false],
  ["a", "ab", false],
  ["a.c", "a\nc", true],
  ["(?-s:a.c)", "a\nc", false],
  ["(?-s)a.c", "a\rc", true],
  ["foo|bar", "bar", true],
  ["foo|bar", "foobar", false],
  ["", "", true],
  ["", "x", false],
  // Leading and scoped flags.
  ["(?i)abc", "AbC", true],
  ["(?i:a)b", "Ab", true],
  ["(?i:a)b", "AB", false],
  ["a(?i)b|c", "C", true], // the flag lasts to the end of the group, across |
  ["(a(?i)b)c", "aBC", false], // …and ends with it
  ["(?i-i)a", "A", false],
  ["(?)a", "a", true],
  ["(?i)k", "\u212a", true], // Kelvin sign folds to k
  ["(?i)s", "\u017f", true], // long s folds to s
  ["(?i)\\w", "\u017f", true],
  ["(?i)\\W", "\u017f", false],
  ["(?i)[[:^alpha:]]", "\u017f", false],
  ["(?i)[[:^alpha:]]", "1", true],
  ["(?i)[^k]", "\u212a", false],
  // (?m): only \n ends a line.
  ["(?m)a$\nb", "a\nb", true],
  ["a$\nb", "a\nb", false],
  ["(?m)a$\rb", "a\rb", false],
  ["(?m)a\n^b", "a\nb", true],
  ["a\n^b", "a\nb", false],
  ["(?m:^)*a", "a", true],
  ["^*a", "a", true],
  ["b*(?:.*?[a-z]^)?", "b", true], // V8 15 gets /^b*(?:[^]*?[a-z]^)?$/ wrong; see the emitter
  ["b*(?:.*?\\w^|)?", "b", true],
  // (?U) swaps greediness (checked on captures below); matching is unchanged.
  ["(?U)a+b", "aab", true],
  // \A, \z.
  ["\\Aab\\z", "ab", true],
  ["a\\z\n", "a\n", false],
  // Perl classes: \s is [\t\n\f\r ] (no \v, no Unicode spaces); \d, \w ASCII.
  ["\\s", "\v", false],
  ["\\s", "\u00a0", false],
  ["\\s", "\f", true],
  ["\\S", "\v", true],
  ["\\d", "\u0661", false],
  ["\\w", "é", false],
  ["[\\d-z]", "-", true],
  ["\\bfoo\\b", "foo", true],
  ["é\\b", "é", false],
  // POSIX classes inside brackets.
  ["[[:alpha:]]+", "abcXYZ", true],
  ["[[:alpha:]]", "é", false],
  ["[[:^digit:]]", "a", true],
  ["[[:^digit:]]", "5", false],
  ["[[:word:][:space:]]+", "a_1 \t", true],
  ["[[:punct:]]+", "!/:@[`{~", true],
  ["[[:xdigit:]]+", "09afAF", true],
  ["[[:xdigit:]]", "g", false],
  ["[[:alpha]", ":", true], // not a POSIX class: a set of [ : a l p h
  ["[:alpha:]", "h", true], // outside brackets it is a plain class
  // Unicode classes.
  ["\\pL+", "héλ", true],
  ["\\PL", "1", true],
  ["\\PL", "a", false],
  ["\\p{Greek}+", "αβγ", true],
  ["\\p{Greek}", "a", false],
  ["\\p{^Greek}", "a", true],
  ["\\P{^Greek}", "α", true],
  ["\\p{Lu}", "A", true],
  ["\\p{Lu}", "a", false],
  ["\\pN", "\u0661", true],
  ["\\pC", "\u0378", false], // Go's C has no unassigned code points
  ["\\pC", "\u0000", true],
  ["\\p{Any}", "\u{1f600}", true],
  ["[^\\P{L}]", "a", true],
  ["[^\\P{L}]", "1", false],
  ["(?i)\\PL", "a", false], // Go folds, then negates
  ["(?i)\\PL", "1", true],
  ["(?i)[^\\P{Lu}]", "a", true],
  ["(?i)\\p{Lu}", "a", true],
  ["[\\p{Greek}\\d]+", "α1", true],
  ["[a\\PL]", "b", false],
  ["[a\\PL]", "1", true],
  // \Q…\E, escapes.
  ["\\Q.*\\E", ".*", true],
  ["\\Q.*\\E", "ab", false],
  ["\\Qa.b", "a.b", false], // no \E: swallows Prometheus' ")$", so this fails to compile? see errors
  ["\\x41\\x{42}\\103", "ABC", true],
  ["\\x{1F600}", "\u{1f600}", true],
  ["\\0", "\0", true],
  ["\\_\\-\\ ", "_- ", true],
  ["\\a\\f\\t\\n\\r\\v", "\x07\f\t\n\r\v", true],
  // Brackets.
  ["[]a]+", "]a", true],
  ["[^]a]", "b", true],
  ["[^]a]", "]", false],
  ["[a-]", "-", true],
  ["[-a]", "-", true],
  ["[a-c-e]", "-", true],
  ["[a-c-e]", "d", false],
  ["[\\]]", "]", true],
  ["[[]", "[", true],
  ["[^\\n]", "\n", false],
  ["[^a]", "\n", true],
  // Repetition.
  ["a{2}", "aa", true],
  ["a{2,}", "aaaa", true],
  ["a{2,3}", "aaaa", false],
  ["a{,2}", "a{,2}", true], // not a repeat: literal
  ["a{x}", "a{x}", true],
  ["a{01}", "a{01}", true], // leading zero: literal
  ["a{1000}", "a".repeat(1000), true],
  ["(?:ab)*", "abab", true],
  ["x*{", "xx{", true],
  ["a(?i)*", "aa", true], // the flag group is not an operand: * applies to a
  // Unicode input.
  [".", "\u{1f600}", true],
  ["..", "\u{1f600}", false],
  ["日本", "日本", true],
  // Prometheus wraps with "^(?s:" … ")$" literally, so a pattern can close the group.
  ["a)|(b", "xb", true],
  ["a)|(b", "ax", true],
];

Deno.test("RE2 patterns match like Go's regexp", async (t) => {
  for (const [pattern, input, want] of MATCHES) {
    if (pattern === "\\Qa.b") continue;
    await t.step(`${JSON.stringify(pattern)} ~ ${JSON.stringify(input)}`, () => {
      assertEquals(compileRegex(pattern).test(input), want);
    });
  }
});

/** [pattern, input, Go's FindStringSubmatch for ^(?s:pattern)$ (null entries = group not taken)]. */
const CAPTURES: [string, string, (string | null)[]][] = [
  ["(a+)(a*)", "aaa", ["aaa", "aaa", ""]],
  ["(?U)(a+)(a*)", "aaa", ["aaa", "a", "aa"]],
  ["(?U)(a+?)(a*)", "aaa", ["aaa", "aaa", ""]],
  ["(a*?)(a*)", "aaa", ["aaa", "", "aaa"]],
  ["(a)|(b)", "b", ["b", null, "b"]],
  ["(?P<first>\\w+)\\.(?<second>\\w+)", "foo.bar", ["foo.bar", "foo", "bar"]],
  ["(a|ab)(c|bcd)(d*)", "abcd", ["abcd", "a", "bcd", ""]],
  ["(?:(\\w+)\\.)+(\\w+)", "a.b.c", ["a.b.c", "b", "c"]],
  ["([^:]+)(?::\\d+)?;(\\d+)", "10.0.0.1:80;9100", ["10.0.0.1:80;9100", "10.0.0.1", "9100"]],
];

Deno.test("capture groups follow Go's leftmost-first semantics", async (t) => {
  for (const [pattern, input, want] of CAPTURES) {
    await t.step(`${pattern} on ${input}`, () => {
      const m = compileRegex(pattern).exec(input);
      assert(m !== null);
      assertEquals(Array.from(m, (x) => x ?? null), want);
    });
  }
});

/** Patterns Go rejects, with a fragment of the expected message. */
const REJECTED: [string, string][] = [
  ["(?=a)", "lookahead"],
  ["(?!a)", "lookahead"],
  ["(?<=a)", "lookbehind"],
  ["(?<!a)", "lookbehind"],
  ["(a)\\1", "backreferences"],
  ["(?P<n>a)(?P=n)", "backreferences"],
  ["(?>a)", "atomic"],
  ["a*+", "possessive"],
  ["a++", "possessive"],
  ["a**", "invalid nested repetition operator"],
  ["a{2}{3}", "invalid nested repetition operator"],
  ["a*??", "invalid nested repetition operator"],
  ["*", "missing argument to repetition operator"],
  ["a|*", "missing argument to repetition operator"],
  ["(*)", "missing argument to repetition operator"],
  ["(?i)*", "missing argument to repetition operator"],
  ["a{1001}", "invalid repeat count"],
  ["a{2,1}", "invalid repeat count"],
  ["(a{100}){100}", "invalid repeat count"],
  ["((a{10}){10}){11}", "invalid repeat count"],
  ["\\C", "invalid escape sequence"],
  ["\\8", "invalid escape sequence"],
  ["\\e", "invalid escape sequence"],
  ["\\Z", "invalid escape sequence"],
  ["\\u0041", "invalid escape sequence"],
  ["\\é", "invalid escape sequence"],
  ["[\\b]", "invalid escape sequence"],
  ["\\x{110000}", "invalid escape sequence"],
  ["\\x{}", "invalid escape sequence"],
  ["\\xZZ", "invalid escape sequence"],
  ["[z-a]", "invalid character class range"],
  ["[[:foo:]]", "invalid character class range"],
  ["\\p{Foo}", "invalid character class range"],
  ["\\p{Grek}", "invalid character class range"], // ISO code, not a Go script name
  ["\\pX", "invalid character class range"],
  ["[a", "missing closing ]"],
  ["[]", "missing closing ]"],
  ["(", "missing closing )"],
  [")", "unexpected )"],
  ["(?P<a-b>x)", "invalid named capture"],
  ["(?P<>x)", "invalid named capture"],
  ["(?#comment)", "invalid or unsupported Perl syntax"],
  ["(?-)", "invalid or unsupported Perl syntax"],
  ["(?i-)", "invalid or unsupported Perl syntax"],
  ["(?x)", "invalid or unsupported Perl syntax"],
  ["\\Qa.b", "missing closing )"],
  ["\ud800", "invalid UTF-8"],
];

Deno.test("patterns Go rejects are rejected with a SyntaxError naming the pattern", async (t) => {
  for (const [pattern, fragment] of REJECTED) {
    await t.step(pattern, () => {
      const e = assertThrows(() => compileRegex(pattern), SyntaxError, fragment);
      assert(e.message.includes(`"${pattern}"`), e.message);
    });
  }
});

Deno.test("patterns without an exact JS translation run on re2js", async (t) => {
  await t.step("a negated Unicode class inside a bracket under (?i)", () => {
    // Go folds \PL before complementing it: the class is non-letters plus a/A.
    const r = translateRegex("(?i)[\\PLa]");
    assertEquals(r.regex, null);
    assertEquals(r.nativeTestLimit, -1);
    assert(r.fallback?.includes("no exact JS translation"), r.fallback ?? "");
    for (const [s, want] of [["1", true], ["a", true], ["A", true], ["b", false], ["B", false]]) {
      assertEquals(r.test(s as string), want, s as string);
    }
    assertThrows(
      () => translateRegex("(?i)[\\PLa]", { engine: "native" }),
      SyntaxError,
      "cannot be translated exactly",
    );
  });
  await t.step("\\PC inside a bracket is the other general categories, natively", () => {
    const r = translateRegex("[a\\PC]");
    assert(r.regex !== null);
    assertEquals(r.nativeTestLimit, Infinity);
    assertEquals(r.test("b"), true);
    assertEquals(r.test("\u0378"), true); // unassigned: not in Go's C
    assertEquals(r.test("\u0000"), false);
    assertEquals(r.test("\u00ad"), false); // Cf
    assertEquals(translateRegex("[a\\PC]", { engine: "re2js" }).test("\u0378"), true);
    assertEquals(translateRegex("(?i)[a\\PC]").test("\u0378"), true);
  });
  await t.step("…while a lone negated class is rewritten exactly", () => {
    assert(!compileRegex("(?i)[\\PL]").test("A"));
    assertEquals(translateRegex("(?i)[\\PL]").nativeTestLimit, Infinity);
  });
});

Deno.test("compileRegex() returns a RegExp with Go's results from either engine", () => {
  const re = compileRegex("(?i)[\\PLa]");
  assert(re instanceof RegExp);
  assertEquals([re.test("A"), re.test("b")], [true, false]);
  const m = compileRegex("(?:(a)|b)+").exec("ab")!;
  assertEquals([...m], ["ab", "a"]);
  assertEquals([m.index, m.input], [0, "ab"]);
  assertEquals(compileRegex("(a+)+b").test("a".repeat(100)), false); // re2js: no backtracking
});

Deno.test("captures that JS gets wrong inside repetitions come from re2js", async (t) => {
  /** [pattern, input, Go's FindStringSubmatch, what the native translation gives]. */
  const cases: [string, string, (string | null)[], (string | null)[]][] = [
    // JS resets captures at each iteration; RE2 keeps the last value set.
    ["(?:(a)|b)+", "ab", ["ab", "a"], ["ab", null]],
    ["(?:x(y)?)+", "xyx", ["xyx", "y"], ["xyx", null]],
    // JS refuses the empty iteration RE2 takes (and a group that took part
    // with "" is not one that did not: Go's ${name} picks the first that did).
    ["(a|)*(b)", "b", ["b", "", "b"], ["b", null, "b"]],
  ];
  for (const [src, input, go, js] of cases) {
    await t.step(`${src} on ${input}`, () => {
      const r = translateRegex(src);
      assertEquals(r.nativeExecLimit, -1);
      assertEquals(Array.from(r.exec(input)!, (x) => x ?? null), go);
      const n = translateRegex(src, { engine: "native" });
      assertEquals(Array.from(n.exec(input)!, (x) => x ?? null), js);
    });
  }
  await t.step("only when the caller reads an unstable group", () => {
    assertEquals(translateRegex("(?:(a)|b)+(c)", { captures: [2] }).nativeExecLimit, Infinity);
    assertEquals(translateRegex("(?:(a)|b)+(c)", { captures: [1] }).nativeExecLimit, -1);
    assertEquals(translateRegex("(?:(a)|b)+(c)", { captures: [] }).nativeTestLimit, Infinity);
    const names = translateRegex("(?:(?P<x>a)|b)+", {
      captures: (names) => [names.indexOf("x")],
    });
    assertEquals(names.nativeExecLimit, -1);
  });
});

Deno.test("backtracking analysis and engine choice", async (t) => {
  /** [pattern, kind, degree or paths, native limit for test()]. */
  const cases: [string, string, number, number][] = [
    // Typical relabel regexes: linear, always native.
    ["(.*)", "linear", 1, Infinity],
    ["([^:]+):\\d+", "linear", 1, Infinity],
    ["go_.*|process_.*|promhttp_.*", "linear", 2, Infinity],
    [".*_bucket;(0\\.005|0\\.01)", "linear", 3, Infinity],
    ["__meta_kubernetes_pod_label_(.+)", "linear", 1, Infinity],
    ["(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)", "linear", 1, Infinity],
    ["(?:\\d{1,3}\\.){3}\\d{1,3}", "linear", 2, Infinity],
    ["(https?)://([^/]+)(/.*)?", "linear", 1, Infinity],
    ["(.*)-(\\d+)", "linear", 2, Infinity],
    ["(?:[a-z]+-)+[a-z0-9]{5}", "linear", 2, Infinity],
    ["(a|ab)*c", "linear", 2, Infinity],
    // Overlapping repetitions in sequence: polynomial, native on short inputs.
    ["(.+)/(.+)-[a-z0-9]+-[a-z0-9]{5}", "polynomial", 1, 1024],
    [".*foo.*", "polynomial", 1, 1024],
    ["(.*)_(.*)_(.*)", "polynomial", 2, 101],
    [".*.*.*.*=", "polynomial", 3, 32],
    // Nested or overlapping repetitions: exponential, always re2js.
    ["(a+)+b", "exponential", 0, -1],
    ["(a|a)*b", "exponential", 0, -1],
    ["(.*,)*x", "exponential", 0, -1],
    ["(\\w+\\s?)*x", "exponential", 0, -1],
    ["(.|\\s)*x", "exponential", 0, -1],
    ["(a|b|ab)*c", "exponential", 0, -1],
    ["(a|a){30}", "exponential", 0, -1],
    ["(a*)*", "exponential", 0, -1],
    ["(?:^)*a", "exponential", 0, -1],
  ];
  for (const [src, kind, n, limit] of cases) {
    await t.step(src, () => {
      const r = translateRegex(src);
      const b = r.backtracking;
      assertEquals(b.kind, kind);
      if (b.kind === "linear") assertEquals(b.paths, n);
      if (b.kind === "polynomial") assertEquals(b.degree, n);
      assertEquals(r.nativeTestLimit, limit);
      assertEquals(r.fallback === null, limit === Infinity);
    });
  }
  await t.step("a long alternation with a shared prefix is linear but ambiguous", () => {
    const src = Array.from({ length: 300 }, (_, i) => `metric_number_${i}_total`).join("|");
    const r = translateRegex(src);
    assertEquals(r.backtracking, { kind: "linear", paths: 300 });
    assertEquals(r.nativeTestLimit, Math.floor(2 ** 20 / 300));
    assert(r.test("metric_number_299_total"));
    assert(!r.test("metric_number_300_total"));
  });
  await t.step("a pattern too large to analyse runs on re2js", () => {
    const words = Array.from({ length: 1000 }, (_, i) => `w${i.toString(36)}x`);
    const r = translateRegex(`(?:${words.join("|")})+`);
    assertEquals(r.backtracking.kind, "unknown");
    assertEquals(r.nativeTestLimit, -1);
    assert(r.test("w0xw1xwrrx") && !r.test("w0xw"));
  });
  await t.step("each engine on each side of the limit gives the same answer", () => {
    const r = translateRegex("(.+)/(.+)-[a-z0-9]+-[a-z0-9]{5}");
    const short = "ns/api-7f9c8d-x00ab", long = "n".repeat(2000) + short;
    for (const s of [short, long, long + "!"]) {
      const want = translateRegex(r.source, { engine: "re2js" }).exec(s);
      assertEquals(r.test(s), want !== null);
      assertEquals(
        r.exec(s) && Array.from(r.exec(s)!),
        want && Array.from(want),
      );
    }
  });
  await t.step("syntax re2js' own parser treats differently from Go, on re2js", () => {
    const re2 = (src: string) => translateRegex(src, { engine: "re2js" });
    assertEquals(Array.from(re2("(?P<a>x)(?P<a>y)").exec("xy")!), ["xy", "x", "y"]);
    assertEquals([re2("\\p{Letter}").test("é"), re2("\\p{letter}").test("1")], [true, false]);
    assertEquals([re2("\\p{ASCII}").test("a"), re2("\\P{ASCII}").test("é")], [true, true]);
    // Go folds \P{ASCII} before complementing: K (U+212A) folds to k, so it is excluded.
    const r = re2("(?i)[\\P{ASCII}x]");
    assertEquals(
      ["é", "X", "x", "a", "\u212a"].map((c) => r.test(c)),
      [true, true, true, false, false],
    );
    assertEquals([re2("\\pC").test("\u0378"), re2("\\pC").test("\u0000")], [false, true]);
    assertEquals([re2("\\PC").test("\u0378"), re2("[x\\PC]").test("\u0378")], [true, true]);
  });
  await t.step("the normalised RE2 pattern", () => {
    assertEquals(translateRegex("a(b)").re2Source, "\\Aa(b)\\z");
    assertEquals(translateRegex("(?P<n>x)").re2Source, "\\A(x)\\z");
    assertEquals(translateRegex("(?i)k.").re2Source, "\\A(?i:k)(?s:.)\\z");
    assertEquals(
      translateRegex("(?-s:.)\\pL\\p{Greek}").re2Source,
      "\\A[^\\n][\\p{L}][\\p{Greek}]\\z",
    );
  });
});

Deno.test("Unicode class names are looked up like Go 1.25", () => {
  assertEquals(unicodeProperty("Greek"), ["Script=Greek"]);
  assertEquals(unicodeProperty("greek"), ["Script=Greek"]);
  assertEquals(unicodeProperty("Old_Italic"), ["Script=Old_Italic"]);
  assertEquals(unicodeProperty("Letter"), ["L"]);
  assertEquals(unicodeProperty("uppercase letter"), ["Lu"]);
  assertEquals(unicodeProperty("lu"), ["Lu"]);
  assertEquals(unicodeProperty("LC"), ["LC"]);
  assertEquals(unicodeProperty("C"), ["Cc", "Cf", "Co", "Cs"]);
  assertEquals(unicodeProperty("ASCII"), ["ASCII"]);
  assertEquals(unicodeProperty("Grek"), null);
  assertEquals(unicodeProperty(""), null);
});

Deno.test("every Go script and category name compiles in this JS engine", () => {
  for (
    const name of [
      "L",
      "Lu",
      "Ll",
      "Lt",
      "Lm",
      "Lo",
      "M",
      "N",
      "Nd",
      "P",
      "S",
      "Z",
      "C",
      "Cn",
      "Any",
    ]
  ) {
    compileRegex(`\\p{${name}}`);
  }
  const scripts = [
    "Adlam",
    "Cypro_Minoan",
    "Kawi",
    "Nag_Mundari",
    "SignWriting",
    "Toto",
    "Zanabazar_Square",
  ];
  for (const name of scripts) compileRegex(`\\p{${name}}`);
});

Deno.test("translation details", async (t) => {
  await t.step("group names are Go's SubexpNames, JS names only where valid", () => {
    const r = translateRegex("(?P<name>x)(?<n2>y)(z)(?P<1x>w)(?P<name>v)");
    assertEquals(r.groupNames, [undefined, "name", "n2", undefined, "1x", "name"]);
    const m = r.regex!.exec("xyzwv")!;
    assertEquals({ ...m.groups }, { name: "x", n2: "y" });
    assertEquals(m.length, 6);
  });
  await t.step("anchoring and the fast paths", () => {
    assertEquals(translateRegex("(.*)").fast, { kind: "any" });
    assertEquals(translateRegex(".*").fast, { kind: "any" });
    assertEquals(translateRegex(".+").fast, { kind: "nonempty" });
    assertEquals(translateRegex("(?-s).*").fast, { kind: "regex" });
    assertEquals(translateRegex("foo").fast, { kind: "literal", value: "foo" });
    assertEquals(translateRegex("\\Qa.b\\E").fast, { kind: "literal", value: "a.b" });
    assertEquals(translateRegex("(?i)foo").fast, { kind: "regex" });
    assertEquals(translateRegex("foo|bar|").fast, {
      kind: "set",
      values: new Set(["foo", "bar", ""]),
    });
    assertEquals(translateRegex("go_.*").fast, { kind: "prefix", prefix: "go_" });
    assertEquals(translateRegex("a").anchored, true);
    assertEquals(translateRegex("a)|(b").anchored, false);
    assertEquals(translateRegex("a)|(b").fast, { kind: "regex" });
  });
  await t.step("capture groups whose value can differ from RE2 inside repetitions", () => {
    assertEquals([...translateRegex("(?:(a)|b)+").unstableGroups], [1]);
    assertEquals([...translateRegex("(?:x(y)?)+").unstableGroups], [1]);
    assertEquals([...translateRegex("(a*)+").unstableGroups], [1]);
    assertEquals([...translateRegex("(a)+").unstableGroups], []);
    assertEquals([...translateRegex("(?:(\\w+)\\.)+(\\w+)").unstableGroups], []);
    assertEquals([...translateRegex("(a)|(b)").unstableGroups], []);
    assertEquals([...translateRegex("(a)?(b){2}").unstableGroups], []);
    // A repetition whose body can match "" may take another path in JS
    // (no empty iterations), moving any capture.
    assertEquals([...translateRegex("(a|)*(b)").unstableGroups], [1, 2]);
    assertEquals([...translateRegex("(a|)?(b)").unstableGroups], []); // ? becomes (?:…|)
    assertEquals([...translateRegex("(x)(?:a?)*(b)").unstableGroups], [1, 2]);
    assertEquals([...translateRegex("(x)(?:a?){2}(b)").unstableGroups], []);
  });
  await t.step("the JS source for the default regex stays trivial", () => {
    assertEquals(compileRegex("(.*)").source, "^(.*)$");
    assertEquals(compileRegex("(.*)").flags, "su");
  });
});

Deno.test("an optional group that can match empty takes the empty path like RE2", () => {
  // RE2 prefers the (empty) first alternative inside the optional group; a
  // plain JS `?` would refuse the empty iteration and capture "A".
  const m = compileRegex("(|(?i:a))?(?i:a)*?").exec("A")!;
  assertEquals(m[1], "");
  const lazy = compileRegex("(a|)??(a*)").exec("a")!;
  assertEquals([lazy[1], lazy[2]], [undefined, "a"]);
});

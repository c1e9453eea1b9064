import assert from "node:assert/strict";
import fc from "fast-check";
import { Labels } from "../../model/labels.ts";
import { formatGoFloat } from "./float.ts";
import {
  type MetricType,
  ParseError,
  PromParser,
  unescapeHelp,
  unescapeLabelValue,
} from "./prom.ts";

// ------------------------------------------------------------------ helpers

/**
 * One parsed entry in compact form:
 * - `["help", family, text]`, `["type", family, type]`
 * - `[series, labels.toString(), value]` or `[series, labels, value, timestamp]`
 */
type Row =
  | ["help", string, string]
  | ["type", string, MetricType]
  | [string, string, number]
  | [string, string, number, number];

/** Parses all of `text`, calling every accessor, into rows. */
function rows(text: string): Row[] {
  const p = new PromParser(text);
  const out: Row[] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "help") out.push(["help", p.family(), p.help()]);
    else if (k === "type") out.push(["type", p.family(), p.type()]);
    else {
      const ts = p.timestamp();
      const ls = p.labels().toString();
      assert.equal(p.ownedSeries(), p.series());
      out.push(ts === null ? [p.series(), ls, p.value()] : [p.series(), ls, p.value(), ts]);
    }
  }
  return out;
}

/** `text` parses to exactly `want`. Values compare with Object.is (NaN, -0). */
function check(text: string, want: Row[]): void {
  const got = rows(text);
  assert.equal(
    got.length,
    want.length,
    `entries of ${JSON.stringify(text)}: ${JSON.stringify(got)}`,
  );
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (w[0] === "help" || w[0] === "type") {
      assert.deepEqual(g, w);
      continue;
    }
    assert.equal(g[0], w[0], "series");
    assert.equal(g[1], w[1], "labels");
    assert.ok(Object.is(g[2], w[2]), `value: got ${g[2]}, want ${w[2]}`);
    assert.equal(g[3], w[3], "timestamp");
  }
}

/** A single series line parses to `labels` and `value` (and `ts`). */
function one(text: string, labels: string, value: number, ts?: number): void {
  const got = rows(text);
  assert.equal(got.length, 1, JSON.stringify(got));
  const g = got[0];
  assert.equal(g[1], labels, "labels");
  assert.ok(Object.is(g[2], value), `value: got ${g[2]}, want ${value}`);
  assert.equal(g[3], ts, "timestamp");
}

/** Parsing `text` (labels included) throws a ParseError mentioning `includes`, at `line`[:`column`]. */
function fails(text: string, includes: string, line = 1, column?: number): void {
  failure(text, includes, line, column);
}

/** Like `fails`, returning the error. */
function failure(text: string, includes: string, line = 1, column?: number): ParseError {
  let err: unknown;
  try {
    rows(text);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ParseError, `want ParseError for ${JSON.stringify(text)}, got ${err}`);
  assert.ok(err instanceof SyntaxError);
  assert.ok(
    err.message.includes(includes),
    `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(includes)}`,
  );
  assert.ok(err.message.startsWith(`line ${err.line}: `), err.message);
  assert.equal(err.line, line, `line of ${JSON.stringify(err.message)}`);
  if (column !== undefined) {
    assert.equal(err.column, column, `column of ${JSON.stringify(err.message)}`);
  }
  return err;
}

// -------------------------------------------------------------------- lines

Deno.test("PromParser parses series lines", async (t) => {
  const ok: [string, string, string, number, number?][] = [
    ["plain", "foo 1\n", '{__name__="foo"}', 1],
    ["no final newline", "foo 1", '{__name__="foo"}', 1],
    ["labels", 'foo{a="b",c="d"} 2\n', '{__name__="foo", a="b", c="d"}', 2],
    ["labels sorted", 'foo{z="1",a="2",M="3"} 2', '{M="3", __name__="foo", a="2", z="1"}', 2],
    ["legacy name chars", "a:b_c:9 1", '{__name__="a:b_c:9"}', 1],
    ["leading underscore and colon", ':_x{_y="1"} 1', '{__name__=":_x", _y="1"}', 1],
    ["trailing comma", 'foo{a="b",} 1', '{__name__="foo", a="b"}', 1],
    ["empty braces", "foo{} 1", '{__name__="foo"}', 1],
    [
      "blanks everywhere",
      'foo \t{ a = "b" ,\tc= "d" , } \t 1 \t 42 \t',
      '{__name__="foo", a="b", c="d"}',
      1,
      42,
    ],
    ["no comma between labels", 'foo{a="1" b="2"} 1', '{__name__="foo", a="1", b="2"}', 1],
    ["no comma and no blank", 'foo{a="1"b="2"} 1', '{__name__="foo", a="1", b="2"}', 1],
    ["no blank before value", 'foo{a="b"}1', '{__name__="foo", a="b"}', 1],
    ["value glued to name", "foo-1", '{__name__="foo"}', -1],
    ["value glued to name, +Inf", "foo+Inf", '{__name__="foo"}', Infinity],
    ["timestamp", "foo 1 1395066363000", '{__name__="foo"}', 1, 1395066363000],
    ["timestamp zero", "foo 1 0", '{__name__="foo"}', 1, 0],
    ["timestamp leading zeros", "foo 1 000000000000000000000123", '{__name__="foo"}', 1, 123],
    [
      "timestamp int64 max",
      "foo 1 9223372036854775807",
      '{__name__="foo"}',
      1,
      9223372036854775807,
    ],
    ["timestamp 16 digits", "foo 1 1234567890123456", '{__name__="foo"}', 1, 1234567890123456],
    ["trailing blanks, no timestamp", "foo 1  \t", '{__name__="foo"}', 1],
    [
      "label value with spaces and braces",
      'foo{a="x y} {z,="} 1',
      '{__name__="foo", a="x y} {z,="}',
      1,
    ],
    ["label value with UTF-8", 'foo{a="Grüße 🌍"} 1', '{__name__="foo", a="Grüße 🌍"}', 1],
    ["label value with a raw newline", 'foo{a="x\ny"} 1', '{__name__="foo", a="x\\ny"}', 1],
    ["label value with NUL", 'foo{a="x\0y"} 1', '{__name__="foo", a="x\0y"}', 1],
    [
      "label named like the metric name label elsewhere",
      'foo{name="x"} 1',
      '{__name__="foo", name="x"}',
      1,
    ],
    ["__name__-like label", 'foo{__name="x"} 1', '{__name="x", __name__="foo"}', 1],
  ];
  for (const [name, text, labels, v, ts] of ok) {
    await t.step(name, () => one(text, labels, v, ts));
  }
});

Deno.test("PromParser handles many labels and long lines", () => {
  const names = Array.from({ length: 40 }, (_, i) => `l${String(i).padStart(2, "0")}`);
  const long = "v".repeat(5000);
  const line = (metric: string, v: number) =>
    `${metric}{${names.map((n) => `${n}="${n}-${long}"`).join(",")}} ${v}\n`;
  const p = new PromParser(line("m", 1) + line("n", 2));
  for (const want of ["m", "n"]) {
    assert.equal(p.next(), "series");
    const ls = p.labels();
    assert.equal(ls.size, 41);
    assert.equal(ls.get("__name__"), want);
    assert.deepEqual(ls.flat().filter((_, i) => i % 2 === 0 && i > 0), names);
    assert.equal(ls.get("l39"), "l39-" + long);
  }
  assert.equal(p.next(), null);
});

Deno.test("PromParser.series() is the raw series text, exactly as written", async (t) => {
  const cases: [string, string][] = [
    ["foo 1", "foo"],
    ["foo{} 1", "foo{}"],
    ['foo{a="b"} 1 2', 'foo{a="b"}'],
    ['foo {a="b"} 1', 'foo {a="b"}'],
    ['foo{ a = "b" , } 1', 'foo{ a = "b" , }'],
    ['foo{a="b"}1', 'foo{a="b"}'],
    ['foo{a="\\n\\"\\\\"} 1', 'foo{a="\\n\\"\\\\"}'],
    ["foo\t1", "foo"],
    ["foo-1", "foo"],
  ];
  for (const [text, series] of cases) {
    await t.step(JSON.stringify(text), () => {
      const p = new PromParser(text);
      assert.equal(p.next(), "series");
      assert.equal(p.series(), series);
      assert.equal(p.ownedSeries(), series);
      assert.equal(p.metricName(), "foo");
      assert.equal(p.next(), null);
      assert.equal(p.next(), null, "stays at the end");
    });
  }
});

Deno.test("PromParser resolves label value escapes like Prometheus' replacer", async (t) => {
  // [raw text between the quotes, resolved value]
  const cases: [string, string][] = [
    ["a\\\\b", "a\\b"],
    ['a\\"b', 'a"b'],
    ["a\\nb", "a\nb"],
    ["a\\\\nb", "a\\nb"], // \\ then n: a backslash followed by the letter n
    ["a\\\\\\nb", "a\\\nb"], // \\ \n
    ["\\\\\\\\", "\\\\"],
    ["a\\tb", "a\\tb"], // unknown escapes stay as written
    ["\\a\\b\\c", "\\a\\b\\c"],
    ["\\u00e9", "\\u00e9"],
    ["\\'", "\\'"],
    ["\\\\\\t", "\\\\t"],
    ['\\"\\"', '""'],
  ];
  for (const [raw, want] of cases) {
    await t.step(raw, () => {
      const p = new PromParser(`foo{a="${raw}"} 1`);
      assert.equal(p.next(), "series");
      assert.equal(p.labels().get("a"), want);
      assert.equal(unescapeLabelValue(raw), want);
    });
  }
  await t.step("HELP resolves only \\\\ and \\n", () => {
    assert.equal(unescapeHelp('a\\\\b\\nc\\"d\\te\\'), 'a\\b\nc\\"d\\te\\');
    assert.equal(unescapeHelp("\\\\n"), "\\n");
  });
});

Deno.test("PromParser drops empty label values and rejects duplicate names", async (t) => {
  await t.step("empty value dropped", () => one('foo{a="",b="x"} 1', '{__name__="foo", b="x"}', 1));
  await t.step("all empty", () => one('foo{a="", b=""} 1', '{__name__="foo"}', 1));
  await t.step("duplicate", () => fails('foo{a="1",a="2"} 1', 'duplicate label name "a"', 1, 11));
  await t.step(
    "duplicate after others",
    () => fails('foo{b="1",a="1",c="1",a="2"} 1', 'duplicate label name "a"'),
  );
  await t.step(
    "duplicate with an empty value",
    () => fails('foo{a="",a="2"} 1', 'duplicate label name "a"'),
  );
  await t.step(
    "__name__ in the braces",
    () => fails('foo{__name__="bar"} 1', '"__name__" duplicates the metric name'),
  );
  await t.step(
    "duplicate on a later line",
    () => fails('ok 1\n\nfoo{x="1", x="1"} 1\n', "duplicate", 3, 12),
  );
  await t.step("next() alone does not check duplicates (cache hits skip labels())", () => {
    const p = new PromParser('foo{a="1",a="2"} 1');
    assert.equal(p.next(), "series");
    assert.equal(p.value(), 1);
    assert.equal(p.next(), null);
  });
});

// ----------------------------------------------------------------- metadata

Deno.test("PromParser reads HELP and TYPE lines", async (t) => {
  await t.step("basic", () =>
    check(
      "# HELP foo The foo.\n# TYPE foo counter\nfoo 1\n",
      [["help", "foo", "The foo."], ["type", "foo", "counter"], ["foo", '{__name__="foo"}', 1]],
    ));
  await t.step("all types", () =>
    check(
      "# TYPE a counter\n# TYPE b gauge\n# TYPE c histogram\n# TYPE d summary\n# TYPE e untyped\n",
      [
        ["type", "a", "counter"],
        ["type", "b", "gauge"],
        ["type", "c", "histogram"],
        ["type", "d", "summary"],
        ["type", "e", "untyped"],
      ],
    ));
  const help: [string, string, string][] = [
    ["escapes: only \\\\ and \\n", '# HELP m a\\\\b\\nc\\"d\\te', 'a\\b\nc\\"d\\te'],
    ["\\\\n is a backslash and n", "# HELP m x\\\\ny", "x\\ny"],
    ["tab separators", "#\tHELP\tm\ttext here", "text here"],
    ["several blanks before the keyword and name", "#   HELP   m text", "text"],
    ["one separator is removed, the rest kept", "# HELP m   text  ", "  text  "],
    ["no text", "# HELP m", ""],
    ["no text, trailing blank", "# HELP m ", ""],
    ["only blanks", "# HELP m  \t ", ""],
    ["one char", "# HELP m x", "x"],
    ["text glued to the name loses its first character", "# HELP m-bar baz", "bar baz"],
    ["NUL inside", "# HELP m a\0b", "a\0b"],
    ["UTF-8", "# HELP m Temperatur in °C — 温度", "Temperatur in °C — 温度"],
    ["carriage return is text", "# HELP m x\r", "x\r"],
    ["indented line", "  # HELP m text", "text"],
  ];
  for (const [name, text, want] of help) {
    await t.step(name, () => check(text, [["help", "m", want]]));
  }
  await t.step("comments are skipped", () =>
    check(
      "#\n# \n#HELP foo x\n#TYPE foo counter\n# HELPfoo\n# HELP\n# TYPE\n# random words\n# EOF\n  # indented\n\t#\n",
      [],
    ));
  await t.step("type() before any TYPE line is untyped", () => {
    const p = new PromParser("# HELP foo x");
    assert.equal(p.next(), "help");
    assert.equal(p.type(), "untyped");
  });
  await t.step(
    "invalid type",
    () => fails("# TYPE foo countr\n", 'invalid metric type "countr"', 1, 12),
  );
  await t.step(
    "type with two blanks",
    () => fails("# TYPE foo  counter\n", 'invalid metric type " counter"'),
  );
  await t.step(
    "type with trailing blank",
    () => fails("# TYPE foo counter \n", 'invalid metric type "counter "'),
  );
  await t.step("type missing", () => fails("# TYPE foo\n", 'invalid metric type ""', 1, 11));
  await t.step("type upper case", () => fails("# TYPE foo Counter\n", "invalid metric type"));
  await t.step(
    "type unknown (OpenMetrics only)",
    () => fails("# TYPE foo unknown\n", "invalid metric type"),
  );
  await t.step("missing name", () => fails("# HELP \n", "expected a metric name after HELP"));
  await t.step(
    "bad name",
    () => fails("ok 1\n# TYPE 9foo counter\n", "expected a metric name after TYPE", 2, 8),
  );
  await t.step(
    "NUL right after the name",
    () => fails("# HELP foo\0bar\n", "expected the end of the line"),
  );
});

// ---------------------------------------------------------- le and quantile

Deno.test("PromParser normalises le and quantile after a histogram or summary TYPE", async (t) => {
  await t.step("histogram buckets", () =>
    check(
      [
        "# TYPE h histogram",
        'h_bucket{le="0.005"} 1',
        'h_bucket{le="1"} 2',
        'h_bucket{le="10"} 3',
        'h_bucket{le="1000000"} 4',
        'h_bucket{le="1e6"} 4',
        'h_bucket{le="0.00001"} 5',
        'h_bucket{le="0.0001"} 5',
        'h_bucket{le="+Inf"} 6',
        'h_bucket{le="Inf"} 6',
        'h_bucket{le="-0"} 6',
        'h_bucket{le="0x1p3"} 6',
        'h_bucket{le="1_0"} 6',
        'h_bucket{le="abc"} 7',
        'h_bucket{le=""} 7',
        'h_bucket{le=" 1"} 7',
        'h_sum{le="1"} 8',
        'h_count{quantile="1"} 9',
      ].join("\n"),
      [
        ["type", "h", "histogram"],
        ['h_bucket{le="0.005"}', '{__name__="h_bucket", le="0.005"}', 1],
        ['h_bucket{le="1"}', '{__name__="h_bucket", le="1.0"}', 2],
        ['h_bucket{le="10"}', '{__name__="h_bucket", le="10.0"}', 3],
        ['h_bucket{le="1000000"}', '{__name__="h_bucket", le="1e+06"}', 4],
        ['h_bucket{le="1e6"}', '{__name__="h_bucket", le="1e+06"}', 4],
        ['h_bucket{le="0.00001"}', '{__name__="h_bucket", le="1e-05"}', 5],
        ['h_bucket{le="0.0001"}', '{__name__="h_bucket", le="0.0001"}', 5],
        ['h_bucket{le="+Inf"}', '{__name__="h_bucket", le="+Inf"}', 6],
        ['h_bucket{le="Inf"}', '{__name__="h_bucket", le="+Inf"}', 6],
        ['h_bucket{le="-0"}', '{__name__="h_bucket", le="0.0"}', 6],
        ['h_bucket{le="0x1p3"}', '{__name__="h_bucket", le="8.0"}', 6],
        ['h_bucket{le="1_0"}', '{__name__="h_bucket", le="10.0"}', 6],
        ['h_bucket{le="abc"}', '{__name__="h_bucket", le="abc"}', 7],
        ['h_bucket{le=""}', '{__name__="h_bucket"}', 7],
        ['h_bucket{le=" 1"}', '{__name__="h_bucket", le=" 1"}', 7],
        ['h_sum{le="1"}', '{__name__="h_sum", le="1.0"}', 8],
        ['h_count{quantile="1"}', '{__name__="h_count", quantile="1"}', 9],
      ],
    ));
  await t.step("summary quantiles", () =>
    check(
      '# TYPE s summary\ns{quantile="0"} 1\ns{quantile="0.5"} 2\ns{quantile="1"} 3\ns{le="1"} 4\n',
      [
        ["type", "s", "summary"],
        ['s{quantile="0"}', '{__name__="s", quantile="0.0"}', 1],
        ['s{quantile="0.5"}', '{__name__="s", quantile="0.5"}', 2],
        ['s{quantile="1"}', '{__name__="s", quantile="1.0"}', 3],
        ['s{le="1"}', '{__name__="s", le="1"}', 4],
      ],
    ));
  await t.step("escaped value is resolved before normalising", () => {
    const p = new PromParser('# TYPE h histogram\nh_bucket{le="1\\\\"} 1\n');
    p.next();
    p.next();
    assert.equal(p.labels().get("le"), "1\\");
  });
  await t.step("untyped, gauge and no TYPE leave le alone", () =>
    check(
      'a{le="1"} 1\n# TYPE g gauge\ng{le="1"} 1\n# TYPE u untyped\nu{quantile="1"} 1\n',
      [
        ['a{le="1"}', '{__name__="a", le="1"}', 1],
        ["type", "g", "gauge"],
        ['g{le="1"}', '{__name__="g", le="1"}', 1],
        ["type", "u", "untyped"],
        ['u{quantile="1"}', '{__name__="u", quantile="1"}', 1],
      ],
    ));
  await t.step("the last TYPE applies, as in Prometheus, even to another family", () =>
    check(
      '# TYPE h histogram\nother{le="1"} 1\n# HELP x help does not change it\nx{le="2"} 1\n# TYPE c counter\nc{le="3"} 1\n',
      [
        ["type", "h", "histogram"],
        ['other{le="1"}', '{__name__="other", le="1.0"}', 1],
        ["help", "x", "help does not change it"],
        ['x{le="2"}', '{__name__="x", le="2.0"}', 1],
        ["type", "c", "counter"],
        ['c{le="3"}', '{__name__="c", le="3"}', 1],
      ],
    ));
});

// ------------------------------------------------------------------- values

Deno.test("PromParser reads values with Go ParseFloat semantics", async (t) => {
  const ok: [string, number][] = [
    ["0", 0],
    ["-0", -0],
    ["+0", 0],
    ["1", 1],
    ["-1", -1],
    ["+1", 1],
    ["1.5", 1.5],
    [".5", 0.5],
    ["5.", 5],
    ["-.5", -0.5],
    ["1e3", 1000],
    ["1E3", 1000],
    ["1e+3", 1000],
    ["1.5e-3", 0.0015],
    ["-1.5E-3", -0.0015],
    ["007", 7],
    ["0.000000000000000000000000001", 1e-27],
    ["123456789012345678901234567890", 123456789012345678901234567890],
    ["9007199254740993", 9007199254740992],
    ["9007199254740993e-5", 90071992547.40993],
    ["1.7976931348623157e308", 1.7976931348623157e308],
    ["4.9e-324", 5e-324],
    ["1e-400", 0],
    ["-1e-400", -0],
    ["7.424100000000001e-05", 7.424100000000001e-05],
    ["1.458255915e9", 1458255915],
    ["NaN", NaN],
    ["nan", NaN],
    ["NAN", NaN],
    ["Inf", Infinity],
    ["+Inf", Infinity],
    ["-Inf", -Infinity],
    ["inf", Infinity],
    ["+INF", Infinity],
    ["infinity", Infinity],
    ["+Infinity", Infinity],
    ["-InFiNiTy", -Infinity],
  ];
  for (const [v, want] of ok) {
    await t.step(`ok ${v}`, () => {
      one(`m ${v}`, '{__name__="m"}', want);
      one(`m ${v} 5\n`, '{__name__="m"}', want, 5);
    });
  }
  const bad: [string, string, number?][] = [
    ["0x10", "is not a number"],
    ["0X1F", "is not a number"],
    ["1_000", 'unsupported character "_"', 4],
    ["1p3", 'unsupported character "p"', 4],
    ["0x1p3", 'unsupported character "p"', 6],
    ["0x1P-3", 'unsupported character "P"', 6],
    ["_1", "unsupported character"],
    ["+NaN", "is not a number"],
    ["-nan", "is not a number"],
    ["infin", "is not a number"],
    ["Infinit", "is not a number"],
    ["true", "is not a number"],
    ["1e", "is not a number"],
    ["1e+", "is not a number"],
    ["1.2.3", "is not a number"],
    ["1..2", "is not a number"],
    ["-", "is not a number"],
    ["+", "is not a number"],
    [".", "is not a number"],
    ["1,5", "is not a number"],
    ["1e400", "out of range"],
    ["-1e400", "out of range"],
    ["123456789e400", "out of range"],
    ["1\r", "is not a number"],
    ["٣", "is not a number"],
    ['"1"', "is not a number"],
    ["1}", "is not a number"],
  ];
  for (const [v, why, column] of bad) {
    await t.step(`bad ${JSON.stringify(v)}`, () => fails(`m ${v}\n`, why, 1, column ?? 3));
  }
  await t.step(
    "missing value",
    () => fails("m\n", "expected a value after the metric, got the end of the line", 1, 2),
  );
  await t.step(
    "missing value, blanks",
    () => fails("m   ", "expected a value after the metric, got the end of the input"),
  );
  await t.step("missing value after labels", () => fails('m{a="b"} \n', "expected a value"));
  await t.step(
    "value followed by a brace",
    () => fails("m 1{", "expected a timestamp or the end of the line"),
  );
  await t.step("second label block", () => fails('m{a="b"}{c="d"} 1', "expected a value"));
  await t.step(
    "CRLF line endings are rejected, as by Prometheus",
    () => fails("m 1\r\n", "is not a number"),
  );
});

Deno.test("PromParser reads timestamps as int64 milliseconds", async (t) => {
  await t.step("absent", () => one("m 1", '{__name__="m"}', 1, undefined));
  await t.step(
    "float rejected",
    () => fails("m 1 1.5\n", "expected the end of the line after the timestamp", 1, 6),
  );
  await t.step(
    "negative rejected",
    () => fails("m 1 -5\n", "expected a timestamp or the end of the line", 1, 5),
  );
  await t.step(
    "plus sign rejected",
    () => fails("m 1 +5\n", "expected a timestamp or the end of the line"),
  );
  await t.step(
    "exponent rejected",
    () => fails("m 1 1e3\n", "expected the end of the line after the timestamp"),
  );
  await t.step(
    "underscore rejected",
    () => fails("m 0 1_2\n", "expected the end of the line after the timestamp"),
  );
  await t.step(
    "int64 overflow",
    () => fails("m 1 9223372036854775808\n", "out of the int64 range"),
  );
  await t.step("huge", () => fails("m 1 99999999999999999999999\n", "out of the int64 range"));
  await t.step(
    "two timestamps",
    () => fails("m 1 2 3\n", "expected the end of the line after the timestamp"),
  );
  await t.step(
    "garbage after",
    () => fails("m 1 2 x\n", "expected the end of the line after the timestamp"),
  );
  await t.step("NaN timestamp", () => fails("m 1 NaN\n", "expected a timestamp"));
});

// ------------------------------------------------------------------- errors

Deno.test("PromParser rejects malformed lines with line and column", async (t) => {
  const bad: [string, string, string, number, number][] = [
    ["metric starting with a digit", "1foo 1", "expected a metric name or '#'", 1, 1],
    ["label block without a name", '{a="b"} 1', "no metric name", 1, 1],
    ["leading blank before a metric", "  foo 1", "unexpected blank before the metric name", 1, 1],
    ["dot in the name", "foo.bar 1", 'value ".bar" is not a number', 1, 4],
    ["label name with a dash", 'foo{a-b="c"} 1', "expected '=' after label name \"a\"", 1, 6],
    ["label name starting with a digit", 'foo{1a="c"} 1', "expected a label name or '}'", 1, 5],
    ["label name with a colon", 'foo{a:b="c"} 1', "expected '='", 1, 6],
    ["missing =", 'foo{a "c"} 1', "expected '=' after label name", 1, 7],
    ["single quotes", "foo{a='c'} 1", 'expected \'"\' to open the value of label "a"', 1, 7],
    ["unquoted value", "foo{a=c} 1", "expected '\"' to open the value", 1, 7],
    ["missing value", "foo{a=} 1", "expected '\"' to open the value", 1, 7],
    ["empty label name", 'foo{="c"} 1', "expected a label name or '}'", 1, 5],
    ["leading comma", "foo{,} 1", "expected a label name or '}'", 1, 5],
    ["double comma", 'foo{a="b",,} 1', "expected a label name or '}'", 1, 11],
    ["unclosed braces", 'foo{a="b" 1', "expected ',' or '}' after a label value", 1, 11],
    [
      "unclosed braces at line end",
      'foo{a="b",\n} 1',
      "expected a label name or '}', got the end of the line",
      1,
      11,
    ],
    ["unterminated value", 'foo{a="b} 1', 'unterminated value of label "a"', 1, 7],
    ["unterminated value at the end", 'foo{a="b\\"', "unterminated value", 1, 7],
    ["backslash before newline", 'foo{a="b\\\nc"} 1', "backslash at the end of a line", 1, 10],
    ["garbage after labels", 'foo{a="b"}x 1', 'value "x" is not a number', 1, 11],
    ["equals in value position", 'foo{a="b"=} 1', "expected ',' or '}'", 1, 10],
    ["carriage return line", "foo 1\n\r\n", "expected a metric name or '#'", 2, 1],
    ["stray closing brace", "} 1", "expected a metric name or '#'", 1, 1],
    ["error on a later line", "a 1\n# HELP a x\n\nb{c=d} 1\n", "expected '\"'", 4, 5],
    [
      "line count includes newlines in label values",
      'a{x="1\n2"} 1\nb{ 1',
      "expected a label name",
      3,
      4,
    ],
  ];
  for (const [name, text, includes, line, column] of bad) {
    await t.step(name, () => fails(text, includes, line, column));
  }
  await t.step("ParseError carries its parts", () => {
    const e = failure("ok 1\nfoo{a=1} 1", "expected", 2, 7);
    assert.equal(e.name, "ParseError");
    assert.equal(e.reason, e.message.slice("line 2: ".length));
  });
});

Deno.test("PromParser handles blank lines, comments and NUL like Prometheus", async (t) => {
  await t.step("empty input", () => check("", []));
  await t.step("only newlines and blanks", () => check("\n\n  \n\t\n \t \n", []));
  await t.step(
    "blank lines between series",
    () => check("\na 1\n\n\nb 2\n\n", [["a", '{__name__="a"}', 1], ["b", '{__name__="b"}', 2]]),
  );
  await t.step(
    "NUL at the start of a line ends the input",
    () => check("a 1\n\0b 2\nc d e\n", [["a", '{__name__="a"}', 1]]),
  );
  await t.step(
    "NUL after leading blanks ends the input",
    () => check("a 1\n  \0junk", [["a", '{__name__="a"}', 1]]),
  );
  await t.step(
    "NUL in a #comment ends the input",
    () => check("a 1\n#x\0y\nb 2\n", [["a", '{__name__="a"}', 1]]),
  );
  await t.step(
    "NUL opening a '# ' comment ends the input",
    () => check("a 1\n# \0\nb 2\n", [["a", '{__name__="a"}', 1]]),
  );
  await t.step(
    "NUL later in a '# ' comment is fine",
    () => check("a 1\n# x\0y\nb 2\n", [["a", '{__name__="a"}', 1], ["b", '{__name__="b"}', 2]]),
  );
  await t.step("NUL after a name", () => fails("a\0 1", "expected a value after the metric"));
  await t.step(
    "NUL in a value",
    () => fails("a 1\0", "expected a timestamp or the end of the line"),
  );
  await t.step("NUL before a label value", () => fails('a{b=\0"x"} 1', "expected '\"'"));
  await t.step("NUL in a label name", () => fails('a{b\0="x"} 1', "expected '='"));
  await t.step("NUL after a backslash is skipped", () => {
    const p = new PromParser('a{b="x\\\0n"} 1');
    assert.equal(p.next(), "series");
    assert.equal(p.labels().get("b"), "x\\\0n");
  });
});

// ------------------------------------------------------------ UTF-8 names

/** Parses `text` and returns its one series: raw text, labels, metric name and value. */
function oneSeries(text: string): { series: string; labels: Labels; name: string; value: number } {
  const p = new PromParser(text);
  let k = p.next();
  while (k !== null && k !== "series") k = p.next();
  assert.equal(k, "series", `no series in ${JSON.stringify(text)}`);
  const got = { series: p.series(), labels: p.labels(), name: p.metricName(), value: p.value() };
  assert.equal(p.ownedSeries(), got.series);
  assert.equal(p.next(), null, `more than one series in ${JSON.stringify(text)}`);
  return got;
}

Deno.test("PromParser reads quoted UTF-8 names as Prometheus 3 does", async (t) => {
  // [name, text, the series text, labels]; the value is always 1.
  const ok: [string, string, string, Record<string, string>][] = [
    ["quoted metric name", '{"my.metric"} 1', '{"my.metric"}', { __name__: "my.metric" }],
    [
      "metric name and a quoted label name",
      '{"my.metric", "label.name"="v"} 1',
      '{"my.metric", "label.name"="v"}',
      { __name__: "my.metric", "label.name": "v" },
    ],
    [
      "no blanks, trailing comma",
      '{"my.metric","label.name"="v",} 1',
      '{"my.metric","label.name"="v",}',
      { __name__: "my.metric", "label.name": "v" },
    ],
    ["name then trailing comma", '{"a.b",} 1', '{"a.b",}', { __name__: "a.b" }],
    [
      "blanks everywhere",
      '{ "my.metric" ,\t"l.n" = "v" , } \t1',
      '{ "my.metric" ,\t"l.n" = "v" , }',
      { __name__: "my.metric", "l.n": "v" },
    ],
    [
      "name among the labels",
      '{a="1", "my.metric", b="2"} 1',
      '{a="1", "my.metric", b="2"}',
      { __name__: "my.metric", a: "1", b: "2" },
    ],
    [
      "name last",
      '{a="1","my.metric"} 1',
      '{a="1","my.metric"}',
      { __name__: "my.metric", a: "1" },
    ],
    [
      "name after a label without a comma",
      '{a="1" "my.metric"} 1',
      '{a="1" "my.metric"}',
      { __name__: "my.metric", a: "1" },
    ],
    [
      "quoted label name on a legacy metric name",
      'foo{"label.name"="v", b="2"} 1',
      'foo{"label.name"="v", b="2"}',
      { __name__: "foo", "label.name": "v", b: "2" },
    ],
    [
      "legacy names may be quoted too",
      '{"foo", "bar"="v"} 1',
      '{"foo", "bar"="v"}',
      { __name__: "foo", bar: "v" },
    ],
    [
      "quoted label names without commas",
      'foo{"a.b"="1""c.d"="2"} 1',
      'foo{"a.b"="1""c.d"="2"}',
      { __name__: "foo", "a.b": "1", "c.d": "2" },
    ],
    [
      "non-ASCII and astral characters",
      '{"温度.°C", "ключ"="значение", "🌍"="🚀"} 1',
      '{"温度.°C", "ключ"="значение", "🌍"="🚀"}',
      { __name__: "温度.°C", "ключ": "значение", "🌍": "🚀" },
    ],
    [
      "syntax characters inside quotes",
      '{"a{b}=c,d # e", "x=\\"y\\"}"="{}"} 1',
      '{"a{b}=c,d # e", "x=\\"y\\"}"="{}"}',
      { __name__: "a{b}=c,d # e", 'x="y"}': "{}" },
    ],
    [
      "escapes resolved like label values, unknown ones kept",
      '{"a\\"b\\\\c\\nd\\te"} 1',
      '{"a\\"b\\\\c\\nd\\te"}',
      { __name__: 'a"b\\c\nd\\te' },
    ],
    [
      "\\\\n is a backslash and n",
      '{"x", "a\\\\nb"="v"} 1',
      '{"x", "a\\\\nb"="v"}',
      { __name__: "x", "a\\nb": "v" },
    ],
    [
      "raw newline inside a quoted name",
      '{"a\nb", "c\nd"="v"} 1',
      '{"a\nb", "c\nd"="v"}',
      { __name__: "a\nb", "c\nd": "v" },
    ],
    ["blanks before the brace", ' \t{"a.b"} 1', '{"a.b"}', { __name__: "a.b" }],
    ["no blank before the value", '{"a.b"}1', '{"a.b"}', { __name__: "a.b" }],
    ["blank inside the name", '{"a b"} 1', '{"a b"}', { __name__: "a b" }],
    [
      "empty value dropped",
      '{"a.b", "c.d"=""} 1',
      '{"a.b", "c.d"=""}',
      { __name__: "a.b" },
    ],
  ];
  for (const [name, text, series, labels] of ok) {
    await t.step(name, () => {
      const got = oneSeries(text);
      assert.equal(got.series, series, "series");
      const want = Labels.fromObject(labels);
      assert.ok(got.labels.equals(want), `${got.labels} != ${want}`);
      assert.equal(got.name, labels.__name__, "metricName()");
      assert.equal(got.value, 1);
    });
  }
  await t.step(
    "timestamp, and the line after a multi-line name",
    () =>
      check('{"a\nb"} 1 42\n{"c"} 2\n', [
        ['{"a\nb"}', '{__name__="a\\nb"}', 1, 42],
        ['{"c"}', '{__name__="c"}', 2],
      ]),
  );
  await t.step("HELP and TYPE with quoted names", () =>
    check(
      [
        '# HELP "my.metric" Help for the metric.',
        '#\tTYPE\t"my.metric"\tcounter',
        '# HELP "a\\"b\\\\c" x',
        '# TYPE "温度" gauge',
        '# HELP "no.text"',
        '# HELP "glued"text',
        '# HELP "multi\nline" t',
      ].join("\n"),
      [
        ["help", "my.metric", "Help for the metric."],
        ["type", "my.metric", "counter"],
        ["help", 'a"b\\c', "x"],
        ["type", "温度", "gauge"],
        ["help", "no.text", ""],
        ["help", "glued", "ext"],
        ["help", "multi\nline", "t"],
      ],
    ));
  await t.step("le and quantile are normalised with quoted names", () =>
    check(
      '# TYPE "s.x" summary\n{"s.x", quantile="1"} 1\n# TYPE h histogram\nh_bucket{"le"="1e6"} 2\n',
      [
        ["type", "s.x", "summary"],
        ['{"s.x", quantile="1"}', '{__name__="s.x", quantile="1.0"}', 1],
        ["type", "h", "histogram"],
        ['h_bucket{"le"="1e6"}', '{__name__="h_bucket", le="1e+06"}', 2],
      ],
    ));
  await t.step("the same series written quoted and unquoted has the same labels", () => {
    const a = oneSeries('foo{bar="1"} 1').labels;
    const b = oneSeries('{"foo", "bar"="1"} 1').labels;
    const c = oneSeries('{bar="1","foo"} 1').labels;
    assert.ok(a.equals(b) && a.equals(c));
  });
  await t.step(
    "backslashes and NULs elsewhere in the body do not confuse the quoted-name search",
    () => {
      check('a{x="p\\\\q"} 1\n{"b\\"c", "d"="\0"} 2\n{"e"} 3\n', [
        ['a{x="p\\\\q"}', '{__name__="a", x="p\\\\q"}', 1],
        ['{"b\\"c", "d"="\0"}', '{__name__="b\\"c", d="\0"}', 2],
        ['{"e"}', '{__name__="e"}', 3],
      ]);
      fails('{"a"} 1\nx{b="\0"} 2\n{"c\0"} 3\n', "NUL in a quoted name", 3, 4);
      fails('{"a"} 1\nx{b="\\\\"} 2\n{"c\\\n"} 3\n', "backslash before the end of the line", 3, 5);
    },
  );
  await t.step("lone surrogates in names fail at labels(), like in values", () => {
    for (const text of ['{"a\ud800"} 1', '{"a", "b\udc00"="v"} 1']) {
      const p = new PromParser(text);
      assert.equal(p.next(), "series");
      assert.throws(
        () => p.labels(),
        (e) => e instanceof ParseError && /lone surrogate/.test(e.message),
      );
    }
    fails('# TYPE "a\ud800" gauge\n', "lone surrogate");
  });
});

Deno.test("PromParser rejects malformed quoted names like Prometheus", async (t) => {
  const bad: [string, string, string, number, number][] = [
    ["empty braces", "{} 1", "no metric name", 1, 1],
    ["labels only", '{a="b"} 1', "no metric name", 1, 1],
    ["quoted label names only", '{"a.b"="c"} 1', "no metric name", 1, 1],
    ["metric name before and inside", 'foo{"bar"} 1', "metric name is already set", 1, 5],
    ["two quoted metric names", '{"a", "b"} 1', "metric name is already set", 1, 7],
    ["two names, the second last", '{"a", x="1", "b",} 1', "metric name is already set", 1, 14],
    ["empty metric name", '{""} 1', "empty metric name", 1, 2],
    ["empty label name", '{"a", ""="v"} 1', "empty label name", 1, 7],
    ["empty name after HELP", '# HELP "" x\n', "empty metric name after HELP", 1, 8],
    ["empty name after TYPE", '# TYPE "" gauge\n', "empty metric name after TYPE", 1, 8],
    ["unterminated name", '{"a} 1', "unterminated quoted name", 1, 2],
    ["unterminated name after HELP", '# HELP "a x', "unterminated quoted metric name", 1, 8],
    ["backslash before a newline", '{"a\\\nb"} 1', "backslash before the end of the line", 1, 5],
    ["backslash at the end of the input", '{"a\\', "backslash before the end of the input", 1, 5],
    ["NUL in a name", '{"a\0b"} 1', "NUL in a quoted name", 1, 4],
    ["NUL after a backslash", '{"a\\\0"} 1', "backslash before", 1, 5],
    ["NUL in a HELP name", '# HELP "a\0" x', "NUL in a quoted metric name", 1, 10],
    [
      "quoted name without = nor comma",
      '{"a" "b"="c"} 1',
      "expected '=' after label name \"a\"",
      1,
      6,
    ],
    ["quoted label name without =", 'foo{"a" 1', "expected '=' after label name \"a\"", 1, 9],
    ["single quotes", "{'a'} 1", "expected a label name or '}'", 1, 2],
    ["leading comma", '{,"a"} 1', "expected a label name or '}'", 1, 2],
    ["double comma", '{"a",,} 1', "expected a label name or '}'", 1, 6],
    ["second label block", '{"a"}{b="c"} 1', "expected a value after the metric", 1, 6],
    ["missing value", '{"a"}\n', "expected a value after the metric", 1, 6],
    ["quoted name glued to the label block", '"a"{b="c"} 1', "expected a metric name or '#'", 1, 1],
    [
      "__name__ label with a quoted name",
      '{"a", __name__="b"} 1',
      "duplicates the metric name",
      1,
      7,
    ],
    ['quoted "__name__" label', '{"a", "__name__"="b"} 1', "duplicates the metric name", 1, 8],
    ["same label quoted and not", 'foo{"x"="1", x="2"} 1', 'duplicate label name "x"', 1, 14],
    [
      "same label after unescaping",
      'foo{"a\\"b"="1", "a\\"b"="2"} 1',
      "duplicate label name",
      1,
      18,
    ],
  ];
  for (const [name, text, includes, line, column] of bad) {
    await t.step(name, () => fails(text, includes, line, column));
  }
});

// ------------------------------------------------------------ property tests

const NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/**
 * Names only the quoted syntax can carry: any non-empty well-formed string
 * without NUL (which a quoted name may not hold), syntax characters and
 * escapes included.
 */
const utf8Name = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom(
      ...[".", "-", " ", "\t", "{", "}", ",", "=", '"', "\\", "\n", "n", "#", "a", "_", ":", "0"],
      ...["é", "°", "温", "ключ", "🌍", "\u2028", "\ufeff"],
    ),
    minLength: 1,
    maxLength: 10,
  }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }),
).filter((n) => !n.includes("\0") && n.isWellFormed());
const metricName = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(...(NAME_START + ":")),
      fc.string({ unit: fc.constantFrom(...(NAME_START + ":0123456789")), maxLength: 20 }),
    ).map(([a, b]) => a + b),
  },
  { weight: 1, arbitrary: utf8Name },
);
const labelName = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(...NAME_START),
      fc.string({ unit: fc.constantFrom(...(NAME_START + "0123456789")), maxLength: 12 }),
    ).map(([a, b]) => a + b),
  },
  { weight: 1, arbitrary: utf8Name },
).filter((n) => n !== "__name__");
const labelValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({
    unit: fc.constantFrom("\\", '"', "n", "\n", "t", "a", " ", "{", "}", ",", "=", "\0"),
    maxLength: 12,
  }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
);
const sampleValue = fc.oneof(
  fc.double(),
  fc.integer().map((i) => i),
  fc.constantFrom(0, -0, 1, NaN, Infinity, -Infinity, 0.1, 1e-7, 1e21, 123456789),
);

function escapeValue(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A name in quotes; newlines are escaped, or kept raw when `raw` (Prometheus accepts both). */
function quoteName(n: string, raw = false): string {
  const e = n.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return '"' + (raw ? e : e.replaceAll("\n", "\\n")) + '"';
}

/** A metric name as HELP and TYPE lines write it: quoted when it is not a legacy name. */
function metaName(n: string): string {
  return LEGACY_METRIC_NAME.test(n) ? n : quoteName(n);
}

/** Spellings of a value as exporters write them. */
function renderValue(v: number, style: number): string {
  if (Number.isNaN(v)) return ["NaN", "nan", "NAN"][style % 3];
  if (v === Infinity) return ["+Inf", "Inf", "inf", "+Infinity"][style % 4];
  if (v === -Infinity) return ["-Inf", "-inf", "-Infinity"][style % 3];
  if (Object.is(v, -0)) return "-0";
  if (style % 3 === 0) return formatGoFloat(v);
  if (style % 3 === 1) return String(v);
  return v.toExponential();
}

interface GenSeries {
  name: string;
  labels: [string, string][];
  value: number;
  ts: number | null;
  style: number;
  sep: string;
  trailingComma: boolean;
  /** Quoting: whether legacy names are quoted too, where the quoted metric name goes, raw newlines. */
  quote: number;
}

const series: fc.Arbitrary<GenSeries> = fc.record({
  name: metricName,
  labels: fc.uniqueArray(fc.tuple(labelName, labelValue), { maxLength: 6, selector: (l) => l[0] }),
  value: sampleValue,
  ts: fc.option(fc.integer({ min: 0, max: 2 ** 53 - 1 })),
  style: fc.nat(),
  sep: fc.constantFrom(" ", "\t", "  ", " \t"),
  trailingComma: fc.boolean(),
  quote: fc.nat(),
});

/**
 * Writes a series line: legacy names as they are (or quoted, by `quote`),
 * other names quoted, the metric name then inside the braces at a position
 * chosen by `quote`.
 */
function renderSeries(s: GenSeries): string {
  const quoteAll = s.quote % 4 === 0;
  const raw = s.quote % 5 === 0;
  const items = s.labels.map(([n, v]) =>
    `${quoteAll || !LEGACY_LABEL_NAME.test(n) ? quoteName(n, raw) : n}="${escapeValue(v)}"`
  );
  let line: string;
  if (!quoteAll && LEGACY_METRIC_NAME.test(s.name)) {
    line = s.name;
    if (items.length > 0 || s.trailingComma) {
      line += "{" + items.join(",");
      if (s.trailingComma && items.length > 0) line += ",";
      line += "}";
    }
  } else {
    items.splice(s.quote % (items.length + 1), 0, quoteName(s.name, raw));
    line = "{" + items.join(s.quote % 3 === 0 ? ", " : ",") + (s.trailingComma ? "," : "") + "}";
  }
  line += s.sep + renderValue(s.value, s.style);
  if (s.ts !== null) line += s.sep + s.ts;
  return line;
}

const document = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: series.map(renderSeries) },
    {
      weight: 1,
      arbitrary: fc.tuple(metricName, fc.string({ maxLength: 20 })).map(([n, h]) =>
        `# HELP ${metaName(n)} ${h.replaceAll("\n", "\\n")}`
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        metricName,
        fc.constantFrom("counter", "gauge", "histogram", "summary", "untyped"),
      ).map(
        ([n, t]) => `# TYPE ${metaName(n)} ${t}`,
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom("", "# a comment", "#", "  ", "#no space") },
  ),
  { maxLength: 12 },
).map((lines) => lines.join("\n"));

Deno.test("PromParser round-trips generated series, UTF-8 names included", () => {
  fc.assert(
    fc.property(
      fc.array(series, { minLength: 1, maxLength: 10 }),
      fc.boolean(),
      (list, finalNewline) => {
        const text = list.map(renderSeries).join("\n") + (finalNewline ? "\n" : "");
        const p = new PromParser(text);
        for (const s of list) {
          assert.equal(p.next(), "series");
          const want = Labels.fromPairs([["__name__", s.name], ...s.labels]);
          assert.ok(p.labels().equals(want), `${p.labels()} != ${want}`);
          assert.ok(Object.is(p.value(), s.value), `value ${p.value()} != ${s.value}`);
          assert.equal(p.timestamp(), s.ts);
          assert.equal(p.metricName(), s.name);
          assert.ok(p.series().startsWith(p.series()[0] === "{" ? "{" : s.name));
        }
        assert.equal(p.next(), null);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("PromParser value fast path agrees with Number() on decimal literals", () => {
  const dig = (max: number) =>
    fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: max });
  const literal = fc.record({
    sign: fc.constantFrom("", "-", "+"),
    int: dig(20),
    frac: fc.option(dig(20)),
    exp: fc.option(
      fc.tuple(
        fc.constantFrom("e", "E"),
        fc.constantFrom("", "-", "+"),
        fc.integer({ min: 0, max: 330 }),
      ),
    ),
  }).map(({ sign, int, frac, exp }) =>
    sign + int + (frac === null ? "" : "." + frac) + (exp === null ? "" : exp[0] + exp[1] + exp[2])
  ).filter((s) => /\d/.test(s));
  fc.assert(
    fc.property(literal, (lit) => {
      const want = Number(lit);
      const p = new PromParser(`m ${lit}\n`);
      if (!Number.isFinite(want)) {
        assert.throws(() => p.next(), ParseError);
        return;
      }
      assert.equal(p.next(), "series");
      assert.ok(Object.is(p.value(), want), `${lit}: ${p.value()} != ${want}`);
    }),
    { numRuns: 5000 },
  );
});

/** Drains the parser; returns the number of entries, or the ParseError. */
function drain(text: string): number | ParseError {
  const p = new PromParser(text);
  let count = 0;
  try {
    for (let k = p.next(); k !== null; k = p.next()) {
      if (++count > text.length + 1) throw new Error("parser does not advance");
      if (k === "series") {
        p.series();
        p.ownedSeries();
        p.metricName();
        p.value();
        p.timestamp();
        p.labels();
      } else {
        p.family();
        p.type();
        p.help();
      }
    }
  } catch (e) {
    if (e instanceof ParseError) {
      assert.ok(e.line >= 1 && e.column >= 1, e.message);
      return e;
    }
    throw e;
  }
  return count;
}

Deno.test("PromParser only ever throws ParseError on mutated input, and terminates", () => {
  const garbage = fc.constantFrom(
    ...'{}=",\\ \t\n\r#\0:_.-+eEpP0123456789aZ',
    "HELP ",
    "TYPE ",
    "# HELP ",
    "# TYPE x histogram\n",
    "le=",
    "Inf",
    "NaN",
    "\ud800",
    "é",
    "🌍",
    '{"',
    '"}',
    '"a.b"',
    '"é"=',
    '# HELP "',
  );
  const mutation = fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), garbage);
  fc.assert(
    fc.property(document, fc.array(mutation, { maxLength: 8 }), (doc, muts) => {
      let text = doc;
      for (const [at, op, g] of muts) {
        const i = text.length === 0 ? 0 : at % (text.length + 1);
        if (op === "insert") text = text.slice(0, i) + g + text.slice(i);
        else if (op === "delete") text = text.slice(0, i) + text.slice(i + 1);
        else text = text.slice(0, i) + g + text.slice(i + g.length);
      }
      drain(text);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("PromParser only ever throws ParseError on random input", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: fc.constantFrom(...'{}=",\\ \t\n#\0ab_:.-+e019'), maxLength: 200 }),
      ),
      (text) => {
        drain(text);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("PromParser parses every generated document without error", () => {
  fc.assert(
    fc.property(document, (doc) => {
      // The generator only writes valid lines (label names are unique per
      // series), so nothing may fail.
      const r = drain(doc);
      assert.equal(typeof r, "number", r instanceof ParseError ? `${r.message}\n${doc}` : "");
    }),
    { numRuns: 1000 },
  );
});

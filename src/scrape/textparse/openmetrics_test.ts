import assert from "node:assert/strict";
import fc from "fast-check";
import { Labels } from "../../model/labels.ts";
import { formatGoFloat, formatOpenMetricsFloat } from "./float.ts";
import { createParser, type MetricType } from "./mod.ts";
import {
  EXEMPLAR_MAX_LABEL_SET_LENGTH,
  type OpenMetricsOptions,
  OpenMetricsParser,
  ParseError,
  toMillis,
} from "./openmetrics.ts";

// ------------------------------------------------------------------ helpers

const EOF = "# EOF\n";

/**
 * One parsed entry in compact form:
 * - `["help" | "type" | "unit", family, text]`
 * - `[series, labels.toString(), value]` or `[series, labels, value, timestamp]`
 */
type Row =
  | ["help" | "type" | "unit", string, string]
  | [string, string, number]
  | [string, string, number, number];

/** Parses all of `text`, calling every accessor, into rows. */
function rows(text: string, opts?: OpenMetricsOptions): Row[] {
  const p = new OpenMetricsParser(text, opts);
  const out: Row[] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === "help") out.push(["help", p.family(), p.help()]);
    else if (k === "type") out.push(["type", p.family(), p.type()]);
    else if (k === "unit") out.push(["unit", p.family(), p.unit()]);
    else {
      const ts = p.timestamp();
      const ls = p.labels().toString();
      assert.equal(p.ownedSeries(), p.series());
      if (!p.series().startsWith("{")) assert.ok(p.series().startsWith(p.metricName()));
      out.push(ts === null ? [p.series(), ls, p.value()] : [p.series(), ls, p.value(), ts]);
    }
  }
  return out;
}

/** `text` parses to exactly `want`. Values compare with Object.is (NaN, -0). */
function check(text: string, want: Row[], opts?: OpenMetricsOptions): void {
  const got = rows(text, opts);
  assert.equal(
    got.length,
    want.length,
    `entries of ${JSON.stringify(text)}: ${JSON.stringify(got)}`,
  );
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (w[0] === "help" || w[0] === "type" || w[0] === "unit") {
      assert.deepEqual(g, w);
      continue;
    }
    assert.equal(g[0], w[0], "series");
    assert.equal(g[1], w[1], "labels");
    assert.ok(Object.is(g[2], w[2]), `value: got ${g[2]}, want ${w[2]}`);
    assert.equal(g[3], w[3], "timestamp");
  }
}

/** The single series line `line` (EOF appended) parses to `labels` and `value` (and `ts`). */
function one(line: string, labels: string, value: number, ts?: number): void {
  const got = rows(line + "\n" + EOF);
  assert.equal(got.length, 1, JSON.stringify(got));
  const g = got[0];
  assert.equal(g[1], labels, "labels");
  assert.ok(Object.is(g[2], value), `value: got ${g[2]}, want ${value}`);
  assert.equal(g[3], ts, "timestamp");
}

/** The first series entry of `text`. */
function first(text: string, opts?: OpenMetricsOptions): OpenMetricsParser {
  const p = new OpenMetricsParser(text, opts);
  for (let k = p.next(); k !== null; k = p.next()) if (k === "series") return p;
  throw new Error("no series");
}

/** Parsing `text` (labels included) throws a ParseError mentioning `includes`, at `line`[:`column`]. */
function fails(
  text: string,
  includes: string,
  line: number,
  column?: number,
  opts?: OpenMetricsOptions,
): void {
  let err: unknown;
  try {
    rows(text, opts);
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
}

// -------------------------------------------------------------------- lines

Deno.test("OpenMetricsParser parses series lines", async (t) => {
  const ok: [string, string, string, number, number?][] = [
    ["plain", "foo 1", '{__name__="foo"}', 1],
    ["labels", 'foo{a="b",c="d"} 2', '{__name__="foo", a="b", c="d"}', 2],
    ["labels sorted", 'foo{z="1",a="2",M="3"} 2', '{M="3", __name__="foo", a="2", z="1"}', 2],
    ["legacy name chars", "a:b_c:9 1", '{__name__="a:b_c:9"}', 1],
    ["leading underscore and colon", ':_x{_y="1"} 1', '{__name__=":_x", _y="1"}', 1],
    ["trailing comma", 'foo{a="b",} 1', '{__name__="foo", a="b"}', 1],
    ["empty braces", "foo{} 1", '{__name__="foo"}', 1],
    ["timestamp", "foo 1 1520879607.789", '{__name__="foo"}', 1, 1520879607789],
    [
      "label value with spaces and braces",
      'foo{a="x y} {z,="} 1',
      '{__name__="foo", a="x y} {z,="}',
      1,
    ],
    ["label value with UTF-8", 'foo{a="Grüße 🌍"} 1', '{__name__="foo", a="Grüße 🌍"}', 1],
    ["label value with NUL", 'foo{a="x\0y"} 1', '{__name__="foo", a="x\0y"}', 1],
    ["label value with a hash", 'foo{a="# {x}"} 1', '{__name__="foo", a="# {x}"}', 1],
    ["label value with \\r and tab", 'foo{a="\r\t"} 1', '{__name__="foo", a="\r\t"}', 1],
    ["__name__-like label", 'foo{__name="x"} 1', '{__name="x", __name__="foo"}', 1],
    ["label names with digits", 'foo{a1="x",_2="y"} 1', '{_2="y", __name__="foo", a1="x"}', 1],
  ];
  for (const [name, line, labels, v, ts] of ok) {
    await t.step(name, () => one(line, labels, v, ts));
  }
});

Deno.test("OpenMetricsParser.series() is the raw series text, exactly as written", async (t) => {
  const cases: [string, string][] = [
    ["foo 1", "foo"],
    ["foo{} 1", "foo{}"],
    ['foo{a="b"} 1 2', 'foo{a="b"}'],
    ['foo{a="b",} 1', 'foo{a="b",}'],
    ['foo{a="\\n\\"\\\\"} 1', 'foo{a="\\n\\"\\\\"}'],
    ['foo{a="b"} 1 # {t="x"} 2 3', 'foo{a="b"}'],
  ];
  for (const [line, series] of cases) {
    await t.step(JSON.stringify(line), () => {
      const p = new OpenMetricsParser(line + "\n" + EOF);
      assert.equal(p.next(), "series");
      assert.equal(p.series(), series);
      assert.equal(p.ownedSeries(), series);
      assert.equal(p.metricName(), "foo");
      assert.equal(p.next(), null);
      assert.equal(p.next(), null, "stays at the end");
    });
  }
});

Deno.test("OpenMetricsParser resolves label value escapes like Prometheus' replacer", async (t) => {
  const cases: [string, string][] = [
    ['"a\\\\b"', "a\\b"],
    ['"a\\"b"', 'a"b'],
    ['"a\\nb"', "a\nb"],
    ['"a\\tb"', "a\\tb"], // unknown escape kept
    ['"a\\\\nb"', "a\\nb"], // escaped backslash, then a plain n
    ['"\\\\\\""', '\\"'],
    ['"\\\\"', "\\"],
    ['"\\u00e9"', "\\u00e9"],
  ];
  for (const [raw, want] of cases) {
    await t.step(raw, () => {
      const p = first(`foo{a=${raw}} 1\n${EOF}`);
      assert.equal(p.labels().get("a"), want);
    });
  }
});

Deno.test("OpenMetricsParser drops empty label values and rejects duplicate names", async (t) => {
  await t.step("empty value", () => one('foo{a="",b="x"} 1', '{__name__="foo", b="x"}', 1));
  await t.step(
    "duplicate",
    () => fails(`foo{a="1",a="2"} 1\n${EOF}`, 'duplicate label name "a"', 1, 11),
  );
  await t.step(
    "duplicate, both empty",
    () => fails(`foo{a="",a=""} 1\n${EOF}`, "duplicate label name", 1),
  );
  await t.step(
    "__name__ label",
    () => fails(`foo{__name__="bar"} 1\n${EOF}`, "duplicates the metric name", 1, 5),
  );
  await t.step(
    "lone surrogate",
    () => fails(`foo{a="\ud800"} 1\n${EOF}`, "not valid UTF-8", 1, 8),
  );
});

Deno.test("OpenMetricsParser handles many labels and long lines", () => {
  const names = Array.from({ length: 40 }, (_, i) => `l${String(i).padStart(2, "0")}`);
  const long = "v".repeat(5000);
  const line = (metric: string, v: number) =>
    `${metric}{${names.map((n) => `${n}="${n}-${long}"`).join(",")}} ${v}\n`;
  const p = new OpenMetricsParser(line("m", 1) + line("n", 2) + EOF);
  for (const want of ["m", "n"]) {
    assert.equal(p.next(), "series");
    const ls = p.labels();
    assert.equal(ls.size, 41);
    assert.equal(ls.get("__name__"), want);
    assert.equal(ls.get("l39"), "l39-" + long);
  }
  assert.equal(p.next(), null);
});

// ----------------------------------------------------------------- metadata

Deno.test("OpenMetricsParser reads HELP, TYPE and UNIT lines", async (t) => {
  await t.step("all three, in order", () =>
    check(
      "# TYPE foo_seconds counter\n# UNIT foo_seconds seconds\n# HELP foo_seconds Time spent.\n" +
        "foo_seconds_total 1\n" + EOF,
      [
        ["type", "foo_seconds", "counter"],
        ["unit", "foo_seconds", "seconds"],
        ["help", "foo_seconds", "Time spent."],
        ["foo_seconds_total", '{__name__="foo_seconds_total"}', 1],
      ],
    ));
  const help: [string, string, string][] = [
    ["escapes", 'a\\\\b \\n \\"q\\"', 'a\\b \n "q"'],
    ["unknown escape kept", "a\\tb", "a\\tb"],
    ["empty", "", ""],
    ["leading blank kept", "  x", "  x"],
    ["trailing blanks kept", "x  ", "x  "],
    ["UTF-8", "Grüße 🌍", "Grüße 🌍"],
    ["hash and braces", "# {x} 1", "# {x} 1"],
  ];
  for (const [name, raw, want] of help) {
    await t.step(`HELP ${name}`, () => check(`# HELP foo ${raw}\n${EOF}`, [["help", "foo", want]]));
  }
  for (
    const ty of [
      "counter",
      "gauge",
      "histogram",
      "gaugehistogram",
      "summary",
      "info",
      "stateset",
      "unknown",
    ]
  ) {
    await t.step(`TYPE ${ty}`, () => check(`# TYPE foo ${ty}\n${EOF}`, [["type", "foo", ty]]));
  }
  const units: [string, string][] = [
    ["foo_seconds", "seconds"],
    ["foo_bytes_per_second", "bytes_per_second"],
    ["_seconds", "seconds"],
    ["foo", ""],
    ["a:b_c", "c"],
  ];
  for (const [name, unit] of units) {
    await t.step(
      `UNIT ${name} ${JSON.stringify(unit)}`,
      () => check(`# UNIT ${name} ${unit}\n${EOF}`, [["unit", name, unit]]),
    );
  }
  await t.step("metadata of a new family resets the others", () => {
    const p = new OpenMetricsParser(
      "# TYPE a counter\n# HELP a x\n# UNIT a_b b\n# HELP b y\n" + EOF,
    );
    assert.equal(p.next(), "type");
    assert.equal(p.next(), "help");
    assert.deepEqual([p.family(), p.type(), p.help(), p.unit()], ["a", "counter", "x", ""]);
    assert.equal(p.next(), "unit");
    assert.deepEqual([p.family(), p.type(), p.help(), p.unit()], ["a_b", "unknown", "", "b"]);
    assert.equal(p.next(), "help");
    assert.deepEqual([p.family(), p.type(), p.help(), p.unit()], ["b", "unknown", "y", ""]);
    assert.equal(p.next(), null);
  });
});

Deno.test("OpenMetricsParser rejects malformed metadata", async (t) => {
  const bad: [string, string, string, number, number][] = [
    ["untyped is not OpenMetrics", "# TYPE foo untyped\n", 'invalid metric type "untyped"', 1, 12],
    ["unknown type", "# TYPE foo bar\n", 'invalid metric type "bar"', 1, 12],
    ["type with blank", "# TYPE foo counter \n", 'invalid metric type "counter "', 1, 12],
    ["two blanks before type", "# TYPE foo  counter\n", 'invalid metric type " counter"', 1, 12],
    ["type in capitals", "# TYPE foo COUNTER\n", "invalid metric type", 1, 12],
    ["type \\r", "# TYPE foo gauge\r\n", "invalid metric type", 1, 12],
    [
      "unit not a suffix",
      "# UNIT foo seconds\n",
      'unit "seconds" not a suffix of metric "foo"',
      1,
      12,
    ],
    ["unit without _", "# UNIT fooseconds seconds\n", "not a suffix of metric", 1, 19],
    ["unit is the name", "# UNIT seconds seconds\n", "not a suffix of metric", 1, 16],
    ["unit in the middle", "# UNIT foo_seconds_total seconds\n", "not a suffix", 1, 26],
    [
      "HELP without text",
      "# HELP foo\n",
      "expected a blank and text after the metric name in HELP",
      1,
      11,
    ],
    ["TYPE without type", "# TYPE foo\n", "expected a blank and text", 1, 11],
    ["name glued to junk", "# HELP foo-bar x\n", "expected a blank and text", 1, 11],
    ["no name", "# HELP  x\n", "expected a metric name after HELP", 1, 8],
    ["digit name", "# TYPE 1foo gauge\n", "expected a metric name after TYPE", 1, 8],
    ["lone surrogate in HELP", "# HELP foo \ud800\n", "not valid UTF-8", 1, 12],
    ["other comment", "# foo\n", "expected HELP, TYPE, UNIT or EOF", 1, 3],
    ["comment without blank", "#HELP foo x\n", "expected a blank after '#'", 1, 2],
    ["two blanks after #", "#  HELP foo x\n", "expected HELP, TYPE, UNIT or EOF", 1, 3],
    ["lower-case keyword", "# help foo x\n", "expected HELP, TYPE, UNIT or EOF", 1, 3],
    ["keyword with tab", "# HELP\tfoo x\n", "expected HELP, TYPE, UNIT or EOF", 1, 3],
    ["lone #", "#\n", "expected a blank after '#'", 1, 2],
  ];
  for (const [name, text, msg, line, col] of bad) {
    await t.step(name, () => fails(text + EOF, msg, line, col));
  }
  await t.step(
    "error on a later line",
    () => fails("# TYPE a gauge\na 1\n# TYPE b nope\n" + EOF, "invalid metric type", 3, 10),
  );
});

Deno.test("OpenMetricsParser reports the family, type, help and unit of series", async (t) => {
  const doc = [
    "# TYPE c counter",
    "# HELP c Counts.",
    "c_total 1",
    "c_created 2",
    "c 3",
    "# TYPE h_seconds histogram",
    "# UNIT h_seconds seconds",
    'h_seconds_bucket{le="1"} 1',
    "h_seconds_count 1",
    "h_seconds_sum 1",
    "h_seconds_created 1",
    "h_seconds 1",
    "h_seconds_total 1",
    "# TYPE g gauge",
    "g 1",
    "g_total 1",
    "# TYPE gh gaugehistogram",
    'gh_bucket{le="1"} 1',
    "gh_gcount 1",
    "gh_gsum 1",
    "gh_created 1",
    "# TYPE s summary",
    's{quantile="0.5"} 1',
    "s_count 1",
    "s_sum 1",
    "s_created 1",
    "# TYPE i info",
    "i_info 1",
    "i 1",
    "# TYPE i2_info info",
    "i2_info 1",
    "# TYPE st stateset",
    'st{st="a"} 1',
    "# TYPE u unknown",
    "u 1",
    "# TYPE p_total counter",
    "p_total 1",
    "p 1",
    "other 1",
    "",
  ].join("\n") + EOF;
  const want: Record<string, [string, MetricType, string, string]> = {
    c_total: ["c", "counter", "Counts.", ""],
    c_created: ["c", "counter", "Counts.", ""],
    c: ["c", "counter", "Counts.", ""], // Prometheus' family matching allows the bare name
    h_seconds_bucket: ["h_seconds", "histogram", "", "seconds"],
    h_seconds_count: ["h_seconds", "histogram", "", "seconds"],
    h_seconds_sum: ["h_seconds", "histogram", "", "seconds"],
    h_seconds_created: ["h_seconds", "histogram", "", "seconds"],
    h_seconds: ["h_seconds", "histogram", "", "seconds"],
    h_seconds_total: ["h_seconds_total", "unknown", "", ""],
    g: ["g", "gauge", "", ""],
    g_total: ["g_total", "unknown", "", ""],
    gh_bucket: ["gh", "gaugehistogram", "", ""],
    gh_gcount: ["gh", "gaugehistogram", "", ""],
    gh_gsum: ["gh", "gaugehistogram", "", ""],
    gh_created: ["gh_created", "unknown", "", ""],
    s: ["s", "summary", "", ""],
    s_count: ["s", "summary", "", ""],
    s_sum: ["s", "summary", "", ""],
    s_created: ["s", "summary", "", ""],
    i_info: ["i", "info", "", ""],
    i: ["i", "info", "", ""],
    i2_info: ["i2_info", "info", "", ""],
    st: ["st", "stateset", "", ""],
    u: ["u", "unknown", "", ""],
    p_total: ["p_total", "counter", "", ""],
    p: ["p_total", "counter", "", ""],
    other: ["other", "unknown", "", ""],
  };
  const p = new OpenMetricsParser(doc);
  const seen = new Set<string>();
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k !== "series") continue;
    const name = p.metricName();
    await t.step(name, () => {
      assert.deepEqual([p.family(), p.type(), p.help(), p.unit()], want[name]);
    });
    seen.add(name);
  }
  assert.equal(seen.size, Object.keys(want).length);
});

// ---------------------------------------------------------------------- EOF

Deno.test("OpenMetricsParser requires # EOF and nothing after it", async (t) => {
  await t.step("EOF only", () => check("# EOF\n", []));
  await t.step(
    "EOF without newline",
    () => check("foo 1\n# EOF", [["foo", '{__name__="foo"}', 1]]),
  );
  await t.step("next() after EOF stays null", () => {
    const p = new OpenMetricsParser("# EOF\n");
    assert.equal(p.next(), null);
    assert.equal(p.next(), null);
  });
  const bad: [string, string, string, number, number][] = [
    ["empty input", "", "data does not end with # EOF", 1, 1],
    ["no EOF after a series", "foo 1\n", "data does not end with # EOF", 2, 1],
    ["no EOF, no newline", "foo 1", "data does not end with # EOF", 1, 6],
    ["no EOF after labels", 'foo{a="b"} 1 2', "data does not end with # EOF", 1, 15],
    ["no EOF after an exemplar", "foo_total 1 # {} 2", "data does not end with # EOF", 1, 19],
    ["no EOF after metadata", "# TYPE foo gauge\n", "data does not end with # EOF", 2, 1],
    ["metadata line unterminated", "# TYPE foo gauge", "data does not end with # EOF", 1, 17],
    ["blank line after EOF", "# EOF\n\n", "unexpected data after # EOF", 2, 1],
    ["series after EOF", "# EOF\nfoo 1\n", "unexpected data after # EOF", 2, 1],
    ["second EOF", "# EOF\n# EOF\n", "unexpected data after # EOF", 2, 1],
    ["blank after EOF", "# EOF ", "unexpected data after # EOF", 1, 6],
    ["junk glued to EOF", "# EOFX\n", "unexpected data after # EOF", 1, 6],
    ["CRLF", "# EOF\r\n", "unexpected data after # EOF", 1, 6],
    ["lower-case eof", "# eof\n", "expected HELP, TYPE, UNIT or EOF", 1, 3],
    ["EOF without blank", "#EOF\n", "expected a blank after '#'", 1, 2],
  ];
  for (const [name, text, msg, line, col] of bad) {
    await t.step(name, () => fails(text, msg, line, col));
  }
  await t.step("entries before the missing EOF are returned first", () => {
    const p = new OpenMetricsParser("foo 1\n");
    assert.equal(p.next(), "series");
    assert.throws(() => p.next(), (e) => e instanceof ParseError && e.line === 2);
  });
});

// ------------------------------------------------------------------- syntax

Deno.test("OpenMetricsParser rejects malformed series lines with line and column", async (t) => {
  const bad: [string, string, string, number?][] = [
    ["blank line", "\n", "blank lines are not allowed", 1],
    ["leading blank", " foo 1\n", "unexpected blank at the start of a line", 1],
    ["leading tab", "\tfoo 1\n", "unexpected blank at the start of a line", 1],
    ["CRLF", "foo 1\r\n", 'value "1\\r" is not a number', 5],
    ["BOM", "\ufefffoo 1\n", "expected a metric name or '#'", 1],
    ["NUL at start", "\0foo 1\n", "expected a metric name or '#'", 1],
    ["digit start", "1foo 1\n", "expected a metric name or '#'", 1],
    ["labels without name", '{a="b"} 1\n', "no metric name", 1],
    ["no value", "foo\n", "expected a blank and a value after the metric", 4],
    ["no value after labels", 'foo{a="b"}\n', "expected a blank and a value", 11],
    ["tab before value", "foo\t1\n", "expected a blank before the value", 4],
    ["value glued to name", "foo-1\n", "expected a blank before the value", 4],
    ["two blanks before value", "foo  1\n", "expected a value", 5],
    ["blank before labels", 'foo {a="b"} 1\n', 'value "{a=\\"b\\"}" is not a number', 5],
    ["blank after labels", 'foo{a="b"}  1\n', "expected a value", 12],
    ["trailing blank", "foo 1 \n", "expected a timestamp", 7],
    ["two blanks before timestamp", "foo 1  2\n", "expected a timestamp", 7],
    ["tab before timestamp", "foo 1\t2\n", 'value "1\\t2" is not a number', 5],
    ["second timestamp", "foo 1 2 3\n", "expected the end of the line or an exemplar", 9],
    ["NUL after value", "foo 1\0\n", "expected the end of the line after the value", 6],
    ["blank inside labels", 'foo{a="b", c="d"} 1\n', "unexpected blank in the label set", 11],
    ["blank before =", 'foo{a ="b"} 1\n', "expected '=' after label name \"a\"", 6],
    ["blank after =", 'foo{a= "b"} 1\n', "expected '\"' to open the value", 7],
    ["blank after {", 'foo{ a="b"} 1\n', "unexpected blank in the label set", 5],
    ["no comma", 'foo{a="1"b="2"} 1\n', "expected ',' or '}' after a label value", 10],
    ["two label sets", 'foo{a="b"}{c="d"} 1\n', "expected a blank before the value", 11],
    ["lone comma", "foo{,} 1\n", "expected a label name or '}'", 5],
    ["double comma", 'foo{a="b",,} 1\n', "expected a label name or '}'", 11],
    ["unquoted value", "foo{a=b} 1\n", "expected '\"' to open the value", 7],
    ["colon in label name", 'foo{a:b="c"} 1\n', "expected '=' after label name \"a\"", 6],
    ["digit label name", 'foo{1="c"} 1\n', "expected a label name or '}'", 5],
    ["newline in label value", 'foo{a="x\ny"} 1\n', "newline in the value of label", 9],
    ["unterminated label value", 'foo{a="x', "newline in the value of label", 14],
    ["backslash before newline", 'foo{a="x\\\n"} 1\n', "backslash at the end of a line", 10],
    ["unterminated label set", 'foo{a="b"', "expected ',' or '}'", 10],
    ["value with _", "foo 1_000\n", 'unsupported character "_" in value', 6],
    ["value in hex", "foo 0x10\n", 'value "0x10" is not a number', 5],
    ["value hex float", "foo 0x1p3\n", 'unsupported character "p"', 8],
    ["value out of range", "foo 1e400\n", 'value "1e400" is out of range', 5],
    ["value empty exponent", "foo 1e\n", 'value "1e" is not a number', 5],
    ["value Infinity with junk", "foo Infx\n", 'value "Infx" is not a number', 5],
    ["value with braces", "foo 1{\n", 'value "1{" is not a number', 5],
    ["timestamp NaN", "foo 1 NaN\n", 'invalid timestamp "NaN"', 7],
    ["timestamp Inf", "foo 1 +Inf\n", 'invalid timestamp "+Inf"', 7],
    ["timestamp with _", "foo 1 1_5\n", 'unsupported character "_" in timestamp', 8],
    ["timestamp junk", "foo 1 abc\n", 'timestamp "abc" is not a number', 7],
    ["timestamp out of range", "foo 1 1e999\n", 'timestamp "1e999" is out of range', 7],
  ];
  for (const [name, line, msg, col] of bad) {
    await t.step(name, () => fails(line + EOF, msg, 1, col));
  }
  await t.step(
    "error on the third line",
    () => fails("# TYPE a gauge\na 1\na{b=1} 1\n" + EOF, "expected '\"' to open the value", 3, 5),
  );
  await t.step(
    "unterminated label value at the end",
    () => fails('foo{a="x', "unterminated value of label", 1, 7),
  );
});

// ------------------------------------------------------------------- values

Deno.test("OpenMetricsParser reads values with Go ParseFloat semantics", async (t) => {
  const ok: [string, number][] = [
    ["1", 1],
    ["-1", -1],
    ["+1", 1],
    ["1.5", 1.5],
    [".5", 0.5],
    ["1.", 1],
    ["-0", -0],
    ["0", 0],
    ["1e3", 1000],
    ["1E-3", 0.001],
    ["1.5e+2", 150],
    ["123456789012345678901234567890", 1.2345678901234568e29],
    ["0.1", 0.1],
    ["1e-400", 0],
    ["4.9e-324", 5e-324],
    ["1.7976931348623157e308", 1.7976931348623157e308],
    ["NaN", NaN],
    ["nan", NaN],
    ["Inf", Infinity],
    ["+Inf", Infinity],
    ["-Inf", -Infinity],
    ["+inf", Infinity],
    ["-INF", -Infinity],
    ["Infinity", Infinity],
    ["-infinity", -Infinity],
    ["00012", 12],
  ];
  for (const [text, want] of ok) {
    await t.step(text, () => one(`foo ${text}`, '{__name__="foo"}', want));
  }
  await t.step("fast path agrees with Number() on decimal literals", () => {
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
      sign + int + (frac === null ? "" : "." + frac) +
      (exp === null ? "" : exp[0] + exp[1] + exp[2])
    ).filter((s) => /\d/.test(s));
    fc.assert(
      fc.property(literal, (lit) => {
        const want = Number(lit);
        const p = new OpenMetricsParser(`m ${lit} ${lit}\n${EOF}`);
        if (!Number.isFinite(want)) {
          assert.throws(() => p.next(), ParseError);
          return;
        }
        assert.equal(p.next(), "series");
        assert.ok(Object.is(p.value(), want), `${lit}: ${p.value()} != ${want}`);
        assert.equal(p.timestamp(), toMillis(want));
      }),
      { numRuns: 3000 },
    );
  });
});

Deno.test("OpenMetricsParser reads timestamps as seconds, truncated to milliseconds", async (t) => {
  const ok: [string, number][] = [
    ["1.5", 1500],
    ["1e3", 1_000_000],
    ["0", 0],
    ["-0", 0],
    ["1", 1000],
    ["1520879607.789", 1520879607789],
    ["1520879607.7895", 1520879607789], // sub-millisecond digits are cut, not rounded
    ["0.0009", 0],
    ["-0.0009", 0], // toward zero, and no negative zero
    ["-1.5", -1500],
    ["-1.0009", -1000],
    ["1.001", 1000], // 1.001 * 1000 is 1000.9999999999999 in float64, as in Go
    ["1.005", 1004], // 1004.9999999999999: truncation loses the millisecond, as in Prometheus
    ["1234567890.123456789", 1234567890123],
    ["1e-400", 0],
    ["1e15", 1e18],
    ["9223372036854775.807", -(2 ** 63)], // 9223372036854776000 ms is beyond int64
    ["1e16", -(2 ** 63)], // beyond int64 milliseconds: Go's amd64 conversion yields MinInt64
    ["-1e16", -(2 ** 63)],
  ];
  for (const [text, want] of ok) {
    await t.step(text, () => {
      const p = first(`foo 1 ${text}\n${EOF}`);
      assert.ok(Object.is(p.timestamp(), want), `${text}: ${p.timestamp()} != ${want}`);
    });
  }
  await t.step("toMillis", () => {
    assert.equal(toMillis(1.5), 1500);
    assert.ok(Object.is(toMillis(-0.0001), 0));
    assert.equal(toMillis(NaN), -(2 ** 63));
    assert.equal(toMillis(Infinity), -(2 ** 63));
    assert.equal(toMillis(1e15), 1e18);
    assert.equal(toMillis(-9223372036854775.808), -(2 ** 63));
  });
});

// ---------------------------------------------------------- normalisation

Deno.test("OpenMetricsParser normalises le and quantile like Prometheus", async (t) => {
  const cases: [string, string, string, string][] = [
    ["histogram", 'h_bucket{le="1"}', "le", "1.0"],
    ["histogram", 'h_bucket{le="0"}', "le", "0.0"],
    ["histogram", 'h_bucket{le="1000000"}', "le", "1e+06"],
    ["histogram", 'h_bucket{le="0.00001"}', "le", "1e-05"],
    ["histogram", 'h_bucket{le="0.0001"}', "le", "0.0001"],
    ["histogram", 'h_bucket{le="999999"}', "le", "999999.0"],
    ["histogram", 'h_bucket{le="2.50"}', "le", "2.5"],
    ["histogram", 'h_bucket{le="+Inf"}', "le", "+Inf"],
    ["histogram", 'h_bucket{le="inf"}', "le", "+Inf"],
    ["histogram", 'h_bucket{le="-1"}', "le", "-1.0"],
    ["histogram", 'h_bucket{le="1_0"}', "le", "10.0"], // Go ParseFloat takes _ between digits
    ["histogram", 'h_bucket{le="0x10"}', "le", "0x10"], // Go ParseFloat needs a p exponent for hex
    ["histogram", 'h_bucket{le="abc"}', "le", "abc"],
    ["histogram", 'h_bucket{le=" 1"}', "le", " 1"],
    ["histogram", 'h_count{le="1"}', "le", "1.0"], // by type, not by sample name
    ["summary", 's{quantile="0.50"}', "quantile", "0.5"],
    ["summary", 's{quantile="1"}', "quantile", "1.0"],
    ["summary", 's{quantile="1e-7"}', "quantile", "1e-07"],
    ["summary", 's{le="1"}', "le", "1"],
    ["histogram", 'h_bucket{quantile="1"}', "quantile", "1"],
    ["gaugehistogram", 'g_bucket{le="1"}', "le", "1"], // Prometheus normalises histograms only
    ["counter", 'c_total{le="1"}', "le", "1"],
    ["gauge", 'g{quantile="1"}', "quantile", "1"],
    ["unknown", 'u{le="1"}', "le", "1"],
  ];
  for (const [type, series, label, want] of cases) {
    await t.step(`${type} ${series}`, () => {
      const name = series.slice(0, series.indexOf("{")).replace(/_(bucket|count|total)$/, "");
      const p = first(`# TYPE ${name} ${type}\n${series} 1\n${EOF}`);
      assert.equal(p.labels().get(label), want);
    });
  }
  await t.step("the last TYPE line decides, whatever family it named", () => {
    const p = new OpenMetricsParser(
      '# TYPE h histogram\n# HELP x other\nx{le="1"} 1\n# TYPE g gauge\ny{le="1"} 1\n' + EOF,
    );
    p.next();
    p.next();
    assert.equal(p.next(), "series");
    assert.equal(p.labels().get("le"), "1.0");
    p.next();
    assert.equal(p.next(), "series");
    assert.equal(p.labels().get("le"), "1");
  });
  await t.step("no TYPE, no normalisation", () => {
    assert.equal(first(`h_bucket{le="1"} 1\n${EOF}`).labels().get("le"), "1");
  });
});

// ---------------------------------------------------------------- exemplars

Deno.test("OpenMetricsParser reads exemplars", async (t) => {
  type Want = { labels: Record<string, string>; value: number; timestamp: number | null } | null;
  const cases: [string, string, Want, number?][] = [
    [
      "counter with timestamp",
      '# TYPE foo counter\nfoo_total 17 # {trace_id="KOO5S4vxi0o"} 0.67 1520879607.789',
      { labels: { trace_id: "KOO5S4vxi0o" }, value: 0.67, timestamp: 1520879607789 },
    ],
    [
      "bucket without timestamp",
      '# TYPE foo histogram\nfoo_bucket{le="0.1"} 8 # {id="a",span="b"} 0.054',
      { labels: { id: "a", span: "b" }, value: 0.054, timestamp: null },
    ],
    [
      "after the sample timestamp",
      'foo_total 1 2.5 # {a="b"} 3 4',
      { labels: { a: "b" }, value: 3, timestamp: 4000 },
      2500,
    ],
    ["empty label set", "foo_total 1 # {} 2", { labels: {}, value: 2, timestamp: null }],
    ["trailing comma", 'foo_total 1 # {a="b",} 2', {
      labels: { a: "b" },
      value: 2,
      timestamp: null,
    }],
    [
      "escapes resolved",
      'foo_total 1 # {a="x\\"y\\\\z\\n"} 2',
      { labels: { a: 'x"y\\z\n' }, value: 2, timestamp: null },
    ],
    [
      "quoted UTF-8 label names",
      'foo_total 1 # {"trace.id"="abc","ключ"="v",span_id="s"} 2',
      { labels: { "trace.id": "abc", "ключ": "v", span_id: "s" }, value: 2, timestamp: null },
    ],
    [
      "escapes in quoted label names resolved",
      'foo_total 1 # {"a\\"b\\\\c\\n"="v"} 2',
      { labels: { 'a"b\\c\n': "v" }, value: 2, timestamp: null },
    ],
    [
      "on a series with quoted names",
      '# TYPE "my.counter" counter\n{"my.counter_total","a.b"="c"} 1 # {"t.id"="x"} 2 3',
      { labels: { "t.id": "x" }, value: 2, timestamp: 3000 },
    ],
    ["empty value dropped", 'foo_total 1 # {a="",b="c"} 2', {
      labels: { b: "c" },
      value: 2,
      timestamp: null,
    }],
    ["NaN value", "foo_total 1 # {} NaN", { labels: {}, value: NaN, timestamp: null }],
    ["timestamp truncated", "foo_total 1 # {} 1 1.0009", { labels: {}, value: 1, timestamp: 1000 }],
    [
      "on a gauge (Prometheus does not check)",
      '# TYPE g gauge\ng 1 # {a="b"} 2',
      { labels: { a: "b" }, value: 2, timestamp: null },
    ],
    ["duplicate label names: dropped", 'foo_total 1 # {a="1",a="2"} 2', null],
    ["duplicate after dropping empty: kept", 'foo_total 1 # {a="",a="2"} 2', {
      labels: { a: "2" },
      value: 2,
      timestamp: null,
    }],
    [
      "128 code points: kept",
      `foo_total 1 # {trace_id="${"x".repeat(120)}"} 1`,
      { labels: { trace_id: "x".repeat(120) }, value: 1, timestamp: null },
    ],
    ["129 code points: dropped", `foo_total 1 # {trace_id="${"x".repeat(121)}"} 1`, null],
    [
      "code points, not UTF-16 units",
      `foo_total 1 # {a="${"🌍".repeat(127)}"} 1`,
      { labels: { a: "🌍".repeat(127) }, value: 1, timestamp: null },
    ],
    ["no exemplar", "foo_total 1 2", null, 2000],
  ];
  for (const [name, body, want, ts] of cases) {
    await t.step(name, () => {
      const p = first(body + "\n" + EOF);
      assert.equal(p.timestamp(), ts ?? null);
      const e = p.exemplar();
      if (want === null) {
        assert.equal(e, null);
        return;
      }
      assert.ok(e !== null);
      assert.deepEqual(e.labels.toObject(), want.labels);
      assert.ok(Object.is(e.value, want.value), `value ${e.value}`);
      assert.equal(e.timestamp, want.timestamp);
      assert.equal(p.exemplar(), e, "same object on repeated calls");
    });
  }
  await t.step("the exemplar belongs to its line only", () => {
    const p = new OpenMetricsParser('a_total 1 # {x="y"} 1\na_total 2\n' + EOF);
    p.next();
    assert.notEqual(p.exemplar(), null);
    p.next();
    assert.equal(p.exemplar(), null);
  });
  assert.equal(EXEMPLAR_MAX_LABEL_SET_LENGTH, 128);
  const bad: [string, string, string, number][] = [
    ["no brace", "foo_total 1 # x", "expected an exemplar '# {'", 13],
    ["no blank", "foo_total 1 #{}", "expected an exemplar '# {'", 13],
    ["two blanks", "foo_total 1 #  {}", "expected an exemplar '# {'", 13],
    ["no value", "foo_total 1 # {}", "expected a blank and a value after the exemplar labels", 17],
    ["no value, blank", "foo_total 1 # {} ", "expected an exemplar value", 18],
    ["two blanks before value", "foo_total 1 # {}  1", "expected an exemplar value", 18],
    ["bad value", "foo_total 1 # {} x", 'exemplar value "x" is not a number', 18],
    ["timestamp Inf", "foo_total 1 # {} 1 Inf", 'invalid exemplar timestamp "Inf"', 20],
    ["timestamp NaN", "foo_total 1 # {} 1 nan", 'invalid exemplar timestamp "nan"', 20],
    [
      "timestamp _",
      "foo_total 1 # {} 1 1_0",
      'unsupported character "_" in exemplar timestamp',
      21,
    ],
    [
      "junk after timestamp",
      "foo_total 1 # {} 1 2 3",
      "expected the end of the line after the exemplar",
      21,
    ],
    [
      "blank after timestamp",
      "foo_total 1 # {} 1 2 ",
      "expected the end of the line after the exemplar",
      21,
    ],
    [
      "blank in labels",
      'foo_total 1 # {a="b", c="d"} 1',
      "unexpected blank in the label set in the exemplar",
      22,
    ],
    ["newline in value", 'foo_total 1 # {a="x\ny"} 1', "newline in the value of label", 20],
    ["NUL in value", 'foo_total 1 # {a="x\0y"} 1', "NUL in the value of exemplar label", 20],
    [
      "quoted metric name",
      'foo_total 1 # {"a"} 1',
      "expected '=' after label name \"a\" in the exemplar (exemplars have no metric name)",
      19,
    ],
    ["quoted name, comma", 'foo_total 1 # {"a",b="c"} 1', "exemplars have no metric name", 19],
    ["empty quoted name", 'foo_total 1 # {""="b"} 1', "empty label name in the exemplar", 16],
    ["raw newline in a quoted name", 'foo_total 1 # {"a\nb"="c"} 1', "newline in a quoted", 18],
    ["NUL in a quoted name", 'foo_total 1 # {"a\0b"="c"} 1', "NUL in a quoted label name", 18],
    [
      "lone surrogate in a quoted name",
      'foo_total 1 # {"\udc00"="c"} 1',
      "exemplar label name",
      17,
    ],
    ["unquoted value", "foo_total 1 # {a=b} 1", "expected '\"' to open the value", 18],
    ["second exemplar", "foo_total 1 # {} 1 # {} 2", 'exemplar timestamp "#" is not a number', 20],
    ["lone surrogate", 'foo_total 1 # {a="\ud800"} 1', "not valid UTF-8", 19],
  ];
  for (const [name, body, msg, col] of bad) {
    await t.step(`rejects: ${name}`, () => {
      let err: unknown;
      try {
        const p = new OpenMetricsParser(body + "\n" + EOF);
        for (let k = p.next(); k !== null; k = p.next()) if (k === "series") p.exemplar();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ParseError, `${body}: ${err}`);
      assert.ok(err.message.includes(msg), err.message);
      assert.equal(err.line, 1);
      assert.equal(err.column, col, err.message);
    });
  }
});

// ----------------------------------------------------------------- _created

Deno.test("OpenMetricsParser exposes _created lines as series with a start timestamp", async (t) => {
  const doc = [
    "# TYPE foo counter",
    'foo_total{a="1"} 17 # {t="x"} 1',
    'foo_created{a="1"} 1520430000.123',
    'foo_total{a="2"} 5',
    'foo_created{a="2"} 1e3',
    'foo_total{a="3"} 1',
    "# TYPE h histogram",
    'h_bucket{x="1",le="1"} 1',
    'h_bucket{x="1",le="+Inf"} 2',
    'h_count{x="1"} 2',
    'h_sum{x="1"} 3',
    'h_created{x="1"} 1.5',
    'h_bucket{x="2",le="+Inf"} 2',
    'h_count{x="2"} 2',
    'h_created{x="3"} 7',
    "# TYPE s summary",
    's{quantile="0.5"} 1',
    "s_count 1",
    "s_created 2",
    "# TYPE g gauge",
    "g_created 5",
    "# TYPE gh gaugehistogram",
    'gh_bucket{le="1"} 1',
    "gh_created 5",
    "# TYPE i info",
    "i_info 1",
    "",
  ].join("\n") + EOF;
  // series → [createdTimestamp(), startTimestamp()]
  const want: [string, number | null, number | null][] = [
    ['foo_total{a="1"}', null, 1520430000123],
    ['foo_created{a="1"}', 1520430000123, 1520430000123],
    ['foo_total{a="2"}', null, 1_000_000],
    ['foo_created{a="2"}', 1_000_000, 1_000_000],
    ['foo_total{a="3"}', null, null], // no _created line follows in the family
    ['h_bucket{x="1",le="1"}', null, 1500],
    ['h_bucket{x="1",le="+Inf"}', null, 1500],
    ['h_count{x="1"}', null, 1500],
    ['h_sum{x="1"}', null, 1500],
    ['h_created{x="1"}', 1500, 1500],
    ['h_bucket{x="2",le="+Inf"}', null, null], // the next _created line has other labels
    ['h_count{x="2"}', null, null],
    ['h_created{x="3"}', 7000, 7000],
    ['s{quantile="0.5"}', null, 2000],
    ["s_count", null, 2000],
    ["s_created", 2000, 2000],
    ["g_created", null, null], // gauges have no start time
    ['gh_bucket{le="1"}', null, null],
    ["gh_created", null, null],
    ["i_info", null, null],
  ];
  const p = new OpenMetricsParser(doc);
  const got: [string, number | null, number | null][] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k !== "series") continue;
    const st = p.startTimestamp();
    assert.equal(p.startTimestamp(), st, "repeatable");
    got.push([p.series(), p.createdTimestamp(), st]);
    assert.ok(p.labels().size >= 1, "look-ahead leaves the current line intact");
  }
  assert.deepEqual(got, want);
  await t.step("look-ahead does not move the parser", () => {
    const q = new OpenMetricsParser(doc);
    q.next();
    q.next();
    assert.equal(q.startTimestamp(), 1520430000123);
    assert.equal(q.series(), 'foo_total{a="1"}');
    assert.equal(q.exemplar()?.labels.get("t"), "x");
    assert.equal(q.next(), "series");
    assert.equal(q.series(), 'foo_created{a="1"}');
  });
  await t.step("look-ahead stops at an invalid line; the parser fails there later", () => {
    const q = new OpenMetricsParser(
      "# TYPE c counter\nc_total 1\nc_total{ 2\nc_created 1\n# EOF\n",
    );
    q.next();
    assert.equal(q.next(), "series");
    assert.equal(q.startTimestamp(), null);
    assert.throws(() => q.next(), ParseError);
  });
  await t.step("look-ahead stops at the end of the family", () => {
    const q = first("# TYPE c counter\nc_total 1\n# TYPE d counter\nc_created 1\n" + EOF);
    assert.equal(q.startTimestamp(), null);
  });
  await t.step("Prometheus judges _created by the last TYPE", () => {
    const q = first("# TYPE c counter\n# HELP x y\nx_created 3\n" + EOF);
    assert.equal(q.createdTimestamp(), 3000);
    assert.equal(q.type(), "unknown");
  });
  await t.step("_created with a NaN value", () => {
    const q = first("# TYPE c counter\nc_created NaN\n" + EOF);
    assert.ok(Number.isNaN(q.value()));
    assert.equal(q.createdTimestamp(), -(2 ** 63));
  });
  await t.step("a scan per family, not per series", () => {
    const lines = ["# TYPE c counter"];
    for (let i = 0; i < 20_000; i++) lines.push(`c_total{i="${i}"} 1`);
    const q = new OpenMetricsParser(lines.join("\n") + "\n" + EOF);
    const t0 = performance.now();
    let n = 0;
    for (let k = q.next(); k !== null; k = q.next()) {
      if (k === "series" && q.startTimestamp() === null) n++;
    }
    assert.equal(n, 20_000);
    assert.ok(performance.now() - t0 < 2000, "quadratic look-ahead");
  });
});

// ------------------------------------------------------------------- strict

Deno.test("OpenMetricsParser strict mode enforces the specification's family rules", async (t) => {
  const strict = { strict: true };
  const ok = [
    "# TYPE c counter\n# HELP c x\n",
    '# TYPE c_seconds counter\n# UNIT c_seconds seconds\n# HELP c_seconds x\nc_seconds_total 1 # {a="b"} 1\nc_seconds_created 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1 # {} 1\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\nh_created 1\n',
    '# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1 # {} 1\ng_gcount 1\ng_gsum 1\n',
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\ns_sum 1\ns_created 1\n',
    '# TYPE i info\ni_info{v="1"} 1\n',
    '# TYPE st stateset\nst{st="a"} 1\nst{st="b"} 0\n',
    "# TYPE g gauge\ng 1\n",
    "# TYPE u unknown\nu 1\n",
    "# UNIT u_bytes bytes\n# TYPE u_bytes gauge\nu_bytes 1\n",
    "a 1\na 2\nb 1\n# TYPE c gauge\nc 1\n",
    "# TYPE g gauge\ng 1\ng_total 1\n", // a new unknown family
  ];
  for (const body of ok) {
    await t.step(`accepts ${JSON.stringify(body)}`, () => {
      rows(body + EOF, strict);
    });
  }
  const bad: [string, string, string, number][] = [
    [
      "counter bare name",
      "# TYPE c counter\nc 1\n",
      'sample "c" does not fit counter metric family "c" (want c_total, c_created)',
      2,
    ],
    ["counter _count", "# TYPE c counter\nc_count 1\n", "does not fit counter", 2],
    [
      "counter family named _total",
      "# TYPE c_total counter\nc_total 1\n",
      "does not fit counter",
      2,
    ],
    ["histogram bare", "# TYPE h histogram\nh 1\n", "does not fit histogram", 2],
    ["histogram _gsum", "# TYPE h histogram\nh_gsum 1\n", "does not fit histogram", 2],
    ["gaugehistogram _sum", "# TYPE g gaugehistogram\ng_sum 1\n", "does not fit gaugehistogram", 2],
    [
      "gaugehistogram _created",
      "# TYPE g gaugehistogram\ng_created 1\n",
      "does not fit gaugehistogram",
      2,
    ],
    ["summary _bucket", "# TYPE s summary\ns_bucket 1\n", "does not fit summary", 2],
    ["info bare", "# TYPE i info\ni 1\n", 'does not fit info metric family "i" (want i_info)', 2],
    [
      "bucket without le",
      "# TYPE h histogram\nh_bucket 1\n",
      'bucket "h_bucket" has no "le" label',
      2,
    ],
    [
      "gauge bucket without le",
      '# TYPE h gaugehistogram\nh_bucket{a="b"} 1\n',
      'has no "le" label',
      2,
    ],
    [
      "quantile missing",
      "# TYPE s summary\ns 1\n",
      'summary sample "s" has no "quantile" label',
      2,
    ],
    ["stateset label missing", '# TYPE st stateset\nst{a="b"} 1\n', 'has no label named "st"', 2],
    [
      "info with unit",
      "# TYPE i_b info\n# UNIT i_b b\n",
      'info metric family "i_b" must not have a unit',
      2,
    ],
    [
      "stateset with unit, UNIT first",
      "# UNIT s_b b\n# TYPE s_b stateset\n",
      "must not have a unit",
      2,
    ],
    [
      "interleaved samples",
      "a 1\nb 1\na 2\n",
      'metric family "a" appears again (families must not interleave)',
      3,
    ],
    [
      "interleaved metadata",
      "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# HELP a x\n",
      'metric family "a" appears again',
      5,
    ],
    [
      "interleaved counter",
      "# TYPE a counter\na_total 1\nb 1\na_total 2\n",
      'metric family "a" appears again',
      4,
    ],
    [
      "interleaved histogram",
      "# TYPE h histogram\nh_count 1\n# TYPE g gauge\nh_sum 1\n",
      'metric family "h" appears again',
      4,
    ],
    [
      "metadata after samples",
      "a 1\n# TYPE a gauge\n",
      'TYPE of metric family "a" after its samples',
      2,
    ],
    [
      "second TYPE",
      "# TYPE a gauge\n# TYPE a gauge\n",
      'second TYPE line for metric family "a"',
      2,
    ],
    ["second HELP", "# HELP a x\n# TYPE a gauge\n# HELP a y\n", "second HELP line", 3],
    ["second UNIT", "# UNIT a_b b\n# UNIT a_b b\n", "second UNIT line", 2],
    [
      "exemplar on a gauge",
      "# TYPE g gauge\ng 1 # {} 1\n",
      "only counter _total and histogram _bucket samples",
      2,
    ],
    ["exemplar on _count", "# TYPE h histogram\nh_count 1 # {} 1\n", "only counter _total", 2],
    ["exemplar on _created", "# TYPE c counter\nc_created 1 # {} 1\n", "only counter _total", 2],
    ["exemplar on unknown", "u 1 # {} 1\n", "only counter _total", 1],
    [
      "exemplar too long",
      `# TYPE c counter\nc_total 1 # {a="${"x".repeat(128)}"} 1\n`,
      "exemplar labels have 129 code points, more than 128",
      2,
    ],
    [
      "exemplar duplicate labels",
      '# TYPE c counter\nc_total 1 # {a="1",a="2"} 1\n',
      'duplicate exemplar label name "a"',
      2,
    ],
  ];
  for (const [name, body, msg, line] of bad) {
    await t.step(`rejects: ${name}`, () => {
      fails(body + EOF, msg, line, undefined, strict);
      rows(body + EOF); // Prometheus accepts it
    });
  }
  await t.step("strict mode starts a new unknown family for a sample without metadata", () => {
    const p = new OpenMetricsParser("# TYPE g gauge\ng 1\ng_total 1\n" + EOF, strict);
    p.next();
    p.next();
    assert.deepEqual([p.family(), p.type()], ["g", "gauge"]);
    p.next();
    assert.deepEqual([p.family(), p.type()], ["g_total", "unknown"]);
  });
});

// --------------------------------------------------------------- factories

Deno.test("createParser picks the OpenMetrics parser for both OpenMetrics versions", () => {
  for (const proto of ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1"] as const) {
    const p = createParser(proto, 'foo_total 1 # {a="b"} 2\n# EOF\n');
    assert.ok(p instanceof OpenMetricsParser);
    assert.equal(p.next(), "series");
    assert.equal(p.exemplar?.()?.labels.get("a"), "b");
    assert.equal(p.next(), null);
  }
});

Deno.test("OpenMetricsParser parses the example exposition", async () => {
  const text = await Deno.readTextFile(new URL("./testdata/openmetrics.txt", import.meta.url));
  for (const opts of [{}, { strict: true }]) {
    const p = new OpenMetricsParser(text, opts);
    const kinds: Record<string, number> = {};
    const types = new Set<string>();
    let exemplars = 0;
    let created = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      kinds[k] = (kinds[k] ?? 0) + 1;
      if (k !== "series") continue;
      p.labels();
      types.add(p.type());
      if (p.exemplar() !== null) exemplars++;
      if (p.createdTimestamp() !== null) created++;
    }
    assert.deepEqual(kinds, { type: 8, help: 8, unit: 2, series: 28 });
    assert.deepEqual(
      [...types].sort(),
      ["counter", "gauge", "gaugehistogram", "histogram", "info", "stateset", "summary", "unknown"],
    );
    assert.equal(exemplars, 4);
    assert.equal(created, 4);
  }
});

// -------------------------------------------------------------- UTF-8 names

Deno.test("OpenMetricsParser reads quoted UTF-8 names as Prometheus 3 does", async (t) => {
  // [name, series line, labels]; the value is always 1.
  const ok: [string, string, Record<string, string>][] = [
    ["quoted metric name", '{"my.metric"} 1', { __name__: "my.metric" }],
    [
      "metric name and a quoted label name",
      '{"my.metric","label.name"="v"} 1',
      { __name__: "my.metric", "label.name": "v" },
    ],
    ["trailing comma", '{"my.metric","l.n"="v",} 1', { __name__: "my.metric", "l.n": "v" }],
    ["name then trailing comma", '{"a.b",} 1', { __name__: "a.b" }],
    ["name among the labels", '{a="1","my.metric",b="2"} 1', {
      __name__: "my.metric",
      a: "1",
      b: "2",
    }],
    ["name last", '{a="1","my.metric"} 1', { __name__: "my.metric", a: "1" }],
    ["quoted label name on a legacy name", 'foo{"label.name"="v",b="2"} 1', {
      __name__: "foo",
      "label.name": "v",
      b: "2",
    }],
    ["legacy names may be quoted too", '{"foo","bar"="v"} 1', { __name__: "foo", bar: "v" }],
    ["non-ASCII and astral characters", '{"温度.°C","ключ"="значение","🌍"="🚀"} 1', {
      __name__: "温度.°C",
      "ключ": "значение",
      "🌍": "🚀",
    }],
    ["syntax characters and blanks inside quotes", '{"a {b}=c, d # e","x y"="{}"} 1', {
      __name__: "a {b}=c, d # e",
      "x y": "{}",
    }],
    ["escapes resolved, unknown ones kept", '{"a\\"b\\\\c\\nd\\te"} 1', {
      __name__: 'a"b\\c\nd\\te',
    }],
    ["raw newline inside a quoted name", '{"a\nb","c\nd"="v"} 1', {
      __name__: "a\nb",
      "c\nd": "v",
    }],
    ["empty value dropped", '{"a.b","c.d"=""} 1', { __name__: "a.b" }],
  ];
  for (const [name, line, labels] of ok) {
    await t.step(name, () => {
      const p = first(line + "\n" + EOF);
      assert.equal(p.series(), line.slice(0, line.lastIndexOf(" ")));
      const want = Labels.fromObject(labels);
      assert.ok(p.labels().equals(want), `${p.labels()} != ${want}`);
      assert.equal(p.metricName(), labels.__name__);
      assert.equal(p.value(), 1);
      assert.equal(p.next(), null);
    });
  }
  await t.step(
    "timestamp, and the line after a multi-line name",
    () =>
      check('{"a\nb"} 1 42\n{"c"} 2\n' + EOF, [
        ['{"a\nb"}', '{__name__="a\\nb"}', 1, 42000],
        ['{"c"}', '{__name__="c"}', 2],
      ]),
  );
  await t.step("HELP, TYPE and UNIT with quoted names", () =>
    check(
      [
        '# TYPE "req.duration_seconds" histogram',
        '# UNIT "req.duration_seconds" seconds',
        '# HELP "req.duration_seconds" How long, in seconds.',
        '{"req.duration_seconds_bucket",le="1"} 2',
        '# TYPE "a\\"b" gauge',
        '# HELP "温度" x',
        '# HELP "multi\nline" t',
        "# EOF",
      ].join("\n"),
      [
        ["type", "req.duration_seconds", "histogram"],
        ["unit", "req.duration_seconds", "seconds"],
        ["help", "req.duration_seconds", "How long, in seconds."],
        [
          '{"req.duration_seconds_bucket",le="1"}',
          '{__name__="req.duration_seconds_bucket", le="1.0"}',
          2,
        ],
        ["type", 'a"b', "gauge"],
        ["help", "温度", "x"],
        ["help", "multi\nline", "t"],
      ],
    ));
  await t.step("families match names as written, quoted or not", () => {
    const doc = [
      '# TYPE "my.counter" counter',
      '# HELP "my.counter" Counts.',
      '{"my.counter_total","a"="1"} 3',
      '{"my.counter_created","a"="1"} 1700000000',
      "# TYPE legacy counter",
      '{"legacy_total"} 4',
      '# TYPE "other" gauge',
      "other 5",
      '# TYPE "q\\"x" info',
      '{"q\\"x_info"} 1',
      "# EOF",
    ].join("\n");
    for (const strict of [false, true]) {
      const p = new OpenMetricsParser(doc, { strict });
      const got: [string, string, MetricType, string, number | null][] = [];
      for (let k = p.next(); k !== null; k = p.next()) {
        if (k === "series") {
          got.push([p.metricName(), p.family(), p.type(), p.help(), p.startTimestamp()]);
        }
      }
      assert.deepEqual(got, [
        ["my.counter_total", "my.counter", "counter", "Counts.", 1_700_000_000_000],
        ["my.counter_created", "my.counter", "counter", "Counts.", 1_700_000_000_000],
        ["legacy_total", "legacy", "counter", "", null],
        ["other", "other", "gauge", "", null],
        ['q"x_info', 'q"x', "info", "", null],
      ]);
    }
  });
  await t.step("the same series written quoted and unquoted has the same labels", () => {
    const a = first('foo{bar="1"} 1\n' + EOF).labels();
    const b = first('{"foo","bar"="1"} 1\n' + EOF).labels();
    const c = first('{bar="1","foo"} 1\n' + EOF).labels();
    assert.ok(a.equals(b) && a.equals(c));
  });
  await t.step("strict mode applies the family rules to quoted names", () => {
    check('# TYPE "a.b" stateset\n{"a.b","a.b"="x"} 1\n' + EOF, [
      ["type", "a.b", "stateset"],
      ['{"a.b","a.b"="x"}', '{__name__="a.b", a.b="x"}', 1],
    ], { strict: true });
    fails('# TYPE "a.b" counter\n{"a.b"} 1\n' + EOF, "does not fit counter", 2, 3, {
      strict: true,
    });
  });
  await t.step(
    "backslashes and NULs elsewhere in the body do not confuse the quoted-name search",
    () => {
      check('a{x="p\\\\q"} 1\n{"b\\"c","d"="\0"} 2\n{"e"} 3\n' + EOF, [
        ['a{x="p\\\\q"}', '{__name__="a", x="p\\\\q"}', 1],
        ['{"b\\"c","d"="\0"}', '{__name__="b\\"c", d="\0"}', 2],
        ['{"e"}', '{__name__="e"}', 3],
      ]);
      fails('{"a"} 1\nx{b="\0"} 2\n{"c\0"} 3\n' + EOF, "NUL in a quoted name", 3, 4);
      fails('{"a"} 1\nx{b="\\\\"} 2\n{"c\\\n"} 3\n' + EOF, "backslash before the end of", 3, 5);
    },
  );
  await t.step("lone surrogates in names fail at labels(), like in values", () => {
    for (const text of ['{"a\ud800"} 1\n', '{"a","b\udc00"="v"} 1\n']) {
      const p = first(text + EOF);
      assert.throws(
        () => p.labels(),
        (e) => e instanceof ParseError && /lone surrogate/.test(e.message),
      );
    }
    fails('# TYPE "a\ud800" gauge\n' + EOF, "lone surrogate", 1, 9);
  });
});

Deno.test("OpenMetricsParser rejects malformed quoted names like Prometheus", async (t) => {
  const bad: [string, string, string, number, number][] = [
    ["empty braces", "{} 1", "no metric name", 1, 1],
    ["quoted label names only", '{"a.b"="c"} 1', "no metric name", 1, 1],
    ["metric name before and inside", 'foo{"bar"} 1', "metric name is already set", 1, 5],
    ["two quoted metric names", '{"a","b"} 1', "metric name is already set", 1, 6],
    ["empty metric name", '{""} 1', "empty metric name", 1, 2],
    ["empty label name", '{"a",""="v"} 1', "empty label name", 1, 6],
    ["blank after the brace", '{ "a"} 1', "unexpected blank in the label set", 1, 2],
    ["blank after the name", '{"a" } 1', "expected '=' after label name \"a\"", 1, 5],
    ["blank after the comma", '{"a", b="c"} 1', "unexpected blank in the label set", 1, 6],
    ["blank before the brace", ' {"a"} 1', "unexpected blank at the start of a line", 1, 1],
    ["quoted name without = nor comma", '{"a""b"="c"} 1', "expected '=' after label name", 1, 5],
    ["unterminated name", '{"a} 1', "unterminated quoted name", 1, 2],
    ["backslash before a newline", '{"a\\\nb"} 1', "backslash before the end of the line", 1, 5],
    ["NUL in a name", '{"a\0b"} 1', "NUL in a quoted name", 1, 4],
    ["double comma", '{"a",,} 1', "expected a label name or '}'", 1, 6],
    ["leading comma", '{,"a"} 1', "expected a label name or '}'", 1, 2],
    ["second label set", '{"a"}{b="c"} 1', "expected a blank before the value", 1, 6],
    [
      "__name__ label with a quoted name",
      '{"a",__name__="b"} 1',
      "duplicates the metric name",
      1,
      6,
    ],
    ["same label quoted and not", 'foo{"x"="1",x="2"} 1', 'duplicate label name "x"', 1, 13],
    ["empty name after TYPE", '# TYPE "" gauge', "empty metric name after TYPE", 1, 8],
    ["quoted name glued to the type", '# TYPE "a"gauge', "expected a blank and text", 1, 11],
    ["quoted name without text", '# HELP "a"', "expected a blank and text", 1, 11],
    ["blank before a quoted name", '# HELP  "a" x', "expected a metric name after HELP", 1, 8],
    ["unterminated HELP name", '# HELP "a x', "unterminated quoted metric name", 1, 8],
    ["NUL in a TYPE name", '# TYPE "a\0" gauge', "NUL in a quoted metric name", 1, 10],
    [
      "unit not a suffix of a quoted name",
      '# UNIT "a.b_seconds" bytes',
      'unit "bytes" not a suffix of metric "a.b_seconds"',
      1,
      22,
    ],
  ];
  for (const [name, text, includes, line, column] of bad) {
    await t.step(name, () => fails(text + "\n" + EOF, includes, line, column));
  }
});

// -------------------------------------------------------------- properties

const NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const word = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
  minLength: 1,
  maxLength: 6,
});
const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Strings only quoted names can carry (no NUL: a quoted name may not hold one); `max` code points at most. */
const utf8Text = (max: number) =>
  fc.oneof(
    fc.string({ unit: "binary", maxLength: max }),
    fc.string({
      unit: fc.constantFrom(
        ...[".", "-", " ", "\t", "{", "}", ",", "=", '"', "\\", "\n", "n", "#", "a", "_", ":"],
        ...["é", "°", "温", "🌍", "\u2028", "\ufeff"],
      ),
      maxLength: max,
    }),
  ).filter((n) => !n.includes("\0") && n.isWellFormed());
const familyBase = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(...(NAME_START + ":")),
      fc.string({ unit: fc.constantFrom(...(NAME_START + ":0123456789")), maxLength: 10 }),
    ).map(([a, b]) => a + b),
  },
  { weight: 1, arbitrary: utf8Text(10) },
);
const legacyLabelName = fc.tuple(
  fc.constantFrom(...NAME_START),
  fc.string({ unit: fc.constantFrom(...(NAME_START + "0123456789")), maxLength: 8 }),
).map(([a, b]) => a + b);
// Label names start with "x_": never le, quantile or a family name.
const labelName = fc.oneof(
  { weight: 2, arbitrary: legacyLabelName },
  { weight: 1, arbitrary: utf8Text(8) },
).map((n) => "x_" + n);
const labelValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom("\\", '"', "n", "\n", "t", " ", "{", "}", ",", "=", "#"),
    maxLength: 8,
  }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
const labelSet = fc.uniqueArray(fc.tuple(labelName, labelValue), {
  maxLength: 3,
  selector: (l) => l[0],
});
const sampleValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1, NaN, Infinity, -Infinity, 0.1, 1e-7, 1e21),
);
const seconds = fc.oneof(
  fc.double({ min: -1e12, max: 1e12, noNaN: true }),
  fc.integer({ min: 0, max: 2e9 }),
  fc.integer({ min: 0, max: 2e12 }).map((ms) => ms / 1000),
);
const exemplarGen = fc.option(
  fc.record({
    // At most 3 × (10 + 10) code points: within the 128 of an exemplar.
    labels: fc.uniqueArray(
      fc.tuple(labelName, fc.string({ maxLength: 10 })),
      { maxLength: 3, selector: (l) => l[0] },
    ),
    value: sampleValue,
    ts: fc.option(seconds),
  }),
);
const TYPE_LIST: MetricType[] = [
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "info",
  "stateset",
  "unknown",
];

interface GenMetric {
  labels: [string, string][];
  values: number[];
  ts: number | null;
  created: number | null;
  exemplars: (null | { labels: [string, string][]; value: number; ts: number | null })[];
  bounds: number[];
}
interface GenFamily {
  base: string;
  type: MetricType;
  unit: string | null;
  help: string | null;
  metrics: GenMetric[];
  /** Quoting of the family's lines: legacy names quoted too, the metric name's place, raw newlines. */
  quote: number;
}

const family: fc.Arbitrary<GenFamily> = fc.record({
  base: familyBase,
  type: fc.constantFrom(...TYPE_LIST),
  unit: fc.option(word),
  help: fc.option(fc.oneof(fc.string({ maxLength: 20 }), labelValue)),
  // Distinct label sets (as written): a sample's start time comes from the
  // next _created line with the same labels.
  metrics: fc.uniqueArray(
    fc.record({
      labels: labelSet,
      values: fc.array(sampleValue, { minLength: 8, maxLength: 8 }),
      ts: fc.option(seconds),
      created: fc.option(seconds),
      exemplars: fc.array(exemplarGen, { minLength: 4, maxLength: 4 }),
      bounds: fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3, selector: (m) => JSON.stringify(m.labels) },
  ),
  quote: fc.nat(),
});

/** How a value is written: several spellings of the same float. */
function num(v: number, style: number): string {
  if (Object.is(v, -0)) return "-0";
  if (v !== v) return ["NaN", "nan"][style % 2];
  if (v === Infinity) return ["+Inf", "Inf", "+inf"][style % 3];
  if (v === -Infinity) return ["-Inf", "-inf"][style % 2];
  const g = formatGoFloat(v);
  if (style % 3 === 1) return String(v);
  return g;
}

function esc(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A name in quotes; newlines escaped, or kept raw when `raw` (Prometheus accepts both but in exemplars). */
function quoteName(n: string, raw = false): string {
  const e = n.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return '"' + (raw ? e : e.replaceAll("\n", "\\n")) + '"';
}

/** Label set items, names quoted when they are not legacy names or when `quoteAll`. */
function labelItems(ls: [string, string][], quoteAll = false, raw = false): string[] {
  return ls.map(([n, v]) =>
    `${quoteAll || !LEGACY_LABEL_NAME.test(n) ? quoteName(n, raw) : n}="${esc(v)}"`
  );
}

function renderLabels(ls: [string, string][]): string {
  return ls.length === 0 ? "" : `{${labelItems(ls).join(",")}}`;
}

/**
 * The series part of a line: a legacy metric name before the braces (unless
 * `quote` asks to quote it), any other inside them at a place `quote` picks.
 */
function renderSeriesName(name: string, ls: [string, string][], quote: number, raw: boolean) {
  const quoteAll = quote % 3 === 0;
  const items = labelItems(ls, quoteAll, raw);
  if (!quoteAll && LEGACY_METRIC_NAME.test(name)) {
    return name + (items.length === 0 ? "" : `{${items.join(",")}}`);
  }
  items.splice(quote % (items.length + 1), 0, quoteName(name, raw));
  return `{${items.join(",")}}`;
}

/** An expected sample. */
interface Expect {
  name: string;
  labels: [string, string][];
  value: number;
  ts: number | null;
  exemplar: GenMetric["exemplars"][number];
  created: boolean;
  st: number | null;
}

/** Renders families as an OpenMetrics document and lists the samples it must parse to. */
function render(
  fams: GenFamily[],
  style: number,
): { text: string; samples: Expect[]; families: GenFamily[] } {
  const lines: string[] = [];
  const samples: Expect[] = [];
  const out: GenFamily[] = [];
  fams.forEach((f, fi) => {
    const unit = f.type === "info" || f.type === "stateset" ? null : f.unit;
    // Family names start with "m" and label names with "l", so they never
    // clash; a stateset's label is named like the family, so no colons there.
    let name = `m${f.base}_${fi}` + (unit === null ? "" : `_${unit}`);
    if (f.type === "stateset") name = name.replaceAll(":", "_");
    out.push({ ...f, base: name, unit });
    // Names are matched to their family as written: one choice of raw
    // newlines per family.
    const raw = f.quote % 5 === 0;
    const meta = f.quote % 3 === 0 || !LEGACY_METRIC_NAME.test(name) ? quoteName(name, raw) : name;
    lines.push(`# TYPE ${meta} ${f.type}`);
    if (unit !== null) lines.push(`# UNIT ${meta} ${unit}`);
    if (f.help !== null) lines.push(`# HELP ${meta} ${esc(f.help)}`);
    let li = 0;
    for (const m of f.metrics) {
      const start = m.created === null ? null : toMillis(m.created);
      const group: Expect[] = [];
      const add = (
        suffix: string,
        extra: [string, string][],
        value: number,
        exemplar: Expect["exemplar"] = null,
      ) =>
        group.push({
          name: name + suffix,
          labels: [...m.labels, ...extra],
          value,
          ts: m.ts === null ? null : toMillis(m.ts),
          exemplar,
          created: false,
          st: null,
        });
      const withCreated = f.type === "counter" || f.type === "histogram" || f.type === "summary";
      switch (f.type) {
        case "counter":
          add("_total", [], m.values[0], m.exemplars[0]);
          break;
        case "gauge":
        case "unknown":
          add("", [], m.values[0]);
          break;
        case "info":
          add("_info", [], 1);
          break;
        case "stateset":
          add("", [[name, "a"]], 1);
          add("", [[name, "b"]], 0);
          break;
        case "histogram":
        case "gaugehistogram": {
          const bounds = [...m.bounds].sort((a, b) => a - b);
          bounds.forEach((b, i) =>
            add("_bucket", [["le", num(b, style + i)]], m.values[i], m.exemplars[i])
          );
          add("_bucket", [["le", "+Inf"]], m.values[3], m.exemplars[3]);
          add(f.type === "histogram" ? "_count" : "_gcount", [], m.values[4]);
          add(f.type === "histogram" ? "_sum" : "_gsum", [], m.values[5]);
          break;
        }
        case "summary":
          m.bounds.forEach((b, i) => add("", [["quantile", num(b, style + i)]], m.values[i]));
          add("_count", [], m.values[4]);
          add("_sum", [], m.values[5]);
          break;
      }
      if (withCreated && m.created !== null) {
        group.push({
          name: name + "_created",
          labels: m.labels,
          value: m.created,
          ts: m.ts === null ? null : toMillis(m.ts),
          exemplar: null,
          created: true,
          st: start,
        });
        for (const e of group) e.st = start;
      }
      for (const e of group) {
        const q = (f.quote >> 2) + li++;
        let line = renderSeriesName(e.name, e.labels, q, raw) + " " + num(e.value, style);
        if (m.ts !== null) line += " " + formatGoFloat(m.ts);
        if (e.exemplar) {
          line += ` # ${renderLabels(e.exemplar.labels) || "{}"} ${num(e.exemplar.value, style)}`;
          if (e.exemplar.ts !== null) line += " " + formatGoFloat(e.exemplar.ts);
        }
        lines.push(line);
        samples.push(e);
      }
    }
  });
  lines.push("# EOF");
  return { text: lines.join("\n") + (style % 2 === 0 ? "\n" : ""), samples, families: out };
}

/** The label set Prometheus makes of a generated sample, `le`/`quantile` normalised. */
function expectedLabels(e: Expect, type: MetricType): Labels {
  const pairs: [string, string][] = [["__name__", e.name]];
  for (const [n, v] of e.labels) {
    let w = v;
    if ((type === "histogram" && n === "le") || (type === "summary" && n === "quantile")) {
      const f = n === "le" && v === "+Inf" ? Infinity : Number(
        v.replace(/^\+?inf$/i, "Infinity").replace(/^-inf$/i, "-Infinity").replace(
          /^nan$/i,
          "NaN",
        ),
      );
      w = formatOpenMetricsFloat(f);
    }
    pairs.push([n, w]);
  }
  return Labels.fromPairs(pairs);
}

Deno.test("OpenMetricsParser round-trips generated families, UTF-8 names included (lenient and strict)", () => {
  fc.assert(
    fc.property(fc.array(family, { maxLength: 5 }), fc.nat(), (fams, style) => {
      const { text, samples, families } = render(fams, style);
      for (const strict of [false, true]) {
        const p = new OpenMetricsParser(text, { strict });
        let i = 0;
        let fi = -1;
        for (let k = p.next(); k !== null; k = p.next()) {
          if (k === "type") fi++;
          const f = families[fi];
          if (k !== "series") {
            assert.equal(p.family(), f.base);
            if (k === "unit") assert.equal(p.unit(), f.unit);
            if (k === "help") assert.equal(p.help(), f.help);
            continue;
          }
          const e = samples[i++];
          assert.equal(p.metricName(), e.name);
          assert.equal(p.family(), f.base);
          assert.equal(p.type(), f.type);
          assert.equal(p.unit(), f.unit ?? "");
          assert.equal(p.help(), f.help ?? "");
          const want = expectedLabels(e, f.type);
          assert.ok(p.labels().equals(want), `${p.labels()} != ${want}`);
          assert.ok(Object.is(p.value(), e.value), `value ${p.value()} != ${e.value}`);
          assert.equal(p.timestamp(), e.ts);
          assert.equal(p.createdTimestamp(), e.created ? e.st : null);
          assert.equal(p.startTimestamp(), e.st);
          const x = p.exemplar();
          if (!e.exemplar) assert.equal(x, null);
          else {
            assert.ok(x !== null);
            assert.ok(x.labels.equals(Labels.fromPairs(e.exemplar.labels)));
            assert.ok(Object.is(x.value, e.exemplar.value));
            assert.equal(x.timestamp, e.exemplar.ts === null ? null : toMillis(e.exemplar.ts));
          }
        }
        assert.equal(i, samples.length);
      }
    }),
    { numRuns: 500 },
  );
});

/** Drains a parser; returns the number of entries, or the ParseError. */
function drain(text: string, opts?: OpenMetricsOptions): number | ParseError {
  const p = new OpenMetricsParser(text, opts);
  let count = 0;
  try {
    for (let k = p.next(); k !== null; k = p.next()) {
      if (++count > text.length + 1) throw new Error("parser does not advance");
      p.family();
      p.type();
      p.help();
      p.unit();
      if (k === "series") {
        p.series();
        p.ownedSeries();
        p.metricName();
        p.value();
        p.timestamp();
        p.labels();
        p.exemplar();
        p.createdTimestamp();
        p.startTimestamp();
      }
    }
    assert.equal(p.next(), null);
  } catch (e) {
    if (e instanceof ParseError) {
      assert.ok(e.line >= 1 && e.column >= 1, e.message);
      return e;
    }
    throw e;
  }
  return count;
}

const garbage = fc.constantFrom(
  ...'{}=",\\ \t\n\r#\0:_.-+eEpP0123456789aZ',
  "# EOF",
  "# EOF\n",
  " # {",
  ' # {a="b"} 1',
  "# HELP ",
  "# TYPE ",
  "# UNIT ",
  "# TYPE x histogram\n",
  "# TYPE x counter\n",
  "_total",
  "_created",
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

Deno.test("OpenMetricsParser only ever throws ParseError on mutated input, and terminates", () => {
  fc.assert(
    fc.property(
      fc.array(family, { maxLength: 4 }),
      fc.nat(),
      fc.array(mutation, { maxLength: 8 }),
      (fams, style, muts) => {
        let text = render(fams, style).text;
        for (const [at, op, g] of muts) {
          const i = text.length === 0 ? 0 : at % (text.length + 1);
          if (op === "insert") text = text.slice(0, i) + g + text.slice(i);
          else if (op === "delete") text = text.slice(0, i) + text.slice(i + 1);
          else text = text.slice(0, i) + g + text.slice(i + g.length);
        }
        drain(text);
        drain(text, { strict: true });
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("OpenMetricsParser only ever throws ParseError on random input", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: fc.constantFrom(...'{}=",\\ \t\n#\0ab_:.-+e019'), maxLength: 200 }),
        fc.array(
          fc.constantFrom(
            "# EOF",
            "# TYPE a counter",
            "a_total 1",
            'a{b="c"} 1 2',
            " # {} 1",
            "\n",
          ),
          { maxLength: 20 },
        ).map((xs) => xs.join("")),
      ),
      (text) => {
        drain(text);
        drain(text, { strict: true });
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("OpenMetricsParser parses every generated document without error", () => {
  fc.assert(
    fc.property(fc.array(family, { maxLength: 6 }), fc.nat(), (fams, style) => {
      const { text, samples } = render(fams, style);
      for (const strict of [false, true]) {
        const r = drain(text, { strict });
        assert.equal(typeof r, "number", r instanceof ParseError ? `${r.message}\n${text}` : "");
      }
      assert.ok(samples.length <= text.length);
    }),
    { numRuns: 500 },
  );
});

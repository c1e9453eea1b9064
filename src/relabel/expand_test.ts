import { assertEquals } from "../testing/assert.ts";
import { compileTemplate, expand, expandTemplate, parseTemplate } from "./expand.ts";
import { translateRegex } from "./regex.ts";

/** Expands like Prometheus: match `pattern` (anchored) against `input`, then expand `template`. */
function goExpand(pattern: string, input: string, template: string): string {
  const re = translateRegex(pattern);
  const m = re.exec(input);
  if (m === null) throw new Error(`${pattern} does not match ${input}`);
  return expand(template, m, re.groupNames);
}

/** [pattern, input, template, Go's regexp.Expand result]. */
const CASES: [string, string, string, string][] = [
  ["(a)(b)", "ab", "$1", "a"],
  ["(a)(b)", "ab", "$2$1", "ba"],
  ["(a)(b)", "ab", "${1}x", "ax"],
  ["(a)(b)", "ab", "$1x", ""], // the group named "1x": absent
  ["(a)(b)", "ab", "$1-x", "a-x"],
  ["(a)(b)", "ab", "$1.5", "a.5"],
  ["(a)", "a", "$10", ""], // group 10, not group 1 then "0"
  ["(a)", "a", "${1}0", "a0"],
  ["(a)", "a", "$0", "a"],
  ["(a)", "a", "$01", ""], // leading zero: the name "01"
  ["(?P<01>a)", "a", "$01", "a"],
  ["(a)", "a", "$$1", "$1"],
  ["(a)", "a", "$$$1", "$a"],
  ["(a)", "a", "$", "$"], // trailing $ is literal
  ["(a)", "a", "x$-y", "x$-y"], // $ + non-name char: literal
  ["(a)", "a", "${1", "${1"], // unclosed brace: literal $, then text
  ["(a)", "a", "${1}}", "a}"],
  ["(a)", "a", "${}", "${}"],
  ["(a)", "a", "${-}", "${-}"],
  ["(a)", "a", "${1a}", ""],
  ["(a)", "a", "$ 1", "$ 1"],
  ["(a)", "a", "$&", "$&"], // no JS specials
  ["(a)", "a", "$`$'", "$`$'"],
  ["(a)", "a", "$<x>", "$<x>"],
  ["(a)", "a", "$2", ""], // out of range
  ["(a)|(b)", "b", "[$1][$2]", "[][b]"], // group not taken: empty
  ["(?P<host>[^:]+):(?P<port>\\d+)", "h:80", "$host/${port}", "h/80"],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "h:80", "$host_x", ""], // name "host_x"
  ["(?P<host>[^:]+):(?P<port>\\d+)", "h:80", "${host}_x", "h_x"],
  ["(?P<x>a)|(?P<x>b)", "b", "${x}", "b"], // first *matched* group of that name
  ["(?P<x>a)(?P<x>b)", "ab", "${x}", "a"],
  ["(a)", "a", "x$éy", "x"], // Unicode letters are name characters (Go group names are ASCII)
  ["(a)", "a", "$1é", ""], // …so "1é" is one name
  ["(a)", "a", "$1\u0661", ""], // Unicode digits too, but such a name is not an index
  ["(a)", "a", "$123456789", ""],
  ["(a)", "a", "$1234567890", ""],
  ["(.*)", "x", "", ""],
  ["(.*)", "x", "no refs", "no refs"],
];

Deno.test("expand follows Go's regexp.Expand", async (t) => {
  for (const [pattern, input, template, want] of CASES) {
    await t.step(`${JSON.stringify(template)} with ${pattern} on ${input}`, () => {
      assertEquals(goExpand(pattern, input, template), want);
    });
  }
});

Deno.test("expand without group names uses the match's JS named groups", () => {
  const m = /^(?<host>[^:]+):(\d+)$/u.exec("h:80")!;
  assertEquals(expand("$host:$2", m), "h:80");
  assertEquals(expand("${host}x$host1", m), "hx");
});

Deno.test("parseTemplate", () => {
  assertEquals(parseTemplate("a${1}b${name}$$c$"), ["a", 1, "b", { name: "name" }, "$c$"]);
  assertEquals(parseTemplate("a$1b"), ["a", { name: "1b" }]);
  assertEquals(parseTemplate("$01"), [{ name: "01" }]);
  assertEquals(parseTemplate(""), []);
});

Deno.test("compiled templates: literal detection and named candidates", () => {
  const t = compileTemplate("a$$b$", [undefined, "x"]);
  assertEquals(t.literal, "a$b$");
  const n = compileTemplate("${x}", [undefined, "x", "y", "x"]);
  assertEquals(n.literal, null);
  assertEquals(n.parts, [[1, 3]]);
  assertEquals(expandTemplate(n, ["v", undefined, "y", "z"]), "z");
  assertEquals(expandTemplate(n, ["v", "w", "y", "z"]), "w");
});

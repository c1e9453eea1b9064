import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatGoFloat,
  formatOpenMetricsFloat,
  goFloatError,
  parseGoFloat,
  tryParseGoFloat,
} from "./float.ts";

/** Same number, telling -0 from 0 and accepting NaN. */
function same(actual: number | undefined, expected: number | undefined, msg: string): void {
  assert.ok(Object.is(actual, expected), `${msg}: got ${actual}, want ${expected}`);
}

Deno.test("formatGoFloat() matches strconv.FormatFloat(v, 'g', -1, 64)", async (t) => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [-1, "-1"],
    [0.5, "0.5"],
    [123456, "123456"],
    [999999, "999999"],
    [1e6, "1e+06"],
    [1234567, "1.234567e+06"],
    [-1234567, "-1.234567e+06"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [0.0001, "0.0001"],
    [0.00012345, "0.00012345"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [5e-324, "5e-324"],
    [2.5e-308, "2.5e-308"],
    [0.1, "0.1"],
    [0.30000000000000004, "0.30000000000000004"],
    [100, "100"],
    [120000, "120000"],
    [999999.5, "999999.5"],
    [9999999, "9.999999e+06"],
    [7.424100000000001e-05, "7.424100000000001e-05"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ];
  for (const [v, want] of cases) {
    await t.step(`${want}`, () => assert.equal(formatGoFloat(v), want));
  }
});

Deno.test("formatOpenMetricsFloat() renders le/quantile values like Prometheus", async (t) => {
  const cases: [number, string][] = [
    [1, "1.0"],
    [0, "0.0"],
    [-0, "0.0"],
    [-1, "-1.0"],
    [2, "2.0"],
    [10, "10.0"],
    [999999, "999999.0"],
    [1e6, "1e+06"],
    [1234567, "1.234567e+06"],
    [1e21, "1e+21"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [5e-324, "5e-324"],
    [0.25, "0.25"],
    [0.005, "0.005"],
    [-2.5, "-2.5"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
    [NaN, "NaN"],
  ];
  for (const [v, want] of cases) {
    await t.step(`${v} -> ${want}`, () => assert.equal(formatOpenMetricsFloat(v), want));
  }
});

Deno.test("parseGoFloat() accepts what strconv.ParseFloat accepts", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["-0", -0],
    ["+0", 0],
    ["1", 1],
    ["+1", 1],
    ["-1.5", -1.5],
    [".5", 0.5],
    ["5.", 5],
    ["-.5e-3", -0.0005],
    ["1e5", 1e5],
    ["1E+05", 1e5],
    ["007", 7],
    ["1.7976931348623157e308", 1.7976931348623157e308],
    ["4.9e-324", 5e-324],
    ["1e-400", 0],
    ["-1e-400", -0],
    ["0e99999999999", 0],
    ["1_000", 1000],
    ["1_2.5_0e1_0", 12.5e10],
    ["0x10p0", 16],
    ["0x1p-2", 0.25],
    ["0X1.8P1", 3],
    ["-0x.8p1", -1],
    ["0x_1p0", 1],
    ["0x1p-1074", 5e-324],
    ["0x1p-1075", 0], // exactly half the smallest subnormal: ties to even (zero)
    ["0x3p-1076", 5e-324], // 0.75 of the smallest subnormal rounds up
    ["0x1.0000000000000fp0", 1.0000000000000002], // 15/16 ulp rounds up
    ["0x1.00000000000008p0", 1], // tie, rounds to even
    ["0x1.00000000000018p0", 1.0000000000000004], // tie, rounds to even (up)
    ["Inf", Infinity],
    ["inf", Infinity],
    ["+INF", Infinity],
    ["-Inf", -Infinity],
    ["infinity", Infinity],
    ["+Infinity", Infinity],
    ["-iNfInItY", -Infinity],
    ["NaN", NaN],
    ["nan", NaN],
    ["nAN", NaN],
  ];
  for (const [s, want] of cases) {
    await t.step(JSON.stringify(s), () => same(parseGoFloat(s), want, s));
  }
});

Deno.test("parseGoFloat() rejects what strconv.ParseFloat rejects", async (t) => {
  const syntax = [
    "",
    " 1",
    "1 ",
    "\t1",
    "1\n",
    "+",
    "-",
    ".",
    "e5",
    "1e",
    "1e+",
    "1e+_1",
    "1.2.3",
    "1..2",
    "0x",
    "0x10",
    "0x1.8",
    "0xp1",
    "0x1p",
    "0x1g",
    "1p3",
    "_1",
    "1_",
    "1__0",
    "1_.5",
    "1._5",
    "1_e5",
    "1e_5",
    "infin",
    "infinit",
    "infinityx",
    "+nan",
    "-NaN",
    "nanx",
    "true",
    "1,5",
    "١",
    "Infinity ",
  ];
  for (const s of syntax) {
    await t.step(`syntax ${JSON.stringify(s)}`, () => {
      assert.equal(goFloatError(s), "syntax");
      assert.equal(tryParseGoFloat(s), undefined);
      assert.throws(() => parseGoFloat(s), SyntaxError);
    });
  }
  const range = [
    "1e400",
    "-1e400",
    "1.8e308",
    "1e99999999999999",
    "0x1p1024",
    "-0x1.fffffffffffff8p1023",
  ];
  for (const s of range) {
    await t.step(`range ${JSON.stringify(s)}`, () => {
      assert.equal(goFloatError(s), "range");
      assert.throws(() => parseGoFloat(s), RangeError);
    });
  }
  await t.step("largest finite hex", () => {
    same(parseGoFloat("0x1.fffffffffffffp1023"), 1.7976931348623157e308, "max");
  });
});

/**
 * An independent rendering of Go's shortest 'g' format from
 * `toExponential()`, to cross-check formatGoFloat().
 */
function referenceG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [m, e] = Math.abs(v).toExponential().split("e");
  const digits = m.replace(".", "");
  const exp = Number(e);
  const sign = v < 0 ? "-" : "";
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    const ae = Math.abs(exp);
    return sign + mant + "e" + (exp < 0 ? "-" : "+") + (ae < 10 ? "0" : "") + ae;
  }
  if (exp < 0) return sign + "0." + "0".repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return sign + digits + "0".repeat(exp + 1 - digits.length);
  return sign + digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
}

Deno.test("formatGoFloat() agrees with a toExponential() reference and round-trips", () => {
  fc.assert(
    fc.property(fc.double(), (v) => {
      const s = formatGoFloat(v);
      assert.equal(s, referenceG(v));
      same(parseGoFloat(s), v, s);
      const om = formatOpenMetricsFloat(v);
      assert.ok(/^(NaN|[+-]Inf|-?\d+(\.\d+)?(e[+-]\d{2,3})?)$/.test(om), om);
      assert.ok(Number.isNaN(v) || !Number.isFinite(v) || /[.e]/.test(om), om);
      same(parseGoFloat(om), v === 0 ? 0 : v, om);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("parseGoFloat() equals Number() on decimal literals and ignores valid underscores", () => {
  const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 25 });
  const literal = fc.record({
    sign: fc.constantFrom("", "+", "-"),
    int: digits,
    frac: fc.option(fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 25 })),
    exp: fc.option(
      fc.tuple(
        fc.constantFrom("e", "E"),
        fc.constantFrom("", "+", "-"),
        fc.integer({ min: 0, max: 400 }),
      ),
    ),
  }).map(({ sign, int, frac, exp }) =>
    sign + int + (frac === null ? "" : "." + frac) + (exp === null ? "" : exp[0] + exp[1] + exp[2])
  );
  fc.assert(
    fc.property(literal, (s) => {
      const want = Number(s);
      if (!Number.isFinite(want)) {
        assert.equal(goFloatError(s), "range");
        return;
      }
      same(parseGoFloat(s), want, s);
      // Underscores between digits are allowed by Go and change nothing.
      const withUnderscores = s.replace(/(\d)(?=\d)/g, "$1_");
      same(parseGoFloat(withUnderscores), want, withUnderscores);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("parseGoFloat() reads hex floats exactly", () => {
  // m × 2^e with m < 2^53 and e ≥ -1074 is representable, so the literal must give exactly that.
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 53n) - 1n }),
      fc.integer({ min: -1074, max: 970 }),
      fc.boolean(),
      (m, e, neg) => {
        const want = (neg ? -1 : 1) * Number(m) * 2 ** e;
        same(parseGoFloat((neg ? "-0x" : "0x") + m.toString(16) + "p" + e), want, `${m} ${e}`);
        const upper = (neg ? "-0X" : "0X") + m.toString(16).toUpperCase() + "P" +
          (e >= 0 ? "+" : "") + e;
        same(parseGoFloat(upper), want, upper);
      },
    ),
    { numRuns: 3000 },
  );
});

/**
 * Go-compatible float parsing and formatting.
 *
 * Prometheus reads sample values with Go's `strconv.ParseFloat` and renders
 * `le` / `quantile` label values with `strconv.FormatFloat(f, 'g', -1, 64)`.
 * JavaScript's `Number()` and `Number#toString` differ from both in ways that
 * change series identities (`Number("")` is 0, `Number("0x10")` is 16,
 * `String(1e6)` is `"1000000"` where Go prints `"1e+06"`), so this module
 * reimplements the Go behaviour on top of the exact primitives JS does offer:
 * `Number()` on a validated decimal string is correctly rounded, and
 * `String(x)` yields the shortest round-tripping digits, as Go does.
 *
 * @module
 */

/** Exact powers of ten representable as doubles (10^0 … 10^22). */
export const POW10: readonly number[] = [
  1e0,
  1e1,
  1e2,
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
  1e10,
  1e11,
  1e12,
  1e13,
  1e14,
  1e15,
  1e16,
  1e17,
  1e18,
  1e19,
  1e20,
  1e21,
  1e22,
];

const SYNTAX = "syntax" as const;
const RANGE = "range" as const;
type Failure = typeof SYNTAX | typeof RANGE;

/**
 * Parses `s` like Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal
 * (`0x1.8p3`) forms, `_` digit separators where Go allows them, and `inf`,
 * `infinity`, `nan` in any case (infinities optionally signed).
 *
 * @throws {SyntaxError} when Go reports `ErrSyntax`
 * @throws {RangeError} when Go reports `ErrRange` (the value overflows float64)
 */
export function parseGoFloat(s: string): number {
  const r = parseImpl(s);
  if (r === SYNTAX) {
    throw new SyntaxError(`Cannot parse ${JSON.stringify(s)} as a float: invalid syntax`);
  }
  if (r === RANGE) {
    throw new RangeError(`Cannot parse ${JSON.stringify(s)} as a float: value out of range`);
  }
  return r;
}

/**
 * Like {@link parseGoFloat} but returns `undefined` where Go returns an error
 * (a syntax error or an overflow).
 */
export function tryParseGoFloat(s: string): number | undefined {
  const r = parseImpl(s);
  return typeof r === "number" ? r : undefined;
}

/**
 * Why {@link tryParseGoFloat} would fail on `s`: `"syntax"`, `"range"`, or
 * `null` when it parses.
 */
export function goFloatError(s: string): "syntax" | "range" | null {
  const r = parseImpl(s);
  return typeof r === "number" ? null : r;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function lower(c: number): number {
  return c | 0x20;
}

function parseImpl(s: string): number | Failure {
  const n = s.length;
  if (n === 0) return SYNTAX;
  const sp = special(s);
  if (sp !== undefined) return sp;

  let i = 0;
  let c = s.charCodeAt(0);
  let neg = false;
  if (c === 43 /* + */ || c === 45 /* - */) {
    neg = c === 45;
    i++;
  }
  if (i + 2 < n && s.charCodeAt(i) === 48 && lower(s.charCodeAt(i + 1)) === 0x78 /* x */) {
    return parseHex(s, i + 2, neg);
  }

  let sawDigits = false;
  let sawDot = false;
  let underscores = false;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (isDigit(c)) sawDigits = true;
    else if (c === 95 /* _ */) underscores = true;
    else if (c === 46 /* . */ && !sawDot) sawDot = true;
    else break;
  }
  if (!sawDigits) return SYNTAX;
  if (i < n && lower(s.charCodeAt(i)) === 0x65 /* e */) {
    // Exponent: [+-]?[0-9][0-9_]*
    i++;
    if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    if (i >= n || !isDigit(s.charCodeAt(i))) return SYNTAX;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c === 95) underscores = true;
      else if (!isDigit(c)) break;
    }
  }
  if (i !== n) return SYNTAX;
  if (underscores && !underscoreOK(s)) return SYNTAX;
  const v = Number(underscores ? s.replaceAll("_", "") : s);
  // The grammar was validated above, so Number() cannot return NaN here; an
  // infinity means the literal overflowed, which Go reports as ErrRange.
  if (v === Infinity || v === -Infinity) return RANGE;
  return v;
}

/** Go's `special`: the whole string must be an infinity or NaN spelling. */
function special(s: string): number | undefined {
  const n = s.length;
  let c = s.charCodeAt(0);
  let i = 0;
  let sign = 1;
  if (c === 43 || c === 45) {
    if (c === 45) sign = -1;
    i = 1;
    c = s.charCodeAt(1);
  } else if (lower(c) === 0x6e /* n */) {
    return n === 3 && s.toLowerCase() === "nan" ? NaN : undefined;
  }
  if (lower(c) !== 0x69 /* i */) return undefined;
  const rest = n - i;
  if (rest !== 3 && rest !== 8) return undefined;
  const word = s.slice(i).toLowerCase();
  return word === "inf" || word === "infinity" ? sign * Infinity : undefined;
}

/** Go's rule: `_` only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (n >= 1 && (s.charCodeAt(0) === 43 || s.charCodeAt(0) === 45)) i = 1;
  // saw: 0 = start, 1 = digit or base prefix, 2 = underscore, 3 = other
  let saw = 0;
  let hex = false;
  if (n - i >= 2 && s.charCodeAt(i) === 48) {
    const b = lower(s.charCodeAt(i + 1));
    if (b === 0x62 || b === 0x6f || b === 0x78) {
      i += 2;
      saw = 1;
      hex = b === 0x78;
    }
  }
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c) || (hex && lower(c) >= 0x61 && lower(c) <= 0x66)) {
      saw = 1;
      continue;
    }
    if (c === 95) {
      if (saw !== 1) return false;
      saw = 2;
      continue;
    }
    if (saw === 2) return false;
    saw = 3;
  }
  return saw !== 2;
}

function hexVal(c: number): number {
  if (isDigit(c)) return c - 48;
  const l = lower(c);
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Hexadecimal float after the `0x` prefix: mantissa, then a mandatory `p` exponent. */
function parseHex(s: string, start: number, neg: boolean): number | Failure {
  const n = s.length;
  let i = start;
  let fracDigits = 0;
  let sawDigits = false;
  let sawDot = false;
  let underscores = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (hexVal(c) >= 0) {
      sawDigits = true;
      if (sawDot) fracDigits++;
    } else if (c === 95) underscores = true;
    else if (c === 46 && !sawDot) sawDot = true;
    else break;
  }
  if (!sawDigits) return SYNTAX;
  const mantEnd = i;
  if (i >= n || lower(s.charCodeAt(i)) !== 0x70 /* p */) return SYNTAX;
  i++;
  if (i >= n) return SYNTAX;
  let esign = 1;
  let c = s.charCodeAt(i);
  if (c === 43 || c === 45) {
    if (c === 45) esign = -1;
    i++;
  }
  if (i >= n || !isDigit(s.charCodeAt(i))) return SYNTAX;
  let e = 0;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (isDigit(c)) {
      if (e < 100000) e = e * 10 + (c - 48);
    } else if (c === 95) underscores = true;
    else break;
  }
  if (i !== n) return SYNTAX;
  if (underscores && !underscoreOK(s)) return SYNTAX;
  // One BigInt conversion of all digits keeps huge mantissas linear.
  let digits = "";
  for (let j = start; j < mantEnd; j++) {
    const d = s.charCodeAt(j);
    if (d !== 46 && d !== 95) digits += s[j];
  }
  let lead = 0;
  while (lead < digits.length - 1 && digits.charCodeAt(lead) === 48) lead++;
  digits = digits.slice(lead);
  const bits = 4 * (digits.length - 1) + (32 - Math.clz32(hexVal(digits.charCodeAt(0))));
  const v = scaleBinary(BigInt("0x" + digits), bits, esign * e - 4 * fracDigits);
  if (v === Infinity) return RANGE;
  return neg ? -v : v;
}

/** `m × 2^e` (m has `len` bits) rounded to the nearest double, ties to even; Infinity on overflow. */
function scaleBinary(m: bigint, len: number, e: number): number {
  if (m === 0n) return 0;
  const top = len - 1 + e; // value is in [2^top, 2^(top+1))
  if (top > 1023) return Infinity;
  if (top < -1076) return 0; // below half the smallest subnormal
  // Exponent of the last kept bit: 53 significant bits, or fewer when subnormal.
  const unit = Math.max(top - 52, -1074);
  const shift = unit - e; // bits of m to drop
  let q: bigint;
  if (shift <= 0) {
    q = m << BigInt(-shift);
  } else {
    const bs = BigInt(shift);
    q = m >> bs;
    const rem = m - (q << bs);
    const half = 1n << (bs - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  }
  // q ≤ 2^53, so Number(q) is exact; multiplying by a power of two is exact
  // unless it overflows.
  return Number(q) * 2 ** unit;
}

/**
 * Formats like Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest
 * digits that round-trip, in exponent form when the decimal exponent is
 * below -4 or at least 6 (Go uses precision 6 for that decision when asked for
 * the shortest form, so `1e+06` but `999999`), with a signed exponent of at
 * least two digits. Special values print as `NaN`, `+Inf`, `-Inf`; negative
 * zero prints as `-0`.
 */
export function formatGoFloat(v: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const neg = v < 0;
  const { digits, dp } = shortestDigits(neg ? -v : v);
  const nd = digits.length;
  const exp = dp - 1;
  let out: string;
  if (exp < -4 || exp >= 6) {
    out = digits[0];
    if (nd > 1) out += "." + digits.slice(1);
    const ae = exp < 0 ? -exp : exp;
    out += (exp < 0 ? "e-" : "e+") + (ae < 10 ? "0" + ae : String(ae));
  } else if (dp <= 0) {
    out = "0." + "0".repeat(-dp) + digits;
  } else if (dp >= nd) {
    out = digits + "0".repeat(dp - nd);
  } else {
    out = digits.slice(0, dp) + "." + digits.slice(dp);
  }
  return neg ? "-" + out : out;
}

/**
 * Prometheus' `FormatOpenMetricsFloat`: {@link formatGoFloat} plus `.0` when
 * the result has neither `.` nor `e`, so `1` → `1.0`, `1000000` → `1e+06`,
 * `0.00001` → `1e-05`, `+Inf` stays `+Inf`. Zero of either sign is `0.0`.
 * This is how `le` and `quantile` label values are normalised.
 */
export function formatOpenMetricsFloat(v: number): string {
  if (v === 1) return "1.0";
  if (v === 0) return "0.0";
  if (v === -1) return "-1.0";
  const s = formatGoFloat(v);
  if (v !== v || v === Infinity || v === -Infinity) return s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 || c === 101) return s;
  }
  return s + ".0";
}

/**
 * Shortest round-tripping decimal digits of a positive finite `v`, as
 * `0.d1d2… × 10^dp` (Go's `decimal.dp` convention), without trailing zeros.
 */
function shortestDigits(v: number): { digits: string; dp: number } {
  // ECMAScript's Number::toString picks the shortest digits that round-trip
  // and, among those, the closest to v — the same digits as Go's shortest.
  const s = String(v);
  let mant = s;
  let e = 0;
  const ei = s.indexOf("e");
  if (ei >= 0) {
    mant = s.slice(0, ei);
    e = Number(s.slice(ei + 1));
  }
  const dot = mant.indexOf(".");
  let intPart = dot >= 0 ? mant.slice(0, dot) : mant;
  const fracPart = dot >= 0 ? mant.slice(dot + 1) : "";
  let digits: string;
  let dp: number;
  if (intPart === "0") {
    let z = 0;
    while (z < fracPart.length && fracPart.charCodeAt(z) === 48) z++;
    digits = fracPart.slice(z);
    dp = -z + e;
  } else {
    intPart = intPart.replace(/^0+/, "");
    digits = intPart + fracPart;
    dp = intPart.length + e;
  }
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  return { digits: digits.slice(0, end), dp };
}

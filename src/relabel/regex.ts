/**
 * RE2 regular expressions for relabeling: native `RegExp` where the
 * translation is exact and fast, `npm:re2js` (a pure-JS port of RE2) where it
 * is not.
 *
 * Prometheus compiles every relabel regex as `"^(?s:" + re + ")$"` with Go's
 * `regexp` package (RE2 syntax). This module parses that exact wrapped string
 * with Go's grammar (so whatever Go rejects is rejected here, and quirks such
 * as `a)|(b` escaping the anchors behave the same) and emits two equivalent
 * patterns from the syntax tree: a JavaScript one (flags `su`) and a
 * normalised RE2 one for re2js. {@link TranslatedRegex} picks the engine per
 * call; both give Go's results.
 *
 * Translation notes (Go → JS):
 * - Flags `(?i)`, `(?m)`, `(?s)`, `(?U)` and their scoped/negated forms are
 *   resolved at parse time: case folding becomes `(?i:…)` around the affected
 *   literals and classes; `.` becomes `.` (with `s`) or `[^\n]`; multi-line
 *   `^`/`$` become `(?<![^\n])`/`(?![^\n])` (Go only knows `\n` as a line
 *   end, JS's `m` flag also knows `\r`, U+2028, U+2029); `(?U)` swaps greedy
 *   and lazy quantifiers.
 * - `\s` is `[\t\n\f\r ]` in Go (JS's `\s` is much larger); `\d`, `\w`, `\b`
 *   are ASCII in both. POSIX classes `[[:alpha:]]` become explicit ranges.
 * - `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL` map to JS property escapes
 *   (`\p{Script=Greek}`); Go's `\pC` excludes unassigned code points, so it
 *   becomes `[\p{Cc}\p{Cf}\p{Co}\p{Cs}]` (and `\PC` inside a bracket the
 *   other general categories).
 * - `\Q…\E`, `\A`, `\z`, octal `\123`, `\x{10FFFF}` are decoded here.
 * - Named groups `(?P<n>…)`/`(?<n>…)` become plain capturing groups with the
 *   name kept in {@link TranslatedRegex.groupNames} (Go allows names JS does
 *   not, e.g. leading digits or duplicates); a JS group name is emitted too
 *   when it is a valid, first-seen JS identifier.
 * - Rejected like Go: lookaround, backreferences, atomic groups, possessive
 *   and stacked quantifiers, `\C`, unknown escapes, repeat counts > 1000.
 * - A `?` whose operand can match "" is emitted as `(?:x|)` (JS would refuse
 *   the empty iteration that RE2 takes); a `^` after the start is emitted as
 *   `(?<![^])` to dodge a V8 15 optimizer bug.
 *
 * When re2js runs instead of the native RegExp:
 * - no exact JS translation: a negated Unicode class inside a larger bracket
 *   expression under `(?i)` (Go folds before negating, JS after);
 * - the caller reads a capture group whose value can differ (JS clears
 *   captures on each iteration of a repetition and refuses empty iterations
 *   that RE2 takes; see {@link TranslatedRegex.unstableGroups}), for exec;
 * - backtracking: V8 backtracks, RE2 is linear. `analyzeBacktracking` bounds
 *   the native cost; exponential patterns (`(a+)+`, `(\w+\s?)*`, loops
 *   whose body can match "") always run on re2js, polynomial ones of degree d
 *   (`.*.*=`: d = 1) only on inputs longer than (2^20)^(1/(d+1)) characters
 *   (1024 for d = 1, 101 for d = 2), linear ones only when very ambiguous
 *   (more than 64 ways to read one input, such as a long alternation of
 *   words with a common prefix: then on inputs longer than 2^20/ways); a
 *   pattern too large to analyse runs on re2js.
 *
 * The RE2 pattern given to re2js is emitted from our syntax tree rather than
 * passed through, so re2js never sees syntax its parser treats differently
 * from Go 1.25 (duplicate group names, `\p{Letter}`, `\p{ASCII}`, and
 * `\pC`, which re2js takes to include unassigned code points).
 *
 * Known remaining differences: Unicode tables follow the engine (V8 15 has
 * Unicode 16, re2js 2.10 Unicode 17; Go ≤ 1.26 uses 15.0, Go 1.27 17.0), so
 * `\p{…}` and `(?i)` can differ on characters added since Unicode 15.
 * Case folding otherwise agrees: V8 and re2js match the same set for every
 * cased character under `(?i)`.
 *
 * Checked against re2js compiling the original pattern (an independent RE2
 * port) by the property tests in regex_property_test.ts.
 *
 * @module
 */

import { RE2JS } from "re2js";
import { analyzeBacktracking, type Backtracking, nullable } from "./backtrack.ts";

export type { Backtracking } from "./backtrack.ts";

/** A match: `m[0]` the whole match, `m[i]` group i (undefined = did not take part). */
export interface RegexMatch extends ArrayLike<string | undefined> {
  /** UTF-16 offset of the match in the input. */
  readonly index: number;
}

/** Which engine runs a regex: chosen per call (`auto`) or forced (tests, benchmarks). */
export type RegexEngine = "auto" | "native" | "re2js";

/** Options for {@link translateRegex}. */
export interface TranslateOptions {
  /**
   * The capture groups whose values the caller reads (0 = the whole match
   * and its position), or a function of Go's `SubexpNames()` returning them.
   * `exec` and `replaceAll` run on re2js when one of them is unstable in the
   * native translation.
   * @default every group
   */
  captures?: Iterable<number> | ((groupNames: readonly (string | undefined)[]) => Iterable<number>);
  /**
   * `auto` uses the native RegExp where it is exact and its backtracking
   * bounded; `native` always uses it (and throws when there is no exact
   * translation); `re2js` never does.
   * @default "auto"
   */
  engine?: RegexEngine;
}

/** A compiled regex and what callers need to use its matches like Go does. */
export interface TranslatedRegex {
  /** The RE2 source as written (without Prometheus' anchoring). */
  readonly source: string;
  /** The native translation (flags `su`, anchored as Prometheus anchors); null when none is exact. */
  readonly regex: RegExp | null;
  /** The normalised RE2 pattern given to re2js (anchored). */
  readonly re2Source: string;
  /** Go's `SubexpNames()`: index 0 is the whole match; unnamed groups are `undefined`. */
  readonly groupNames: readonly (string | undefined)[];
  /**
   * Capturing groups (by index; 0 = the whole match) whose value after a
   * native match may differ from Go's (JS clears captures on each iteration
   * and skips empty iterations).
   */
  readonly unstableGroups: ReadonlySet<number>;
  /** True when every match spans the whole input (the usual `^(?s:…)$` shape). */
  readonly anchored: boolean;
  /** A cheaper equivalent of `test()` when the pattern is simple. */
  readonly fast: FastMatch;
  /** Worst-case growth of the native engine's backtracking. */
  readonly backtracking: Backtracking;
  /** `test()` runs natively on inputs of at most this many UTF-16 code units (-1: never). */
  readonly nativeTestLimit: number;
  /** The same for `exec()` and `replaceAll()`. */
  readonly nativeExecLimit: number;
  /** Why some inputs run on re2js; null when none do. */
  readonly fallback: string | null;
  /** Whether the (anchored) pattern matches `s`. */
  test(s: string): boolean;
  /** The leftmost-first match in `s`, with Go's capture values. */
  exec(s: string): RegexMatch | null;
  /** Go's `ReplaceAllString`-style loop: `replace(m)` for each match, text between kept. */
  replaceAll(s: string, replace: (m: RegexMatch) => string): string;
}

/** Simple patterns that need no regex engine to test. */
export type FastMatch =
  | { kind: "any" }
  | { kind: "nonempty" }
  | { kind: "literal"; value: string }
  | { kind: "set"; values: ReadonlySet<string> }
  | { kind: "prefix"; prefix: string }
  | { kind: "regex" };

/**
 * Native backtracking budget: a pattern whose paths grow as n^d runs natively
 * on inputs with n^(d+1) ≤ this (about a millisecond in V8).
 */
const BACKTRACK_BUDGET = 2 ** 20;
/** Ways to read one input up to which a linear pattern runs natively on any input. */
const LINEAR_PATHS = 64;

/**
 * Compiles an RE2 pattern anchored as Prometheus does (`^(?s:…)$`) into a
 * `RegExp` whose `test` and `exec` give Go's results (running on re2js where
 * the native engine would not; see {@link translateRegex}). Throws a
 * SyntaxError whose message names the pattern when Go would reject it.
 */
export function compileRegex(source: string): RegExp {
  return new Re2RegExp(translateRegex(source));
}

/**
 * A `RegExp` that delegates matching to a {@link TranslatedRegex}. Its
 * `source` and `flags` are those of the native translation (`[^]` when there
 * is none); matching always goes through `test`/`exec`.
 */
class Re2RegExp extends RegExp {
  readonly #re: TranslatedRegex;

  constructor(re: TranslatedRegex) {
    super(re.regex?.source ?? "[^]", "su");
    this.#re = re;
  }

  override test(s: string): boolean {
    return this.#re.test(String(s));
  }

  override exec(s: string): RegExpExecArray | null {
    const str = String(s);
    const m = this.#re.exec(str);
    if (m === null || Array.isArray(m) && "input" in m) return m as RegExpExecArray | null;
    const out = Array.from(m) as unknown as RegExpExecArray;
    out.index = m.index;
    out.input = str;
    return out;
  }
}

/** Parses `source` with Go's RE2 grammar and compiles it; see the module notes. */
export function translateRegex(source: string, options: TranslateOptions = {}): TranslatedRegex {
  const engine = options.engine ?? "auto";
  const wrapped = "^(?s:" + source + ")$";
  let root: Node;
  let names: (string | undefined)[];
  try {
    if (!source.isWellFormed()) throw new Re2Error("invalid UTF-8", source);
    const p = new Parser(wrapped);
    root = p.parse();
    names = p.names;
  } catch (e) {
    if (e instanceof Re2Error) {
      throw new SyntaxError(`invalid regex "${source}": ${e.code}: \`${e.expr}\``);
    }
    throw e;
  }
  const anchored = isAnchored(root);

  // Native translation, when exact.
  let regex: RegExp | null = null;
  let untranslatable = "";
  try {
    regex = new RegExp(new Emitter(names).emitRoot(root), "su");
  } catch (e) {
    if (e instanceof Re2Error) untranslatable = `${e.code}: \`${e.expr}\``;
    // Otherwise a Unicode name the JS engine does not know, or a translation bug.
    else untranslatable = (e as Error).message;
  }
  if (regex === null && engine === "native") {
    throw new SyntaxError(`regex "${source}" cannot be translated exactly: ${untranslatable}`);
  }

  const unstable = new Set<number>();
  if (hasNullableLoop(root)) {
    // JS refuses empty iterations beyond the minimum and backtracks into
    // other paths where RE2 accepts them, so any capture can end up elsewhere
    // (and, unanchored, the match itself).
    for (let i = anchored ? 1 : 0; i < names.length; i++) unstable.add(i);
  } else findUnstable(root, unstable);

  const backtracking = analyzeBacktracking(root);
  const captures = typeof options.captures === "function"
    ? options.captures(names)
    : options.captures;
  const wanted = captures === undefined
    ? names.map((_, i) => i)
    : [...captures, ...(anchored ? [] : [0])];
  const unstableUsed = wanted.filter((g) => unstable.has(g));

  let testLimit: number, execLimit: number;
  const reasons: string[] = [];
  if (engine === "native") {
    testLimit = execLimit = Infinity;
  } else if (engine === "re2js") {
    testLimit = execLimit = -1;
    reasons.push("re2js requested");
  } else if (regex === null) {
    testLimit = execLimit = -1;
    reasons.push(`no exact JS translation (${untranslatable})`);
  } else {
    switch (backtracking.kind) {
      case "linear":
        // Cost ≤ paths·n: a constant factor unless the pattern is very ambiguous.
        testLimit = backtracking.paths <= LINEAR_PATHS ? Infinity : Math.floor(
          BACKTRACK_BUDGET / backtracking.paths,
        );
        if (testLimit < Infinity) {
          reasons.push(
            `${backtracking.paths} ways to read one input: inputs longer than ${testLimit} ` +
              "characters run on re2js",
          );
        }
        break;
      case "polynomial":
        testLimit = Math.floor(BACKTRACK_BUDGET ** (1 / (backtracking.degree + 1)) + 1e-9);
        reasons.push(
          `native backtracking is O(n^${backtracking.degree + 1}): inputs longer than ` +
            `${testLimit} characters run on re2js`,
        );
        break;
      case "exponential":
        testLimit = -1;
        reasons.push(`native backtracking can be exponential (${backtracking.reason})`);
        break;
      case "unknown":
        testLimit = -1;
        reasons.push(`native backtracking not bounded (${backtracking.reason})`);
    }
    execLimit = testLimit;
    if (unstableUsed.length > 0) {
      execLimit = -1;
      reasons.push(
        `capture group ${unstableUsed.join(", ")} can differ in JS (inside a repetition)`,
      );
    }
  }

  const re2Source = emitRe2(root);
  let re2: RE2JS | null = null;
  if (testLimit < Infinity || execLimit < Infinity) {
    try {
      re2 = RE2JS.compile(re2Source);
    } catch (e) {
      // Our normalised pattern is plain RE2; re2js refusing it is a bug here.
      throw new SyntaxError(
        `regex "${source}" cannot be compiled with re2js: ${(e as Error).message}`,
      );
    }
    if (re2.groupCount() !== names.length - 1) {
      throw new Error(`re2js counts ${re2.groupCount()} groups in "${re2Source}"`);
    }
  }

  return new CompiledRegex({
    source,
    regex,
    re2Source,
    re2,
    groupNames: names,
    unstableGroups: unstable,
    anchored,
    fast: fastMatch(root),
    backtracking,
    nativeTestLimit: testLimit,
    nativeExecLimit: execLimit,
    fallback: reasons.length > 0 ? reasons.join("; ") : null,
  });
}

interface CompiledParts {
  source: string;
  regex: RegExp | null;
  re2Source: string;
  re2: RE2JS | null;
  groupNames: readonly (string | undefined)[];
  unstableGroups: ReadonlySet<number>;
  anchored: boolean;
  fast: FastMatch;
  backtracking: Backtracking;
  nativeTestLimit: number;
  nativeExecLimit: number;
  fallback: string | null;
}

/** A match array built from re2js' matcher. */
type Re2Match = (string | undefined)[] & { index: number };

class CompiledRegex implements TranslatedRegex {
  readonly source: string;
  readonly regex: RegExp | null;
  readonly re2Source: string;
  readonly groupNames: readonly (string | undefined)[];
  readonly unstableGroups: ReadonlySet<number>;
  readonly anchored: boolean;
  readonly fast: FastMatch;
  readonly backtracking: Backtracking;
  readonly nativeTestLimit: number;
  readonly nativeExecLimit: number;
  readonly fallback: string | null;
  readonly #re2: RE2JS | null;
  #global: RegExp | null = null;

  constructor(p: CompiledParts) {
    this.source = p.source;
    this.regex = p.regex;
    this.re2Source = p.re2Source;
    this.#re2 = p.re2;
    this.groupNames = p.groupNames;
    this.unstableGroups = p.unstableGroups;
    this.anchored = p.anchored;
    this.fast = p.fast;
    this.backtracking = p.backtracking;
    this.nativeTestLimit = p.nativeTestLimit;
    this.nativeExecLimit = p.nativeExecLimit;
    this.fallback = p.fallback;
  }

  test(s: string): boolean {
    return s.length <= this.nativeTestLimit ? this.regex!.test(s) : this.#re2!.test(s);
  }

  exec(s: string): RegexMatch | null {
    return s.length <= this.nativeExecLimit ? this.regex!.exec(s) : this.#re2Exec(s, 0);
  }

  replaceAll(src: string, replace: (m: RegexMatch) => string): string {
    const native = src.length <= this.nativeExecLimit;
    if (this.anchored) {
      // Every match spans the whole input, so there is at most one.
      const m = native ? this.regex!.exec(src) : this.#re2Exec(src, 0);
      return m === null ? src : replace(m);
    }
    let re: RegExp | null = null;
    if (native) re = this.#global ??= new RegExp(this.regex!.source, this.regex!.flags + "g");
    let out = "";
    let lastMatchEnd = 0;
    let searchPos = 0;
    const end = src.length;
    while (searchPos <= end) {
      let m: RegexMatch | null;
      if (re !== null) {
        re.lastIndex = searchPos;
        m = re.exec(src);
      } else m = this.#re2Exec(src, searchPos);
      if (m === null) break;
      const a0 = m.index, a1 = m.index + m[0]!.length;
      out += src.slice(lastMatchEnd, a0);
      // No replacement for an empty match right after the previous match.
      if (a1 > lastMatchEnd || a0 === 0) out += replace(m);
      lastMatchEnd = a1;
      const width = searchPos < end ? (src.codePointAt(searchPos)! > 0xffff ? 2 : 1) : 0;
      if (searchPos + width > a1) searchPos += width;
      else if (searchPos + 1 > a1) searchPos++;
      else searchPos = a1;
    }
    return out + src.slice(lastMatchEnd);
  }

  #re2Exec(s: string, from: number): Re2Match | null {
    const m = this.#re2!.matcher(s);
    if (!m.find(from)) return null;
    const n = this.groupNames.length;
    const out = new Array<string | undefined>(n) as Re2Match;
    for (let i = 0; i < n; i++) out[i] = m.group(i) ?? undefined;
    out.index = m.start(0);
    return out;
  }
}

// ---------------------------------------------------------------------------
// Syntax tree

/** @internal A parsed RE2 pattern; flags are resolved into the nodes. */
export type Node =
  | { t: "lit"; cp: number; fold: boolean }
  | { t: "class"; cls: ClassSpec; fold: boolean }
  | { t: "any"; nl: boolean }
  | { t: "assert"; k: "bot" | "eot" | "bol" | "eol" | "wb" | "nwb" }
  | { t: "cap"; index: number; sub: Node }
  | { t: "cat"; subs: Node[] }
  | { t: "alt"; subs: Node[] }
  | { t: "rep"; min: number; max: number; greedy: boolean; counted: boolean; sub: Node }
  | { t: "empty" };

/** @internal A bracket expression: explicit code point ranges plus Unicode property sets. */
export interface ClassSpec {
  negated: boolean;
  /** Pairs `[lo0, hi0, lo1, hi1, …]`. */
  ranges: number[];
  /** Each item is the union of `names` (JS property expressions), complemented when `neg`. */
  props: { names: string[]; neg: boolean }[];
}

const FOLD = 1, DOTNL = 2, MULTI = 4, UNGREEDY = 8;
const MAX_REPEAT = 1000;
const MAX_DEPTH = 1000;

class Re2Error extends Error {
  constructor(readonly code: string, readonly expr: string) {
    super(`${code}: ${expr}`);
  }
}

interface Frame {
  cap: number;
  saved: number;
  alts: Node[];
  cat: Node[];
  start: number;
}

// ---------------------------------------------------------------------------
// Parser: Go's regexp/syntax grammar with the Perl flags regexp.Compile uses.

class Parser {
  readonly names: (string | undefined)[] = [undefined];
  #s: string;
  #i = 0;
  #flags = 0;
  #frames: Frame[] = [];

  constructor(s: string) {
    this.#s = s;
  }

  parse(): Node {
    const s = this.#s;
    const n = s.length;
    this.#frames.push({ cap: 0, saved: 0, alts: [], cat: [], start: 0 });
    let lastRepeat = "";
    while (this.#i < n) {
      let repeat = "";
      const c = s[this.#i];
      switch (c) {
        case "(":
          if (s[this.#i + 1] === "?") this.#parsePerlFlags();
          else {
            this.names.push(undefined);
            this.#open(this.names.length - 1);
            this.#i++;
          }
          break;
        case "|": {
          const f = this.#top();
          f.alts.push(cat(f.cat));
          f.cat = [];
          this.#i++;
          break;
        }
        case ")":
          this.#close();
          this.#i++;
          break;
        case "^":
          this.#push({ t: "assert", k: this.#flags & MULTI ? "bol" : "bot" });
          this.#i++;
          break;
        case "$":
          this.#push({ t: "assert", k: this.#flags & MULTI ? "eol" : "eot" });
          this.#i++;
          break;
        case ".":
          this.#push({ t: "any", nl: (this.#flags & DOTNL) !== 0 });
          this.#i++;
          break;
        case "[":
          this.#parseClass();
          break;
        case "*":
        case "+":
        case "?": {
          const before = this.#i;
          this.#i++;
          const [min, max] = c === "*" ? [0, -1] : c === "+" ? [1, -1] : [0, 1];
          this.#repeat(min, max, false, before, lastRepeat);
          repeat = s.slice(before, this.#i);
          break;
        }
        case "{": {
          const before = this.#i;
          const r = this.#parseRepeat();
          if (r === null) {
            this.#push(this.#lit(0x7b));
            this.#i++;
            break;
          }
          const [min, max] = r;
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            throw new Re2Error("invalid repeat count", s.slice(before, this.#i));
          }
          this.#repeat(min, max, true, before, lastRepeat);
          repeat = s.slice(before, this.#i);
          break;
        }
        case "\\":
          this.#parseBackslash();
          break;
        default: {
          const cp = s.codePointAt(this.#i)!;
          this.#push(this.#lit(cp));
          this.#i += cp > 0xffff ? 2 : 1;
        }
      }
      lastRepeat = repeat;
    }
    if (this.#frames.length !== 1) throw new Re2Error("missing closing )", s);
    const f = this.#frames[0];
    f.alts.push(cat(f.cat));
    const root = alt(f.alts);
    checkDepth(root, 0, s);
    return root;
  }

  #top(): Frame {
    return this.#frames[this.#frames.length - 1];
  }

  #push(node: Node): void {
    this.#top().cat.push(node);
  }

  #lit(cp: number): Node {
    return { t: "lit", cp, fold: (this.#flags & FOLD) !== 0 };
  }

  #open(cap: number): void {
    this.#frames.push({ cap, saved: this.#flags, alts: [], cat: [], start: this.#i });
  }

  #close(): void {
    if (this.#frames.length === 1) throw new Re2Error("unexpected )", this.#s);
    const f = this.#frames.pop()!;
    f.alts.push(cat(f.cat));
    const body = alt(f.alts);
    this.#flags = f.saved;
    this.#push(f.cap > 0 ? { t: "cap", index: f.cap, sub: body } : body);
  }

  /** Applies a repetition operator (already consumed up to `this.#i`) to the last item. */
  #repeat(min: number, max: number, counted: boolean, before: number, lastRepeat: string): void {
    const s = this.#s;
    let greedy = (this.#flags & UNGREEDY) === 0;
    if (s[this.#i] === "?") {
      this.#i++;
      greedy = !greedy;
    }
    if (lastRepeat !== "") {
      const op = lastRepeat + s.slice(before, this.#i);
      throw new Re2Error(
        "invalid nested repetition operator" +
          (op.endsWith("+") && op.length > 1 ? " (possessive quantifiers are not supported)" : ""),
        op,
      );
    }
    const f = this.#top();
    if (f.cat.length === 0) {
      throw new Re2Error("missing argument to repetition operator", s.slice(before, this.#i));
    }
    const sub = f.cat[f.cat.length - 1];
    const node: Node = { t: "rep", min, max, greedy, counted, sub };
    f.cat[f.cat.length - 1] = node;
    if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
      throw new Re2Error("invalid repeat count", s.slice(before, this.#i));
    }
  }

  /** `{n}`, `{n,}`, `{n,m}` at `this.#i`; null when not of that form ({ is then a literal). */
  #parseRepeat(): [number, number] | null {
    const s = this.#s;
    let j = this.#i + 1;
    const int = (): number | null => {
      if (j >= s.length || !isDigit(s.charCodeAt(j))) return null;
      // Go disallows leading zeros.
      if (s[j] === "0" && j + 1 < s.length && isDigit(s.charCodeAt(j + 1))) return null;
      let v = 0;
      while (j < s.length && isDigit(s.charCodeAt(j))) {
        if (v >= 1e8) v = -1;
        else if (v >= 0) v = v * 10 + (s.charCodeAt(j) - 48);
        j++;
      }
      return v;
    };
    let min = int();
    if (min === null || j >= s.length) return null;
    let max: number;
    if (s[j] !== ",") {
      max = min;
    } else {
      j++;
      if (j >= s.length) return null;
      if (s[j] === "}") max = -1;
      else {
        const m = int();
        if (m === null) return null;
        max = m;
        if (max < 0) min = -1;
      }
    }
    if (j >= s.length || s[j] !== "}") return null;
    this.#i = j + 1;
    return [min, max];
  }

  #parsePerlFlags(): void {
    const s = this.#s;
    const i = this.#i;
    const t = s.slice(i);
    const startsWithP = t.length > 4 && t[2] === "P" && t[3] === "<";
    const startsWithName = t.length > 3 && t[2] === "<";
    if (startsWithP || startsWithName) {
      const end = t.indexOf(">");
      const name = end < 0 ? "" : t.slice(startsWithName ? 3 : 4, end);
      if (end < 0 || !/^[A-Za-z0-9_]+$/.test(name)) {
        if (startsWithName && (t[3] === "=" || t[3] === "!")) {
          throw new Re2Error("invalid named capture (lookbehind is not supported)", t.slice(0, 4));
        }
        throw new Re2Error("invalid named capture", end < 0 ? t : t.slice(0, end + 1));
      }
      this.names.push(name);
      this.#open(this.names.length - 1);
      this.#i = i + end + 1;
      return;
    }
    let j = i + 2;
    let on = 0, off = 0;
    let sign = 1;
    let sawFlag = false;
    loop: while (j < s.length) {
      const c = s[j];
      j += c.codePointAt(0)! > 0xffff ? 2 : 1;
      switch (c) {
        case "i":
        case "m":
        case "s":
        case "U": {
          const bit = c === "i" ? FOLD : c === "m" ? MULTI : c === "s" ? DOTNL : UNGREEDY;
          if (sign > 0) on |= bit;
          else off |= bit;
          sawFlag = true;
          break;
        }
        case "-":
          if (sign < 0) break loop;
          sign = -1;
          sawFlag = false;
          break;
        case ":":
        case ")": {
          if (sign < 0 && !sawFlag) break loop;
          const flags = (this.#flags | on) & ~off;
          if (c === ":") this.#open(0);
          this.#flags = flags;
          this.#i = j;
          return;
        }
        default:
          break loop;
      }
    }
    const expr = s.slice(i, j);
    const hint = /^\(\?[=!]/.test(expr)
      ? " (lookahead is not supported)"
      : /^\(\?>/.test(expr)
      ? " (atomic groups are not supported)"
      : s.startsWith("(?P=", i)
      ? " (backreferences are not supported)"
      : "";
    throw new Re2Error("invalid or unsupported Perl syntax" + hint, expr);
  }

  #parseBackslash(): void {
    const s = this.#s;
    const i = this.#i;
    const c1 = s[i + 1];
    switch (c1) {
      case "A":
        this.#push({ t: "assert", k: "bot" });
        this.#i += 2;
        return;
      case "b":
        this.#push({ t: "assert", k: "wb" });
        this.#i += 2;
        return;
      case "B":
        this.#push({ t: "assert", k: "nwb" });
        this.#i += 2;
        return;
      case "C":
        throw new Re2Error("invalid escape sequence", "\\C");
      case "Q": {
        const end = s.indexOf("\\E", i + 2);
        const lit = end < 0 ? s.slice(i + 2) : s.slice(i + 2, end);
        for (const ch of lit) this.#push(this.#lit(ch.codePointAt(0)!));
        this.#i = end < 0 ? s.length : end + 2;
        return;
      }
      case "z":
        this.#push({ t: "assert", k: "eot" });
        this.#i += 2;
        return;
    }
    if (c1 === "p" || c1 === "P") {
      const cls: ClassSpec = { negated: false, ranges: [], props: [] };
      this.#i = this.#parseUnicodeClass(i, cls);
      this.#push({ t: "class", cls, fold: (this.#flags & FOLD) !== 0 });
      return;
    }
    const perl = i + 1 < s.length ? PERL_GROUPS[c1] : undefined;
    if (perl !== undefined) {
      const cls: ClassSpec = { negated: false, ranges: [], props: [] };
      addGroup(cls, perl, (this.#flags & FOLD) !== 0);
      this.#push({ t: "class", cls, fold: (this.#flags & FOLD) !== 0 });
      this.#i += 2;
      return;
    }
    const [cp, next] = this.#parseEscape(i);
    this.#push(this.#lit(cp));
    this.#i = next;
  }

  /** An ordinary escape at `i` (the backslash): returns the code point and the next index. */
  #parseEscape(i: number): [number, number] {
    const s = this.#s;
    let j = i + 1;
    if (j >= s.length) throw new Re2Error("trailing backslash at end of expression", "");
    const c = s.codePointAt(j)!;
    j += c > 0xffff ? 2 : 1;
    if (c < 0x80 && !isAlnum(c)) return [c, j];
    const isOct = (k: number) => k < s.length && s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x37;
    // Octal: \0 and up to two more digits, or \1-\7 followed by an octal digit
    // (a lone \1-\7 would be a backreference, which RE2 does not support).
    if (c >= 0x30 && c <= 0x37) {
      if (c !== 0x30 && !isOct(j)) {
        throw new Re2Error(
          "invalid escape sequence (backreferences are not supported)",
          s.slice(i, j),
        );
      }
      let r = c - 0x30;
      for (let k = 1; k < 3 && isOct(j); k++) r = r * 8 + (s.charCodeAt(j++) - 0x30);
      return [r, j];
    }
    switch (c) {
      case 0x78: { // x
        if (j >= s.length) break;
        const c2 = s.codePointAt(j)!;
        j += c2 > 0xffff ? 2 : 1;
        if (c2 === 0x7b) { // {
          let r = 0, nhex = 0;
          for (;;) {
            if (j >= s.length) throw new Re2Error("invalid escape sequence", s.slice(i, j));
            const d = s.codePointAt(j)!;
            j += d > 0xffff ? 2 : 1;
            if (d === 0x7d) break;
            const v = unhex(d);
            if (v < 0) throw new Re2Error("invalid escape sequence", s.slice(i, j));
            r = r * 16 + v;
            if (r > 0x10ffff) throw new Re2Error("invalid escape sequence", s.slice(i, j));
            nhex++;
          }
          if (nhex === 0) break;
          return [r, j];
        }
        const x = unhex(c2);
        if (j >= s.length) break;
        const c3 = s.codePointAt(j)!;
        j += c3 > 0xffff ? 2 : 1;
        const y = unhex(c3);
        if (x < 0 || y < 0) break;
        return [x * 16 + y, j];
      }
      case 0x61:
        return [0x07, j]; // \a
      case 0x66:
        return [0x0c, j]; // \f
      case 0x6e:
        return [0x0a, j]; // \n
      case 0x72:
        return [0x0d, j]; // \r
      case 0x74:
        return [0x09, j]; // \t
      case 0x76:
        return [0x0b, j]; // \v
    }
    throw new Re2Error("invalid escape sequence", s.slice(i, j));
  }

  /** `\pX`, `\p{Name}`, `\P…`, `\p{^Name}` at `i`; adds to `cls`, returns the next index. */
  #parseUnicodeClass(i: number, cls: ClassSpec): number {
    const s = this.#s;
    let neg = s[i + 1] === "P";
    let j = i + 2;
    let name: string;
    let seq: string;
    if (j >= s.length) throw new Re2Error("invalid character class range", s.slice(i));
    const c = s.codePointAt(j)!;
    if (c !== 0x7b) {
      j += c > 0xffff ? 2 : 1;
      seq = s.slice(i, j);
      name = seq.slice(2);
    } else {
      const end = s.indexOf("}", i);
      if (end < 0) throw new Re2Error("invalid character class range", s.slice(i));
      seq = s.slice(i, end + 1);
      name = s.slice(i + 3, end);
      j = end + 1;
    }
    if (name.startsWith("^")) {
      neg = !neg;
      name = name.slice(1);
    }
    const prop = unicodeProperty(name);
    if (prop === null) throw new Re2Error("invalid character class range", seq);
    cls.props.push({ names: prop, neg });
    return j;
  }

  #parseClass(): void {
    const s = this.#s;
    const start = this.#i;
    let j = start + 1;
    const fold = (this.#flags & FOLD) !== 0;
    const cls: ClassSpec = { negated: false, ranges: [], props: [] };
    if (s[j] === "^") {
      cls.negated = true;
      j++;
    }
    let first = true;
    while (j >= s.length || s[j] !== "]" || first) {
      first = false;
      if (s.length - j > 2 && s[j] === "[" && s[j + 1] === ":") {
        const k = s.indexOf(":]", j + 2);
        if (k >= 0) {
          const name = s.slice(j, k + 2);
          const g = POSIX_GROUPS[name];
          if (g === undefined) throw new Re2Error("invalid character class range", name);
          addGroup(cls, g, fold);
          j = k + 2;
          continue;
        }
      }
      if (s[j] === "\\" && (s[j + 1] === "p" || s[j + 1] === "P")) {
        j = this.#parseUnicodeClass(j, cls);
        continue;
      }
      if (s[j] === "\\" && j + 1 < s.length && PERL_GROUPS[s[j + 1]] !== undefined) {
        addGroup(cls, PERL_GROUPS[s[j + 1]], fold);
        j += 2;
        continue;
      }
      const rangeStart = j;
      let lo: number;
      [lo, j] = this.#classChar(j, start);
      let hi = lo;
      if (s.length - j >= 2 && s[j] === "-" && s[j + 1] !== "]") {
        [hi, j] = this.#classChar(j + 1, start);
        if (hi < lo) throw new Re2Error("invalid character class range", s.slice(rangeStart, j));
      }
      cls.ranges.push(lo, hi);
    }
    this.#i = j + 1;
    this.#push({ t: "class", cls, fold });
  }

  #classChar(j: number, classStart: number): [number, number] {
    const s = this.#s;
    if (j >= s.length) throw new Re2Error("missing closing ]", s.slice(classStart));
    if (s[j] === "\\") return this.#parseEscape(j);
    const cp = s.codePointAt(j)!;
    return [cp, j + (cp > 0xffff ? 2 : 1)];
  }
}

function cat(subs: Node[]): Node {
  if (subs.length === 0) return { t: "empty" };
  if (subs.length === 1) return subs[0];
  return { t: "cat", subs };
}

function alt(subs: Node[]): Node {
  return subs.length === 1 ? subs[0] : { t: "alt", subs };
}

function children(n: Node): Node[] {
  switch (n.t) {
    case "cat":
    case "alt":
      return n.subs;
    case "cap":
    case "rep":
      return [n.sub];
    default:
      return [];
  }
}

/** Go's nested repeat limit: the product of nested counted repetitions must stay ≤ n. */
function repeatIsValid(n: Node, limit: number): boolean {
  if (n.t === "rep" && n.counted) {
    let m = n.max;
    if (m === 0) return true;
    if (m < 0) m = n.min;
    if (m > limit) return false;
    if (m > 0) limit = Math.trunc(limit / m);
  }
  for (const c of children(n)) if (!repeatIsValid(c, limit)) return false;
  return true;
}

function checkDepth(n: Node, depth: number, s: string): void {
  if (depth > MAX_DEPTH) throw new Re2Error("expression nests too deeply", s);
  for (const c of children(n)) checkDepth(c, depth + 1, s);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

// ---------------------------------------------------------------------------
// Character groups

/** An ASCII group: ranges plus whether it is negated. */
interface Group {
  neg: boolean;
  ranges: number[];
}

const g = (neg: boolean, ...ranges: number[]): Group => ({ neg, ranges });
const ch = (s: string) => s.codePointAt(0)!;

const PERL_GROUPS: Record<string, Group> = {
  d: g(false, ch("0"), ch("9")),
  D: g(true, ch("0"), ch("9")),
  s: g(false, 9, 10, 12, 13, 32, 32),
  S: g(true, 9, 10, 12, 13, 32, 32),
  w: g(false, ch("0"), ch("9"), ch("A"), ch("Z"), ch("_"), ch("_"), ch("a"), ch("z")),
  W: g(true, ch("0"), ch("9"), ch("A"), ch("Z"), ch("_"), ch("_"), ch("a"), ch("z")),
};

const POSIX: Record<string, number[]> = {
  alnum: [ch("0"), ch("9"), ch("A"), ch("Z"), ch("a"), ch("z")],
  alpha: [ch("A"), ch("Z"), ch("a"), ch("z")],
  ascii: [0, 0x7f],
  blank: [9, 9, 32, 32],
  cntrl: [0, 0x1f, 0x7f, 0x7f],
  digit: [ch("0"), ch("9")],
  graph: [ch("!"), ch("~")],
  lower: [ch("a"), ch("z")],
  print: [ch(" "), ch("~")],
  punct: [ch("!"), ch("/"), ch(":"), ch("@"), ch("["), ch("`"), ch("{"), ch("~")],
  space: [9, 13, 32, 32],
  upper: [ch("A"), ch("Z")],
  word: [ch("0"), ch("9"), ch("A"), ch("Z"), ch("a"), ch("z"), ch("_"), ch("_")],
  xdigit: [ch("0"), ch("9"), ch("A"), ch("F"), ch("a"), ch("f")],
};

const POSIX_GROUPS: Record<string, Group> = {};
for (const [name, ranges] of Object.entries(POSIX)) {
  POSIX_GROUPS[`[:${name}:]`] = g(false, ...ranges);
  POSIX_GROUPS[`[:^${name}:]`] = g(true, ...ranges);
}

/**
 * Adds an ASCII group to a class. A positive group is added as is (case
 * folding, if on, is applied by the `(?i:…)` wrapper). A negated group is
 * complemented here; under folding Go folds before complementing, so the
 * fold closure is computed first (for ASCII that adds the other case, plus
 * U+017F for s and U+212A for k).
 */
function addGroup(cls: ClassSpec, grp: Group, fold: boolean): void {
  if (!grp.neg) {
    cls.ranges.push(...grp.ranges);
    return;
  }
  let set = grp.ranges;
  if (fold) {
    const cps = new Set<number>();
    for (let i = 0; i < set.length; i += 2) {
      for (let c = set[i]; c <= set[i + 1]; c++) {
        cps.add(c);
        if (c >= 0x41 && c <= 0x5a) cps.add(c + 32);
        if (c >= 0x61 && c <= 0x7a) cps.add(c - 32);
        if (c === 0x53 || c === 0x73) cps.add(0x17f);
        if (c === 0x4b || c === 0x6b) cps.add(0x212a);
      }
    }
    set = toRanges([...cps]);
  }
  cls.ranges.push(...complement(set));
}

function toRanges(cps: number[]): number[] {
  cps.sort((a, b) => a - b);
  const out: number[] = [];
  for (const c of cps) {
    if (out.length > 0 && out[out.length - 1] + 1 >= c) {
      out[out.length - 1] = Math.max(out[out.length - 1], c);
    } else out.push(c, c);
  }
  return out;
}

/** Complement of sorted, disjoint ranges within [0, 0x10FFFF]. */
function complement(ranges: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] > next) out.push(next, ranges[i] - 1);
    next = ranges[i + 1] + 1;
  }
  if (next <= 0x10ffff) out.push(next, 0x10ffff);
  return out;
}

// ---------------------------------------------------------------------------
// Unicode class names (Go's unicode tables; names looked up the way Go 1.25+
// does: case-insensitive, ignoring spaces, '_' and '-').

const CATEGORIES =
  "C Cc Cf Cn Co Cs L LC Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs"
    .split(" ");

/** Unicode's long General_Category aliases → short names. */
const CATEGORY_ALIASES: Record<string, string> = {
  Cased_Letter: "LC",
  Close_Punctuation: "Pe",
  Combining_Mark: "M",
  Connector_Punctuation: "Pc",
  Control: "Cc",
  Currency_Symbol: "Sc",
  Dash_Punctuation: "Pd",
  Decimal_Number: "Nd",
  Enclosing_Mark: "Me",
  Final_Punctuation: "Pf",
  Format: "Cf",
  Initial_Punctuation: "Pi",
  Letter: "L",
  Letter_Number: "Nl",
  Line_Separator: "Zl",
  Lowercase_Letter: "Ll",
  Mark: "M",
  Math_Symbol: "Sm",
  Modifier_Letter: "Lm",
  Modifier_Symbol: "Sk",
  Nonspacing_Mark: "Mn",
  Number: "N",
  Open_Punctuation: "Ps",
  Other: "C",
  Other_Letter: "Lo",
  Other_Number: "No",
  Other_Punctuation: "Po",
  Other_Symbol: "So",
  Paragraph_Separator: "Zp",
  Private_Use: "Co",
  Punctuation: "P",
  Separator: "Z",
  Space_Separator: "Zs",
  Spacing_Mark: "Mc",
  Surrogate: "Cs",
  Symbol: "S",
  Titlecase_Letter: "Lt",
  Unassigned: "Cn",
  Uppercase_Letter: "Lu",
  cntrl: "Cc",
  digit: "Nd",
  punct: "P",
};

/** Go's unicode.Scripts (Unicode 15.0). */
const SCRIPTS = (
  "Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali " +
  "Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian " +
  "Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret " +
  "Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian " +
  "Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul Hanifi_Rohingya " +
  "Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited Inscriptional_Pahlavi " +
  "Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li Kharoshthi " +
  "Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian " +
  "Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin " +
  "Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani " +
  "Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham " +
  "Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian " +
  "Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau " +
  "Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham " +
  "SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa " +
  "Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta " +
  "Toto Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square"
).split(" ");

/** Go's canonical lookup form: leading letter upper, rest lower, no spaces/'_'/'-'. */
function canonicalName(name: string): string {
  let out = "";
  let first = true;
  for (const c of name) {
    if (c === "_" || c === "-" || c === " ") continue;
    if (first) {
      out += c >= "a" && c <= "z" ? c.toUpperCase() : c;
      first = false;
    } else out += c >= "A" && c <= "Z" ? c.toLowerCase() : c;
  }
  return out;
}

let unicodeNames: Map<string, string[]> | undefined;

/** JS property expressions for a Go Unicode class name, or null when Go does not know it. */
export function unicodeProperty(name: string): string[] | null {
  if (unicodeNames === undefined) {
    const m = new Map<string, string[]>();
    for (const c of CATEGORIES) m.set(canonicalName(c), c === "C" ? ["Cc", "Cf", "Co", "Cs"] : [c]);
    for (const [alias, c] of Object.entries(CATEGORY_ALIASES)) {
      const canon = canonicalName(alias);
      if (!m.has(canon)) m.set(canon, m.get(canonicalName(c))!);
    }
    for (const sc of SCRIPTS) {
      const canon = canonicalName(sc);
      if (!m.has(canon)) m.set(canon, [`Script=${sc}`]);
    }
    m.set("Any", ["Any"]);
    m.set("Assigned", ["Assigned"]);
    m.set("Ascii", ["ASCII"]);
    unicodeNames = m;
  }
  return unicodeNames.get(canonicalName(name)) ?? null;
}

// ---------------------------------------------------------------------------
// Emitter

class Emitter {
  #jsNames = new Set<string>();
  #names: readonly (string | undefined)[];

  constructor(names: readonly (string | undefined)[]) {
    this.#names = names;
  }

  /** The whole pattern; a leading start-of-text assertion stays a plain `^`. */
  emitRoot(root: Node): string {
    if (root.t === "cat" && root.subs[0].t === "assert" && root.subs[0].k === "bot") {
      return "^" + this.emit({ t: "cat", subs: root.subs.slice(1) });
    }
    return this.emit(root);
  }

  emit(n: Node): string {
    switch (n.t) {
      case "empty":
        return "";
      case "lit":
        return n.fold && hasCase(n.cp) ? `(?i:${escLit(n.cp)})` : escLit(n.cp);
      case "class":
        return this.#class(n.cls, n.fold);
      case "any":
        return n.nl ? "." : "[^\\n]";
      case "assert":
        switch (n.k) {
          case "bot":
            // Only the leading ^ is emitted as ^: V8 15 mis-optimizes a later
            // ^ (e.g. /^b*(?:[^]*?[a-z]^)?$/ fails on "b"); the lookbehind is
            // the same assertion.
            return "(?<![^])";
          case "eot":
            return "$";
          case "bol":
            return "(?<![^\\n])";
          case "eol":
            return "(?![^\\n])";
          case "wb":
            return "\\b";
          case "nwb":
            return "\\B";
        }
        break;
      case "cap": {
        const name = this.#names[n.index];
        let head = "(";
        if (
          name !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !this.#jsNames.has(name)
        ) {
          this.#jsNames.add(name);
          head = `(?<${name}>`;
        }
        return head + this.emit(n.sub) + ")";
      }
      case "alt":
        return n.subs.map((s) => this.emit(s)).join("|");
      case "cat": {
        let out = "";
        const subs = n.subs;
        for (let i = 0; i < subs.length; i++) {
          const s = subs[i];
          if (s.t === "lit") {
            // Merge a run of literals with the same case sensitivity.
            let run = "";
            let cased = false;
            let j = i;
            for (; j < subs.length; j++) {
              const x = subs[j];
              if (x.t !== "lit" || x.fold !== s.fold) break;
              run += escLit(x.cp);
              cased ||= hasCase(x.cp);
            }
            out += s.fold && cased ? `(?i:${run})` : run;
            i = j - 1;
          } else if (s.t === "alt") {
            out += `(?:${this.emit(s)})`;
          } else out += this.emit(s);
        }
        return out;
      }
      case "rep": {
        const sub = n.sub;
        if (n.min === 0 && n.max === 1 && nullable(sub)) {
          // JS rejects an empty optional iteration and backtracks into the
          // body; RE2 takes it. An alternation has no such check.
          return n.greedy ? `(?:${this.emit(sub)}|)` : `(?:|${this.emit(sub)})`;
        }
        let atom = this.emit(sub);
        const atomic = sub.t === "lit" || sub.t === "class" || sub.t === "any" || sub.t === "cap";
        if (!atomic) atom = `(?:${atom})`;
        let q: string;
        if (n.min === 0 && n.max === -1) q = "*";
        else if (n.min === 1 && n.max === -1) q = "+";
        else if (n.min === 0 && n.max === 1) q = "?";
        else if (n.max === -1) q = `{${n.min},}`;
        else if (n.min === n.max) q = `{${n.min}}`;
        else q = `{${n.min},${n.max}}`;
        return atom + q + (n.greedy ? "" : "?");
      }
    }
    throw new Error("unreachable");
  }

  #class(cls: ClassSpec, fold: boolean): string {
    let negated = cls.negated;
    let props = cls.props;
    // A lone negated item is expressed by negating the whole class: exact even
    // under case folding, where JS's complement-then-fold differs from Go's.
    if (cls.ranges.length === 0 && props.length === 1 && props[0].neg) {
      negated = !negated;
      props = [{ names: props[0].names, neg: false }];
    }
    let body = "";
    for (const p of props.map(positiveProp)) {
      if (p.neg) {
        if (fold) {
          throw new Re2Error(
            "negated Unicode class inside a bracket expression under (?i)",
            "\\P{" + p.names.join("|") + "}",
          );
        }
        if (p.names.length !== 1) {
          throw new Re2Error(
            "negated multi-part Unicode class inside a bracket expression",
            "\\P{" + p.names.join("|") + "}",
          );
        }
        body += `\\P{${p.names[0]}}`;
      } else {
        for (const name of p.names) body += `\\p{${name}}`;
      }
    }
    const r = cls.ranges;
    for (let i = 0; i < r.length; i += 2) {
      body += r[i] === r[i + 1] ? escClass(r[i]) : escClass(r[i]) + "-" + escClass(r[i + 1]);
    }
    const out = "[" + (negated ? "^" : "") + body + "]";
    return fold ? `(?i:${out})` : out;
  }
}

/** Go's `C` (`Cc`, `Cf`, `Co`, `Cs`): its complement is the other general categories. */
const C_PARTS = "Cc,Cf,Co,Cs";
const NOT_C = ["Cn", "L", "M", "N", "P", "S", "Z"];

/**
 * A negated multi-part item as the union of the rest: `\PC` inside a bracket
 * is every other general category. (No character in C has a case, so this
 * also holds under case folding.)
 */
function positiveProp(p: { names: string[]; neg: boolean }): { names: string[]; neg: boolean } {
  return p.neg && p.names.join(",") === C_PARTS ? { names: NOT_C, neg: false } : p;
}

// ---------------------------------------------------------------------------
// RE2 emitter: a normalised pattern for re2js. Flags are already resolved into
// the nodes, literals are written as \x{…}, groups are unnamed (names are kept
// in groupNames; Go allows duplicates, RE2/J does not), and Unicode classes use
// names every RE2 port knows.

function emitRe2(n: Node): string {
  switch (n.t) {
    case "empty":
      return "(?:)";
    case "lit":
      return n.fold && hasCase(n.cp) ? `(?i:${re2Char(n.cp)})` : re2Char(n.cp);
    case "class":
      return re2Class(n.cls, n.fold);
    case "any":
      return n.nl ? "(?s:.)" : "[^\\n]";
    case "assert":
      switch (n.k) {
        case "bot":
          return "\\A";
        case "eot":
          return "\\z";
        case "bol":
          return "(?m:^)";
        case "eol":
          return "(?m:$)";
        case "wb":
          return "\\b";
        case "nwb":
          return "\\B";
      }
      break;
    case "cap":
      return "(" + emitRe2(n.sub) + ")";
    case "alt":
      return n.subs.map(emitRe2).join("|");
    case "cat":
      return n.subs.map((s) => (s.t === "alt" ? `(?:${emitRe2(s)})` : emitRe2(s))).join("");
    case "rep": {
      const sub = n.sub;
      const atomic = sub.t === "lit" || sub.t === "class" || sub.t === "any" || sub.t === "cap";
      const atom = atomic ? emitRe2(sub) : `(?:${emitRe2(sub)})`;
      let q: string;
      if (!n.counted && n.min === 0 && n.max === -1) q = "*";
      else if (!n.counted && n.min === 1 && n.max === -1) q = "+";
      else if (!n.counted && n.min === 0 && n.max === 1) q = "?";
      else if (n.max === -1) q = `{${n.min},}`;
      else if (n.min === n.max) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return atom + q + (n.greedy ? "" : "?");
    }
  }
  throw new Error("unreachable");
}

function re2Char(cp: number): string {
  return isAlnum(cp) || cp === 0x5f ? String.fromCharCode(cp) : `\\x{${cp.toString(16)}}`;
}

const FOLDED_ASCII = [0, 0x7f, 0x17f, 0x17f, 0x212a, 0x212a];

function re2Class(cls: ClassSpec, fold: boolean): string {
  let body = "";
  const ranges = [...cls.ranges];
  for (const p of cls.props.map(positiveProp)) {
    if (p.names.length === 1 && p.names[0] === "ASCII") {
      // Not every RE2 port knows \p{ASCII}. Negated under folding, Go
      // complements the fold closure.
      ranges.push(...(p.neg ? complement(fold ? FOLDED_ASCII : [0, 0x7f]) : [0, 0x7f]));
      continue;
    }
    if (p.neg && p.names.length !== 1) {
      throw new Error(`no RE2 form for a negated union of ${p.names.join(", ")}`);
    }
    for (const name of p.names) {
      body += `\\${p.neg ? "P" : "p"}{${name.startsWith("Script=") ? name.slice(7) : name}}`;
    }
  }
  for (let i = 0; i < ranges.length; i += 2) {
    body += ranges[i] === ranges[i + 1]
      ? re2Char(ranges[i])
      : re2Char(ranges[i]) + "-" + re2Char(ranges[i + 1]);
  }
  const out = "[" + (cls.negated ? "^" : "") + body + "]";
  return fold ? `(?i:${out})` : out;
}

/** Whether case folding can matter for `cp` (conservatively true outside ASCII). */
function hasCase(cp: number): boolean {
  return cp >= 0x80 || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

function escLit(cp: number): string {
  if (isAlnum(cp) || cp === 0x5f) return String.fromCharCode(cp);
  if ("^$\\.*+?()[]{}|/".includes(String.fromCharCode(cp)) && cp < 0x80) {
    return "\\" + String.fromCharCode(cp);
  }
  if (cp >= 0x20 && cp < 0x7f) return String.fromCharCode(cp);
  return `\\u{${cp.toString(16)}}`;
}

function escClass(cp: number): string {
  if (isAlnum(cp) || cp === 0x5f) return String.fromCharCode(cp);
  return `\\u{${cp.toString(16)}}`;
}

// ---------------------------------------------------------------------------
// Analyses

/** Whether every match of the root spans the whole input. */
function isAnchored(root: Node): boolean {
  if (root.t !== "cat") return false;
  const first = root.subs[0], last = root.subs[root.subs.length - 1];
  return first.t === "assert" && first.k === "bot" && last.t === "assert" && last.k === "eot";
}

/**
 * Whether some repetition with optional iterations (other than `?`, which is
 * emitted as an alternation) has a body that can match the empty string.
 */
function hasNullableLoop(n: Node): boolean {
  if (
    n.t === "rep" && (n.max === -1 || n.max > n.min) && !(n.min === 0 && n.max === 1) &&
    nullable(n.sub)
  ) return true;
  return children(n).some(hasNullableLoop);
}

/**
 * Marks capture groups whose final value depends on how repetitions are
 * executed: inside a repetition that can run more than once, a group is
 * stable only if every iteration sets it (reached through concatenations and
 * mandatory repetitions only) and no iteration can match the empty string.
 */
function findUnstable(n: Node, out: Set<number>): void {
  if (n.t === "rep" && (n.max === -1 || n.max > 1)) {
    const bodyNullable = nullable(n.sub);
    markCaptures(n.sub, bodyNullable, out);
    findUnstable(n.sub, out);
    return;
  }
  for (const c of children(n)) findUnstable(c, out);
}

/** Walks a repetition body; captures reached through optional paths (or any, if `all`) are unstable. */
function markCaptures(n: Node, all: boolean, out: Set<number>): void {
  switch (n.t) {
    case "cap":
      if (all) out.add(n.index);
      markCaptures(n.sub, all, out);
      return;
    case "cat":
      for (const s of n.subs) markCaptures(s, all, out);
      return;
    case "alt":
      for (const s of n.subs) markCaptures(s, true, out);
      return;
    case "rep":
      markCaptures(n.sub, all || n.min === 0, out);
      return;
  }
}

function stripCaps(n: Node): Node {
  while (n.t === "cap") n = n.sub;
  return n;
}

function literalOf(n: Node): string | null {
  n = stripCaps(n);
  if (n.t === "empty") return "";
  if (n.t === "lit") return n.fold && hasCase(n.cp) ? null : String.fromCodePoint(n.cp);
  if (n.t !== "cat") return null;
  let s = "";
  for (const x of n.subs) {
    const l = literalOf(x);
    if (l === null) return null;
    s += l;
  }
  return s;
}

function isDotStar(n: Node, min: number): boolean {
  n = stripCaps(n);
  return n.t === "rep" && n.min === min && n.max === -1 && stripCaps(n.sub).t === "any" &&
    (stripCaps(n.sub) as { nl: boolean }).nl;
}

function fastMatch(root: Node): FastMatch {
  if (!isAnchored(root) || root.t !== "cat" || root.subs.length < 2) return { kind: "regex" };
  const inner = root.subs.slice(1, -1);
  const body = stripCaps(inner.length === 1 ? inner[0] : { t: "cat", subs: inner });
  if (isDotStar(body, 0)) return { kind: "any" };
  if (isDotStar(body, 1)) return { kind: "nonempty" };
  const lit = literalOf(body);
  if (lit !== null) return { kind: "literal", value: lit };
  if (body.t === "alt") {
    const values = new Set<string>();
    for (const s of body.subs) {
      const l = literalOf(s);
      if (l === null) return { kind: "regex" };
      values.add(l);
    }
    return { kind: "set", values };
  }
  if (body.t === "cat" && body.subs.length >= 2 && isDotStar(body.subs[body.subs.length - 1], 0)) {
    const prefix = literalOf({ t: "cat", subs: body.subs.slice(0, -1) });
    if (prefix !== null) return { kind: "prefix", prefix };
  }
  return { kind: "regex" };
}

/**
 * Parser for the Prometheus text exposition format, version 0.0.4.
 *
 * This is the hot path of scraping. A steady scrape calls `next()`,
 * `series()`, `value()` and `timestamp()` for every line and looks the raw
 * series text up in the scrape cache; only a cache miss calls `labels()`.
 * `next()` therefore validates a whole line without allocating: it scans
 * char codes, remembers offsets, and computes plain decimal values
 * arithmetically. Strings are only made by the accessors.
 *
 * The grammar and its corner cases follow Prometheus' own parser
 * (`model/textparse/promparse.go` and its lexer) rather than the written
 * spec, because scrape results must match what Prometheus would ingest:
 *
 * - `name [ "{" label="value" … "}" ] value [ timestamp ]`; blanks (space,
 *   tab) may separate tokens and may also be left out where the token
 *   boundary is clear (`foo{}1`, even `foo-1`). Commas between labels are
 *   optional and a trailing comma is allowed, as in Prometheus since 2.51.
 * - Names: legacy metric names `[a-zA-Z_:][a-zA-Z0-9_:]*` and label names
 *   `[a-zA-Z_][a-zA-Z0-9_]*` as they are, or any name quoted, as Prometheus
 *   3 reads it (`escaping=allow-utf-8`): a label name `"label.name"="v"`,
 *   and the metric name as a quoted item of its own inside the braces,
 *   anywhere among the labels — `{"my.metric", "label.name"="v"} 1` — in
 *   which case nothing may precede the braces (blanks aside).
 *   `# HELP "my.metric" …` and `# TYPE "my.metric" …` quote it the same way.
 *   A quoted name is resolved like a label value (`\\`, `\"`, `\n`; other
 *   backslash pairs kept), may contain raw newlines, no NUL, and must be
 *   non-empty and well-formed (no lone surrogates, i.e. valid UTF-8).
 * - Label values may contain raw newlines; the escapes `\\`, `\"` and `\n`
 *   are resolved and any other backslash pair is kept as written.
 * - `# HELP name text` / `# TYPE name type`: the text is everything after
 *   the name minus its first character (normally the separating blank);
 *   HELP resolves only `\\` and `\n`. Other `#` lines are comments.
 * - Values follow Go's `strconv.ParseFloat` minus `p`, `P`, `_`; timestamps
 *   are unsigned decimal int64 milliseconds.
 * - While the last `# TYPE` line seen said histogram (summary), `le`
 *   (`quantile`) label values are re-rendered canonically (`1` → `1.0`),
 *   as Prometheus does — it tracks the last TYPE, not the series' family.
 * - A NUL byte where a line would start ends the input, as Prometheus' lexer
 *   reads it as end of file.
 *
 * Deliberate differences: a line with leading blanks before an unquoted
 * metric name is an error (Prometheus makes the blanks part of the name);
 * blanks before a `{` that opens a quoted metric name are skipped, as in
 * Prometheus. Empty and ill-formed names fail the parse; Prometheus' parser
 * passes them on and its scrape loop then fails the scrape (unless metric
 * relabeling drops the series first).
 *
 * @module
 */

import { detach } from "../../model/intern.ts";
import { Labels, METRIC_NAME } from "../../model/labels.ts";
import { ParseError, TooManyLabelsError } from "./errors.ts";
import { formatOpenMetricsFloat, goFloatError, POW10, tryParseGoFloat } from "./float.ts";
import { sortedOrder } from "./labelsort.ts";

export { ParseError };

/** What `next()` found. Comments and blank lines are skipped internally. */
export type EntryKind = "series" | "type" | "help";

/** Metric types of a `# TYPE` line. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

// Character classes for ASCII; everything ≥ 128 is in none of them.
const M_START = 1; // [a-zA-Z_:]
const M_CONT = 2; // [a-zA-Z0-9_:]
const L_START = 4; // [a-zA-Z_]
const L_CONT = 8; // [a-zA-Z0-9_]
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  if (alpha || c === 58) CLASS[c] |= M_START | M_CONT;
  if (digit) CLASS[c] |= M_CONT | L_CONT;
  if (alpha) CLASS[c] |= L_START | L_CONT;
}

const NL = 10;
const SP = 32;
const TAB = 9;
const QUOTE = 34;
const HASH = 35;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const TWO_53 = 9007199254740992;

function metricType(text: string): MetricType | undefined {
  switch (text) {
    case "counter":
    case "gauge":
    case "histogram":
    case "summary":
    case "untyped":
      return text;
  }
  return undefined;
}

/**
 * Pull parser over one scrape body.
 *
 * ```ts
 * const p = new PromParser(body);
 * for (let k = p.next(); k !== null; k = p.next()) {
 *   if (k !== "series") continue;
 *   let ref = cache.get(p.series());
 *   if (ref === undefined) ref = add(p.labels(), p.ownedSeries());
 *   append(ref, p.timestamp() ?? now, p.value());
 * }
 * ```
 */
export class PromParser {
  readonly #s: string;
  readonly #n: number;
  #pos = 0;

  // Current series line.
  #start = 0; // start of the series text (the metric name, or '{' when it is quoted inside)
  #nameStart = 0; // the metric name as written (inside the quotes when quoted)
  #nameEnd = 0;
  #seriesEnd = 0;
  #nLabels = 0; // labels stored in #offs
  #offs = new Int32Array(64); // per label: name start, name end, value start, value end
  #written = 0; // labels written in the line's block (more than #nLabels past #maxLabels)
  #nonEmpty = 0; // of those, the ones with a non-empty value
  #blockStart = 0; // index after the line's '{'
  readonly #maxLabels: number;
  #val = 0;
  #ts = 0;
  #hasTs = false;
  #owned: string | null = null;
  #nextBackslash = -1; // index of the next '\\' at or after the last label value or quoted name start
  #qStart = 0; // bounds of the quoted label name #quotedItem() read
  #qEnd = 0;
  #quotedAt = -1; // `#start` of the last line with a quoted name
  #nextNul = -1; // index of the next NUL at or after the last quoted name start

  // Metadata.
  #mtype: MetricType | null = null; // the last TYPE seen, for le/quantile normalisation
  #family = "";
  #help = "";

  /**
   * @param opts.maxLabels Most labels with a non-empty value a series may
   * have (the metric name not counted): the positions of at most this many
   * labels of a line are kept, so a line with millions costs no memory, and
   * `labels()` of a line with more throws {@link TooManyLabelsError}.
   */
  constructor(text: string, opts: { maxLabels?: number } = {}) {
    this.#s = text;
    this.#n = text.length;
    this.#maxLabels = opts.maxLabels ?? Infinity;
  }

  /**
   * Advances to the next series, TYPE or HELP line and returns its kind, or
   * `null` at the end of the input.
   *
   * @throws {ParseError} on a malformed line
   */
  next(): EntryKind | null {
    const s = this.#s;
    const n = this.#n;
    let pos = this.#pos;
    this.#owned = null;
    while (pos < n) {
      const c = s.charCodeAt(pos);
      if (c < 128 && (CLASS[c] & M_START) !== 0) {
        this.#seriesLine(pos);
        return "series";
      }
      if (c === NL) {
        pos++;
        continue;
      }
      if (c === HASH) {
        const kind = this.#hashLine(pos);
        if (kind === undefined) {
          pos = this.#pos;
          continue;
        }
        return kind;
      }
      if (c === SP || c === TAB) {
        let p = pos + 1;
        let d = p < n ? s.charCodeAt(p) : NL;
        while (d === SP || d === TAB) d = ++p < n ? s.charCodeAt(p) : NL;
        if (d === NL || d === HASH || d === 0) {
          pos = p; // a blank line, an indented comment, or NUL (end of input)
          continue;
        }
        if (d === LBRACE) {
          // As Prometheus: blanks may precede a label block with a quoted name.
          this.#seriesLine(p);
          return "series";
        }
        if (d < 128 && (CLASS[d] & M_START) !== 0) {
          throw this.#error(pos, "unexpected blank before the metric name");
        }
        throw this.#error(p, `expected a metric name or '#', got ${this.#describe(p)}`);
      }
      if (c === 0) break; // Prometheus' lexer reads NUL at the start of a token as EOF.
      if (c === LBRACE) {
        this.#seriesLine(pos); // the metric name is quoted inside the braces
        return "series";
      }
      throw this.#error(pos, `expected a metric name or '#', got ${this.#describe(pos)}`);
    }
    this.#pos = n;
    return null;
  }

  /** The raw series text of the current line — metric name and label block as written. */
  series(): string {
    return this.#s.slice(this.#start, this.#seriesEnd);
  }

  /**
   * The series text as a string that does not share memory with the scraped
   * body. A plain `series()` slice keeps the whole body alive for as long as
   * it is referenced; use this one for strings that outlive the scrape (cache
   * keys). The same copy backs the strings of `labels()`.
   */
  ownedSeries(): string {
    if (this.#owned === null) this.#owned = detach(this.series());
    return this.#owned;
  }

  /** The metric name of the current series line (a quoted one with its escapes resolved). */
  metricName(): string {
    return this.#name(this.#nameStart, this.#nameEnd);
  }

  /**
   * The label set of the current series, `__name__` included, sorted, with
   * escapes resolved, empty values dropped, and `le`/`quantile` normalised
   * while the last TYPE line was histogram/summary. The strings do not
   * share memory with the scraped body.
   *
   * @param owned false: the strings may share memory with the body (for a
   *   look that does not keep them; a 100 MB label value is then not copied)
   * @throws {ParseError} on duplicate label names or invalid UTF-8 (lone surrogates)
   * @throws {TooManyLabelsError} past the parser's `maxLabels`
   */
  labels(owned = true): Labels {
    if (this.#written > this.#nLabels) this.#allLabels();
    const own = owned ? this.ownedSeries() : this.series();
    const base = this.#start;
    const k = this.#nLabels;
    const offs = this.#offs;
    const names = new Array<string>(k + 1);
    const values = new Array<string>(k + 1);
    names[0] = METRIC_NAME;
    // Names as written, unless the line quotes some: then resolved ones.
    const resolved = this.#quotedAt === base ? this.#resolvedNames(own) : null;
    values[0] = resolved === null
      ? own.slice(this.#nameStart - base, this.#nameEnd - base)
      : resolved[0];
    const mtype = this.#mtype;
    for (let i = 0; i < k; i++) {
      const o = i << 2;
      const name = resolved === null
        ? own.slice(offs[o] - base, offs[o + 1] - base)
        : resolved[i + 1];
      let v = own.slice(offs[o + 2] - base, offs[o + 3] - base);
      if (v.indexOf("\\") >= 0) v = unescapeLabelValue(v);
      if (!v.isWellFormed()) {
        throw this.#error(
          offs[o + 2],
          `value of label "${name}" is not valid UTF-8 (lone surrogate)`,
        );
      }
      if (
        (mtype === "histogram" && name === "le") || (mtype === "summary" && name === "quantile")
      ) {
        const f = tryParseGoFloat(v);
        if (f !== undefined) v = formatOpenMetricsFloat(f);
      }
      names[i + 1] = name;
      values[i + 1] = v;
    }
    const idx = sortedOrder(names);
    const kv: string[] = [];
    for (let i = 0; i <= k; i++) {
      const at = idx[i];
      if (i > 0 && names[idx[i - 1]] === names[at]) {
        const dup = Math.max(at, idx[i - 1]);
        throw this.#error(
          dup === 0 ? this.#nameStart : offs[(dup - 1) << 2],
          names[at] === METRIC_NAME
            ? `label "${METRIC_NAME}" duplicates the metric name`
            : `duplicate label name "${names[at]}"`,
        );
      }
      const v = values[at];
      if (v !== "") kv.push(names[at], v);
    }
    return Labels.fromSortedFlat(kv);
  }

  /**
   * The line has more labels than were kept: past `maxLabels` non-empty ones
   * it fails; otherwise (empty values made up the excess) the block is read
   * again keeping every label.
   */
  #allLabels(): void {
    if (this.#nonEmpty > this.#maxLabels) {
      throw new TooManyLabelsError(this.metricName(), this.#nonEmpty, this.#maxLabels);
    }
    // The position caches may point past labels of this line: recompute them.
    this.#nextBackslash = this.#nextNul = -1;
    const quoted = this.#s.charCodeAt(this.#start) === LBRACE;
    if (quoted) this.#nameStart = -1;
    this.#labelBlock(this.#blockStart, Infinity);
  }

  /** The sample value of the current series line. */
  value(): number {
    return this.#val;
  }

  /** The timestamp of the current series line in milliseconds, or `null` when absent. */
  timestamp(): number | null {
    return this.#hasTs ? this.#ts : null;
  }

  /** The metric family named by the current TYPE or HELP line. */
  family(): string {
    return this.#family;
  }

  /** The type given by the current TYPE line (`untyped` before any TYPE line). */
  type(): MetricType {
    return this.#mtype ?? "untyped";
  }

  /** The text of the current HELP line, with `\\` and `\n` resolved. */
  help(): string {
    return this.#help;
  }

  // ---------------------------------------------------------------- series

  /**
   * Parses a series line starting at `start`: a metric-name character, or
   * the `{` of a label block that holds the quoted metric name.
   */
  #seriesLine(start: number): void {
    const s = this.#s;
    const n = this.#n;
    this.#start = start;
    let p: number;
    let c: number;
    if (s.charCodeAt(start) === LBRACE) {
      p = this.#quotedNameSeries(start);
      c = p < n ? s.charCodeAt(p) : NL;
    } else {
      this.#nameStart = start;
      p = start + 1;
      c = p < n ? s.charCodeAt(p) : NL;
      while (c < 128 && (CLASS[c] & M_CONT) !== 0) c = ++p < n ? s.charCodeAt(p) : NL;
      this.#nameEnd = p;
      while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
      if (c === LBRACE) {
        p = this.#labelBlock(p + 1);
        this.#seriesEnd = p;
        c = p < n ? s.charCodeAt(p) : NL;
        while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
      } else {
        this.#nLabels = this.#written = this.#nonEmpty = 0;
        this.#seriesEnd = this.#nameEnd;
      }
    }
    if (c === NL || c === 0 || c === LBRACE) {
      throw this.#error(p, `expected a value after the metric, got ${this.#describe(p)}`);
    }
    p = this.#parseValue(p);

    // Optional timestamp, then the end of the line.
    c = p < n ? s.charCodeAt(p) : NL;
    this.#hasTs = false;
    if (c !== NL) {
      if (c !== SP && c !== TAB) {
        throw this.#error(
          p,
          `expected a timestamp or the end of the line, got ${this.#describe(p)}`,
        );
      }
      do c = ++p < n ? s.charCodeAt(p) : NL; while (c === SP || c === TAB);
      if (c !== NL) {
        if (c < 48 || c > 57) {
          throw this.#error(
            p,
            `expected a timestamp or the end of the line, got ${this.#describe(p)}`,
          );
        }
        p = this.#parseTimestamp(p);
        c = p < n ? s.charCodeAt(p) : NL;
        while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
        if (c !== NL) {
          throw this.#error(
            p,
            `expected the end of the line after the timestamp, got ${this.#describe(p)}`,
          );
        }
      }
    }
    this.#pos = p + 1;
  }

  /**
   * Scans the series part of a line that starts with the label block at
   * `start`, which must hold the quoted metric name; returns the index after
   * the `}` and the blanks that follow.
   */
  #quotedNameSeries(start: number): number {
    const s = this.#s;
    const n = this.#n;
    this.#nameStart = -1;
    let p = this.#labelBlock(start + 1);
    if (this.#nameStart < 0) {
      throw this.#error(
        start,
        `no metric name: expected a name before '{' or a quoted one inside, as in {"my.metric"}`,
      );
    }
    this.#seriesEnd = p;
    let c = p < n ? s.charCodeAt(p) : NL;
    while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
    return p;
  }

  /**
   * Scans the label block after `{`; returns the index after `}`. A quoted
   * item followed by `,` or `}` is the metric name (`#nameStart` is -1 when
   * none was written before the block).
   */
  #labelBlock(p: number, cap = this.#maxLabels): number {
    const s = this.#s;
    const n = this.#n;
    let offs = this.#offs;
    let k = 0;
    let written = 0, nonEmpty = 0;
    this.#blockStart = p;
    for (;;) {
      let c = p < n ? s.charCodeAt(p) : NL;
      while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
      if (c === RBRACE) break;
      let ns = p;
      let ne: number;
      if (c < 128 && (CLASS[c] & L_START) !== 0) {
        do c = ++p < n ? s.charCodeAt(p) : NL; while (c < 128 && (CLASS[c] & L_CONT) !== 0);
        ne = p;
      } else {
        // A quoted label name, or the quoted metric name (kept out of line).
        p = this.#quotedItem(p);
        ne = this.#qEnd;
        if (ne < 0) {
          if (s.charCodeAt(p) === RBRACE) break;
          p++;
          continue;
        }
        ns = this.#qStart;
        c = p < n ? s.charCodeAt(p) : NL;
      }
      while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
      if (c !== 61 /* = */) {
        throw this.#error(
          p,
          `expected '=' after label name "${s.slice(ns, ne)}", got ${this.#describe(p)}`,
        );
      }
      do c = ++p < n ? s.charCodeAt(p) : NL; while (c === SP || c === TAB);
      if (c !== QUOTE) {
        throw this.#error(
          p,
          `expected '"' to open the value of label "${s.slice(ns, ne)}", got ${this.#describe(p)}`,
        );
      }
      const vs = ++p;
      // Fast path: jump to the closing quote with a native search, valid
      // when no backslash comes before it. The position of the next
      // backslash in the body is remembered, so escape-free bodies search
      // for it only once.
      const q = s.indexOf('"', p);
      let bs = this.#nextBackslash;
      if (bs < p) {
        bs = s.indexOf("\\", p);
        this.#nextBackslash = bs = bs < 0 ? n : bs;
      }
      if (q >= 0 && q < bs) p = q;
      else p = this.#scanEscapedValue(p, vs, ns, ne);
      written++;
      if (p > vs) nonEmpty++;
      if (k < cap) {
        const o = k << 2;
        if (o + 4 > offs.length) {
          const bigger = new Int32Array(offs.length * 2);
          bigger.set(offs);
          this.#offs = offs = bigger;
        }
        offs[o] = ns;
        offs[o + 1] = ne;
        offs[o + 2] = vs;
        offs[o + 3] = p;
        k++;
      }
      c = ++p < n ? s.charCodeAt(p) : NL;
      while (c === SP || c === TAB) c = ++p < n ? s.charCodeAt(p) : NL;
      if (c === 44 /* , */) p++;
      else if (c !== RBRACE && c !== QUOTE && (c >= 128 || (CLASS[c] & L_START) === 0)) {
        throw this.#error(p, `expected ',' or '}' after a label value, got ${this.#describe(p)}`);
      }
    }
    this.#nLabels = k;
    this.#written = written;
    this.#nonEmpty = nonEmpty;
    return p + 1;
  }

  /**
   * Reads the label-block item at `p`, which is not a legacy label name: a
   * quoted label name (its bounds go to `#qStart`/`#qEnd`) or the quoted
   * metric name (set as the series' name; `#qEnd` is -1). Returns the index
   * after the name and the blanks that follow it.
   */
  #quotedItem(p: number): number {
    const s = this.#s;
    const n = this.#n;
    if (s.charCodeAt(p) !== QUOTE) {
      throw this.#error(p, `expected a label name or '}', got ${this.#describe(p)}`);
    }
    this.#quotedAt = this.#start;
    const ns = p + 1;
    const ne = p = this.#scanQuoted(p, "name");
    let c: number;
    do c = ++p < n ? s.charCodeAt(p) : NL; while (c === SP || c === TAB);
    if (c === 44 /* , */ || c === RBRACE) {
      if (this.#nameStart >= 0) {
        throw this.#error(
          ns - 1,
          `the metric name is already set; expected '=' after label name ${
            JSON.stringify(s.slice(ns, ne))
          }, got ${this.#describe(p)}`,
        );
      }
      if (ne === ns) throw this.#error(ns - 1, "empty metric name");
      this.#nameStart = ns;
      this.#nameEnd = ne;
      this.#qEnd = -1;
      return p;
    }
    if (ne === ns) throw this.#error(ns - 1, "empty label name");
    this.#qStart = ns;
    this.#qEnd = ne;
    return p;
  }

  /**
   * Scans a quoted name whose opening quote is at `open`; returns the index
   * of the closing quote. As Prometheus' lexer: raw newlines are part of the
   * name, NUL is not, and a backslash escapes any character but a newline.
   */
  #scanQuoted(open: number, what: string): number {
    const s = this.#s;
    const n = this.#n;
    let p = open + 1;
    // Fast path: the next quote ends the name when no backslash and no NUL
    // come before it (both positions are remembered across names).
    const q = s.indexOf('"', p);
    if (q >= 0) {
      let bs = this.#nextBackslash;
      if (bs < p) {
        bs = s.indexOf("\\", p);
        this.#nextBackslash = bs = bs < 0 ? n : bs;
      }
      let nul = this.#nextNul;
      if (nul < p) {
        nul = s.indexOf("\0", p);
        this.#nextNul = nul = nul < 0 ? n : nul;
      }
      if (q < bs && q < nul) return q;
    }
    for (;;) {
      if (p >= n) throw this.#error(open, `unterminated quoted ${what}`);
      const c = s.charCodeAt(p);
      if (c === QUOTE) return p;
      if (c === 0) throw this.#error(p, `NUL in a quoted ${what}`);
      if (c === BACKSLASH) {
        const d = ++p < n ? s.charCodeAt(p) : NL;
        if (d === NL || d === 0) {
          throw this.#error(p, `backslash before ${this.#describe(p)} in a quoted ${what}`);
        }
      }
      p++;
    }
  }

  /** The name written at `s[a:b]`: a quoted one (followed by `"`) with its escapes resolved. */
  #name(a: number, b: number): string {
    const m = this.#s.slice(a, b);
    return this.#s.charCodeAt(b) === QUOTE && m.indexOf("\\") >= 0 ? unescapeLabelValue(m) : m;
  }

  /**
   * The names of the current series line — the metric name, then the label
   * names — with the escapes of quoted ones resolved, cut from `own` (the
   * owned copy of the series text).
   *
   * @throws {ParseError} when a quoted name is not well-formed
   */
  #resolvedNames(own: string): string[] {
    const s = this.#s;
    const base = this.#start;
    const offs = this.#offs;
    const k = this.#nLabels;
    const out = new Array<string>(k + 1);
    for (let i = -1; i < k; i++) {
      const a = i < 0 ? this.#nameStart : offs[i << 2];
      const b = i < 0 ? this.#nameEnd : offs[(i << 2) + 1];
      const raw = own.slice(a - base, b - base);
      out[i + 1] = s.charCodeAt(b) === QUOTE
        ? this.#quotedName(raw, a, i < 0 ? "metric name" : "label name")
        : raw;
    }
    return out;
  }

  /** Resolves the escapes of quoted name `raw` (written at `at`); throws when it is not well-formed. */
  #quotedName(raw: string, at: number, what: string): string {
    const v = raw.indexOf("\\") >= 0 ? unescapeLabelValue(raw) : raw;
    if (!v.isWellFormed()) {
      throw this.#error(at, `${what} ${JSON.stringify(v)} is not valid UTF-8 (lone surrogate)`);
    }
    return v;
  }

  /** Scans a label value with escapes from `p`; returns the index of its closing quote. */
  #scanEscapedValue(p: number, vs: number, ns: number, ne: number): number {
    const s = this.#s;
    const n = this.#n;
    for (;;) {
      if (p >= n) throw this.#error(vs - 1, `unterminated value of label "${s.slice(ns, ne)}"`);
      const c = s.charCodeAt(p);
      if (c === QUOTE) return p;
      if (c === BACKSLASH) {
        // Prometheus' lexer skips NUL bytes inside label values, also after a backslash.
        do p++; while (p < n && s.charCodeAt(p) === 0);
        if (p >= n || s.charCodeAt(p) === NL) {
          throw this.#error(
            p,
            `backslash at the end of a line in the value of label "${s.slice(ns, ne)}"`,
          );
        }
      }
      p++;
    }
  }

  /**
   * Parses the value token starting at `start`; returns its end. Plain
   * decimals with up to 2^53 as mantissa and a power of ten within ±22 are
   * computed exactly here (one correctly rounded multiply or divide); the
   * rest goes through the Go-compatible parser.
   */
  #parseValue(start: number): number {
    const s = this.#s;
    const n = this.#n;
    let p = start;
    let c = s.charCodeAt(p);
    let neg = false;
    if (c === 45 || c === 43) {
      neg = c === 45;
      c = ++p < n ? s.charCodeAt(p) : NL;
    }
    let mant = 0;
    let digits = 0;
    let frac = 0;
    let dot = false;
    for (;;) {
      if (c >= 48 && c <= 57) {
        mant = mant * 10 + (c - 48);
        digits++;
        if (dot) frac++;
      } else if (c === 46 && !dot) {
        dot = true;
      } else break;
      c = ++p < n ? s.charCodeAt(p) : NL;
    }
    if (digits > 0) {
      let exp = 0;
      let ok = true;
      if (c === 101 || c === 69) {
        c = ++p < n ? s.charCodeAt(p) : NL;
        let eneg = false;
        if (c === 45 || c === 43) {
          eneg = c === 45;
          c = ++p < n ? s.charCodeAt(p) : NL;
        }
        if (c >= 48 && c <= 57) {
          do {
            if (exp < 100000) exp = exp * 10 + (c - 48);
            c = ++p < n ? s.charCodeAt(p) : NL;
          } while (c >= 48 && c <= 57);
          if (eneg) exp = -exp;
        } else ok = false;
      }
      if (ok && (c === SP || c === NL || c === TAB)) {
        const k = exp - frac;
        let v: number;
        if (mant === 0) v = 0;
        else if (mant < TWO_53 && k >= -22 && k <= 22) {
          v = k === 0 ? mant : k > 0 ? mant * POW10[k] : mant / POW10[-k];
        } else {
          v = Number(s.slice(start, p));
          if (v === Infinity || v === -Infinity) {
            throw this.#error(start, `value ${JSON.stringify(s.slice(start, p))} is out of range`);
          }
          this.#val = v;
          return p;
        }
        this.#val = neg ? -v : v;
        return p;
      }
    }
    return this.#parseValueSlow(start);
  }

  /** The general value path: Inf/NaN spellings and every error. */
  #parseValueSlow(start: number): number {
    const s = this.#s;
    const n = this.#n;
    let p = start;
    for (; p < n; p++) {
      const c = s.charCodeAt(p);
      if (c === SP || c === NL || c === TAB || c === LBRACE || c === 0) break;
    }
    const tok = s.slice(start, p);
    for (let i = 0; i < tok.length; i++) {
      const c = tok.charCodeAt(i);
      if (c === 112 || c === 80 || c === 95) {
        throw this.#error(
          start + i,
          `unsupported character ${JSON.stringify(tok[i])} in value ${JSON.stringify(tok)}`,
        );
      }
    }
    const v = tryParseGoFloat(tok);
    if (v === undefined) {
      const why = goFloatError(tok) === "range" ? "is out of range" : "is not a number";
      throw this.#error(start, `value ${JSON.stringify(tok)} ${why}`);
    }
    this.#val = v;
    return p;
  }

  /** Parses the digits of a timestamp at `start`; returns their end. */
  #parseTimestamp(start: number): number {
    const s = this.#s;
    const n = this.#n;
    let p = start;
    let t = 0;
    let c = s.charCodeAt(p);
    do {
      t = t * 10 + (c - 48);
      c = ++p < n ? s.charCodeAt(p) : NL;
    } while (c >= 48 && c <= 57);
    if (p - start > 15) {
      // Beyond 15 digits the sum above may be inexact; int64 range applies.
      let z = start;
      while (z < p - 1 && s.charCodeAt(z) === 48) z++;
      const digits = s.slice(z, p);
      if (digits.length > 19 || (digits.length === 19 && digits > "9223372036854775807")) {
        throw this.#error(start, `timestamp ${s.slice(start, p)} is out of the int64 range`);
      }
      t = Number(digits);
    }
    this.#ts = t;
    this.#hasTs = true;
    return p;
  }

  // -------------------------------------------------------------- comments

  /**
   * Handles a line starting with `#` at `pos`: returns "help" or "type" for
   * metadata, `null` when a NUL byte ends the input, or `undefined` for a
   * comment (with `#pos` moved past it).
   */
  #hashLine(pos: number): EntryKind | null | undefined {
    const s = this.#s;
    const n = this.#n;
    let p = pos + 1;
    let c = p < n ? s.charCodeAt(p) : NL;
    if (c !== SP && c !== TAB) {
      // "#text": a comment; Prometheus' lexer stops at a NUL in it as at EOF.
      for (; p < n; p++) {
        c = s.charCodeAt(p);
        if (c === NL) break;
        if (c === 0) {
          this.#pos = n;
          return null;
        }
      }
      this.#pos = p + 1;
      return undefined;
    }
    do c = ++p < n ? s.charCodeAt(p) : NL; while (c === SP || c === TAB);
    let isHelp = false;
    let isType = false;
    if (p + 4 < n) {
      const d = s.charCodeAt(p + 4);
      if (d === SP || d === TAB) {
        if (s.startsWith("HELP", p)) isHelp = true;
        else if (s.startsWith("TYPE", p)) isType = true;
      }
    }
    if (!isHelp && !isType) {
      if (c === 0) {
        this.#pos = n;
        return null;
      }
      const e = s.indexOf("\n", p);
      this.#pos = e < 0 ? n : e + 1;
      return undefined;
    }
    const kw = isHelp ? "HELP" : "TYPE";
    p += 4;
    do c = ++p < n ? s.charCodeAt(p) : NL; while (c === SP || c === TAB);
    let ns = p;
    let ne: number;
    let family: string;
    if (c < 128 && (CLASS[c] & M_START) !== 0) {
      do c = ++p < n ? s.charCodeAt(p) : NL; while (c < 128 && (CLASS[c] & M_CONT) !== 0);
      ne = p;
      family = detach(s.slice(ns, ne));
    } else if (c === QUOTE) {
      ns = p + 1;
      ne = p = this.#scanQuoted(p, "metric name");
      c = ++p < n ? s.charCodeAt(p) : NL;
      if (ne === ns) throw this.#error(ns - 1, `empty metric name after ${kw}`);
      family = detach(this.#quotedName(s.slice(ns, ne), ns, "metric name"));
    } else {
      throw this.#error(p, `expected a metric name after ${kw}, got ${this.#describe(p)}`);
    }
    // `p` is the end of the name token (after the closing quote when quoted).
    let le = s.indexOf("\n", p);
    if (le < 0) le = n;
    // The text is the rest of the line minus its first character, which is
    // normally the blank after the name; a rest of only blanks is empty.
    let text = "";
    if (p < le) {
      if (c === 0) {
        throw this.#error(p, `expected the end of the line after the ${kw} metric name`);
      }
      let blank = true;
      for (let i = p; i < le; i++) {
        const d = s.charCodeAt(i);
        if (d !== SP && d !== TAB && d !== 0) {
          blank = false;
          break;
        }
      }
      if (!blank) text = s.slice(p + 1, le);
    }
    this.#family = family;
    this.#pos = le + 1;
    if (isType) {
      const t = metricType(text);
      if (t === undefined) {
        throw this.#error(Math.min(p + 1, le), `invalid metric type ${JSON.stringify(text)}`);
      }
      this.#mtype = t;
      return "type";
    }
    text = text.indexOf("\\") >= 0 ? unescapeHelp(text) : detach(text);
    if (!text.isWellFormed()) {
      throw this.#error(Math.min(p + 1, le), "HELP text is not valid UTF-8 (lone surrogate)");
    }
    this.#help = text;
    return "help";
  }

  // ---------------------------------------------------------------- errors

  #error(pos: number, reason: string): ParseError {
    return ParseError.at(this.#s, pos, reason);
  }

  #describe(p: number): string {
    if (p >= this.#n) return "the end of the input";
    const c = this.#s.charCodeAt(p);
    if (c === NL) return "the end of the line";
    return JSON.stringify(this.#s.slice(p, p + 1));
  }
}

/**
 * Resolves the label-value escapes `\\`, `\"` and `\n` left to right; any
 * other backslash is kept with the character after it (`\t` stays `\t`).
 */
export function unescapeLabelValue(v: string): string {
  return unescape(v, true);
}

/** Resolves the HELP escapes `\\` and `\n`; `\"` and others stay as written. */
export function unescapeHelp(v: string): string {
  return unescape(v, false);
}

function unescape(v: string, quotes: boolean): string {
  let out = "";
  let from = 0;
  const n = v.length;
  for (let i = v.indexOf("\\"); i >= 0 && i < n - 1; i = v.indexOf("\\", i)) {
    const c = v.charCodeAt(i + 1);
    let r: string;
    if (c === BACKSLASH) r = "\\";
    else if (c === 110 /* n */) r = "\n";
    else if (c === QUOTE && quotes) r = '"';
    else {
      i++; // keep the backslash; the next character is read normally
      continue;
    }
    out += v.slice(from, i) + r;
    i += 2;
    from = i;
  }
  return detach(from === 0 ? v : out + v.slice(from));
}

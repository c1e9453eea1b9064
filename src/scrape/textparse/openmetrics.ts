/**
 * Parser for the OpenMetrics 1.0 text format (`application/openmetrics-text`,
 * versions 1.0.0 and 0.0.1).
 *
 * Same shape as the 0.0.4 parser in `prom.ts`: a pull parser whose `next()`
 * validates a whole line by scanning char codes and remembering offsets, so a
 * steady scrape (`next`, `series`, `value`, `timestamp`, a cache lookup)
 * allocates nothing per line; strings are made only by the accessors.
 *
 * By default it accepts exactly what Prometheus' OpenMetrics parser
 * (`model/textparse/openmetricsparse.go` and its lexer) accepts, which is
 * stricter than the 0.0.4 parser on syntax and more lenient than the
 * specification on family structure:
 *
 * - The body must end with `# EOF`, optionally followed by one `\n`;
 *   anything after it is an error. Blank lines, `\r`, leading blanks and
 *   comments other than `# HELP`, `# TYPE`, `# UNIT` and `# EOF` are errors.
 * - Tokens are separated by exactly one space; there are no blanks inside
 *   the label set (`{a="1",b="2"}`, a trailing comma allowed). A label value
 *   may not contain a raw newline; `\\`, `\"` and `\n` are resolved and any
 *   other backslash pair is kept as written, as in Prometheus.
 * - Names: legacy metric and label names as they are, or any name quoted,
 *   as Prometheus 3 reads it (`escaping=allow-utf-8`): a label name
 *   `"label.name"="v"`, and the metric name as a quoted item of its own
 *   inside the braces, anywhere among the labels and with nothing before
 *   the braces — `{"my.metric","label.name"="v"} 1`. `# HELP`, `# TYPE` and
 *   `# UNIT` quote it the same way (`# TYPE "my.metric" gauge`). A quoted
 *   name is resolved like a label value, may contain raw newlines (not in
 *   exemplars), no NUL, and must be non-empty and well-formed (no lone
 *   surrogates, i.e. valid UTF-8). Exemplars may quote label names but not
 *   hold a metric name. Families are matched on names as written.
 * - `# HELP name text` resolves the same three escapes. `# TYPE` takes
 *   counter, gauge, histogram, gaugehistogram, summary, info, stateset or
 *   unknown. `# UNIT name unit`: a non-empty unit must be a `_`-separated
 *   suffix of the name.
 * - `name[{labels}] value [timestamp] [# {labels} value [timestamp]]`:
 *   values and timestamps are Go `ParseFloat` without `p`, `P` and `_`;
 *   timestamps are seconds, must be finite, and become milliseconds as
 *   Prometheus converts them, `int64(ts * 1000)` (truncation).
 * - Exemplars are parsed after any sample (Prometheus' parser does not tie
 *   them to counters and buckets); `exemplar()` hides one that Prometheus'
 *   agent storage would reject (label names and values longer than 128 code
 *   points together, or duplicate label names), as Prometheus drops those
 *   without failing the scrape.
 * - `le` (`quantile`) values are normalised (`1` → `1.0`) while the last
 *   `# TYPE` line said histogram (summary) — not for gaugehistogram.
 * - `_created` lines are ordinary series. `createdTimestamp()` reads one as
 *   a start time; `startTimestamp()` finds the start time of the current
 *   sample by looking ahead for its `_created` line, as Prometheus'
 *   `StartTimestamp()` does.
 * - Prometheus does not check sample names against the family type, nor
 *   that families do not interleave; neither does this parser by default.
 *   `{ strict: true }` adds those rules of the specification (see
 *   {@link OpenMetricsOptions}).
 *
 * Deliberate differences: NUL bytes are ordinary characters in label values
 * and HELP text and errors elsewhere (Prometheus' lexer skips them in some
 * places); exemplar label names and values have their escapes resolved
 * (Prometheus keeps them as written); empty and ill-formed names fail the
 * parse (Prometheus' parser passes them on and its scrape loop fails the
 * scrape for series, unless metric relabeling drops them first);
 * `family()` returns quoted names with their escapes resolved (Prometheus'
 * metadata keeps them as written).
 *
 * @module
 */

import { Labels, METRIC_NAME } from "../../model/labels.ts";
import { ParseError, TooManyLabelsError } from "./errors.ts";
import { formatOpenMetricsFloat, goFloatError, POW10, tryParseGoFloat } from "./float.ts";
import type { EntryKind, Exemplar, MetricType, Parser } from "./mod.ts";
import { detach } from "../../model/intern.ts";
import { unescapeLabelValue } from "./prom.ts";
import { sortedOrder } from "./labelsort.ts";

export { ParseError };

/** Options of {@link OpenMetricsParser}. */
export interface OpenMetricsOptions {
  /**
   * Also enforce the family rules of the OpenMetrics 1.0 specification that
   * Prometheus' parser leaves unchecked, failing the parse with a
   * `ParseError` instead:
   *
   * - sample names must fit the family type: counter `_total`, `_created`;
   *   histogram `_bucket`, `_count`, `_sum`, `_created`; gaugehistogram
   *   `_bucket`, `_gcount`, `_gsum`; summary the bare name, `_count`, `_sum`,
   *   `_created`; info `_info`; gauge, stateset and unknown the bare name;
   * - buckets carry `le`, summary quantiles carry `quantile`, stateset
   *   samples carry a label named like the family;
   * - families do not interleave and do not repeat; each has at most one
   *   TYPE, UNIT and HELP line, all before its samples;
   * - info and stateset families have no unit;
   * - exemplars only on counter `_total` and (gauge)histogram `_bucket`
   *   lines, with at most 128 code points of label names and values and no
   *   duplicate label names.
   *
   * Off by default: ferry accepts what Prometheus accepts.
   */
  strict?: boolean;
  /**
   * Most labels with a non-empty value a series may have (the metric name
   * not counted): the positions of at most this many labels of a line are
   * kept, so a line with millions costs no memory, and `labels()` of a line
   * with more throws {@link TooManyLabelsError}. Not with `strict`.
   */
  maxLabels?: number;
}

/** OpenMetrics' limit on an exemplar's label names and values together, in code points. */
export const EXEMPLAR_MAX_LABEL_SET_LENGTH = 128;

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

const END = -1; // what the scanners read past the end of the input
const NUL = 0;
const NL = 10;
const SP = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQUALS = 61;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const TWO_53 = 2 ** 53;
const TWO_63 = 2 ** 63;

const TYPES: readonly MetricType[] = [
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "info",
  "stateset",
  "unknown",
];

/** Sample-name suffixes the specification allows per family type. */
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  counter: ["_total", "_created"],
  histogram: ["_bucket", "_count", "_sum", "_created"],
  gaugehistogram: ["_bucket", "_gcount", "_gsum"],
  summary: ["", "_count", "_sum", "_created"],
  info: ["_info"],
  gauge: [""],
  stateset: [""],
  unknown: [""],
};

/** Suffix words that mark a sample as a misnamed member of the family before it (strict mode). */
const SUFFIX_WORDS = ["total", "created", "bucket", "count", "sum", "gcount", "gsum", "info"];

/**
 * Pull parser over one OpenMetrics body.
 *
 * ```ts
 * const p = new OpenMetricsParser(body);
 * for (let k = p.next(); k !== null; k = p.next()) {
 *   if (k !== "series") continue;
 *   let ref = cache.get(p.series());
 *   if (ref === undefined) ref = add(p.labels(), p.ownedSeries());
 *   append(ref, p.timestamp() ?? now, p.value());
 *   const e = p.exemplar();
 *   if (e !== null) appendExemplar(ref, e);
 * }
 * ```
 */
export class OpenMetricsParser implements Parser {
  readonly #s: string;
  readonly #n: number;
  #pos = 0;
  #done = false;
  #kind: EntryKind | null = null;

  // Current series line.
  #start = 0; // start of the line (the metric name, or '{' when it is quoted inside)
  #nameStart = 0; // the metric name as written (inside the quotes when quoted)
  #nameEnd = 0;
  #seriesEnd = 0;
  #nLabels = 0; // labels stored in #offs
  #offs = new Int32Array(64); // per label: name start, name end, value start, value end
  #written = 0; // labels written in the line's set (more than #nLabels past #maxLabels)
  #nonEmpty = 0; // of those, the ones with a non-empty value
  #setStart = 0; // index after the line's '{'
  readonly #maxLabels: number;
  #val = 0;
  #ts = 0;
  #hasTs = false;
  #owned: string | null = null;
  #member = -1; // whether the series belongs to the current family: -1 not yet known, 0, 1
  #nextBackslash = -1; // index of the next '\\' at or after the last label value or quoted name start
  #nextNewline = -1; // index of the next newline at or after the last label value start
  #num = 0; // result of #number()
  #qStart = 0; // bounds of the quoted label name #quotedItem() read
  #qEnd = 0;
  #quotedAt = -1; // `#start` of the last line with a quoted name
  #nextNul = -1; // index of the next NUL at or after the last quoted name start

  // Exemplar of the current series line.
  #hasExemplar = false;
  #exN = 0;
  #exOffs = new Int32Array(16);
  #exVal = 0;
  #exTs = 0;
  #exHasTs = false;
  #exemplar: Exemplar | null | undefined = undefined; // built on demand

  // Metadata of the current family (the name of the last HELP/TYPE/UNIT line).
  #famName = "";
  #famBase = ""; // the name Prometheus compares with: without `_total` (counter) or `_info` (info)
  #famType: MetricType = "unknown";
  #famHelp = "";
  #famUnit = "";
  /** The last TYPE seen, whatever its family: Prometheus normalises `le`/`quantile` by it. */
  #lastType: MetricType | null = null;

  // startTimestamp(): the last look-ahead found no `_created` line between
  // #stFrom and #stStop, and at #stStop the `_created` line with key #stKey
  // (null: none, the family ended or the input is invalid there).
  #stFrom = -1;
  #stStop = -1;
  #stKey: string | null = null;
  #stVal = 0;
  #peeker: OpenMetricsParser | null = null;
  /** Whether the body has `_created` anywhere (null until needed). */
  #anyCreated: boolean | null = null;

  // Strict mode.
  readonly #closed: Map<string, MetricType> | null; // families that ended; null unless strict
  #famSamples = false; // the current family has samples
  #famMeta = 0; // TYPE 1, HELP 2, UNIT 4 lines seen for the current family

  constructor(text: string, options: OpenMetricsOptions = {}) {
    this.#s = text;
    this.#n = text.length;
    this.#closed = options.strict ? new Map() : null;
    this.#maxLabels = options.strict ? Infinity : options.maxLabels ?? Infinity;
  }

  /**
   * Advances to the next series, TYPE, HELP or UNIT line and returns its
   * kind, or `null` after `# EOF`.
   *
   * @throws {ParseError} on a malformed line, or when the input ends without `# EOF`
   */
  next(): EntryKind | null {
    if (this.#done) return null;
    this.#owned = null;
    this.#member = -1;
    this.#hasExemplar = false;
    this.#exemplar = undefined;
    const s = this.#s;
    const pos = this.#pos;
    if (pos >= this.#n) throw this.#error(pos, "data does not end with # EOF");
    const c = s.charCodeAt(pos);
    if (c < 128 && (CLASS[c] & M_START) !== 0) {
      this.#kind = "series";
      this.#seriesLine(pos);
      if (this.#closed !== null) this.#strictSeries();
      return "series";
    }
    this.#kind = null;
    if (c === HASH) return this.#kind = this.#hashLine(pos);
    if (c === NL) throw this.#error(pos, "blank lines are not allowed");
    if (c === SP || c === 9) throw this.#error(pos, "unexpected blank at the start of a line");
    if (c === LBRACE) {
      // The metric name is quoted inside the braces.
      this.#kind = "series";
      this.#seriesLine(pos);
      if (this.#closed !== null) this.#strictSeries();
      return "series";
    }
    throw this.#error(pos, `expected a metric name or '#', got ${this.#describe(pos)}`);
  }

  /** The raw series text of the current line — metric name and label set as written. */
  series(): string {
    return this.#s.slice(this.#start, this.#seriesEnd);
  }

  /**
   * The series text as a string that does not share memory with the body;
   * use it for strings that outlive the scrape (cache keys). The same copy
   * backs the strings of `labels()`.
   */
  ownedSeries(): string {
    if (this.#owned === null) this.#owned = detach(this.series());
    return this.#owned;
  }

  /**
   * The line has more labels than were kept: past `maxLabels` non-empty ones
   * it fails; otherwise (empty values made up the excess) the set is read
   * again keeping every label.
   */
  #allLabels(): void {
    if (this.#nonEmpty > this.#maxLabels) {
      throw new TooManyLabelsError(this.metricName(), this.#nonEmpty, this.#maxLabels);
    }
    // The position caches may point past labels of this line: recompute them.
    this.#nextBackslash = this.#nextNewline = this.#nextNul = -1;
    if (this.#s.charCodeAt(this.#start) === LBRACE) this.#nameStart = -1;
    this.#labelSet(this.#setStart, false, Infinity);
  }

  /** The metric name of the current series line (a quoted one with its escapes resolved). */
  metricName(): string {
    return this.#name(this.#nameStart, this.#nameEnd);
  }

  /**
   * The label set of the current series, `__name__` included, sorted, with
   * escapes resolved, empty values dropped, and `le`/`quantile` normalised
   * while the last TYPE line was histogram/summary. The strings do not
   * share memory with the body.
   *
   * @param owned false: the strings may share memory with the body (for a
   *   look that does not keep them; a 100 MB label value is then not copied)
   * @throws {ParseError} on duplicate label names or a lone surrogate in a value
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
    const t = this.#lastType;
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
      if ((t === "histogram" && name === "le") || (t === "summary" && name === "quantile")) {
        const f = tryParseGoFloat(v);
        if (f !== undefined) v = formatOpenMetricsFloat(f);
      }
      names[i + 1] = name;
      values[i + 1] = v;
    }
    const order = sortedOrder(names);
    const kv: string[] = [];
    for (let i = 0; i <= k; i++) {
      const at = order[i];
      if (i > 0 && names[order[i - 1]] === names[at]) {
        const dup = Math.max(at, order[i - 1]);
        throw this.#error(
          dup === 0 ? this.#nameStart : offs[(dup - 1) << 2],
          names[at] === METRIC_NAME
            ? `label "${METRIC_NAME}" duplicates the metric name`
            : `duplicate label name "${names[at]}"`,
        );
      }
      if (values[at] !== "") kv.push(names[at], values[at]);
    }
    return Labels.fromSortedFlat(kv);
  }

  /** The sample value of the current series line. */
  value(): number {
    return this.#val;
  }

  /** The timestamp of the current series line in milliseconds, or `null` when absent. */
  timestamp(): number | null {
    return this.#hasTs ? this.#ts : null;
  }

  /**
   * The exemplar of the current series line, or `null` when it has none or
   * when Prometheus' storage would drop it (more than 128 code points of
   * label names and values, or duplicate label names; empty values are
   * dropped first). Its timestamp is in milliseconds, `null` when absent
   * (Prometheus then uses the scrape time).
   *
   * @throws {ParseError} on a lone surrogate in a label value
   */
  exemplar(): Exemplar | null {
    if (!this.#hasExemplar) return null;
    if (this.#exemplar === undefined) {
      const ls = this.#exemplarLabels();
      this.#exemplar = typeof ls === "string"
        ? null
        : { labels: ls, value: this.#exVal, timestamp: this.#exHasTs ? this.#exTs : null };
    }
    return this.#exemplar;
  }

  /**
   * When the current series is a `_created` sample of a counter, histogram
   * or summary (judged as Prometheus does: by the name's suffix and the last
   * TYPE line), its value as a start timestamp in milliseconds; otherwise
   * `null`. `_created` lines are still ordinary series.
   */
  createdTimestamp(): number | null {
    if (this.#kind !== "series" || !this.#isCreated()) return null;
    return toMillis(this.#val);
  }

  /**
   * The start timestamp of the current sample in milliseconds, or `null`:
   * for a `_created` line its own value; for another sample of a counter,
   * histogram or summary family the value of the first `_created` line that
   * follows in the same family, if it has the same labels (ignoring `le` and
   * `quantile`), as Prometheus' `StartTimestamp()`. Looks ahead without
   * moving the parser; repeated calls within one family scan it once, and
   * a body without `_created` anywhere costs one search for all calls.
   */
  startTimestamp(): number | null {
    if (this.#kind !== "series") return null;
    this.#anyCreated ??= this.#s.includes("_created");
    if (!this.#anyCreated) return null;
    const t = this.#lastType;
    if (t !== "counter" && t !== "histogram" && t !== "summary") return null;
    if (this.#isCreated()) return toMillis(this.#val);
    if (!this.#belongs()) return null;
    const pos = this.#pos;
    if (!(this.#stFrom <= pos && pos <= this.#stStop)) this.#lookAhead(pos);
    if (this.#stKey === null) return null;
    // The key compares every label: a line with some left out reads them all.
    if (this.#written > this.#nLabels) this.#allLabels();
    return this.#hasKey(this.#stKey, this.#famName) ? this.#stVal : null;
  }

  /**
   * The metric family of the current entry: the name on a HELP, TYPE or
   * UNIT line; for a series, the family of the metadata lines before it if
   * the series belongs to it (by its name and the family type), otherwise
   * the series' own metric name.
   */
  family(): string {
    if (this.#kind === "series" && !this.#belongs()) return this.metricName();
    const f = this.#famName;
    return f.indexOf("\\") >= 0 ? unescapeLabelValue(f) : f;
  }

  /**
   * The type of the current entry's family: from its TYPE line, `unknown`
   * without one. For a series that does not belong to the family of the
   * metadata before it, `unknown`. A `_created` sample reports its
   * family's type; tell it apart with `createdTimestamp()`.
   */
  type(): MetricType {
    if (this.#kind === "series" && !this.#belongs()) return "unknown";
    return this.#famType;
  }

  /** The HELP text of the current entry's family ("" if none), escapes resolved. */
  help(): string {
    if (this.#kind === "series" && !this.#belongs()) return "";
    return this.#famHelp;
  }

  /** The UNIT of the current entry's family ("" if none). */
  unit(): string {
    if (this.#kind === "series" && !this.#belongs()) return "";
    return this.#famUnit;
  }

  // ---------------------------------------------------------------- series

  /**
   * Parses a series line starting at `start`: a metric-name character, or
   * the `{` of a label set that holds the quoted metric name.
   */
  #seriesLine(start: number): void {
    const s = this.#s;
    const n = this.#n;
    this.#start = start;
    let p: number;
    let c: number;
    if (s.charCodeAt(start) === LBRACE) {
      p = this.#quotedNameSeries(start);
      c = p < n ? s.charCodeAt(p) : END;
    } else {
      this.#nameStart = start;
      p = start + 1;
      c = p < n ? s.charCodeAt(p) : END;
      while (c >= 0 && c < 128 && (CLASS[c] & M_CONT) !== 0) c = ++p < n ? s.charCodeAt(p) : END;
      this.#nameEnd = p;
      if (c === LBRACE) {
        p = this.#labelSet(p + 1, false);
        c = p < n ? s.charCodeAt(p) : END;
      } else {
        this.#nLabels = this.#written = this.#nonEmpty = 0;
      }
    }
    this.#seriesEnd = p;
    if (c !== SP) {
      if (c === END || c === NL) {
        throw this.#error(
          p,
          "expected a blank and a value after the metric, got " + this.#describe(p),
        );
      }
      throw this.#error(p, `expected a blank before the value, got ${this.#describe(p)}`);
    }
    p = this.#number(p + 1, "value");
    this.#val = this.#num;
    this.#hasTs = false;
    c = p < n ? s.charCodeAt(p) : END;
    if (c === SP && s.charCodeAt(p + 1) !== HASH) {
      const at = p + 1;
      p = this.#number(at, "timestamp");
      const ts = this.#num;
      if (ts !== ts || ts === Infinity || ts === -Infinity) {
        throw this.#error(at, `invalid timestamp ${JSON.stringify(s.slice(at, p))}`);
      }
      this.#ts = toMillis(ts);
      this.#hasTs = true;
      c = p < n ? s.charCodeAt(p) : END;
    }
    if (c === SP) {
      if (s.charCodeAt(p + 1) !== HASH) {
        throw this.#error(
          p + 1,
          `expected the end of the line or an exemplar after the timestamp, got ${
            this.#describe(p + 1)
          }`,
        );
      }
      p = this.#exemplarAt(p + 1);
    } else if (c !== NL) {
      throw this.#endError(p, this.#hasTs ? "the timestamp" : "the value");
    }
    this.#pos = p + 1;
  }

  /**
   * Scans the series part of a line that starts with the label set at
   * `start`, which must hold the quoted metric name; returns the index after
   * the `}`.
   */
  #quotedNameSeries(start: number): number {
    this.#nameStart = -1;
    const p = this.#labelSet(start + 1, false);
    if (this.#nameStart < 0) {
      throw this.#error(
        start,
        `no metric name: expected a name before '{' or a quoted one inside, as in {"my.metric"}`,
      );
    }
    return p;
  }

  /**
   * Reads the label-set item at `p`, which is not a legacy label name: a
   * quoted label name (its bounds go to `#qStart`/`#qEnd`) or, in a series,
   * the quoted metric name (set as the series' name; `#qEnd` is -1).
   * Returns the index after the closing quote.
   */
  #quotedItem(p: number, exemplar: boolean): number {
    const s = this.#s;
    const n = this.#n;
    const where = exemplar ? " in the exemplar" : "";
    const c0 = p < n ? s.charCodeAt(p) : END;
    if (c0 !== QUOTE) {
      if (c0 === SP) throw this.#error(p, `unexpected blank in the label set${where}`);
      throw this.#error(p, `expected a label name or '}'${where}, got ${this.#describe(p)}`);
    }
    if (!exemplar) this.#quotedAt = this.#start;
    const ns = p + 1;
    const ne = p = this.#scanQuoted(p, exemplar ? "label name" : "name", exemplar);
    const c = ++p < n ? s.charCodeAt(p) : END;
    if (c === COMMA || c === RBRACE) {
      if (exemplar) {
        throw this.#error(
          p,
          `expected '=' after label name ${
            JSON.stringify(s.slice(ns, ne))
          } in the exemplar (exemplars have no metric name), got ${this.#describe(p)}`,
        );
      }
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
    if (ne === ns) throw this.#error(ns - 1, `empty label name${where}`);
    this.#qStart = ns;
    this.#qEnd = ne;
    return p;
  }

  /**
   * Scans a label set after its `{` into the series (or exemplar) offsets;
   * returns the index after the `}`. In a series, a quoted item followed by
   * `,` or `}` is the metric name (`#nameStart` is -1 when none was written
   * before the set).
   */
  #labelSet(
    p: number,
    exemplar: boolean,
    // Exemplars keep only labels with a value (the others are dropped), and an exemplar
    // with more of them than this is longer than storage takes, whatever they say.
    cap = exemplar ? EXEMPLAR_MAX_LABEL_SET_LENGTH + 1 : this.#maxLabels,
  ): number {
    const s = this.#s;
    const n = this.#n;
    let offs = exemplar ? this.#exOffs : this.#offs;
    let k = 0;
    let written = 0, nonEmpty = 0;
    if (!exemplar) this.#setStart = p;
    const where = exemplar ? " in the exemplar" : "";
    for (;;) {
      let c = p < n ? s.charCodeAt(p) : END;
      if (c === RBRACE) break;
      let ns = p;
      let ne: number;
      if (c >= 0 && c < 128 && (CLASS[c] & L_START) !== 0) {
        do c = ++p < n ? s.charCodeAt(p) : END; while (
          c >= 0 && c < 128 && (CLASS[c] & L_CONT) !== 0
        );
        ne = p;
      } else {
        // A quoted label name, or the quoted metric name (kept out of line).
        p = this.#quotedItem(p, exemplar);
        ne = this.#qEnd;
        if (ne < 0) {
          if (s.charCodeAt(p) === RBRACE) break;
          p++;
          continue;
        }
        ns = this.#qStart;
        c = p < n ? s.charCodeAt(p) : END;
      }
      if (c !== EQUALS) {
        throw this.#error(
          p,
          `expected '=' after label name "${s.slice(ns, ne)}", got ${this.#describe(p)}`,
        );
      }
      c = ++p < n ? s.charCodeAt(p) : END;
      if (c !== QUOTE) {
        throw this.#error(
          p,
          `expected '"' to open the value of label "${s.slice(ns, ne)}", got ${this.#describe(p)}`,
        );
      }
      const vs = ++p;
      // Fast path for series labels: the closing quote found natively is
      // right when no backslash and no newline come before it. The next
      // backslash and newline of the body are remembered, so an escape-free
      // body is searched for backslashes once and each line for its end once.
      let q = -1;
      if (!exemplar) {
        q = s.indexOf('"', p);
        let bs = this.#nextBackslash;
        if (bs < p) {
          bs = s.indexOf("\\", p);
          this.#nextBackslash = bs = bs < 0 ? n : bs;
        }
        let nl = this.#nextNewline;
        if (nl < p) {
          nl = s.indexOf("\n", p);
          this.#nextNewline = nl = nl < 0 ? n : nl;
        }
        if (q >= bs || q >= nl) q = -1;
      }
      p = q >= 0 ? q : this.#scanValue(p, vs, ns, ne, exemplar);
      written++;
      if (p > vs) nonEmpty++;
      if (k < cap && (p > vs || !exemplar)) {
        const o = k << 2;
        if (o + 4 > offs.length) {
          const bigger = new Int32Array(offs.length * 2);
          bigger.set(offs);
          offs = bigger;
          if (exemplar) this.#exOffs = bigger;
          else this.#offs = bigger;
        }
        offs[o] = ns;
        offs[o + 1] = ne;
        offs[o + 2] = vs;
        offs[o + 3] = p;
        k++;
      }
      c = ++p < n ? s.charCodeAt(p) : END;
      if (c === COMMA) p++;
      else if (c !== RBRACE) {
        throw this.#error(
          p,
          `expected ',' or '}' after a label value${where}, got ${this.#describe(p)}`,
        );
      }
    }
    if (exemplar) this.#exN = k;
    else {
      this.#nLabels = k;
      this.#written = written;
      this.#nonEmpty = nonEmpty;
    }
    return p + 1;
  }

  /**
   * Scans a quoted name whose opening quote is at `open`; returns the index
   * of the closing quote. As Prometheus' lexer: raw newlines are part of a
   * series' name but not of an exemplar's, NUL is never, and a backslash
   * escapes any character but a newline.
   */
  #scanQuoted(open: number, what: string, exemplar: boolean): number {
    const s = this.#s;
    const n = this.#n;
    let p = open + 1;
    // Fast path (series only): the next quote ends the name when no
    // backslash and no NUL come before it (both positions are remembered).
    const q = exemplar ? -1 : s.indexOf('"', p);
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
      if (c === NUL) throw this.#error(p, `NUL in a quoted ${what}`);
      if (c === NL && exemplar) throw this.#error(p, `newline in a quoted ${what} in the exemplar`);
      if (c === BACKSLASH) {
        const d = ++p < n ? s.charCodeAt(p) : END;
        if (d === END || d === NL || d === NUL) {
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

  /** Scans a label value from `p` char by char; returns the index of its closing quote. */
  #scanValue(p: number, vs: number, ns: number, ne: number, exemplar: boolean): number {
    const s = this.#s;
    const n = this.#n;
    for (;;) {
      if (p >= n) throw this.#error(vs - 1, `unterminated value of label "${s.slice(ns, ne)}"`);
      const c = s.charCodeAt(p);
      if (c === QUOTE) return p;
      if (c === NL) {
        throw this.#error(p, `newline in the value of label "${s.slice(ns, ne)}"`);
      }
      if (c === NUL && exemplar) {
        throw this.#error(p, `NUL in the value of exemplar label "${s.slice(ns, ne)}"`);
      }
      if (c === BACKSLASH) {
        p++;
        const d = p < n ? s.charCodeAt(p) : END;
        if (d === END || d === NL || (d === NUL && exemplar)) {
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
   * Parses an exemplar whose `#` is at `p` (after the blank); returns the
   * index of the newline ending the line.
   */
  #exemplarAt(p: number): number {
    const s = this.#s;
    const n = this.#n;
    if (s.charCodeAt(p + 1) !== SP || s.charCodeAt(p + 2) !== LBRACE) {
      throw this.#error(p, "expected an exemplar '# {' after the blank");
    }
    p = this.#labelSet(p + 3, true);
    let c = p < n ? s.charCodeAt(p) : END;
    if (c !== SP) {
      throw this.#error(
        p,
        `expected a blank and a value after the exemplar labels, got ${this.#describe(p)}`,
      );
    }
    p = this.#number(p + 1, "exemplar value");
    this.#exVal = this.#num;
    this.#exHasTs = false;
    c = p < n ? s.charCodeAt(p) : END;
    if (c === SP) {
      const at = p + 1;
      p = this.#number(at, "exemplar timestamp");
      const ts = this.#num;
      if (ts !== ts || ts === Infinity || ts === -Infinity) {
        throw this.#error(at, `invalid exemplar timestamp ${JSON.stringify(s.slice(at, p))}`);
      }
      this.#exTs = toMillis(ts);
      this.#exHasTs = true;
      c = p < n ? s.charCodeAt(p) : END;
    }
    if (c !== NL) throw this.#endError(p, "the exemplar");
    this.#hasExemplar = true;
    return p;
  }

  /**
   * Parses the number token at `start` (up to a blank, newline, NUL or the
   * end) into `#num`; returns its end. Plain decimals with a mantissa below
   * 2^53 and a power of ten within ±22 are computed exactly here (one
   * correctly rounded multiply or divide); the rest goes through the Go
   * `ParseFloat` port, minus `p`, `P` and `_` as Prometheus requires.
   */
  #number(start: number, what: string): number {
    const s = this.#s;
    const n = this.#n;
    let p = start;
    let c = p < n ? s.charCodeAt(p) : END;
    let neg = false;
    if (c === 45 || c === 43) {
      neg = c === 45;
      c = ++p < n ? s.charCodeAt(p) : END;
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
      c = ++p < n ? s.charCodeAt(p) : END;
    }
    if (digits > 0) {
      let exp = 0;
      let ok = true;
      if (c === 101 || c === 69) {
        c = ++p < n ? s.charCodeAt(p) : END;
        let eneg = false;
        if (c === 45 || c === 43) {
          eneg = c === 45;
          c = ++p < n ? s.charCodeAt(p) : END;
        }
        if (c >= 48 && c <= 57) {
          do {
            if (exp < 100000) exp = exp * 10 + (c - 48);
            c = ++p < n ? s.charCodeAt(p) : END;
          } while (c >= 48 && c <= 57);
          if (eneg) exp = -exp;
        } else ok = false;
      }
      if (ok && (c === SP || c === NL || c === END || c === NUL)) {
        const k = exp - frac;
        let v: number;
        if (mant === 0) v = 0;
        else if (mant < TWO_53 && k >= -22 && k <= 22) {
          v = k === 0 ? mant : k > 0 ? mant * POW10[k] : mant / POW10[-k];
        } else {
          // The grammar is validated, so Number() is Go's correctly rounded result.
          v = Number(s.slice(start, p));
          if (v === Infinity || v === -Infinity) {
            throw this.#error(
              start,
              `${what} ${JSON.stringify(s.slice(start, p))} is out of range`,
            );
          }
          this.#num = v;
          return p;
        }
        this.#num = neg ? -v : v;
        return p;
      }
    }
    return this.#numberSlow(start, what);
  }

  /** The general number path: Inf/NaN spellings and every error. */
  #numberSlow(start: number, what: string): number {
    const s = this.#s;
    const end = this.#tokenEnd(start);
    if (end === start) {
      const article = /^[aeiou]/.test(what) ? "an" : "a";
      throw this.#error(start, `expected ${article} ${what}, got ${this.#describe(start)}`);
    }
    const tok = s.slice(start, end);
    for (let i = 0; i < tok.length; i++) {
      const c = tok.charCodeAt(i);
      if (c === 112 || c === 80 || c === 95) {
        throw this.#error(
          start + i,
          `unsupported character ${JSON.stringify(tok[i])} in ${what} ${JSON.stringify(tok)}`,
        );
      }
    }
    const v = tryParseGoFloat(tok);
    if (v === undefined) {
      const why = goFloatError(tok) === "range" ? "is out of range" : "is not a number";
      throw this.#error(start, `${what} ${JSON.stringify(tok)} ${why}`);
    }
    this.#num = v;
    return end;
  }

  /** End of the token at `p`: the next blank, newline, NUL or the end of the input. */
  #tokenEnd(p: number): number {
    const s = this.#s;
    const n = this.#n;
    for (; p < n; p++) {
      const c = s.charCodeAt(p);
      if (c === SP || c === NL || c === NUL) break;
    }
    return p;
  }

  // -------------------------------------------------------------- metadata

  /**
   * Handles a line starting with `#` at `pos`: HELP, TYPE and UNIT lines are
   * returned, `# EOF` ends the input, anything else is an error.
   */
  #hashLine(pos: number): EntryKind | null {
    const s = this.#s;
    const n = this.#n;
    let p = pos + 1;
    if (p >= n || s.charCodeAt(p) !== SP) {
      throw this.#error(
        p,
        `expected a blank after '#', got ${
          this.#describe(p)
        } (only # HELP, # TYPE, # UNIT and # EOF lines are allowed)`,
      );
    }
    p++;
    if (s.startsWith("EOF", p)) {
      let q = p + 3;
      if (q < n && s.charCodeAt(q) === NL) q++;
      if (q < n) throw this.#error(q, "unexpected data after # EOF");
      this.#pos = n;
      this.#done = true;
      return null;
    }
    let kind: "help" | "type" | "unit" | null = null;
    if (s.charCodeAt(p + 4) === SP) {
      if (s.startsWith("HELP", p)) kind = "help";
      else if (s.startsWith("TYPE", p)) kind = "type";
      else if (s.startsWith("UNIT", p)) kind = "unit";
    }
    if (kind === null) {
      throw this.#error(
        p,
        "expected HELP, TYPE, UNIT or EOF after '# ' (OpenMetrics allows no other comments)",
      );
    }
    const kw = kind.toUpperCase();
    p += 5;
    let ns = p;
    let ne: number;
    let c = p < n ? s.charCodeAt(p) : END;
    if (c >= 0 && c < 128 && (CLASS[c] & M_START) !== 0) {
      do c = ++p < n ? s.charCodeAt(p) : END; while (
        c >= 0 && c < 128 && (CLASS[c] & M_CONT) !== 0
      );
      ne = p;
    } else if (c === QUOTE) {
      ns = p + 1;
      ne = p = this.#scanQuoted(p, "metric name", false);
      c = ++p < n ? s.charCodeAt(p) : END;
      if (ne === ns) throw this.#error(ns - 1, `empty metric name after ${kw}`);
      this.#quotedName(s.slice(ns, ne), ns, "metric name");
    } else {
      throw this.#error(p, `expected a metric name after ${kw}, got ${this.#describe(p)}`);
    }
    if (c !== SP) {
      throw this.#error(
        p,
        `expected a blank and text after the metric name in ${kw}, got ${this.#describe(p)}`,
      );
    }
    const ts = p + 1;
    const le = s.indexOf("\n", ts);
    if (le < 0) throw this.#error(n, "data does not end with # EOF");
    if (this.#closed !== null) this.#strictMeta(kind, ns, ne);
    const fam = this.#famName;
    if (ne - ns !== fam.length || !s.startsWith(fam, ns)) {
      this.#famName = this.#famBase = detach(s.slice(ns, ne));
      this.#famType = "unknown";
      this.#famHelp = "";
      this.#famUnit = "";
    }
    this.#pos = le + 1;
    if (kind === "type") {
      const text = s.slice(ts, le);
      const t = TYPES.find((x) => x === text);
      if (t === undefined) throw this.#error(ts, `invalid metric type ${JSON.stringify(text)}`);
      this.#famType = this.#lastType = t;
      const name = this.#famName;
      this.#famBase = t === "counter" && name.endsWith("_total")
        ? name.slice(0, -6)
        : t === "info" && name.endsWith("_info")
        ? name.slice(0, -5)
        : name;
    } else if (kind === "help") {
      let text = s.slice(ts, le);
      text = text.indexOf("\\") >= 0 ? unescapeLabelValue(text) : detach(text);
      if (!text.isWellFormed()) {
        throw this.#error(ts, "HELP text is not valid UTF-8 (lone surrogate)");
      }
      this.#famHelp = text;
    } else {
      const unit = s.slice(ts, le);
      const len = ne - ns;
      if (
        unit !== "" &&
        (len <= unit.length || !s.startsWith(unit, ne - unit.length) ||
          s.charCodeAt(ne - unit.length - 1) !== 95)
      ) {
        throw this.#error(
          ts,
          `unit ${JSON.stringify(unit)} not a suffix of metric ${JSON.stringify(s.slice(ns, ne))}`,
        );
      }
      this.#famUnit = detach(unit);
    }
    if (this.#closed !== null) this.#strictUnitType(ts);
    return kind;
  }

  // ------------------------------------------------------------- families

  /** Whether the current series belongs to the current family (cached per line). */
  #belongs(): boolean {
    if (this.#member < 0) this.#member = this.#memberOf(this.#closed !== null) ? 1 : 0;
    return this.#member === 1;
  }

  /**
   * Whether the current series' name belongs to the current family: by the
   * specification's suffixes, plus — unless `strict` — the names
   * Prometheus' own family matching accepts (a histogram's or summary's
   * bare name, a counter or info family named with its `_total`/`_info`).
   */
  #memberOf(strict: boolean): boolean {
    const s = this.#s;
    const a = this.#nameStart;
    const b = this.#nameEnd;
    const fam = this.#famName;
    if (fam === "") return false;
    const t = this.#famType;
    const suffixes = SUFFIXES[t];
    for (let i = 0; i < suffixes.length; i++) {
      if (nameIs(s, a, b, fam, suffixes[i])) return true;
    }
    if (strict) return false;
    switch (t) {
      case "counter":
        return nameIs(s, a, b, this.#famBase, "") || nameIs(s, a, b, this.#famBase, "_total");
      case "info":
        return nameIs(s, a, b, this.#famBase, "") || nameIs(s, a, b, this.#famBase, "_info");
      case "histogram":
      case "gaugehistogram":
        return nameIs(s, a, b, fam, "");
    }
    return false;
  }

  /** Prometheus' `_created` test: the name ends in `_created` and the last TYPE needs a start time. */
  #isCreated(): boolean {
    const t = this.#lastType;
    if (t !== "counter" && t !== "histogram" && t !== "summary") return false;
    const e = this.#nameEnd;
    return e - this.#nameStart >= 8 && this.#s.startsWith("_created", e - 8);
  }

  /**
   * The identity `startTimestamp()` matches a sample and its `_created` line
   * by: the family name and the labels as written, without `le` (histogram)
   * or `quantile` (summary).
   */
  #stKeyOf(name: string): string {
    const s = this.#s;
    const offs = this.#offs;
    const skip = this.#lastType === "histogram"
      ? "le"
      : this.#lastType === "summary"
      ? "quantile"
      : "";
    let key = name;
    for (let i = 0; i < this.#nLabels; i++) {
      const o = i << 2;
      if (offs[o + 1] - offs[o] === skip.length && s.startsWith(skip, offs[o])) continue;
      key += "\0" + s.slice(offs[o], offs[o + 1]) + "\0" + s.slice(offs[o + 2], offs[o + 3]);
    }
    return key;
  }

  /** Whether `#stKeyOf(name)` would equal `key`, without building it. */
  #hasKey(key: string, name: string): boolean {
    if (!key.startsWith(name)) return false;
    const s = this.#s;
    const offs = this.#offs;
    const skip = this.#lastType === "histogram"
      ? "le"
      : this.#lastType === "summary"
      ? "quantile"
      : "";
    let i = name.length;
    for (let l = 0; l < this.#nLabels; l++) {
      const o = l << 2;
      if (offs[o + 1] - offs[o] === skip.length && s.startsWith(skip, offs[o])) continue;
      for (let part = 0; part < 4; part += 2) {
        if (key.charCodeAt(i++) !== 0) return false;
        for (let j = offs[o + part]; j < offs[o + part + 1]; j++) {
          if (key.charCodeAt(i++) !== s.charCodeAt(j)) return false;
        }
      }
    }
    return i === key.length;
  }

  /** Scans from `from` for the next `_created` line of the family; fills the #st cache. */
  #lookAhead(from: number): void {
    // One parser for all look-aheads, handed this one's search caches (both
    // stay valid for any later position): a fresh one would search the whole
    // body for a backslash at its first label value.
    let q = this.#peeker;
    if (q === null) {
      q = this.#peeker = new OpenMetricsParser(this.#s, { maxLabels: this.#maxLabels });
    }
    q.#pos = from;
    q.#done = false;
    q.#lastType = this.#lastType;
    q.#nextBackslash = this.#nextBackslash;
    q.#nextNewline = this.#nextNewline;
    q.#nextNul = this.#nextNul;
    this.#stFrom = from;
    this.#stKey = null;
    for (;;) {
      const at = q.#pos;
      this.#stStop = at;
      let k: EntryKind | null;
      try {
        k = q.next();
      } catch (e) {
        if (e instanceof ParseError) return;
        throw e;
      }
      if (k !== "series") return;
      const e = q.#nameEnd;
      if (e - q.#nameStart >= 8 && this.#s.startsWith("_created", e - 8)) {
        if (q.#written > q.#nLabels) {
          // Past maxLabels its series fails anyway; else read every label for the key.
          if (q.#nonEmpty > q.#maxLabels) return;
          q.#allLabels();
        }
        this.#stKey = q.#stKeyOf(this.#s.slice(q.#nameStart, e - 8));
        this.#stVal = toMillis(q.#val);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- strict

  /** Strict checks of a HELP/TYPE/UNIT line for the family `ns`..`ne`, before it becomes current. */
  #strictMeta(kind: "help" | "type" | "unit", ns: number, ne: number): void {
    const s = this.#s;
    const closed = this.#closed!;
    const fam = this.#famName;
    const kw = kind.toUpperCase();
    const bit = kind === "type" ? 1 : kind === "help" ? 2 : 4;
    if (ne - ns === fam.length && s.startsWith(fam, ns)) {
      if (this.#famSamples) {
        throw this.#error(ns, `${kw} of metric family "${fam}" after its samples`);
      }
      if ((this.#famMeta & bit) !== 0) {
        throw this.#error(ns, `second ${kw} line for metric family "${fam}"`);
      }
    } else {
      const name = s.slice(ns, ne);
      if (fam !== "") closed.set(fam, this.#famType);
      if (closed.has(name)) {
        throw this.#error(
          ns,
          `metric family "${name}" appears again (families must not interleave)`,
        );
      }
      this.#famSamples = false;
      this.#famMeta = 0;
    }
    this.#famMeta |= bit;
  }

  /** Strict: info and stateset families have no unit. */
  #strictUnitType(at: number): void {
    const t = this.#famType;
    if (this.#famUnit !== "" && (t === "info" || t === "stateset")) {
      throw this.#error(at, `${t} metric family "${this.#famName}" must not have a unit`);
    }
  }

  /** Strict checks of the series line just parsed. */
  #strictSeries(): void {
    const s = this.#s;
    const a = this.#nameStart;
    const b = this.#nameEnd;
    const closed = this.#closed!;
    let fam = this.#famName;
    const t = this.#famType;
    if (!this.#belongs()) {
      if (fam !== "" && t !== "gauge" && t !== "stateset" && t !== "unknown") {
        let near = nameIs(s, a, b, fam, "");
        for (let i = 0; i < SUFFIX_WORDS.length && !near; i++) {
          near = nameIs(s, a, b, fam, "_" + SUFFIX_WORDS[i]);
        }
        if (near) {
          const want = SUFFIXES[t].map((x) => fam + x).join(", ");
          throw this.#error(
            a,
            `sample "${s.slice(a, b)}" does not fit ${t} metric family "${fam}" (want ${want})`,
          );
        }
      }
      // A sample without metadata starts a family of type unknown, unless
      // it is a sample of a family that ended before.
      const name = s.slice(a, b);
      if (fam !== "") closed.set(fam, t);
      const earlier = closedFamilyOf(closed, name);
      if (earlier !== null) {
        throw this.#error(
          a,
          `metric family "${earlier}" appears again (families must not interleave)`,
        );
      }
      this.#famName = this.#famBase = fam = detach(name);
      this.#famType = "unknown";
      this.#famHelp = "";
      this.#famUnit = "";
      this.#famMeta = 0;
      this.#member = 1;
    }
    this.#famSamples = true;
    const type = this.#famType;
    const bucket = (type === "histogram" || type === "gaugehistogram") &&
      nameIs(s, a, b, fam, "_bucket");
    if (bucket && !this.#hasLabel("le")) {
      throw this.#error(a, `bucket "${s.slice(a, b)}" has no "le" label`);
    }
    if (type === "summary" && nameIs(s, a, b, fam, "") && !this.#hasLabel("quantile")) {
      throw this.#error(a, `summary sample "${fam}" has no "quantile" label`);
    }
    if (type === "stateset" && !this.#hasLabel(fam)) {
      throw this.#error(a, `stateset sample "${fam}" has no label named "${fam}"`);
    }
    if (this.#hasExemplar) {
      if (!bucket && !(type === "counter" && nameIs(s, a, b, fam, "_total"))) {
        throw this.#error(
          a,
          `exemplar on "${
            s.slice(a, b)
          }": only counter _total and histogram _bucket samples may have one`,
        );
      }
      const why = this.#exemplarLabels();
      if (typeof why === "string") throw this.#error(a, why);
    }
  }

  /** Whether the current series has a label named `name` (as written). */
  #hasLabel(name: string): boolean {
    const s = this.#s;
    const offs = this.#offs;
    for (let i = 0; i < this.#nLabels; i++) {
      const o = i << 2;
      if (offs[o + 1] - offs[o] === name.length && s.startsWith(name, offs[o])) return true;
    }
    return false;
  }

  /** The exemplar's labels, or why Prometheus' storage would reject them. */
  #exemplarLabels(): Labels | string {
    const s = this.#s;
    const offs = this.#exOffs;
    const k = this.#exN;
    const names: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < k; i++) {
      const o = i << 2;
      let name = s.slice(offs[o], offs[o + 1]);
      name = s.charCodeAt(offs[o + 1]) === QUOTE
        ? this.#quotedName(name, offs[o], "exemplar label name")
        : detach(name);
      let v = s.slice(offs[o + 2], offs[o + 3]);
      if (v === "") continue;
      if (v.indexOf("\\") >= 0) v = unescapeLabelValue(v);
      else v = detach(v);
      if (!v.isWellFormed()) {
        throw this.#error(
          offs[o + 2],
          `value of exemplar label "${name}" is not valid UTF-8 (lone surrogate)`,
        );
      }
      names.push(name);
      values.push(v);
    }
    const order = sortedOrder(names);
    const kv: string[] = [];
    let length = 0;
    for (let i = 0; i < order.length; i++) {
      const at = order[i];
      if (i > 0 && names[order[i - 1]] === names[at]) {
        return `duplicate exemplar label name "${names[at]}"`;
      }
      length += codePoints(names[at]) + codePoints(values[at]);
      kv.push(names[at], values[at]);
    }
    if (length > EXEMPLAR_MAX_LABEL_SET_LENGTH) {
      return `exemplar labels have ${length} code points, more than ${EXEMPLAR_MAX_LABEL_SET_LENGTH}`;
    }
    return Labels.fromSortedFlat(kv);
  }

  // ---------------------------------------------------------------- errors

  #error(pos: number, reason: string): ParseError {
    return ParseError.at(this.#s, pos, reason);
  }

  /** The error for a line that goes on (or stops) where it should end after `what`. */
  #endError(p: number, what: string): ParseError {
    if (p >= this.#n) return this.#error(p, "data does not end with # EOF");
    return this.#error(p, `expected the end of the line after ${what}, got ${this.#describe(p)}`);
  }

  #describe(p: number): string {
    if (p >= this.#n) return "the end of the input";
    const c = this.#s.charCodeAt(p);
    if (c === NL) return "the end of the line";
    return JSON.stringify(this.#s.slice(p, p + 1));
  }
}

/** The ended family `name` is a sample of (by the family's type), or null. */
function closedFamilyOf(closed: Map<string, MetricType>, name: string): string | null {
  if (closed.has(name)) return name;
  for (let i = name.indexOf("_"); i > 0; i = name.indexOf("_", i + 1)) {
    const t = closed.get(name.slice(0, i));
    if (t !== undefined && SUFFIXES[t].includes(name.slice(i))) return name.slice(0, i);
  }
  return null;
}

/** Whether `s[a:b]` is `fam + suffix`. */
function nameIs(s: string, a: number, b: number, fam: string, suffix: string): boolean {
  return b - a === fam.length + suffix.length && s.startsWith(fam, a) &&
    (suffix === "" || s.startsWith(suffix, a + fam.length));
}

/** Number of code points of a well-formed string (UTF-8 characters, as Go's RuneCount). */
function codePoints(v: string): number {
  let n = v.length;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/**
 * Seconds to milliseconds as Prometheus converts them, `int64(s * 1000)`:
 * truncation toward zero. Where Go's conversion is undefined (NaN, beyond
 * the int64 range) this returns -2^63, the result on amd64.
 */
export function toMillis(seconds: number): number {
  const ms = Math.trunc(seconds * 1000);
  if (!(ms >= -TWO_63 && ms < TWO_63)) return -TWO_63;
  return ms + 0; // no negative zero
}

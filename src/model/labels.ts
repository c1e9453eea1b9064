/**
 * Label sets: sorted, immutable name/value pairs with a cached hash.
 *
 * One `Labels` object exists per series and is shared by reference. Pairs are
 * kept in one flat array `[name0, value0, name1, value1, …]` sorted by name
 * (UTF-16 code unit order, which equals byte order for the ASCII names
 * Prometheus uses), so a label set costs one array plus its strings.
 *
 * Empty values mean "absent", as in Prometheus: constructors drop them.
 *
 * @module
 */

/** The label that holds the metric name. */
export const METRIC_NAME = "__name__";

const EMPTY_KV: readonly string[] = Object.freeze([]);

/** An immutable, sorted set of labels. */
export class Labels {
  /** The empty label set. */
  static readonly EMPTY: Labels = new Labels(EMPTY_KV as string[]);

  readonly #kv: readonly string[];
  #hash = -1;
  #utf8 = -1;

  private constructor(kv: string[]) {
    this.#kv = kv;
  }

  /**
   * Builds labels from a flat array that is already sorted by name, with no
   * duplicate names and no empty values. The array is taken, not copied.
   * Internal fast path for parsers and the builder; callers must uphold the
   * invariants.
   */
  static fromSortedFlat(kv: string[]): Labels {
    return kv.length === 0 ? Labels.EMPTY : new Labels(kv);
  }

  /** Builds labels from an object; empty values are dropped. */
  static fromObject(obj: Readonly<Record<string, string>>): Labels {
    const b = new LabelsBuilder();
    for (const name of Object.keys(obj)) b.set(name, obj[name]);
    return b.labels();
  }

  /** Builds labels from pairs; a later pair overwrites an earlier one of the same name. */
  static fromPairs(pairs: Iterable<readonly [string, string]>): Labels {
    const b = new LabelsBuilder();
    for (const [n, v] of pairs) b.set(n, v);
    return b.labels();
  }

  /** Number of labels. */
  get size(): number {
    return this.#kv.length >> 1;
  }

  /** The i-th label name in sort order. */
  name(i: number): string {
    return this.#kv[i << 1];
  }

  /** The i-th label value in sort order. */
  value(i: number): string {
    return this.#kv[(i << 1) + 1];
  }

  /** The value of `name`, or "" when absent. */
  get(name: string): string {
    const kv = this.#kv;
    // Linear scan: label sets are small (typically < 16) and this beats binary search there.
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] === name) return kv[i + 1];
    }
    return "";
  }

  /** Whether `name` is present. */
  has(name: string): boolean {
    const kv = this.#kv;
    for (let i = 0; i < kv.length; i += 2) if (kv[i] === name) return true;
    return false;
  }

  /** Calls `fn` for each label in sort order. */
  forEach(fn: (name: string, value: string) => void): void {
    const kv = this.#kv;
    for (let i = 0; i < kv.length; i += 2) fn(kv[i], kv[i + 1]);
  }

  /**
   * Replaces each name and value by `intern(it)`, which must return an equal
   * string (a shared copy): the label set does not change, only which string
   * objects hold it. Returns `this`.
   */
  internStrings(intern: (s: string) => string): this {
    const kv = this.#kv as string[];
    if (kv.length === 0) return this;
    for (let i = 0; i < kv.length; i++) {
      const v = intern(kv[i]);
      if (v !== kv[i]) {
        if (v.length !== kv[i].length) throw new Error("internStrings: intern changed a string");
        kv[i] = v;
      }
    }
    return this;
  }

  /** The flat sorted `[name, value, …]` array. Do not mutate. */
  flat(): readonly string[] {
    return this.#kv;
  }

  /**
   * Total UTF-8 length of every name and value (lone surrogates count 2
   * bytes, not 3). Cached: remote write bounds batches by encoded size, and
   * a series' labels are measured once, not once per batch.
   */
  utf8Length(): number {
    if (this.#utf8 !== -1) return this.#utf8;
    const kv = this.#kv;
    let n = 0;
    for (let i = 0; i < kv.length; i++) {
      const s = kv[i];
      n += s.length;
      for (let j = 0; j < s.length; j++) {
        const c = s.charCodeAt(j);
        if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c < 0xe000) ? 1 : 2;
      }
    }
    this.#utf8 = n;
    return n;
  }

  /** A plain object copy. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    const kv = this.#kv;
    for (let i = 0; i < kv.length; i += 2) out[kv[i]] = kv[i + 1];
    return out;
  }

  /**
   * A 32-bit hash of names and values (FNV-1a over UTF-16 code units, with
   * separators), as a signed integer other than -1. Cached. Equal label sets
   * have equal hashes; use `equals` to confirm a match.
   */
  hash(): number {
    if (this.#hash !== -1) return this.#hash;
    let h = 0x811c9dc5;
    const kv = this.#kv;
    for (let i = 0; i < kv.length; i++) {
      const s = kv[i];
      for (let j = 0; j < s.length; j++) {
        h ^= s.charCodeAt(j);
        h = Math.imul(h, 0x01000193);
      }
      h ^= 0xff;
      h = Math.imul(h, 0x01000193);
    }
    // Signed: V8 keeps a 32-bit integer in the object itself (a small integer), where an
    // unsigned one of 2^31 or more is a 16-byte heap number on the side.
    this.#hash = h === -1 ? 0 : h | 0;
    return this.#hash;
  }

  /** Structural equality. */
  equals(other: Labels): boolean {
    if (this === other) return true;
    const a = this.#kv, b = other.#kv;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Prometheus' rendering: `{__name__="up", job="node"}`. */
  toString(): string {
    const kv = this.#kv;
    let s = "{";
    for (let i = 0; i < kv.length; i += 2) {
      if (i > 0) s += ", ";
      s += kv[i] + "=" + quote(kv[i + 1]);
    }
    return s + "}";
  }
}

/** Quotes a label value the way Prometheus prints it (Go %q for the common escapes). */
export function quote(v: string): string {
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += "\\n";
    else out += v[i];
  }
  return out + '"';
}

/**
 * A mutable scratch set used to derive new label sets (relabeling, target
 * labels). Setting an empty value deletes the label.
 */
export class LabelsBuilder {
  #names: string[] = [];
  #values: string[] = [];

  constructor(base?: Labels) {
    if (base) this.reset(base);
  }

  /** Replaces the content with `base`. */
  reset(base: Labels): this {
    const kv = base.flat();
    const n = kv.length >> 1;
    this.#names.length = n;
    this.#values.length = n;
    for (let i = 0; i < n; i++) {
      this.#names[i] = kv[i << 1];
      this.#values[i] = kv[(i << 1) + 1];
    }
    return this;
  }

  /** The current value of `name`, or "". */
  get(name: string): string {
    const i = this.#names.indexOf(name);
    return i < 0 ? "" : this.#values[i];
  }

  /** Whether `name` is set. */
  has(name: string): boolean {
    return this.#names.indexOf(name) >= 0;
  }

  /** Sets `name` to `value`; an empty value deletes it. */
  set(name: string, value: string): this {
    const i = this.#names.indexOf(name);
    if (value === "") {
      if (i >= 0) {
        this.#names.splice(i, 1);
        this.#values.splice(i, 1);
      }
    } else if (i >= 0) {
      this.#values[i] = value;
    } else {
      this.#names.push(name);
      this.#values.push(value);
    }
    return this;
  }

  /** Deletes `name`. */
  del(name: string): this {
    return this.set(name, "");
  }

  /** Calls `fn` for every current label (unsorted). */
  forEach(fn: (name: string, value: string) => void): void {
    const names = this.#names.slice(), values = this.#values.slice();
    for (let i = 0; i < names.length; i++) fn(names[i], values[i]);
  }

  /** Names currently set (unsorted copy). */
  names(): string[] {
    return this.#names.slice();
  }

  /** An immutable sorted `Labels`. */
  labels(): Labels {
    const n = this.#names.length;
    if (n === 0) return Labels.EMPTY;
    const idx = new Array<number>(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const names = this.#names;
    idx.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
    const kv = new Array<string>(n * 2);
    for (let i = 0; i < n; i++) {
      kv[i << 1] = names[idx[i]];
      kv[(i << 1) + 1] = this.#values[idx[i]];
    }
    return Labels.fromSortedFlat(kv);
  }
}

/** Legacy label-name syntax, `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}

/** Legacy metric-name syntax, `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function isValidMetricName(name: string): boolean {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
}

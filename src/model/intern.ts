/**
 * String interning for label names and values: one copy of each distinct
 * string, shared by every series that has it.
 *
 * Thousands of series repeat the same few names and values (`method="GET"`,
 * `le="0.25"`, a path, a pod name); without interning each series holds its
 * own copy, about 20–40 bytes a string. The table is generational so that it
 * stays bounded under churn: once the current generation holds `generation`
 * strings it becomes the previous one and a new one starts; a string found in
 * the previous generation moves to the current one, and what was not used for
 * a whole generation is forgotten (series still holding it keep their copy).
 *
 * @module
 */

/** A bounded, generational string interner. */
export class StringInterner {
  #cur = new Map<string, string>();
  #prev = new Map<string, string>();
  readonly #generation: number;

  /** @param generation strings per generation (at most twice that are held). */
  constructor(generation = 1 << 18) {
    if (!(generation >= 1)) throw new RangeError(`generation must be ≥ 1, got ${generation}`);
    this.#generation = generation;
  }

  /** Number of strings held (both generations). */
  get size(): number {
    return this.#cur.size + this.#prev.size;
  }

  /**
   * The shared copy of `s`. A string seen first is stored as a copy of its own
   * (not a slice of a larger string, such as a scraped body or a cache key,
   * which it would otherwise keep alive).
   */
  intern(s: string): string {
    const hit = this.#cur.get(s);
    if (hit !== undefined) return hit;
    let v = this.#prev.get(s);
    if (v === undefined) v = detach(s);
    else this.#prev.delete(s);
    this.#cur.set(v, v);
    if (this.#cur.size >= this.#generation) {
      this.#prev = this.#cur;
      this.#cur = new Map();
    }
    return v;
  }
}

/**
 * A copy of `s` that does not keep a larger parent string alive. V8 makes
 * substrings of 13 or more characters views into their parent; concatenating
 * and slicing again forces a fresh flat string.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (" " + s).slice(1);
}

/** The process-wide interner of label names and values (scraped series, WAL replay). */
export const labelStrings: StringInterner = new StringInterner();

/** `labelStrings.intern` as a function. */
export const internLabelString = (s: string): string => labelStrings.intern(s);

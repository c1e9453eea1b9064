/**
 * Go's `regexp.Expand` template language, as Prometheus uses it for
 * `replacement` and `target_label`.
 *
 * Rules (they differ from `String.prototype.replace`):
 * - `$name` or `${name}`; a name is the longest non-empty run of Unicode
 *   letters, decimal digits and `_`. So `$1x` means the group named `1x`
 *   (usually absent → empty), and `$10` means group 10 even with one group.
 * - An all-digit name without a leading zero (at most 9 digits) is a group
 *   index; anything else, `$01` included, is a group name. A named reference
 *   uses the first group of that name that took part in the match.
 * - `$$` is a literal `$`. A `$` not followed by a valid reference (`$-`,
 *   `${1`, `${}`, a trailing `$`) is kept literally.
 * - Out-of-range indices, unknown names and groups that did not take part
 *   expand to the empty string.
 *
 * @module
 */

/** A parsed template piece: literal text, a group index, or a group name. */
export type TemplatePart = string | number | { readonly name: string };

/** A template parsed once and resolved against a regex's group names. */
export interface Template {
  readonly source: string;
  /** The expansion when the template references no group (only text and `$$`); otherwise null. */
  readonly literal: string | null;
  /** Literal text, a group index, or the candidate indices of a named reference. */
  readonly parts: readonly (string | number | readonly number[])[];
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Splits a template into literal text and references, following Go's `Regexp.Expand`. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  for (;;) {
    const k = template.indexOf("$", i);
    if (k < 0) break;
    text += template.slice(i, k);
    i = k + 1;
    if (template[i] === "$") {
      text += "$";
      i++;
      continue;
    }
    const ref = extract(template, i);
    if (ref === null) {
      // Malformed: the `$` is literal text.
      text += "$";
      continue;
    }
    if (text !== "") parts.push(text);
    text = "";
    parts.push(ref.num >= 0 ? ref.num : { name: ref.name });
    i = ref.end;
  }
  text += template.slice(i);
  if (text !== "") parts.push(text);
  return parts;
}

/** A reference starting at `i` (just after the `$`), or null when malformed. */
function extract(t: string, i: number): { name: string; num: number; end: number } | null {
  if (i >= t.length) return null;
  const brace = t[i] === "{";
  if (brace) i++;
  let j = i;
  while (j < t.length) {
    const cp = t.codePointAt(j)!;
    const c = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(c)) break;
    j += c.length;
  }
  if (j === i) return null;
  const name = t.slice(i, j);
  if (brace) {
    if (t[j] !== "}") return null;
    j++;
  }
  let num = 0;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c < 0x30 || c > 0x39 || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (c - 0x30);
  }
  if (name[0] === "0" && name.length > 1) num = -1;
  return { name, num, end: j };
}

/**
 * Parses `template` and resolves named references against `groupNames`
 * (Go's `SubexpNames()`: index 0 is the whole match).
 */
export function compileTemplate(
  template: string,
  groupNames: readonly (string | undefined)[] = [],
): Template {
  const parsed = parseTemplate(template);
  let literal: string | null = "";
  const parts: (string | number | readonly number[])[] = [];
  for (const p of parsed) {
    if (typeof p === "string") {
      parts.push(p);
      if (literal !== null) literal += p;
    } else if (typeof p === "number") {
      parts.push(p);
      literal = null;
    } else {
      const idx: number[] = [];
      for (let i = 1; i < groupNames.length; i++) if (groupNames[i] === p.name) idx.push(i);
      parts.push(idx);
      literal = null;
    }
  }
  return { source: template, literal, parts };
}

/** Expands a compiled template with a match (`match[i]` undefined = group did not take part). */
export function expandTemplate(t: Template, match: ArrayLike<string | undefined>): string {
  if (t.literal !== null) return t.literal;
  const parts = t.parts;
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (typeof p === "string") out += p;
    else if (typeof p === "number") {
      if (p < match.length) out += match[p] ?? "";
    } else {
      for (let k = 0; k < p.length; k++) {
        const v = match[p[k]];
        if (v !== undefined) {
          out += v;
          break;
        }
      }
    }
  }
  return out;
}

/**
 * Expands `template` with `match` by Go's rules. Named references use
 * `names` (group names by index, as {@link TranslatedRegex.groupNames}) when
 * given, else the match's JS named groups.
 */
export function expand(
  template: string,
  match: ArrayLike<string | undefined> & { groups?: Record<string, string | undefined> },
  names?: readonly (string | undefined)[],
): string {
  if (names !== undefined) return expandTemplate(compileTemplate(template, names), match);
  let out = "";
  for (const p of parseTemplate(template)) {
    if (typeof p === "string") out += p;
    else if (typeof p === "number") out += match[p] ?? "";
    else out += match.groups?.[p.name] ?? "";
  }
  return out;
}

/** The group indices a compiled template can read. */
export function templateGroups(t: Template): number[] {
  const out: number[] = [];
  for (const p of t.parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p !== "string") out.push(...p);
  }
  return out;
}

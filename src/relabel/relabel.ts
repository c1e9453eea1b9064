/**
 * Relabeling with Prometheus' semantics (`model/relabel/relabel.go`).
 *
 * `compileRules` validates a rule list the way Prometheus validates
 * `relabel_configs` and precompiles regexes and templates; `relabel` applies
 * it to one label set and returns the result, `null` when a rule dropped it,
 * or the very same `Labels` object when nothing changed.
 *
 * The working set mirrors Go's `labels.Builder` (base labels + ordered
 * additions + deletions), so `labelmap` visits labels in the same order as
 * Prometheus and resolves colliding targets the same way.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { RelabelAction, ResolvedRelabelConfig } from "../config/types.ts";
import { Labels } from "../model/labels.ts";
import { compileTemplate, expandTemplate, type Template, templateGroups } from "./expand.ts";
import {
  type RegexEngine,
  type RegexMatch,
  type TranslatedRegex,
  translateRegex,
} from "./regex.ts";

/** How target label names produced by rules are validated. */
export type NameValidation = "utf8" | "legacy";

/** Options for {@link compileRules}. */
export interface CompileOptions {
  /**
   * Label name validation scheme: `utf8` (Prometheus 3 default: any
   * non-empty well-formed string) or `legacy` (`[a-zA-Z_][a-zA-Z0-9_]*`).
   * @default "utf8"
   */
  nameValidation?: NameValidation;
  /**
   * Regex engine: `auto` runs the native RegExp where it gives Go's results
   * within bounded time and re2js otherwise; `re2js` and `native` force one
   * (for measurements; `native` gives up the linear-time guarantee).
   * @default "auto"
   */
  regexEngine?: RegexEngine;
}

/** A rule list that failed validation; `index` is the rule's position. */
export class RelabelConfigError extends Error {
  override name = "RelabelConfigError";
  constructor(
    message: string,
    readonly index: number,
    readonly rule: ResolvedRelabelConfig,
    options?: ErrorOptions,
  ) {
    super(`relabel rule ${index + 1} (${rule.action}): ${message}`, options);
  }
}

/** One step of {@link relabelSteps}. */
export interface RelabelStep {
  rule: ResolvedRelabelConfig;
  before: Labels;
  /** Labels after the rule, or null when it dropped them. */
  after: Labels | null;
  kept: boolean;
}

const enum Act {
  Replace,
  Keep,
  Drop,
  KeepEqual,
  DropEqual,
  HashMod,
  LabelMap,
  LabelDrop,
  LabelKeep,
  Lowercase,
  Uppercase,
}

const ACTIONS: Record<RelabelAction, Act> = {
  replace: Act.Replace,
  keep: Act.Keep,
  drop: Act.Drop,
  keepequal: Act.KeepEqual,
  dropequal: Act.DropEqual,
  hashmod: Act.HashMod,
  labelmap: Act.LabelMap,
  labeldrop: Act.LabelDrop,
  labelkeep: Act.LabelKeep,
  lowercase: Act.Lowercase,
  uppercase: Act.Uppercase,
};

const DEFAULT_REGEX = "(.*)";
const DEFAULT_SEPARATOR = ";";
const DEFAULT_REPLACEMENT = "$1";
const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Legacy target_label syntax that allows `$1`/`${1}` templates. */
const LEGACY_TEMPLATE_NAME = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

interface Rule {
  readonly cfg: ResolvedRelabelConfig;
  readonly act: Act;
  readonly src: readonly string[];
  readonly sep: string;
  readonly re: TranslatedRegex;
  /** Cheap equivalent of `re.test`. */
  readonly test: (s: string) => boolean;
  /** `re.exec`, bound to the native RegExp when that is always used. */
  readonly exec: (s: string) => RegexMatch | null;
  /** The regex is `(.*)`: always matches, group 1 = the whole value. */
  readonly isDefaultRegex: boolean;
  /** Reused match array for the default regex. */
  readonly defaultMatch: [string, string];
  readonly targetLabel: string;
  readonly target: Template;
  /** The target template contains `$`, so its expansion is validated per match. */
  readonly checkTarget: boolean;
  readonly replacement: Template;
  /** Expands the replacement with a match (labelmap's replace-all). */
  readonly expandReplacement: (m: RegexMatch) => string;
  readonly validName: (s: string) => boolean;
  readonly modulus: number;
}

/** A validated, precompiled rule list. Apply it with {@link relabel}. */
export class CompiledRules {
  readonly #rules: readonly Rule[];
  readonly #scratch = new Scratch();

  /** @internal Use {@link compileRules}. */
  constructor(rules: readonly Rule[]) {
    this.#rules = rules;
  }

  /** Number of rules. */
  get length(): number {
    return this.#rules.length;
  }

  /** The rules as configured. */
  get configs(): ResolvedRelabelConfig[] {
    return this.#rules.map((r) => r.cfg);
  }

  /** Applies the rules; null = dropped; the same object when unchanged. */
  apply(labels: Labels): Labels | null {
    const rules = this.#rules;
    if (rules.length === 0) return labels;
    const s = this.#scratch;
    s.reset(labels);
    for (let i = 0; i < rules.length; i++) {
      if (!applyRule(rules[i], s)) return null;
    }
    return s.labels();
  }

  /** Applies the rules one by one, recording each intermediate label set. */
  steps(labels: Labels): RelabelStep[] {
    const out: RelabelStep[] = [];
    const s = new Scratch();
    s.reset(labels);
    let before = labels;
    for (const r of this.#rules) {
      const kept = applyRule(r, s);
      const after = kept ? s.labels() : null;
      out.push({ rule: r.cfg, before, after, kept });
      if (after === null) break;
      before = after;
    }
    return out;
  }
}

/**
 * Validates and precompiles `rules`. Throws {@link RelabelConfigError} (with
 * the regex's SyntaxError as `cause` for bad regexes) on anything Prometheus
 * would reject, or that cannot be evaluated exactly.
 */
export function compileRules(
  rules: readonly ResolvedRelabelConfig[],
  options: CompileOptions = {},
): CompiledRules {
  const scheme = options.nameValidation ?? "utf8";
  const engine = options.regexEngine ?? "auto";
  return new CompiledRules(rules.map((cfg, i) => compileRule(cfg, i, { scheme, engine })));
}

/**
 * Applies relabeling rules to `labels`. Returns null when the labels are
 * dropped, and `labels` itself when no rule changed anything. Pass
 * {@link CompiledRules} on hot paths; a plain array is compiled on each call.
 */
export function relabel(
  rules: CompiledRules | readonly ResolvedRelabelConfig[],
  labels: Labels,
): Labels | null {
  const c = rules instanceof CompiledRules ? rules : compileRules(rules);
  return c.apply(labels);
}

/** Each rule's input and output, stopping at the rule that drops the labels (for debugging UIs). */
export function relabelSteps(
  rules: CompiledRules | readonly ResolvedRelabelConfig[],
  labels: Labels,
): RelabelStep[] {
  const c = rules instanceof CompiledRules ? rules : compileRules(rules);
  return c.steps(labels);
}

// ---------------------------------------------------------------------------
// Compilation and validation

function isValidUtf8Name(s: string): boolean {
  return s.length > 0 && s.isWellFormed();
}

function isValidLegacyName(s: string): boolean {
  return LEGACY_NAME.test(s);
}

function compileRule(
  cfg: ResolvedRelabelConfig,
  index: number,
  { scheme, engine }: { scheme: NameValidation; engine: RegexEngine },
): Rule {
  const fail: (msg: string, cause?: unknown) => never = (msg, cause) => {
    throw new RelabelConfigError(msg, index, cfg, cause === undefined ? undefined : { cause });
  };
  const actionName = String(cfg.action ?? "replace").toLowerCase() as RelabelAction;
  const act = Object.hasOwn(ACTIONS, actionName) ? ACTIONS[actionName] : undefined;
  if (act === undefined) fail(`unknown relabel action "${cfg.action}"`);
  const validName = scheme === "legacy" ? isValidLegacyName : isValidUtf8Name;
  const hasVar = (s: string) => s.includes("$");
  const sourceLabels = cfg.sourceLabels ?? [];
  const separator = cfg.separator ?? DEFAULT_SEPARATOR;
  const regexSrc = cfg.regex ?? DEFAULT_REGEX;
  const targetLabel = cfg.targetLabel ?? "";
  const replacement = cfg.replacement ?? DEFAULT_REPLACEMENT;
  const modulus = cfg.modulus ?? 0;

  for (const l of sourceLabels) {
    if (!validName(l)) fail(`"${l}" is invalid 'source_label'`);
  }
  if (act === Act.HashMod && !(Number.isSafeInteger(modulus) && modulus > 0)) {
    fail("relabel configuration for hashmod requires non-zero modulus");
  }
  const needsTarget = act === Act.Replace || act === Act.HashMod || act === Act.Lowercase ||
    act === Act.Uppercase || act === Act.KeepEqual || act === Act.DropEqual;
  if (needsTarget && targetLabel === "") {
    fail(`relabel configuration for ${actionName} action requires 'target_label' value`);
  }
  if (act === Act.Replace) {
    const ok = hasVar(targetLabel)
      ? (scheme === "legacy"
        ? LEGACY_TEMPLATE_NAME.test(targetLabel)
        : isValidUtf8Name(targetLabel))
      : validName(targetLabel);
    if (!ok) fail(`"${targetLabel}" is invalid 'target_label' for ${actionName} action`);
  }
  if (
    (act === Act.Lowercase || act === Act.Uppercase || act === Act.KeepEqual ||
      act === Act.DropEqual || act === Act.HashMod) && !validName(targetLabel)
  ) {
    fail(`"${targetLabel}" is invalid 'target_label' for ${actionName} action`);
  }
  if (
    (act === Act.Lowercase || act === Act.Uppercase || act === Act.KeepEqual ||
      act === Act.DropEqual) && replacement !== DEFAULT_REPLACEMENT
  ) {
    fail(`'replacement' can not be set for ${actionName} action`);
  }
  if (act === Act.LabelMap) {
    const ok = scheme === "legacy"
      ? LEGACY_TEMPLATE_NAME.test(replacement)
      : isValidUtf8Name(replacement);
    if (!ok) fail(`"${replacement}" is invalid 'replacement' for ${actionName} action`);
  }
  if (act === Act.KeepEqual || act === Act.DropEqual) {
    if (
      regexSrc !== DEFAULT_REGEX || modulus !== 0 || separator !== DEFAULT_SEPARATOR ||
      replacement !== DEFAULT_REPLACEMENT
    ) {
      fail(
        `${actionName} action requires only 'source_labels' and \`target_label\`, and no other fields`,
      );
    }
  }
  if (act === Act.LabelDrop || act === Act.LabelKeep) {
    if (
      sourceLabels.length > 0 || targetLabel !== "" || modulus !== 0 ||
      separator !== DEFAULT_SEPARATOR || replacement !== DEFAULT_REPLACEMENT
    ) {
      fail(`${actionName} action requires only 'regex', and no other fields`);
    }
  }

  let re: TranslatedRegex;
  let target = compileTemplate(targetLabel), repl = compileTemplate(replacement);
  try {
    // The regex learns which capture groups the templates read (when one of
    // them is unstable in the native translation, exec runs on re2js).
    re = translateRegex(regexSrc, {
      engine,
      captures: (names) => {
        target = compileTemplate(targetLabel, names);
        repl = compileTemplate(replacement, names);
        if (act === Act.Replace) return [...templateGroups(target), ...templateGroups(repl)];
        return act === Act.LabelMap ? templateGroups(repl) : [];
      },
    });
  } catch (e) {
    return fail((e as Error).message, e);
  }
  return {
    cfg,
    act,
    src: sourceLabels,
    sep: separator,
    re,
    test: makeTest(re),
    exec: makeExec(re),
    isDefaultRegex: regexSrc === DEFAULT_REGEX,
    defaultMatch: ["", ""],
    targetLabel,
    target,
    checkTarget: hasVar(targetLabel),
    replacement: repl,
    expandReplacement: (m) => expandTemplate(repl, m),
    validName,
    modulus,
  };
}

function makeExec(re: TranslatedRegex): (s: string) => RegexMatch | null {
  if (re.nativeExecLimit === Infinity) {
    const r = re.regex!;
    return (s) => r.exec(s);
  }
  return (s) => re.exec(s);
}

function makeTest(re: TranslatedRegex): (s: string) => boolean {
  const f = re.fast;
  switch (f.kind) {
    case "any":
      return () => true;
    case "nonempty":
      return (s) => s.length > 0;
    case "literal": {
      const v = f.value;
      return (s) => s === v;
    }
    case "set": {
      const set = f.values;
      return (s) => set.has(s);
    }
    case "prefix": {
      const p = f.prefix;
      return (s) => s.startsWith(p);
    }
    default: {
      if (re.nativeTestLimit === Infinity) {
        const r = re.regex!;
        return (s) => r.test(s);
      }
      return (s) => re.test(s);
    }
  }
}

// ---------------------------------------------------------------------------
// Application

/** Applies one rule to the working set; false = drop. */
function applyRule(r: Rule, s: Scratch): boolean {
  const src = r.src;
  let val: string;
  if (src.length === 1) val = s.get(src[0]);
  else if (src.length === 0) val = "";
  else {
    val = s.get(src[0]);
    for (let i = 1; i < src.length; i++) val += r.sep + s.get(src[i]);
  }
  switch (r.act) {
    case Act.Replace: {
      const tl = r.target.literal, rl = r.replacement.literal;
      if (val === "" && r.isDefaultRegex && tl !== null && rl !== null) {
        // Fast path: (.*) matches "" and no template reads the match.
        s.set(tl, rl);
        return true;
      }
      let m: ArrayLike<string | undefined> | null;
      if (r.isDefaultRegex) {
        const dm = r.defaultMatch;
        dm[0] = val;
        dm[1] = val;
        m = dm;
      } else {
        m = r.exec(val);
        if (m === null) return true;
      }
      const target = tl !== null ? tl : expandTemplate(r.target, m);
      if (r.checkTarget && !r.validName(target)) return true;
      const res = rl !== null ? rl : expandTemplate(r.replacement, m);
      if (res === "") s.del(target);
      else s.set(target, res);
      return true;
    }
    case Act.Keep:
      return r.test(val);
    case Act.Drop:
      return !r.test(val);
    case Act.KeepEqual:
      return s.get(r.targetLabel) === val;
    case Act.DropEqual:
      return s.get(r.targetLabel) !== val;
    case Act.HashMod:
      s.set(r.targetLabel, String(hashMod(val, r.modulus)));
      return true;
    case Act.LabelMap: {
      const names: string[] = [], values: string[] = [];
      s.snapshot(names, values);
      for (let i = 0; i < names.length; i++) {
        if (r.test(names[i])) s.set(replaceAll(r, names[i]), values[i]);
      }
      return true;
    }
    case Act.LabelDrop:
    case Act.LabelKeep: {
      const drop = r.act === Act.LabelDrop;
      if (!s.touched) {
        // Nothing set or deleted yet: the (immutable) base is the snapshot.
        const kv = s.base.flat();
        for (let i = 0; i < kv.length; i += 2) if (r.test(kv[i]) === drop) s.del(kv[i]);
        return true;
      }
      const names: string[] = [];
      s.snapshot(names, null);
      for (let i = 0; i < names.length; i++) {
        if (r.test(names[i]) === drop) s.del(names[i]);
      }
      return true;
    }
    case Act.Lowercase:
      s.set(r.targetLabel, goToLower(val));
      return true;
    case Act.Uppercase:
      s.set(r.targetLabel, goToUpper(val));
      return true;
  }
}

/** Go's `Regexp.ReplaceAllString(src, replacement)` with `$` expansion. */
function replaceAll(r: Rule, src: string): string {
  if (r.isDefaultRegex) {
    const dm = r.defaultMatch;
    dm[0] = src;
    dm[1] = src;
    return expandTemplate(r.replacement, dm);
  }
  return r.re.replaceAll(src, r.expandReplacement);
}

/** MD5 of `val`, bytes 8..15 as a big-endian uint64, modulo `modulus`. */
export function hashMod(val: string, modulus: number): number {
  const d = createHash("md5").update(val, "utf8").digest();
  const hi = d.readUInt32BE(8), lo = d.readUInt32BE(12);
  if (modulus <= 0x1fffff) {
    // (hi·2³² + lo) mod m without leaving the safe integer range.
    return ((hi % modulus) * (0x100000000 % modulus) + (lo % modulus)) % modulus;
  }
  return Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(modulus));
}

// ---------------------------------------------------------------------------
// Case mapping with Go's per-rune simple mappings (strings.ToLower/ToUpper).

/**
 * Go maps each rune with Unicode's simple case mapping; JS applies full,
 * context-dependent mappings (final sigma, `İ` → `i̇`, `ß` → `SS`, ligatures).
 */
export function goToLower(s: string): string {
  if (isAscii(s)) return s.toLowerCase();
  let out = "";
  for (const c of s) {
    const l = c.toLowerCase();
    if (l.length === c.length || [...l].length === 1) out += l;
    else if (c === "\u0130") out += "i";
    else out += c;
  }
  return out;
}

/** See {@link goToLower}. */
export function goToUpper(s: string): string {
  if (isAscii(s)) return s.toUpperCase();
  let out = "";
  for (const c of s) {
    const u = c.toUpperCase();
    if (u.length === c.length || [...u].length === 1) out += u;
    else out += String.fromCodePoint(simpleUpperOfSpecial(c.codePointAt(0)!));
  }
  return out;
}

/** Simple uppercase of runes whose full uppercase is several characters (Greek with ypogegrammeni). */
function simpleUpperOfSpecial(cp: number): number {
  if (
    (cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) ||
    (cp >= 0x1fa0 && cp <= 0x1fa7)
  ) return cp + 8;
  if (cp === 0x1fb3) return 0x1fbc;
  if (cp === 0x1fc3) return 0x1fcc;
  if (cp === 0x1ff3) return 0x1ffc;
  return cp;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Working set, mirroring Go's labels.Builder.

class Scratch {
  #base: Labels = Labels.EMPTY;
  #addN: string[] = [];
  #addV: string[] = [];
  #del: string[] = [];
  #dirty = false;

  get base(): Labels {
    return this.#base;
  }

  /** Whether anything was set or deleted since the last reset. */
  get touched(): boolean {
    return this.#addN.length > 0 || this.#del.length > 0;
  }

  reset(base: Labels): void {
    this.#base = base;
    this.#addN.length = 0;
    this.#addV.length = 0;
    this.#del.length = 0;
    this.#dirty = false;
  }

  get(name: string): string {
    const addN = this.#addN;
    for (let i = 0; i < addN.length; i++) if (addN[i] === name) return this.#addV[i];
    if (this.#del.length > 0 && this.#del.includes(name)) return "";
    return this.#base.get(name);
  }

  set(name: string, value: string): void {
    if (value === "") {
      this.del(name);
      return;
    }
    if (!this.#dirty && this.get(name) !== value) this.#dirty = true;
    const addN = this.#addN;
    for (let i = 0; i < addN.length; i++) {
      if (addN[i] === name) {
        this.#addV[i] = value;
        return;
      }
    }
    addN.push(name);
    this.#addV.push(value);
  }

  del(name: string): void {
    if (!this.#dirty && this.get(name) !== "") this.#dirty = true;
    const i = this.#addN.indexOf(name);
    if (i >= 0) {
      this.#addN.splice(i, 1);
      this.#addV.splice(i, 1);
    }
    this.#del.push(name);
  }

  /**
   * The current labels in Go's `Builder.Range` order: untouched base labels
   * (sorted), then additions in the order they were first set.
   */
  snapshot(names: string[], values: string[] | null): void {
    const kv = this.#base.flat();
    const addN = this.#addN, del = this.#del;
    const touched = addN.length > 0 || del.length > 0;
    for (let i = 0; i < kv.length; i += 2) {
      const n = kv[i];
      if (touched && (del.includes(n) || addN.includes(n))) continue;
      names.push(n);
      values?.push(kv[i + 1]);
    }
    for (let i = 0; i < addN.length; i++) {
      names.push(addN[i]);
      values?.push(this.#addV[i]);
    }
  }

  labels(): Labels {
    if (!this.#dirty) return this.#base;
    const addN = this.#addN, addV = this.#addV, del = this.#del;
    const kv = this.#base.flat();
    // Additions sorted by name (few, so insertion sort).
    const order: number[] = [];
    for (let i = 0; i < addN.length; i++) {
      let j = order.length;
      while (j > 0 && addN[order[j - 1]] > addN[i]) j--;
      order.splice(j, 0, i);
    }
    const out: string[] = [];
    let a = 0;
    for (let i = 0; i < kv.length; i += 2) {
      const n = kv[i];
      if (del.includes(n) || addN.includes(n)) continue;
      while (a < order.length && addN[order[a]] < n) {
        out.push(addN[order[a]], addV[order[a]]);
        a++;
      }
      out.push(n, kv[i + 1]);
    }
    for (; a < order.length; a++) out.push(addN[order[a]], addV[order[a]]);
    const res = Labels.fromSortedFlat(out);
    return res.equals(this.#base) ? this.#base : res;
  }
}

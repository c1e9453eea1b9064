/**
 * Symbol tables for RW 2.0 requests, built without hashing every label
 * string of every request.
 *
 * A process-wide interner gives each label string a small id; each `Labels`
 * object caches its (name, value) ids, sorted by name bytes, once (about 170
 * bytes per live series with 7 labels, like RW 1.0's label-block cache). A
 * request's symbol table maps ids to request refs through a typed array
 * reset after each request, so a series costs one `WeakMap` lookup and an
 * array read per string instead of a `Map` lookup per string.
 *
 * Strings that are not worth interning (exemplar labels, such as trace IDs)
 * go through a per-request `Map` instead; both paths share one table, so no
 * string appears twice in a request.
 *
 * Memory: the interner holds every label string seen since its last reset.
 * It is reset (and every cached id list invalidated) at the start of a
 * request once it holds more than `MAX_INTERNED` strings, which bounds what
 * churning label values can pin.
 *
 * @module
 */

import type { Labels } from "../model/labels.ts";
import { type MetricMetadata, MetricTypeCode } from "../model/metadata.ts";
import { byteOrder } from "./codec_rw1.ts";

/** Interned strings kept before a reset (about 35 MB worst case with short strings). */
export const MAX_INTERNED = 1 << 19;

/** Label strings by id and ids by string. */
class Interner {
  readonly ids = new Map<string, number>();
  readonly strings: string[] = [];
  /** Bumped on reset; cached ids of another generation are stale. */
  generation = 1;

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  reset(): void {
    this.ids.clear();
    this.strings.length = 0;
    this.generation++;
  }
}

const interner = new Interner();

/**
 * Per `Labels`: `[generation, name id, value id, …]`, pairs in byte order of
 * names, empty names and values left out (a plain SMI array: about 170 bytes
 * for 7 labels).
 */
const labelIds = new WeakMap<Labels, number[]>();

interface CachedMetadata {
  generation: number;
  /** The strings the ids were taken for (the object could be changed in place). */
  helpText: string;
  unitText: string;
  typeText: string;
  type: number;
  help: number;
  unit: number;
}

const metadataIds = new WeakMap<MetricMetadata, CachedMetadata>();

/** Metadata as refs: type code, help ref, unit ref. */
export interface MetadataRefs {
  type: number;
  help: number;
  unit: number;
}

/**
 * The interned ids of `labels`: `[generation, name id, value id, …]` with the
 * pairs sorted by name bytes, so pairs start at index 1. Do not mutate.
 */
export function labelIdsOf(labels: Labels): readonly number[] {
  const cached = labelIds.get(labels);
  if (cached !== undefined && cached[0] === interner.generation) return cached;
  const kv = labels.flat();
  const order = byteOrder(labels);
  const ids: number[] = [interner.generation];
  const push = (j: number) => {
    if (kv[j] === "" || kv[j + 1] === "") return;
    ids.push(interner.id(kv[j]), interner.id(kv[j + 1]));
  };
  if (order === null) { for (let j = 0; j < kv.length; j += 2) push(j); }
  else for (const j of order) push(j);
  labelIds.set(labels, ids);
  return ids;
}

/** Options of `RequestSymbols`. */
export interface RequestSymbolsOptions {
  /** Interned strings kept before `begin` resets the interner; default `MAX_INTERNED`. */
  maxInterned?: number;
}

/** The symbol table of the request being encoded. */
export class RequestSymbols {
  /** The symbols, `list[0]` = "". */
  readonly list: string[] = [];
  /** Request ref by interned id, -1 when not in this request. */
  #ref = new Int32Array(1024).fill(-1);
  /** Ids given a ref in this request (to clear `#ref` cheaply). */
  readonly #touched: number[] = [];
  readonly #extra = new Map<string, number>();
  #lastMetadata: MetricMetadata | undefined;
  #lastCached: CachedMetadata | undefined;
  readonly #maxInterned: number;

  constructor(opts: RequestSymbolsOptions = {}) {
    this.#maxInterned = opts.maxInterned ?? MAX_INTERNED;
  }

  /** Starts a new request. */
  begin(): void {
    const ref = this.#ref, touched = this.#touched;
    for (let i = 0; i < touched.length; i++) ref[touched[i]] = -1;
    touched.length = 0;
    if (interner.strings.length > this.#maxInterned) {
      interner.reset();
      this.#lastMetadata = this.#lastCached = undefined;
    }
    this.list.length = 0;
    this.#extra.clear();
    this.list.push("");
    this.#extra.set("", 0);
  }

  /** The request ref of `labels`' interned string `id` (from `labelIdsOf`). */
  ref(id: number): number {
    const r = this.#ref[id];
    return r >= 0 ? r : this.#add(id);
  }

  #add(id: number): number {
    if (id >= this.#ref.length) {
      const next = new Int32Array(Math.max(id + 1, this.#ref.length * 2)).fill(-1);
      next.set(this.#ref);
      this.#ref = next;
    }
    const s = interner.strings[id];
    let r = this.#extra.get(s);
    if (r === undefined) {
      r = this.list.length;
      this.list.push(s);
    }
    this.#ref[id] = r;
    this.#touched.push(id);
    return r;
  }

  /** The request ref of any string (interned or not; not interning it). */
  refString(s: string): number {
    const id = interner.ids.get(s);
    if (id !== undefined) return this.ref(id);
    let r = this.#extra.get(s);
    if (r === undefined) {
      r = this.list.length;
      this.list.push(s);
      this.#extra.set(s, r);
    }
    return r;
  }

  /** The type code and the refs of help and unit of `m`, written into `out`. */
  metadataRefs(m: MetricMetadata, out: MetadataRefs): void {
    let c = this.#lastMetadata === m ? this.#lastCached : metadataIds.get(m);
    if (
      c === undefined || c.generation !== interner.generation || c.helpText !== m.help ||
      c.unitText !== m.unit || c.typeText !== m.type
    ) {
      c = {
        generation: interner.generation,
        helpText: m.help,
        unitText: m.unit,
        typeText: m.type,
        type: MetricTypeCode[m.type] ?? 0,
        help: interner.id(m.help),
        unit: interner.id(m.unit),
      };
      metadataIds.set(m, c);
    }
    this.#lastMetadata = m;
    this.#lastCached = c;
    out.type = c.type;
    out.help = this.ref(c.help);
    out.unit = this.ref(c.unit);
  }
}

/**
 * `SeriesCache`: what a remote-write endpoint keeps per series ref — the
 * label set after write relabeling (null where relabeling drops the series)
 * and, once a request carried it, that set's encoded RW 1.0 `Label`
 * messages — so a steady series is transformed and encoded once.
 *
 * Everything sits in an open-addressing table over typed arrays (a ref, a
 * block's offset and length per slot, plus one array of label sets), the
 * blocks in one growing slab. A series costs 48 to 96 bytes besides its
 * block (24 per slot, the table a quarter to half full) where a `Map` entry,
 * a `WeakMap` entry and a `Uint8Array` view per series cost about 160, and
 * finding a block is a probe, not a hash-map lookup. Blocks of series that
 * left the cache stay in the slab until it is full; then the live blocks are
 * copied into a fresh slab one and a half times their size.
 *
 * @module
 */

import type { Labels } from "../model/labels.ts";
import { PbWriter } from "./codec_pb.ts";

/** The initial slab size, and the step it grows by. */
const SLAB_STEP = 1 << 16;
/** log2 of the smallest table. */
const MIN_BITS = 10;
/** A slot's key when it holds no ref. */
const EMPTY = -1;

/** Encodes the `Label` messages of `labels` into `w`. */
export type BlockEncoder = (w: PbWriter, labels: Labels) => void;

/** Transformed label sets and their encoded label blocks, by series ref. */
export class SeriesCache {
  #keys = new Float64Array(1 << MIN_BITS).fill(EMPTY);
  #labels: (Labels | null)[] = new Array<Labels | null>(1 << MIN_BITS).fill(null);
  #off = new Uint32Array(1 << MIN_BITS);
  /** Block length per slot; 0 while the series has no block. */
  #len = new Uint32Array(1 << MIN_BITS);
  /** log2 of the table's slots. */
  #bits = MIN_BITS;
  #mask = (1 << MIN_BITS) - 1;
  #size = 0;

  #slab = new Uint8Array(SLAB_STEP);
  #used = 0;
  #compactions = 0;
  readonly #scratch = new PbWriter(256);
  /** The block `findBlock` found last: where it is and how long. */
  #found: Uint8Array = this.#slab;
  #foundAt = 0;
  #foundLen = 0;

  /** Refs held. */
  get size(): number {
    return this.#size;
  }

  /** Slab bytes in use (live and dead blocks). */
  get bytes(): number {
    return this.#used;
  }

  /** Slab capacity in bytes. */
  get capacity(): number {
    return this.#slab.length;
  }

  /** Times the slab was compacted. */
  get compactions(): number {
    return this.#compactions;
  }

  /** Table slots (for tests: the table grows and shrinks with the refs held). */
  get slots(): number {
    return this.#keys.length;
  }

  #slot(ref: number): number {
    // Refs are integers below 2^53, handed out in sequence: the low bits, with the higher ones
    // folded in, keep neighbouring refs in neighbouring slots. A batch's refs mostly come in
    // runs, so its probes stay in cache: 12 ns a lookup among 400,000 refs, against 97 with
    // Fibonacci hashing, which scatters them (measured).
    const mixed = (ref >>> 0) ^ ((ref / 4294967296) >>> 0);
    let i = (mixed ^ (mixed >>> this.#bits)) & this.#mask;
    const keys = this.#keys, mask = this.#mask;
    for (;;) {
      const k = keys[i];
      if (k === ref || k === EMPTY) return i;
      i = (i + 1) & mask;
    }
  }

  /** The transformed labels of `ref`: null when relabeling drops it, undefined when not held. */
  get(ref: number): Labels | null | undefined {
    const i = this.#slot(ref);
    return this.#keys[i] === EMPTY ? undefined : this.#labels[i];
  }

  /** Holds `labels` (null: dropped by relabeling) for `ref`; a ref held already keeps its entry. */
  set(ref: number, labels: Labels | null): void {
    if (!(ref >= 0 && Number.isSafeInteger(ref))) throw new RangeError(`bad series ref ${ref}`);
    let i = this.#slot(ref);
    if (this.#keys[i] !== EMPTY) {
      if (this.#labels[i] !== labels) {
        this.#labels[i] = labels;
        this.#len[i] = 0;
      }
      return;
    }
    if (2 * (this.#size + 1) > this.#keys.length) {
      this.#grow();
      i = this.#slot(ref);
    }
    this.#keys[i] = ref;
    this.#labels[i] = labels;
    this.#len[i] = 0;
    this.#size++;
  }

  /** Keeps the refs for which `keep` holds and forgets the others; the table shrinks to fit. */
  retain(keep: (ref: number) => boolean): void {
    const kept = this.#occupied(keep);
    let bits = MIN_BITS;
    // Room for three times the refs that stay: the next growth is a while away.
    while (1 << bits < 3 * kept.length) bits++;
    this.#rehash(1 << bits, kept);
  }

  #grow(): void {
    this.#rehash(this.#keys.length * 2, this.#occupied());
  }

  /** The slots holding a ref (for which `keep` holds, when given). */
  #occupied(keep?: (ref: number) => boolean): Uint32Array {
    const keys = this.#keys;
    const slots = new Uint32Array(this.#size);
    let n = 0;
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] !== EMPTY && (keep === undefined || keep(keys[j]))) slots[n++] = j;
    }
    return slots.subarray(0, n);
  }

  /** Moves the entries in slots `from` into a new table of `slots` slots. */
  #rehash(slots: number, from: Uint32Array): void {
    const keys = this.#keys, labels = this.#labels, off = this.#off, len = this.#len;
    this.#keys = new Float64Array(slots).fill(EMPTY);
    this.#labels = new Array<Labels | null>(slots).fill(null);
    this.#off = new Uint32Array(slots);
    this.#len = new Uint32Array(slots);
    this.#bits = 31 - Math.clz32(slots);
    this.#mask = slots - 1;
    for (let k = 0; k < from.length; k++) {
      const j = from[k];
      const i = this.#slot(keys[j]);
      this.#keys[i] = keys[j];
      this.#labels[i] = labels[j];
      this.#off[i] = off[j];
      this.#len[i] = len[j];
    }
    this.#size = from.length;
  }

  /**
   * Finds the label block of series `ref`, whose transformed labels are
   * `labels`, and returns its length; {@link copyBlock} writes it. The block is
   * kept when `ref` is held with these very labels, else encoded each time.
   */
  findBlock(ref: number, labels: Labels, encode: BlockEncoder): number {
    const i = this.#slot(ref);
    const held = this.#keys[i] !== EMPTY && this.#labels[i] === labels;
    if (held && this.#len[i] !== 0) return this.#foundIn(this.#slab, this.#off[i], this.#len[i]);
    const w = this.#scratch;
    w.pos = 0;
    encode(w, labels);
    const len = w.pos;
    if (!held || len === 0) return this.#foundIn(w.buf, 0, len);
    if (this.#used + len > this.#slab.length) this.#makeRoom(len);
    const at = this.#used;
    this.#slab.set(w.buf.subarray(0, len), at);
    this.#used = at + len;
    this.#off[i] = at;
    this.#len[i] = len;
    return this.#foundIn(this.#slab, at, len);
  }

  #foundIn(buf: Uint8Array, at: number, len: number): number {
    this.#found = buf;
    this.#foundAt = at;
    this.#foundLen = len;
    return len;
  }

  /** Appends the block {@link findBlock} found last to `w`. */
  copyBlock(w: PbWriter): void {
    const len = this.#foundLen, at = this.#foundAt, pos = w.pos;
    // The call to ensure only when needed: it costs more than the copy (measured).
    if (pos + len > w.buf.length) w.ensure(len);
    // A view per copy costs about 20 ns; a byte loop is slower from about 30 bytes on.
    w.buf.set(this.#found.subarray(at, at + len), pos);
    w.pos = pos + len;
  }

  /** Copies the held blocks into a new slab, 1.5 times their size and `need`. */
  #makeRoom(need: number): void {
    const keys = this.#keys, off = this.#off, len = this.#len;
    let live = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) live += len[i];
    // Half as much room again as the live blocks: resident memory stays within 1.5 times what is
    // live, and the next compaction comes after half of it was added.
    const size = Math.max(SLAB_STEP, Math.ceil((1.5 * (live + need)) / SLAB_STEP) * SLAB_STEP);
    const old = this.#slab, slab = new Uint8Array(size);
    let used = 0;
    for (let i = 0; i < keys.length; i++) {
      const n = len[i];
      if (keys[i] === EMPTY || n === 0) continue;
      slab.set(old.subarray(off[i], off[i] + n), used);
      off[i] = used;
      used += n;
    }
    this.#slab = slab;
    this.#used = used;
    this.#compactions++;
  }
}

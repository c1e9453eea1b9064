/**
 * `LabelBlocks`: the encoded RW 1.0 `Label` messages of each series' label
 * set, kept in one growing slab so that a steady series is encoded once.
 *
 * A block per series as its own `Uint8Array` costs about 250 bytes of
 * bookkeeping besides its content (the typed array, its `ArrayBuffer`, the
 * backing store) and work for the garbage collector; in one slab it costs a
 * `WeakMap` entry. Blocks of label sets that died stay in the slab until it is
 * full: then the blocks of the live label sets (the endpoint's series cache)
 * are copied into a fresh slab, which is grown only if they fill half of it.
 *
 * @module
 */

import type { Labels } from "../model/labels.ts";
import type { PbWriter } from "./codec_pb.ts";

/** The initial slab size. */
const INITIAL = 1 << 16;

/** Encoded label blocks by label set. */
export class LabelBlocks {
  #slab = new Uint8Array(INITIAL);
  #used = 0;
  /** Label set → offset of its block in the slab (a 4-byte length, then the block). */
  #at = new WeakMap<Labels, number>();
  readonly #live: () => Iterable<Labels | null>;
  #compactions = 0;

  /**
   * @param live the label sets worth keeping when the slab is compacted (any
   *   other block is encoded again when next needed)
   */
  constructor(live: () => Iterable<Labels | null>) {
    this.#live = live;
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

  /**
   * Writes the block of `labels` into `w`: copied from the slab, or encoded
   * by `encode` (which writes it into `w`) and kept.
   */
  write(w: PbWriter, labels: Labels, encode: (w: PbWriter, labels: Labels) => void): void {
    const at = this.#at.get(labels);
    if (at !== undefined) {
      const slab = this.#slab;
      const len = slab[at] | (slab[at + 1] << 8) | (slab[at + 2] << 16) | (slab[at + 3] << 24);
      w.ensure(len);
      w.buf.set(slab.subarray(at + 4, at + 4 + len), w.pos);
      w.pos += len;
      return;
    }
    const start = w.pos;
    encode(w, labels);
    this.#store(labels, w.buf, start, w.pos - start);
  }

  #store(labels: Labels, src: Uint8Array, from: number, len: number): void {
    if (len >= 1 << 30) return; // not worth keeping (and beyond the length field)
    if (this.#used + 4 + len > this.#slab.length) this.#makeRoom(4 + len);
    const slab = this.#slab;
    const at = this.#used;
    slab[at] = len & 0xff;
    slab[at + 1] = (len >>> 8) & 0xff;
    slab[at + 2] = (len >>> 16) & 0xff;
    slab[at + 3] = len >>> 24;
    slab.set(src.subarray(from, from + len), at + 4);
    this.#used = at + 4 + len;
    this.#at.set(labels, at);
  }

  /** Copies the live blocks into a new slab, at least twice their size and with room for `need`. */
  #makeRoom(need: number): void {
    const old = this.#slab, oldAt = this.#at;
    let live = 0;
    for (const l of this.#live()) {
      if (l === null) continue;
      const at = oldAt.get(l);
      if (at !== undefined) live += 4 + blockLength(old, at);
    }
    let size = INITIAL;
    while (size < 2 * (live + need)) size *= 2;
    const slab = new Uint8Array(size);
    const at = new WeakMap<Labels, number>();
    let used = 0;
    for (const l of this.#live()) {
      if (l === null) continue;
      const from = oldAt.get(l);
      if (from === undefined || at.has(l)) continue;
      const n = 4 + blockLength(old, from);
      slab.set(old.subarray(from, from + n), used);
      at.set(l, used);
      used += n;
    }
    this.#slab = slab;
    this.#at = at;
    this.#used = used;
    this.#compactions++;
  }
}

function blockLength(slab: Uint8Array, at: number): number {
  return slab[at] | (slab[at + 1] << 8) | (slab[at + 2] << 16) | (slab[at + 3] << 24);
}

/**
 * `LabelBlocks`: the encoded RW 1.0 `Label` messages of each series' label
 * set, kept in one growing slab so that a steady series is encoded once.
 *
 * A block per series as its own `Uint8Array` costs about 250 bytes of
 * bookkeeping besides its content (the typed array, its `ArrayBuffer`, the
 * backing store) and work for the garbage collector; here a series costs a
 * view into the slab and a `WeakMap` entry, and writing a block allocates
 * nothing. Blocks of label sets that died stay in the slab until it is full:
 * then the blocks of the live label sets (the endpoint's series cache) are
 * copied into a fresh slab one and a half times their size.
 *
 * @module
 */

import type { Labels } from "../model/labels.ts";
import { PbWriter } from "./codec_pb.ts";

/** The initial slab size, and the step it grows by. */
const STEP = 1 << 16;

/** Encoded label blocks by label set. */
export class LabelBlocks {
  #slab = new Uint8Array(STEP);
  #used = 0;
  /** Label set → its block (a view into the slab). */
  #at = new WeakMap<Labels, Uint8Array>();
  readonly #live: () => Iterable<Labels | null>;
  #compactions = 0;
  readonly #scratch = new PbWriter(256);

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
   * The block of `labels` (a view into the slab, valid until the next call):
   * kept, or encoded by `encode` and kept.
   */
  block(labels: Labels, encode: (w: PbWriter, labels: Labels) => void): Uint8Array {
    const block = this.#at.get(labels);
    if (block !== undefined) return block;
    const w = this.#scratch;
    w.pos = 0;
    encode(w, labels);
    return this.#store(labels, w.buf.subarray(0, w.pos));
  }

  #store(labels: Labels, src: Uint8Array): Uint8Array {
    const len = src.length;
    if (this.#used + len > this.#slab.length) this.#makeRoom(len);
    const at = this.#used;
    const slab = this.#slab;
    slab.set(src, at);
    this.#used = at + len;
    const block = slab.subarray(at, at + len);
    this.#at.set(labels, block);
    return block;
  }

  /** Copies the live blocks into a new slab, 1.5 times their size and `need`. */
  #makeRoom(need: number): void {
    const oldAt = this.#at;
    let live = 0;
    for (const l of this.#live()) {
      if (l !== null) live += oldAt.get(l)?.length ?? 0;
    }
    // Half as much room again as the live blocks: resident memory stays within 1.5 times what is
    // live, and the next compaction comes after half of it was added.
    const size = Math.max(STEP, Math.ceil((1.5 * (live + need)) / STEP) * STEP);
    const slab = new Uint8Array(size);
    const at = new WeakMap<Labels, Uint8Array>();
    let used = 0;
    for (const l of this.#live()) {
      if (l === null || at.has(l)) continue;
      const block = oldAt.get(l);
      if (block === undefined) continue;
      slab.set(block, used);
      at.set(l, slab.subarray(used, used + block.length));
      used += block.length;
    }
    this.#slab = slab;
    this.#at = at;
    this.#used = used;
    this.#compactions++;
  }
}

/**
 * Exemplar records (type 7; the format is described in `record.ts`). Like
 * histograms, an appender encodes exemplars as they are appended into an
 * `ExemplarBatch`, which the commit copies into the record.
 *
 * @module
 */

import type { Exemplar } from "../../model/exemplar.ts";
import type { ExemplarSample } from "../types.ts";
import { ByteReader, ByteWriter } from "./encoding.ts";
import {
  checkTimestamp,
  type Intern,
  MAX_REF,
  readLabels,
  readValue,
  RecordType,
  writeLabels,
  writeValue,
} from "./format.ts";

/** Smallest entry: ref delta, time delta, 8 value bytes, label count. */
const MIN_ENTRY = 11;

/** Exemplars encoded as the entries of one exemplars record, in append order. Reused. */
export class ExemplarBatch {
  readonly #w = new ByteWriter(512);
  /** Entries so far. */
  count = 0;
  /** Ref and timestamp of the first entry (the record's base). */
  baseRef = 0;
  baseT = 0;
  #prevRef = 0;
  #prevT = 0;

  /** The encoded entries (a view, valid until the next `add` or `reset`). */
  body(): Uint8Array {
    return this.#w.bytes();
  }

  /** Drops the entries, keeps the memory. */
  reset(): void {
    this.#w.reset();
    this.count = 0;
  }

  /** Adds an exemplar of series `ref` (1..MAX_REF); `e.ts` is an integer within ±MAX_TIMESTAMP. */
  add(ref: number, e: Exemplar): void {
    const w = this.#w;
    if (this.count === 0) {
      this.baseRef = this.#prevRef = ref;
      this.baseT = this.#prevT = e.ts;
    }
    w.varint(ref - this.#prevRef);
    w.varint(e.ts - this.#prevT);
    writeValue(w, e.value);
    writeLabels(w, e.labels);
    this.#prevRef = ref;
    this.#prevT = e.ts;
    this.count++;
  }
}

/** Writes an exemplars record for `batch` (type, count, base, entries); nothing when empty. */
export function writeExemplarsRecord(w: ByteWriter, batch: ExemplarBatch): boolean {
  if (batch.count === 0) return false;
  w.byte(RecordType.Exemplars);
  w.uvarint(batch.count);
  w.uvarint(batch.baseRef);
  w.varint(batch.baseT);
  w.raw(batch.body());
  return true;
}

/**
 * Decodes an exemplars record, appending to `out` in record order. Throws
 * `CorruptionError` on malformed content, and then appends nothing.
 */
export function decodeExemplars(
  rec: Uint8Array,
  out: ExemplarSample[],
  intern?: Intern,
): void {
  const r = new ByteReader(rec);
  if (r.byte() !== RecordType.Exemplars) r.fail("not an exemplars record");
  const n = r.uvarint();
  if (n === 0) r.fail("exemplars record with a count of 0");
  if (n > r.remaining / MIN_ENTRY) r.fail(`exemplar count ${n} past end of record`);
  let ref = r.uvarint();
  let ts = r.varint();
  const start = out.length;
  try {
    for (let i = 0; i < n; i++) {
      ref += r.varint();
      ts += r.varint();
      if (ref < 1 || ref > MAX_REF) r.fail(`exemplar ref ${ref} out of range`);
      checkTimestamp(r, ts, "exemplar timestamp");
      const value = readValue(r);
      const labels = readLabels(r, intern);
      out.push({ ref, e: { labels, value, ts } });
    }
    if (r.remaining !== 0) r.fail(`${r.remaining} bytes after the last exemplar`);
  } catch (e) {
    out.length = start;
    throw e;
  }
}

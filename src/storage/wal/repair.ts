/**
 * Loss assessment for WAL repair: before a damaged segment is truncated at
 * its last good record, the bytes after that point are walked fragment by
 * fragment to say what they held, so the loss is reported in records and
 * samples, not only in bytes.
 *
 * The walk follows the fragment chain from the repair point. A fragment
 * whose header is sane (known type, a length that fits its page) is stepped
 * over by its length even when its checksum fails, so a flipped payload byte
 * costs exactly the record it hit plus what follows. Every record start
 * (`full` or `first` fragment) counts as one lost record; its samples (float
 * or histogram samples, with or without start times; exemplars are not
 * counted) are read from the record header's count (`claimedSampleCount`),
 * which stays readable when the damage or the tear is further into the
 * record. When a
 * header is not sane the chain cannot be followed: the walk resumes at the
 * next page boundary (where a fragment always starts) and the report is
 * marked inexact, because records may have started in the skipped bytes.
 *
 * @module
 */

import { concatBytes } from "../../util/body.ts";
import { crc32c } from "./crc32c.ts";
import { claimedSampleCount, countsSamples, RecordType, sampleCount } from "./record.ts";
import { Fragment, HEADER_SIZE, PAGE_SIZE } from "./segment.ts";

/** What the dropped remainder of a damaged file held. */
export interface LossReport {
  /** Bytes dropped (file size minus the repair point). */
  bytes: number;
  /** Records that started in the dropped bytes (whole, damaged or torn). */
  records: number;
  /** Of those, series records: their series are unknown after the repair. */
  seriesRecords: number;
  /** Samples in the dropped samples and histograms records. */
  samples: number;
  /** Records among them whose checksum failed or that were cut short. */
  damagedRecords: number;
  /**
   * False when some of the dropped bytes could not be attributed to records
   * (an unreadable fragment header) or a damaged record's sample count was
   * unreadable; the figures are then lower bounds.
   */
  exact: boolean;
}

/** An empty report (nothing lost). */
export function noLoss(): LossReport {
  return { bytes: 0, records: 0, seriesRecords: 0, samples: 0, damagedRecords: 0, exact: true };
}

/**
 * Walks `data` (the bytes of a file from offset `start`, which is a record
 * boundary, to its end) and reports the records and samples it holds.
 */
export function assessLoss(data: Uint8Array, start: number): LossReport {
  const report = noLoss();
  report.bytes = data.length;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const end = start + data.length;
  /** The record whose start was seen and whose `last` fragment was not. */
  let cur: OpenRecord | null = null;

  const finish = (rec: OpenRecord, complete: boolean) => {
    cur = null;
    report.records++;
    if (rec.damaged || !complete) report.damagedRecords++;
    if (rec.first === null) {
      // Only continuations were readable: the record's start was lost.
      report.exact = false;
      return;
    }
    const type = rec.first[0];
    if (type === RecordType.Series) report.seriesRecords++;
    else if (type !== RecordType.SamplesV1 && countsSamples(type)) {
      const n = claimedSampleCount(rec.first);
      if (n >= 0) report.samples += n;
      else report.exact = false;
    } else if (type === RecordType.SamplesV1) {
      if (!complete || rec.damaged || rec.parts === null) report.exact = false;
      else {
        try {
          report.samples += sampleCount(concatBytes(rec.parts));
        } catch {
          report.exact = false;
        }
      }
    } else if (rec.firstDamaged) report.exact = false; // the type byte itself may be wrong
  };

  let pos = start;
  while (pos < end) {
    const rem = PAGE_SIZE - (pos % PAGE_SIZE);
    if (rem <= HEADER_SIZE) {
      pos += rem;
      continue;
    }
    const at = pos - start;
    if (pos + HEADER_SIZE > end) {
      // A torn fragment header at the end of the file.
      if (cur) finish(cur, false);
      else if (data[at] === Fragment.Full || data[at] === Fragment.First) {
        report.records++;
        report.damagedRecords++;
        report.exact = false;
      }
      break;
    }
    const type = data[at];
    const len = view.getUint16(at + 1, false);
    if (!(type >= Fragment.Full && type <= Fragment.Last && len >= 1 && len <= rem - HEADER_SIZE)) {
      // Cannot follow the chain: resume at the next page, where a fragment
      // always starts. Zeros (never written) hide no records.
      const next = Math.min(end, pos + rem);
      if (!allZero(data.subarray(at, next - start))) report.exact = false;
      if (cur) finish(cur, false);
      pos = next;
      continue;
    }
    const payloadEnd = Math.min(end, pos + HEADER_SIZE + len);
    const payload = data.subarray(at + HEADER_SIZE, payloadEnd - start);
    const torn = payloadEnd < pos + HEADER_SIZE + len;
    const intact = !torn && crc32c(payload) === view.getUint32(at + 3, false);
    if (type === Fragment.Full || type === Fragment.First) {
      if (cur) finish(cur, false);
      const legacy = payload[0] === RecordType.SamplesV1;
      const rec: OpenRecord = {
        first: payload,
        firstDamaged: !intact,
        damaged: !intact,
        parts: legacy ? [payload] : null,
      };
      if (type === Fragment.Full) finish(rec, !torn);
      else cur = rec;
    } else {
      let rec: OpenRecord | null = cur;
      if (rec === null) {
        // A continuation whose record start was unreadable (and not counted yet).
        rec = { first: null, firstDamaged: true, damaged: true, parts: null };
        cur = rec;
      }
      if (!intact) rec.damaged = true;
      rec.parts?.push(payload);
      if (type === Fragment.Last) finish(rec, !torn);
    }
    if (torn) break;
    pos += HEADER_SIZE + len;
  }
  if (cur) finish(cur, false);
  return report;
}

interface OpenRecord {
  /** Payload of the `full`/`first` fragment, or null when it was not readable. */
  first: Uint8Array | null;
  firstDamaged: boolean;
  /** Any fragment failed its checksum. */
  damaged: boolean;
  /** Fragments of a legacy samples record (counting needs the whole record). */
  parts: Uint8Array[] | null;
}

/** Reads a file from `offset` to its end and assesses what it holds. */
export async function assessFileLoss(path: string, offset: number): Promise<LossReport> {
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  if (offset >= size) return noLoss();
  const data = new Uint8Array(size - offset);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < data.length) {
    const n = await file.read(data.subarray(got));
    if (n === null) break;
    got += n;
  }
  return assessLoss(data.subarray(0, got), offset);
}

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

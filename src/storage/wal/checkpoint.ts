/**
 * Checkpoints: a file `checkpoint.<n>` in the WAL directory that stands in
 * for segments 0…n after they were deleted. It uses the same page and
 * fragment framing as segments (without the segment size limit) and holds
 * series records, so refs used by the remaining segments still resolve on
 * replay, and metadata records for the series that have metadata.
 *
 * Written atomically: `checkpoint.<n>.tmp` is written and fsynced, renamed,
 * and the directory fsynced (a failed write removes the temporary file). Only then are the segments it replaces and the
 * older checkpoints deleted.
 *
 * @module
 */

import { join } from "node:path";
import { framedSize, frameRecord } from "./segment.ts";
import { checkpointName } from "./segment.ts";
import { syncDir } from "./writer.ts";

/** A batch of encoded records: `buf[0, ends[0])`, `buf[ends[0], ends[1])`, … */
export interface RecordBatch {
  buf: Uint8Array;
  ends: readonly number[];
}

/** Path of checkpoint `n`. */
export function checkpointPath(walDir: string, n: number): string {
  return join(walDir, checkpointName(n));
}

/**
 * Writes checkpoint `n` from `batches` (consumed one at a time, so a batch's
 * buffer may be reused for the next) and makes it durable. Returns the
 * checkpoint's size in bytes.
 */
export async function writeCheckpoint(
  walDir: string,
  n: number,
  batches: Iterable<RecordBatch>,
): Promise<number> {
  const final = checkpointPath(walDir, n);
  const tmp = final + ".tmp";
  await Deno.remove(tmp).catch(() => {});
  try {
    return await writeTo(tmp, final, walDir, batches);
  } catch (e) {
    // A partial temporary file must not take space (the disk may be what is full).
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function writeTo(
  tmp: string,
  final: string,
  walDir: string,
  batches: Iterable<RecordBatch>,
): Promise<number> {
  let pos = 0;
  {
    using file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    let frames = new Uint8Array(64 * 1024);
    for (const { buf, ends } of batches) {
      let fl = 0;
      let start = 0;
      for (const end of ends) {
        const payload = buf.subarray(start, end);
        start = end;
        if (payload.length === 0) continue;
        const size = framedSize(pos, payload.length);
        if (fl + size > frames.length) {
          let cap = frames.length * 2;
          while (cap < fl + size) cap *= 2;
          const next = new Uint8Array(cap);
          next.set(frames.subarray(0, fl));
          frames = next;
        }
        frameRecord(payload, { out: frames, at: fl, pos });
        fl += size;
        pos += size;
      }
      let done = 0;
      while (done < fl) done += await file.write(frames.subarray(done, fl));
    }
    await file.syncData();
  }
  await Deno.rename(tmp, final);
  await syncDir(walDir);
  return pos;
}

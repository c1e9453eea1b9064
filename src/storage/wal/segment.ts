/**
 * Segment files and record framing.
 *
 * A segment is a file of 32 KiB pages. A record is written as one or more
 * fragments; a fragment never crosses a page:
 *
 * ```
 * fragment = type (1 byte: 1 full, 2 first, 3 middle, 4 last)
 *          · length (uint16, big-endian, ≥ 1)
 *          · CRC32C of the payload (uint32, big-endian)
 *          · payload (length bytes)
 * ```
 *
 * A fragment starts only where the page has room for its header and at least
 * one payload byte; the 1–7 bytes left at the end of a page otherwise are
 * zeros. A record that fits whole in the rest of the page is one `full`
 * fragment; a longer one is `first`, `middle`…, `last`.
 *
 * @module
 */

import { join } from "node:path";
import { crc32c } from "./crc32c.ts";

/** Page size: fragments never cross a multiple of this offset. */
export const PAGE_SIZE = 32 * 1024;
/** Fragment header: type, uint16 length, uint32 CRC32C. */
export const HEADER_SIZE = 7;
/** Default segment size, 128 MiB. */
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;
/** Smallest accepted segment size (tests use tiny segments; production uses the default). */
export const MIN_SEGMENT_SIZE = 64;

/** Fragment types. 0 is not a type: a 0 byte where a header should be is corruption. */
export const Fragment = { Full: 1, First: 2, Middle: 3, Last: 4 } as const;

/** The segment file name: 8-digit zero-padded number. */
export function segmentName(n: number): string {
  return String(n).padStart(8, "0");
}

/** The segment path inside a WAL directory. */
export function segmentPath(walDir: string, n: number): string {
  return join(walDir, segmentName(n));
}

/** The number a segment file name stands for, or -1 when it is not a segment name. */
export function parseSegmentName(name: string): number {
  return /^\d{8,}$/.test(name) ? Number(name) : -1;
}

/** Checkpoint file name: `checkpoint.<last segment it replaces>`. */
export function checkpointName(n: number): string {
  return `checkpoint.${segmentName(n)}`;
}

/** The segment number of a checkpoint file name, or -1. */
export function parseCheckpointName(name: string): number {
  const m = /^checkpoint\.(\d{8,})$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Segment and checkpoint files found in a WAL directory, sorted by number. */
export interface WalDirListing {
  segments: number[];
  checkpoints: number[];
  /** Leftover temporary files (an interrupted checkpoint). */
  temporary: string[];
}

/** Lists a WAL directory. */
export async function listWalDir(walDir: string): Promise<WalDirListing> {
  const segments: number[] = [];
  const checkpoints: number[] = [];
  const temporary: string[] = [];
  for await (const e of Deno.readDir(walDir)) {
    if (!e.isFile) continue;
    const s = parseSegmentName(e.name);
    if (s >= 0) {
      segments.push(s);
      continue;
    }
    const c = parseCheckpointName(e.name);
    if (c >= 0) checkpoints.push(c);
    else if (e.name.endsWith(".tmp")) temporary.push(e.name);
  }
  segments.sort((a, b) => a - b);
  checkpoints.sort((a, b) => a - b);
  return { segments, checkpoints, temporary };
}

/** Bytes of zero padding needed before a fragment can start at `pos`. */
export function paddingAt(pos: number): number {
  const rem = PAGE_SIZE - (pos % PAGE_SIZE);
  return rem <= HEADER_SIZE ? rem : 0;
}

/** Bytes a record of `len` payload bytes takes when framed starting at file offset `pos`. */
export function framedSize(pos: number, len: number): number {
  let p = pos;
  let left = len;
  while (left > 0) {
    p += paddingAt(p);
    const room = PAGE_SIZE - (p % PAGE_SIZE) - HEADER_SIZE;
    const n = left < room ? left : room;
    p += HEADER_SIZE + n;
    left -= n;
  }
  return p - pos;
}

/**
 * Frames `payload` into `out` at `out[at…]`, which sits at file offset
 * `pos`. `out` must have room for `framedSize(pos, payload.length)` bytes.
 * Returns the number of bytes written.
 */
export function frameRecord(
  payload: Uint8Array,
  dest: { out: Uint8Array; at: number; pos: number },
): number {
  const { out, at, pos } = dest;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let o = at;
  let p = pos;
  let src = 0;
  const len = payload.length;
  while (src < len) {
    const pad = paddingAt(p);
    if (pad > 0) {
      out.fill(0, o, o + pad);
      o += pad;
      p += pad;
    }
    const room = PAGE_SIZE - (p % PAGE_SIZE) - HEADER_SIZE;
    const n = len - src < room ? len - src : room;
    const first = src === 0;
    const last = src + n === len;
    const type = first && last
      ? Fragment.Full
      : first
      ? Fragment.First
      : last
      ? Fragment.Last
      : Fragment.Middle;
    const chunk = payload.subarray(src, src + n);
    out[o] = type;
    view.setUint16(o + 1, n, false);
    view.setUint32(o + 3, crc32c(chunk), false);
    out.set(chunk, o + HEADER_SIZE);
    o += HEADER_SIZE + n;
    p += HEADER_SIZE + n;
    src += n;
  }
  return o - at;
}

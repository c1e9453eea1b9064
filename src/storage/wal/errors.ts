/**
 * Typed WAL errors.
 *
 * @module
 */

/**
 * The WAL or a checkpoint holds bytes that do not decode: a torn tail, a
 * checksum mismatch, a broken fragment sequence or a malformed record.
 * `offset` is where the last good record ended, which is where repair
 * truncates. `segment` is -1 for a checkpoint or for bytes not yet placed in
 * a file (record decoders).
 */
export class CorruptionError extends Error {
  override readonly name = "CorruptionError";
  /** Segment number, or -1 when not known / not a segment. */
  readonly segment: number;
  /** Byte offset of the end of the last good record (repair point). */
  readonly offset: number;
  /** The file, when known. */
  readonly path: string | undefined;

  constructor(
    message: string,
    opts: { segment?: number; offset: number; path?: string; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.segment = opts.segment ?? -1;
    this.offset = opts.offset;
    this.path = opts.path;
  }
}

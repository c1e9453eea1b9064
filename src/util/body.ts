/**
 * Reading whole request and response bodies with a size cap, and joining
 * byte chunks.
 *
 * @module
 */

/** `parts` joined into one array (`total`: their summed length, when known). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (total === undefined) {
    total = 0;
    for (const p of parts) total += p.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads `body` whole. Once more than `max` bytes have arrived, the stream is
 * cancelled and `tooLarge()` is thrown; so is any read error (after
 * cancelling). The reader's lock is released in every case.
 */
export async function readCappedBytes(
  body: ReadableStream<Uint8Array> | null,
  max: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) throw tooLarge();
      parts.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
  return concatBytes(parts, total);
}

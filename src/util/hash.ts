/**
 * Hex digests.
 *
 * @module
 */

/** Lower-case hex SHA-256 of `data` (a string is hashed as UTF-8). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  let out = "";
  for (let i = 0; i < d.length; i++) out += d[i].toString(16).padStart(2, "0");
  return out;
}

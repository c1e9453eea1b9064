/**
 * Byte sizes as Prometheus writes them (`--storage.tsdb.retention.size`):
 * an integer with an optional unit B, KB, MB, GB, TB, PB or EB, all powers
 * of 2 (1KB = 1024B). The IEC spellings KiB, MiB, GiB, TiB, PiB and EiB are
 * accepted as the same.
 *
 * @module
 */

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 2 ** 10,
  MB: 2 ** 20,
  GB: 2 ** 30,
  TB: 2 ** 40,
  PB: 2 ** 50,
  EB: 2 ** 60,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
  PIB: 2 ** 50,
  EIB: 2 ** 60,
};

/** Parses a byte size (`"512MB"`, `"1GiB"`, `"1048576"`, or a non-negative integer). */
export function parseBytes(v: string | number): number {
  if (typeof v === "number") {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new RangeError(`invalid byte size ${v}: want a non-negative integer`);
  }
  const m = /^\s*(\d+)\s*([A-Za-z]*)\s*$/.exec(v);
  const unit = m ? UNITS[m[2].toUpperCase()] : undefined;
  if (!m || unit === undefined || (m[2] !== "" && m[2] !== "B" && !/^[KMGTPE]i?B$/i.test(m[2]))) {
    throw new RangeError(
      `invalid byte size ${
        JSON.stringify(v)
      }: want an integer with an optional unit B, KB, MB, GB, TB, PB, EB (powers of 2), e.g. "512MB"`,
    );
  }
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new RangeError(`byte size ${JSON.stringify(v)} is too large`);
  return n;
}

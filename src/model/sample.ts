/**
 * Sample values and the staleness marker.
 *
 * Prometheus marks a series as stale with one particular NaN, bits
 * `0x7ff0000000000002`. JavaScript engines may canonicalise NaN payloads
 * (arithmetic, structured clone, stores into double arrays), so ferry never
 * carries staleness inside a `number`: it travels as a separate flag, and only
 * the byte encoders (WAL, protobuf) write the raw bits.
 *
 * @module
 */

/** High 32 bits of Prometheus' StaleNaN. */
export const STALE_NAN_HI = 0x7ff00000;
/** Low 32 bits of Prometheus' StaleNaN. */
export const STALE_NAN_LO = 0x00000002;

/** The eight bytes of StaleNaN in little-endian order, as they go on the wire. */
export const STALE_NAN_LE: Uint8Array = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

/** Writes a value as a little-endian float64, or the StaleNaN bits when `stale`. */
export function writeFloat64LE(view: DataView, offset: number, v: number, stale: boolean): void {
  if (stale) {
    view.setUint32(offset, STALE_NAN_LO, true);
    view.setUint32(offset + 4, STALE_NAN_HI, true);
  } else {
    view.setFloat64(offset, v, true);
  }
}

/** Whether the little-endian float64 at `offset` has exactly the StaleNaN bits. */
export function isStaleNaNAt(view: DataView, offset: number): boolean {
  return view.getUint32(offset, true) === STALE_NAN_LO &&
    view.getUint32(offset + 4, true) === STALE_NAN_HI;
}

/**
 * Renders a float the way Prometheus' text exposition does: `+Inf`, `-Inf`,
 * `NaN`, otherwise the shortest round-trip decimal.
 */
export function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

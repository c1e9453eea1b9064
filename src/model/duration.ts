/**
 * Prometheus duration strings (`1m30s`, `500ms`, `2h`), as parsed by
 * prometheus/common `model.ParseDuration`: whole numbers, units from largest
 * to smallest, each at most once, `0` allowed, no sign, no fractions.
 *
 * @module
 */

/** Duration units Prometheus understands. */
export type DurationUnit = "ms" | "s" | "m" | "h" | "d" | "w" | "y";

/**
 * A Prometheus duration string such as `"15s"`, `"1m30s"` or `"500ms"`.
 * The type catches most typos at compile time; the value is validated at load.
 */
export type Duration =
  | "0"
  | `${number}${DurationUnit}`
  | `${number}${DurationUnit}${number}${DurationUnit}`
  | `${number}${DurationUnit}${number}${DurationUnit}${number}${DurationUnit}`;

const UNIT_MS: Record<DurationUnit, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const ORDER: DurationUnit[] = ["y", "w", "d", "h", "m", "s", "ms"];
const DURATION_RE =
  /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Parses a Prometheus duration into milliseconds; throws a RangeError naming the input. */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  const m = s === "" ? null : DURATION_RE.exec(s);
  if (!m) throw new RangeError(`not a valid duration string: "${s}"`);
  let ms = 0;
  for (let i = 0; i < ORDER.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * UNIT_MS[ORDER[i]];
  }
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration out of range: "${s}"`);
  return ms;
}

/**
 * Formats milliseconds as Prometheus does (`1m30s`, `0s`, `90d`): years and
 * weeks are used only when they divide the remainder exactly.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let out = "";
  let rest = ms;
  for (const u of ORDER) {
    const mult = UNIT_MS[u];
    if ((u === "y" || u === "w") && rest % mult !== 0) continue;
    const n = Math.floor(rest / mult);
    if (n > 0) {
      out += n + u;
      rest -= n * mult;
    }
  }
  return out;
}

/**
 * A timeout signal whose timer can be cleared.
 *
 * `AbortSignal.timeout()` cannot be cancelled: its timer always fires, and
 * firing builds a `DOMException` (with a stack trace) even when the request
 * finished long ago. At ten scrapes and requests a second that was a
 * measurable share of ferry's CPU time; this one is cleared when done.
 *
 * @module
 */

/** A signal that aborts with a `TimeoutError` after `ms`, unless `clear()` is called first. */
export interface TimeoutSignal {
  readonly signal: AbortSignal;
  /** Cancels the timer (idempotent). */
  clear(): void;
}

/**
 * Starts a timeout of `ms` milliseconds. Its timer keeps Deno running, as
 * `AbortSignal.timeout` does while something listens to it: clear it when done.
 */
export function timeoutSignal(ms: number): TimeoutSignal {
  const ctl = new AbortController();
  const id = setTimeout(() => {
    ctl.abort(new DOMException("Signal timed out.", "TimeoutError"));
  }, ms);
  return { signal: ctl.signal, clear: () => clearTimeout(id) };
}

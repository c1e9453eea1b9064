/**
 * Logging of a failure that repeats (a full disk fails every commit): the
 * first failure is logged at once, repeats at most every `everyMs` with what
 * they cost since the last line, and the first success after them once, with
 * the totals of the episode. The log stays readable, and still says what was
 * lost.
 *
 * @module
 */

import type { Logger } from "../util/log.ts";

/** Options of `FailureLog`. */
export interface FailureLogOptions {
  /** The error line, e.g. "Cannot write to the WAL". */
  message: string;
  /** The info line logged when it works again, e.g. "Writing to the WAL works again". */
  recovered: string;
  /** Minimum time between two error lines of one episode. @default {10000} */
  everyMs?: number;
  /** Monotonic clock in ms. @default {performance.now} */
  now?: () => number;
}

/** One failing operation's log (see the module doc). */
export class FailureLog {
  readonly #logger: Logger;
  readonly #message: string;
  readonly #recovered: string;
  readonly #everyMs: number;
  readonly #now: () => number;
  #failing = false;
  #since = 0;
  #lastLog = 0;
  /** Failures and summed counts since the last error line, and over the episode. */
  #sinceLog = { failures: 0, counts: {} as Record<string, number> };
  #episode = { failures: 0, counts: {} as Record<string, number> };

  constructor(logger: Logger, opts: FailureLogOptions) {
    this.#logger = logger;
    this.#message = opts.message;
    this.#recovered = opts.recovered;
    this.#everyMs = opts.everyMs ?? 10_000;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Whether the last attempt failed. */
  get failing(): boolean {
    return this.#failing;
  }

  /**
   * Notes a failure. `fields` describe it; `counts` (e.g. samples lost) are
   * summed over the lines that were not logged.
   */
  fail(error: unknown, fields: Record<string, unknown> = {}, counts: Record<string, number> = {}) {
    const now = this.#now();
    add(this.#sinceLog, counts);
    add(this.#episode, counts);
    if (!this.#failing) {
      this.#failing = true;
      this.#since = now;
    } else if (now - this.#lastLog < this.#everyMs) return;
    const repeated = this.#episode.failures > 1;
    this.#logger.error(repeated ? `${this.#message} (still failing)` : this.#message, {
      error: String(error),
      ...fields,
      ...(repeated ? { failures: this.#sinceLog.failures } : {}),
      ...this.#sinceLog.counts,
    });
    this.#lastLog = now;
    this.#sinceLog = { failures: 0, counts: {} };
  }

  /** Notes a success: ends a failure episode with a summary line. */
  ok(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#logger.info(this.#recovered, {
      failures: this.#episode.failures,
      failing_seconds: Math.round((this.#now() - this.#since) / 100) / 10,
      ...this.#episode.counts,
    });
    this.#sinceLog = { failures: 0, counts: {} };
    this.#episode = { failures: 0, counts: {} };
  }
}

function add(
  to: { failures: number; counts: Record<string, number> },
  counts: Record<string, number>,
) {
  to.failures++;
  for (const [k, v] of Object.entries(counts)) to.counts[k] = (to.counts[k] ?? 0) + v;
}

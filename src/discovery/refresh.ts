/**
 * The loop shared by discoverers that poll their sources: refresh, report the
 * groups when they differ from what was last reported, wait for the refresh
 * interval (or an early wake-up, e.g. a file-system event), repeat.
 *
 * @module
 */

import { type Clock, realClock } from "../util/clock.ts";
import type { DiscoveryResult, TargetGroup } from "./types.ts";

/** Wakes a {@link refreshLoop} before its interval is over. */
export class Wakeup {
  #pending = false;
  #cut: AbortController | null = null;

  /** Asks for a refresh now (or as soon as the current one is done). */
  wake(): void {
    this.#pending = true;
    this.#cut?.abort();
  }

  /**
   * Waits `ms` on `clock`, or less when woken or aborted. Returns whether it
   * was woken.
   */
  async sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
    if (!this.#pending) {
      this.#cut = new AbortController();
      await clock.sleep(ms, AbortSignal.any([signal, this.#cut.signal]));
      this.#cut = null;
    }
    const woken = this.#pending;
    this.#pending = false;
    return woken;
  }
}

/** Options of {@link refreshLoop}. */
export interface RefreshLoopOptions {
  clock: Clock;
  intervalMs: number;
  /** One pass over the sources. */
  refresh: (signal: AbortSignal) => Promise<DiscoveryResult>;
  /**
   * Early wake-ups; after one, the loop waits `settleMs` of real time (it waits
   * for the file system, not for a schedule) so a burst is read once.
   */
  wakeup?: Wakeup;
  /** @default 0 */
  settleMs?: number;
}

/**
 * Runs `refresh` until `signal` aborts and reports its groups through
 * `update` whenever they change (the first pass is always reported).
 */
export async function refreshLoop(
  signal: AbortSignal,
  update: (groups: TargetGroup[]) => void,
  opts: RefreshLoopOptions,
): Promise<void> {
  const wakeup = opts.wakeup ?? new Wakeup();
  let last: string | undefined;
  while (!signal.aborted) {
    const r = await opts.refresh(signal);
    if (signal.aborted) break;
    const key = JSON.stringify(r.groups);
    if (key !== last) {
      last = key;
      update(r.groups);
    }
    const woken = await wakeup.sleep(opts.clock, opts.intervalMs, signal);
    if (woken && (opts.settleMs ?? 0) > 0) await realClock.sleep(opts.settleMs!, signal);
  }
}

/** The message of an unknown thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

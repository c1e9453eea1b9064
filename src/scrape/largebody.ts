/**
 * Large scrape bodies, one at a time. A scrape whose body grows past
 * {@link LARGE_BODY_BYTES} waits, before reading on, until no other scrape
 * holds a large body; when it is done (parsed and appended, or failed) a full
 * garbage collection returns its memory before the next one goes on. So the
 * memory scrapes need is about twice the largest body plus
 * {@link LARGE_BODY_BYTES} for each other scrape in flight, whatever many
 * targets send at once: V8 alone would collect the old generation only once
 * it had grown well past what was live, holding several huge bodies' worth
 * of garbage. Ordinary scrapes never wait and never trigger a collection.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

/** A body this large waits for its turn; its scrape ends with a full collection. */
export const LARGE_BODY_BYTES = 16 * 1024 * 1024;

/** Hands out the right to hold a large body, first come first served. */
export class LargeBodyGate {
  #held = false;
  readonly #waiting: { go: () => void }[] = [];

  /** Whether a scrape holds a large body now. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Resolves with the release function once no other scrape holds a large
   * body; rejects with `signal`'s reason if it aborts first.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#held = false;
      else next.go();
    };
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const entry = {
        go: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }
}

/** The agent's gate. */
export const largeBodies: LargeBodyGate = new LargeBodyGate();

let gc: (() => void) | null | undefined;

/**
 * Runs a full garbage collection (V8's `gc()`, exposed through `node:v8` on
 * first use); does nothing where the runtime does not allow it.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const f = vm.runInNewContext("gc");
      gc = typeof f === "function" ? f as () => void : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
}

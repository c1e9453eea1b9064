/**
 * An informer: a local cache of one resource kept in sync with the API
 * server, as client-go's reflector does it:
 *
 * 1. LIST (paginated) → replace the cache (objects gone since are reported
 *    deleted) and remember the list's resourceVersion;
 * 2. WATCH from that resourceVersion; ADDED/MODIFIED/DELETED update the
 *    cache, BOOKMARK and every event advance the resourceVersion;
 * 3. when the stream ends (the server's `timeoutSeconds`, a dropped
 *    connection), WATCH again from the last resourceVersion;
 * 4. on 410 Gone (an HTTP status or an ERROR event: the resourceVersion is
 *    too old), LIST again;
 * 5. any other failure (401, 500, a network error, a broken stream) waits
 *    with exponential backoff (0.8 s doubling to 30 s, reset after a
 *    success) and retries the same step; each failure is counted.
 *
 * @module
 */

import { type Clock, realClock } from "../../util/clock.ts";
import { KubeApiError, type KubeClient, type ListOptions } from "./client.ts";
import { type KubeObject, objectKey } from "./objects.ts";

/** Backoff between failed attempts. */
export interface Backoff {
  /** @default 800 */
  initialMs: number;
  /** @default 30000 */
  maxMs: number;
}

/** client-go's reflector backoff: 800 ms doubling to 30 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 800, maxMs: 30_000 };

/** What an informer reports. */
export interface InformerHandlers<T> {
  /** An object was added, changed (`obj` set) or deleted (`obj` undefined). */
  onChange(key: string, obj: T | undefined): void;
  /** The first LIST completed (the cache is complete). */
  onSynced?(): void;
  /** A LIST or WATCH failed; `what` says which. */
  onError?(err: unknown, what: "list" | "watch"): void;
  /** An event arrived: `add`, `update` or `delete` (Prometheus' event-count labels). */
  onEvent?(kind: "add" | "update" | "delete"): void;
}

/** Options of {@link Informer}. */
export interface InformerOptions<T> extends ListOptions {
  /** API path, e.g. `/api/v1/namespaces/default/pods` or `/api/v1/nodes`. */
  path: string;
  slim: (o: unknown) => T;
  clock?: Clock;
  backoff?: Backoff;
  /** Server-side watch timeout; each watch picks a random value in [min, 2·min). @default 300 */
  watchTimeoutSeconds?: number;
}

/** A cache of one resource, kept in sync by LIST + WATCH until aborted. */
export class Informer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  readonly #client: KubeClient;
  readonly #opts: InformerOptions<T>;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  #synced = false;
  #rv = "";
  /** Lists done so far (tests, metrics). */
  lists = 0;
  /** Watch requests made so far. */
  watches = 0;

  constructor(client: KubeClient, opts: InformerOptions<T>) {
    this.#client = client;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  /** Whether the first LIST has completed. */
  get synced(): boolean {
    return this.#synced;
  }

  /** The resourceVersion the next watch starts from. */
  get resourceVersion(): string {
    return this.#rv;
  }

  /** LISTs once into the cache (no handlers), for one-shot discovery. */
  async listOnce(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.#client.list(
      this.#opts.path,
      this.#opts,
      this.#opts.slim,
      signal,
    );
    this.store.clear();
    for (const o of items) this.store.set(objectKey(o.metadata), o);
    this.#rv = resourceVersion;
    this.#synced = true;
  }

  /** Runs LIST + WATCH until `signal` aborts; never throws for API or network failures. */
  async run(signal: AbortSignal, h: InformerHandlers<T>): Promise<void> {
    let delay = this.#backoff.initialMs;
    const fail = async (err: unknown, what: "list" | "watch") => {
      if (signal.aborted) return;
      h.onError?.(err, what);
      await this.#clock.sleep(delay, signal);
      delay = Math.min(delay * 2, this.#backoff.maxMs);
    };
    let needList = true;
    while (!signal.aborted) {
      if (needList) {
        try {
          await this.#relist(signal, h);
          needList = false;
          delay = this.#backoff.initialMs;
        } catch (e) {
          await fail(e, "list");
          continue;
        }
      }
      try {
        const started = this.#clock.now();
        const sawEvents = await this.#watchOnce(signal, h);
        if (sawEvents) delay = this.#backoff.initialMs;
        else if (this.#clock.now() - started < 1000 && !signal.aborted) {
          // A very short, empty watch: do not hammer the server.
          await this.#clock.sleep(delay, signal);
          delay = Math.min(delay * 2, this.#backoff.maxMs);
        }
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof KubeApiError && e.gone) {
          // Too old: list again at once (client-go does the same).
          needList = true;
          h.onError?.(e, "watch");
          continue;
        }
        await fail(e, "watch");
      }
    }
  }

  async #relist(signal: AbortSignal, h: InformerHandlers<T>): Promise<void> {
    this.lists++;
    const { items, resourceVersion } = await this.#client.list(
      this.#opts.path,
      this.#opts,
      this.#opts.slim,
      signal,
    );
    const seen = new Set<string>();
    for (const o of items) {
      const key = objectKey(o.metadata);
      seen.add(key);
      const had = this.store.get(key);
      this.store.set(key, o);
      if (had === undefined || had.metadata.resourceVersion !== o.metadata.resourceVersion) {
        h.onChange(key, o);
      }
    }
    for (const key of [...this.store.keys()]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        h.onChange(key, undefined);
      }
    }
    this.#rv = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      h.onSynced?.();
    }
  }

  /** One watch request; returns whether it delivered any event. */
  async #watchOnce(signal: AbortSignal, h: InformerHandlers<T>): Promise<boolean> {
    this.watches++;
    const min = this.#opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + Math.random()));
    // A stream that goes silent past the server's timeout is abandoned.
    const guard = AbortSignal.timeout((timeoutSeconds + 30) * 1000);
    const s = AbortSignal.any([signal, guard]);
    let any = false;
    try {
      for await (
        const ev of this.#client.watch(
          this.#opts.path,
          {
            ...this.#opts,
            resourceVersion: this.#rv,
            timeoutSeconds,
          },
          this.#opts.slim,
          s,
        )
      ) {
        if (ev.type === "ERROR") throw ev.error;
        any = true;
        if (ev.resourceVersion !== "") this.#rv = ev.resourceVersion;
        if (ev.type === "BOOKMARK") continue;
        const key = objectKey(ev.object.metadata);
        if (ev.type === "DELETED") {
          this.store.delete(key);
          h.onEvent?.("delete");
          h.onChange(key, undefined);
        } else {
          const had = this.store.has(key);
          this.store.set(key, ev.object);
          h.onEvent?.(had ? "update" : "add");
          h.onChange(key, ev.object);
        }
      }
    } catch (e) {
      if (guard.aborted && !signal.aborted) return any;
      throw e;
    }
    return any;
  }
}

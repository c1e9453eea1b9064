/**
 * Delivery cursors: each remote endpoint's position in the WAL, persisted in
 * `<data>/cursors.json` so delivery resumes where it stopped after a restart.
 *
 * File format: `{"version":1,"cursors":{"<name>":{"segment":3,"offset":1234}}}`.
 * Written to `cursors.json.tmp`, fsynced, then renamed over the old file; at
 * most once a second (the first ack after a quiet second is written at
 * once, later ones are coalesced) and on `close()`. A failed write (disk
 * full, directory removed or read-only) is retried a second later (the
 * directory is created again if it is gone); the failure is logged when it
 * starts, every minute while it lasts, and when it ends.
 *
 * @module
 */

import { dirname } from "node:path";
import { log } from "../../util/log.ts";
import { FailureLog } from "../failures.ts";
import { comparePositions, type DeliveryCursor, type WalPosition } from "../types.ts";

const FILE_VERSION = 1;
/** Minimum time between two writes of the cursors file. */
export const CURSOR_PERSIST_INTERVAL_MS = 1000;

class Cursor implements DeliveryCursor {
  #pos: WalPosition;
  #released = false;
  readonly #store: CursorStore;
  readonly name: string;

  constructor(store: CursorStore, name: string, pos: WalPosition) {
    this.#store = store;
    this.name = name;
    this.#pos = Object.freeze({ segment: pos.segment, offset: pos.offset });
  }

  get position(): WalPosition {
    return this.#pos;
  }

  get released(): boolean {
    return this.#released;
  }

  ack(pos: WalPosition): void {
    if (this.#released) return;
    // Positions only move forward; a stale ack must not let truncation go back.
    if (comparePositions(pos, this.#pos) <= 0) return;
    this.#pos = Object.freeze({ segment: pos.segment, offset: pos.offset });
    this.#store.changed();
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#store.forget(this);
  }
}

/** The set of cursors of one agent db. */
export class CursorStore {
  readonly #path: string;
  readonly #now: () => number;
  readonly #cursors = new Map<string, Cursor>();
  #dirty = false;
  #lastWrite = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #failures: FailureLog;

  private constructor(path: string, now: () => number) {
    this.#path = path;
    this.#now = now;
    this.#failures = new FailureLog(log("wal"), {
      message: "Cannot write cursors file",
      recovered: "Writing the cursors file works again",
      everyMs: 60_000,
      now,
    });
  }

  /**
   * Loads the cursors file (a missing file means no cursors; an unreadable
   * one is logged and ignored). `clamp` adjusts each loaded position (e.g. to
   * the current end of the WAL when it points past it). `now` is a monotonic
   * clock in ms (it paces the writes).
   */
  static async load(
    path: string,
    opts: { now: () => number; clamp?: (p: WalPosition) => WalPosition },
  ): Promise<CursorStore> {
    const store = new CursorStore(path, opts.now);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        log("wal").error("Cannot read cursors file; delivery positions are lost", {
          file: path,
          error: String(e),
        });
      }
      return store;
    }
    try {
      const data = JSON.parse(text) as { version?: unknown; cursors?: unknown };
      if (
        data.version !== FILE_VERSION || typeof data.cursors !== "object" || data.cursors === null
      ) {
        throw new TypeError(`unsupported content (version ${String(data.version)})`);
      }
      for (const [name, p] of Object.entries(data.cursors as Record<string, unknown>)) {
        const pos = p as Partial<WalPosition> | null;
        if (
          pos === null || typeof pos !== "object" || !Number.isSafeInteger(pos.segment) ||
          !Number.isSafeInteger(pos.offset) || pos.segment! < 0 || pos.offset! < 0
        ) {
          log("wal").warn("Ignoring malformed cursor", { file: path, cursor: name });
          continue;
        }
        let at: WalPosition = { segment: pos.segment!, offset: pos.offset! };
        if (opts.clamp) at = opts.clamp(at);
        store.#cursors.set(name, new Cursor(store, name, at));
      }
    } catch (e) {
      log("wal").error("Cannot parse cursors file; delivery positions are lost", {
        file: path,
        error: String(e),
      });
    }
    return store;
  }

  /** The named cursor, created at `initial()` when it does not exist. */
  get(name: string, initial: () => WalPosition): DeliveryCursor {
    let c = this.#cursors.get(name);
    if (!c) {
      c = new Cursor(this, name, initial());
      this.#cursors.set(name, c);
      this.changed();
    }
    return c;
  }

  /** The named cursor, if it exists (never creates one). */
  peek(name: string): DeliveryCursor | undefined {
    return this.#cursors.get(name);
  }

  /** Names of the live cursors. */
  names(): string[] {
    return [...this.#cursors.keys()];
  }

  /** Positions of the live cursors. */
  positions(): WalPosition[] {
    return [...this.#cursors.values()].map((c) => c.position);
  }

  /** Number of live cursors. */
  get size(): number {
    return this.#cursors.size;
  }

  /** @internal Called by a cursor that moved. */
  changed(): void {
    this.#dirty = true;
    if (this.#closed || this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastWrite + CURSOR_PERSIST_INTERVAL_MS - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, wait);
  }

  /** @internal Called by a released cursor. */
  forget(c: Cursor): void {
    if (this.#cursors.get(c.name) === c) this.#cursors.delete(c.name);
    this.changed();
  }

  /** Writes the file now if anything changed since the last write. */
  flush(): Promise<void> {
    const run = this.#writing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      this.#lastWrite = this.#now();
      const cursors: Record<string, WalPosition> = {};
      for (const [name, c] of this.#cursors) {
        cursors[name] = { segment: c.position.segment, offset: c.position.offset };
      }
      const body = new TextEncoder().encode(
        JSON.stringify({ version: FILE_VERSION, cursors }) + "\n",
      );
      try {
        await this.#write(body).catch(async (e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
          // The storage directory was removed underneath: create it again.
          await Deno.mkdir(dirname(this.#path), { recursive: true });
          await this.#write(body);
        });
        this.#failures.ok();
      } catch (e) {
        this.#failures.fail(e, { file: this.#path });
        // Try again later, even if no cursor moves meanwhile.
        this.changed();
      }
    });
    this.#writing = run;
    return run;
  }

  async #write(body: Uint8Array): Promise<void> {
    const tmp = this.#path + ".tmp";
    try {
      {
        using f = await Deno.open(tmp, { write: true, create: true, truncate: true });
        let done = 0;
        while (done < body.length) done += await f.write(body.subarray(done));
        await f.syncData();
      }
      await Deno.rename(tmp, this.#path);
    } catch (e) {
      // A partial temporary file must not take space (the disk may be what is full).
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }

  /** Stops the timer and writes pending changes. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

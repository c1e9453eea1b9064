/**
 * Config reload: on SIGHUP, `POST /-/reload` or a changed file (polling by
 * content hash), load and validate the config file again and, only when that
 * succeeds, apply it to the running agent. A config that fails leaves the
 * running one untouched; the outcome is in
 * `prometheus_config_last_reload_successful` and
 * `prometheus_config_last_reload_success_timestamp_seconds`, as in Prometheus.
 *
 * @module
 */

import type { ReloadResult } from "./agent.ts";
import { loadConfig, type LoadedConfig } from "./config/load.ts";
import type { ResolvedConfig } from "./config/types.ts";
import type { Registry } from "./metrics/registry.ts";
import { type Clock, realClock } from "./util/clock.ts";
import { sha256Hex } from "./util/hash.ts";
import { log } from "./util/log.ts";

const logger = log("reload");

/** What the reloader needs from the agent. */
export interface Reloadable {
  applyConfig(config: ResolvedConfig): Promise<ReloadResult>;
}

/** Options of {@link Reloader}. */
export interface ReloaderOptions {
  /** The config file, as given on the command line. */
  file: string;
  registry: Registry;
  clock?: Clock;
  /** Loads a config file. @default loadConfig */
  load?: (file: string) => Promise<LoadedConfig>;
}

/** Reloads one config file into one agent. */
export class Reloader {
  readonly #file: string;
  readonly #clock: Clock;
  readonly #load: (file: string) => Promise<LoadedConfig>;
  readonly #success;
  readonly #successTime;
  #target: Reloadable | null = null;
  #ok = true;
  #lastSuccess: number;
  /** Content hash of the file last applied (or last tried, so a bad file is reported once). */
  #lastHash = "";
  #running: Promise<void> = Promise.resolve();

  constructor(opts: ReloaderOptions) {
    this.#file = opts.file;
    this.#clock = opts.clock ?? realClock;
    this.#load = opts.load ?? ((f) => loadConfig(f));
    this.#success = opts.registry.gauge({
      name: "prometheus_config_last_reload_successful",
      help: "Whether the last configuration reload attempt was successful.",
    });
    this.#successTime = opts.registry.gauge({
      name: "prometheus_config_last_reload_success_timestamp_seconds",
      help: "Timestamp of the last successful configuration reload.",
    });
    this.#lastSuccess = this.#clock.now();
    this.#success.set(1);
    this.#successTime.set(this.#lastSuccess / 1000);
  }

  /** The agent to apply configs to (set once it runs). */
  attach(target: Reloadable, initialHash?: string): void {
    this.#target = target;
    if (initialHash !== undefined) this.#lastHash = initialHash;
  }

  /** Whether the last reload succeeded, and when the config was last applied (ms epoch). */
  state(): { success: boolean; lastConfigTime: number } {
    return { success: this.#ok, lastConfigTime: this.#lastSuccess };
  }

  /**
   * Loads, validates and applies the config file; reloads never overlap.
   * @throws {Error} when the file cannot be loaded or is invalid (the agent keeps its config).
   */
  reload(reason = "request"): Promise<void> {
    const run = this.#running.then(() => this.#reload(reason));
    this.#running = run.catch(() => {});
    return run;
  }

  async #reload(reason: string): Promise<void> {
    const target = this.#target;
    if (target === null) throw new Error("the agent is not running yet");
    logger.info("reloading config {file} ({reason})", { file: this.#file, reason });
    this.#lastHash = await fileHash(this.#file).catch(() => "");
    let loaded: LoadedConfig;
    try {
      loaded = await this.#load(this.#file);
    } catch (e) {
      this.#fail(e);
      throw e;
    }
    for (const w of loaded.warnings) {
      logger.warn("config {file}: {path}: {message}", {
        file: this.#file,
        path: w.path,
        message: w.message,
      });
    }
    let result: ReloadResult;
    try {
      result = await target.applyConfig(loaded.config);
    } catch (e) {
      this.#fail(e);
      throw e;
    }
    this.#ok = true;
    this.#lastSuccess = this.#clock.now();
    this.#success.set(1);
    this.#successTime.set(this.#lastSuccess / 1000);
    const { jobs, endpoints } = result;
    logger.info("config reloaded", {
      file: this.#file,
      jobsKept: jobs.kept.length,
      jobsChanged: jobs.changed.join(","),
      jobsAdded: jobs.added.join(","),
      jobsRemoved: jobs.removed.join(","),
      endpointsKept: endpoints.kept.length,
      endpointsChanged: endpoints.changed.join(","),
      endpointsAdded: endpoints.added.join(","),
      endpointsRemoved: endpoints.removed.join(","),
    });
  }

  #fail(e: unknown): void {
    this.#ok = false;
    this.#success.set(0);
    logger.error("config reload failed, keeping the running config: {err}", {
      file: this.#file,
      err: e instanceof Error ? e.message : String(e),
    });
  }

  /**
   * Polls the file every `intervalMs` and reloads when its content hash
   * changed since the last reload (only the file itself: modules a TS config
   * imports are not watched). Runs until `signal` aborts.
   */
  async poll(intervalMs: number, signal: AbortSignal): Promise<void> {
    if (this.#lastHash === "") this.#lastHash = await fileHash(this.#file).catch(() => "");
    while (!signal.aborted) {
      await this.#clock.sleep(intervalMs, signal).catch(() => {});
      if (signal.aborted) return;
      let hash: string;
      try {
        hash = await fileHash(this.#file);
      } catch {
        continue; // Being replaced; try again next time.
      }
      if (hash === this.#lastHash) continue;
      await this.reload("file changed").catch(() => {});
    }
  }
}

/** SHA-256 of a file's content, hex. */
export async function fileHash(file: string): Promise<string> {
  return sha256Hex(await Deno.readFile(file));
}

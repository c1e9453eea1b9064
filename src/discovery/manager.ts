/**
 * The discovery manager: runs each job's discoverers, merges what they report
 * and hands the job's consumer (its scrape pool) the merged groups, quietly:
 *
 * - **Coalescing.** A change reaches the job's consumer `updateIntervalMs`
 *   (5 s, as Prometheus' update ticker at worst) after the discoverer
 *   reported it, together with every later change of that window, as the
 *   latest state. So the consumer gets at most one update per interval, and a
 *   source that vanishes and comes back within the interval (a file rewritten
 *   in place, a flapping endpoint) is never seen gone: no loop restarts, no
 *   false staleness markers.
 * - **Start.** The first update waits until every discoverer has reported
 *   once, or for one interval, so a job with a slow source still starts with
 *   the others' targets, and one with several sources starts with all of them.
 * - **Vanished sources.** A source a discoverer no longer reports is sent once
 *   as an empty group (`targets: []`), then forgotten.
 * - **Last good state.** A discoverer that stops with an error keeps the
 *   groups it last reported (and counts in `prometheus_sd_failed_configs`).
 *
 * Groups are keyed by discoverer and source, so two SD configs of a job that
 * report the same source (the same file, say) do not overwrite each other.
 *
 * @module
 */

import type { Registry } from "../metrics/registry.ts";
import { type Clock, realClock } from "../util/clock.ts";
import { log } from "../util/log.ts";
import { createManagerMetrics, type ManagerMetrics } from "./metrics.ts";
import { errorMessage } from "./refresh.ts";
import type { Discoverer, TargetGroup } from "./types.ts";

const logger = log("discovery");

/** Prometheus' interval between two updates sent to the scrape manager. */
export const DEFAULT_UPDATE_INTERVAL_MS = 5_000;

/** A discoverer and the config it comes from (`file_sd_configs[0]`), for logs. */
export interface NamedDiscoverer {
  name: string;
  discoverer: Discoverer;
}

/** Options of {@link DiscoveryManager}. */
export interface DiscoveryManagerOptions {
  registry: Registry;
  clock?: Clock;
  /** Least time between two updates sent to one job's consumer. @default 5000 */
  updateIntervalMs?: number;
  /** The `name` label of the manager's metrics. @default "scrape" */
  name?: string;
}

/** Runs discovery for jobs and feeds each job's consumer. */
export class DiscoveryManager {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #metrics: ManagerMetrics;
  readonly #jobs = new Map<string, JobDiscovery>();

  constructor(opts: DiscoveryManagerOptions) {
    this.#clock = opts.clock ?? realClock;
    this.#intervalMs = opts.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS;
    this.#metrics = createManagerMetrics(opts.registry, opts.name ?? "scrape");
  }

  /**
   * Starts `discoverers` for `job`; `sync` receives the job's merged groups
   * (never called concurrently, never after {@link stop}).
   * @throws {Error} when the job is already running.
   */
  startJob(
    job: string,
    { discoverers, sync }: {
      discoverers: NamedDiscoverer[];
      sync: (groups: TargetGroup[]) => void;
    },
  ): void {
    if (this.#jobs.has(job)) throw new Error(`discovery for job ${job} is already running`);
    const j = new JobDiscovery(job, discoverers, sync, {
      clock: this.#clock,
      intervalMs: this.#intervalMs,
      metrics: this.#metrics,
    });
    this.#jobs.set(job, j);
    j.start();
  }

  /** Stops a job's discovery (its consumer gets nothing more). */
  async stopJob(job: string): Promise<void> {
    const j = this.#jobs.get(job);
    if (!j) return;
    this.#jobs.delete(job);
    await j.stop();
  }

  /** Stops every job's discovery and waits for the discoverers to finish. */
  async stop(): Promise<void> {
    const jobs = [...this.#jobs.keys()];
    await Promise.all(jobs.map((j) => this.stopJob(j)));
  }
}

interface JobDeps {
  clock: Clock;
  intervalMs: number;
  metrics: ManagerMetrics;
}

class JobDiscovery {
  readonly #abort = new AbortController();
  /** Latest groups per discoverer, by source. */
  readonly #latest: Map<string, TargetGroup>[];
  readonly #reported: boolean[];
  /** Empty groups to send once for sources that vanished, by discoverer index + source. */
  readonly #vanished = new Map<string, TargetGroup>();
  readonly #runs: Promise<void>[] = [];
  #dirty = false;
  #sentOnce = false;
  #lastSentAt = -Infinity;
  #failed = 0;
  #timer: Promise<void> | null = null;
  /** Cuts the first wait short once every discoverer has reported. */
  readonly #startWait = new AbortController();

  constructor(
    readonly job: string,
    readonly discoverers: NamedDiscoverer[],
    readonly sync: (groups: TargetGroup[]) => void,
    readonly deps: JobDeps,
  ) {
    this.#latest = discoverers.map(() => new Map());
    this.#reported = discoverers.map(() => false);
  }

  start(): void {
    const signal = this.#abort.signal;
    this.discoverers.forEach((d, i) => {
      const run = d.discoverer.run(signal, (groups) => this.#update(i, groups))
        .catch((err) => {
          if (signal.aborted) return;
          this.#failed++;
          this.deps.metrics.failedConfigs.inc();
          // It will not report (again): the first update need not wait for it.
          this.#reported[i] = true;
          if (!this.#sentOnce && this.#reported.every(Boolean)) this.#startWait.abort();
          logger.error("discoverer {sd} of job {job} stopped, keeping its last targets: {err}", {
            job: this.job,
            sd: d.name,
            err: errorMessage(err),
          });
        });
      this.#runs.push(run);
    });
    if (this.discoverers.length === 0) return;
    // The first update: when everyone has reported, or after one interval at most.
    this.#timer = this.deps.clock.sleep(
      this.deps.intervalMs,
      AbortSignal.any([signal, this.#startWait.signal]),
    ).then(() => this.#fire());
  }

  #update(i: number, groups: TargetGroup[]): void {
    if (this.#abort.signal.aborted) return;
    this.deps.metrics.receivedUpdates.inc();
    const prev = this.#latest[i];
    const next = new Map<string, TargetGroup>();
    for (const g of groups) next.set(g.source, g);
    for (const source of prev.keys()) {
      if (!next.has(source)) {
        this.#vanished.set(`${i}\u0000${source}`, { source, targets: [], labels: {} });
      }
    }
    for (const source of next.keys()) this.#vanished.delete(`${i}\u0000${source}`);
    this.#latest[i] = next;
    this.#reported[i] = true;
    this.#dirty = true;
    let count = 0;
    for (const m of this.#latest) for (const g of m.values()) count += g.targets.length;
    this.deps.metrics.discoveredTargets(this.job).set(count);

    if (!this.#sentOnce) {
      if (this.#reported.every(Boolean)) this.#startWait.abort();
      return;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer) return;
    // One interval after the first change of the window (and so at least one after the last send).
    const wait = Math.max(
      this.deps.intervalMs,
      this.#lastSentAt + this.deps.intervalMs - this.deps.clock.now(),
    );
    this.#timer = this.deps.clock.sleep(wait, this.#abort.signal).then(() => this.#fire());
  }

  #fire(): void {
    this.#timer = null;
    if (this.#abort.signal.aborted || !this.#dirty) {
      // Nobody reported within the first interval: the next report goes out at once.
      if (!this.#abort.signal.aborted) this.#sentOnce = true;
      return;
    }
    this.#dirty = false;
    this.#sentOnce = true;
    this.#lastSentAt = this.deps.clock.now();
    const out: TargetGroup[] = [];
    for (const m of this.#latest) out.push(...m.values());
    out.push(...this.#vanished.values());
    this.#vanished.clear();
    this.deps.metrics.updates.inc();
    try {
      this.sync(out);
    } catch (err) {
      logger.error("applying discovered targets of job {job} failed: {err}", {
        job: this.job,
        err: errorMessage(err),
      });
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#runs);
    await this.#timer;
    this.deps.metrics.failedConfigs.dec(this.#failed);
    this.deps.metrics.removeJob(this.job);
  }
}

/**
 * How many shards an endpoint should run, from its throughput, in the spirit
 * of Prometheus' `calculateDesiredShards`: exponentially weighted rates of
 * items read, dropped and sent and of the time spent sending, ticked at a
 * fixed interval (10 s by default).
 *
 *     timePerItem   = sendSeconds / itemsSent
 *     backlog       = (highest timestamp read − highest sent) × inRate × keptRatio
 *     desired       = timePerItem × (inRate × keptRatio + 5% of backlog per second)
 *
 * Hysteresis keeps it from flapping: a desired count within ±30% of the
 * current one changes nothing, it never downshards while more than 10 s
 * behind, and the result is clamped to [min, max].
 *
 * @module
 */

/** Weight of the newest interval in the moving averages. */
export const EWMA_WEIGHT = 0.2;
/** Desired counts within this fraction of the current count change nothing. */
export const SHARD_TOLERANCE = 0.3;
/** No downsharding while the newest item sent is more than this far behind the newest read. */
export const MAX_DOWNSHARD_DELAY_S = 10;
/** Share of the backlog to catch up per second. */
export const BACKLOG_CATCHUP = 0.05;

/** An exponentially weighted moving average of a per-second rate, ticked every `intervalMs`. */
export class EwmaRate {
  #events = 0;
  #rate = 0;
  #init = false;
  constructor(readonly intervalMs: number, readonly weight = EWMA_WEIGHT) {}

  /** Counts `n` events in the current interval. */
  incr(n: number): void {
    this.#events += n;
  }

  /** Closes the interval and folds its rate into the average. */
  tick(): void {
    const instant = this.#events / (this.intervalMs / 1000);
    this.#events = 0;
    if (this.#init) this.#rate += this.weight * (instant - this.#rate);
    else if (instant > 0) {
      this.#rate = instant;
      this.#init = true;
    }
  }

  /** Events per second. */
  get rate(): number {
    return this.#rate;
  }
}

/** Options of `ShardTuner`. */
export interface ShardTunerOptions {
  minShards: number;
  maxShards: number;
  /** How often `update` is called. */
  intervalMs: number;
}

/** Computes the shard count from the rates it is fed. */
export class ShardTuner {
  /** Items read from the WAL (kept or dropped). */
  readonly itemsIn: EwmaRate;
  /** Items dropped before sending (relabeling, unknown series, too old). */
  readonly itemsDropped: EwmaRate;
  /** Items whose batch finished sending (delivered or not). */
  readonly itemsOut: EwmaRate;
  /** Milliseconds spent sending those batches. */
  readonly sendMs: EwmaRate;
  /** The last unrounded, unclamped desired count (`…_shards_desired`). */
  desired: number;
  readonly #min: number;
  readonly #max: number;

  constructor(opts: ShardTunerOptions) {
    this.#min = Math.max(1, opts.minShards);
    this.#max = Math.max(this.#min, opts.maxShards);
    this.itemsIn = new EwmaRate(opts.intervalMs);
    this.itemsDropped = new EwmaRate(opts.intervalMs);
    this.itemsOut = new EwmaRate(opts.intervalMs);
    this.sendMs = new EwmaRate(opts.intervalMs);
    this.desired = this.#min;
  }

  /**
   * Ticks the rates and returns the shard count to run (`current` when no
   * change is warranted). `delaySeconds` is the highest timestamp read minus
   * the highest delivered.
   */
  update(current: number, delaySeconds: number): number {
    this.itemsIn.tick();
    this.itemsDropped.tick();
    this.itemsOut.tick();
    this.sendMs.tick();
    const inRate = this.itemsIn.rate, outRate = this.itemsOut.rate;
    if (outRate <= 0) return current;
    const dropped = this.itemsDropped.rate;
    const kept = outRate / (dropped + outRate);
    const delay = Math.max(0, delaySeconds);
    const backlog = delay * inRate * kept;
    const timePerItem = this.sendMs.rate / 1000 / outRate;
    const desired = timePerItem * (inRate * kept + BACKLOG_CATCHUP * backlog);
    this.desired = desired;
    const lower = current * (1 - SHARD_TOLERANCE), upper = current * (1 + SHARD_TOLERANCE);
    const rounded = Math.ceil(desired);
    if (lower <= rounded && rounded <= upper) return current;
    if (rounded < current && delay > MAX_DOWNSHARD_DELAY_S) return current;
    return Math.min(this.#max, Math.max(this.#min, rounded));
  }
}

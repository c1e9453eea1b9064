/**
 * The push rate limit: a token bucket of samples.
 *
 * @module
 */

/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. A request
 * of `n` tokens passes when the bucket holds `min(n, burst)`; it then takes
 * all `n`, so a request larger than the burst is let through once the
 * bucket is full and the debt it leaves delays later requests. It is
 * refused (nothing taken) otherwise, with the whole seconds until it would
 * pass.
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  /**
   * @param rate Tokens a second, > 0.
   * @param burst Capacity, > 0 (starts full).
   * @param now Milliseconds, monotonic. @default performance.now
   */
  constructor(rate: number, burst: number, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now();
  }

  /** Changes rate and burst, keeping the tokens held (capped by the new burst). */
  configure(rate: number, burst: number): void {
    this.#refill();
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  /** Takes `n` tokens: 0 when taken, else the seconds (≥ 1) to wait before asking again. */
  take(n: number): number {
    this.#refill();
    const need = Math.min(n, this.#burst);
    if (this.#tokens >= need) {
      this.#tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((need - this.#tokens) / this.#rate));
  }

  #refill(): void {
    const now = this.#now();
    const dt = Math.max(0, now - this.#at) / 1000;
    this.#at = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + dt * this.#rate);
  }
}

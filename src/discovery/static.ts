/**
 * static_configs: fixed targets, reported once.
 *
 * @module
 */

import type { Discoverer, DiscoveryResult, TargetGroup } from "./types.ts";

/** Reports the configured groups once, then idles until aborted. */
export class StaticDiscoverer implements Discoverer {
  readonly #groups: TargetGroup[];

  constructor(configs: { targets: string[]; labels: Record<string, string> }[], job: string) {
    this.#groups = configs.map((c, i) => ({
      source: `${job}/static/${i}`,
      targets: c.targets.map((address) => ({ __address__: address })),
      labels: { ...c.labels },
    }));
  }

  discoverOnce(_signal: AbortSignal): Promise<DiscoveryResult> {
    return Promise.resolve({ groups: this.#groups, errors: [] });
  }

  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    update(this.#groups);
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) =>
      signal.addEventListener("abort", () => resolve(), { once: true })
    );
  }
}

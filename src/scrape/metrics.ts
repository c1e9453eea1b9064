/**
 * Scrape metrics under Prometheus' names.
 *
 * @module
 */

import type { Registry } from "../metrics/registry.ts";

/** Per-pool scrape metrics a loop reports into. */
export interface ScrapeMetrics {
  scraped(durationSeconds: number, ok: boolean): void;
  sampleLimitExceeded(): void;
}

/** Creates the metrics of one scrape pool. */
export function createPoolMetrics(
  registry: Registry,
  pool: string,
  targets: () => number,
): ScrapeMetrics & { dispose(): void } {
  const labels = { scrape_job: pool };
  registry.gauge({
    name: "prometheus_target_scrape_pool_targets",
    help: "Current number of targets in this scrape pool.",
    labels,
    fn: targets,
  });
  const duration = registry.histogram({
    name: "prometheus_target_scrape_duration_seconds",
    help: "Duration of scrapes of targets in this scrape pool.",
    labels,
  });
  const failed = registry.counter({
    name: "prometheus_target_scrapes_failed_total",
    help: "Scrapes of targets in this scrape pool that failed.",
    labels,
  });
  const exceeded = registry.counter({
    name: "prometheus_target_scrapes_exceeded_sample_limit_total",
    help: "Scrapes that hit the sample limit and were rejected.",
  });
  return {
    sampleLimitExceeded() {
      exceeded.inc();
    },
    scraped(d: number, ok: boolean) {
      duration.observe(d);
      if (!ok) failed.inc();
    },
    dispose() {
      registry.remove("prometheus_target_scrape_pool_targets", labels);
      registry.remove("prometheus_target_scrape_duration_seconds", labels);
      registry.remove("prometheus_target_scrapes_failed_total", labels);
    },
  };
}

/**
 * Scrape metrics under Prometheus' names.
 *
 * @module
 */

import type { Counter, Registry } from "../metrics/registry.ts";

/** Why a scrape left out a sample it read (the scrape itself succeeds). */
export type DroppedSampleReason = "duplicate" | "out_of_order" | "out_of_bounds";

/** Per-pool scrape metrics a loop reports into. */
export interface ScrapeMetrics {
  scraped(durationSeconds: number, ok: boolean): void;
  sampleLimitExceeded(): void;
  bodySizeLimitExceeded(): void;
  labelLimitsExceeded(): void;
  /** `n` samples of a scrape were left out for `reason`. */
  samplesDropped(reason: DroppedSampleReason, n: number): void;
}

/** Metrics of one scrape pool: its loops' and its own. */
export interface PoolMetrics extends ScrapeMetrics {
  targetLimitExceeded(): void;
  dispose(): void;
}

/** Creates the metrics of one scrape pool. */
export function createPoolMetrics(
  registry: Registry,
  pool: string,
  targets: () => number,
  targetLimit = 0,
): PoolMetrics {
  const labels = { scrape_job: pool };
  registry.gauge({
    name: "prometheus_target_scrape_pool_targets",
    help: "Current number of targets in this scrape pool.",
    labels,
    fn: targets,
  });
  registry.gauge({
    name: "prometheus_target_scrape_pool_target_limit",
    help: "Most targets this scrape pool may have (0: no limit).",
    labels,
    fn: () => targetLimit,
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
  const bodyExceeded = registry.counter({
    name: "prometheus_target_scrapes_exceeded_body_size_limit_total",
    help: "Scrapes whose body reached the body size limit and were rejected.",
  });
  const labelsExceeded = registry.counter({
    name: "prometheus_target_scrape_pool_exceeded_label_limits_total",
    help: "Scrapes rejected because a series broke a label limit.",
  });
  const dropped: Record<DroppedSampleReason, Counter> = {
    duplicate: registry.counter({
      name: "prometheus_target_scrapes_sample_duplicate_timestamp_total",
      help: "Samples left out because their series appeared earlier in the same scrape.",
    }),
    out_of_order: registry.counter({
      name: "prometheus_target_scrapes_sample_out_of_order_total",
      help: "Samples left out because their timestamp was not after their series' last one.",
    }),
    out_of_bounds: registry.counter({
      name: "prometheus_target_scrapes_sample_out_of_bounds_total",
      help: "Samples left out because their timestamp is beyond what storage can hold.",
    }),
  };
  const targetsExceeded = registry.counter({
    name: "prometheus_target_scrape_pool_exceeded_target_limit_total",
    help: "Target updates that left a scrape pool with more targets than its limit.",
  });
  return {
    sampleLimitExceeded() {
      exceeded.inc();
    },
    bodySizeLimitExceeded() {
      bodyExceeded.inc();
    },
    labelLimitsExceeded() {
      labelsExceeded.inc();
    },
    targetLimitExceeded() {
      targetsExceeded.inc();
    },
    samplesDropped(reason: DroppedSampleReason, n: number) {
      dropped[reason].inc(n);
    },
    scraped(d: number, ok: boolean) {
      duration.observe(d);
      if (!ok) failed.inc();
    },
    dispose() {
      registry.remove("prometheus_target_scrape_pool_targets", labels);
      registry.remove("prometheus_target_scrape_pool_target_limit", labels);
      registry.remove("prometheus_target_scrape_duration_seconds", labels);
      registry.remove("prometheus_target_scrapes_failed_total", labels);
    },
  };
}

/**
 * Service-discovery self-metrics, under Prometheus' names and labels so
 * existing dashboards and alerts work:
 *
 * - manager: `prometheus_sd_discovered_targets{name,config}`,
 *   `prometheus_sd_received_updates_total{name}`, `prometheus_sd_updates_total{name}`,
 *   `prometheus_sd_updates_delayed_total{name}`, `prometheus_sd_failed_configs{name}`;
 * - refreshing SDs (http, dns): `prometheus_sd_refresh_failures_total{mechanism,config}`,
 *   `prometheus_sd_refresh_duration_seconds{mechanism,config}` (summary: sum and count);
 * - file_sd: `prometheus_sd_file_read_errors_total`, `prometheus_sd_file_scan_duration_seconds`,
 *   `prometheus_sd_file_watcher_errors_total`, `prometheus_sd_file_mtime_seconds{filename}`;
 * - http_sd: `prometheus_sd_http_failures_total`;
 * - dns_sd: `prometheus_sd_dns_lookups_total`, `prometheus_sd_dns_lookup_failures_total`.
 *
 * @module
 */

import type { Counter, Gauge, Registry, Summary } from "../metrics/registry.ts";

/** Metrics of one discovery manager (one `name`), with per-job target gauges. */
export interface ManagerMetrics {
  receivedUpdates: Counter;
  updates: Counter;
  delayedUpdates: Counter;
  failedConfigs: Gauge;
  /** The `prometheus_sd_discovered_targets` gauge of one job. */
  discoveredTargets(job: string): Gauge;
  /** Removes a job's gauge (the job stopped). */
  removeJob(job: string): void;
}

/** Creates (or returns the existing) manager metrics for `name`. */
export function createManagerMetrics(registry: Registry, name: string): ManagerMetrics {
  const labels = { name };
  return {
    receivedUpdates: registry.counter({
      name: "prometheus_sd_received_updates_total",
      help: "Target-group updates the discovery manager received from its discoverers.",
      labels,
    }),
    updates: registry.counter({
      name: "prometheus_sd_updates_total",
      help: "Target-set updates the discovery manager sent to the scrape pools.",
      labels,
    }),
    delayedUpdates: registry.counter({
      name: "prometheus_sd_updates_delayed_total",
      help: "Updates that could not be sent at once because the receiver was busy.",
      labels,
    }),
    failedConfigs: registry.gauge({
      name: "prometheus_sd_failed_configs",
      help: "Service-discovery configs whose discoverer stopped with an error.",
      labels,
    }),
    discoveredTargets: (job) =>
      registry.gauge({
        name: "prometheus_sd_discovered_targets",
        help: "Targets currently discovered for each scrape config, before relabeling.",
        labels: { name, config: job },
      }),
    removeJob: (job) => registry.remove("prometheus_sd_discovered_targets", { name, config: job }),
  };
}

/** Failure counter and duration summary of a refreshing discoverer. */
export interface RefreshMetrics {
  failures: Counter;
  duration: Summary;
}

/** `mechanism` is `http` or `dns`; `config` the job name. */
export function createRefreshMetrics(
  registry: Registry,
  { mechanism, config }: { mechanism: string; config: string },
): RefreshMetrics {
  const labels = { mechanism, config };
  return {
    failures: registry.counter({
      name: "prometheus_sd_refresh_failures_total",
      help: "Refreshes of a service-discovery mechanism that failed.",
      labels,
    }),
    duration: registry.summary({
      name: "prometheus_sd_refresh_duration_seconds",
      help: "How long refreshes of a service-discovery mechanism took.",
      labels,
    }),
  };
}

/** file_sd metrics (shared by every file_sd config, as in Prometheus). */
export interface FileSdMetrics {
  readErrors: Counter;
  watcherErrors: Counter;
  scanDuration: Summary;
  /** Sets or removes (`seconds` undefined) the modification-time gauge of a file. */
  mtime(file: string, seconds: number | undefined): void;
}

export function createFileSdMetrics(registry: Registry): FileSdMetrics {
  return {
    readErrors: registry.counter({
      name: "prometheus_sd_file_read_errors_total",
      help: "file_sd files that could not be read or parsed.",
    }),
    watcherErrors: registry.counter({
      name: "prometheus_sd_file_watcher_errors_total",
      help: "Errors setting up or reading file-system watches for file_sd.",
    }),
    scanDuration: registry.summary({
      name: "prometheus_sd_file_scan_duration_seconds",
      help: "How long reading all files of a file_sd config took.",
    }),
    mtime(file, seconds) {
      const labels = { filename: file };
      if (seconds === undefined) {
        registry.remove("prometheus_sd_file_mtime_seconds", labels);
        return;
      }
      registry.gauge({
        name: "prometheus_sd_file_mtime_seconds",
        help: "Modification time of each file read by file_sd, in seconds since the epoch.",
        labels,
      }).set(seconds);
    },
  };
}

export function createHttpSdMetrics(registry: Registry): { failures: Counter } {
  return {
    failures: registry.counter({
      name: "prometheus_sd_http_failures_total",
      help: "http_sd refreshes that failed (network error, status, content type, body).",
    }),
  };
}

export function createDnsSdMetrics(registry: Registry): { lookups: Counter; failures: Counter } {
  return {
    lookups: registry.counter({
      name: "prometheus_sd_dns_lookups_total",
      help: "DNS lookups made by dns_sd.",
    }),
    failures: registry.counter({
      name: "prometheus_sd_dns_lookup_failures_total",
      help: "DNS lookups made by dns_sd that failed.",
    }),
  };
}

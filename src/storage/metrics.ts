/**
 * The agent db's and WAL's own metrics, named as Prometheus Agent names them
 * so existing dashboards keep working.
 *
 * @module
 */

import type { Counter, Gauge, Histogram, Registry } from "../metrics/registry.ts";

/** Metrics owned by one agent db. */
export interface StorageMetrics {
  /** `prometheus_agent_samples_appended_total{type="float"}`: samples committed. */
  samplesAppended: Counter;
  /** `prometheus_agent_corruptions_total`: damaged WAL segments/checkpoints found (and repaired) on open. */
  corruptions: Counter;
  /** `prometheus_agent_active_series`: series the db knows. */
  activeSeries: Gauge;
  /** `prometheus_agent_data_replay_duration_seconds`: time the last open spent replaying the WAL. */
  replayDuration: Gauge;
  /** `prometheus_agent_checkpoint_creations_total`. */
  checkpointCreations: Counter;
  /** `prometheus_agent_checkpoint_creations_failed_total`. */
  checkpointCreationsFailed: Counter;
  /** `prometheus_agent_truncate_duration_seconds`. */
  truncateDuration: Histogram;
  /** `prometheus_tsdb_wal_truncations_total`: truncations that deleted segments. */
  truncations: Counter;
  /** `prometheus_tsdb_wal_truncations_failed_total`. */
  truncationsFailed: Counter;
  /** `prometheus_tsdb_wal_segment_current`: the head segment's number. */
  segmentCurrent: Gauge;
  /** `prometheus_tsdb_wal_fsync_duration_seconds`. */
  fsyncDuration: Histogram;
  /** `prometheus_tsdb_wal_writes_failed_total`: commits whose write or sync failed. */
  writesFailed: Counter;
  /** Removes the callback gauges from the registry (the db was closed). */
  dispose(): void;
}

/** Creates the storage metrics; gauges read live state through the callbacks. */
export function createStorageMetrics(
  registry: Registry,
  live: { activeSeries: () => number; segmentCurrent: () => number },
): StorageMetrics {
  return {
    samplesAppended: registry.counter({
      name: "prometheus_agent_samples_appended_total",
      help: "Total number of samples appended to the storage.",
      labels: { type: "float" },
    }),
    corruptions: registry.counter({
      name: "prometheus_agent_corruptions_total",
      help: "Total number of WAL corruptions found and repaired.",
    }),
    activeSeries: registry.gauge({
      name: "prometheus_agent_active_series",
      help: "Number of active series being tracked by the WAL storage.",
      fn: live.activeSeries,
    }),
    replayDuration: registry.gauge({
      name: "prometheus_agent_data_replay_duration_seconds",
      help: "Time taken to replay the data on disk.",
    }),
    checkpointCreations: registry.counter({
      name: "prometheus_agent_checkpoint_creations_total",
      help: "Total number of checkpoint creations attempted.",
    }),
    checkpointCreationsFailed: registry.counter({
      name: "prometheus_agent_checkpoint_creations_failed_total",
      help: "Total number of checkpoint creations that failed.",
    }),
    truncateDuration: registry.histogram({
      name: "prometheus_agent_truncate_duration_seconds",
      help: "Duration of WAL truncation.",
    }),
    truncations: registry.counter({
      name: "prometheus_tsdb_wal_truncations_total",
      help: "Total number of WAL truncations that deleted segments.",
    }),
    truncationsFailed: registry.counter({
      name: "prometheus_tsdb_wal_truncations_failed_total",
      help: "Total number of WAL truncations that failed.",
    }),
    segmentCurrent: registry.gauge({
      name: "prometheus_tsdb_wal_segment_current",
      help: "WAL segment index that is currently being written to.",
      fn: live.segmentCurrent,
    }),
    fsyncDuration: registry.histogram({
      name: "prometheus_tsdb_wal_fsync_duration_seconds",
      help: "Duration of WAL fsync.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    writesFailed: registry.counter({
      name: "prometheus_tsdb_wal_writes_failed_total",
      help: "Total number of WAL writes that failed.",
    }),
    dispose() {
      registry.remove("prometheus_agent_active_series");
      registry.remove("prometheus_tsdb_wal_segment_current");
    },
  };
}

/**
 * The agent db's and WAL's own metrics, named as Prometheus Agent names them
 * so existing dashboards keep working.
 *
 * @module
 */

import type { Counter, Gauge, Histogram, Registry } from "../metrics/registry.ts";

/** Metrics owned by one agent db. */
export interface StorageMetrics {
  /** `prometheus_agent_samples_appended_total{type="float"}`: float samples committed. */
  samplesAppended: Counter;
  /** `prometheus_agent_samples_appended_total{type="histogram"}`: histogram samples committed. */
  histogramsAppended: Counter;
  /** `prometheus_agent_exemplars_appended_total`: exemplars committed. */
  exemplarsAppended: Counter;
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
  /** `prometheus_tsdb_wal_writes_failed_total`: WAL writes (each holding one or more commits) and syncs that failed. */
  writesFailed: Counter;
  /**
   * `ferry_wal_samples_failed_total`: samples (float and histogram) of
   * commits that failed because the WAL could not be written (disk full,
   * read-only, I/O error): not stored, never sent.
   */
  samplesFailed: Counter;
  /**
   * `ferry_wal_files_missing_total`: WAL segment and checkpoint files found
   * removed by something other than ferry while it ran.
   */
  filesMissing: Counter;
  /**
   * `prometheus_agent_deleted_series`: series garbage-collected from memory
   * whose records are still in a WAL file (until the next checkpoint).
   */
  deletedSeries: Gauge;
  /** `prometheus_tsdb_wal_storage_size_bytes`: bytes of the segments and the checkpoint. */
  walSize: Gauge;
  /** `ferry_wal_corruption_lost_records_total`: records in WAL bytes dropped by repair on open. */
  lostRecords: Counter;
  /** `ferry_wal_corruption_lost_samples_total`: samples in WAL bytes dropped by repair on open. */
  lostSamples: Counter;
  /** `ferry_wal_corruption_lost_bytes_total`: WAL bytes dropped by repair on open. */
  lostBytes: Counter;
  /** `ferry_wal_series_garbage_collected_total`: series removed from memory after going quiet. */
  seriesCollected: Counter;
  /** Removes the callback gauges from the registry (the db was closed). */
  dispose(): void;
}

/** Creates the storage metrics; gauges read live state through the callbacks. */
export function createStorageMetrics(
  registry: Registry,
  live: { activeSeries: () => number; segmentCurrent: () => number; walBytes: () => number },
): StorageMetrics {
  return {
    samplesAppended: registry.counter({
      name: "prometheus_agent_samples_appended_total",
      help: "Total number of samples appended to the storage.",
      labels: { type: "float" },
    }),
    histogramsAppended: registry.counter({
      name: "prometheus_agent_samples_appended_total",
      help: "Total number of samples appended to the storage.",
      labels: { type: "histogram" },
    }),
    exemplarsAppended: registry.counter({
      name: "prometheus_agent_exemplars_appended_total",
      help: "Total number of exemplars appended to the storage.",
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
    samplesFailed: registry.counter({
      name: "ferry_wal_samples_failed_total",
      help:
        "Samples of commits that failed because the WAL could not be written (disk full, read-only, I/O error); they are lost.",
    }),
    filesMissing: registry.counter({
      name: "ferry_wal_files_missing_total",
      help:
        "WAL segment and checkpoint files found removed by something other than ferry while it ran.",
    }),
    deletedSeries: registry.gauge({
      name: "prometheus_agent_deleted_series",
      help: "Number of series pending deletion from the WAL.",
    }),
    walSize: registry.gauge({
      name: "prometheus_tsdb_wal_storage_size_bytes",
      help: "Size of the WAL: segments and checkpoint, in bytes.",
      fn: live.walBytes,
    }),
    lostRecords: registry.counter({
      name: "ferry_wal_corruption_lost_records_total",
      help: "Records in damaged WAL bytes that repair dropped on open.",
    }),
    lostSamples: registry.counter({
      name: "ferry_wal_corruption_lost_samples_total",
      help: "Samples in damaged WAL bytes that repair dropped on open.",
    }),
    lostBytes: registry.counter({
      name: "ferry_wal_corruption_lost_bytes_total",
      help: "Damaged WAL bytes that repair dropped on open.",
    }),
    seriesCollected: registry.counter({
      name: "ferry_wal_series_garbage_collected_total",
      help: "Series removed from memory because no sample was appended to them for a while.",
    }),
    dispose() {
      registry.remove("prometheus_agent_active_series");
      registry.remove("prometheus_tsdb_wal_segment_current");
      registry.remove("prometheus_tsdb_wal_storage_size_bytes");
    },
  };
}

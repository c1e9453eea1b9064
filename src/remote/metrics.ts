/**
 * Self-metrics of one remote-write endpoint, with Prometheus' names and the
 * labels `remote_name` and `url` bound at construction.
 *
 * @module
 */

import type { Counter, Gauge, Histogram, Registry } from "../metrics/registry.ts";

const PREFIX = "prometheus_remote_storage_";

/** Buckets of `…_sent_batch_duration_seconds`: the defaults plus long tails for slow receivers. */
export const SENT_BATCH_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  60,
  120,
  300,
];

/** Why samples were dropped before sending (the `reason` label of `…_samples_dropped_total`). */
export type DropReason =
  | "dropped_series"
  | "unintentionally_dropped_series"
  | WalDropReason;

/** Undelivered samples the WAL dropped for this endpoint (retention, disk caps). */
export type WalDropReason = "retention" | "wal_disk_cap";

/** The metrics of one endpoint. */
export class RemoteMetrics {
  /** Samples put into requests (counted per attempt, as Prometheus does). */
  readonly samplesTotal: Counter;
  /** Samples in requests that failed permanently and were not retried. */
  readonly samplesFailed: Counter;
  /** Samples in requests that failed recoverably and were retried. */
  readonly samplesRetried: Counter;
  /** Samples dropped by write relabeling. */
  readonly droppedByRelabel: Counter;
  /** Samples of series refs whose labels were unknown. */
  readonly droppedUnknown: Counter;
  /** Undelivered samples the WAL dropped for this endpoint, by reason. */
  readonly droppedByWal: Record<WalDropReason, Counter>;
  /** Compressed request bytes sent (per attempt). */
  readonly bytesTotal: Counter;
  /** Samples read from the WAL and not yet sent or dropped. */
  readonly samplesPending: Gauge;
  /** Duration of each send attempt. */
  readonly sentBatchDuration: Histogram;
  /** Highest sample timestamp successfully sent, in seconds. */
  readonly highestSentTimestamp: Gauge;

  readonly #registry: Registry;
  readonly #labels: Record<string, string>;

  constructor(registry: Registry, opts: { name: string; url: string; pending: () => number }) {
    this.#registry = registry;
    const labels = { remote_name: opts.name, url: opts.url };
    this.#labels = labels;
    this.samplesTotal = registry.counter({
      name: PREFIX + "samples_total",
      help: "Samples put into remote-write requests, counted on every attempt.",
      labels,
    });
    this.samplesFailed = registry.counter({
      name: PREFIX + "samples_failed_total",
      help: "Samples in requests the receiver rejected permanently; they are not retried.",
      labels,
    });
    this.samplesRetried = registry.counter({
      name: PREFIX + "samples_retried_total",
      help: "Samples in requests that failed recoverably and were sent again.",
      labels,
    });
    this.droppedByRelabel = registry.counter({
      name: PREFIX + "samples_dropped_total",
      help: "Samples read from the WAL but never sent, by reason.",
      labels: { ...labels, reason: "dropped_series" },
    });
    this.droppedUnknown = registry.counter({
      name: PREFIX + "samples_dropped_total",
      help: "Samples read from the WAL but never sent, by reason.",
      labels: { ...labels, reason: "unintentionally_dropped_series" },
    });
    const walDrop = (reason: WalDropReason) =>
      registry.counter({
        name: PREFIX + "samples_dropped_total",
        help: "Samples read from the WAL but never sent, by reason.",
        labels: { ...labels, reason },
      });
    this.droppedByWal = { retention: walDrop("retention"), wal_disk_cap: walDrop("wal_disk_cap") };
    this.bytesTotal = registry.counter({
      name: PREFIX + "bytes_total",
      help: "Compressed bytes of sample requests, counted on every attempt.",
      labels,
    });
    this.samplesPending = registry.gauge({
      name: PREFIX + "samples_pending",
      help: "Samples read from the WAL and waiting to be delivered.",
      labels,
      fn: opts.pending,
    });
    this.sentBatchDuration = registry.histogram({
      name: PREFIX + "sent_batch_duration_seconds",
      help: "Duration of each remote-write request.",
      labels,
      buckets: SENT_BATCH_BUCKETS,
    });
    this.highestSentTimestamp = registry.gauge({
      name: PREFIX + "queue_highest_sent_timestamp_seconds",
      help: "Highest sample timestamp delivered by this endpoint, in seconds since the epoch.",
      labels,
    });
  }

  /** Removes this endpoint's series from the registry. */
  dispose(): void {
    const r = this.#registry, l = this.#labels;
    for (
      const n of [
        "samples_total",
        "samples_failed_total",
        "samples_retried_total",
        "bytes_total",
        "samples_pending",
        "sent_batch_duration_seconds",
        "queue_highest_sent_timestamp_seconds",
      ]
    ) r.remove(PREFIX + n, l);
    r.remove(PREFIX + "samples_dropped_total", { ...l, reason: "dropped_series" });
    r.remove(PREFIX + "samples_dropped_total", { ...l, reason: "unintentionally_dropped_series" });
    r.remove(PREFIX + "samples_dropped_total", { ...l, reason: "retention" });
    r.remove(PREFIX + "samples_dropped_total", { ...l, reason: "wal_disk_cap" });
  }
}

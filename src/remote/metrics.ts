/**
 * Self-metrics of one remote-write endpoint, with Prometheus' names and the
 * labels `remote_name` and `url` bound at construction, plus two of ferry's
 * own (`ferry_remote_storage_protocol…`) for the RW 2.0 → 1.0 fallback.
 *
 * @module
 */

import type { RemoteWriteMessage } from "../config/types.ts";
import type { Counter, Gauge, Histogram, Registry } from "../metrics/registry.ts";

const PREFIX = "prometheus_remote_storage_";
const FERRY_PREFIX = "ferry_remote_storage_";

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

/** What a request carries, as the metric names say it. */
export type ItemKind = "samples" | "histograms" | "exemplars";

/** The three item kinds, in the order counters are kept. */
export const ITEM_KINDS: readonly ItemKind[] = ["samples", "histograms", "exemplars"];

/** Why items were dropped before sending (the `reason` label of `…_dropped_total`). */
export type DropReason =
  | "dropped_series"
  | "unintentionally_dropped_series"
  | "too_old"
  | "nhcb_in_rw1_not_supported"
  | WalDropReason;

/** Undelivered samples the WAL dropped for this endpoint (retention, disk caps). */
export type WalDropReason = "retention" | "wal_disk_cap";

/** Counters of one item kind. */
export interface KindCounters {
  /** Items put into requests (counted per attempt, as Prometheus does). */
  total: Counter;
  /** Items the receiver did not take and that are not retried. */
  failed: Counter;
  /** Items in requests that failed recoverably and were sent again. */
  retried: Counter;
}

/** Options of `RemoteMetrics`. */
export interface RemoteMetricsOptions {
  name: string;
  url: string;
  /** Items read from the WAL and not yet settled, per kind. */
  pending: (kind: ItemKind) => number;
  /** Current, desired (unrounded), min and max shards. */
  shards: () => number;
  desiredShards: () => number;
  minShards: number;
  maxShards: number;
  /** Items a shard buffers (`capacity`). */
  shardCapacity: number;
  maxSamplesPerSend: number;
}

const HELP_TOTAL: Record<ItemKind, string> = {
  samples: "Samples put into remote-write requests, counted on every attempt.",
  histograms: "Native histogram samples put into remote-write requests, counted on every attempt.",
  exemplars: "Exemplars put into remote-write requests, counted on every attempt.",
};

/** The metrics of one endpoint. */
export class RemoteMetrics {
  readonly samples: KindCounters;
  readonly histograms: KindCounters;
  readonly exemplars: KindCounters;
  /** Compressed bytes of sample requests (per attempt). */
  readonly bytesTotal: Counter;
  /** Duration of each send attempt (samples and metadata). */
  readonly sentBatchDuration: Histogram;
  /** Highest timestamp queued for sending, in seconds. */
  readonly highestTimestamp: Gauge;
  /** Highest timestamp successfully sent, in seconds. */
  readonly highestSentTimestamp: Gauge;
  /** Metadata entries delivered (RW 1.0 metadata requests). */
  readonly metadataTotal: Counter;
  readonly metadataFailed: Counter;
  readonly metadataRetried: Counter;
  /** Compressed bytes of delivered metadata requests. */
  readonly metadataBytes: Counter;
  /** Times this endpoint fell back from RW 2.0 to RW 1.0. */
  readonly protocolFallbacks: Counter;

  readonly #registry: Registry;
  readonly #labels: Record<string, string>;
  /** Every series created, for `dispose`: [name, labels]. */
  readonly #created: [string, Record<string, string>][] = [];
  readonly #dropped = new Map<string, Counter>();
  #protocol: RemoteWriteMessage | null = null;

  constructor(registry: Registry, opts: RemoteMetricsOptions) {
    this.#registry = registry;
    const labels = { remote_name: opts.name, url: opts.url };
    this.#labels = labels;
    const counter = (name: string, help: string) => {
      this.#created.push([name, labels]);
      return registry.counter({ name, help, labels });
    };
    const gauge = (name: string, help: string, fn?: () => number) => {
      this.#created.push([name, labels]);
      return registry.gauge({ name, help, labels, fn });
    };
    const kind = (k: ItemKind): KindCounters => {
      const what = k === "samples" ? "Samples" : k === "histograms" ? "Histograms" : "Exemplars";
      gauge(
        `${PREFIX}${k}_pending`,
        `${what} read from the WAL and waiting to be delivered.`,
        () => opts.pending(k),
      );
      return {
        total: counter(`${PREFIX}${k}_total`, HELP_TOTAL[k]),
        failed: counter(
          `${PREFIX}${k}_failed_total`,
          `${what} the receiver did not take (rejected permanently, or missing from its written counts); not retried.`,
        ),
        retried: counter(
          `${PREFIX}${k}_retried_total`,
          `${what} in requests that failed recoverably and were sent again.`,
        ),
      };
    };
    this.samples = kind("samples");
    this.histograms = kind("histograms");
    this.exemplars = kind("exemplars");
    for (const r of ["dropped_series", "unintentionally_dropped_series", "too_old"] as const) {
      this.dropped("samples", r);
    }
    this.bytesTotal = counter(
      PREFIX + "bytes_total",
      "Compressed bytes of sample requests, counted on every attempt.",
    );
    this.sentBatchDuration = registry.histogram({
      name: PREFIX + "sent_batch_duration_seconds",
      help: "Duration of each remote-write request.",
      labels,
      buckets: SENT_BATCH_BUCKETS,
    });
    this.#created.push([PREFIX + "sent_batch_duration_seconds", labels]);
    this.highestTimestamp = gauge(
      PREFIX + "queue_highest_timestamp_seconds",
      "Highest timestamp queued for sending by this endpoint, in seconds since the epoch; 0 before any.",
    );
    this.highestSentTimestamp = gauge(
      PREFIX + "queue_highest_sent_timestamp_seconds",
      "Highest timestamp delivered by this endpoint, in seconds since the epoch; 0 before any.",
    );
    gauge(
      PREFIX + "shards",
      "Shards sending in parallel to the remote storage.",
      opts.shards,
    );
    gauge(
      PREFIX + "shards_desired",
      "Shards the throughput calculation wants, before rounding and clamping to min and max.",
      opts.desiredShards,
    );
    gauge(PREFIX + "shards_min", "The minimum number of shards.").set(opts.minShards);
    gauge(PREFIX + "shards_max", "The maximum number of shards.").set(opts.maxShards);
    gauge(
      PREFIX + "shard_capacity",
      "Items (samples, histograms, exemplars) each shard buffers.",
    ).set(opts.shardCapacity);
    gauge(
      PREFIX + "max_samples_per_send",
      "The most samples, histograms and exemplars sent in one request.",
    ).set(opts.maxSamplesPerSend);
    this.metadataTotal = counter(
      PREFIX + "metadata_total",
      "Metadata entries delivered in RW 1.0 metadata requests.",
    );
    this.metadataFailed = counter(
      PREFIX + "metadata_failed_total",
      "Metadata entries in requests rejected permanently.",
    );
    this.metadataRetried = counter(
      PREFIX + "metadata_retried_total",
      "Metadata entries in requests that failed recoverably and were sent again.",
    );
    this.metadataBytes = counter(
      PREFIX + "metadata_bytes_total",
      "Compressed bytes of delivered metadata requests.",
    );
    this.protocolFallbacks = counter(
      FERRY_PREFIX + "protocol_fallbacks_total",
      "Times the endpoint switched from Remote Write 2.0 to 1.0 after a 415 answer.",
    );
  }

  /** The counter of `kind` items dropped for `reason`. */
  dropped(kind: ItemKind, reason: DropReason): Counter {
    const key = kind + "\u0000" + reason;
    let c = this.#dropped.get(key);
    if (c === undefined) {
      const labels = { ...this.#labels, reason };
      const name = `${PREFIX}${kind}_dropped_total`;
      c = this.#registry.counter({
        name,
        help: `${kind[0].toUpperCase()}${
          kind.slice(1)
        } read from the WAL but never sent, by reason.`,
        labels,
      });
      this.#created.push([name, labels]);
      this.#dropped.set(key, c);
    }
    return c;
  }

  /** Counters of one kind. */
  kind(kind: ItemKind): KindCounters {
    return kind === "samples"
      ? this.samples
      : kind === "histograms"
      ? this.histograms
      : this.exemplars;
  }

  /** Sets `ferry_remote_storage_protocol{protobuf_message=…} 1` for the protocol in use. */
  setProtocol(protocol: RemoteWriteMessage): void {
    if (this.#protocol === protocol) return;
    const name = FERRY_PREFIX + "protocol";
    if (this.#protocol !== null) {
      this.#registry.remove(name, { ...this.#labels, protobuf_message: this.#protocol });
    }
    this.#protocol = protocol;
    this.#registry.gauge({
      name,
      help: "The protocol the endpoint sends (1 for the protobuf_message in use).",
      labels: { ...this.#labels, protobuf_message: protocol },
    }).set(1);
  }

  /** Removes this endpoint's series from the registry. */
  dispose(): void {
    const r = this.#registry;
    for (const [name, labels] of this.#created) r.remove(name, labels);
    if (this.#protocol !== null) {
      r.remove(FERRY_PREFIX + "protocol", { ...this.#labels, protobuf_message: this.#protocol });
    }
  }
}

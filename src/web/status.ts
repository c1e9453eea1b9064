/**
 * What the web server needs to know about the running agent.
 *
 * The scrape manager and the remote-write endpoints implement these shapes;
 * the web layer only reads them. Every method is called per request, so it
 * should return a snapshot cheaply (no I/O) and must not be mutated by the
 * caller afterwards. Times are milliseconds since the epoch.
 *
 * @module
 */

import type { ResolvedRelabelConfig } from "../config/types.ts";
import type { EndpointStatus } from "../remote/endpoint.ts";

/** One active (kept after target relabeling) scrape target. */

export interface TargetStatus {
  /** The job name (scrape pool) the target belongs to. */
  scrapePool: string;
  /** The URL that is scraped, with query parameters. */
  scrapeUrl: string;
  /** The scrape URL as reachable from outside (localhost replaced by the external host). */
  globalUrl: string;
  /** Target labels after relabeling (what every scraped series gets). */
  labels: Record<string, string>;
  /** Labels as discovered, before relabeling (including `__` meta labels). */
  discoveredLabels: Record<string, string>;
  /** Outcome of the last scrape; `"unknown"` before the first one finished. */
  health: "up" | "down" | "unknown";
  /** Message of the last scrape error, `""` when the last scrape succeeded. */
  lastError: string;
  /** When the last scrape started (ms epoch), `null` if never scraped. */
  lastScrape: number | null;
  /** How long the last scrape took, in seconds. */
  lastScrapeDurationSeconds: number;
  /** The configured scrape interval, in milliseconds. */
  scrapeIntervalMs: number;
  /** The configured scrape timeout, in milliseconds. */
  scrapeTimeoutMs: number;
}

/** A discovered target that target relabeling dropped. */
export interface DroppedTargetStatus {
  scrapePool: string;
  /** Labels as discovered, before relabeling. */
  discoveredLabels: Record<string, string>;
}

/** State of one remote-write endpoint, as the endpoint reports it. */
export type { EndpointStatus };

/** Build details shown by `/api/v1/status/buildinfo` and `prometheus_build_info`. */
export interface BuildStatus {
  /** VCS revision (commit hash), `""` when unknown. */
  revision?: string;
  /** VCS branch, `""` when unknown. */
  branch?: string;
  buildUser?: string;
  /** Build date as free text, e.g. `20260821-10:00:00`. */
  buildDate?: string;
}

/**
 * `/api/v1/status/walreplay`, as Prometheus reports it: the first and last
 * WAL segment of the replay on start and the one being replayed (equal to
 * `max` once done).
 */
export interface WalReplayStatus {
  min: number;
  max: number;
  current: number;
}

/** Metadata of one metric family of one target, for `/api/v1/targets/metadata`. */
export interface TargetMetadata {
  /** The target's labels. */
  target: Record<string, string>;
  metric: string;
  type: string;
  help: string;
  unit: string;
}

/**
 * What the UI shows about one remote-write endpoint beyond its status (which
 * has the protocol in use and the shards).
 */
export interface RemoteWriteInfo {
  name: string;
  /** The endpoint's WAL disk cap in bytes; 0: none. */
  maxDiskBytes: number;
}

/** The WAL as the UI shows it. */
export interface WalStatus {
  /** Segment numbers, ascending (the last is the head), with the samples each holds. */
  segments: { segment: number; samples: number }[];
  /** Bytes of segments and checkpoint on disk. */
  diskBytes: number;
  /** End of the last committed record. */
  head: { segment: number; offset: number };
  /** Series known. */
  series: number;
  /** What the replay at start found. */
  replay: {
    min: number;
    max: number;
    current: number;
    durationSeconds: number;
    series: number;
    samples: number;
    corruptions: number;
  };
  /** The storage directory. */
  dir: string;
}

/** Facts for `/api/v1/status/runtimeinfo` that only the agent knows. */
export interface RuntimeStatus {
  /** Whether the last configuration (re)load succeeded. */
  reloadConfigSuccess?: boolean;
  /** When the configuration was last loaded successfully (ms epoch). */
  lastConfigTime?: number | null;
  /** WAL corruptions found and repaired since start. */
  corruptionCount?: number;
  /** Storage retention as text; `""` for the agent. */
  storageRetention?: string;
}

/**
 * Implemented by the agent for the web server. The required members are the
 * ones the brief fixed; the optional ones fill in Prometheus API fields and
 * fall back to sensible values when absent.
 */
export interface AgentStatusProvider {
  /** Active targets, in a stable order within each pool. */
  targets(): TargetStatus[];
  /** Dropped targets kept for display (may be capped, see `droppedTargetCounts`). */
  droppedTargets(): DroppedTargetStatus[];
  /** Remote-write endpoints. */
  endpoints(): EndpointStatus[];
  /** Whether startup (config load, WAL replay) finished; `/-/ready` and the API answer 503 until then. */
  ready(): boolean;
  /** Process start time (ms epoch). */
  startTime: number;
  /** Agent version, e.g. `0.1.0`. */
  version: string;
  /** The loaded configuration as YAML, for `/api/v1/status/config`. */
  configYaml?: () => string;

  // ---- optional additions (not in the original brief) ----

  /**
   * Number of dropped targets per pool, including those not kept in
   * `droppedTargets()` (Prometheus' `keep_dropped_targets`). Default: counted
   * from `droppedTargets()`, with 0 for pools that only have active targets.
   */
  droppedTargetCounts?: () => Record<string, number>;
  /** All configured scrape pool names. Default: the pools seen in targets and dropped targets. */
  scrapePools?: () => string[];
  /** Command-line flags, for `/api/v1/status/flags`. Default: `{}`. */
  flags?: () => Record<string, string>;
  /** Extra runtime facts for `/api/v1/status/runtimeinfo`. */
  runtimeInfo?: () => RuntimeStatus;
  /** Build details; every field defaults to `""`. */
  build?: BuildStatus;
  /** WAL replay progress for `/api/v1/status/walreplay`. Default: all 0. */
  walReplay?: () => WalReplayStatus;
  /** Target relabeling rules of a scrape pool; undefined for an unknown pool. */
  relabelConfigs?: (pool: string) => readonly ResolvedRelabelConfig[] | undefined;
  /** Metric metadata the scrape loops know. Default: none. */
  metadata?: () => TargetMetadata[];
  /** Remote-write details for the UI. Default: none. */
  remoteWrite?: () => RemoteWriteInfo[];
  /** The WAL for the UI. */
  wal?: () => WalStatus;
  /** The config file the agent was started with (shown for TS configs), `""` if unknown. */
  configFile?: () => string;
}

/**
 * The configuration model.
 *
 * `AgentConfig` is what config authors write (TypeScript modules, or
 * prometheus.yml mapped onto it): optional fields, each with its default.
 * `resolveConfig()` turns it into a `ResolvedConfig`, where every field is
 * present, durations are milliseconds and everything is validated.
 *
 * Field names are the camelCase of Prometheus' snake_case keys.
 *
 * @module
 */

import type { Duration } from "../model/duration.ts";

export type { Duration, DurationUnit } from "../model/duration.ts";

/** What a config module exports (default export or `config`). */
export interface AgentConfig {
  /** Settings shared by all jobs. */
  global?: GlobalConfig;
  /** Scrape jobs. */
  scrapeConfigs?: ScrapeConfig[];
  /** Remote-write endpoints; each gets its own queue and delivery cursor. */
  remoteWrite?: RemoteWriteConfig[];
}

/** The `global` section. */
export interface GlobalConfig {
  /** How often to scrape targets by default. @default "1m" */
  scrapeInterval?: Duration;
  /** How long until a scrape request times out by default. @default "10s" */
  scrapeTimeout?: Duration;
  /** Labels added to every series sent to remote write (when the series lacks them). */
  externalLabels?: Record<string, string>;
}

/** HTTP client settings shared by scrape configs and remote-write endpoints. */
export interface HttpClientConfig {
  /** HTTP basic authentication. Give `password` or `passwordFile`, not both. */
  basicAuth?: BasicAuth;
  /** `Authorization` header. Give `credentials` or `credentialsFile`, not both. */
  authorization?: Authorization;
  /** Follow HTTP 3xx redirects. @default true */
  followRedirects?: boolean;
}

/** HTTP basic authentication. */
export interface BasicAuth {
  username: string;
  password?: string;
  passwordFile?: string;
}

/** An `Authorization: <type> <credentials>` header. */
export interface Authorization {
  /** @default "Bearer" */
  type?: string;
  credentials?: string;
  credentialsFile?: string;
}

/** A scrape job. */
export interface ScrapeConfig extends HttpClientConfig {
  /** The job name, unique across the config; becomes the `job` label. */
  jobName: string;
  /** @default global.scrapeInterval */
  scrapeInterval?: Duration;
  /** Must not be longer than scrapeInterval. @default global.scrapeTimeout */
  scrapeTimeout?: Duration;
  /** @default "/metrics" */
  metricsPath?: string;
  /** @default "http" */
  scheme?: "http" | "https";
  /** URL query parameters sent with each scrape. */
  params?: Record<string, string[]>;
  /** On a clash between target and scraped labels, keep the scraped ones. @default false */
  honorLabels?: boolean;
  /** Use timestamps given by the target. @default true */
  honorTimestamps?: boolean;
  /** Fail the scrape when it has more samples than this after metric relabeling (0 = no limit). @default 0 */
  sampleLimit?: number;
  /** Fixed targets. */
  staticConfigs?: StaticConfig[];
  /** Relabeling applied to targets before scraping. */
  relabelConfigs?: RelabelConfig[];
  /** Relabeling applied to scraped series before they are stored. */
  metricRelabelConfigs?: RelabelConfig[];
}

/** A group of fixed targets with common labels. */
export interface StaticConfig {
  /** `host:port` addresses. */
  targets: string[];
  /** Labels added to every target of the group. */
  labels?: Record<string, string>;
}

/** Relabeling actions. */
export type RelabelAction =
  | "replace"
  | "keep"
  | "drop"
  | "keepequal"
  | "dropequal"
  | "hashmod"
  | "labelmap"
  | "labeldrop"
  | "labelkeep"
  | "lowercase"
  | "uppercase";

/** One relabeling rule, with Prometheus' semantics and defaults. */
export interface RelabelConfig {
  /** Labels whose values are joined with `separator` and matched against `regex`. */
  sourceLabels?: string[];
  /** @default ";" */
  separator?: string;
  /** RE2 regular expression, anchored at both ends. @default "(.*)" */
  regex?: string;
  /** For hashmod. */
  modulus?: number;
  /** Label written by replace, hashmod, lowercase, uppercase; compared by keepequal/dropequal. */
  targetLabel?: string;
  /** `$1`, `${name}` are expanded from the match. @default "$1" */
  replacement?: string;
  /** @default "replace" */
  action?: RelabelAction;
}

/** A remote-write endpoint. */
export interface RemoteWriteConfig extends HttpClientConfig {
  /** Where to POST write requests. */
  url: string;
  /** Name used in metrics and logs, unique. @default a hash of the endpoint config */
  name?: string;
  /** Timeout of one request. @default "30s" */
  remoteTimeout?: Duration;
  /** Extra HTTP headers; the protocol headers cannot be overridden. */
  headers?: Record<string, string>;
  /** Relabeling applied to series before they are sent (after external labels). */
  writeRelabelConfigs?: RelabelConfig[];
  /** Batching and retry behaviour. */
  queueConfig?: QueueConfig;
}

/** Remote-write queue tuning, as Prometheus' `queue_config`. */
export interface QueueConfig {
  /** Samples buffered per shard. @default 10000 */
  capacity?: number;
  /** @default 50 */
  maxShards?: number;
  /** @default 1 */
  minShards?: number;
  /** @default 2000 */
  maxSamplesPerSend?: number;
  /** Send a partial batch after this long. @default "5s" */
  batchSendDeadline?: Duration;
  /** @default "30ms" */
  minBackoff?: Duration;
  /** @default "5s" */
  maxBackoff?: Duration;
  /** Retry on HTTP 429 like on 5xx. @default false */
  retryOnHttp429?: boolean;
}

// ---------------------------------------------------------------------------
// Resolved model: every field present, durations in milliseconds.

/** The validated configuration the agent runs on. */
export interface ResolvedConfig {
  global: ResolvedGlobal;
  scrapeConfigs: ResolvedScrapeConfig[];
  remoteWrite: ResolvedRemoteWrite[];
}

export interface ResolvedGlobal {
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  externalLabels: Record<string, string>;
}

export interface ResolvedHttpClient {
  basicAuth?: BasicAuth;
  authorization?: { type: string; credentials?: string; credentialsFile?: string };
  followRedirects: boolean;
}

export interface ResolvedScrapeConfig extends ResolvedHttpClient {
  jobName: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  metricsPath: string;
  scheme: "http" | "https";
  params: Record<string, string[]>;
  honorLabels: boolean;
  honorTimestamps: boolean;
  sampleLimit: number;
  staticConfigs: { targets: string[]; labels: Record<string, string> }[];
  relabelConfigs: ResolvedRelabelConfig[];
  metricRelabelConfigs: ResolvedRelabelConfig[];
}

export interface ResolvedRelabelConfig {
  sourceLabels: string[];
  separator: string;
  regex: string;
  modulus: number;
  targetLabel: string;
  replacement: string;
  action: RelabelAction;
}

export interface ResolvedQueueConfig {
  capacity: number;
  maxShards: number;
  minShards: number;
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOnHttp429: boolean;
}

export interface ResolvedRemoteWrite extends ResolvedHttpClient {
  url: string;
  name: string;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  writeRelabelConfigs: ResolvedRelabelConfig[];
  queue: ResolvedQueueConfig;
}

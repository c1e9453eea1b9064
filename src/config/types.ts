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
  /**
   * Scrape only this agent's share of the targets, so several agents with the
   * same config split the work (Prometheus' `hashmod` sharding). A target
   * belongs to shard `index` iff the MD5 hashmod of its discovered
   * `__address__` modulo `total` is `index` (bytes 8..15 of the MD5 as a
   * big-endian uint64: what `{sourceLabels: ["__address__"], modulus: total,
   * targetLabel: "__tmp_hash", action: "hashmod"}` followed by a `keep` of
   * `index` does when placed first in `relabelConfigs`). The other targets are
   * dropped targets, before target relabeling. The flags `--shard.index` /
   * `--shard.total` and the environment variables `FERRY_SHARD_INDEX` /
   * `FERRY_SHARD_TOTAL` override each field (flag > environment > config).
   * @default no sharding: every target is scraped
   */
  shard?: ShardConfig;
  /**
   * The external label that `--replica NAME` (or `FERRY_REPLICA`) sets to NAME
   * so that two agents of an HA pair are told apart by the receiver:
   * `__replica__` is the Mimir/Cortex HA tracker's default (together with a
   * `cluster` external label), Thanos users set `replica`. VictoriaMetrics
   * deduplicates identical series (`-dedup.minScrapeInterval`), so there the
   * replicas are better left without a replica label. Without `--replica`
   * nothing is added.
   * @default "__replica__"
   */
  replicaLabel?: string;
  /**
   * ferry's push ingestion (prometheus.yml: the top-level `push_config`, a
   * ferry extension): what is done to data pushed to `POST /api/v1/write`
   * (Remote Write 1.0 and 2.0) and `POST /api/v1/import/prometheus` (text and
   * OpenMetrics). The endpoints exist only with
   * `--web.enable-remote-write-receiver`; without this section they run with
   * its defaults.
   */
  push?: PushConfig;
}

/** Push ingestion; see {@link AgentConfig.push}. */
export interface PushConfig {
  /**
   * Relabeling applied to every pushed series, after the extra labels
   * (`drop`/`keep` drop whole series; a series whose labels end up empty is
   * dropped).
   */
  relabelConfigs?: RelabelConfig[];
  /**
   * Labels set on every pushed series before relabeling, replacing a pushed
   * label of the same name (and the request's `extra_label` arguments).
   */
  extraLabels?: Record<string, string>;
  /** Largest request body (as sent: compressed for Remote Write); larger gets 413. @default "16MB" */
  bodySizeLimit?: number | string;
  /** Most samples (floats and histograms) in one request; more gets 413. 0: no limit. @default 0 */
  sampleLimit?: number;
  /**
   * Samples (floats and histograms) a second accepted over all pushes (a
   * token bucket); a request over it gets 429 with `Retry-After`. 0: no limit.
   * @default 0
   */
  rateLimit?: number;
  /** The bucket's size: samples accepted at once after a quiet spell. @default rateLimit (one second's worth) */
  rateLimitBurst?: number;
  /**
   * User name → bcrypt hash (`htpasswd -nBC 10 NAME`): pushes must
   * authenticate as one of them, on top of `--web.config.file`'s users
   * (which guard every path). Empty: no push-specific authentication.
   */
  basicAuthUsers?: Record<string, string>;
}

/** Which share of the targets an agent scrapes; see {@link AgentConfig.shard}. */
export interface ShardConfig {
  /** This agent's shard, 0 ≤ index < total. */
  index: number;
  /** How many agents share the targets; at least 1. */
  total: number;
}

/** The `global` section. */
export interface GlobalConfig {
  /** How often to scrape targets by default. @default "1m" */
  scrapeInterval?: Duration;
  /** How long until a scrape request times out by default. @default "10s" */
  scrapeTimeout?: Duration;
  /** Labels added to every series sent to remote write (when the series lacks them). */
  externalLabels?: Record<string, string>;
  /**
   * Most targets dropped by relabeling that each job keeps for the UI, the API
   * and `check targets` (0 = the default). Prometheus keeps all by default;
   * ferry bounds them so 100,000 dropped pods cannot exhaust memory.
   * @default 1000
   */
  keepDroppedTargets?: number;
  /**
   * Exposition formats asked for, most preferred first; jobs inherit them.
   * @default ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"]
   */
  scrapeProtocols?: ScrapeProtocol[];
  /** Default of every job's `bodySizeLimit` (0 = no limit). @default 0 */
  bodySizeLimit?: number | string;
  /** Default of every job's `sampleLimit` (0 = no limit). @default 0 */
  sampleLimit?: number;
  /** Default of every job's `targetLimit` (0 = no limit). @default 0 */
  targetLimit?: number;
  /** Default of every job's `labelLimit` (0 = no limit). @default 0 */
  labelLimit?: number;
  /** Default of every job's `labelNameLengthLimit` (0 = no limit). @default 0 */
  labelNameLengthLimit?: number;
  /** Default of every job's `labelValueLengthLimit` (0 = no limit). @default 0 */
  labelValueLengthLimit?: number;
  /** Default of every job's `scrapeNativeHistograms`. @default false */
  scrapeNativeHistograms?: boolean;
  /** Default of every job's `alwaysScrapeClassicHistograms`. @default false */
  alwaysScrapeClassicHistograms?: boolean;
}

/**
 * Exposition formats, named as Prometheus' `scrape_protocols`: the text
 * formats, and `PrometheusProto` (delimited protobuf `MetricFamily`, the only
 * one that carries native histograms).
 */
export type ScrapeProtocol =
  | "OpenMetricsText1.0.0"
  | "OpenMetricsText0.0.1"
  | "PrometheusText1.0.0"
  | "PrometheusText0.0.4"
  | "PrometheusProto";

/**
 * TLS settings of a scrape job (Prometheus' `tls_config`), through
 * `Deno.createHttpClient`. Files are read at scrape time and re-read when they
 * change. Deno has no per-client way to skip verification or to verify
 * against another name: `insecureSkipVerify: true` and `serverName` are
 * rejected at load.
 */
export interface TlsConfig {
  /** CA certificate(s), PEM, trusted in addition to Deno's root store. Give `ca` or `caFile`. */
  ca?: string;
  caFile?: string;
  /** Client certificate, PEM (with `key`/`keyFile`). Give `cert` or `certFile`. */
  cert?: string;
  certFile?: string;
  /** Client key, PEM. Give `key` or `keyFile`. */
  key?: string;
  keyFile?: string;
  /** Only `false` is accepted (Deno cannot skip verification per client). @default false */
  insecureSkipVerify?: boolean;
  /** Not supported (Deno verifies against the URL's host); only "" is accepted. */
  serverName?: string;
  /** `TLS10`, `TLS11` or `TLS12` (Deno never speaks below TLS 1.2); `TLS13` is rejected. */
  minVersion?: string;
  /** Only `TLS13` (Deno always allows TLS 1.3). */
  maxVersion?: string;
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
  /** Fail the scrape when it has more samples than this after metric relabeling (0 = no limit). @default global.sampleLimit */
  sampleLimit?: number;
  /**
   * Exposition formats asked for in `Accept`, most preferred first.
   * @default global.scrapeProtocols when given there; else, with
   * `scrapeNativeHistograms`, `PrometheusProto` followed by the defaults;
   * else the defaults (as Prometheus 3)
   */
  scrapeProtocols?: ScrapeProtocol[];
  /**
   * Format used when a target sends no Content-Type, one that does not parse,
   * or one that is not an exposition format; without it such scrapes fail (Prometheus 3).
   */
  fallbackScrapeProtocol?: ScrapeProtocol;
  /** Ask for gzip (`Accept-Encoding: gzip`, else `identity`). @default true */
  enableCompression?: boolean;
  /** Series exposed with their own timestamps get staleness markers too. @default false */
  trackTimestampsStaleness?: boolean;
  /**
   * Ingest native histograms: `PrometheusProto` is put first in `Accept`
   * (unless `scrapeProtocols` is given here or in `global`) and native
   * histograms in protobuf scrapes are stored as such.
   * @default global.scrapeNativeHistograms (false)
   */
  scrapeNativeHistograms?: boolean;
  /**
   * With native histograms, also store the classic (`_bucket`/`_sum`/`_count`)
   * series of histograms that have both forms.
   * @default global.alwaysScrapeClassicHistograms (false)
   */
  alwaysScrapeClassicHistograms?: boolean;
  /**
   * Largest uncompressed body, in bytes or as a size such as `"10MB"` (powers
   * of 2); a body this large or larger fails the scrape (0 = no limit).
   * @default global.bodySizeLimit
   */
  bodySizeLimit?: number | string;
  /** Most labels per series, `__name__` and target labels included (0 = no limit). @default global.labelLimit */
  labelLimit?: number;
  /** Longest label name, in UTF-8 bytes (0 = no limit). @default global.labelNameLengthLimit */
  labelNameLengthLimit?: number;
  /** Longest label value (the metric name included), in UTF-8 bytes (0 = no limit). @default global.labelValueLengthLimit */
  labelValueLengthLimit?: number;
  /** With more targets than this after relabeling, no target of the job is scraped (0 = no limit). @default global.targetLimit */
  targetLimit?: number;
  /** TLS for `https` targets: CA, client certificate and key. */
  tlsConfig?: TlsConfig;
  /** `http://`, `https://` or `socks5://` proxy; `user:password@` becomes proxy basic auth. */
  proxyUrl?: string;
  /** Fixed targets. */
  staticConfigs?: StaticConfig[];
  /** Targets read from JSON or YAML files, re-read when they change. */
  fileSdConfigs?: FileSdConfig[];
  /** Targets fetched from HTTP endpoints that serve Prometheus' HTTP SD format. */
  httpSdConfigs?: HttpSdConfig[];
  /** Targets from DNS records (SRV, A, AAAA, MX, NS). */
  dnsSdConfigs?: DnsSdConfig[];
  /** Targets from the Kubernetes API (nodes, pods, services, endpoints, endpoint slices, ingresses). */
  kubernetesSdConfigs?: KubernetesSdConfig[];
  /** Most dropped targets kept for the UI and API (0 = inherit). @default global.keepDroppedTargets */
  keepDroppedTargets?: number;
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

/**
 * file_sd: files holding a list of target groups, in Prometheus' format
 * (`[{ "targets": ["host:port"], "labels": { "k": "v" } }]`), as JSON
 * (`.json`) or YAML (`.yml`, `.yaml`). Each target gets `__meta_filepath`.
 */
export interface FileSdConfig {
  /**
   * Paths or globs, relative to the config file's directory; a glob (`*`, `?`,
   * `[…]`) may appear only in the last path element, which must end in
   * `.json`, `.yml` or `.yaml`.
   */
  files: string[];
  /** How often to re-read the files; changes are also seen at once through file-system events. @default "5m" */
  refreshInterval?: Duration;
}

/**
 * http_sd: a URL that answers GET with a JSON list of target groups
 * (`Content-Type: application/json`, status 200). Each target gets `__meta_url`.
 */
export interface HttpSdConfig extends HttpClientConfig {
  /** The http(s) URL to fetch. */
  url: string;
  /** How often to fetch it. @default "1m" */
  refreshInterval?: Duration;
  /** Extra request headers; each may have several values, secrets and values read from files. */
  httpHeaders?: Record<string, HttpHeader>;
}

/** Values of one custom HTTP header (Prometheus' `http_headers`); all of them are sent. */
export interface HttpHeader {
  values?: string[];
  /** Like `values`, but never shown. */
  secrets?: string[];
  /** Files whose (trimmed) content is sent, read at every request. */
  files?: string[];
}

/** DNS record types dns_sd can query. */
export type DnsRecordType = "SRV" | "A" | "AAAA" | "MX" | "NS";

/**
 * dns_sd: targets from DNS records, refreshed periodically. Targets get
 * `__meta_dns_name` and, by type, `__meta_dns_srv_record_target`,
 * `__meta_dns_srv_record_port`, `__meta_dns_mx_record_target`,
 * `__meta_dns_ns_record_target`.
 */
export interface DnsSdConfig {
  /** Names to query. */
  names: string[];
  /** @default "SRV" */
  type?: DnsRecordType;
  /** The port of each target; required for every type but SRV (whose records carry it). */
  port?: number;
  /** @default "30s" */
  refreshInterval?: Duration;
}

/** What a kubernetes_sd config discovers. */
export type KubernetesRole = "node" | "pod" | "service" | "endpoints" | "endpointslice" | "ingress";

/**
 * kubernetes_sd: targets from the Kubernetes API, kept in sync by LIST and
 * WATCH, with Prometheus' `__meta_kubernetes_*` labels. Without `apiServer`
 * and `kubeconfigFile` the pod's service account is used (in-cluster:
 * `KUBERNETES_SERVICE_HOST`/`_PORT` and
 * `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`).
 * The HTTP client settings (`basicAuth`, `authorization`, `tlsConfig`,
 * `proxyUrl`, `followRedirects`) apply only with `apiServer`.
 */
export interface KubernetesSdConfig extends HttpClientConfig {
  role: KubernetesRole;
  /** The API server's URL. Not with `kubeconfigFile`. */
  apiServer?: string;
  /** A kubeconfig file (its current context). Not with `apiServer`. */
  kubeconfigFile?: string;
  /** Namespaces to watch; default: all. */
  namespaces?: {
    /** Also the pod's own namespace (in-cluster only). */
    ownNamespace?: boolean;
    names?: string[];
  };
  /** Label and field selectors per resource (at most one per role). */
  selectors?: { role: KubernetesRole; label?: string; field?: string }[];
  /** Extra metadata on targets. */
  attachMetadata?: {
    /** Node labels and annotations (pod, endpoints, endpointslice). */
    node?: boolean;
    /** Namespace labels and annotations. */
    namespace?: boolean;
    /** `__meta_kubernetes_pod_deployment_name` (pod role). */
    deployment?: boolean;
    /** `__meta_kubernetes_pod_job_name` (pod role). */
    job?: boolean;
    /** `__meta_kubernetes_pod_cronjob_name` (pod role). */
    cronjob?: boolean;
  };
  /** TLS towards the API server (with `apiServer`). */
  tlsConfig?: TlsConfig;
  /** Proxy towards the API server (with `apiServer`). */
  proxyUrl?: string;
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
  /**
   * Name used in metrics and logs and as the key of the endpoint's WAL delivery cursor; unique.
   * @default 6 hex digits of the SHA-256 of the URL (Prometheus hashes the whole config)
   */
  name?: string;
  /** Timeout of one request. @default "30s" */
  remoteTimeout?: Duration;
  /** Extra HTTP headers; the protocol headers cannot be overridden. */
  headers?: Record<string, string>;
  /** Relabeling applied to series before they are sent (after external labels). */
  writeRelabelConfigs?: RelabelConfig[];
  /** Batching, sharding and retry behaviour. */
  queueConfig?: QueueConfig;
  /**
   * The protocol: Remote Write 1.0 (`prometheus.WriteRequest`) or 2.0
   * (`io.prometheus.write.v2.Request`: symbols, inline metadata, start times).
   * @default "prometheus.WriteRequest"
   */
  protobufMessage?: RemoteWriteMessage;
  /**
   * ferry's extension (YAML `fallback_to_rw1`): with RW 2.0, when the receiver
   * answers 415 Unsupported Media Type, send RW 1.0 from then on (logged, and
   * counted in `ferry_remote_storage_protocol_fallbacks_total`).
   * @default false
   */
  fallbackToRw1?: boolean;
  /** Send exemplars. @default false */
  sendExemplars?: boolean;
  /** Send native histograms. @default false */
  sendNativeHistograms?: boolean;
  /** RW 1.0 metadata requests (RW 2.0 always sends metadata inline). */
  metadataConfig?: MetadataConfig;
  /** OAuth 2.0 client credentials: a token fetched from `tokenUrl` is sent as Bearer. */
  oauth2?: OAuth2Config;
  /** AWS Signature Version 4 (Amazon Managed Service for Prometheus). */
  sigv4?: SigV4Config;
  /** TLS: CA, client certificate and key. */
  tlsConfig?: TlsConfig;
  /** `http://`, `https://` or `socks5://` proxy; `user:password@` becomes proxy basic auth. */
  proxyUrl?: string;
  /**
   * ferry's extension (YAML `max_disk_bytes`): the most WAL this endpoint may
   * hold back undelivered, as bytes or a size such as `"512MB"` (powers of
   * 2). When it is exceeded, the endpoint skips its oldest undelivered WAL
   * segments; the samples skipped are logged and counted in
   * `prometheus_remote_storage_samples_dropped_total{reason="wal_disk_cap"}`.
   * The WAL-wide cap is the flag `--storage.agent.max-disk-bytes`.
   * @default 0 (no cap)
   */
  maxDiskBytes?: number | string;
}

/** Remote-write protocols, by their `protobuf_message` name. */
export type RemoteWriteMessage = "prometheus.WriteRequest" | "io.prometheus.write.v2.Request";

/** Prometheus' `metadata_config`. */
export interface MetadataConfig {
  /** Send metric metadata. @default true */
  send?: boolean;
  /** How often RW 1.0 sends all metadata. @default "1m" */
  sendInterval?: Duration;
  /** Metadata entries per RW 1.0 metadata request. @default 2000 */
  maxSamplesPerSend?: number;
}

/** OAuth 2.0 client credentials grant (RFC 6749 §4.4). */
export interface OAuth2Config {
  clientId: string;
  /** Give `clientSecret` or `clientSecretFile` (or neither, for a public client). */
  clientSecret?: string;
  /** Read (trimmed) each time a token is fetched, so a rotated secret is picked up. */
  clientSecretFile?: string;
  /** Sent space-separated as `scope`. */
  scopes?: string[];
  /** The token endpoint, an http(s) URL. */
  tokenUrl: string;
  /** Extra form parameters of the token request. */
  endpointParams?: Record<string, string>;
  /** TLS for the token endpoint. */
  tlsConfig?: TlsConfig;
  /** Proxy for the token endpoint. */
  proxyUrl?: string;
}

/**
 * AWS SigV4 request signing. Credentials come from `accessKey`/`secretKey`,
 * else from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
 * `AWS_SESSION_TOKEN`; the region from `region`, else `AWS_REGION` or
 * `AWS_DEFAULT_REGION` (reading the environment needs `--allow-env`).
 */
export interface SigV4Config {
  region?: string;
  accessKey?: string;
  secretKey?: string;
  /** Not supported (needs the AWS SDK's profile files); rejected at load. */
  profile?: string;
  /** Not supported (needs STS AssumeRole); rejected at load. */
  roleArn?: string;
  /** @default "aps" */
  serviceName?: string;
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
  /** Samples older than this are dropped instead of sent (0: never). @default "0s" */
  sampleAgeLimit?: Duration;
  /**
   * ferry's extension (YAML `max_bytes_per_send`): a batch is sent once its
   * encoded size would pass this many bytes (before compression).
   * @default 4194304 (4 MiB)
   */
  maxBytesPerSend?: number;
}

// ---------------------------------------------------------------------------
// Resolved model: every field present, durations in milliseconds.

/** The validated configuration the agent runs on. */
export interface ResolvedConfig {
  global: ResolvedGlobal;
  scrapeConfigs: ResolvedScrapeConfig[];
  remoteWrite: ResolvedRemoteWrite[];
  /** This agent's shard (copied into every job as `shard`); null: no sharding. */
  shard: ShardConfig | null;
  /** The external label the HA replica name goes into. */
  replicaLabel: string;
  /** Push ingestion; absent when the config has no `push` section (then the defaults apply). */
  push?: ResolvedPushConfig;
}

/** {@link PushConfig} resolved. */
export interface ResolvedPushConfig {
  relabelConfigs: ResolvedRelabelConfig[];
  extraLabels: Record<string, string>;
  /** Bytes. */
  bodySizeLimit: number;
  /** 0: no limit. */
  sampleLimit: number;
  /** Samples a second; 0: no limit. */
  rateLimit: number;
  rateLimitBurst: number;
  basicAuthUsers: Record<string, string>;
}

export interface ResolvedGlobal {
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  externalLabels: Record<string, string>;
  keepDroppedTargets: number;
  scrapeProtocols: ScrapeProtocol[];
  bodySizeLimit: number;
  sampleLimit: number;
  targetLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
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
  /** Non-empty, no duplicates. */
  scrapeProtocols: ScrapeProtocol[];
  /** "" when none. */
  fallbackScrapeProtocol: ScrapeProtocol | "";
  enableCompression: boolean;
  trackTimestampsStaleness: boolean;
  scrapeNativeHistograms: boolean;
  alwaysScrapeClassicHistograms: boolean;
  /** Bytes; 0: no limit. */
  bodySizeLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  targetLimit: number;
  tlsConfig: ResolvedTlsConfig;
  /** "" when none. */
  proxyUrl: string;
  staticConfigs: { targets: string[]; labels: Record<string, string> }[];
  fileSdConfigs: ResolvedFileSdConfig[];
  httpSdConfigs: ResolvedHttpSdConfig[];
  dnsSdConfigs: ResolvedDnsSdConfig[];
  /** Absent when the job has none. */
  kubernetesSdConfigs?: ResolvedKubernetesSdConfig[];
  /** Always at least 1. */
  keepDroppedTargets: number;
  relabelConfigs: ResolvedRelabelConfig[];
  metricRelabelConfigs: ResolvedRelabelConfig[];
  /**
   * The config's shard, copied here so that a job whose shard changed is
   * restarted on reload; absent when the agent is not sharded.
   */
  shard?: ShardConfig;
}

/** TLS material; "" where not given (file paths absolute when the config's directory was known). */
export interface ResolvedTlsConfig {
  ca: string;
  caFile: string;
  cert: string;
  certFile: string;
  key: string;
  keyFile: string;
}

export interface ResolvedFileSdConfig {
  /** Absolute when the config's directory was known. */
  files: string[];
  refreshIntervalMs: number;
}

export interface ResolvedHttpSdConfig extends ResolvedHttpClient {
  url: string;
  refreshIntervalMs: number;
  httpHeaders: Record<string, { values: string[]; secrets: string[]; files: string[] }>;
}

export interface ResolvedKubernetesSdConfig extends ResolvedHttpClient {
  role: KubernetesRole;
  /** "" when not given. */
  apiServer: string;
  /** "" when not given; absolute when the config's directory was known. */
  kubeconfigFile: string;
  namespaces: { ownNamespace: boolean; names: string[] };
  selectors: { role: KubernetesRole; label: string; field: string }[];
  attachMetadata: {
    node: boolean;
    namespace: boolean;
    deployment: boolean;
    job: boolean;
    cronjob: boolean;
  };
  tlsConfig: ResolvedTlsConfig;
  /** "" when none. */
  proxyUrl: string;
}

export interface ResolvedDnsSdConfig {
  names: string[];
  type: DnsRecordType;
  /** 0 for SRV without a port. */
  port: number;
  refreshIntervalMs: number;
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
  /** 0: no limit. */
  sampleAgeLimitMs: number;
  maxBytesPerSend: number;
}

export interface ResolvedMetadataConfig {
  send: boolean;
  sendIntervalMs: number;
  maxSamplesPerSend: number;
}

export interface ResolvedOAuth2 {
  clientId: string;
  clientSecret: string;
  /** "" when the secret is inline. */
  clientSecretFile: string;
  scopes: string[];
  tokenUrl: string;
  endpointParams: Record<string, string>;
  tlsConfig: ResolvedTlsConfig;
  proxyUrl: string;
}

export interface ResolvedSigV4 {
  /** "" : from `AWS_REGION` (or `AWS_DEFAULT_REGION`) at request time. */
  region: string;
  /** "" : from the environment at request time. */
  accessKey: string;
  secretKey: string;
  serviceName: string;
}

export interface ResolvedRemoteWrite extends ResolvedHttpClient {
  url: string;
  name: string;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  writeRelabelConfigs: ResolvedRelabelConfig[];
  queue: ResolvedQueueConfig;
  protobufMessage: RemoteWriteMessage;
  fallbackToRw1: boolean;
  sendExemplars: boolean;
  sendNativeHistograms: boolean;
  metadata: ResolvedMetadataConfig;
  /** At most one of oauth2, sigv4, basicAuth, authorization is set. */
  oauth2?: ResolvedOAuth2;
  sigv4?: ResolvedSigV4;
  tlsConfig: ResolvedTlsConfig;
  /** "" when none. */
  proxyUrl: string;
  /** WAL bytes this endpoint may hold back undelivered; 0: no cap. */
  maxDiskBytes: number;
}

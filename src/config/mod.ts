/**
 * The configuration pipeline: load a TypeScript config module (sandboxed) or
 * a prometheus.yml, validate it and apply Prometheus' defaults.
 *
 * ```
 * agent.config.ts ─ loadConfig (Worker sandbox) ─┐
 * prometheus.yml  ─ parsePrometheusYaml ─────────┴─ resolveConfig ─► ResolvedConfig
 * ```
 *
 * @module
 */

export { ConfigError, type ConfigIssue, formatIssue } from "./errors.ts";
export { loadConfig, type LoadedConfig, type LoadOptions } from "./load.ts";
export { loadYamlConfig, parsePrometheusYaml, type ParseYamlOptions } from "./prometheus.ts";
export { resolveConfig, type ResolveOptions } from "./resolve.ts";
export type {
  AgentConfig,
  Authorization,
  BasicAuth,
  DnsRecordType,
  DnsSdConfig,
  Duration,
  DurationUnit,
  FileSdConfig,
  GlobalConfig,
  HttpClientConfig,
  HttpHeader,
  HttpSdConfig,
  KubernetesRole,
  KubernetesSdConfig,
  MetadataConfig,
  OAuth2Config,
  PushConfig,
  QueueConfig,
  RelabelAction,
  RelabelConfig,
  RemoteWriteConfig,
  RemoteWriteMessage,
  ResolvedConfig,
  ResolvedDnsSdConfig,
  ResolvedFileSdConfig,
  ResolvedGlobal,
  ResolvedHttpClient,
  ResolvedHttpSdConfig,
  ResolvedKubernetesSdConfig,
  ResolvedMetadataConfig,
  ResolvedOAuth2,
  ResolvedPushConfig,
  ResolvedQueueConfig,
  ResolvedRelabelConfig,
  ResolvedRemoteWrite,
  ResolvedScrapeConfig,
  ResolvedSigV4,
  ResolvedTlsConfig,
  ScrapeConfig,
  ScrapeProtocol,
  ShardConfig,
  SigV4Config,
  StaticConfig,
  TlsConfig,
} from "./types.ts";

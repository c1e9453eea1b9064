/**
 * prometheus.yml → the config model.
 *
 * Parses with npm:yaml (keeping node positions for line numbers) and maps the
 * snake_case keys Prometheus Agent accepts onto `AgentConfig`, reproducing
 * what Prometheus' strict go-yaml v2 decoding does:
 *
 * - unknown keys are errors, with the line and column;
 * - keys Prometheus knows but ferry does not support yet are named in an error
 *   ("not supported by ferry yet"), unless their value is empty or equals
 *   Prometheus' default; `rule_files`, `alerting` and `remote_read` are
 *   rejected as in agent mode ("not allowed in agent mode") when non-empty;
 * - string fields keep a plain scalar's source text (`regex: 1.0` is "1.0",
 *   `replacement: 010` is "010"), booleans accept YAML 1.1's
 *   `yes/no/on/off/y/n`, integers accept `0x…`, `0b…`, leading-zero octal and
 *   `_` separators, `null`/`~`/empty mean "not set";
 * - `<<` merge keys and aliases work;
 * - `$VAR`/`${VAR}` in `external_labels` values are expanded when an `env`
 *   lookup is given (as Prometheus does at load).
 *
 * @module
 */

import process from "node:process";
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Document, Scalar, YAMLMap } from "yaml";
import { ConfigError, type ConfigIssue, fieldPath, indexPath, keyPath, suggest } from "./errors.ts";
import { resolveConfigStyled, type ResolveOptions } from "./resolve.ts";
import type { AgentConfig, ResolvedConfig } from "./types.ts";

/** Options of {@link parsePrometheusYaml}. */
export interface ParseYamlOptions {
  /** File name used in messages (`prometheus.yml:7:5: …`). @default "prometheus.yml" */
  file?: string;
  /**
   * Looks up environment variables for `$VAR` in `external_labels` values.
   * Without it the values are kept as written. May throw to report that a
   * variable cannot be read.
   */
  env?: (name: string) => string | undefined;
  /** Receives non-fatal notes, e.g. `evaluation_interval` has no effect in agent mode. */
  onWarning?: (warning: ConfigIssue) => void;
}

/**
 * Parses a prometheus.yml into the config model (not yet validated or
 * defaulted: pass the result to `resolveConfig`, or use {@link loadYamlConfig}).
 *
 * @throws {ConfigError} for YAML syntax errors, unknown or unsupported keys and
 * values of the wrong type, each with file, line and column.
 */
export function parsePrometheusYaml(text: string, opts: ParseYamlOptions = {}): AgentConfig {
  const parsed = parseYaml(text, opts);
  if (parsed.issues.length > 0) throw new ConfigError(parsed.issues, { source: parsed.file });
  return parsed.config;
}

/**
 * Parses and resolves a prometheus.yml. Problems found while resolving
 * (a timeout longer than its interval, a duplicate job name…) are reported
 * with snake_case paths and the line of the offending key.
 *
 * @throws {ConfigError} listing every problem.
 */
export function loadYamlConfig(
  text: string,
  file: string,
  opts: Omit<ParseYamlOptions, "file"> & Pick<ResolveOptions, "baseDir"> = {},
): ResolvedConfig {
  const parsed = parseYaml(text, { ...opts, file });
  if (parsed.issues.length > 0) throw new ConfigError(parsed.issues, { source: file });
  try {
    return resolveConfigStyled(parsed.config, { style: "snake", baseDir: opts.baseDir });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const issues = e.issues.map((i) => locate(i, parsed.positions, file));
    // Document order; issues without a line (whole-config problems) first.
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new ConfigError(issues, { source: file });
  }
}

// ---------------------------------------------------------------------------
// Schema: what each section accepts, and what it knows but ferry does not.

type Kind =
  | "string"
  | "bool"
  | "int"
  | "duration"
  | "stringMap"
  | "stringList"
  | "stringListMap"
  | { object: Section }
  | { list: Section }
  | { map: Section };

interface Section {
  /** yaml key → [model key, kind] */
  fields: Record<string, readonly [string, Kind]>;
  /** Keys Prometheus knows that ferry does not support yet. */
  unsupported?: readonly string[];
  /** Key suffixes of that kind (`_sd_configs`). */
  unsupportedSuffix?: string;
  /**
   * Unsupported keys whose Prometheus default (given as written in YAML) is
   * accepted silently; for a map, every key written must be listed with its
   * default (`tls_config: { insecure_skip_verify: false }`).
   */
  noop?: Record<string, string | Record<string, string>>;
  /** Keys Prometheus Agent rejects when they are non-empty. */
  agentForbidden?: readonly string[];
  /** Keys accepted and ignored, with the warning to give. */
  ignored?: Record<string, string>;
}

const HTTP_UNSUPPORTED = [
  "oauth2",
  "tls_config",
  "proxy_url",
  "no_proxy",
  "proxy_from_environment",
  "proxy_connect_header",
  "http_headers",
  "enable_http2",
  "bearer_token",
  "bearer_token_file",
] as const;

const RELABEL: Section = {
  fields: {
    source_labels: ["sourceLabels", "stringList"],
    separator: ["separator", "string"],
    regex: ["regex", "string"],
    modulus: ["modulus", "int"],
    target_label: ["targetLabel", "string"],
    replacement: ["replacement", "string"],
    action: ["action", "string"],
  },
};

const BASIC_AUTH: Section = {
  fields: {
    username: ["username", "string"],
    password: ["password", "string"],
    password_file: ["passwordFile", "string"],
  },
  unsupported: ["username_file", "username_ref", "password_ref"],
};

const AUTHORIZATION: Section = {
  fields: {
    type: ["type", "string"],
    credentials: ["credentials", "string"],
    credentials_file: ["credentialsFile", "string"],
  },
  unsupported: ["credentials_ref"],
};

const HTTP_FIELDS = {
  basic_auth: ["basicAuth", { object: BASIC_AUTH }],
  authorization: ["authorization", { object: AUTHORIZATION }],
  follow_redirects: ["followRedirects", "bool"],
} as const;

const TLS: Section = {
  fields: {
    ca: ["ca", "string"],
    ca_file: ["caFile", "string"],
    cert: ["cert", "string"],
    cert_file: ["certFile", "string"],
    key: ["key", "string"],
    key_file: ["keyFile", "string"],
    server_name: ["serverName", "string"],
    insecure_skip_verify: ["insecureSkipVerify", "bool"],
    min_version: ["minVersion", "string"],
    max_version: ["maxVersion", "string"],
  },
  unsupported: ["ca_ref", "cert_ref", "key_ref"],
};

const STATIC: Section = {
  fields: { targets: ["targets", "stringList"], labels: ["labels", "stringMap"] },
};

const FILE_SD: Section = {
  fields: { files: ["files", "stringList"], refresh_interval: ["refreshInterval", "duration"] },
};

const HTTP_HEADER: Section = {
  fields: {
    values: ["values", "stringList"],
    secrets: ["secrets", "stringList"],
    files: ["files", "stringList"],
  },
};

const HTTP_SD: Section = {
  fields: {
    url: ["url", "string"],
    refresh_interval: ["refreshInterval", "duration"],
    http_headers: ["httpHeaders", { map: HTTP_HEADER }],
    ...HTTP_FIELDS,
  },
  unsupported: HTTP_UNSUPPORTED.filter((k) => k !== "http_headers"),
  noop: {
    enable_http2: "true",
    proxy_from_environment: "false",
    tls_config: { insecure_skip_verify: "false" },
  },
};

const KUBERNETES_SD: Section = {
  fields: {
    role: ["role", "string"],
    api_server: ["apiServer", "string"],
    kubeconfig_file: ["kubeconfigFile", "string"],
    namespaces: ["namespaces", {
      object: {
        fields: { own_namespace: ["ownNamespace", "bool"], names: ["names", "stringList"] },
      },
    }],
    selectors: ["selectors", {
      list: {
        fields: {
          role: ["role", "string"],
          label: ["label", "string"],
          field: ["field", "string"],
        },
      },
    }],
    attach_metadata: ["attachMetadata", {
      object: {
        fields: {
          node: ["node", "bool"],
          namespace: ["namespace", "bool"],
          deployment: ["deployment", "bool"],
          job: ["job", "bool"],
          cronjob: ["cronjob", "bool"],
        },
      },
    }],
    tls_config: ["tlsConfig", { object: TLS }],
    proxy_url: ["proxyUrl", "string"],
    ...HTTP_FIELDS,
  },
  unsupported: HTTP_UNSUPPORTED.filter((k) => k !== "tls_config" && k !== "proxy_url"),
  noop: { enable_http2: "true", proxy_from_environment: "false" },
};

const DNS_SD: Section = {
  fields: {
    names: ["names", "stringList"],
    type: ["type", "string"],
    port: ["port", "int"],
    refresh_interval: ["refreshInterval", "duration"],
  },
};

const SCRAPE: Section = {
  fields: {
    job_name: ["jobName", "string"],
    scrape_interval: ["scrapeInterval", "duration"],
    scrape_timeout: ["scrapeTimeout", "duration"],
    metrics_path: ["metricsPath", "string"],
    scheme: ["scheme", "string"],
    params: ["params", "stringListMap"],
    honor_labels: ["honorLabels", "bool"],
    honor_timestamps: ["honorTimestamps", "bool"],
    sample_limit: ["sampleLimit", "int"],
    scrape_protocols: ["scrapeProtocols", "stringList"],
    fallback_scrape_protocol: ["fallbackScrapeProtocol", "string"],
    enable_compression: ["enableCompression", "bool"],
    track_timestamps_staleness: ["trackTimestampsStaleness", "bool"],
    scrape_native_histograms: ["scrapeNativeHistograms", "bool"],
    always_scrape_classic_histograms: ["alwaysScrapeClassicHistograms", "bool"],
    body_size_limit: ["bodySizeLimit", "string"],
    label_limit: ["labelLimit", "int"],
    label_name_length_limit: ["labelNameLengthLimit", "int"],
    label_value_length_limit: ["labelValueLengthLimit", "int"],
    target_limit: ["targetLimit", "int"],
    tls_config: ["tlsConfig", { object: TLS }],
    proxy_url: ["proxyUrl", "string"],
    static_configs: ["staticConfigs", { list: STATIC }],
    file_sd_configs: ["fileSdConfigs", { list: FILE_SD }],
    http_sd_configs: ["httpSdConfigs", { list: HTTP_SD }],
    dns_sd_configs: ["dnsSdConfigs", { list: DNS_SD }],
    kubernetes_sd_configs: ["kubernetesSdConfigs", { list: KUBERNETES_SD }],
    keep_dropped_targets: ["keepDroppedTargets", "int"],
    relabel_configs: ["relabelConfigs", { list: RELABEL }],
    metric_relabel_configs: ["metricRelabelConfigs", { list: RELABEL }],
    ...HTTP_FIELDS,
  },
  unsupported: [
    ...HTTP_UNSUPPORTED.filter((k) => k !== "tls_config" && k !== "proxy_url"),
    "scrape_failure_log_file",
    "scrape_classic_histograms",
    "convert_classic_histograms_to_nhcb",
    "native_histogram_bucket_limit",
    "native_histogram_min_bucket_factor",
    "metric_name_validation_scheme",
    "metric_name_escaping_scheme",
    "extra_scrape_metrics",
    "scrape_config_files",
  ],
  unsupportedSuffix: "_sd_configs",
  noop: {
    enable_http2: "true",
    proxy_from_environment: "false",
    scrape_classic_histograms: "false",
    convert_classic_histograms_to_nhcb: "false",
    extra_scrape_metrics: "false",
    native_histogram_bucket_limit: "0",
    metric_name_validation_scheme: "utf8",
  },
};

const QUEUE: Section = {
  fields: {
    capacity: ["capacity", "int"],
    max_shards: ["maxShards", "int"],
    min_shards: ["minShards", "int"],
    max_samples_per_send: ["maxSamplesPerSend", "int"],
    batch_send_deadline: ["batchSendDeadline", "duration"],
    min_backoff: ["minBackoff", "duration"],
    max_backoff: ["maxBackoff", "duration"],
    retry_on_http_429: ["retryOnHttp429", "bool"],
    sample_age_limit: ["sampleAgeLimit", "duration"],
    // ferry's extension: batches are also bounded in (uncompressed) bytes.
    max_bytes_per_send: ["maxBytesPerSend", "int"],
  },
};

const METADATA: Section = {
  fields: {
    send: ["send", "bool"],
    send_interval: ["sendInterval", "duration"],
    max_samples_per_send: ["maxSamplesPerSend", "int"],
  },
};

const OAUTH2: Section = {
  fields: {
    client_id: ["clientId", "string"],
    client_secret: ["clientSecret", "string"],
    client_secret_file: ["clientSecretFile", "string"],
    scopes: ["scopes", "stringList"],
    token_url: ["tokenUrl", "string"],
    endpoint_params: ["endpointParams", "stringMap"],
    tls_config: ["tlsConfig", { object: TLS }],
    proxy_url: ["proxyUrl", "string"],
  },
  unsupported: [
    "client_secret_ref",
    "grant_type",
    "client_certificate_key",
    "client_certificate_key_file",
    "client_certificate_key_id",
    "client_certificate_key_ref",
    "signature_algorithm",
    "iss",
    "audience",
    "claims",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
  ],
  noop: { grant_type: "client_credentials", proxy_from_environment: "false" },
};

const SIGV4: Section = {
  fields: {
    region: ["region", "string"],
    access_key: ["accessKey", "string"],
    secret_key: ["secretKey", "string"],
    profile: ["profile", "string"],
    role_arn: ["roleArn", "string"],
    service_name: ["serviceName", "string"],
  },
  unsupported: ["external_id", "use_fips_sts_endpoint"],
  noop: { use_fips_sts_endpoint: "false" },
};

const REMOTE_WRITE: Section = {
  fields: {
    url: ["url", "string"],
    name: ["name", "string"],
    remote_timeout: ["remoteTimeout", "duration"],
    headers: ["headers", "stringMap"],
    write_relabel_configs: ["writeRelabelConfigs", { list: RELABEL }],
    queue_config: ["queueConfig", { object: QUEUE }],
    protobuf_message: ["protobufMessage", "string"],
    // ferry's extension: with RW 2.0, switch to RW 1.0 when the receiver answers 415.
    fallback_to_rw1: ["fallbackToRw1", "bool"],
    send_exemplars: ["sendExemplars", "bool"],
    send_native_histograms: ["sendNativeHistograms", "bool"],
    metadata_config: ["metadataConfig", { object: METADATA }],
    oauth2: ["oauth2", { object: OAUTH2 }],
    sigv4: ["sigv4", { object: SIGV4 }],
    tls_config: ["tlsConfig", { object: TLS }],
    proxy_url: ["proxyUrl", "string"],
    // ferry's extension: a per-endpoint cap on undelivered WAL bytes.
    max_disk_bytes: ["maxDiskBytes", "string"],
    ...HTTP_FIELDS,
  },
  unsupported: [
    ...HTTP_UNSUPPORTED.filter((k) => k !== "oauth2" && k !== "tls_config" && k !== "proxy_url"),
    "round_robin_dns",
    "azuread",
    "google_iam",
  ],
  noop: {
    enable_http2: "false",
    proxy_from_environment: "false",
    round_robin_dns: "false",
  },
};

const GLOBAL: Section = {
  fields: {
    scrape_interval: ["scrapeInterval", "duration"],
    scrape_timeout: ["scrapeTimeout", "duration"],
    external_labels: ["externalLabels", "stringMap"],
    keep_dropped_targets: ["keepDroppedTargets", "int"],
    scrape_protocols: ["scrapeProtocols", "stringList"],
    body_size_limit: ["bodySizeLimit", "string"],
    sample_limit: ["sampleLimit", "int"],
    target_limit: ["targetLimit", "int"],
    label_limit: ["labelLimit", "int"],
    label_name_length_limit: ["labelNameLengthLimit", "int"],
    label_value_length_limit: ["labelValueLengthLimit", "int"],
    scrape_native_histograms: ["scrapeNativeHistograms", "bool"],
    always_scrape_classic_histograms: ["alwaysScrapeClassicHistograms", "bool"],
  },
  ignored: {
    evaluation_interval: "has no effect in agent mode (there are no rules)",
    rule_query_offset: "has no effect in agent mode (there are no rules)",
  },
  unsupported: [
    "query_log_file",
    "scrape_failure_log_file",
    "metric_name_validation_scheme",
    "metric_name_escaping_scheme",
    "convert_classic_histograms_to_nhcb",
    "extra_scrape_metrics",
  ],
  noop: {
    metric_name_validation_scheme: "utf8",
    convert_classic_histograms_to_nhcb: "false",
    extra_scrape_metrics: "false",
  },
};

/** ferry's extension: push ingestion (`AgentConfig.push`); Prometheus has no such section. */
const PUSH: Section = {
  fields: {
    relabel_configs: ["relabelConfigs", { list: RELABEL }],
    extra_labels: ["extraLabels", "stringMap"],
    body_size_limit: ["bodySizeLimit", "string"],
    sample_limit: ["sampleLimit", "int"],
    rate_limit: ["rateLimit", "int"],
    rate_limit_burst: ["rateLimitBurst", "int"],
    basic_auth_users: ["basicAuthUsers", "stringMap"],
  },
};

const ROOT: Section = {
  fields: {
    global: ["global", { object: GLOBAL }],
    scrape_configs: ["scrapeConfigs", { list: SCRAPE }],
    remote_write: ["remoteWrite", { list: REMOTE_WRITE }],
    // ferry's extension (a prometheus.yml with it is ferry-only: Prometheus rejects the key).
    push_config: ["push", { object: PUSH }],
  },
  agentForbidden: ["rule_files", "alerting", "remote_read"],
  unsupported: ["scrape_config_files", "storage", "tracing", "otlp", "runtime"],
};

// ---------------------------------------------------------------------------
// The walk

interface Pos {
  line: number;
  column: number;
}

interface Parsed {
  config: AgentConfig;
  issues: ConfigIssue[];
  /** snake_case path → position of its key (or list item). */
  positions: Map<string, Pos>;
  file: string;
}

/** More alias expansions than this is treated as an attack (a "billion laughs" document). */
const MAX_ALIAS_RESOLUTIONS = 10_000;

class AliasLimitError extends Error {}

class Walker {
  readonly issues: ConfigIssue[] = [];
  readonly positions = new Map<string, Pos>();
  #aliases = 0;
  constructor(
    readonly doc: Document,
    readonly lc: LineCounter,
    readonly file: string,
    readonly opts: ParseYamlOptions,
  ) {}

  pos(node: Node | null | undefined): Pos {
    const off = node?.range?.[0] ?? 0;
    const { line, col } = this.lc.linePos(off);
    return { line, column: col };
  }

  issue(node: Node | null | undefined, path: string, message: string): void {
    this.issues.push({ path, message, file: this.file, ...this.pos(node) });
  }

  warn(node: Node | null | undefined, path: string, message: string): void {
    this.opts.onWarning?.({ path, message, file: this.file, ...this.pos(node) });
  }

  /** Follows aliases. */
  deref(node: unknown): Node | null {
    let n = node as Node | null | undefined;
    for (let i = 0; n && isAlias(n) && i < 100; i++) {
      if (++this.#aliases > MAX_ALIAS_RESOLUTIONS) throw new AliasLimitError();
      n = n.resolve(this.doc) as Node | undefined;
    }
    return n && !isAlias(n) ? n : null;
  }

  isNull(node: Node | null): boolean {
    if (node === null) return true;
    if (!isScalar(node)) return false;
    if (node.type !== "PLAIN" || hasStrTag(node)) return false;
    return node.value === null || /^(?:~|null|Null|NULL|)$/.test(plainText(node));
  }

  /** Whether a value sets anything at all (null, `{}`, `[]` and "" do not). */
  isEmpty(node: Node | null): boolean {
    if (this.isNull(node)) return true;
    if (isMap(node)) return this.pairs(node, "", true).every((p) => this.isEmpty(p.value));
    if (isSeq(node)) return node.items.length === 0;
    return false;
  }

  /** A map's entries with `<<` merge keys expanded (explicit keys win). */
  pairs(
    map: YAMLMap,
    path: string,
    quiet = false,
    depth = 0,
  ): { key: string; keyNode: Node | null; value: Node | null }[] {
    const out: { key: string; keyNode: Node | null; value: Node | null }[] = [];
    const merged: { key: string; keyNode: Node | null; value: Node | null }[] = [];
    for (const item of map.items) {
      const keyNode = this.deref(item.key);
      const value = this.deref(item.value);
      if (!keyNode || !isScalar(keyNode)) {
        if (!quiet) this.issue(keyNode, path, `${describePath(path)}: map keys must be scalars`);
        continue;
      }
      const key = scalarText(keyNode);
      if (key === "<<" && keyNode.type === "PLAIN" && !hasStrTag(keyNode) && depth < 10) {
        const sources = isSeq(value) ? value.items.map((n) => this.deref(n)) : [value];
        for (const src of sources) {
          if (isMap(src)) {
            for (const p of this.pairs(src, path, quiet, depth + 1)) {
              if (!merged.some((m) => m.key === p.key)) merged.push(p);
            }
          } else if (!quiet) {
            this.issue(src ?? keyNode, path, `${describePath(path)}: << must merge a map`);
          }
        }
        continue;
      }
      out.push({ key, keyNode, value });
    }
    for (const m of merged) if (!out.some((p) => p.key === m.key)) out.push(m);
    return out;
  }

  section(node: Node | null, path: string, s: Section): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (!isMap(node)) {
      this.issue(node, path, `${describePath(path)}: expected a map, got ${nodeKind(node)}`);
      return out;
    }
    for (const { key, keyNode, value } of this.pairs(node, path)) {
      const p = fieldPath(path, key);
      const field = Object.hasOwn(s.fields, key) ? s.fields[key] : undefined;
      if (field) {
        this.positions.set(p, this.pos(keyNode));
        if (this.isNull(value)) continue;
        const v = this.value(value, p, field[1]);
        if (v !== undefined) setOwn(out, field[0], v);
        continue;
      }
      if (s.ignored && Object.hasOwn(s.ignored, key)) {
        this.warn(keyNode, p, `${p}: ${s.ignored[key]}`);
        continue;
      }
      if (s.agentForbidden?.includes(key)) {
        if (!this.isEmpty(value)) this.issue(keyNode, p, `${p}: not allowed in agent mode`);
        continue;
      }
      const unsupported = s.unsupported?.includes(key) ||
        (s.unsupportedSuffix !== undefined && key.endsWith(s.unsupportedSuffix));
      if (unsupported) {
        if (this.isEmpty(value)) continue;
        const noop = s.noop && Object.hasOwn(s.noop, key) ? s.noop[key] : undefined;
        if (typeof noop === "string" && isScalar(value) && sameScalar(value, noop)) continue;
        if (
          typeof noop === "object" && isMap(value) && value.items.every((item) => {
            const k = isScalar(item.key) ? scalarText(item.key) : undefined;
            const want = k !== undefined && Object.hasOwn(noop, k) ? noop[k] : undefined;
            return want !== undefined && isScalar(item.value) && sameScalar(item.value, want);
          })
        ) continue;
        this.issue(keyNode, p, `${p}: not supported by ferry yet`);
        continue;
      }
      const near = suggest(key, [
        ...Object.keys(s.fields),
        ...Object.keys(s.ignored ?? {}),
        ...(s.agentForbidden ?? []),
        ...(s.unsupported ?? []),
      ]);
      this.issue(
        keyNode,
        p,
        `unknown field ${JSON.stringify(key)} ${path === "" ? "at the top level" : `in ${path}`}` +
          (near === undefined ? "" : ` (did you mean "${near}"?)`),
      );
    }
    return out;
  }

  value(node: Node | null, path: string, kind: Kind): unknown {
    if (typeof kind === "object") {
      if ("object" in kind) return this.section(node, path, kind.object);
      if ("map" in kind) {
        if (!isMap(node)) {
          this.issue(node, path, `${path}: expected a map, got ${nodeKind(node)}`);
          return undefined;
        }
        const out: Record<string, unknown> = {};
        for (const { key, keyNode, value } of this.pairs(node, path)) {
          const p = keyPath(path, key);
          this.positions.set(p, this.pos(keyNode));
          setOwn(out, key, this.isNull(value) ? {} : this.section(value, p, kind.map));
        }
        return out;
      }
      if (!isSeq(node)) {
        this.issue(node, path, `${path}: expected a list, got ${nodeKind(node)}`);
        return undefined;
      }
      return node.items.map((item, i) => {
        const n = this.deref(item);
        const p = indexPath(path, i);
        this.positions.set(p, this.pos(n ?? (item as Node)));
        if (this.isNull(n)) {
          this.issue(n ?? (item as Node), p, `${p}: empty entry`);
          return {};
        }
        return this.section(n, p, kind.list);
      });
    }
    switch (kind) {
      case "string":
      case "duration":
        return this.string(node, path);
      case "bool":
        return this.bool(node, path);
      case "int":
        return this.int(node, path);
      case "stringList":
        return this.stringList(node, path);
      case "stringMap":
        return this.stringMap(node, path);
      case "stringListMap": {
        if (!isMap(node)) {
          this.issue(node, path, `${path}: expected a map of lists, got ${nodeKind(node)}`);
          return undefined;
        }
        const out: Record<string, string[]> = {};
        for (const { key, keyNode, value } of this.pairs(node, path)) {
          const p = keyPath(path, key);
          this.positions.set(p, this.pos(keyNode));
          setOwn(out, key, this.isNull(value) ? [] : this.stringList(value, p) ?? []);
        }
        return out;
      }
    }
  }

  string(node: Node | null, path: string): string | undefined {
    if (this.isNull(node)) return "";
    if (!isScalar(node)) {
      this.issue(node, path, `${path}: expected a string, got ${nodeKind(node)}`);
      return undefined;
    }
    return scalarText(node);
  }

  bool(node: Node | null, path: string): boolean | undefined {
    if (isScalar(node) && node.type === "PLAIN" && !hasStrTag(node)) {
      const t = plainText(node);
      if (TRUE_RE.test(t)) return true;
      if (FALSE_RE.test(t)) return false;
    }
    this.issue(
      node,
      path,
      `${path}: expected a boolean (true/false, yes/no, on/off), got ${nodeKind(node)}`,
    );
    return undefined;
  }

  int(node: Node | null, path: string): number | undefined {
    if (isScalar(node) && node.type === "PLAIN" && !hasStrTag(node)) {
      const n = parseGoInt(plainText(node));
      if (n !== undefined) return n;
    }
    this.issue(node, path, `${path}: expected an integer, got ${nodeKind(node)}`);
    return undefined;
  }

  stringList(node: Node | null, path: string): string[] | undefined {
    if (!isSeq(node)) {
      this.issue(node, path, `${path}: expected a list of strings, got ${nodeKind(node)}`);
      return undefined;
    }
    const out: string[] = [];
    node.items.forEach((item, i) => {
      const n = this.deref(item);
      const p = indexPath(path, i);
      this.positions.set(p, this.pos(n ?? (item as Node)));
      const s = this.string(n, p);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  stringMap(node: Node | null, path: string): Record<string, string> | undefined {
    if (!isMap(node)) {
      this.issue(node, path, `${path}: expected a map of strings, got ${nodeKind(node)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const { key, keyNode, value } of this.pairs(node, path)) {
      const p = keyPath(path, key);
      this.positions.set(p, this.pos(keyNode));
      const s = this.string(value, p);
      if (s !== undefined) setOwn(out, key, s);
    }
    return out;
  }
}

/**
 * Runs `fn` with an empty `process.env`. npm:yaml reads `LOG_TOKENS` and
 * `LOG_STREAM` from the environment while parsing, which throws when the agent
 * runs without --allow-env (its documented permissions). Parsing is
 * synchronous, so nothing else observes the swap.
 */
export function withoutProcessEnv<T>(fn: () => T): T {
  const desc = Object.getOwnPropertyDescriptor(process, "env");
  if (!desc?.configurable) return fn();
  Object.defineProperty(process, "env", { value: {}, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    Object.defineProperty(process, "env", desc);
  }
}

function parseYaml(text: string, opts: ParseYamlOptions): Parsed {
  const file = opts.file ?? "prometheus.yml";
  const lc = new LineCounter();
  const doc = withoutProcessEnv(() =>
    parseDocument(text, {
      lineCounter: lc,
      merge: false,
      prettyErrors: false,
      uniqueKeys: true,
      strict: true,
    })
  );
  const w = new Walker(doc, lc, file, opts);
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const { line, col } = err.linePos?.[0] ?? lc.linePos(err.pos[0]);
      w.issues.push({
        path: "",
        message: `YAML syntax error: ${err.message.split("\n")[0]}`,
        file,
        line,
        column: col,
      });
    }
    return { config: {}, issues: w.issues, positions: w.positions, file };
  }
  let config: AgentConfig = {};
  try {
    const root = w.deref(doc.contents);
    if (!w.isNull(root)) {
      if (!isMap(root)) {
        w.issue(root, "", `expected a map at the top level, got ${nodeKind(root)}`);
      } else {
        config = w.section(root, "", ROOT) as AgentConfig;
      }
    }
  } catch (e) {
    if (!(e instanceof AliasLimitError)) throw e;
    w.issues.push({
      path: "",
      message: `the document uses aliases more than ${MAX_ALIAS_RESOLUTIONS} times`,
      file,
      line: 1,
      column: 1,
    });
    return { config: {}, issues: w.issues, positions: w.positions, file };
  }
  if (opts.env && w.issues.length === 0) expandExternalLabels(w, config, opts.env);
  return { config, issues: w.issues, positions: w.positions, file };
}

/** Prometheus expands `$VAR`/`${VAR}` in external label values (only there). */
function expandExternalLabels(
  w: Walker,
  config: AgentConfig,
  env: (name: string) => string | undefined,
): void {
  const labels = config.global?.externalLabels;
  if (!labels) return;
  for (const name of Object.keys(labels)) {
    const path = keyPath("global.external_labels", name);
    const at = w.positions.get(path) ?? { line: 1, column: 1 };
    try {
      labels[name] = expandEnv(labels[name], (v) => {
        const got = env(v) ?? "";
        if (got === "") {
          w.opts.onWarning?.({
            path,
            message: `${path}: environment variable ${v} is empty or unset`,
            file: w.file,
            ...at,
          });
        }
        return got;
      });
    } catch (e) {
      w.issues.push({ path, message: `${path}: ${(e as Error).message}`, file: w.file, ...at });
    }
  }
}

/**
 * Shell-style expansion with Go `os.Expand` rules: `$name` (letters, digits,
 * `_`), `${name}`, one-character special names (`$1`, `$$` → "$" here as in
 * Prometheus); a lone `$` stays; `${` without `}` is dropped.
 */
export function expandEnv(s: string, lookup: (name: string) => string): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c !== "$" || i + 1 >= s.length) {
      out += c;
      i++;
      continue;
    }
    const rest = s.slice(i + 1);
    let name = "";
    let width = 0;
    if (rest[0] === "{") {
      if (rest.length > 2 && isSpecial(rest[1]) && rest[2] === "}") {
        name = rest[1];
        width = 3;
      } else {
        const close = rest.indexOf("}");
        if (close < 0) {
          width = 1; // bad syntax: drop "${"
        } else {
          name = rest.slice(1, close);
          width = close + 1;
        }
      }
    } else if (isSpecial(rest[0])) {
      name = rest[0];
      width = 1;
    } else {
      while (width < rest.length && /[A-Za-z0-9_]/.test(rest[width])) width++;
      name = rest.slice(0, width);
    }
    if (name === "" && width === 0) {
      out += "$";
    } else if (name !== "") {
      out += name === "$" ? "$" : lookup(name);
    }
    i += 1 + width;
  }
  return out;
}

function isSpecial(c: string | undefined): boolean {
  return c !== undefined && "*#$@!?-0123456789".includes(c);
}

// ---------------------------------------------------------------------------
// Helpers

/** go-yaml v2's YAML 1.1 booleans. */
const TRUE_RE = /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const FALSE_RE = /^(?:n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$/;

function hasStrTag(n: Scalar): boolean {
  return n.tag === "tag:yaml.org,2002:str" || n.tag === "!!str";
}

/** Source text of a plain scalar (what go-yaml v2 gives string fields). */
function plainText(n: Scalar): string {
  return typeof n.source === "string" ? n.source : String(n.value ?? "");
}

/** A scalar as go-yaml v2 decodes it into a string field. */
function scalarText(n: Scalar): string {
  if (n.type === "PLAIN") return plainText(n);
  return typeof n.value === "string" ? n.value : String(n.value ?? "");
}

/** go-yaml v2's integer forms, plus integral floats (which it truncates into ints). */
function parseGoInt(text: string): number | undefined {
  const t = text.replace(/_/g, "");
  let m = /^([-+]?)(0b[01]+|0o[0-7]+|0x[0-9a-fA-F]+|0[0-7]+|[0-9]+)$/.exec(t);
  if (m) {
    const body = m[2];
    let n: number;
    if (/^0[0-7]+$/.test(body)) n = parseInt(body.slice(1), 8);
    else if (body.startsWith("0o")) n = parseInt(body.slice(2), 8);
    else n = Number(body);
    if (!Number.isSafeInteger(n)) return undefined;
    return m[1] === "-" ? -n : n;
  }
  m = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.exec(t);
  if (m) {
    const n = Number(t);
    if (Number.isSafeInteger(n)) return n;
  }
  return undefined;
}

/** Whether a scalar spells `want`, booleans in any YAML 1.1 spelling. */
function sameScalar(n: Scalar, want: string): boolean {
  const text = scalarText(n);
  if (want === "true" || want === "false") {
    return n.type === "PLAIN" && (want === "true" ? TRUE_RE : FALSE_RE).test(text);
  }
  return text === want;
}

function nodeKind(node: Node | null): string {
  if (node === null) return "nothing";
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    return node.type === "PLAIN"
      ? JSON.stringify(plainText(node))
      : `the string ${JSON.stringify(scalarText(node))}`;
  }
  return "an unexpected node";
}

function describePath(path: string): string {
  return path === "" ? "top level" : path;
}

function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Gives an issue from resolving a YAML config the line of its field (or nearest parent). */
function locate(issue: ConfigIssue, positions: Map<string, Pos>, file: string): ConfigIssue {
  let p = issue.path;
  while (p !== "") {
    const at = positions.get(p);
    if (at) {
      return { path: issue.path, message: `${issue.path}: ${issue.message}`, file, ...at };
    }
    const parent = p.replace(/(?:\.[^.[\]]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$/, "");
    if (parent === p) break;
    p = parent;
  }
  return { ...issue, file };
}

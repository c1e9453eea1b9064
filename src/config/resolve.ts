/**
 * `resolveConfig()`: one pure function from an untrusted value (what a config
 * module exported, or prometheus.yml mapped onto the model) to a
 * `ResolvedConfig` with Prometheus' defaults applied and everything validated.
 *
 * Every problem is collected; a `ConfigError` listing all of them is thrown at
 * the end.
 *
 * @module
 */

import { BCRYPT_HASH_RE } from "../util/bcrypt_hash.ts";
import { createHash } from "node:crypto";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { parseBytes } from "../model/bytes.ts";
import { formatDuration, parseDuration } from "../model/duration.ts";
import { compileRegex } from "../relabel/regex.ts";
import { compileRules, RelabelConfigError } from "../relabel/relabel.ts";
import {
  ConfigError,
  type ConfigIssue,
  describe,
  fieldPath,
  indexPath,
  keyPath,
  suggest,
  toSnake,
} from "./errors.ts";
import type {
  BasicAuth,
  DnsRecordType,
  KubernetesRole,
  RelabelAction,
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
  ScrapeProtocol,
  ShardConfig,
} from "./types.ts";

/** Options of {@link resolveConfig}. */
export interface ResolveOptions {
  /** Names the config in error messages (`config agent.config.ts: …`). */
  source?: string;
  /**
   * Directory that relative `passwordFile`/`credentialsFile` paths are
   * resolved against (the config file's directory, as Prometheus does).
   * Without it they are kept as written.
   */
  baseDir?: string;
}

/** How field names are spelt in issue paths and messages. */
export type KeyStyle = "camel" | "snake";

// Prometheus' defaults.
const DEFAULT_SCRAPE_INTERVAL_MS = 60_000;
const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;
const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;
const DEFAULT_QUEUE: ResolvedQueueConfig = {
  capacity: 10_000,
  maxShards: 50,
  minShards: 1,
  maxSamplesPerSend: 2_000,
  batchSendDeadlineMs: 5_000,
  minBackoffMs: 30,
  maxBackoffMs: 5_000,
  retryOnHttp429: false,
  sampleAgeLimitMs: 0,
  maxBytesPerSend: 4 * 1024 * 1024,
};
const DEFAULT_METADATA: ResolvedMetadataConfig = {
  send: true,
  sendIntervalMs: 60_000,
  maxSamplesPerSend: 2_000,
};
/** The two `protobuf_message` values, Remote Write 1.0 first (the default). */
export const REMOTE_WRITE_MESSAGES: readonly RemoteWriteMessage[] = [
  "prometheus.WriteRequest",
  "io.prometheus.write.v2.Request",
];
const DEFAULT_SIGV4_SERVICE = "aps";
/** ferry bounds kept dropped targets by default (Prometheus keeps all). */
const DEFAULT_KEEP_DROPPED_TARGETS = 1000;
/** The Mimir/Cortex HA tracker's default replica label. */
export const DEFAULT_REPLICA_LABEL = "__replica__";
const DEFAULT_FILE_SD_REFRESH_MS = 5 * 60_000;
const DEFAULT_HTTP_SD_REFRESH_MS = 60_000;
const DEFAULT_DNS_SD_REFRESH_MS = 30_000;
const DEFAULT_SEPARATOR = ";";
const DEFAULT_REGEX = "(.*)";
const DEFAULT_REPLACEMENT = "$1";

const RELABEL_ACTIONS: readonly RelabelAction[] = [
  "replace",
  "keep",
  "drop",
  "keepequal",
  "dropequal",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
  "lowercase",
  "uppercase",
];
const NEEDS_TARGET = new Set<RelabelAction>([
  "replace",
  "hashmod",
  "lowercase",
  "uppercase",
  "keepequal",
  "dropequal",
]);

/**
 * Headers remote write sets itself (or that belong to the transport); an
 * endpoint's `headers` may not override them.
 */
const RESERVED_HEADERS = new Set([
  "host",
  "content-encoding",
  "content-length",
  "content-type",
  "user-agent",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "www-authenticate",
  "accept-encoding",
  "x-prometheus-remote-write-version",
  "x-prometheus-remote-read-version",
]);

const GLOBAL_FIELDS = [
  "scrapeInterval",
  "scrapeTimeout",
  "externalLabels",
  "keepDroppedTargets",
  "scrapeProtocols",
  "bodySizeLimit",
  "sampleLimit",
  "targetLimit",
  "labelLimit",
  "labelNameLengthLimit",
  "labelValueLengthLimit",
  "scrapeNativeHistograms",
  "alwaysScrapeClassicHistograms",
] as const;
const ROOT_FIELDS = [
  "global",
  "scrapeConfigs",
  "remoteWrite",
  "shard",
  "replicaLabel",
  "push",
] as const;
const PUSH_FIELDS = [
  "relabelConfigs",
  "extraLabels",
  "bodySizeLimit",
  "sampleLimit",
  "rateLimit",
  "rateLimitBurst",
  "basicAuthUsers",
] as const;
const SHARD_FIELDS = ["index", "total"] as const;
const HTTP_FIELDS = ["basicAuth", "authorization", "followRedirects"] as const;
const SCRAPE_FIELDS = [
  "jobName",
  "scrapeInterval",
  "scrapeTimeout",
  "metricsPath",
  "scheme",
  "params",
  "honorLabels",
  "honorTimestamps",
  "sampleLimit",
  "scrapeProtocols",
  "fallbackScrapeProtocol",
  "enableCompression",
  "trackTimestampsStaleness",
  "scrapeNativeHistograms",
  "alwaysScrapeClassicHistograms",
  "bodySizeLimit",
  "labelLimit",
  "labelNameLengthLimit",
  "labelValueLengthLimit",
  "targetLimit",
  "tlsConfig",
  "proxyUrl",
  "staticConfigs",
  "fileSdConfigs",
  "httpSdConfigs",
  "dnsSdConfigs",
  "kubernetesSdConfigs",
  "keepDroppedTargets",
  "relabelConfigs",
  "metricRelabelConfigs",
  ...HTTP_FIELDS,
] as const;
const STATIC_FIELDS = ["targets", "labels"] as const;
const RELABEL_FIELDS = [
  "sourceLabels",
  "separator",
  "regex",
  "modulus",
  "targetLabel",
  "replacement",
  "action",
] as const;
const REMOTE_WRITE_FIELDS = [
  "url",
  "name",
  "remoteTimeout",
  "headers",
  "writeRelabelConfigs",
  "queueConfig",
  "protobufMessage",
  "fallbackToRw1",
  "sendExemplars",
  "sendNativeHistograms",
  "metadataConfig",
  "oauth2",
  "sigv4",
  "tlsConfig",
  "proxyUrl",
  "maxDiskBytes",
  ...HTTP_FIELDS,
] as const;
const QUEUE_FIELDS = [
  "capacity",
  "maxShards",
  "minShards",
  "maxSamplesPerSend",
  "batchSendDeadline",
  "minBackoff",
  "maxBackoff",
  "retryOnHttp429",
  "sampleAgeLimit",
  "maxBytesPerSend",
] as const;
const METADATA_FIELDS = ["send", "sendInterval", "maxSamplesPerSend"] as const;
const OAUTH2_FIELDS = [
  "clientId",
  "clientSecret",
  "clientSecretFile",
  "scopes",
  "tokenUrl",
  "endpointParams",
  "tlsConfig",
  "proxyUrl",
] as const;
const SIGV4_FIELDS = [
  "region",
  "accessKey",
  "secretKey",
  "profile",
  "roleArn",
  "serviceName",
] as const;

/**
 * Validates `input` (an `AgentConfig`-shaped value from an untrusted source)
 * and applies Prometheus' defaults.
 *
 * @param input What a config module exported, or a parsed prometheus.yml.
 * @param opts `source` names the config in messages; `baseDir` anchors relative file paths.
 * @returns The validated config, every field present, durations in milliseconds.
 * @throws {ConfigError} listing every problem found.
 */
export function resolveConfig(input: unknown, opts: ResolveOptions = {}): ResolvedConfig {
  return resolveConfigStyled(input, { ...opts, style: "camel" });
}

/**
 * {@link resolveConfig} with a choice of spelling for issue paths and the
 * field names inside messages (`snake` for configs that came from YAML).
 */
export function resolveConfigStyled(
  input: unknown,
  opts: ResolveOptions & { style: KeyStyle },
): ResolvedConfig {
  const ctx = new Ctx(opts.style, opts.baseDir);
  const out = resolveRoot(ctx, input);
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues, { source: opts.source });
  return out;
}

/**
 * Resolves a list of relabel rules on its own (defaults applied, validated as
 * in a config); issue paths start with `path`.
 */
export function resolveRelabelConfigs(input: unknown, path = "rules"): ResolvedRelabelConfig[] {
  const ctx = new Ctx("camel", undefined);
  const out = resolveRelabelList(ctx, input, path);
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues);
  return out;
}

// ---------------------------------------------------------------------------
// Context: issue collection and field-name spelling.

class Ctx {
  readonly issues: ConfigIssue[] = [];
  /**
   * What jobs inherit from `global` beyond `ResolvedGlobal`: whether
   * `scrapeProtocols` was given there (Prometheus 3 then uses it even with
   * native histograms), and the native-histogram defaults.
   */
  readonly scrapeDefaults = {
    protocolsGiven: false,
    nativeHistograms: false,
    alwaysClassic: false,
  };
  constructor(readonly style: KeyStyle, readonly baseDir: string | undefined) {}

  /** The styled spelling of a model field name. */
  n(name: string): string {
    return this.style === "snake" ? toSnake(name) : name;
  }

  /** Path of a field below `base`. */
  f(base: string, name: string): string {
    return fieldPath(base, this.n(name));
  }

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
}

/** Marks a value that was present but invalid (already reported). */
const INVALID = Symbol("invalid");
type Read<T> = T | undefined | typeof INVALID;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Assigns an own enumerable property even for keys such as `__proto__`. */
function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A plain object whose keys are all in `fields` (unknown keys are reported).
 * `undefined` means "not given" unless `item` is set (list items must be present).
 */
function readObject(
  ctx: Ctx,
  v: unknown,
  path: string,
  fields: readonly string[],
  item = false,
): Record<string, unknown> | undefined {
  if (v === undefined && !item) return undefined;
  if (!isPlainObject(v)) {
    ctx.add(path, `expected an object, got ${describe(v)}`);
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (fields.includes(key)) continue;
    const near = suggest(key, fields);
    ctx.add(
      fieldPath(path, key),
      near === undefined ? "unknown field" : `unknown field (did you mean "${ctx.n(near)}"?)`,
    );
  }
  return v;
}

function readArray(ctx: Ctx, v: unknown, path: string): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    ctx.add(path, `expected a list, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function readString(ctx: Ctx, v: unknown, path: string): Read<string> {
  if (v === undefined) return undefined;
  if (typeof v !== "string") {
    ctx.add(path, `expected a string, got ${describe(v)}`);
    return INVALID;
  }
  if (!v.isWellFormed()) {
    ctx.add(path, "is not valid UTF-8 (contains a lone surrogate)");
    return INVALID;
  }
  return v;
}

function readBool(ctx: Ctx, v: unknown, path: string): Read<boolean> {
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    ctx.add(path, `expected a boolean (true or false), got ${describe(v)}`);
    return INVALID;
  }
  return v;
}

function readInt(ctx: Ctx, v: unknown, path: string, min: number): Read<number> {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    ctx.add(path, `expected an integer, got ${describe(v)}`);
    return INVALID;
  }
  if (v < min) {
    ctx.add(path, `must be at least ${min}, got ${v}`);
    return INVALID;
  }
  return v;
}

function readDuration(ctx: Ctx, v: unknown, path: string): Read<number> {
  if (v === undefined) return undefined;
  if (typeof v !== "string") {
    ctx.add(path, `expected a duration string such as "15s", got ${describe(v)}`);
    return INVALID;
  }
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.add(path, (e as Error).message);
    return INVALID;
  }
}

function isValidLabelName(name: string): boolean {
  // Prometheus 3's default (UTF-8) name validation: any non-empty valid UTF-8.
  return name.length > 0 && name.isWellFormed();
}

/** A `Record<string, string>`; label names are validated when `labels` is set. */
function readStringMap(
  ctx: Ctx,
  v: unknown,
  path: string,
  check?: (key: string) => string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  if (!isPlainObject(v)) {
    ctx.add(path, `expected an object of strings, got ${describe(v)}`);
    return out;
  }
  for (const key of Object.keys(v)) {
    const p = keyPath(path, key);
    const problem = check?.(key);
    if (problem !== undefined) ctx.add(p, problem);
    const s = readString(ctx, v[key], p);
    if (typeof s === "string") setOwn(out, key, s);
  }
  return out;
}

function labelNameProblem(name: string): string | undefined {
  return isValidLabelName(name) ? undefined : `${JSON.stringify(name)} is not a valid label name`;
}

function readStringList(ctx: Ctx, v: unknown, path: string): string[] {
  const arr = readArray(ctx, v, path);
  const out: string[] = [];
  if (!arr) return out;
  arr.forEach((item, i) => {
    const s = readString(ctx, item, indexPath(path, i));
    if (typeof s === "string") out.push(s);
  });
  return out;
}

function resolveFile(ctx: Ctx, file: string): string {
  if (ctx.baseDir === undefined || file === "" || isAbsolute(file)) return file;
  return resolvePath(ctx.baseDir, file);
}

// ---------------------------------------------------------------------------
// Sections

function resolveRoot(ctx: Ctx, input: unknown): ResolvedConfig {
  if (!isPlainObject(input)) {
    ctx.add("", `a config must be an object, got ${describe(input)}`);
    return {
      global: defaultGlobal(),
      scrapeConfigs: [],
      remoteWrite: [],
      shard: null,
      replicaLabel: DEFAULT_REPLICA_LABEL,
    };
  }
  const root = readObject(ctx, input, "", ROOT_FIELDS) ?? {};
  const global = resolveGlobal(ctx, own(root, "global"), ctx.n("global"));

  const scrapePath = ctx.n("scrapeConfigs");
  const scrapeConfigs: ResolvedScrapeConfig[] = [];
  const jobs = new Map<string, number>();
  readArray(ctx, own(root, "scrapeConfigs"), scrapePath)?.forEach((item, i) => {
    const path = indexPath(scrapePath, i);
    const sc = resolveScrape(ctx, item, path, global);
    if (sc.jobName !== "") {
      const prev = jobs.get(sc.jobName);
      if (prev !== undefined) {
        ctx.add(
          ctx.f(path, "jobName"),
          `${JSON.stringify(sc.jobName)} is already used by ${indexPath(scrapePath, prev)}`,
        );
      } else {
        jobs.set(sc.jobName, i);
      }
    }
    scrapeConfigs.push(sc);
  });

  const rwPath = ctx.n("remoteWrite");
  const remoteWrite: ResolvedRemoteWrite[] = [];
  const names = new Map<string, number>();
  readArray(ctx, own(root, "remoteWrite"), rwPath)?.forEach((item, i) => {
    const path = indexPath(rwPath, i);
    const { rw, named } = resolveRemoteWrite(ctx, item, path);
    const prev = names.get(rw.name);
    if (prev !== undefined) {
      if (named) {
        ctx.add(
          ctx.f(path, "name"),
          `${JSON.stringify(rw.name)} is already used by ${indexPath(rwPath, prev)}`,
        );
      } else {
        ctx.add(
          path,
          `same URL as ${indexPath(rwPath, prev)} (give each a distinct ${ctx.n("name")})`,
        );
      }
    } else {
      names.set(rw.name, i);
    }
    remoteWrite.push(rw);
  });

  const shard = resolveShard(ctx, own(root, "shard"), ctx.n("shard"));
  const replicaRaw = readString(ctx, own(root, "replicaLabel"), ctx.n("replicaLabel"));
  let replicaLabel = DEFAULT_REPLICA_LABEL;
  if (typeof replicaRaw === "string") {
    const problem = labelNameProblem(replicaRaw);
    if (problem !== undefined) ctx.add(ctx.n("replicaLabel"), problem);
    else replicaLabel = replicaRaw;
  }
  const push = resolvePush(ctx, own(root, "push"));
  return {
    global,
    scrapeConfigs: withShard(scrapeConfigs, shard),
    remoteWrite,
    shard,
    replicaLabel,
    ...(push === undefined ? {} : { push }),
  };
}

/** Push ingestion's defaults (no `push` section). */
export const DEFAULT_PUSH: Readonly<ResolvedPushConfig> = Object.freeze({
  relabelConfigs: [],
  extraLabels: {},
  bodySizeLimit: 16 << 20,
  sampleLimit: 0,
  rateLimit: 0,
  rateLimitBurst: 0,
  basicAuthUsers: {},
});

/** A bcrypt hash as exporter-toolkit's web config accepts it (src/web/webconfig.ts). */

/**
 * The `push` section (prometheus.yml: `push_config`, ferry's extension);
 * undefined when absent.
 */
function resolvePush(ctx: Ctx, v: unknown): ResolvedPushConfig | undefined {
  const path = ctx.style === "snake" ? "push_config" : "push";
  const o = readObject(ctx, v, path, PUSH_FIELDS);
  if (o === undefined) return undefined;
  const f = (name: string) => ctx.f(path, name);
  const size = readBytes(ctx, own(o, "bodySizeLimit"), f("bodySizeLimit"));
  if (size !== undefined && size <= 0) ctx.add(f("bodySizeLimit"), "must be greater than 0");
  const sampleLimit = readInt(ctx, own(o, "sampleLimit"), f("sampleLimit"), 0);
  const rate = own(o, "rateLimit");
  let rateLimit = 0;
  if (rate !== undefined) {
    if (typeof rate !== "number" || !Number.isFinite(rate) || rate < 0) {
      ctx.add(f("rateLimit"), `expected samples a second (a number ≥ 0), got ${describe(rate)}`);
    } else rateLimit = rate;
  }
  const burst = readInt(ctx, own(o, "rateLimitBurst"), f("rateLimitBurst"), 1);
  if (typeof burst === "number" && rateLimit === 0) {
    ctx.add(f("rateLimitBurst"), `has no effect without ${ctx.n("rateLimit")}`);
  }
  const users = readStringMap(
    ctx,
    own(o, "basicAuthUsers"),
    f("basicAuthUsers"),
    (user) =>
      user === "" || user.includes(":")
        ? "a user name must be non-empty and must not contain ':'"
        : undefined,
  );
  for (const [user, hash] of Object.entries(users)) {
    if (!BCRYPT_HASH_RE.test(hash)) {
      ctx.add(
        keyPath(f("basicAuthUsers"), user),
        `the password of ${user} must be a bcrypt hash ($2a$, $2b$ or $2y$, cost 4–31), e.g. from "htpasswd -nBC 10 ${user}"`,
      );
    }
  }
  return {
    relabelConfigs: resolveRelabelList(ctx, own(o, "relabelConfigs"), f("relabelConfigs")),
    extraLabels: readStringMap(ctx, own(o, "extraLabels"), f("extraLabels"), labelNameProblem),
    bodySizeLimit: size !== undefined && size > 0 ? size : DEFAULT_PUSH.bodySizeLimit,
    sampleLimit: typeof sampleLimit === "number" ? sampleLimit : 0,
    rateLimit,
    rateLimitBurst: rateLimit === 0
      ? 0
      : typeof burst === "number"
      ? burst
      : Math.max(1, Math.ceil(rateLimit)),
    basicAuthUsers: users,
  };
}

/**
 * `jobs` with `shard` copied into each (removed when null), so that the
 * scrape manager's comparison of job configs restarts jobs whose shard changed.
 */
export function withShard(
  jobs: readonly ResolvedScrapeConfig[],
  shard: ShardConfig | null,
): ResolvedScrapeConfig[] {
  return jobs.map((j) => {
    const { shard: _old, ...rest } = j;
    return shard === null ? rest : { ...rest, shard: { index: shard.index, total: shard.total } };
  });
}

function resolveShard(ctx: Ctx, v: unknown, path: string): ShardConfig | null {
  const o = readObject(ctx, v, path, SHARD_FIELDS);
  if (o === undefined) return null;
  const index = readInt(ctx, own(o, "index"), ctx.f(path, "index"), 0);
  const total = readInt(ctx, own(o, "total"), ctx.f(path, "total"), 1);
  if (index === undefined) ctx.add(ctx.f(path, "index"), "required");
  if (total === undefined) ctx.add(ctx.f(path, "total"), "required");
  if (typeof index !== "number" || typeof total !== "number") return null;
  if (index >= total) {
    ctx.add(
      ctx.f(path, "index"),
      `must be less than ${ctx.n("total")} (${total}), got ${index}`,
    );
    return null;
  }
  return { index, total };
}

function defaultGlobal(): ResolvedGlobal {
  return {
    scrapeIntervalMs: DEFAULT_SCRAPE_INTERVAL_MS,
    scrapeTimeoutMs: DEFAULT_SCRAPE_TIMEOUT_MS,
    externalLabels: {},
    keepDroppedTargets: DEFAULT_KEEP_DROPPED_TARGETS,
    ...DEFAULT_GLOBAL_SCRAPE_OPTIONS,
    scrapeProtocols: [...DEFAULT_SCRAPE_PROTOCOLS],
  };
}

function resolveGlobal(ctx: Ctx, v: unknown, path: string): ResolvedGlobal {
  const o = readObject(ctx, v, path, GLOBAL_FIELDS) ?? {};
  const interval = readDuration(ctx, own(o, "scrapeInterval"), ctx.f(path, "scrapeInterval"));
  const timeout = readDuration(ctx, own(o, "scrapeTimeout"), ctx.f(path, "scrapeTimeout"));
  // 0 means "unset", as in Prometheus.
  const intervalMs = typeof interval === "number" && interval > 0
    ? interval
    : DEFAULT_SCRAPE_INTERVAL_MS;
  let timeoutMs: number;
  if (typeof timeout === "number" && timeout > 0) {
    timeoutMs = timeout;
    if (timeout > intervalMs && interval !== INVALID) {
      ctx.add(
        ctx.f(path, "scrapeTimeout"),
        `${formatDuration(timeout)} is longer than ${ctx.n("scrapeInterval")} ${
          formatDuration(intervalMs)
        }`,
      );
    }
  } else {
    timeoutMs = Math.min(DEFAULT_SCRAPE_TIMEOUT_MS, intervalMs);
  }
  const externalLabels = readStringMap(
    ctx,
    own(o, "externalLabels"),
    ctx.f(path, "externalLabels"),
    labelNameProblem,
  );
  const keep = readInt(ctx, own(o, "keepDroppedTargets"), ctx.f(path, "keepDroppedTargets"), 0);
  for (
    const [name, key] of [
      ["scrapeNativeHistograms", "nativeHistograms"],
      ["alwaysScrapeClassicHistograms", "alwaysClassic"],
    ] as const
  ) {
    const b = readBool(ctx, own(o, name), ctx.f(path, name));
    if (typeof b === "boolean") ctx.scrapeDefaults[key] = b;
  }
  return {
    scrapeIntervalMs: intervalMs,
    scrapeTimeoutMs: timeoutMs,
    externalLabels,
    keepDroppedTargets: typeof keep === "number" && keep > 0 ? keep : DEFAULT_KEEP_DROPPED_TARGETS,
    ...resolveGlobalScrapeOptions(ctx, o, path),
  };
}

function resolveScrape(
  ctx: Ctx,
  v: unknown,
  path: string,
  global: ResolvedGlobal,
): ResolvedScrapeConfig {
  const o = readObject(ctx, v, path, SCRAPE_FIELDS, true) ?? {};
  const f = (name: string) => ctx.f(path, name);

  const jobRaw = readString(ctx, own(o, "jobName"), f("jobName"));
  const jobName = typeof jobRaw === "string" ? jobRaw : "";
  if (jobRaw === undefined || jobRaw === "") ctx.add(f("jobName"), "required");

  const interval = readDuration(ctx, own(o, "scrapeInterval"), f("scrapeInterval"));
  const timeout = readDuration(ctx, own(o, "scrapeTimeout"), f("scrapeTimeout"));
  const intervalMs = typeof interval === "number" && interval > 0
    ? interval
    : global.scrapeIntervalMs;
  let timeoutMs: number;
  if (typeof timeout === "number" && timeout > 0) {
    timeoutMs = timeout;
    if (timeout > intervalMs && interval !== INVALID) {
      ctx.add(
        f("scrapeTimeout"),
        `${formatDuration(timeout)} is longer than ${ctx.n("scrapeInterval")} ${
          formatDuration(intervalMs)
        }`,
      );
    }
  } else {
    // Prometheus: an inherited timeout never exceeds the job's interval.
    timeoutMs = Math.min(global.scrapeTimeoutMs, intervalMs);
  }

  const metricsPath = readString(ctx, own(o, "metricsPath"), f("metricsPath"));
  const schemeRaw = readString(ctx, own(o, "scheme"), f("scheme"));
  let scheme: "http" | "https" = "http";
  if (schemeRaw === "http" || schemeRaw === "https") scheme = schemeRaw;
  else if (typeof schemeRaw === "string") {
    ctx.add(f("scheme"), `must be "http" or "https", got ${JSON.stringify(schemeRaw)}`);
  }

  const params: Record<string, string[]> = {};
  const paramsRaw = own(o, "params");
  if (paramsRaw !== undefined) {
    if (!isPlainObject(paramsRaw)) {
      ctx.add(f("params"), `expected an object of string lists, got ${describe(paramsRaw)}`);
    } else {
      for (const key of Object.keys(paramsRaw)) {
        setOwn(params, key, readStringList(ctx, paramsRaw[key], keyPath(f("params"), key)));
      }
    }
  }

  const honorLabels = readBool(ctx, own(o, "honorLabels"), f("honorLabels"));
  const honorTimestamps = readBool(ctx, own(o, "honorTimestamps"), f("honorTimestamps"));

  const staticConfigs: ResolvedScrapeConfig["staticConfigs"] = [];
  readArray(ctx, own(o, "staticConfigs"), f("staticConfigs"))?.forEach((item, i) => {
    const sp = indexPath(f("staticConfigs"), i);
    const so = readObject(ctx, item, sp, STATIC_FIELDS, true);
    if (!so) return;
    const targets = readStringList(ctx, own(so, "targets"), ctx.f(sp, "targets"));
    targets.forEach((t, j) => {
      const problem = targetProblem(t, ctx);
      if (problem) ctx.add(indexPath(ctx.f(sp, "targets"), j), problem);
    });
    const labels = readStringMap(ctx, own(so, "labels"), ctx.f(sp, "labels"), labelNameProblem);
    staticConfigs.push({ targets, labels });
  });
  const keepDropped = readInt(ctx, own(o, "keepDroppedTargets"), f("keepDroppedTargets"), 0);

  return {
    jobName,
    scrapeIntervalMs: intervalMs,
    scrapeTimeoutMs: timeoutMs,
    metricsPath: typeof metricsPath === "string" ? metricsPath : "/metrics",
    scheme,
    params,
    honorLabels: typeof honorLabels === "boolean" ? honorLabels : false,
    honorTimestamps: typeof honorTimestamps === "boolean" ? honorTimestamps : true,
    ...resolveScrapeOptions(ctx, o, path, global),
    staticConfigs,
    ...resolveServiceDiscovery(ctx, o, path),
    // 0 inherits, as in Prometheus.
    keepDroppedTargets: typeof keepDropped === "number" && keepDropped > 0
      ? keepDropped
      : global.keepDroppedTargets,
    relabelConfigs: resolveRelabelList(ctx, own(o, "relabelConfigs"), f("relabelConfigs")),
    metricRelabelConfigs: resolveRelabelList(
      ctx,
      own(o, "metricRelabelConfigs"),
      f("metricRelabelConfigs"),
    ),
    ...resolveHttpClient(ctx, o, path),
  };
}

/** Why `t` is not a usable `host:port` target, or undefined when it is. */
function targetProblem(t: string, ctx: Ctx): string | undefined {
  const q = JSON.stringify(t);
  if (t === "") return "a target must not be empty";
  // deno-lint-ignore no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(t)) return `${q} contains whitespace or control characters`;
  if (t.includes("/")) {
    return `${q} is not a host:port address (give no scheme or path; the job's scheme and ${
      ctx.n("metricsPath")
    } apply)`;
  }
  let host: string;
  let port: string | undefined;
  if (t.startsWith("[")) {
    const m = /^\[([0-9A-Za-z:.%_-]+)\](?::(.*))?$/.exec(t);
    if (!m || !m[1].includes(":")) return `${q} is not a valid [IPv6]:port address`;
    host = m[1];
    port = m[2];
  } else {
    const parts = t.split(":");
    if (parts.length > 2) return `${q} is not a host:port address (put IPv6 addresses in brackets)`;
    host = parts[0];
    port = parts[1];
  }
  if (host === "") return `${q} has no host`;
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `${q} has an invalid port (want 1-65535)`;
    }
  }
  return undefined;
}

function resolveRelabelList(ctx: Ctx, v: unknown, path: string): ResolvedRelabelConfig[] {
  const out: ResolvedRelabelConfig[] = [];
  readArray(ctx, v, path)?.forEach((item, i) => {
    const r = resolveRelabel(ctx, item, indexPath(path, i));
    if (r) out.push(r);
  });
  return out;
}

function resolveRelabel(ctx: Ctx, v: unknown, path: string): ResolvedRelabelConfig | undefined {
  const issuesBefore = ctx.issues.length;
  const r = resolveRelabelFields(ctx, v, path);
  // The relabel engine has the last word (e.g. templates reading captures whose value
  // RE2 and JavaScript disagree on): what it rejects is rejected at load, not at scrape time.
  if (r && ctx.issues.length === issuesBefore) {
    try {
      compileRules([r]);
    } catch (e) {
      const msg = e instanceof RelabelConfigError
        ? e.message.replace(/^relabel rule 1 /, "")
        : String(e);
      ctx.add(path, msg);
    }
  }
  return r;
}

function resolveRelabelFields(
  ctx: Ctx,
  v: unknown,
  path: string,
): ResolvedRelabelConfig | undefined {
  const o = readObject(ctx, v, path, RELABEL_FIELDS, true);
  if (!o) return undefined;
  const f = (name: string) => ctx.f(path, name);

  const actionRaw = readString(ctx, own(o, "action"), f("action"));
  let action: RelabelAction = "replace";
  let actionOk = actionRaw !== INVALID;
  if (typeof actionRaw === "string") {
    const lower = actionRaw.toLowerCase();
    if ((RELABEL_ACTIONS as readonly string[]).includes(lower)) action = lower as RelabelAction;
    else {
      actionOk = false;
      ctx.add(
        f("action"),
        `unknown action ${JSON.stringify(actionRaw)} (want one of ${RELABEL_ACTIONS.join(", ")})`,
      );
    }
  }

  const sourceLabels = readStringList(ctx, own(o, "sourceLabels"), f("sourceLabels"));
  sourceLabels.forEach((l, i) => {
    const problem = labelNameProblem(l);
    if (problem) ctx.add(indexPath(f("sourceLabels"), i), problem);
  });
  const separator = readString(ctx, own(o, "separator"), f("separator"));
  const regex = readString(ctx, own(o, "regex"), f("regex"));
  const modulus = readInt(ctx, own(o, "modulus"), f("modulus"), 0);
  const targetLabel = readString(ctx, own(o, "targetLabel"), f("targetLabel"));
  const replacement = readString(ctx, own(o, "replacement"), f("replacement"));

  const r: ResolvedRelabelConfig = {
    sourceLabels,
    separator: typeof separator === "string" ? separator : DEFAULT_SEPARATOR,
    regex: typeof regex === "string" ? regex : DEFAULT_REGEX,
    modulus: typeof modulus === "number" ? modulus : 0,
    targetLabel: typeof targetLabel === "string" ? targetLabel : "",
    replacement: typeof replacement === "string" ? replacement : DEFAULT_REPLACEMENT,
    action,
  };

  if (typeof regex === "string") {
    try {
      compileRegex(regex);
    } catch (e) {
      ctx.add(f("regex"), e instanceof SyntaxError ? e.message : `invalid regex: ${String(e)}`);
    }
  }

  // Per-action rules, as Prometheus validates them (skipped when the action itself is bad).
  if (!actionOk) return r;
  const act = JSON.stringify(action);
  if (NEEDS_TARGET.has(action) && r.targetLabel === "") {
    ctx.add(f("targetLabel"), `required for action ${act}`);
  }
  if (action === "hashmod" && r.modulus === 0 && modulus !== INVALID) {
    ctx.add(f("modulus"), `must be greater than 0 for action ${act}`);
  }
  const notAllowed = (field: string, takes: string) =>
    ctx.add(f(field), `cannot be set for action ${act} (it takes only ${takes})`);
  if (
    (action === "lowercase" || action === "uppercase") && r.replacement !== DEFAULT_REPLACEMENT
  ) {
    ctx.add(f("replacement"), `cannot be set for action ${act}`);
  }
  if (action === "keepequal" || action === "dropequal") {
    const takes = `${ctx.n("sourceLabels")} and ${ctx.n("targetLabel")}`;
    if (r.regex !== DEFAULT_REGEX) notAllowed("regex", takes);
    if (r.modulus !== 0) notAllowed("modulus", takes);
    if (r.separator !== DEFAULT_SEPARATOR) notAllowed("separator", takes);
    if (r.replacement !== DEFAULT_REPLACEMENT) notAllowed("replacement", takes);
  }
  if (action === "labeldrop" || action === "labelkeep") {
    const takes = ctx.n("regex");
    if (r.sourceLabels.length > 0) notAllowed("sourceLabels", takes);
    if (r.targetLabel !== "") notAllowed("targetLabel", takes);
    if (r.modulus !== 0) notAllowed("modulus", takes);
    if (r.separator !== DEFAULT_SEPARATOR) notAllowed("separator", takes);
    if (r.replacement !== DEFAULT_REPLACEMENT) notAllowed("replacement", takes);
  }
  if (action === "labelmap" && r.replacement === "") {
    ctx.add(f("replacement"), `must not be empty for action ${act}`);
  }
  return r;
}

/**
 * `basicAuth`, `authorization` and `followRedirects`. `exclusive: false`
 * leaves the "one auth method" check to the caller (remote write has more
 * methods).
 */
function resolveHttpClient(
  ctx: Ctx,
  o: Record<string, unknown>,
  path: string,
  exclusive = true,
): ResolvedHttpClient {
  const out: ResolvedHttpClient = { followRedirects: true };
  const follow = readBool(ctx, own(o, "followRedirects"), ctx.f(path, "followRedirects"));
  if (typeof follow === "boolean") out.followRedirects = follow;

  const baPath = ctx.f(path, "basicAuth");
  const ba = readObject(ctx, own(o, "basicAuth"), baPath, ["username", "password", "passwordFile"]);
  if (ba) {
    const username = readString(ctx, own(ba, "username"), ctx.f(baPath, "username"));
    const password = readString(ctx, own(ba, "password"), ctx.f(baPath, "password"));
    const passwordFile = readString(ctx, own(ba, "passwordFile"), ctx.f(baPath, "passwordFile"));
    if (username === undefined) ctx.add(ctx.f(baPath, "username"), "required");
    if (password !== undefined && passwordFile !== undefined) {
      ctx.add(
        baPath,
        `give ${ctx.n("password")} or ${ctx.n("passwordFile")}, not both`,
      );
    }
    const auth: BasicAuth = { username: typeof username === "string" ? username : "" };
    if (typeof password === "string") auth.password = password;
    if (typeof passwordFile === "string") auth.passwordFile = resolveFile(ctx, passwordFile);
    out.basicAuth = auth;
  }

  const azPath = ctx.f(path, "authorization");
  const az = readObject(ctx, own(o, "authorization"), azPath, [
    "type",
    "credentials",
    "credentialsFile",
  ]);
  if (az) {
    const type = readString(ctx, own(az, "type"), ctx.f(azPath, "type"));
    const credentials = readString(ctx, own(az, "credentials"), ctx.f(azPath, "credentials"));
    const credentialsFile = readString(
      ctx,
      own(az, "credentialsFile"),
      ctx.f(azPath, "credentialsFile"),
    );
    if (credentials !== undefined && credentialsFile !== undefined) {
      ctx.add(
        azPath,
        `give ${ctx.n("credentials")} or ${ctx.n("credentialsFile")}, not both`,
      );
    }
    if (typeof type === "string" && type.toLowerCase() === "basic") {
      ctx.add(
        ctx.f(azPath, "type"),
        `${JSON.stringify(type)} is not allowed; use ${ctx.n("basicAuth")} instead`,
      );
    }
    const auth: NonNullable<ResolvedHttpClient["authorization"]> = {
      type: typeof type === "string" && type !== "" ? type : "Bearer",
    };
    if (typeof credentials === "string") auth.credentials = credentials;
    if (typeof credentialsFile === "string") {
      auth.credentialsFile = resolveFile(ctx, credentialsFile);
    }
    out.authorization = auth;
  }
  if (ba && az && exclusive) {
    ctx.add(path, `give ${ctx.n("basicAuth")} or ${ctx.n("authorization")}, not both`);
  }
  return out;
}

function resolveRemoteWrite(
  ctx: Ctx,
  v: unknown,
  path: string,
): { rw: ResolvedRemoteWrite; named: boolean } {
  const o = readObject(ctx, v, path, REMOTE_WRITE_FIELDS, true) ?? {};
  const f = (name: string) => ctx.f(path, name);

  const url = readString(ctx, own(o, "url"), f("url"));
  if (url === undefined || url === "") ctx.add(f("url"), "required");
  else if (typeof url === "string" && !isHttpUrl(url)) {
    ctx.add(f("url"), `not an http(s) URL: ${JSON.stringify(url)}`);
  }

  const name = readString(ctx, own(o, "name"), f("name"));
  if (name === "") ctx.add(f("name"), "must not be empty (leave it out for a generated name)");

  const timeout = readDuration(ctx, own(o, "remoteTimeout"), f("remoteTimeout"));
  if (timeout === 0) ctx.add(f("remoteTimeout"), "must be greater than 0");

  const headers = readStringMap(ctx, own(o, "headers"), f("headers"), headerProblem);
  for (const [k, val] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(val)) {
      ctx.add(keyPath(f("headers"), k), "value must not contain CR, LF or NUL");
    }
  }
  const hasAuthHeader = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");

  const http = resolveHttpClient(ctx, o, path, false);
  const oauth2 = resolveOAuth2(ctx, own(o, "oauth2"), f("oauth2"));
  const sigv4 = resolveSigV4(ctx, own(o, "sigv4"), f("sigv4"));
  // Prometheus: at most one way to authenticate.
  const auth = ([
    ["basicAuth", http.basicAuth],
    ["authorization", http.authorization],
    ["oauth2", oauth2],
    ["sigv4", sigv4],
  ] as const).filter(([, v]) => v !== undefined).map(([k]) => ctx.n(k));
  if (auth.length > 1) {
    ctx.add(
      path,
      `give at most one of ${ctx.n("basicAuth")}, ${ctx.n("authorization")}, ${
        ctx.n("oauth2")
      } and ${ctx.n("sigv4")} (got ${auth.join(" and ")})`,
    );
  }
  if (hasAuthHeader && auth.length > 0) {
    ctx.add(
      f("headers"),
      `an Authorization header cannot be combined with ${auth.join(" or ")}`,
    );
  }
  const messageRaw = readString(ctx, own(o, "protobufMessage"), f("protobufMessage"));
  let protobufMessage: RemoteWriteMessage = REMOTE_WRITE_MESSAGES[0];
  if (typeof messageRaw === "string") {
    if ((REMOTE_WRITE_MESSAGES as readonly string[]).includes(messageRaw)) {
      protobufMessage = messageRaw as RemoteWriteMessage;
    } else {
      ctx.add(
        f("protobufMessage"),
        `unknown protobuf message ${JSON.stringify(messageRaw)} (want ${
          REMOTE_WRITE_MESSAGES.join(" or ")
        })`,
      );
    }
  }
  const bool = (name: "fallbackToRw1" | "sendExemplars" | "sendNativeHistograms") => {
    const b = readBool(ctx, own(o, name), f(name));
    return typeof b === "boolean" ? b : false;
  };

  const rw: ResolvedRemoteWrite = {
    url: typeof url === "string" ? url : "",
    name: "",
    remoteTimeoutMs: typeof timeout === "number" && timeout > 0
      ? timeout
      : DEFAULT_REMOTE_TIMEOUT_MS,
    headers,
    writeRelabelConfigs: resolveRelabelList(
      ctx,
      own(o, "writeRelabelConfigs"),
      f("writeRelabelConfigs"),
    ),
    queue: resolveQueue(ctx, own(o, "queueConfig"), f("queueConfig")),
    protobufMessage,
    fallbackToRw1: bool("fallbackToRw1"),
    sendExemplars: bool("sendExemplars"),
    sendNativeHistograms: bool("sendNativeHistograms"),
    metadata: resolveMetadata(ctx, own(o, "metadataConfig"), f("metadataConfig")),
    tlsConfig: resolveTls(ctx, own(o, "tlsConfig"), f("tlsConfig"), "server"),
    proxyUrl: readProxyUrl(ctx, own(o, "proxyUrl"), f("proxyUrl")),
    maxDiskBytes: readBytes(ctx, own(o, "maxDiskBytes"), f("maxDiskBytes")) ?? 0,
    ...http,
  };
  if (oauth2) rw.oauth2 = oauth2;
  if (sigv4) rw.sigv4 = sigv4;
  const named = typeof name === "string" && name !== "";
  rw.name = named ? name as string : endpointHash(rw);
  return { rw, named };
}

function headerProblem(name: string): string | undefined {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    return `${JSON.stringify(name)} is not a valid HTTP header name`;
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    return `${JSON.stringify(name)} is set by remote write itself and cannot be overridden`;
  }
  return undefined;
}

function isHttpUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
}

/** A byte size: a non-negative integer, or a string such as "512MB" (see `parseBytes`). */
function readBytes(ctx: Ctx, v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" && typeof v !== "string") {
    ctx.add(path, `expected a byte size such as "512MB" or a number of bytes, got ${describe(v)}`);
    return undefined;
  }
  try {
    return parseBytes(v);
  } catch (e) {
    ctx.add(path, (e as Error).message);
    return undefined;
  }
}

/**
 * The default endpoint name: 6 hex digits of the SHA-256 of the endpoint's
 * URL. Prometheus hashes the whole endpoint config; ferry's name is also the
 * key of the endpoint's WAL delivery cursor, so it must survive changes to
 * every other setting (queue, headers, relabeling, protocol, auth, TLS), or
 * the undelivered backlog would be orphaned on the next restart.
 */
function endpointHash(rw: ResolvedRemoteWrite): string {
  return createHash("sha256").update(rw.url).digest("hex").slice(0, 6);
}

function resolveQueue(ctx: Ctx, v: unknown, path: string): ResolvedQueueConfig {
  const q: ResolvedQueueConfig = { ...DEFAULT_QUEUE };
  const o = readObject(ctx, v, path, QUEUE_FIELDS);
  if (!o) return q;
  const f = (name: string) => ctx.f(path, name);
  const int = (name: "capacity" | "maxShards" | "minShards" | "maxSamplesPerSend") => {
    const n = readInt(ctx, own(o, name), f(name), 1);
    if (typeof n === "number") q[name] = n;
  };
  int("capacity");
  int("maxShards");
  int("minShards");
  int("maxSamplesPerSend");
  const dur = (name: "batchSendDeadline" | "minBackoff" | "maxBackoff") => {
    const ms = readDuration(ctx, own(o, name), f(name));
    if (ms === 0) ctx.add(f(name), "must be greater than 0");
    else if (typeof ms === "number") q[`${name}Ms`] = ms;
  };
  dur("batchSendDeadline");
  dur("minBackoff");
  dur("maxBackoff");
  const retry = readBool(ctx, own(o, "retryOnHttp429"), f("retryOnHttp429"));
  if (typeof retry === "boolean") q.retryOnHttp429 = retry;
  // 0 (the default) keeps samples however old they are.
  const age = readDuration(ctx, own(o, "sampleAgeLimit"), f("sampleAgeLimit"));
  if (typeof age === "number") q.sampleAgeLimitMs = age;
  const bytes = readInt(ctx, own(o, "maxBytesPerSend"), f("maxBytesPerSend"), 1);
  if (typeof bytes === "number") q.maxBytesPerSend = bytes;
  if (q.minShards > q.maxShards) {
    ctx.add(
      f("minShards"),
      `${q.minShards} is more than ${ctx.n("maxShards")} ${q.maxShards}`,
    );
  }
  if (q.minBackoffMs > q.maxBackoffMs) {
    ctx.add(
      f("minBackoff"),
      `${formatDuration(q.minBackoffMs)} is longer than ${ctx.n("maxBackoff")} ${
        formatDuration(q.maxBackoffMs)
      }`,
    );
  }
  return q;
}

function resolveMetadata(ctx: Ctx, v: unknown, path: string): ResolvedMetadataConfig {
  const m: ResolvedMetadataConfig = { ...DEFAULT_METADATA };
  const o = readObject(ctx, v, path, METADATA_FIELDS);
  if (!o) return m;
  const f = (name: string) => ctx.f(path, name);
  const send = readBool(ctx, own(o, "send"), f("send"));
  if (typeof send === "boolean") m.send = send;
  const interval = readDuration(ctx, own(o, "sendInterval"), f("sendInterval"));
  if (interval === 0) ctx.add(f("sendInterval"), "must be greater than 0");
  else if (typeof interval === "number") m.sendIntervalMs = interval;
  const max = readInt(ctx, own(o, "maxSamplesPerSend"), f("maxSamplesPerSend"), 1);
  if (typeof max === "number") m.maxSamplesPerSend = max;
  return m;
}

/** `oauth2` (client credentials), or undefined when not given. */
function resolveOAuth2(ctx: Ctx, v: unknown, path: string): ResolvedOAuth2 | undefined {
  if (v === undefined) return undefined;
  const o = readObject(ctx, v, path, OAUTH2_FIELDS);
  if (!o) return undefined; // not an object (reported)
  const f = (name: string) => ctx.f(path, name);
  const str = (name: "clientId" | "clientSecret" | "clientSecretFile" | "tokenUrl") =>
    readString(ctx, own(o, name), f(name));
  const clientId = str("clientId");
  const clientSecret = str("clientSecret");
  const clientSecretFile = str("clientSecretFile");
  const tokenUrl = str("tokenUrl");
  if (clientId === undefined || clientId === "") ctx.add(f("clientId"), "required");
  if (tokenUrl === undefined || tokenUrl === "") ctx.add(f("tokenUrl"), "required");
  else if (typeof tokenUrl === "string" && !isHttpUrl(tokenUrl)) {
    ctx.add(f("tokenUrl"), `not an http(s) URL with a host: ${JSON.stringify(tokenUrl)}`);
  }
  if (
    typeof clientSecret === "string" && clientSecret !== "" &&
    typeof clientSecretFile === "string" && clientSecretFile !== ""
  ) {
    ctx.add(path, `give ${ctx.n("clientSecret")} or ${ctx.n("clientSecretFile")}, not both`);
  }
  const scopes = readStringList(ctx, own(o, "scopes"), f("scopes"));
  const endpointParams = readStringMap(ctx, own(o, "endpointParams"), f("endpointParams"));
  if (scopes.length > 0 && Object.hasOwn(endpointParams, "scope")) {
    ctx.add(
      keyPath(f("endpointParams"), "scope"),
      `conflicts with ${ctx.n("scopes")} (give the scopes in one place)`,
    );
  }
  const file = typeof clientSecretFile === "string" ? clientSecretFile : "";
  return {
    clientId: typeof clientId === "string" ? clientId : "",
    clientSecret: typeof clientSecret === "string" ? clientSecret : "",
    clientSecretFile: file === "" ? "" : resolveFile(ctx, file),
    scopes,
    tokenUrl: typeof tokenUrl === "string" ? tokenUrl : "",
    endpointParams,
    tlsConfig: resolveTls(ctx, own(o, "tlsConfig"), f("tlsConfig"), "server"),
    proxyUrl: readProxyUrl(ctx, own(o, "proxyUrl"), f("proxyUrl")),
  };
}

/** `sigv4`, or undefined when not given. */
function resolveSigV4(ctx: Ctx, v: unknown, path: string): ResolvedSigV4 | undefined {
  if (v === undefined) return undefined;
  const o = readObject(ctx, v, path, SIGV4_FIELDS);
  if (!o) return undefined; // not an object (reported)
  const f = (name: string) => ctx.f(path, name);
  const str = (name: (typeof SIGV4_FIELDS)[number]) => {
    const s = readString(ctx, own(o, name), f(name));
    return typeof s === "string" ? s : "";
  };
  const out: ResolvedSigV4 = {
    region: str("region"),
    accessKey: str("accessKey"),
    secretKey: str("secretKey"),
    serviceName: str("serviceName") || DEFAULT_SIGV4_SERVICE,
  };
  const envKeys = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)";
  const keys = `${ctx.n("accessKey")} and ${ctx.n("secretKey")}`;
  const profile = str("profile");
  const roleArn = str("roleArn");
  if (profile !== "") {
    ctx.add(
      f("profile"),
      `is not supported: ferry does not read AWS shared config or credentials files; ` +
        `give ${keys}, or set ${envKeys} in ferry's environment`,
    );
  }
  if (roleArn !== "") {
    ctx.add(
      f("roleArn"),
      `is not supported: ferry cannot assume a role (STS AssumeRole); give the role's ` +
        `credentials as ${keys}, or set ${envKeys} in ferry's environment`,
    );
  }
  if (out.accessKey !== "" && out.secretKey === "") {
    ctx.add(f("secretKey"), `required with ${ctx.n("accessKey")}`);
  }
  if (out.secretKey !== "" && out.accessKey === "") {
    ctx.add(f("accessKey"), `required with ${ctx.n("secretKey")}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Service discovery: file_sd, http_sd, dns_sd

const FILE_SD_FIELDS = ["files", "refreshInterval"] as const;
const HTTP_SD_FIELDS = ["url", "refreshInterval", "httpHeaders", ...HTTP_FIELDS] as const;
const HTTP_HEADER_FIELDS = ["values", "secrets", "files"] as const;
const DNS_SD_FIELDS = ["names", "type", "port", "refreshInterval"] as const;
const DNS_TYPES: readonly DnsRecordType[] = ["SRV", "A", "AAAA", "MX", "NS"];

/** Headers an http_sd request sets itself (or that belong to the transport). */
const SD_RESERVED_HEADERS = new Set([
  ...RESERVED_HEADERS,
  "authorization",
  "x-prometheus-refresh-interval-seconds",
]);

function resolveServiceDiscovery(
  ctx: Ctx,
  o: Record<string, unknown>,
  path: string,
): Pick<
  ResolvedScrapeConfig,
  "fileSdConfigs" | "httpSdConfigs" | "dnsSdConfigs" | "kubernetesSdConfigs"
> {
  const list = <T>(name: string, one: (v: unknown, p: string) => T): T[] => {
    const out: T[] = [];
    readArray(ctx, own(o, name), ctx.f(path, name))?.forEach((item, i) => {
      out.push(one(item, indexPath(ctx.f(path, name), i)));
    });
    return out;
  };
  const kubernetes = list("kubernetesSdConfigs", (v, p) => resolveKubernetesSd(ctx, v, p));
  return {
    fileSdConfigs: list("fileSdConfigs", (v, p) => resolveFileSd(ctx, v, p)),
    httpSdConfigs: list("httpSdConfigs", (v, p) => resolveHttpSd(ctx, v, p)),
    dnsSdConfigs: list("dnsSdConfigs", (v, p) => resolveDnsSd(ctx, v, p)),
    ...kubernetes.length > 0 ? { kubernetesSdConfigs: kubernetes } : {},
  };
}

// kubernetes_sd ------------------------------------------------------------

const KUBERNETES_ROLES: readonly KubernetesRole[] = [
  "pod",
  "service",
  "endpoints",
  "endpointslice",
  "node",
  "ingress",
];
const KUBERNETES_SD_FIELDS = [
  "role",
  "apiServer",
  "kubeconfigFile",
  "namespaces",
  "selectors",
  "attachMetadata",
  "tlsConfig",
  "proxyUrl",
  ...HTTP_FIELDS,
] as const;
const ATTACH_METADATA_FIELDS = ["node", "namespace", "deployment", "job", "cronjob"] as const;
/** Which selector roles each role accepts (Prometheus' `allowedSelectors`). */
const KUBERNETES_SELECTOR_ROLES: Record<KubernetesRole, KubernetesRole[]> = {
  pod: ["pod", "node"],
  service: ["service"],
  endpointslice: ["pod", "service", "endpointslice"],
  endpoints: ["pod", "service", "endpoints"],
  node: ["node"],
  ingress: ["ingress"],
};
const SELECTOR_KEY = String
  .raw`(?:[A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const SELECTOR_VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const LABEL_REQUIREMENT = new RegExp(
  String.raw`^(?:!?\s*${SELECTOR_KEY}|${SELECTOR_KEY}\s*(?:==?|!=)\s*${SELECTOR_VALUE}|` +
    String
      .raw`${SELECTOR_KEY}\s+(?:in|notin)\s*\(\s*${SELECTOR_VALUE}(?:\s*,\s*${SELECTOR_VALUE})*\s*\))$`,
);
const FIELD_REQUIREMENT = /^[A-Za-z0-9._-]+\s*(?:==?|!=)\s*(?:[^,\\]|\\.)*$/;

/** Why a Kubernetes label selector does not parse, or undefined. */
export function labelSelectorProblem(sel: string): string | undefined {
  if (sel.trim() === "") return undefined;
  // Commas inside `in (a,b)` do not separate requirements.
  const parts = sel.split(/,(?![^(]*\))/);
  const bad = parts.find((p) => !LABEL_REQUIREMENT.test(p.trim()));
  return bad === undefined
    ? undefined
    : `invalid label selector requirement ${JSON.stringify(bad.trim())}`;
}

/** Why a Kubernetes field selector does not parse, or undefined. */
export function fieldSelectorProblem(sel: string): string | undefined {
  if (sel.trim() === "") return undefined;
  const parts = sel.split(/(?<!\\),/);
  const bad = parts.find((p) => !FIELD_REQUIREMENT.test(p.trim()));
  return bad === undefined
    ? undefined
    : `invalid field selector requirement ${JSON.stringify(bad.trim())}`;
}

function readKubernetesRole(ctx: Ctx, v: unknown, path: string): KubernetesRole | undefined {
  const r = readString(ctx, v, path);
  if (typeof r !== "string") return undefined;
  if ((KUBERNETES_ROLES as readonly string[]).includes(r)) return r as KubernetesRole;
  ctx.add(
    path,
    `unknown Kubernetes SD role ${JSON.stringify(r)} (want one of ${KUBERNETES_ROLES.join(", ")})`,
  );
  return undefined;
}

function resolveKubernetesSd(ctx: Ctx, v: unknown, path: string): ResolvedKubernetesSdConfig {
  const o = readObject(ctx, v, path, KUBERNETES_SD_FIELDS, true) ?? {};
  const f = (name: string) => ctx.f(path, name);
  const roleRaw = own(o, "role");
  const role = readKubernetesRole(ctx, roleRaw, f("role"));
  if (roleRaw === undefined || roleRaw === "") {
    ctx.add(f("role"), `required (one of ${KUBERNETES_ROLES.join(", ")})`);
  }
  const apiRaw = readString(ctx, own(o, "apiServer"), f("apiServer"));
  const apiServer = typeof apiRaw === "string" ? apiRaw : "";
  if (apiServer !== "" && !isHttpUrl(apiServer)) {
    ctx.add(f("apiServer"), `not an http(s) URL with a host: ${JSON.stringify(apiServer)}`);
  }
  const kcRaw = readString(ctx, own(o, "kubeconfigFile"), f("kubeconfigFile"));
  const kubeconfigFile = typeof kcRaw === "string" && kcRaw !== "" ? resolveFile(ctx, kcRaw) : "";

  const nsPath = f("namespaces");
  const ns = readObject(ctx, own(o, "namespaces"), nsPath, ["ownNamespace", "names"]) ?? {};
  const own_ = readBool(ctx, own(ns, "ownNamespace"), ctx.f(nsPath, "ownNamespace")) === true;
  const names = readStringList(ctx, own(ns, "names"), ctx.f(nsPath, "names"));

  const amPath = f("attachMetadata");
  const am = readObject(ctx, own(o, "attachMetadata"), amPath, ATTACH_METADATA_FIELDS) ?? {};
  const flag = (k: string) => readBool(ctx, own(am, k), ctx.f(amPath, k)) === true;

  const selectors: ResolvedKubernetesSdConfig["selectors"] = [];
  const selPath = f("selectors");
  readArray(ctx, own(o, "selectors"), selPath)?.forEach((item, i) => {
    const sp = indexPath(selPath, i);
    const so = readObject(ctx, item, sp, ["role", "label", "field"], true);
    if (!so) return;
    const sr = readKubernetesRole(ctx, own(so, "role"), ctx.f(sp, "role"));
    if (own(so, "role") === undefined) ctx.add(ctx.f(sp, "role"), "required");
    const label = readString(ctx, own(so, "label"), ctx.f(sp, "label"));
    const field = readString(ctx, own(so, "field"), ctx.f(sp, "field"));
    if (typeof label === "string") {
      const problem = labelSelectorProblem(label);
      if (problem) ctx.add(ctx.f(sp, "label"), problem);
    }
    if (typeof field === "string") {
      const problem = fieldSelectorProblem(field);
      if (problem) ctx.add(ctx.f(sp, "field"), problem);
    }
    if (sr === undefined) return;
    if (selectors.some((x) => x.role === sr)) {
      ctx.add(ctx.f(sp, "role"), `duplicated selector role: ${sr}`);
    } else if (role !== undefined && !KUBERNETES_SELECTOR_ROLES[role].includes(sr)) {
      ctx.add(
        ctx.f(sp, "role"),
        `${role} role supports only ${KUBERNETES_SELECTOR_ROLES[role].join(", ")} selectors`,
      );
    }
    selectors.push({
      role: sr,
      label: typeof label === "string" ? label : "",
      field: typeof field === "string" ? field : "",
    });
  });

  const http = resolveHttpClient(ctx, o, path);
  const tlsConfig = resolveTls(ctx, own(o, "tlsConfig"), f("tlsConfig"), "server");
  const proxyUrl = readProxyUrl(ctx, own(o, "proxyUrl"), f("proxyUrl"));
  const customHttp = own(o, "basicAuth") !== undefined || own(o, "authorization") !== undefined ||
    own(o, "tlsConfig") !== undefined || proxyUrl !== "" || http.followRedirects === false;
  if (apiServer !== "" && kubeconfigFile !== "") {
    ctx.add(path, `cannot use ${ctx.n("kubeconfigFile")} and ${ctx.n("apiServer")} simultaneously`);
  }
  if (kubeconfigFile !== "" && customHttp) {
    ctx.add(
      path,
      `cannot use a custom HTTP client configuration together with ${ctx.n("kubeconfigFile")}`,
    );
  } else if (apiServer === "" && kubeconfigFile === "" && customHttp) {
    ctx.add(
      path,
      `to use custom HTTP client configuration please provide the ${
        ctx.n("apiServer")
      } URL explicitly`,
    );
  }
  if (own_ && apiServer !== "") {
    ctx.add(nsPath, `cannot use ${ctx.n("apiServer")} and ${ctx.n("ownNamespace")} simultaneously`);
  }
  if (own_ && kubeconfigFile !== "") {
    ctx.add(
      nsPath,
      `cannot use ${ctx.n("kubeconfigFile")} and ${ctx.n("ownNamespace")} simultaneously`,
    );
  }
  return {
    role: role ?? "pod",
    apiServer,
    kubeconfigFile,
    namespaces: { ownNamespace: own_, names },
    selectors,
    attachMetadata: {
      node: flag("node"),
      namespace: flag("namespace"),
      deployment: flag("deployment"),
      job: flag("job"),
      cronjob: flag("cronjob"),
    },
    tlsConfig,
    proxyUrl,
    ...http,
  };
}

/** A refresh interval: absent → `def`; 0 is rejected. */
function readRefresh(ctx: Ctx, o: Record<string, unknown>, path: string, def: number): number {
  const p = ctx.f(path, "refreshInterval");
  const ms = readDuration(ctx, own(o, "refreshInterval"), p);
  if (ms === 0) ctx.add(p, "must be greater than 0");
  return typeof ms === "number" && ms > 0 ? ms : def;
}

/** `*`, `?` and `[` are glob characters (only allowed in the last path element). */
const GLOB_CHARS = /[*?[]/;

function resolveFileSd(ctx: Ctx, v: unknown, path: string): ResolvedFileSdConfig {
  const o = readObject(ctx, v, path, FILE_SD_FIELDS, true) ?? {};
  const filesPath = ctx.f(path, "files");
  const raw = own(o, "files");
  const files = readStringList(ctx, raw, filesPath);
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    ctx.add(filesPath, "required (at least one path or glob)");
  }
  files.forEach((file, i) => {
    const problem = fileSdPatternProblem(file);
    if (problem) ctx.add(indexPath(filesPath, i), problem);
  });
  return {
    files: files.map((f) => resolveFile(ctx, f)),
    refreshIntervalMs: readRefresh(ctx, o, path, DEFAULT_FILE_SD_REFRESH_MS),
  };
}

function fileSdPatternProblem(file: string): string | undefined {
  const q = JSON.stringify(file);
  if (file === "") return "a path must not be empty";
  const slash = file.lastIndexOf("/");
  const dir = file.slice(0, slash + 1);
  const base = file.slice(slash + 1);
  if (GLOB_CHARS.test(dir)) {
    return `${q}: glob characters are allowed only in the last path element`;
  }
  if (!/\.(?:json|ya?ml)$/i.test(base)) {
    return `${q} must end in .json, .yml or .yaml`;
  }
  return undefined;
}

function resolveHttpSd(ctx: Ctx, v: unknown, path: string): ResolvedHttpSdConfig {
  const o = readObject(ctx, v, path, HTTP_SD_FIELDS, true) ?? {};
  const f = (name: string) => ctx.f(path, name);
  const url = readString(ctx, own(o, "url"), f("url"));
  if (url === undefined || url === "") ctx.add(f("url"), "required");
  else if (typeof url === "string" && !isHttpUrl(url)) {
    ctx.add(f("url"), `not an http(s) URL with a host: ${JSON.stringify(url)}`);
  }
  const http = resolveHttpClient(ctx, o, path);
  const httpHeaders: ResolvedHttpSdConfig["httpHeaders"] = {};
  const hp = f("httpHeaders");
  const rawHeaders = own(o, "httpHeaders");
  if (rawHeaders !== undefined && !isPlainObject(rawHeaders)) {
    ctx.add(hp, `expected an object of header settings, got ${describe(rawHeaders)}`);
  } else if (rawHeaders !== undefined) {
    for (const name of Object.keys(rawHeaders)) {
      const p = keyPath(hp, name);
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
        ctx.add(p, `${JSON.stringify(name)} is not a valid HTTP header name`);
      } else if (SD_RESERVED_HEADERS.has(name.toLowerCase())) {
        ctx.add(
          p,
          `${JSON.stringify(name)} is reserved (use ${ctx.n("basicAuth")} or ${
            ctx.n("authorization")
          } for credentials)`,
        );
      }
      const ho = readObject(ctx, rawHeaders[name], p, HTTP_HEADER_FIELDS, true) ?? {};
      const values = readStringList(ctx, own(ho, "values"), ctx.f(p, "values"));
      const secrets = readStringList(ctx, own(ho, "secrets"), ctx.f(p, "secrets"));
      const files = readStringList(ctx, own(ho, "files"), ctx.f(p, "files"));
      [...values, ...secrets].forEach((val) => {
        if (/[\r\n\0]/.test(val)) ctx.add(p, "values must not contain CR, LF or NUL");
      });
      setOwn(httpHeaders, name, { values, secrets, files: files.map((x) => resolveFile(ctx, x)) });
    }
  }
  return {
    url: typeof url === "string" ? url : "",
    refreshIntervalMs: readRefresh(ctx, o, path, DEFAULT_HTTP_SD_REFRESH_MS),
    httpHeaders,
    ...http,
  };
}

function resolveDnsSd(ctx: Ctx, v: unknown, path: string): ResolvedDnsSdConfig {
  const o = readObject(ctx, v, path, DNS_SD_FIELDS, true) ?? {};
  const f = (name: string) => ctx.f(path, name);
  const raw = own(o, "names");
  const names = readStringList(ctx, raw, f("names"));
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    ctx.add(f("names"), "required (at least one name)");
  }
  names.forEach((n, i) => {
    if (n === "") ctx.add(indexPath(f("names"), i), "a name must not be empty");
  });
  const typeRaw = readString(ctx, own(o, "type"), f("type"));
  let type: DnsRecordType = "SRV";
  let typeOk = typeRaw !== INVALID;
  if (typeof typeRaw === "string") {
    const upper = typeRaw.toUpperCase();
    if ((DNS_TYPES as readonly string[]).includes(upper)) type = upper as DnsRecordType;
    else {
      typeOk = false;
      ctx.add(
        f("type"),
        `unknown record type ${JSON.stringify(typeRaw)} (want one of ${DNS_TYPES.join(", ")})`,
      );
    }
  }
  const port = readInt(ctx, own(o, "port"), f("port"), 0);
  if (typeof port === "number" && port > 65535) {
    ctx.add(f("port"), `must be at most 65535, got ${port}`);
  }
  if (typeOk && type !== "SRV" && (port === undefined || port === 0)) {
    ctx.add(f("port"), `required for record type ${type} (only SRV records carry a port)`);
  }
  return {
    names,
    type,
    port: typeof port === "number" ? port : 0,
    refreshIntervalMs: readRefresh(ctx, o, path, DEFAULT_DNS_SD_REFRESH_MS),
  };
}

// ---------------------------------------------------------------------------
// Scrape options: protocols, limits, compression, TLS, proxy

/** Prometheus 3's default `scrape_protocols` (OpenMetrics preferred). */
export const DEFAULT_SCRAPE_PROTOCOLS: readonly ScrapeProtocol[] = [
  "OpenMetricsText1.0.0",
  "OpenMetricsText0.0.1",
  "PrometheusText1.0.0",
  "PrometheusText0.0.4",
];
/**
 * Prometheus 3's defaults for jobs with native histograms (and no
 * `scrape_protocols` of their own or in `global`): protobuf first.
 */
export const PROTO_FIRST_SCRAPE_PROTOCOLS: readonly ScrapeProtocol[] = [
  "PrometheusProto",
  ...DEFAULT_SCRAPE_PROTOCOLS,
];
const SCRAPE_PROTOCOLS: readonly string[] = [...DEFAULT_SCRAPE_PROTOCOLS, "PrometheusProto"];
const DEFAULT_GLOBAL_SCRAPE_OPTIONS = {
  bodySizeLimit: 0,
  sampleLimit: 0,
  targetLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
} as const;
const LIMIT_FIELDS = [
  "sampleLimit",
  "targetLimit",
  "labelLimit",
  "labelNameLengthLimit",
  "labelValueLengthLimit",
] as const;
const TLS_FIELDS = [
  "ca",
  "caFile",
  "cert",
  "certFile",
  "key",
  "keyFile",
  "insecureSkipVerify",
  "serverName",
  "minVersion",
  "maxVersion",
] as const;
const TLS_VERSIONS = ["TLS10", "TLS11", "TLS12", "TLS13"];

type GlobalScrapeOptions = Pick<
  ResolvedGlobal,
  "scrapeProtocols" | "bodySizeLimit" | (typeof LIMIT_FIELDS)[number]
>;

function resolveGlobalScrapeOptions(
  ctx: Ctx,
  o: Record<string, unknown>,
  path: string,
): GlobalScrapeOptions {
  const out: GlobalScrapeOptions = {
    ...DEFAULT_GLOBAL_SCRAPE_OPTIONS,
    scrapeProtocols: [...DEFAULT_SCRAPE_PROTOCOLS],
  };
  const protocols = readProtocols(ctx, own(o, "scrapeProtocols"), ctx.f(path, "scrapeProtocols"));
  if (protocols !== undefined) {
    if (protocols.length === 0) ctx.add(ctx.f(path, "scrapeProtocols"), "must not be empty");
    else out.scrapeProtocols = protocols;
    ctx.scrapeDefaults.protocolsGiven = true;
  }
  out.bodySizeLimit = readBytes(ctx, own(o, "bodySizeLimit"), ctx.f(path, "bodySizeLimit")) ?? 0;
  for (const name of LIMIT_FIELDS) {
    const n = readInt(ctx, own(o, name), ctx.f(path, name), 0);
    if (typeof n === "number") out[name] = n;
  }
  return out;
}

type ScrapeOptions = Pick<
  ResolvedScrapeConfig,
  | "scrapeProtocols"
  | "fallbackScrapeProtocol"
  | "enableCompression"
  | "trackTimestampsStaleness"
  | "scrapeNativeHistograms"
  | "alwaysScrapeClassicHistograms"
  | "bodySizeLimit"
  | "tlsConfig"
  | "proxyUrl"
  | (typeof LIMIT_FIELDS)[number]
>;

/** A job's scrape options; 0 limits and an empty protocol list inherit from `global`, as in Prometheus. */
function resolveScrapeOptions(
  ctx: Ctx,
  o: Record<string, unknown>,
  path: string,
  global: ResolvedGlobal,
): ScrapeOptions {
  const f = (name: string) => ctx.f(path, name);
  const protocols = readProtocols(ctx, own(o, "scrapeProtocols"), f("scrapeProtocols"));
  let fallback: ScrapeProtocol | "" = "";
  const fb = readString(ctx, own(o, "fallbackScrapeProtocol"), f("fallbackScrapeProtocol"));
  if (typeof fb === "string" && fb !== "") {
    const problem = protocolProblem(fb);
    if (problem !== undefined) ctx.add(f("fallbackScrapeProtocol"), problem);
    else fallback = fb as ScrapeProtocol;
  }
  const compression = readBool(ctx, own(o, "enableCompression"), f("enableCompression"));
  const track = readBool(ctx, own(o, "trackTimestampsStaleness"), f("trackTimestampsStaleness"));
  const native = readBool(ctx, own(o, "scrapeNativeHistograms"), f("scrapeNativeHistograms"));
  const classic = readBool(
    ctx,
    own(o, "alwaysScrapeClassicHistograms"),
    f("alwaysScrapeClassicHistograms"),
  );
  const nativeOn = typeof native === "boolean" ? native : ctx.scrapeDefaults.nativeHistograms;
  // Prometheus 3: the job's list, else global's when given there, else the
  // protobuf-first defaults with native histograms, else the defaults.
  let scrapeProtocols: ScrapeProtocol[];
  if (protocols !== undefined && protocols.length > 0) scrapeProtocols = protocols;
  else if (ctx.scrapeDefaults.protocolsGiven || !nativeOn) {
    scrapeProtocols = [...global.scrapeProtocols];
  } else scrapeProtocols = [...PROTO_FIRST_SCRAPE_PROTOCOLS];
  const body = readBytes(ctx, own(o, "bodySizeLimit"), f("bodySizeLimit")) ?? 0;
  const limits = {} as Record<(typeof LIMIT_FIELDS)[number], number>;
  for (const name of LIMIT_FIELDS) {
    const n = readInt(ctx, own(o, name), f(name), 0);
    limits[name] = typeof n === "number" && n > 0 ? n : global[name];
  }
  return {
    scrapeProtocols,
    fallbackScrapeProtocol: fallback,
    enableCompression: typeof compression === "boolean" ? compression : true,
    trackTimestampsStaleness: typeof track === "boolean" ? track : false,
    scrapeNativeHistograms: nativeOn,
    alwaysScrapeClassicHistograms: typeof classic === "boolean"
      ? classic
      : ctx.scrapeDefaults.alwaysClassic,
    bodySizeLimit: body > 0 ? body : global.bodySizeLimit,
    ...limits,
    tlsConfig: resolveTls(ctx, own(o, "tlsConfig"), f("tlsConfig"), "target"),
    proxyUrl: readProxyUrl(ctx, own(o, "proxyUrl"), f("proxyUrl")),
  };
}

function protocolProblem(p: string): string | undefined {
  if (!SCRAPE_PROTOCOLS.includes(p)) {
    return `unknown scrape protocol ${JSON.stringify(p)} (want one of ${
      SCRAPE_PROTOCOLS.join(", ")
    })`;
  }
  return undefined;
}

/** A list of scrape protocols: known, supported, each once. Undefined when absent. */
function readProtocols(ctx: Ctx, v: unknown, path: string): ScrapeProtocol[] | undefined {
  if (v === undefined) return undefined;
  const list = readStringList(ctx, v, path);
  const out: ScrapeProtocol[] = [];
  list.forEach((p, i) => {
    const problem = protocolProblem(p);
    if (problem !== undefined) ctx.add(indexPath(path, i), problem);
    else if (out.includes(p as ScrapeProtocol)) {
      ctx.add(indexPath(path, i), `${JSON.stringify(p)} is listed twice`);
    } else out.push(p as ScrapeProtocol);
  });
  return out;
}

/**
 * A `tls_config`. `peer` names the other side in messages: a scrape
 * "target" (reached through `__address__`) or a "server" (a fixed URL).
 */
function resolveTls(
  ctx: Ctx,
  v: unknown,
  path: string,
  peer: "target" | "server",
): ResolvedTlsConfig {
  const out: ResolvedTlsConfig = {
    ca: "",
    caFile: "",
    cert: "",
    certFile: "",
    key: "",
    keyFile: "",
  };
  const o = readObject(ctx, v, path, TLS_FIELDS);
  if (!o) return out;
  const f = (name: string) => ctx.f(path, name);
  const str = (name: keyof ResolvedTlsConfig) => {
    const s = readString(ctx, own(o, name), f(name));
    return typeof s === "string" ? s : "";
  };
  for (
    const [inline, file] of [["ca", "caFile"], ["cert", "certFile"], ["key", "keyFile"]] as const
  ) {
    out[inline] = str(inline);
    const p = str(file);
    out[file] = p === "" ? "" : resolveFile(ctx, p);
    if (out[inline] !== "" && p !== "") {
      ctx.add(path, `give ${ctx.n(inline)} or ${ctx.n(file)}, not both`);
    }
  }
  const hasCert = out.cert !== "" || out.certFile !== "";
  const hasKey = out.key !== "" || out.keyFile !== "";
  if (hasCert && !hasKey) {
    ctx.add(path, `a client certificate needs ${ctx.n("key")} or ${ctx.n("keyFile")}`);
  }
  if (hasKey && !hasCert) {
    ctx.add(path, `a client key needs ${ctx.n("cert")} or ${ctx.n("certFile")}`);
  }
  if (readBool(ctx, own(o, "insecureSkipVerify"), f("insecureSkipVerify")) === true) {
    ctx.add(
      f("insecureSkipVerify"),
      `true is not supported: Deno cannot turn off certificate verification for one client; ` +
        `give the ${peer}'s CA in ${ctx.n("ca")} or ${ctx.n("caFile")}, or run ferry with ` +
        `--unsafely-ignore-certificate-errors=HOST`,
    );
  }
  const serverName = readString(ctx, own(o, "serverName"), f("serverName"));
  if (typeof serverName === "string" && serverName !== "") {
    ctx.add(
      f("serverName"),
      peer === "target"
        ? `is not supported: Deno verifies the certificate against the host of the scrape URL; ` +
          `scrape the target under a name its certificate holds (relabel __address__)`
        : `is not supported: Deno verifies the certificate against the host of the URL; ` +
          `use a URL whose host the server's certificate names`,
    );
  }
  const version = (name: "minVersion" | "maxVersion", ok: string[], why: string) => {
    const s = readString(ctx, own(o, name), f(name));
    if (typeof s !== "string" || s === "") return;
    if (!TLS_VERSIONS.includes(s)) {
      ctx.add(f(name), `unknown TLS version ${JSON.stringify(s)} (want one of ${TLS_VERSIONS})`);
    } else if (!ok.includes(s)) ctx.add(f(name), `${s} is not supported: ${why}`);
  };
  version(
    "minVersion",
    ["TLS10", "TLS11", "TLS12"],
    "Deno always accepts TLS 1.2 and cannot be limited to TLS 1.3",
  );
  version("maxVersion", ["TLS13"], "Deno always allows TLS 1.3 and cannot be capped below it");
  return out;
}

function readProxyUrl(ctx: Ctx, v: unknown, path: string): string {
  const s = readString(ctx, v, path);
  if (typeof s !== "string" || s === "") return "";
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.add(path, `not a URL: ${JSON.stringify(s)}`);
    return "";
  }
  if (!["http:", "https:", "socks5:", "socks5h:"].includes(u.protocol) || u.hostname === "") {
    ctx.add(
      path,
      `want an http://, https:// or socks5:// URL with a host, got ${JSON.stringify(s)}`,
    );
    return "";
  }
  return s;
}

/**
 * Renders a resolved config for `/api/v1/status/config`: Prometheus-style
 * YAML (snake_case keys, duration strings) with every secret replaced by
 * `<secret>`, as Prometheus does.
 *
 * @module
 */

import { stringify } from "yaml";
import { formatDuration } from "../model/duration.ts";
import { redactUrl } from "../util/url.ts";
import { DEFAULT_REPLICA_LABEL } from "./resolve.ts";
import type { ResolvedConfig } from "./types.ts";

/** Keys whose values are secrets. */
const SECRET_KEYS = new Set(["password", "credentials", "key", "clientSecret", "secretKey"]);

/** Maps whose keys are kept as written (label names, header names, parameters). */
const VERBATIM_MAPS = new Set([
  "externalLabels",
  "labels",
  "headers",
  "params",
  "endpointParams",
  "extraLabels",
  "basicAuthUsers",
]);

/** Resolved field names whose prometheus.yml key is not their snake_case. */
const YAML_KEYS: Record<string, string> = {
  queue: "queue_config",
  metadata: "metadata_config",
  retryOnHttp429: "retry_on_http_429",
  push: "push_config",
};

/** URL-valued keys whose userinfo password is hidden (as Go's `url.Redacted`). */
const URL_KEYS = new Set(["url", "proxyUrl", "tokenUrl"]);

/** Prometheus' placeholder for a hidden secret. */
export const SECRET = "<secret>";

/**
 * The resolved config as YAML, secrets hidden. ferry's own top-level fields
 * are shown only when they matter: `shard` when the agent is sharded (not
 * repeated in each job), `replica_label` when it is not the default.
 */
export function renderConfigYaml(config: ResolvedConfig): string {
  const { shard, replicaLabel, scrapeConfigs, ...rest } = config;
  const shape: Record<string, unknown> = {
    ...rest,
    scrapeConfigs: scrapeConfigs.map(({ shard: _shard, ...job }) => job),
  };
  if (shard !== null) shape.shard = shard;
  if (replicaLabel !== DEFAULT_REPLICA_LABEL) shape.replicaLabel = replicaLabel;
  if (rest.push !== undefined) {
    // bcrypt hashes are not shown, as passwords are not.
    const users = Object.keys(rest.push.basicAuthUsers).map((u) => [u, SECRET]);
    shape.push = { ...rest.push, basicAuthUsers: Object.fromEntries(users) };
  }
  return stringify(toYamlShape(shape), { lineWidth: 0 });
}

function toYamlShape(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => toYamlShape(x));
  if (v === null || typeof v !== "object") {
    if (typeof v !== "string" || v === "") return v;
    if (SECRET_KEYS.has(key)) return SECRET;
    return URL_KEYS.has(key) ? redactUrl(v) : v;
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val === undefined || val === "") continue;
    if (k.endsWith("Ms") && typeof val === "number") {
      out[snake(k.slice(0, -2))] = formatDuration(val);
      continue;
    }
    out[YAML_KEYS[k] ?? snake(k)] = VERBATIM_MAPS.has(k) ? val : toYamlShape(val, k);
  }
  return out;
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

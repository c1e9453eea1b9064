/**
 * ferry's API for config authors: {@link defineConfig} and the config types.
 *
 * A config is a TypeScript module whose default export (or export named
 * `config`) is an {@link AgentConfig}. Field names are the camelCase of
 * Prometheus' prometheus.yml keys, durations are Prometheus duration strings,
 * and every optional field has Prometheus' default. ferry imports the module
 * in a sandbox that may read only the module's own directory (no network,
 * environment, writes or subprocesses) and validates what it exports.
 *
 * @example A config module
 * ```ts
 * import { defineConfig } from "./mod.ts";
 *
 * export default defineConfig({
 *   global: { scrapeInterval: "15s", externalLabels: { site: "lab" } },
 *   scrapeConfigs: [
 *     {
 *       jobName: "node",
 *       staticConfigs: [{ targets: ["127.0.0.1:9100"] }],
 *       metricRelabelConfigs: [
 *         { sourceLabels: ["__name__"], regex: "go_.*", action: "drop" },
 *       ],
 *     },
 *   ],
 *   remoteWrite: [{ url: "http://127.0.0.1:9090/api/v1/write" }],
 * });
 * ```
 *
 * @module
 */

import type { AgentConfig, RelabelConfig } from "./src/config/types.ts";
import { resolveRelabelConfigs } from "./src/config/resolve.ts";
import { Labels } from "./src/model/labels.ts";
import { compileRules, relabelSteps } from "./src/relabel/relabel.ts";

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
  ScrapeConfig,
  ScrapeProtocol,
  ShardConfig,
  SigV4Config,
  StaticConfig,
  TlsConfig,
} from "./src/config/types.ts";
export { dnsSd, fileSd, httpSd, kubernetesSd } from "./src/config/sd.ts";

/**
 * Declares a ferry config. Returns its argument unchanged; it exists so the
 * editor and `deno check` know the object is an {@link AgentConfig} (a
 * misspelt field or a duration such as `"15 s"` is a compile error).
 *
 * @param config The config: scrape jobs, remote-write endpoints, global settings.
 * @returns `config`, unchanged.
 *
 * @example
 * ```ts
 * import { defineConfig } from "./mod.ts";
 *
 * const config = defineConfig({
 *   scrapeConfigs: [{ jobName: "self", staticConfigs: [{ targets: ["127.0.0.1:9095"] }] }],
 * });
 * if (config.scrapeConfigs?.[0].jobName !== "self") throw new Error("unreachable");
 * ```
 */
export function defineConfig(config: AgentConfig): AgentConfig {
  return config;
}

/** One step of {@link relabelTrace}: which rule ran, and the labels before and after it. */
export interface RelabelTraceStep {
  /** Index of the rule in the list. */
  index: number;
  /** The rule with Prometheus' defaults filled in. */
  rule: Required<Omit<RelabelConfig, "modulus">> & { modulus: number };
  before: Record<string, string>;
  /** The labels after the rule, or null when the rule dropped them. */
  after: Record<string, string> | null;
}

/**
 * Applies relabel rules to a label set exactly as ferry does at scrape time,
 * so rules can be unit-tested with `Deno.test`. Rules get Prometheus'
 * defaults and are validated as in a config (invalid rules throw a
 * `ConfigError` naming the rule). Empty label values mean "absent".
 *
 * @param rules Relabel rules, as in `relabelConfigs` or `metricRelabelConfigs`.
 * @param labels The input labels, e.g. a discovered target's.
 * @returns The resulting labels, or `null` when the rules drop them.
 *
 * @example
 * ```ts
 * import { relabel } from "./mod.ts";
 *
 * const out = relabel(
 *   [{ sourceLabels: ["__address__"], regex: "(.*):9100", targetLabel: "host" }],
 *   { __address__: "db1:9100" },
 * );
 * if (out?.host !== "db1") throw new Error("expected host=db1");
 * ```
 */
export function relabel(
  rules: RelabelConfig[],
  labels: Record<string, string>,
): Record<string, string> | null {
  const steps = relabelTrace(rules, labels);
  return steps.length === 0 ? Labels.fromObject(labels).toObject() : steps[steps.length - 1].after;
}

/**
 * Like {@link relabel}, but returns every step: the rule, the labels before
 * and after it. Stops at the rule that drops the labels.
 */
export function relabelTrace(
  rules: RelabelConfig[],
  labels: Record<string, string>,
): RelabelTraceStep[] {
  const resolved = resolveRelabelConfigs(rules);
  return relabelSteps(compileRules(resolved), Labels.fromObject(labels)).map((s, index) => ({
    index,
    rule: s.rule,
    before: s.before.toObject(),
    after: s.after?.toObject() ?? null,
  }));
}

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

import type { AgentConfig } from "./src/config/types.ts";

export type {
  AgentConfig,
  Authorization,
  BasicAuth,
  Duration,
  DurationUnit,
  GlobalConfig,
  HttpClientConfig,
  QueueConfig,
  RelabelAction,
  RelabelConfig,
  RemoteWriteConfig,
  ScrapeConfig,
  StaticConfig,
} from "./src/config/types.ts";

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

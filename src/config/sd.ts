/**
 * Small typed helpers for the service-discovery parts of a config; each
 * returns the plain config object (so the result is the same as writing the
 * object out).
 *
 * @module
 */

import type {
  DnsSdConfig,
  FileSdConfig,
  HttpSdConfig,
  KubernetesRole,
  KubernetesSdConfig,
} from "./types.ts";

/**
 * A file_sd config: `fileSd("targets/*.json")`, `fileSd(["a.yml", "b.yml"], { refreshInterval: "1m" })`.
 * Relative paths are relative to the config file's directory.
 */
export function fileSd(
  files: string | string[],
  opts: Omit<FileSdConfig, "files"> = {},
): FileSdConfig {
  return { files: typeof files === "string" ? [files] : [...files], ...opts };
}

/** An http_sd config: `httpSd("https://cmdb.example/targets", { refreshInterval: "30s" })`. */
export function httpSd(url: string, opts: Omit<HttpSdConfig, "url"> = {}): HttpSdConfig {
  return { url, ...opts };
}

/**
 * A dns_sd config: `dnsSd("_node._tcp.example.com")` (SRV), or
 * `dnsSd(["db.example.com"], { type: "A", port: 9100 })`.
 */
export function dnsSd(
  names: string | string[],
  opts: Omit<DnsSdConfig, "names"> = {},
): DnsSdConfig {
  return { names: typeof names === "string" ? [names] : [...names], ...opts };
}

/**
 * A kubernetes_sd config: `kubernetesSd("pod")` (in-cluster, all namespaces),
 * `kubernetesSd("endpointslice", { namespaces: { names: ["web"] } })`.
 */
export function kubernetesSd(
  role: KubernetesRole,
  opts: Omit<KubernetesSdConfig, "role"> = {},
): KubernetesSdConfig {
  return { role, ...opts };
}

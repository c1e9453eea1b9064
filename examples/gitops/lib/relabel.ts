/**
 * Relabel rules shared by every site. Each export is a list of rules, so a job
 * composes them with spreads: `relabelConfigs: [...keepSiteHosts("paris"), ...hostLabel]`.
 * `tests/relabel_test.ts` pins what they do with ferry's `relabel()`.
 *
 * @module
 */

import type { RelabelConfig } from "ferry";

/** The domain the fleet's hosts are named under: `<host>.<site>.example.net`. */
export const FLEET_DOMAIN = "example.net";

/**
 * Drops the Go runtime's series (`go_*`) that every Go exporter exposes: noise
 * at fleet scale. A metric relabel rule (`metricRelabelConfigs`).
 */
export const dropGoNoise: RelabelConfig[] = [
  { sourceLabels: ["__name__"], regex: "go_.*", action: "drop" },
];

/**
 * Sets `inventory` to the name of the file_sd file that listed the target
 * (file_sd's `__meta_filepath`, without directory and extension), so a series
 * says which inventory it came from. A target relabel rule.
 */
export const inventoryLabel: RelabelConfig[] = [
  {
    sourceLabels: ["__meta_filepath"],
    regex: "(?:.*/)?([^/]+)\\.(?:json|ya?ml)",
    targetLabel: "inventory",
  },
];

/** Sets `host` to the target's host name, without the port. A target relabel rule. */
export const hostLabel: RelabelConfig[] = [
  { sourceLabels: ["__address__"], regex: "\\[?([^\\]]+?)\\]?:\\d+", targetLabel: "host" },
];

/**
 * Keeps only the targets of one site (hosts named `*.<site>.example.net`),
 * so every site can share one inventory. A target relabel rule.
 *
 * @param site The site's name: lower-case letters, digits and `-`.
 * @throws {Error} when `site` is not such a name (it becomes part of a regex).
 */
export function keepSiteHosts(site: string): RelabelConfig[] {
  if (!/^[a-z0-9-]+$/.test(site)) {
    throw new Error(`site name ${JSON.stringify(site)}: use lower-case letters, digits and -`);
  }
  const domain = FLEET_DOMAIN.replaceAll(".", "\\.");
  return [
    {
      sourceLabels: ["__address__"],
      regex: `[^:/]+\\.${site}\\.${domain}(?::\\d+)?`,
      action: "keep",
    },
  ];
}

/**
 * Scrape jobs shared by every site. A site config picks the jobs it runs and
 * passes what differs (its name, its static targets).
 *
 * Paths in these jobs (file_sd files) are relative to the directory of the
 * config that uses them, `sites/`.
 *
 * @module
 */

import { fileSd, type ScrapeConfig } from "ferry";
import { dropGoNoise, hostLabel, inventoryLabel, keepSiteHosts } from "./relabel.ts";

/**
 * node_exporter on the given hosts, with a `host` label and without Go runtime
 * series.
 *
 * @param targets `host:port` of each node_exporter.
 */
export function nodeJob(targets: string[]): ScrapeConfig {
  return {
    jobName: "node",
    staticConfigs: [{ targets }],
    relabelConfigs: [...hostLabel],
    metricRelabelConfigs: [...dropGoNoise],
  };
}

/**
 * The exporters listed in the shared inventory (`inventory/*.json`, file_sd
 * format), of one site only.
 *
 * @param site The site whose hosts are kept (see {@link keepSiteHosts}).
 */
export function inventoryJob(site: string): ScrapeConfig {
  return {
    jobName: "inventory",
    fileSdConfigs: [fileSd("../inventory/*.json", { refreshInterval: "1m" })],
    relabelConfigs: [...keepSiteHosts(site), ...inventoryLabel, ...hostLabel],
    metricRelabelConfigs: [...dropGoNoise],
  };
}

/** ferry's own `/metrics` (its default `--web.listen-address`). */
export function selfJob(): ScrapeConfig {
  return { jobName: "ferry", staticConfigs: [{ targets: ["127.0.0.1:9095"] }] };
}

/**
 * The Paris site: the inventory's Paris hosts and ferry itself, forwarded to
 * the central store with `site="paris"`.
 */
import { defineConfig } from "ferry";
import { inventoryJob, selfJob } from "../lib/jobs.ts";

export default defineConfig({
  global: {
    scrapeInterval: "15s",
    externalLabels: { site: "paris", region: "eu-west" },
  },
  scrapeConfigs: [selfJob(), inventoryJob("paris")],
  remoteWrite: [
    {
      // A placeholder: the debug receiver (`main.ts receive`). In production, the central
      // Prometheus/Mimir/Thanos remote-write URL.
      url: "http://127.0.0.1:9201/api/v1/write",
      name: "central",
    },
  ],
});

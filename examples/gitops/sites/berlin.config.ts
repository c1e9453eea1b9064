/**
 * The Berlin site: its gateway's node_exporter, the inventory's Berlin hosts
 * and ferry itself, forwarded to the central store with `site="berlin"`.
 */
import { defineConfig } from "ferry";
import { inventoryJob, nodeJob, selfJob } from "../lib/jobs.ts";

export default defineConfig({
  global: {
    scrapeInterval: "30s",
    externalLabels: { site: "berlin", region: "eu-central" },
  },
  scrapeConfigs: [
    selfJob(),
    nodeJob(["gw.berlin.example.net:9100"]),
    inventoryJob("berlin"),
  ],
  remoteWrite: [
    {
      // A placeholder: the debug receiver (`main.ts receive`). In production, the central
      // Prometheus/Mimir/Thanos remote-write URL.
      url: "http://127.0.0.1:9201/api/v1/write",
      name: "central",
      // A small edge link: smaller batches, and a bound on what may wait in the WAL.
      queueConfig: { maxSamplesPerSend: 500 },
      maxDiskBytes: "512MB",
    },
  ],
});

/**
 * An example ferry config: the agent scrapes its own /metrics and forwards
 * everything to the debug receiver that `deno task start` runs beside it.
 *
 * Run it with `deno task start`, or on its own with
 * `deno run --v8-flags=--max-semi-space-size=8 --allow-net --allow-read --allow-write main.ts config.example.ts`.
 * Type-check it with `deno check config.example.ts`: a misspelt field or a
 * bad duration such as "15 s" is a compile error.
 */
import { defineConfig } from "./mod.ts";

export default defineConfig({
  global: {
    // How often targets are scraped unless a job says otherwise (Prometheus' default is 1m).
    scrapeInterval: "5s",
    scrapeTimeout: "5s",
    // Added to every series sent to remote write, unless the series has the label already.
    externalLabels: { site: "example" },
  },
  scrapeConfigs: [
    {
      // The `job` label of every series of this job.
      jobName: "ferry",
      staticConfigs: [
        // The agent's own web server (--web.listen-address).
        { targets: ["127.0.0.1:9095"], labels: { env: "demo" } },
      ],
      // Drop Go-runtime-style noise before it reaches the WAL.
      metricRelabelConfigs: [
        { sourceLabels: ["__name__"], regex: "go_.*", action: "drop" },
      ],
    },
  ],
  remoteWrite: [
    {
      // The debug receiver started by `deno task start` (main.ts receive).
      url: "http://127.0.0.1:9201/api/v1/write",
      name: "debug-receiver",
      // Remote Write 2.0 (symbols table, inline metadata, start times, exemplars) instead of
      // 1.0, the default ("prometheus.WriteRequest"):
      // protobufMessage: "io.prometheus.write.v2.Request",
      queueConfig: { maxSamplesPerSend: 500, batchSendDeadline: "5s" },
    },
  ],
});

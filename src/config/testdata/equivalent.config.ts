// The same config as equivalent.yml, written as a TypeScript module.
import { defineConfig } from "../../../mod.ts";

export default defineConfig({
  global: { scrapeInterval: "20s", externalLabels: { site: "lab" } },
  scrapeConfigs: [
    {
      jobName: "node",
      scrapeTimeout: "5s",
      staticConfigs: [{ targets: ["node-1:9100", "node-2:9100"], labels: { env: "prod" } }],
      relabelConfigs: [
        { sourceLabels: ["__address__"], regex: "(.+):\\d+", targetLabel: "host" },
      ],
      metricRelabelConfigs: [{ sourceLabels: ["__name__"], regex: "go_.*", action: "drop" }],
      basicAuth: { username: "u", passwordFile: "pass.txt" },
      scrapeNativeHistograms: true,
    },
  ],
  remoteWrite: [
    {
      url: "http://127.0.0.1:9201/api/v1/write",
      queueConfig: { maxSamplesPerSend: 500, batchSendDeadline: "1s" },
      writeRelabelConfigs: [{ regex: "tmp_.*", action: "labeldrop" }],
    },
    {
      url: "https://rw.example/api/v1/write",
      protobufMessage: "io.prometheus.write.v2.Request",
      sendExemplars: true,
      metadataConfig: { sendInterval: "30s" },
      queueConfig: { sampleAgeLimit: "1h" },
      oauth2: {
        clientId: "ferry",
        clientSecretFile: "pass.txt",
        tokenUrl: "https://idp.example/token",
        scopes: ["metrics.write"],
      },
    },
  ],
});

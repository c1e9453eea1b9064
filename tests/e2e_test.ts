/**
 * End to end with real programs: ferry scrapes a real prometheus-node-exporter
 * and forwards to a real Prometheus started with
 * --web.enable-remote-write-receiver; the test queries Prometheus back.
 * Run once with a TypeScript config and once with the prometheus.yml form.
 *
 * In CI (CI=true) missing binaries fail the test; locally it skips loudly.
 */

import { assert, assertEquals } from "../src/testing/assert.ts";
import {
  findBinary,
  freePort,
  getText,
  metricValue,
  Proc,
  promQuery,
  skipLoudly,
  startAgent,
  startPrometheusReceiver,
  waitFor,
} from "./helpers.ts";

type ConfigForm = "ts" | "yaml";

function tsConfig(exporter: string, receiver: string): string {
  return `import { defineConfig } from "${new URL("../mod.ts", import.meta.url).href}";

export default defineConfig({
  global: { scrapeInterval: "1s", scrapeTimeout: "1s", externalLabels: { replica: "e2e" } },
  scrapeConfigs: [
    { jobName: "node", staticConfigs: [{ targets: ["${exporter}"], labels: { site: "lab" } }] },
  ],
  remoteWrite: [
    {
      url: "${receiver}/api/v1/write",
      name: "prom",
      queueConfig: { maxSamplesPerSend: 2000, batchSendDeadline: "1s" },
    },
  ],
});
`;
}

function yamlConfig(exporter: string, receiver: string): string {
  return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels:
    replica: e2e
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["${exporter}"]
        labels:
          site: lab
remote_write:
  - url: ${receiver}/api/v1/write
    name: prom
    queue_config:
      max_samples_per_send: 2000
      batch_send_deadline: 1s
`;
}

async function runE2E(form: ConfigForm): Promise<void> {
  const exporterBin = findBinary("prometheus-node-exporter");
  const promBin = findBinary("prometheus");
  if (!exporterBin || !promBin) {
    skipLoudly(
      `e2e (${form})`,
      "prometheus and prometheus-node-exporter are not installed (apt-get install prometheus prometheus-node-exporter)",
    );
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: `ferry-e2e-${form}-` });
  const procs: Proc[] = [];
  try {
    const exporterPort = freePort();
    const exporter = new Proc("node-exporter", exporterBin, [
      `--web.listen-address=127.0.0.1:${exporterPort}`,
      "--log.level=warn",
    ]);
    procs.push(exporter);
    const exporterAddr = `127.0.0.1:${exporterPort}`;
    await waitFor(
      "node exporter",
      async () => (await getText(`http://${exporterAddr}/metrics`, 2000)) ? true : undefined,
    );

    const receiver = await startPrometheusReceiver(`${dir}`);
    assert(receiver);
    procs.push(receiver.proc);

    const cfgFile = form === "ts"
      ? `${dir}/agent.config.ts`
      : `${dir}/prometheus.yml.d/prometheus.yml`;
    if (form === "yaml") await Deno.mkdir(`${dir}/prometheus.yml.d`);
    await Deno.writeTextFile(
      cfgFile,
      form === "ts" ? tsConfig(exporterAddr, receiver.url) : yamlConfig(exporterAddr, receiver.url),
    );

    const agentPort = freePort();
    const agentArgs = form === "ts"
      ? [
        cfgFile,
        `--storage.agent.path=${dir}/agent`,
        `--web.listen-address=127.0.0.1:${agentPort}`,
      ]
      : [
        `--config.file=${cfgFile}`,
        `--storage.agent.path=${dir}/agent`,
        `--web.listen-address=127.0.0.1:${agentPort}`,
      ];
    const agent = startAgent([...agentArgs]);
    procs.push(agent);
    const agentUrl = `http://127.0.0.1:${agentPort}`;

    try {
      // up{job="node"} arrives at Prometheus through remote write.
      const up = await waitFor("up{job=node} == 1 in Prometheus", async () => {
        const r = await promQuery(receiver.url, 'up{job="node"}');
        return r.length > 0 && r[0].value[1] === "1" ? r : undefined;
      }, 90_000);
      assertEquals(up[0].metric.instance, exporterAddr);
      assertEquals(up[0].metric.job, "node");
      assertEquals(up[0].metric.site, "lab");
      assertEquals(up[0].metric.replica, "e2e");

      // The exporter's own series arrive with the right job and instance.
      const series = await waitFor("node_exporter_build_info in Prometheus", async () => {
        const r = await promQuery(receiver.url, 'node_exporter_build_info{job="node"}');
        return r.length > 0 ? r : undefined;
      }, 30_000);
      assertEquals(series[0].metric.instance, exporterAddr);
      const cpu = await promQuery(
        receiver.url,
        `count(node_cpu_seconds_total{job="node",instance="${exporterAddr}"})`,
      );
      assert(cpu.length === 1 && Number(cpu[0].value[1]) > 0, "node_cpu_seconds_total arrived");

      // The agent's own API and metrics agree.
      const targets = JSON.parse(await getText(`${agentUrl}/api/v1/targets`));
      assertEquals(targets.status, "success");
      assertEquals(targets.data.activeTargets.length, 1);
      assertEquals(targets.data.activeTargets[0].health, "up");
      assertEquals(targets.data.activeTargets[0].labels.instance, exporterAddr);

      // Figures: samples per second appended, and the agent's RSS.
      const m1 = await getText(`${agentUrl}/metrics`);
      const t1 = Date.now();
      await new Promise((r) => setTimeout(r, 5000));
      const m2 = await getText(`${agentUrl}/metrics`);
      const t2 = Date.now();
      const a1 = metricValue(m1, "prometheus_agent_samples_appended_total") ?? 0;
      const a2 = metricValue(m2, "prometheus_agent_samples_appended_total") ?? 0;
      const sent = metricValue(m2, "prometheus_remote_storage_samples_total") ?? 0;
      assert(a2 > a1, "samples are being appended");
      assert(sent > 0, "samples are being sent");
      const rate = (a2 - a1) / ((t2 - t1) / 1000);
      const rss = agent.rssBytes();
      Deno.stderr.writeSync(new TextEncoder().encode(
        `e2e (${form}): ${rate.toFixed(0)} samples/s appended, ${sent} samples sent, agent RSS ${
          (rss / 1048576).toFixed(1)
        } MiB\n`,
      ));
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry output ---\n${agent.output().slice(-5000)}`,
      );
    }

    // SIGTERM: orderly shutdown, exit 0.
    const status = await agent.stop("SIGTERM");
    procs.splice(procs.indexOf(agent), 1);
    assertEquals(status.code, 0, `ferry exit status\n${agent.output().slice(-3000)}`);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "e2e: TS config, node-exporter → ferry → Prometheus remote-write receiver",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => runE2E("ts"),
});

Deno.test({
  name: "e2e: prometheus.yml config, node-exporter → ferry → Prometheus remote-write receiver",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => runE2E("yaml"),
});

/**
 * Remote Write 2.0 against a real 1.x receiver. Prometheus 2.42 ignores the
 * Content-Type, decodes a 2.0 body as an empty 1.0 request and answers 204
 * without the `X-Prometheus-Remote-Write-*-Written` headers. The spec says a
 * sender must not take that for delivery: ferry counts the samples as failed
 * and says why, so data is never silently lost to a receiver that cannot read
 * it. The same agent's second endpoint speaks 1.0 to the same Prometheus and
 * its data arrives, proving the target and the receiver work.
 *
 * In CI (CI=true) a missing prometheus fails the test; locally it skips loudly.
 */

import { assert, assertEquals } from "../src/testing/assert.ts";
import {
  freePort,
  getText,
  Proc,
  promQuery,
  skipLoudly,
  startAgent,
  startPrometheusReceiver,
  waitFor,
} from "./helpers.ts";

Deno.test({
  name: "e2e: RW 2.0 to a 1.x Prometheus counts as failed (no Written headers); RW 1.0 arrives",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-rw2-e2e-" });
    const procs: Proc[] = [];
    try {
      const receiver = await startPrometheusReceiver(dir);
      if (!receiver) {
        skipLoudly("rw2 e2e", "prometheus is not installed (apt-get install prometheus)");
        return;
      }
      procs.push(receiver.proc);
      const agentPort = freePort();
      const agentUrl = `http://127.0.0.1:${agentPort}`;
      await Deno.mkdir(`${dir}/cfg`);
      await Deno.writeTextFile(
        `${dir}/cfg/prometheus.yml`,
        `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ["127.0.0.1:${agentPort}"]
remote_write:
  - url: ${receiver.url}/api/v1/write
    name: v2
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: { batch_send_deadline: 500ms }
  - url: ${receiver.url}/api/v1/write
    name: v1
    queue_config: { batch_send_deadline: 500ms }
`,
      );
      const agent = startAgent([
        `--config.file=${dir}/cfg/prometheus.yml`,
        `--storage.agent.path=${dir}/agent`,
        `--web.listen-address=127.0.0.1:${agentPort}`,
      ]);
      procs.push(agent);
      try {
        await waitFor("up{job=self} in Prometheus through the 1.0 endpoint", async () => {
          const r = await promQuery(receiver.url, 'up{job="self"}');
          return r.length > 0 ? r : undefined;
        }, 60_000);
        const failed = await waitFor("the 2.0 endpoint counts failures", async () => {
          const v = seriesValue(
            await getText(`${agentUrl}/metrics`),
            "prometheus_remote_storage_samples_failed_total",
            'remote_name="v2"',
          );
          return v !== undefined && v > 0 ? { v } : undefined;
        }, 30_000);
        // The 1.0 endpoint, same receiver, fails nothing.
        const v1Failed = seriesValue(
          await getText(`${agentUrl}/metrics`),
          "prometheus_remote_storage_samples_failed_total",
          'remote_name="v1"',
        );
        assertEquals(v1Failed, 0);
        assert(failed.v > 0);
        assert(
          agent.output().includes("RW 1.x receiver"),
          "the log says the receiver looks like a 1.x receiver",
        );
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n--- ferry output ---\n${agent.output().slice(-5000)}`,
        );
      }
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** The value of the series `name{…}` whose labels contain `matcher`. */
function seriesValue(exposition: string, name: string, matcher: string): number | undefined {
  for (const line of exposition.split("\n")) {
    if (line.startsWith(name + "{") && line.includes(matcher)) {
      return Number(line.slice(line.indexOf("}") + 1).trim().split(" ")[0]);
    }
  }
  return undefined;
}

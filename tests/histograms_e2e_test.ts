/**
 * Native histograms and exemplars end to end with a real receiver: a target
 * serving the protobuf exposition format → ferry (scrape_native_histograms,
 * send_native_histograms, send_exemplars) → Prometheus 2.42 started with
 * `--enable-feature=native-histograms,exemplar-storage` and the remote-write
 * receiver (RW 1.0: Prometheus 2.42 does not speak 2.0). The test queries the
 * histogram's count and sum and the exemplars back.
 *
 * In CI (CI=true) a missing prometheus fails the test; locally it skips loudly.
 */

import { assert, assertEquals } from "../src/testing/assert.ts";
import {
  encodeFamilies,
  PB_TYPE,
  type PbFamily,
} from "../src/scrape/textparse/protobuf_testutil.ts";
import {
  findBinary,
  freePort,
  getText,
  Proc,
  promQuery,
  skipLoudly,
  startAgent,
  waitFor,
} from "./helpers.ts";

const PROTO_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/** The exposition: one native histogram with an exemplar, one counter with an exemplar. */
function families(scrape: number, nowMs: number): PbFamily[] {
  const ts = { seconds: Math.floor(nowMs / 1000), nanos: (nowMs % 1000) * 1e6 };
  return [
    {
      name: "rpc_latency_seconds",
      help: "RPC latency.",
      type: PB_TYPE.histogram,
      metrics: [{
        labels: [["service", "api"]],
        histogram: {
          // Four observations per scrape: 0 (zero bucket), 1, 2 and 2 (schema 0: buckets (0.5,1], (1,2]).
          sampleCount: 4 * scrape,
          sampleSum: 5 * scrape,
          schema: 0,
          zeroThreshold: 1e-128,
          zeroCount: scrape,
          positiveSpans: [{ offset: 0, length: 2 }],
          positiveDeltas: [scrape, scrape],
          exemplars: [{ labels: [["trace_id", "abc123"]], value: 2, timestamp: ts }],
        },
      }],
    },
    {
      name: "rpc_requests_total",
      help: "RPCs served.",
      type: PB_TYPE.counter,
      metrics: [{
        labels: [["service", "api"]],
        counter: {
          value: 10 * scrape,
          exemplar: { labels: [["trace_id", "def456"]], value: 1, timestamp: ts },
        },
      }],
    },
  ];
}

Deno.test({
  name: "e2e: native histograms and exemplars, protobuf scrape → ferry → Prometheus (RW 1.0)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const promBin = findBinary("prometheus");
    if (!promBin) {
      skipLoudly(
        "native histogram e2e",
        "prometheus is not installed (apt-get install prometheus)",
      );
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "ferry-nh-e2e-" });
    const procs: Proc[] = [];
    const targetCtl = new AbortController();
    let scrapes = 0;
    const targetPort = freePort();
    const target = Deno.serve({
      hostname: "127.0.0.1",
      port: targetPort,
      signal: targetCtl.signal,
      onListen: () => {},
    }, (req) => {
      scrapes++;
      const accept = req.headers.get("accept") ?? "";
      if (!accept.includes("io.prometheus.client.MetricFamily")) {
        return new Response(`protobuf not asked for: ${accept}`, { status: 406 });
      }
      return new Response(encodeFamilies(families(scrapes, Date.now())), {
        headers: { "content-type": PROTO_TYPE },
      });
    });
    try {
      const promPort = freePort();
      await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 1m\n");
      const prom = new Proc("prometheus", promBin, [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/tsdb`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--web.enable-remote-write-receiver",
        "--enable-feature=native-histograms,exemplar-storage",
        "--log.level=warn",
      ]);
      procs.push(prom);
      const promUrl = `http://127.0.0.1:${promPort}`;
      await waitFor("prometheus ready", async () => {
        const res = await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      }, 60_000);

      await Deno.mkdir(`${dir}/cfg`);
      await Deno.writeTextFile(
        `${dir}/cfg/prometheus.yml`,
        `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: app
    scrape_native_histograms: true
    static_configs:
      - targets: ["127.0.0.1:${targetPort}"]
remote_write:
  - url: ${promUrl}/api/v1/write
    name: prom
    send_native_histograms: true
    send_exemplars: true
    queue_config:
      batch_send_deadline: 500ms
`,
      );
      const agentPort = freePort();
      const agent = startAgent([
        `--config.file=${dir}/cfg/prometheus.yml`,
        `--storage.agent.path=${dir}/agent`,
        `--web.listen-address=127.0.0.1:${agentPort}`,
      ]);
      procs.push(agent);

      try {
        // The histogram arrives as a native histogram: histogram_count/sum work on it.
        const count = await waitFor("histogram_count in Prometheus", async () => {
          const r = await promQuery(promUrl, 'histogram_count(rpc_latency_seconds{job="app"})');
          return r.length > 0 ? r : undefined;
        }, 60_000);
        const n = Number(count[0].value[1]);
        assert(n > 0 && n % 4 === 0, `histogram count ${n} is a multiple of 4`);
        const sum = await promQuery(promUrl, 'histogram_sum(rpc_latency_seconds{job="app"})');
        assertEquals(Number(sum[0].value[1]) / n, 5 / 4, "sum / count of the same histogram");
        assertEquals(count[0].metric.service, "api");
        // No classic series were made of it.
        const classic = await promQuery(promUrl, 'rpc_latency_seconds_bucket{job="app"}');
        assertEquals(
          classic.length,
          0,
          "no classic buckets without always_scrape_classic_histograms",
        );

        // Exemplars of the counter and of the histogram.
        const end = Date.now() / 1000 + 60, start = end - 600;
        const exemplars = await waitFor("exemplars in Prometheus", async () => {
          const body = await getText(
            `${promUrl}/api/v1/query_exemplars?query=${
              encodeURIComponent('{job="app"}')
            }&start=${start}&end=${end}`,
          );
          const j = JSON.parse(body);
          const traces = new Set<string>();
          for (const s of j.data ?? []) {
            for (const e of s.exemplars) {
              traces.add(`${s.seriesLabels.__name__}:${e.labels.trace_id}`);
            }
          }
          return traces.has("rpc_requests_total:def456") &&
              traces.has("rpc_latency_seconds:abc123")
            ? traces
            : undefined;
        }, 60_000);
        assert(exemplars.size >= 2);

        // The counter arrived too, with its metadata-independent value.
        const ctr = await promQuery(promUrl, 'rpc_requests_total{job="app"}');
        assertEquals(ctr.length, 1);
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n--- ferry output ---\n${
            agent.output().slice(-5000)
          }\n--- prometheus ---\n${prom.output().slice(-3000)}`,
        );
      }
    } finally {
      for (const p of procs.reverse()) await p.stop();
      targetCtl.abort();
      await target.finished.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

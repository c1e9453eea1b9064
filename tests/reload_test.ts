/**
 * Config reload under a running agent (real processes on 127.0.0.1): a bad
 * config leaves it running with `prometheus_config_last_reload_successful`
 * 0; a good one adds a job while the unchanged job's series get no
 * staleness markers and the unchanged endpoint resends nothing; a changed
 * job keeps its targets' series (no markers) too.
 */

import { assert, assertEquals } from "../src/testing/assert.ts";
import {
  freePort,
  getText,
  metricValue,
  parseReceived,
  startAgent,
  startReceiver,
  waitFor,
} from "./helpers.ts";

function startTarget(): { port: number; stop: () => Promise<void> } {
  let n = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    n++;
    const body = `# TYPE test_counter counter\ntest_counter ${n}\ntest_gauge 1\n`;
    return new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4" } });
  });
  return { port: server.addr.port, stop: () => server.shutdown() };
}

function config(
  targetPort: number,
  rxPort: number,
  jobs: { name: string; timeout?: string }[],
): string {
  const scrape = jobs.map((j) =>
    `{ jobName: "${j.name}", scrapeTimeout: "${
      j.timeout ?? "1s"
    }", staticConfigs: [{ targets: ["127.0.0.1:${targetPort}"] }] }`
  );
  return `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [${scrape.join(", ")}],
  remoteWrite: [{
    url: "http://127.0.0.1:${rxPort}/api/v1/write",
    name: "rx",
    queueConfig: { batchSendDeadline: "500ms", minBackoff: "50ms", maxBackoff: "200ms" },
  }],
};
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "reload: a bad config keeps the agent running; a good one adds a job, no staleness",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-reload-" });
    const target = startTarget();
    const rxPort = freePort(), webPort = freePort();
    const rx = startReceiver(rxPort);
    const cfg = `${dir}/agent.config.ts`;
    await Deno.writeTextFile(cfg, config(target.port, rxPort, [{ name: "t" }]));
    const agent = startAgent([
      cfg,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      "--web.enable-lifecycle",
    ]);
    const web = `http://127.0.0.1:${webPort}`;
    const reloadOk = async () =>
      metricValue(await getText(`${web}/metrics`), "prometheus_config_last_reload_successful");
    const samples = (job: string) =>
      parseReceived(rx.output()).filter((r) =>
        r.labels.startsWith('{__name__="test_counter"') && r.labels.includes(`job="${job}"`)
      );
    try {
      await waitFor(
        "samples of job t",
        () => Promise.resolve(samples("t").length >= 2 || undefined),
        30_000,
      );
      assertEquals(await reloadOk(), 1);

      // A config that does not load: SIGHUP, then POST /-/reload.
      await Deno.writeTextFile(cfg, "export default { scrapeConfigs: [{ jobName: 1 }] };\n");
      agent.child.kill("SIGHUP");
      await waitFor("reload failure", async () => (await reloadOk()) === 0 || undefined, 20_000);
      const res = await fetch(`${web}/-/reload`, { method: "POST" });
      assertEquals(res.status, 500);
      await res.body?.cancel();
      const before = samples("t").length;
      await waitFor(
        "job t still scraped after the failed reload",
        () => Promise.resolve(samples("t").length > before + 1 || undefined),
        20_000,
      );

      // A good config adding job u; job t and endpoint rx are unchanged.
      await Deno.writeTextFile(cfg, config(target.port, rxPort, [{ name: "t" }, { name: "u" }]));
      const reloadAt = Date.now();
      const ok = await fetch(`${web}/-/reload`, { method: "POST" });
      assertEquals(ok.status, 200, await ok.text());
      assertEquals(await reloadOk(), 1);
      await waitFor(
        "samples of job u",
        () => Promise.resolve(samples("u").length >= 2 || undefined),
        30_000,
      );

      // Change job t (its timeout): a new pool, same target and series.
      await Deno.writeTextFile(
        cfg,
        config(target.port, rxPort, [{ name: "t", timeout: "900ms" }, { name: "u" }]),
      );
      const ok2 = await fetch(`${web}/-/reload`, { method: "POST" });
      assertEquals(ok2.status, 200, await ok2.text());
      // Longer than the staleness grace (next scrape + 1.1 intervals) with margin.
      await sleep(5_000);

      const got = parseReceived(rx.output());
      const stale = got.filter((r) => r.v === "stale");
      assertEquals(stale, [], "no staleness markers for targets that stay");
      // No sample sent twice (the unchanged endpoint kept its position).
      const seen = new Set<string>();
      for (const r of got) {
        const k = `${r.labels} ${r.t}`;
        assert(!seen.has(k), `sent twice: ${k}`);
        seen.add(k);
      }
      // No lost scrape of job t across the reloads: gaps stay below two intervals.
      const ts = samples("t").map((r) => r.t).filter((t) => t > reloadAt - 5_000).sort();
      for (let i = 1; i < ts.length; i++) {
        assert(ts[i] - ts[i - 1] < 2_000, `gap of ${ts[i] - ts[i - 1]} ms in job t`);
      }
      assertEquals((await agent.stop("SIGTERM")).code, 0);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${
          agent.output().slice(-5000)
        }\n--- receiver ---\n${rx.output().slice(-1500)}`,
      );
    } finally {
      await agent.stop();
      await rx.stop();
      await target.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

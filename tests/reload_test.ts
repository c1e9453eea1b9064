/**
 * Config reload under a running agent (real processes on 127.0.0.1): a bad
 * config leaves it running with `prometheus_config_last_reload_successful`
 * 0; a good one adds a job while the unchanged job's series get no
 * staleness markers and the unchanged endpoint resends nothing; a changed
 * job keeps its targets' series (no markers) too. Changing a job's metric
 * relabeling marks exactly the series it drops stale. Removing one endpoint
 * and changing another stops the first, restarts the second from its cursor
 * without resending what was delivered, and leaves a third untouched.
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
    const body =
      `# TYPE test_counter counter\ntest_counter ${n}\ntest_gauge 1\ntest_other{x="y"} 2\n`;
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

/** Runs `fn` with an agent on `config` (a TS module's text), reporting both outputs on failure. */
async function withAgent(
  configText: (dir: string) => string,
  fn: (ctx: { agent: ReturnType<typeof startAgent>; web: string; cfg: string }) => Promise<void>,
  receivers: { output: () => string }[],
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-reload-" });
  const webPort = freePort();
  const cfg = `${dir}/agent.config.ts`;
  await Deno.writeTextFile(cfg, configText(dir));
  const agent = startAgent([
    cfg,
    `--storage.agent.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${webPort}`,
    "--web.enable-lifecycle",
  ]);
  try {
    await fn({ agent, web: `http://127.0.0.1:${webPort}`, cfg });
    assertEquals((await agent.stop("SIGTERM")).code, 0);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n--- ferry ---\n${agent.output().slice(-6000)}${
        receivers.map((r, i) => `\n--- receiver ${i} ---\n${r.output().slice(-1500)}`).join("")
      }`,
    );
  } finally {
    await agent.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function reload(web: string): Promise<void> {
  const res = await fetch(`${web}/-/reload`, { method: "POST" });
  assertEquals(res.status, 200, await res.text());
}

/** Each (series, timestamp) received once. */
function assertNoDuplicates(got: { labels: string; t: number; v: string }[], who: string): void {
  const seen = new Set<string>();
  for (const r of got) {
    const k = `${r.labels} ${r.t}`;
    assert(!seen.has(k), `${who}: received twice: ${k} ${r.v}`);
    seen.add(k);
  }
}

Deno.test({
  name: "reload: changed metric relabeling marks exactly the dropped series stale",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const target = startTarget();
    const rxPort = freePort();
    const rx = startReceiver(rxPort);
    const text = (drop: boolean) =>
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{
    jobName: "t",
    staticConfigs: [{ targets: ["127.0.0.1:${target.port}"] }],
    ${
        drop
          ? `metricRelabelConfigs: [{ sourceLabels: ["__name__"], regex: "test_gauge", action: "drop" }],`
          : ""
      }
  }],
  remoteWrite: [{
    url: "http://127.0.0.1:${rxPort}/api/v1/write",
    name: "rx",
    queueConfig: { batchSendDeadline: "500ms", minBackoff: "50ms", maxBackoff: "200ms" },
  }],
};
`;
    const received = () => parseReceived(rx.output());
    const named = (name: string) =>
      received().filter((r) => r.labels.startsWith(`{__name__="${name}"`));
    try {
      await withAgent(() => text(false), async ({ web, cfg }) => {
        await waitFor(
          "samples before the reload",
          () => Promise.resolve(named("test_gauge").length >= 2 || undefined),
          30_000,
        );
        await Deno.writeTextFile(cfg, text(true));
        const reloadAt = Date.now();
        await reload(web);
        await waitFor(
          "the stale marker of test_gauge",
          () => Promise.resolve(named("test_gauge").some((r) => r.v === "stale") || undefined),
          20_000,
        );
        // Past the staleness grace of the old loop (next scrape + 1.1 intervals), with margin.
        await sleep(4_000);
        const got = received();
        const stale = got.filter((r) => r.v === "stale");
        assertEquals(stale.length, 1, `one marker: ${JSON.stringify(stale)}`);
        assert(stale[0].labels.startsWith('{__name__="test_gauge"'), stale[0].labels);
        assert(
          named("test_gauge").every((r) => r.v === "stale" || r.t < stale[0].t),
          "test_gauge is no longer sent after its marker",
        );
        // test_counter, test_other and the synthetic series continue without a gap.
        for (const name of ["test_counter", "test_other", "up"]) {
          const ts = named(name).map((r) => r.t).filter((t) => t > reloadAt - 5_000).sort();
          assert(ts.some((t) => t > stale[0].t), `${name} continues after the reload`);
          for (let i = 1; i < ts.length; i++) {
            assert(ts[i] - ts[i - 1] < 2_000, `gap of ${ts[i] - ts[i - 1]} ms in ${name}`);
          }
        }
        assertNoDuplicates(got, "rx");
      }, [rx]);
    } finally {
      await rx.stop();
      await target.stop();
    }
  },
});

/**
 * A remote-write proxy in front of `port` that forwards each request at once
 * and holds the receiver's answer for `holdMs`: while it holds one, the
 * receiver has the samples but the agent has no acknowledgement yet.
 */
function startSlowProxy(port: number, holdMs: number) {
  let holding = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/write`, {
      method: "POST",
      headers: req.headers,
      body: await req.arrayBuffer(),
    });
    const body = await res.arrayBuffer();
    holding++;
    await sleep(holdMs);
    holding--;
    return new Response(body.byteLength === 0 ? null : body, {
      status: res.status,
      headers: res.headers,
    });
  });
  return { port: server.addr.port, holding: () => holding, stop: () => server.shutdown() };
}

Deno.test({
  name: "reload: a removed endpoint stops, a changed one resumes from its cursor, others untouched",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const target = startTarget();
    const ports = [freePort(), freePort(), freePort()];
    const [rxA, rxB, rxC] = ports.map((p) => startReceiver(p));
    const proxy = startSlowProxy(ports[1], 600);
    const endpoint = (name: string, url: string, deadline = "200ms") =>
      `{ url: "${url}", name: "${name}", queueConfig: { batchSendDeadline: "${deadline}", minBackoff: "50ms", maxBackoff: "200ms" } }`;
    // Before: a, b (through the slow proxy) and c. After: a removed, b's URL and
    // queue config changed (straight to its receiver), c unchanged.
    const text = (after: boolean) =>
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "t", staticConfigs: [{ targets: ["127.0.0.1:${target.port}"] }] }],
  remoteWrite: [
    ${after ? "" : endpoint("a", `http://127.0.0.1:${ports[0]}/api/v1/write`) + ","}
    ${
        after
          ? endpoint("b", `http://127.0.0.1:${ports[1]}/`, "300ms")
          : endpoint("b", `http://127.0.0.1:${proxy.port}/api/v1/write`)
      },
    ${endpoint("c", `http://127.0.0.1:${ports[2]}/api/v1/write`)},
  ],
};
`;
    const counter = (rx: { output: () => string }) =>
      parseReceived(rx.output()).filter((r) => r.labels.startsWith('{__name__="test_counter"'));
    try {
      await withAgent(() => text(false), async ({ agent, web, cfg }) => {
        await waitFor(
          "samples at every receiver",
          () =>
            Promise.resolve(
              [rxA, rxB, rxC].every((rx) => counter(rx).length >= 3) || undefined,
            ),
          30_000,
        );
        await Deno.writeTextFile(cfg, text(true));
        // Reload while b's receiver has a request whose answer is still on its way.
        await waitFor(
          "a request of b in flight",
          () => Promise.resolve(proxy.holding() > 0 || undefined),
          10_000,
          5,
        );
        const reloadAt = Date.now();
        await reload(web);
        const aAtReload = parseReceived(rxA.output()).length;
        const bAtReload = counter(rxB).length;
        await waitFor(
          "b and c deliver after the reload",
          () =>
            Promise.resolve(
              (counter(rxB).length >= bAtReload + 3 &&
                counter(rxC).some((r) => r.t > reloadAt + 2_000)) || undefined,
            ),
          20_000,
        );
        await sleep(1_500);
        assertEquals(parseReceived(rxA.output()).length, aAtReload, "a receives nothing more");
        for (const [name, rx] of [["b", rxB], ["c", rxC]] as const) {
          const got = parseReceived(rx.output());
          assertNoDuplicates(got, name);
          // Nothing lost either: every scrape of the target reached it.
          const ts = counter(rx).map((r) => r.t).sort();
          for (let i = 1; i < ts.length; i++) {
            assert(ts[i] - ts[i - 1] < 2_000, `${name}: gap of ${ts[i] - ts[i - 1]} ms`);
          }
        }
        const starts = (name: string) =>
          agent.output().split("\n").filter((l) =>
            l.includes("remote endpoint starting") && l.includes(`endpoint=${name} `)
          ).length;
        assertEquals([starts("a"), starts("b"), starts("c")], [1, 2, 1], "only b restarted");
        const rw = JSON.parse(await getText(`${web}/ui/api/remote_write`));
        assertEquals(rw.endpoints.map((e: { name: string }) => e.name).sort(), ["b", "c"]);
      }, [rxA, rxB, rxC]);
    } finally {
      await Promise.all([rxA, rxB, rxC].map((rx) => rx.stop()));
      await proxy.stop();
      await target.stop();
    }
  },
});

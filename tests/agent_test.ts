/**
 * Black-box tests through main.ts that need no Debian packages: a target
 * served by the test, ferry's own debug receiver (`main.ts receive --print`)
 * and the agent, each a real process on 127.0.0.1.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import {
  agentCommand,
  freePort,
  getText,
  parseReceived,
  Proc,
  ROOT,
  startReceiver,
  waitFor,
} from "./helpers.ts";

const DENO = Deno.execPath();
const RUN = agentCommand();

/** A scrape target whose counter goes up on every scrape; `drop(name)` removes a series. */
function startTarget(): {
  port: number;
  scrapes: () => number;
  hide: (s: string) => void;
  stop: () => Promise<void>;
} {
  let n = 0;
  const hidden = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    n++;
    let body = "# TYPE test_counter counter\n";
    body += `test_counter{k="v"} ${n}\n`;
    if (!hidden.has("test_gauge")) body += "test_gauge 42\n";
    return new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4" } });
  });
  return {
    port: server.addr.port,
    scrapes: () => n,
    hide: (s) => hidden.add(s),
    stop: () => server.shutdown(),
  };
}

async function writeConfig(dir: string, targetPort: number, receiverPort: number): Promise<string> {
  const file = `${dir}/agent.config.ts`;
  await Deno.writeTextFile(
    file,
    `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "t", staticConfigs: [{ targets: ["127.0.0.1:${targetPort}"] }] }],
  remoteWrite: [{
    url: "http://127.0.0.1:${receiverPort}/api/v1/write",
    name: "rx",
    queueConfig: { batchSendDeadline: "1s", minBackoff: "50ms", maxBackoff: "200ms" },
  }],
};
`,
  );
  return file;
}

const COUNTER = '{__name__="test_counter", instance=', GAUGE = '{__name__="test_gauge", ';

Deno.test({
  name: "agent: scrape → WAL → remote write, staleness marker when a series disappears",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-agent-" });
    const target = startTarget();
    const rxPort = freePort(), webPort = freePort();
    const rx = startReceiver(rxPort);
    const cfg = await writeConfig(dir, target.port, rxPort);
    const agent = new Proc("ferry", DENO, [
      ...RUN,
      cfg,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ], { cwd: ROOT });
    try {
      await waitFor("two counter samples at the receiver", () => {
        const got = parseReceived(rx.output()).filter((r) => r.labels.startsWith(COUNTER));
        return Promise.resolve(got.length >= 2 ? got : undefined);
      }, 30_000);
      const got = parseReceived(rx.output());
      const counter = got.find((r) => r.labels.startsWith(COUNTER))!;
      assertEquals(
        counter.labels,
        `{__name__="test_counter", instance="127.0.0.1:${target.port}", job="t", k="v"}`,
      );
      assert(got.some((r) => r.labels.startsWith('{__name__="up"') && r.v === "1"), "up=1 sent");
      assert(
        got.some((r) => r.labels.startsWith('{__name__="scrape_samples_scraped"') && r.v === "2"),
      );

      target.hide("test_gauge");
      await waitFor("a staleness marker for test_gauge", () => {
        const stale = parseReceived(rx.output()).filter((r) =>
          r.labels.startsWith(GAUGE) && r.v === "stale"
        );
        return Promise.resolve(stale.length > 0 ? true : undefined);
      }, 30_000);

      const targets = JSON.parse(await getText(`http://127.0.0.1:${webPort}/api/v1/targets`));
      assertEquals(targets.data.activeTargets[0].health, "up");
      // The self-metrics operators' dashboards expect, under Prometheus' names.
      const metrics = await getText(`http://127.0.0.1:${webPort}/metrics`);
      for (
        const name of [
          "prometheus_remote_storage_samples_total",
          "prometheus_remote_storage_samples_failed_total",
          "prometheus_remote_storage_samples_retried_total",
          "prometheus_remote_storage_samples_pending",
          "prometheus_remote_storage_bytes_total",
          "prometheus_agent_samples_appended_total",
          "prometheus_agent_active_series",
          "prometheus_target_scrape_pool_targets",
          "prometheus_build_info",
        ]
      ) assertStringIncludes(metrics, `\n# TYPE ${name} `);
      assertStringIncludes(metrics, 'prometheus_target_scrape_pool_targets{scrape_job="t"} 1');
      const home = await getText(`http://127.0.0.1:${webPort}/`);
      assertStringIncludes(home, `127.0.0.1:${target.port}`);
      assertStringIncludes(home, "rx");

      const status = await agent.stop("SIGTERM");
      assertEquals(status.code, 0, agent.output());
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${
          agent.output().slice(-4000)
        }\n--- receiver ---\n${rx.output().slice(-2000)}`,
      );
    } finally {
      await agent.stop();
      await rx.stop();
      await target.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "agent: samples scraped while the receiver is down are delivered after an agent restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-restart-" });
    const target = startTarget();
    const rxPort = freePort();
    const cfg = await writeConfig(dir, target.port, rxPort);
    const args = [
      ...RUN,
      cfg,
      `--storage.agent.path=${dir}/data`,
      "--web.listen-address=",
      "--storage.remote.flush-deadline=2s",
    ];
    let agent = new Proc("ferry", DENO, args, { cwd: ROOT });
    let rx: Proc | undefined;
    try {
      // Receiver down: the agent scrapes into its WAL.
      await waitFor(
        "five scrapes",
        () => Promise.resolve(target.scrapes() >= 5 ? true : undefined),
        30_000,
      );
      assertEquals((await agent.stop("SIGTERM")).code, 0, agent.output());
      const scrapedBeforeRestart = target.scrapes();

      // Restart the agent, then bring the receiver up.
      agent = new Proc("ferry", DENO, args, { cwd: ROOT });
      rx = startReceiver(rxPort);
      const r = rx;
      await waitFor("every value scraped before the restart", () => {
        const values = new Set(
          parseReceived(r.output()).filter((x) => x.labels.startsWith(COUNTER)).map((x) =>
            Number(x.v)
          ),
        );
        for (let i = 1; i <= scrapedBeforeRestart; i++) {
          if (!values.has(i)) return Promise.resolve(undefined);
        }
        return Promise.resolve(true);
      }, 45_000);
      // Delivered once: no counter value arrives twice.
      const values = parseReceived(rx.output()).filter((x) => x.labels.startsWith(COUNTER)).map((
        x,
      ) => x.v);
      assertEquals(values.length, new Set(values).size, `duplicates in ${values.join(",")}`);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${
          agent.output().slice(-4000)
        }\n--- receiver ---\n${rx?.output().slice(-2000)}`,
      );
    } finally {
      await agent.stop();
      await rx?.stop();
      await target.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "cli: a config module that tries to use the network fails with the denied permission",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-cli-" });
    try {
      const file = `${dir}/evil.config.ts`;
      await Deno.writeTextFile(
        file,
        `await fetch("http://127.0.0.1:65000/");\nexport default { scrapeConfigs: [] };\n`,
      );
      const out = await new Deno.Command(DENO, {
        args: [...RUN, file, `--storage.agent.path=${dir}/data`, "--web.listen-address="],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, text);
      assertStringIncludes(text, "requires net access");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "cli: an unknown key in prometheus.yml fails with its line",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-cli-" });
    try {
      const file = `${dir}/prometheus.yml`;
      await Deno.writeTextFile(
        file,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n",
      );
      const out = await new Deno.Command(DENO, {
        args: [
          ...RUN,
          `--config.file=${file}`,
          `--storage.agent.path=${dir}/data`,
          "--web.listen-address=",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, text);
      assertStringIncludes(text, `prometheus.yml:5:5: unknown field "scrape_intervall"`);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "cli: a second agent on the same storage path fails at once and leaves the first intact",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-lock-" });
    const target = startTarget();
    const rxPort = freePort();
    const cfg = await writeConfig(dir, target.port, rxPort);
    const args = [
      ...RUN,
      cfg,
      `--storage.agent.path=${dir}/data`,
      "--web.listen-address=",
      "--storage.remote.flush-deadline=2s",
    ];
    const first = new Proc("ferry-1", DENO, args, { cwd: ROOT });
    try {
      await waitFor(
        "first agent scraping",
        () => Promise.resolve(target.scrapes() >= 1 ? true : undefined),
        30_000,
      );
      const second = await new Deno.Command(DENO, {
        args,
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(second.stderr);
      assertEquals(second.code, 1, text);
      assertStringIncludes(text, "is in use by another ferry process");
      const before = target.scrapes();
      await waitFor(
        "first agent still scraping",
        () => Promise.resolve(target.scrapes() > before + 1 ? true : undefined),
        30_000,
      );
      assertEquals((await first.stop("SIGTERM")).code, 0, first.output());
      assert(!first.output().includes("level=error"), first.output());
    } finally {
      await first.stop();
      await target.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * file_sd end to end: the agent runs on a prometheus.yml whose targets come
 * from a file; the test rewrites the file (atomically, as config management
 * does) to add a second real prometheus-node-exporter and later remove the
 * first. ferry's debug receiver (`main.ts receive --print`) must see the new
 * target's series, staleness markers for the removed target's series, and
 * none for the target that stayed.
 *
 * In CI (CI=true) a missing node exporter fails the test; locally it skips loudly.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import {
  findBinary,
  freePort,
  getText,
  parseReceived,
  Proc,
  type Received,
  ROOT,
  skipLoudly,
  startReceiver,
  waitFor,
} from "./helpers.ts";

async function writeTargets(file: string, targets: string[]): Promise<void> {
  await Deno.writeTextFile(
    file + ".tmp",
    JSON.stringify([{ targets, labels: { site: "lab" } }]),
  );
  await Deno.rename(file + ".tmp", file);
}

Deno.test({
  name:
    "file_sd: targets added and removed while the agent runs reach the receiver, with staleness markers",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bin = findBinary("prometheus-node-exporter");
    if (!bin) {
      skipLoudly("file_sd e2e", "prometheus-node-exporter is not installed");
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "ferry-file-sd-e2e-" });
    const procs: Proc[] = [];
    const exporter = (port: number) => {
      const p = new Proc(`node-exporter:${port}`, bin, [
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
        // A handful of series keeps the receiver's printout small.
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.time",
      ]);
      procs.push(p);
      return `127.0.0.1:${port}`;
    };
    try {
      const a = exporter(freePort());
      const b = exporter(freePort());
      for (const addr of [a, b]) {
        await waitFor(
          `node exporter ${addr}`,
          async () => (await getText(`http://${addr}/metrics`, 2000)) ? true : undefined,
          30_000,
        );
      }

      const rxPort = freePort();
      const rx = startReceiver(rxPort);
      procs.push(rx);

      await Deno.mkdir(`${dir}/targets`);
      const targetsFile = `${dir}/targets/nodes.json`;
      await writeTargets(targetsFile, [a]);
      await Deno.writeTextFile(
        `${dir}/prometheus.yml`,
        `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    file_sd_configs:
      - files: [targets/*.json]
remote_write:
  - url: http://127.0.0.1:${rxPort}/api/v1/write
    name: rx
    queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 500ms}
`,
      );
      const webPort = freePort();
      const agent = new Proc("ferry", Deno.execPath(), [
        "run",
        "--allow-net=127.0.0.1",
        `--allow-read=${ROOT},${dir}`,
        `--allow-write=${dir}`,
        `${ROOT}main.ts`,
        `--config.file=${dir}/prometheus.yml`,
        `--storage.agent.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${webPort}`,
      ], { cwd: ROOT });
      procs.push(agent);

      const series = (name: string, addr: string) => (s: Received) =>
        s.labels.startsWith(`{__name__="${name}", instance="${addr}", job="node"`);
      const has = (pred: (s: Received) => boolean) => () =>
        Promise.resolve(parseReceived(rx.output()).some(pred) ? true : undefined);

      try {
        await waitFor("a's series", has(series("node_load1", a)), 30_000);
        assertStringIncludes(
          parseReceived(rx.output()).find(series("node_load1", a))!.labels,
          'site="lab"',
        );

        // Add b: its series arrive (discovery's update interval is 5 s, as Prometheus').
        await writeTargets(targetsFile, [a, b]);
        await waitFor("b's series", has(series("node_load1", b)), 30_000);

        // Remove a: its series get staleness markers; b's never do.
        await writeTargets(targetsFile, [b]);
        await waitFor(
          "staleness markers for a",
          has((s) => series("node_load1", a)(s) && s.v === "stale"),
          30_000,
        );
        await waitFor(
          "a stale up series",
          has((s) => series("up", a)(s) && s.v === "stale"),
          10_000,
        );
        // b keeps being scraped after a left, and none of its series went stale.
        const bBefore = parseReceived(rx.output()).filter(series("node_load1", b)).length;
        await waitFor(
          "more samples from b",
          () =>
            Promise.resolve(
              parseReceived(rx.output()).filter(series("node_load1", b)).length > bBefore + 1
                ? true
                : undefined,
            ),
          15_000,
        );
        const staleB = parseReceived(rx.output()).filter((s) =>
          s.labels.includes(`instance="${b}"`) && s.v === "stale"
        );
        assertEquals(staleB, [], "no false staleness markers for the target that stayed");

        // The API agrees: only b is active, discovered from the file.
        const targets = JSON.parse(await getText(`http://127.0.0.1:${webPort}/api/v1/targets`));
        assertEquals(
          targets.data.activeTargets.map((t: { labels: { instance: string } }) =>
            t.labels.instance
          ),
          [b],
        );
        assertEquals(
          targets.data.activeTargets[0].discoveredLabels.__meta_filepath,
          targetsFile,
        );
        const metrics = await getText(`http://127.0.0.1:${webPort}/metrics`);
        assertStringIncludes(
          metrics,
          'prometheus_sd_discovered_targets{config="node",name="scrape"} 1',
        );
        assertStringIncludes(metrics, "prometheus_sd_file_read_errors_total 0");
        assert(
          /prometheus_sd_updates_total\{name="scrape"\} [3-9]/.test(metrics),
          "three or more updates",
        );

        assertEquals((await agent.stop("SIGTERM")).code, 0, agent.output().slice(-3000));
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n--- ferry ---\n${
            agent.output().slice(-4000)
          }\n--- receiver (tail) ---\n${rx.output().slice(-1500)}`,
        );
      }
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

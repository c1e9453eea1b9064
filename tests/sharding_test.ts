/**
 * Target sharding with real agents (issue 10): 30 tiny targets, three ferry
 * processes with the same config and `--shard.total=3 --shard.index=i`, and
 * one remote-write receiver in this process. Every target is scraped by
 * exactly one agent — the one `inShard` names — and together they scrape
 * all 30, also after a reload (which applies the flags again). Then the receiver fails while one agent buffers in its WAL, that
 * agent is SIGKILLed and restarted on the same storage directory, and once
 * the receiver is back what it had scraped before the kill arrives: its
 * targets' series have no gap longer than ~2 scrape intervals except across
 * the downtime.
 */

import { decodeWriteRequest, snappyDecode } from "../src/remote/codec.ts";
import { inShard } from "../src/scrape/shard.ts";
import { assert, assertEquals } from "../src/testing/assert.ts";
import { freePort, getText, Proc, startAgent, waitFor } from "./helpers.ts";

const TARGETS = 30;
const AGENTS = 3;
const INTERVAL_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A target serving `test_target_info{id}` and a counter of its scrapes. */
function startTarget(id: number): { addr: string; stop: () => Promise<void> } {
  let scrapes = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    scrapes++;
    const body = `# TYPE test_target_info gauge\ntest_target_info{id="${id}"} 1\n` +
      `# TYPE test_scrapes counter\ntest_scrapes_total ${scrapes}\n`;
    return new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4" } });
  });
  return { addr: `127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

/**
 * A remote-write 1.0 receiver that records, per series, its sample
 * timestamps; while `failing` it answers 503 (the agents retry).
 */
class Receiver {
  failing = false;
  /** Series key (sorted `name=value` pairs) → labels and timestamps. */
  readonly series = new Map<string, { labels: Record<string, string>; ts: Set<number> }>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = new Uint8Array(await req.arrayBuffer());
      if (this.failing) return new Response("down for the test", { status: 503 });
      const d = decodeWriteRequest(snappyDecode(body));
      for (const s of d.series) {
        const key = s.labels.map(([k, v]) => `${k}=${v}`).join(",");
        let e = this.series.get(key);
        if (e === undefined) {
          this.series.set(key, e = { labels: Object.fromEntries(s.labels), ts: new Set() });
        }
        for (const t of s.timestamps) e.ts.add(t);
      }
      return new Response(null, { status: 204 });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/api/v1/write`;
  }

  /** instance → agents that sent `up` for it. */
  upByInstance(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const { labels } of this.series.values()) {
      if (labels.__name__ !== "up") continue;
      let s = out.get(labels.instance);
      if (s === undefined) out.set(labels.instance, s = new Set());
      s.add(labels.agent);
    }
    return out;
  }

  /** Sorted timestamps of `name` for one instance (all agents). */
  timestamps(name: string, instance: string): number[] {
    const out: number[] = [];
    for (const { labels, ts } of this.series.values()) {
      if (labels.__name__ === name && labels.instance === instance) out.push(...ts);
    }
    return out.sort((a, b) => a - b);
  }

  stop(): Promise<void> {
    return this.#server.shutdown();
  }
}

function config(targets: string[], writeUrl: string): string {
  return `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  replicaLabel: "agent",
  scrapeConfigs: [{ jobName: "fleet", staticConfigs: [{ targets: ${JSON.stringify(targets)} }] }],
  remoteWrite: [{
    url: "${writeUrl}",
    name: "rx",
    queueConfig: { batchSendDeadline: "250ms", minBackoff: "50ms", maxBackoff: "300ms" },
  }],
};
`;
}

Deno.test({
  name:
    "sharding: 3 agents split 30 targets by hashmod; a SIGKILLed agent's WAL reaches the receiver",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-sharding-" });
    const targets = Array.from({ length: TARGETS }, (_, i) => startTarget(i));
    const addrs = targets.map((t) => t.addr);
    const rx = new Receiver();
    const cfg = `${dir}/agent.config.ts`;
    await Deno.writeTextFile(cfg, config(addrs, rx.url));
    const agents: (Proc | undefined)[] = [];
    const ports: number[] = [];
    const start = (i: number) =>
      startAgent([
        cfg,
        `--storage.agent.path=${dir}/data-${i}`,
        `--web.listen-address=127.0.0.1:${ports[i]}`,
        `--shard.total=${AGENTS}`,
        `--shard.index=${i}`,
        `--replica=${i}`,
      ]);
    const logs = () =>
      agents.map((a, i) => `--- agent ${i} ---\n${a?.output().slice(-3000) ?? ""}`).join("\n");
    try {
      for (let i = 0; i < AGENTS; i++) {
        ports.push(freePort());
        agents.push(start(i));
      }

      // Every target arrives, each from one agent: the one inShard names.
      await waitFor(
        "up of all 30 targets at the receiver",
        () => Promise.resolve(rx.upByInstance().size === TARGETS || undefined),
        30_000,
      );
      // Two more scrape rounds: no target shows up from a second agent.
      await sleep(2 * INTERVAL_MS + 500);
      const owners = rx.upByInstance();
      assertEquals([...owners.keys()].sort(), [...addrs].sort());
      const byAgent: string[][] = Array.from({ length: AGENTS }, () => []);
      for (const addr of addrs) {
        const want = [0, 1, 2].filter((i) => inShard(addr, { index: i, total: AGENTS }));
        assertEquals(want.length, 1);
        assertEquals([...owners.get(addr)!], [String(want[0])], `owner of ${addr}`);
        byAgent[want[0]].push(addr);
      }
      // test_target_info agrees: one series per target, from its owner.
      const infos = [...rx.series.values()].filter((s) => s.labels.__name__ === "test_target_info");
      assertEquals(infos.length, TARGETS);
      for (const s of infos) {
        assert(inShard(s.labels.instance, { index: Number(s.labels.agent), total: AGENTS }));
        assertEquals(s.labels.id, String(addrs.indexOf(s.labels.instance)));
      }
      for (let i = 0; i < AGENTS; i++) {
        assert(agents[i]!.output().includes(`scraping shard ${i} of ${AGENTS}`), logs());
      }
      // The shard is in /api/v1/status/flags.
      const flags = JSON.parse(await getText(`http://127.0.0.1:${ports[1]}/api/v1/status/flags`));
      assertEquals(flags.data["shard.index"], "1");
      assertEquals(flags.data["shard.total"], "3");
      assertEquals(flags.data.replica, "1");

      // A reload (SIGHUP) applies the flags again: agent 0 keeps to its shard.
      agents[0]!.child.kill("SIGHUP");
      await waitFor(
        "agent 0 reloaded",
        () => Promise.resolve(agents[0]!.output().includes("config reloaded") || undefined),
        20_000,
      );
      assert(/jobsKept=1/.test(agents[0]!.output()), "the job kept its pool");
      await sleep(2 * INTERVAL_MS + 500);
      for (const [addr, who] of rx.upByInstance()) assertEquals(who.size, 1, addr);

      // The receiver fails; agent k buffers in its WAL, is SIGKILLed and restarted.
      const k = byAgent.findIndex((a) => a.length === Math.max(...byAgent.map((x) => x.length)));
      const mine = byAgent[k];
      rx.failing = true;
      const failAt = Date.now();
      await sleep(4 * INTERVAL_MS);
      const killAt = Date.now();
      const st = await agents[k]!.stop("SIGKILL");
      assertEquals(st.signal, "SIGKILL");
      await sleep(INTERVAL_MS);
      const restartAt = Date.now();
      agents[k] = start(k);
      await waitFor(
        "the restarted agent to scrape",
        () => Promise.resolve(agents[k]!.output().includes("agent started") || undefined),
        30_000,
      );
      await sleep(2 * INTERVAL_MS);
      rx.failing = false;
      const upAt = Date.now();

      // Everything up to now arrives: samples scraped before the kill too.
      await waitFor(
        "samples of agent k after the outage",
        () =>
          Promise.resolve(
            mine.every((a) => rx.timestamps("test_scrapes_total", a).some((t) => t >= upAt)) ||
              undefined,
          ),
        30_000,
      );
      for (const addr of mine) {
        const ts = rx.timestamps("test_scrapes_total", addr);
        // Scraped while the receiver failed, well before the kill: only in the WAL then.
        const buffered = ts.filter((t) => t > failAt && t < killAt - 1500);
        assert(buffered.length >= 1, `no WAL samples of ${addr} from before the kill\n${logs()}`);
        for (let i = 1; i < ts.length; i++) {
          const gap = ts[i] - ts[i - 1];
          if (gap <= 2.5 * INTERVAL_MS) continue;
          // The only longer gap spans the downtime between the kill and the restart.
          assert(
            ts[i - 1] <= killAt && ts[i] >= restartAt,
            `gap of ${gap} ms in ${addr} at ${ts[i - 1] - failAt} ms after the failure began` +
              ` (kill at ${killAt - failAt}, restart at ${restartAt - failAt})`,
          );
        }
      }
      // The other agents lost nothing either.
      for (let i = 0; i < AGENTS; i++) {
        if (i === k) continue;
        for (const addr of byAgent[i]) {
          const ts = rx.timestamps("test_scrapes_total", addr).filter((t) => t > failAt);
          for (let j = 1; j < ts.length; j++) {
            assert(ts[j] - ts[j - 1] <= 2.5 * INTERVAL_MS, `gap in ${addr} (agent ${i})`);
          }
        }
      }
      // Still one agent per target after the restart.
      for (const [addr, who] of rx.upByInstance()) assertEquals(who.size, 1, addr);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs()}`, { cause: e });
    } finally {
      await Promise.all(agents.map((a) => a?.stop("SIGTERM", 10_000)));
      await rx.stop();
      await Promise.all(targets.map((t) => t.stop()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

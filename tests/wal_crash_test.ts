/**
 * The WAL under crashes, through main.ts with a real VictoriaMetrics:
 * an outage with SIGKILLed restarts, and a crash loop.
 *
 * A sample names its scrape (the target's gauges hold the scrape number),
 * so "what the agent appended" is "every scrape the target served", minus at
 * most the one in flight when the agent was killed; VictoriaMetrics is
 * queried for what it stored, and a counting proxy in front of it sees
 * every sample delivered twice.
 */

import { assert, assertEquals } from "../src/testing/assert.ts";
import { skipLoudly, waitFor } from "./helpers.ts";
import {
  AgentProc,
  CountingProxy,
  LoadTarget,
  note,
  scrapesSettled,
  scrapesStored,
  sleep,
  storageBytes,
  Victoria,
  writeAgentConfig,
} from "./wal_helpers.ts";
import { mulberry32 } from "../src/testing/prng.ts";

/** Scrapes 1..upTo missing from `stored`. */
function missing(stored: Set<number>, upTo: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= upTo; k++) if (!stored.has(k)) out.push(k);
  return out;
}

/** Waits until VictoriaMetrics holds every scrape up to the newest but one, except `allowed`. */
async function waitDelivered(
  vm: Victoria,
  target: LoadTarget,
  series: number,
  allowed: number[],
): Promise<void> {
  let left: number[] = [];
  await waitFor(
    "every committed scrape in VictoriaMetrics",
    async () => {
      const stored = await scrapesStored(vm, series);
      left = missing(stored, target.scrapes - 1).filter((k) => !allowed.includes(k));
      return left.length === 0 ? true : undefined;
    },
    60_000,
    500,
  ).catch((e) => {
    throw new Error(`${e.message}; missing scrapes ${left.slice(0, 20)}`);
  });
}

Deno.test({
  name:
    "wal: receiver down, agent SIGKILLed and restarted twice, receiver back: every committed sample arrives, once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bin = Victoria.binary();
    if (!bin) return skipLoudly("wal outage test", "victoria-metrics is not installed");
    const SERIES = 100, BATCH = 500;
    const dir = await Deno.makeTempDir({ prefix: "ferry-outage-" });
    const vm = new Victoria(bin, `${dir}/vm`);
    const target = new LoadTarget(SERIES);
    const proxy = new CountingProxy(vm.url);
    let agent: AgentProc | undefined;
    try {
      await vm.start();
      const cfg = await writeAgentConfig(dir, {
        targetPort: target.port,
        writeUrl: `http://127.0.0.1:${proxy.port}/api/v1/write`,
        maxSamplesPerSend: BATCH,
      });
      const data = `${dir}/data`;
      const flags = ["--storage.agent.wal-segment-size=64KB"];
      agent = new AgentProc(cfg, data, flags);
      await agent.ready();
      await waitFor(
        "the first scrapes delivered",
        async () => (await scrapesStored(vm, SERIES)).size >= 2 ? true : undefined,
        30_000,
        250,
      );
      await waitDelivered(vm, target, SERIES, []);

      // The receiver goes down; the agent is killed twice while it buffers.
      await vm.stop();
      const downAt = target.scrapes;
      const kills: number[] = [];
      for (let run = 0; run < 2; run++) {
        const from = target.scrapes;
        await waitFor(
          "three scrapes",
          () => Promise.resolve(target.scrapes >= from + 3 ? true : undefined),
          30_000,
          20,
        );
        kills.push(target.scrapes); // served, perhaps not yet committed
        const st = await agent.kill();
        assertEquals(st.signal, "SIGKILL");
        agent = new AgentProc(cfg, data, flags);
        await agent.ready();
      }
      const from = target.scrapes;
      await waitFor(
        "three scrapes",
        () => Promise.resolve(target.scrapes >= from + 3 ? true : undefined),
        30_000,
        20,
      );
      const upAt = target.scrapes;
      await vm.start();
      await waitDelivered(vm, target, SERIES, kills);
      const st = await agent.stop();
      assertEquals(st.code, 0, agent.proc.output().slice(-3000));

      const final = target.scrapes;
      const stored = await scrapesSettled(vm, proxy, SERIES);
      const gone = missing(stored, final);
      for (const k of gone) {
        assert(kills.includes(k) || k === final, `scrape ${k} lost (kills at ${kills})`);
      }
      // The outage's scrapes are all there, however many restarts they went through.
      for (let k = downAt + 1; k <= upAt; k++) {
        assert(
          stored.has(k) || kills.includes(k),
          `outage scrape ${k} delivered (down at ${downAt}, up at ${upAt}, kills at ${kills}; ` +
            `proxy saw ${proxy.loadValues.get(k)} samples of it; stored ${
              [...stored].sort((a, b) => a - b)
            })`,
        );
      }
      // Nothing delivered twice beyond the last unacknowledged batch.
      const dup = proxy.duplicates();
      assert(dup <= BATCH, `${dup} samples delivered twice`);
      note(
        `outage: ${final} scrapes, ${upAt - downAt} during the outage, kills at ${kills}, ` +
          `lost ${gone.length} (${gone}), duplicates ${dup}`,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${agent?.proc.output().slice(-4000)}`,
      );
    } finally {
      await agent?.proc.stop("SIGKILL");
      await vm.stop();
      await proxy.stop();
      await target.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "wal: crash loop — 20 SIGKILLs at random moments (during start-up and replay, scrape, send and truncation); every restart succeeds, the WAL stays under its cap, nothing committed is lost",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bin = Victoria.binary();
    if (!bin) return skipLoudly("wal crash-loop test", "victoria-metrics is not installed");
    const SERIES = 500, BATCH = 500, CAP = 256 * 1024, KILLS = 20;
    const seed = Number(Deno.env.get("FERRY_TEST_SEED") ?? Date.now() % 1_000_000);
    const random = mulberry32(seed);
    const dir = await Deno.makeTempDir({ prefix: "ferry-crashloop-" });
    const vm = new Victoria(bin, `${dir}/vm`);
    const target = new LoadTarget(SERIES);
    const proxy = new CountingProxy(vm.url);
    let agent: AgentProc | undefined;
    let maxDisk = 0;
    const data = `${dir}/data`;
    const poll = setInterval(async () => {
      maxDisk = Math.max(maxDisk, await storageBytes(data));
    }, 50);
    try {
      await vm.start();
      const cfg = await writeAgentConfig(dir, {
        targetPort: target.port,
        writeUrl: `http://127.0.0.1:${proxy.port}/api/v1/write`,
        maxSamplesPerSend: BATCH,
      });
      const flags = [
        "--storage.agent.wal-segment-size=64KB",
        `--storage.agent.max-disk-bytes=${CAP}`,
        "--storage.agent.wal-truncate-frequency=1s",
      ];
      const kills: number[] = [];
      let early = 0;
      let startMs = 0;
      for (let i = 0; i < KILLS; i++) {
        const t0 = performance.now();
        agent = new AgentProc(cfg, data, flags);
        if (i % 4 === 3) {
          // While starting: loading the config, replaying and repairing the WAL, first truncation.
          await sleep(random() * startMs * 1.2);
          if (!agent.proc.output().includes('msg="agent started"')) early++;
        } else {
          await agent.ready(20_000); // every restart succeeds
          startMs = performance.now() - t0;
          await sleep(random() * 2500);
        }
        kills.push(target.scrapes);
        const st = await agent.kill();
        assertEquals(st.signal, "SIGKILL");
        const disk = await storageBytes(data);
        assert(disk <= CAP, `WAL ${disk} bytes after kill ${i + 1} > cap ${CAP}`);
      }
      agent = new AgentProc(cfg, data, flags);
      await agent.ready();
      await waitDelivered(vm, target, SERIES, kills);
      const st = await agent.stop();
      assertEquals(st.code, 0);
      const final = target.scrapes;
      const gone = missing(await scrapesSettled(vm, proxy, SERIES), final);
      for (const k of gone) {
        assert(kills.includes(k) || k === final, `scrape ${k} lost (kills at ${kills})`);
      }
      assert(maxDisk <= CAP, `WAL reached ${maxDisk} bytes > cap ${CAP}`);
      // At most an unacknowledged batch and the acks of the last second are re-sent per crash.
      const dup = proxy.duplicates();
      const bound = KILLS * (BATCH + 2 * (SERIES + 10));
      assert(dup <= bound, `${dup} samples delivered twice (bound ${bound})`);
      note(
        `crash loop (seed ${seed}): ${final} scrapes, ${KILLS} kills (${early} before ready), lost ${gone.length} ` +
          `in-flight scrapes, duplicates ${dup} (bound ${bound}), max WAL ${maxDisk} B (cap ${CAP})`,
      );
    } catch (e) {
      throw new Error(
        `seed ${seed}: ${(e as Error).message}\n--- ferry ---\n${
          agent?.proc.output().slice(-4000)
        }`,
      );
    } finally {
      clearInterval(poll);
      await agent?.proc.stop("SIGKILL");
      await vm.stop();
      await proxy.stop();
      await target.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

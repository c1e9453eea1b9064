/**
 * The WAL's disk bound and repair, through main.ts with a real
 * VictoriaMetrics: a long outage under a small cap, and a copy of a real WAL
 * with flipped bytes and a cut tail.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { RecordReader } from "../src/storage/wal/reader.ts";
import { isSamplesType, sampleCount } from "../src/storage/wal/record.ts";
import { listWalDir, segmentName } from "../src/storage/wal/segment.ts";
import { getText, skipLoudly, waitFor } from "./helpers.ts";
import {
  AgentProc,
  CountingProxy,
  LoadTarget,
  note,
  scrapesSettled,
  sleep,
  storageBytes,
  Victoria,
  writeAgentConfig,
} from "./wal_helpers.ts";

Deno.test({
  name:
    "wal: a long outage under a small disk cap — disk stays under it, drops are counted exactly, delivery resumes with the newest data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bin = Victoria.binary();
    if (!bin) return skipLoudly("wal disk-cap test", "victoria-metrics is not installed");
    // 640 KiB. The smallest cap ferry can hold is two checkpoints (the old one and the new one's
    // temporary file coexist while it is rewritten) plus two segments: with per-series metadata
    // the checkpoint of 3,000 series is ~198 KB, so ~530 KB. A 512 KiB cap is below that: ferry
    // then logs "The WAL disk cap is too small…" and overshoots by design (seen under load as
    // 525,440 B = 2 × 197,501 checkpoint + 65,015 + 65,361 segments + cursors and lock files).
    const SERIES = 3000, CAP = 640 * 1024;
    const dir = await Deno.makeTempDir({ prefix: "ferry-diskcap-" });
    const vm = new Victoria(bin, `${dir}/vm`);
    const target = new LoadTarget(SERIES);
    const proxy = new CountingProxy(vm.url); // the receiver is down until vm.start()
    const data = `${dir}/data`;
    let agent: AgentProc | undefined;
    let maxDisk = 0;
    const poll = setInterval(async () => {
      maxDisk = Math.max(maxDisk, await storageBytes(data));
    }, 25);
    try {
      const cfg = await writeAgentConfig(dir, {
        targetPort: target.port,
        writeUrl: `http://127.0.0.1:${proxy.port}/api/v1/write`,
      });
      agent = new AgentProc(cfg, data, [
        "--storage.agent.wal-segment-size=64KB",
        `--storage.agent.max-disk-bytes=${CAP}`,
        "--storage.agent.wal-truncate-frequency=1s",
      ]);
      await agent.ready();
      const a = agent;
      const DROPPED =
        `prometheus_remote_storage_samples_dropped_total{reason="wal_disk_cap",remote_name="vm",url="http://127.0.0.1:${proxy.port}/api/v1/write"}`;
      // An outage long enough to need several times the cap.
      await waitFor(
        "drops under the cap",
        async () => {
          const m = await a.metrics();
          return (m.get(DROPPED) ?? 0) > 0 && target.scrapes >= 25 ? true : undefined;
        },
        90_000,
        250,
      );
      assertStringIncludes(a.proc.output(), 'msg="Dropping undelivered WAL data"');
      assert(!a.proc.output().includes("disk cap is too small"), "the cap is one ferry can hold");
      const outageEnd = target.scrapes;
      await vm.start();
      await waitFor(
        "the newest outage scrape delivered",
        () => {
          return Promise.resolve(proxy.loadValues.get(outageEnd) === SERIES ? true : undefined);
        },
        60_000,
        100,
      );

      // Stop the load, let delivery catch up, then account for every scrape.
      target.down();
      const served = target.scrapes;
      await sleep(1500);
      let m = new Map<string, number>();
      await waitFor(
        "caught up",
        async () => {
          m = await a.metrics();
          const pending = [...m].find(([k]) =>
            k.startsWith("prometheus_remote_storage_samples_pending")
          );
          return pending && pending[1] === 0 && (proxy.loadValues.get(served) ?? 0) === SERIES
            ? true
            : undefined;
        },
        60_000,
        250,
      );
      const dropped = m.get(DROPPED) ?? 0;
      const stored = await scrapesSettled(vm, proxy, SERIES);
      const gone: number[] = [];
      for (let k = 1; k <= served; k++) if (!stored.has(k)) gone.push(k);
      assert(gone.length > 0, "the cap forced drops");
      // The oldest went first: what is missing is one run, and everything after it arrived.
      assertEquals(gone, Array.from({ length: gone.length }, (_, i) => gone[0] + i), "one run");
      for (let k = gone[gone.length - 1] + 1; k <= served; k++) {
        assert(stored.has(k), `scrape ${k}`);
      }
      // Every dropped sample is counted, exactly: whole scrape commits, each of `perScrape` samples.
      const perScrape = Math.max(...proxy.perTimestamp.values());
      assert(perScrape >= SERIES);
      assertEquals(dropped, gone.length * perScrape, `${gone.length} scrapes of ${perScrape}`);
      assert(maxDisk <= CAP, `the WAL reached ${maxDisk} bytes, cap ${CAP}`);
      assertEquals(proxy.duplicates(), 0);
      const st = await agent.stop();
      assertEquals(st.code, 0);
      note(
        `disk cap: ${served} scrapes of ${perScrape} samples, ${gone.length} dropped (${dropped} samples, ` +
          `counted), max WAL ${maxDisk} B of ${CAP}`,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${agent?.proc.output().slice(-4000)}`,
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

/** Records of a segment file: end offsets and sample counts. */
async function records(path: string): Promise<{ end: number; samples: number }[]> {
  const r = new RecordReader();
  r.push(await Deno.readFile(path));
  const out = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    out.push({ end: r.offset, samples: isSamplesType(rec[0]) ? sampleCount(rec) : 0 });
  }
  return out;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile && e.name !== "lock") {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
}

Deno.test({
  name:
    "wal: a copy of a real WAL with flipped bytes and a cut tail — start succeeds, losses are reported exactly, the rest is delivered",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bin = Victoria.binary();
    if (!bin) return skipLoudly("wal corruption test", "victoria-metrics is not installed");
    // About 8 WAL bytes a sample (see LoadTarget): a scrape is a record of ~20 KB, so a 64 KB
    // segment holds a few.
    const SERIES = 2500;
    const dir = await Deno.makeTempDir({ prefix: "ferry-corrupt-" });
    const vm = new Victoria(bin, `${dir}/vm`);
    const target = new LoadTarget(SERIES);
    const proxy = new CountingProxy(vm.url);
    let agent: AgentProc | undefined;
    try {
      const cfg = await writeAgentConfig(dir, {
        targetPort: target.port,
        writeUrl: `http://127.0.0.1:${proxy.port}/api/v1/write`,
      });
      const flags = ["--storage.agent.wal-segment-size=64KB"];
      // A real WAL: the agent scrapes while the receiver is down, then stops cleanly.
      agent = new AgentProc(cfg, `${dir}/data`, flags);
      await agent.ready();
      await waitFor("ten scrapes", () => Promise.resolve(target.scrapes >= 10 ? true : undefined));
      target.down();
      await sleep(1200);
      assertEquals((await agent.stop()).code, 0);
      const stoppedAt = Date.now();
      await copyDir(`${dir}/data`, `${dir}/copy`);

      // Damage the copy: one byte in the middle of the 2nd record of a middle segment, and the
      // last segment cut in the middle of its second-to-last record.
      const wal = `${dir}/copy/wal`;
      const segs: number[] = [];
      for (const s of (await listWalDir(wal)).segments) {
        if ((await records(`${wal}/${segmentName(s)}`)).some((r) => r.samples > 0)) segs.push(s);
      }
      assert(segs.length >= 3, `segments with samples: ${segs}`);
      let total = 0;
      for (const s of segs) {
        for (const r of await records(`${wal}/${segmentName(s)}`)) total += r.samples;
      }
      const midPath = `${wal}/${segmentName(segs[1])}`;
      const mid = await records(midPath);
      const bytes = await Deno.readFile(midPath);
      bytes[Math.floor((mid[0].end + mid[1].end) / 2)] ^= 0x04;
      await Deno.writeFile(midPath, bytes);
      const lastPath = `${wal}/${segmentName(segs[segs.length - 1])}`;
      const last = await records(lastPath);
      const n = last.length;
      assert(n >= 2, `records in the last segment: ${n}`);
      // Cut in the middle of the second-to-last record when there is one before it: the last
      // record is then cut away whole and leaves no trace to report.
      const c = n >= 3 ? n - 2 : n - 1;
      await Deno.truncate(lastPath, Math.floor((last[c - 1].end + last[c].end) / 2));
      const lost = [...mid.slice(1), last[c]];
      const lostSamples = lost.reduce((a, r) => a + r.samples, 0);
      const vanished = last.slice(c + 1).reduce((a, r) => a + r.samples, 0);

      // Start on the copy with the receiver up.
      await vm.start();
      agent = new AgentProc(cfg, `${dir}/copy`, flags);
      await agent.ready();
      const m = await agent.metrics();
      assertEquals(m.get("prometheus_agent_corruptions_total"), 2);
      assertEquals(m.get("ferry_wal_corruption_lost_records_total"), lost.length);
      assertEquals(m.get("ferry_wal_corruption_lost_samples_total"), lostSamples);
      const replay = JSON.parse(
        await getText(`http://127.0.0.1:${agent.webPort}/api/v1/status/walreplay`),
      );
      const all = (await listWalDir(wal)).segments;
      assertEquals(replay.data.min, all[0]);
      assertEquals(replay.data.current, replay.data.max);
      assert(replay.data.max >= segs[segs.length - 1]);
      const log = agent.proc.output();
      assertStringIncludes(log, `lost_records=${mid.length - 1} `);
      assertStringIncludes(log, `lost_samples=${mid.slice(1).reduce((a, r) => a + r.samples, 0)} `);
      assertStringIncludes(log, `lost_records=1 lost_samples=${last[c].samples} `);
      // Everything else is delivered.
      const want = total - lostSamples - vanished;
      const old = () => {
        let c = 0;
        for (const [t, k] of proxy.perTimestamp) if (t < stoppedAt) c += k;
        return c;
      };
      await waitFor(
        "the undamaged samples delivered",
        () => {
          return Promise.resolve(old() >= want ? true : undefined);
        },
        60_000,
        200,
      ).catch((e) => {
        throw new Error(`${e.message}: ${old()} of ${want}`);
      });
      await sleep(500);
      assertEquals(old(), want);
      assertEquals(proxy.duplicates(), 0);
      const stored = await scrapesSettled(vm, proxy, SERIES);
      assert(stored.size > 0);
      assertEquals((await agent.stop()).code, 0);
      note(
        `corruption: ${total} samples in ${segs.length} segments, ${lost.length} records ` +
          `(${lostSamples} samples) reported lost, ${vanished} cut away, ${want} delivered`,
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

/**
 * Local faults under a running agent (main.ts as a real process): the disk
 * filling up under the WAL (a small tmpfs), the WAL directory removed, and
 * the WAL directory made read-only. In each, scraping and the web server go
 * on, what could not be stored is counted and logged, and the agent recovers
 * by itself once the fault is gone.
 *
 * A scrape's samples name the scrape (the target's gauges hold the scrape
 * number), so the receiver knows exactly which scrapes arrived.
 *
 * Mounting a tmpfs needs root (or passwordless sudo); without it the
 * disk-full test is skipped loudly. The read-only test uses `chattr +i` as
 * root (root ignores permission bits) and `chmod 0555` otherwise. A tmpfs
 * cannot be remounted read-only while ferry holds its head segment open for
 * writing (EBUSY), so a filesystem turning read-only under open files is
 * covered by the fault-injection unit tests (src/storage/agentdb_faults_test.ts).
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { getText, skipLoudly, waitFor } from "./helpers.ts";
import { AgentProc, CountingProxy, LoadTarget, note, writeAgentConfig } from "./wal_helpers.ts";

const FAILED = "ferry_wal_samples_failed_total";
const MISSING = "ferry_wal_files_missing_total";
const RSS_BOUND = 400 * 1024 * 1024;

/** A remote-write receiver that accepts everything, or answers 503 while `up` is false. */
class Upstream {
  up = true;
  readonly #server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    return this.up ? new Response(null, { status: 204 }) : new Response("down", { status: 503 });
  });
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }
  stop(): Promise<void> {
    return this.#server.shutdown();
  }
}

/** Target, receiver (a counting proxy in front of `Upstream`) and the agent's config in a temp dir. */
async function setUp(series: number) {
  const dir = await Deno.makeTempDir({ prefix: "ferry-faults-" });
  const target = new LoadTarget(series);
  const upstream = new Upstream();
  const proxy = new CountingProxy(upstream.url);
  const cfg = await writeAgentConfig(dir, {
    targetPort: target.port,
    writeUrl: `http://127.0.0.1:${proxy.port}/api/v1/write`,
  });
  return {
    dir,
    target,
    upstream,
    proxy,
    cfg,
    async tearDown() {
      await proxy.stop();
      await upstream.stop();
      await target.stop();
    },
  };
}

const FLAGS = [
  "--storage.agent.wal-segment-size=64KB",
  "--storage.agent.wal-truncate-frequency=1s",
];

/** Waits until `n` more scrapes were served. */
async function scrapes(target: LoadTarget, n: number): Promise<void> {
  const from = target.scrapes;
  await waitFor(
    `${n} more scrapes`,
    () => Promise.resolve(target.scrapes >= from + n ? true : undefined),
    30_000,
    50,
  );
}

/** Waits until a scrape served after now (plus one) arrived whole: delivery goes on with new data. */
async function newDataDelivered(target: LoadTarget, proxy: CountingProxy): Promise<number> {
  const after = target.scrapes + 1;
  return await waitFor(
    `a scrape after ${after} delivered`,
    () => {
      for (const [k, n] of proxy.loadValues) {
        if (k > after && n === target.series) return Promise.resolve(k);
      }
      return Promise.resolve(undefined);
    },
    30_000,
    100,
  );
}

/**
 * Asserts every scrape 1..upTo arrived whole, except those in the `gaps`
 * (inclusive ranges around the faults); returns how many were missing.
 */
function assertDelivered(
  proxy: CountingProxy,
  series: number,
  upTo: number,
  gaps: [number, number][],
): number {
  let missing = 0;
  for (let k = 1; k <= upTo; k++) {
    if (proxy.loadValues.get(k) === series) continue;
    missing++;
    assert(
      gaps.some(([a, b]) => k >= a && k <= b),
      `scrape ${k} lost outside the fault windows ${JSON.stringify(gaps)}`,
    );
  }
  return missing;
}

/** The agent is up: ready, its API answers, and the target's last error (if any). */
async function targetError(agent: AgentProc): Promise<string> {
  const base = `http://127.0.0.1:${agent.webPort}`;
  await getText(`${base}/-/ready`);
  const t = JSON.parse(await getText(`${base}/api/v1/targets`));
  return t.data.activeTargets[0].lastError as string;
}

/** Waits until all scrapes up to the newest but one arrived (except the gaps). */
async function allDelivered(
  target: LoadTarget,
  proxy: CountingProxy,
  gaps: [number, number][],
): Promise<number> {
  let err: unknown;
  await waitFor(
    "everything delivered",
    () => {
      try {
        assertDelivered(proxy, target.series, target.scrapes - 2, gaps);
        return Promise.resolve(true);
      } catch (e) {
        err = e;
        return Promise.resolve(undefined);
      }
    },
    30_000,
    200,
  ).catch((e) => {
    throw new Error(`${e.message}: ${err}`);
  });
  return assertDelivered(proxy, target.series, target.scrapes - 2, gaps);
}

/** `[]` as root, `["sudo", "-n"]` with passwordless sudo, else null. */
async function privilege(): Promise<string[] | null> {
  if (Deno.uid() === 0) return [];
  try {
    const out = await new Deno.Command("sudo", {
      args: ["-n", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.success) return ["sudo", "-n"];
  } catch {
    // no sudo
  }
  return null;
}

/** Runs a command (with `prefix`, e.g. sudo); throws with its stderr when it fails. */
async function run(prefix: string[], cmd: string, args: string[]): Promise<void> {
  const argv = [...prefix, cmd, ...args];
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Appends to `path` until the filesystem is full; returns the bytes written. */
async function fill(path: string): Promise<number> {
  using f = await Deno.open(path, { write: true, create: true, append: true });
  const buf = new Uint8Array(64 * 1024);
  let n = 0;
  try {
    for (;;) n += await f.write(buf);
  } catch (e) {
    if (!String(e).includes("No space left on device")) throw e;
  }
  return n;
}

Deno.test({
  name:
    "local faults: disk full (ENOSPC) under the WAL — scraping and the web go on, lost samples are counted and logged (rate-limited), writing resumes when space returns, nothing committed is lost",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sudo = await privilege();
    if (sudo === null) {
      return skipLoudly("disk-full test", "mounting a tmpfs needs root or passwordless sudo");
    }
    const SERIES = 200;
    const env = await setUp(SERIES);
    const { target, proxy } = env;
    const mnt = `${env.dir}/mnt`;
    await Deno.mkdir(mnt);
    try {
      await run(sudo, "mount", ["-t", "tmpfs", "-o", "size=4m,mode=1777", "tmpfs", mnt]);
    } catch (e) {
      await env.tearDown();
      await Deno.remove(env.dir, { recursive: true });
      return skipLoudly("disk-full test", `cannot mount a tmpfs: ${e}`);
    }
    const data = `${mnt}/data`;
    let agent: AgentProc | undefined;
    try {
      agent = new AgentProc(env.cfg, data, FLAGS);
      await agent.ready();
      await newDataDelivered(target, proxy);

      // The disk fills up (something else wrote a big file).
      const fullAt = target.scrapes;
      await fill(`${mnt}/filler`);
      const a = agent;
      await waitFor("a failed commit", async () => {
        await fill(`${mnt}/filler`); // take whatever was freed meanwhile
        return ((await a.metrics()).get(FAILED) ?? 0) > 0 ? true : undefined;
      }, 20_000);
      await scrapes(target, 4); // scraping goes on
      assertStringIncludes(await targetError(agent), "No space left on device");
      const failedWhileFull = (await agent.metrics()).get(FAILED)!;
      assert(failedWhileFull >= SERIES, `${failedWhileFull} samples counted as failed`);
      assert(((await agent.metrics()).get("prometheus_tsdb_wal_writes_failed_total") ?? 0) > 0);
      const out = agent.proc.output();
      assertStringIncludes(
        out,
        'msg="Cannot write to the WAL; the samples of the failed commits are lost"',
      );
      assertStringIncludes(out, "No space left on device");
      const lines = out.split("\n").filter((l) => l.includes("Cannot write to the WAL")).length;
      assert(
        lines <= 2,
        `${lines} error lines for ~5 s of failures (rate-limited to one per 10 s)`,
      );
      const rss = agent.proc.rssBytes();
      assert(!(rss > RSS_BOUND), `RSS ${rss}`);

      // Space comes back.
      await Deno.remove(`${mnt}/filler`);
      const freedAt = target.scrapes;
      await newDataDelivered(target, proxy);
      assertStringIncludes(agent.proc.output(), 'msg="Writing to the WAL works again"');
      const failed = (await agent.metrics()).get(FAILED)!;
      await scrapes(target, 2);
      assertEquals((await agent.metrics()).get(FAILED), failed, "no more failures");
      assertEquals(await targetError(agent), "");
      const gaps: [number, number][] = [[fullAt - 1, freedAt + 1]];
      const lost = await allDelivered(target, proxy, gaps);
      assert(lost > 0, "some scrapes were lost while the disk was full");
      assertEquals(
        lost * (SERIES + 5),
        failed,
        "every lost sample (and the 5 report series) counted",
      );

      const st = await agent.stop();
      assertEquals(st.code, 0, agent.proc.output().slice(-3000));
      // The WAL left behind is whole: a restart repairs nothing.
      agent = new AgentProc(env.cfg, data, FLAGS);
      await agent.ready();
      assertEquals((await agent.metrics()).get("prometheus_agent_corruptions_total"), 0);
      assert(!agent.proc.output().includes("Repairing damaged WAL segment"));
      assertEquals((await agent.stop()).code, 0);
      note(
        `disk full: scrapes ${fullAt}..${freedAt}, ${lost} scrapes (${failed} samples) not stored, ` +
          `counted and logged in ${lines} line(s)`,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${agent?.proc.output().slice(-4000)}`,
      );
    } finally {
      await agent?.proc.stop("SIGKILL");
      await env.tearDown();
      await run(sudo, "umount", ["-l", mnt]).catch(() => {});
      await Deno.remove(env.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "local faults: the WAL directory, then the whole storage directory, removed underneath — noticed, counted and logged, recreated; delivery goes on; after a SIGKILL the new WAL replays whole",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const SERIES = 200;
    const env = await setUp(SERIES);
    const { target, proxy, upstream } = env;
    const data = `${env.dir}/data`;
    let agent: AgentProc | undefined;
    try {
      agent = new AgentProc(env.cfg, data, FLAGS);
      await agent.ready();
      await newDataDelivered(target, proxy);
      const a = agent;
      const missing = async () => (await a.metrics()).get(MISSING) ?? 0;

      const removedAt = target.scrapes;
      await removeWhileWritten(`${data}/wal`);
      await waitFor(
        "the removal noticed",
        async () => (await missing()) > 0 ? true : undefined,
        10_000,
      );
      assertStringIncludes(agent.proc.output(), "WAL files were removed while ferry was running");
      assertStringIncludes(agent.proc.output(), 'msg="The WAL continues in a new segment"');
      await newDataDelivered(target, proxy);
      assert((await Deno.stat(`${data}/wal`)).isDirectory, "recreated");

      const removed2At = target.scrapes;
      const before = await missing();
      await removeWhileWritten(data);
      await waitFor(
        "the second removal noticed",
        async () => (await missing()) > before ? true : undefined,
        10_000,
      );
      await newDataDelivered(target, proxy);
      await waitFor(
        "the cursors file written again",
        async () => {
          try {
            return (await Deno.stat(`${data}/cursors.json`)).isFile ? true : undefined;
          } catch {
            return undefined;
          }
        },
        10_000,
        100,
      );
      assertEquals(await targetError(agent), "");

      // Only the new WAL holds what follows: the receiver is down, the agent is killed.
      upstream.up = false;
      await scrapes(target, 3);
      const killedAt = target.scrapes;
      assertEquals((await agent.kill()).signal, "SIGKILL");
      agent = new AgentProc(env.cfg, data, FLAGS);
      await agent.ready();
      upstream.up = true;
      const gaps: [number, number][] = [
        [removedAt - 1, removedAt + 2],
        [removed2At - 1, removed2At + 2],
        [killedAt, killedAt + 1],
      ];
      await newDataDelivered(target, proxy);
      const lost = await allDelivered(target, proxy, gaps);
      assert(
        !agent.proc.output().includes("refer to series whose records were lost"),
        "every series of the new WAL is known after the restart",
      );
      assertEquals((await agent.stop()).code, 0);
      note(`WAL removed at scrape ${removedAt}, storage at ${removed2At}: ${lost} scrapes lost`);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${agent?.proc.output().slice(-4000)}`,
      );
    } finally {
      await agent?.proc.stop("SIGKILL");
      await env.tearDown();
      await Deno.remove(env.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "local faults: the WAL directory made read-only — the open head segment fills, then commits fail (counted, logged) while scraping goes on; writable again, writing resumes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const SERIES = 2000; // ~20 KB a scrape: a 64 KB segment fills in a few seconds
    const env = await setUp(SERIES);
    const { target, proxy } = env;
    const data = `${env.dir}/data`;
    const wal = `${data}/wal`;
    // Root ignores permission bits; the immutable flag stops root too.
    const root = Deno.uid() === 0;
    const readOnly = () => root ? run([], "chattr", ["+i", wal]) : Deno.chmod(wal, 0o555);
    const writable = () => root ? run([], "chattr", ["-i", wal]) : Deno.chmod(wal, 0o755);
    let agent: AgentProc | undefined;
    let locked = false;
    try {
      agent = new AgentProc(env.cfg, data, FLAGS);
      await agent.ready();
      await newDataDelivered(target, proxy);
      const roAt = target.scrapes;
      try {
        await readOnly();
        locked = true;
      } catch (e) {
        return skipLoudly("read-only WAL test", `cannot make ${wal} read-only: ${e}`);
      }
      const a = agent;
      await waitFor(
        "a failed commit",
        async () => ((await a.metrics()).get(FAILED) ?? 0) > 0 ? true : undefined,
        30_000,
      );
      await scrapes(target, 3);
      const err = await targetError(agent);
      assert(/Operation not permitted|Permission denied/.test(err), err);
      assertStringIncludes(agent.proc.output(), "Cannot start WAL segment");

      await writable();
      locked = false;
      const freedAt = target.scrapes;
      await newDataDelivered(target, proxy);
      assertStringIncludes(agent.proc.output(), 'msg="Writing to the WAL works again"');
      const failed = (await agent.metrics()).get(FAILED)!;
      const lost = await allDelivered(target, proxy, [[roAt, freedAt + 1]]);
      assert(lost > 0);
      assertEquals(
        lost * (SERIES + 5),
        failed,
        "every lost sample (and the 5 report series) counted",
      );
      const rss = agent.proc.rssBytes();
      assert(!(rss > RSS_BOUND), `RSS ${rss}`);
      assertEquals((await agent.stop()).code, 0);
      note(
        `read-only WAL dir (${root ? "chattr +i" : "chmod 0555"}): ${lost} scrapes lost, counted`,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- ferry ---\n${agent?.proc.output().slice(-4000)}`,
      );
    } finally {
      if (locked) await writable().catch(() => {});
      await agent?.proc.stop("SIGKILL");
      await env.tearDown();
      await Deno.remove(env.dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Removes a directory that a running agent keeps writing into: a file it creates while the
 * recursive removal runs makes that fail with ENOTEMPTY, so it is tried again (bounded).
 */
async function removeWhileWritten(dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(dir, { recursive: true });
      return;
    } catch (e) {
      if (attempt >= 20 || !(e instanceof Error) || !/not empty/i.test(e.message)) throw e;
    }
  }
}

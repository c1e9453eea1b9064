/**
 * Helpers for the WAL integration tests: a real VictoriaMetrics receiver, a
 * counting proxy in front of it, a scrape target with many series, and the
 * agent as a real process.
 *
 * @module
 */

import { decodeWriteRequest, snappyDecode } from "../src/remote/codec.ts";
import { noiseFraction } from "../src/testing/prng.ts";
import { findBinary, freePort, getText, Proc, startAgent, waitFor } from "./helpers.ts";

export const DENO = Deno.execPath();

/** A real VictoriaMetrics on a fixed port and data directory, stoppable and restartable. */
export class Victoria {
  readonly port = freePort();
  readonly url = `http://127.0.0.1:${this.port}`;
  #proc: Proc | null = null;
  constructor(readonly bin: string, readonly dataDir: string) {}

  /** The binary, or null when missing (locally; CI fails in `findBinary`). */
  static binary(): string | null {
    return findBinary("victoria-metrics");
  }

  async start(): Promise<void> {
    this.#proc = new Proc("victoria-metrics", this.bin, [
      `-storageDataPath=${this.dataDir}`,
      `-httpListenAddr=127.0.0.1:${this.port}`,
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
      "-search.disableCache",
    ]);
    const p = this.#proc;
    await waitFor(
      "victoria-metrics healthy",
      async () => {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      30_000,
      100,
    ).catch((e) => {
      throw new Error(`${e.message}\n${p.output()}`);
    });
  }

  async stop(): Promise<void> {
    await this.#proc?.stop("SIGTERM", 10_000);
    this.#proc = null;
  }

  /** Every raw sample of series matching `match`: series key → timestamp → value. */
  async export(match: string): Promise<Map<string, Map<number, number>>> {
    await (await fetch(`${this.url}/internal/force_flush`)).body?.cancel();
    const text = await getText(
      `${this.url}/api/v1/export?match[]=${encodeURIComponent(match)}`,
      30_000,
    );
    const out = new Map<string, Map<number, number>>();
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const j = JSON.parse(line) as {
        metric: Record<string, string>;
        values: (number | null)[];
        timestamps: number[];
      };
      const key = Object.keys(j.metric).sort().map((k) => `${k}=${j.metric[k]}`).join(",");
      let m = out.get(key);
      if (!m) out.set(key, m = new Map());
      j.timestamps.forEach((t, i) => m!.set(t, Number(j.values[i])));
    }
    return out;
  }
}

/**
 * A remote-write proxy in front of a receiver. It forwards each request and,
 * for the ones the receiver accepted, counts every (series, timestamp) it
 * carried, so samples sent twice are seen even where the receiver dedups.
 */
export class CountingProxy {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** `series key\u0000timestamp` → times delivered. */
  readonly delivered = new Map<string, number>();
  /** Per timestamp: samples delivered (first delivery only). */
  readonly perTimestamp = new Map<number, number>();
  /** Per value of `load_series`: samples delivered (first delivery only). */
  readonly loadValues = new Map<number, number>();
  requests = 0;

  constructor(upstream: string) {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = new Uint8Array(await req.arrayBuffer());
      let res: Response;
      try {
        res = await fetch(`${upstream}/api/v1/write`, {
          method: "POST",
          body,
          headers: req.headers,
          signal: AbortSignal.timeout(10_000),
        });
      } catch {
        return new Response("receiver down", { status: 503 });
      }
      const text = await res.text();
      if (res.ok) {
        this.requests++;
        const d = decodeWriteRequest(snappyDecode(body));
        for (const s of d.series) {
          const key = s.labels.map(([k, v]) => `${k}=${v}`).join(",");
          const load = s.labels.some(([k, v]) => k === "__name__" && v === "load_series");
          s.timestamps.forEach((t, i) => {
            const k = `${key}\u0000${t}`;
            const n = (this.delivered.get(k) ?? 0) + 1;
            this.delivered.set(k, n);
            if (n > 1) return;
            this.perTimestamp.set(t, (this.perTimestamp.get(t) ?? 0) + 1);
            const v = s.values[i];
            if (load && !s.stale[i]) {
              const scrape = Math.floor(v);
              this.loadValues.set(scrape, (this.loadValues.get(scrape) ?? 0) + 1);
            }
          });
        }
      }
      const empty = res.status === 204 || res.status === 205 || res.status === 304;
      return new Response(empty ? null : text, { status: res.status });
    });
  }

  get port(): number {
    return this.#server.addr.port;
  }

  /** Samples delivered more than once (each extra delivery counts). */
  duplicates(): number {
    let n = 0;
    for (const c of this.delivered.values()) if (c > 1) n += c - 1;
    return n;
  }

  stop(): Promise<void> {
    return this.#server.shutdown();
  }
}

/**
 * A scrape target with `series` gauges `load_series{i="…"}` whose value's
 * integer part is the number of the scrape (1, 2, …): a sample names the
 * scrape it came from.
 */
export class LoadTarget {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  scrapes = 0;
  #up = true;

  constructor(readonly series: number) {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      if (!this.#up) return new Response("gone", { status: 503 });
      const n = ++this.scrapes;
      const lines = ["# TYPE load_series gauge"];
      // The scrape's number plus noise below 0.5 (incompressible: WAL sizes stay as for 8-byte
      // floats, whatever its compression does).
      for (let i = 0; i < this.series; i++) {
        lines.push(`load_series{i="${i}"} ${n + noiseFraction(n, i)}`);
      }
      return new Response(lines.join("\n") + "\n", {
        headers: { "Content-Type": "text/plain; version=0.0.4" },
      });
    });
  }

  get port(): number {
    return this.#server.addr.port;
  }

  /** Makes scrapes fail (no load_series samples after this). */
  down(): void {
    this.#up = false;
  }

  stop(): Promise<void> {
    return this.#server.shutdown();
  }
}

/** Writes an agent config: one 1 s job on the target, one endpoint "vm" at `writeUrl`. */
export async function writeAgentConfig(
  dir: string,
  opts: { targetPort: number; writeUrl: string; maxSamplesPerSend?: number },
): Promise<string> {
  const file = `${dir}/agent.config.ts`;
  await Deno.writeTextFile(
    file,
    `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{ jobName: "load", staticConfigs: [{ targets: ["127.0.0.1:${opts.targetPort}"] }] }],
  remoteWrite: [{
    url: "${opts.writeUrl}",
    name: "vm",
    queueConfig: {
      batchSendDeadline: "500ms",
      minBackoff: "50ms",
      maxBackoff: "500ms",
      maxSamplesPerSend: ${opts.maxSamplesPerSend ?? 2000},
    },
  }],
};
`,
  );
  return file;
}

/** The agent as a real process. */
export class AgentProc {
  readonly proc: Proc;
  readonly webPort = freePort();
  constructor(config: string, dataDir: string, flags: string[] = []) {
    this.proc = startAgent([
      config,
      `--storage.agent.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${this.webPort}`,
      "--storage.remote.flush-deadline=3s",
      ...flags,
    ]);
  }

  /** Waits until `/-/ready` answers 200 (storage replayed, endpoints and scrapes started). */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      "agent ready",
      async () => {
        const res = await fetch(`http://127.0.0.1:${this.webPort}/-/ready`, {
          signal: AbortSignal.timeout(1000),
        });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      timeoutMs,
      50,
    ).catch((e) => {
      throw new Error(`${e.message}\n${this.proc.output().slice(-3000)}`);
    });
  }

  /** The agent's `/metrics` as name{labels} → value. */
  async metrics(): Promise<Map<string, number>> {
    const text = await getText(`http://127.0.0.1:${this.webPort}/metrics`);
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const sp = line.lastIndexOf(" ");
      out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
    return out;
  }

  kill(): Promise<Deno.CommandStatus> {
    return this.proc.stop("SIGKILL");
  }

  stop(): Promise<Deno.CommandStatus> {
    return this.proc.stop("SIGTERM", 20_000);
  }
}

/** Bytes of the files in the storage directory and its `wal/`. */
export async function storageBytes(dir: string): Promise<number> {
  let n = 0;
  for (const d of [dir, `${dir}/wal`]) {
    try {
      for await (const e of Deno.readDir(d)) {
        if (!e.isFile) continue;
        try {
          n += (await Deno.stat(`${d}/${e.name}`)).size;
        } catch {
          // deleted meanwhile
        }
      }
    } catch {
      // not created yet
    }
  }
  return n;
}

/**
 * The scrape numbers VictoriaMetrics holds for all `series` load_series
 * series, once it holds every one the proxy saw it accept (its ingestion
 * becomes visible with a delay).
 */
export async function scrapesSettled(
  vm: Victoria,
  proxy: CountingProxy,
  series: number,
): Promise<Set<number>> {
  let stored = new Set<number>();
  await waitFor(
    "VictoriaMetrics to show what it accepted",
    async () => {
      stored = await scrapesStored(vm, series);
      for (const [v, n] of proxy.loadValues) if (n === series && !stored.has(v)) return undefined;
      return true;
    },
    30_000,
    200,
  );
  return stored;
}

/** The scrape numbers present for every one of `series` load_series series in VictoriaMetrics. */
export async function scrapesStored(vm: Victoria, series: number): Promise<Set<number>> {
  const data = await vm.export('{__name__="load_series"}');
  const count = new Map<number, number>();
  for (const m of data.values()) {
    for (const x of m.values()) {
      if (!Number.isFinite(x)) continue;
      const v = Math.floor(x); // the scrape's number (see LoadTarget)
      count.set(v, (count.get(v) ?? 0) + 1);
    }
  }
  const out = new Set<number>();
  for (const [v, c] of count) if (c === series) out.add(v);
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prints a measured figure of an integration test on stderr. */
export function note(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  ${line}\n`));
}

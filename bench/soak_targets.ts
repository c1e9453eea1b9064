/**
 * The soak's scrape targets (see bench/README.md, _Soak_): one process serving any number of
 * targets, each on its own loopback address (`targetAddress(id, port)` of nginx.ts), started and
 * stopped on request. Each target serves the farm's realistic series (farm.ts, values advanced on
 * every scrape), a few series whose `build` label changes every `--series-churn-every` seconds
 * (staggered per target: series churn inside the target), and `soak_scrapes_total`, which counts
 * that target's scrapes, so every scrape is identified by its target and that value. Every scrape
 * served is appended to `--log` as `<id> <seq> <unix ms> <lines>` before the body is returned.
 *
 * Control, on `--control host:port`: `POST /add?ids=1,2` starts targets (answers once they
 * listen), `POST /remove?ids=1,2` stops them, `GET /stats` counts scrapes served.
 *
 * ```sh
 * deno run --allow-net --allow-write bench/soak_targets.ts --control 127.0.80.250:19111 \
 *   --port 19110 --series 300 --log /tmp/served.log
 * ```
 *
 * @module
 */

import { type Layout, makeLayout, TargetValues } from "./farm.ts";
import { targetAddress } from "./nginx.ts";
import { flagReader } from "./proc.ts";

/** Options of the target server. */
export interface TargetServerOptions {
  /** Port every target listens on (each on its own address). */
  port: number;
  /** Series of the farm's layout per target. */
  series: number;
  /** Series whose `build` label changes every `seriesChurnMs`. */
  churnSeries: number;
  seriesChurnMs: number;
  /** Appends one line per scrape served. */
  log: (line: string) => void;
}

/** The `build` epoch of target `id` at `now`: changes every `periodMs`, staggered per target. */
export function buildEpoch(id: number, now: number, periodMs: number): number {
  if (periodMs <= 0) return 0;
  const offset = (id * 37_003) % periodMs;
  return Math.floor((now + offset) / periodMs);
}

/** One target: its values and scrape counter. */
export class SoakTarget {
  readonly id: number;
  #seq = 0;
  readonly #values: TargetValues;
  readonly #opts: TargetServerOptions;

  constructor(id: number, layout: Layout, opts: TargetServerOptions) {
    this.id = id;
    this.#values = new TargetValues(layout, 1 + id);
    this.#opts = opts;
  }

  /** Scrapes served so far. */
  get served(): number {
    return this.#seq;
  }

  /** The body of the next scrape (counts it) and its sample lines. */
  scrape(now: number): { body: string; seq: number; lines: number } {
    const seq = ++this.#seq;
    this.#values.advance();
    const epoch = buildEpoch(this.id, now, this.#opts.seriesChurnMs);
    const parts = [this.#values.render()];
    if (this.#opts.churnSeries > 0) {
      parts.push(
        "# HELP soak_build_info Build of a component; the build label changes now and then.\n",
        "# TYPE soak_build_info gauge\n",
      );
      for (let k = 0; k < this.#opts.churnSeries; k++) {
        parts.push(`soak_build_info{component="c${k}",build="b${epoch}"} 1\n`);
      }
    }
    parts.push(
      "# HELP soak_scrapes_total Scrapes of this target served so far, this one included.\n",
      "# TYPE soak_scrapes_total counter\n",
      `soak_scrapes_total ${seq}\n`,
    );
    return {
      body: parts.join(""),
      seq,
      lines: this.#values.values.length + this.#opts.churnSeries + 1,
    };
  }
}

/** Serves targets on demand; {@link close} stops them all. */
export class TargetServer {
  readonly #opts: TargetServerOptions;
  readonly #layout: Layout;
  readonly #running = new Map<number, { target: SoakTarget; server: Deno.HttpServer }>();
  /** Scrapes served by targets that have been stopped. */
  #retiredServed = 0;

  constructor(opts: TargetServerOptions) {
    this.#opts = opts;
    this.#layout = makeLayout(opts.series);
  }

  /** Starts target `id` (no-op if it runs); it listens when this returns (throws if the address is taken). */
  add(id: number): void {
    if (this.#running.has(id)) return;
    const target = new SoakTarget(id, this.#layout, this.#opts);
    const [hostname, port] = targetAddress(id, this.#opts.port).split(":");
    const server = Deno.serve({
      hostname,
      port: Number(port),
      onListen: () => {},
    }, (req) => {
      if (new URL(req.url).pathname !== "/metrics") {
        return new Response("not found\n", { status: 404 });
      }
      const now = Date.now();
      const s = target.scrape(now);
      this.#opts.log(`${id} ${s.seq} ${now} ${s.lines}\n`);
      return new Response(s.body, {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    });
    this.#running.set(id, { target, server });
  }

  /** Stops target `id` (no-op if it does not run). */
  async remove(id: number): Promise<void> {
    const r = this.#running.get(id);
    if (!r) return;
    this.#running.delete(id);
    this.#retiredServed += r.target.served;
    await r.server.shutdown();
  }

  /** Targets running and scrapes served so far. */
  stats(): { running: number; served: number } {
    let served = this.#retiredServed;
    for (const r of this.#running.values()) served += r.target.served;
    return { running: this.#running.size, served };
  }

  /** Stops every target. */
  async close(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((id) => this.remove(id)));
  }
}

function ids(u: URL): number[] {
  const raw = u.searchParams.get("ids") ?? "";
  return raw === "" ? [] : raw.split(",").map(Number).filter((n) => Number.isInteger(n) && n >= 0);
}

async function main(args: string[]): Promise<number> {
  const flag = flagReader(args);
  const logFile = Deno.openSync(flag("log"), { write: true, create: true, append: true });
  const enc = new TextEncoder();
  const targets = new TargetServer({
    port: Number(flag("port")),
    series: Number(flag("series")),
    churnSeries: Number(flag("churn-series", "10")),
    seriesChurnMs: Number(flag("series-churn-every", "180")) * 1000,
    log: (line) => logFile.writeSync(enc.encode(line)),
  });
  const [hostname, port] = flag("control").split(":");
  const stop = new AbortController();
  const control = Deno.serve({
    hostname,
    port: Number(port),
    signal: stop.signal,
    onListen: () => {},
  }, async (req) => {
    const u = new URL(req.url);
    if (req.method === "POST" && u.pathname === "/add") {
      for (const id of ids(u)) targets.add(id);
      return Response.json(targets.stats());
    }
    if (req.method === "POST" && u.pathname === "/remove") {
      await Promise.all(ids(u).map((id) => targets.remove(id)));
      return Response.json(targets.stats());
    }
    if (u.pathname === "/stats") return Response.json(targets.stats());
    return new Response("not found\n", { status: 404 });
  });
  const deadline = setTimeout(() => stop.abort(), Number(flag("max-seconds", "7200")) * 1000);
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  await control.finished;
  clearTimeout(deadline);
  await targets.close();
  logFile.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * The soak: ferry for a long run against churning targets and a receiver that fails now and then,
 * killed with SIGKILL and restarted a few times; afterwards it proves that nothing ferry said it
 * scraped was lost and measures whether its RSS stayed flat. See bench/README.md, _Soak_.
 *
 * ```sh
 * deno run -A bench/soak.ts --minutes 35 --targets 100 --churn-every 30s
 * deno run -A bench/soak.ts --minutes 1                     # smoke run, under 2 minutes
 * ```
 *
 * @module
 */

import { type DecodedSeries, decodeWriteRequest, snappyDecode } from "../src/remote/codec.ts";
import { parseDuration } from "../src/model/duration.ts";
import { mulberry32 } from "../src/testing/prng.ts";
import { print, printErr } from "../src/cli/flags.ts";
import { ferry, scrapeSelf } from "./agents.ts";
import { targetAddress } from "./nginx.ts";
import { type Metrics } from "./promtext.ts";
import {
  dirBytes,
  machineCpu,
  type Proc,
  sampleTree,
  sleepUnless,
  start,
  stop,
  tail,
  within,
} from "./proc.ts";

// ---------------------------------------------------------------------------------------------
// Options

/** The receiver's failure modes. */
export type FailKind = "outage" | "5xx" | "429" | "acklost" | "blackhole";
/** The kinds a run uses by default; `blackhole` loses data on purpose, to prove the check works. */
const FAIL_KINDS: FailKind[] = ["outage", "5xx", "429", "acklost"];
const ALL_FAIL_KINDS: FailKind[] = [...FAIL_KINDS, "blackhole"];

/** Options of a soak run. */
export interface SoakOptions {
  minutes: number;
  targets: number;
  series: number;
  intervalMs: number;
  timeoutMs: number;
  churnEveryMs: number;
  churnCount: number;
  seriesChurnMs: number;
  churnSeries: number;
  fail: FailKind[];
  kills: number;
  seed: number;
  catchupTimeoutMs: number;
  warmupMs: number;
  sampleEveryMs: number;
  /** Extra flags for ferry, after the harness's own. */
  ferryArgs: string[];
  out: string;
  keep: boolean;
}

const HELP = `usage: deno run -A bench/soak.ts [flags]

Runs ferry against churning targets and an intermittently failing receiver, SIGKILLs and restarts
it a few times, then stops the failures, lets it catch up and checks that every scrape it reported
as successful arrived, and whether its RSS stayed flat. Results go to --out (soak-<time>.*).

  --minutes N                 length of the run before the catch-up (default 35)
  --targets N                 targets scraped at any time (default 100)
  --series N                  farm series per target (default 300; plus --churn-series and 1)
  --interval DURATION         scrape interval (default 10s); --timeout (default = interval)
  --churn-every DURATION      replace --churn-count targets by new ones this often (default 30s; 0: off)
  --churn-count N             targets replaced each time (default 5)
  --series-churn-every DUR    each target's churn series change their build label this often (3m)
  --churn-series N            such series per target (default 10)
  --fail LIST                 receiver failures: outage,5xx,429,acklost (the default) or none;
                              blackhole (answers 204 and keeps nothing) proves that losses show
  --kills N                   SIGKILL + restart ferry N times (default minutes/8, at least 1)
  --seed N                    seeds the schedule of failures, kills and churn (default 1)
  --catchup-timeout DURATION  how long to wait for ferry to catch up at the end (default 5m)
  --warmup DURATION           left out of the RSS figures after each start (default min(3m, 15%))
  --sample-every DURATION     CSV sample interval (default 10s)
  --ferry-arg FLAG            an extra flag for ferry (repeatable), e.g.
                              --ferry-arg=--storage.agent.wal-segment-size=8MB
  --out DIR                   where results go (default bench/out)
  --keep                      keep the temporary directory (config, WAL)
`;

function parseOptions(args: string[]): SoakOptions | null {
  const values = new Map<string, string>();
  let keep = false;
  const ferryArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return null;
    if (a === "--keep") {
      keep = true;
      continue;
    }
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (eq < 0 && i + 1 >= args.length) throw new Error(`${a} needs a value`);
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (name === "ferry-arg") ferryArgs.push(value);
    else values.set(name, value);
  }
  const known = [
    "minutes",
    "targets",
    "series",
    "interval",
    "timeout",
    "churn-every",
    "churn-count",
    "series-churn-every",
    "churn-series",
    "fail",
    "kills",
    "seed",
    "catchup-timeout",
    "warmup",
    "sample-every",
    "out",
  ];
  for (const k of values.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}`);
  const num = (name: string, def: number, min = 0) => {
    const v = Number(values.get(name) ?? def);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${name}: a number ≥ ${min}`);
    return v;
  };
  const dur = (name: string, def: string) => parseDuration(values.get(name) ?? def);
  const minutes = num("minutes", 35, 0.5);
  const runMs = minutes * 60_000;
  const failList = values.get("fail") ?? FAIL_KINDS.join(",");
  const fail = failList === "none" ? [] : failList.split(",").map((k) => {
    if (!ALL_FAIL_KINDS.includes(k as FailKind)) {
      throw new Error(`--fail: ${k} is not one of ${ALL_FAIL_KINDS.join(", ")}, none`);
    }
    return k as FailKind;
  });
  const intervalMs = dur("interval", "10s");
  return {
    minutes,
    targets: Math.floor(num("targets", 100, 1)),
    series: Math.floor(num("series", 300, 14)),
    intervalMs,
    timeoutMs: values.has("timeout") ? dur("timeout", "10s") : Math.min(intervalMs, 10_000),
    churnEveryMs: dur("churn-every", "30s"),
    churnCount: Math.floor(num("churn-count", 5)),
    seriesChurnMs: dur("series-churn-every", "3m"),
    churnSeries: Math.floor(num("churn-series", 10)),
    fail,
    kills: Math.floor(num("kills", Math.max(1, Math.round(minutes / 8)))),
    seed: Math.floor(num("seed", 1)),
    catchupTimeoutMs: values.has("catchup-timeout")
      ? dur("catchup-timeout", "5m")
      : Math.min(300_000, Math.max(60_000, runMs)),
    warmupMs: values.has("warmup")
      ? dur("warmup", "3m")
      : Math.min(180_000, Math.round(runMs * 0.15)),
    sampleEveryMs: dur("sample-every", "10s"),
    ferryArgs,
    out: values.get("out") ?? new URL("./out", import.meta.url).pathname,
    keep,
  };
}

// ---------------------------------------------------------------------------------------------
// Addresses: on loopback, away from 127.0.0.1 (tests) and from compare.ts's ports

const TARGET_PORT = 19110;
const CONTROL_ADDR = "127.0.80.250:19111";
const RECEIVER_ADDR = "127.0.78.2:19202";
const FERRY_ADDR = "127.0.79.2:19096";
const JOB = "soak";

const abort = new AbortController();

/** Sleeps `ms`, or throws at once when the run is interrupted. */
function sleep(ms: number): Promise<void> {
  return sleepUnless(ms, abort.signal);
}

const events: { at: string; what: string }[] = [];

function note(msg: string) {
  const at = new Date().toISOString();
  events.push({ at, what: msg });
  printErr(`[${at.slice(11, 19)}] ${msg}`);
}

function assertFree(address: string): void {
  const [hostname, port] = address.split(":");
  try {
    Deno.listen({ hostname, port: Number(port) }).close();
  } catch (e) {
    throw new Error(`${address} is not free (${(e as Error).message}); is another soak running?`);
  }
}

// ---------------------------------------------------------------------------------------------
// The schedule: receiver failures and kills, drawn from the seed

/** A period in which the receiver fails. */
export interface FailEvent {
  /** Offset from the run's start, ms. */
  at: number;
  durMs: number;
  kind: FailKind;
  /** 5xx: the status; 429: Retry-After seconds. */
  param: number;
}

/**
 * The failure periods of a run of `runMs`: healthy gaps of 60–180 s and failures of 30–90 s
 * (outage), 20–60 s (5xx, 429), 10–30 s (acklost), shortened in proportion for runs under 20
 * minutes; none in the first 10 % of the run.
 */
export function failSchedule(runMs: number, kinds: FailKind[], rand: () => number): FailEvent[] {
  if (kinds.length === 0) return [];
  const scale = Math.min(1, runMs / 1_200_000);
  const between = (lo: number, hi: number) => Math.round((lo + (hi - lo) * rand()) * 1000 * scale);
  const out: FailEvent[] = [];
  let t = Math.round(runMs * 0.1);
  let k = Math.floor(rand() * kinds.length);
  while (true) {
    const kind = kinds[k++ % kinds.length]; // every kind in turn, from a random first
    const durMs = kind === "outage"
      ? between(30, 90)
      : kind === "acklost" || kind === "blackhole"
      ? between(10, 30)
      : between(20, 60);
    if (t + durMs > runMs) break;
    const param = kind === "5xx"
      ? [500, 502, 503][Math.floor(rand() * 3)]
      : kind === "429"
      ? 5 + Math.floor(rand() * 26)
      : 0;
    out.push({ at: t, durMs, kind, param });
    t += durMs + between(60, 180);
  }
  return out;
}

/** `n` kill times in [15 %, 65 %] of the run, at least `gapMs` apart where room allows. */
export function killSchedule(runMs: number, n: number, rand: () => number): number[] {
  const lo = runMs * 0.15, hi = runMs * 0.65;
  const gapMs = Math.min(60_000, (hi - lo) / (2 * Math.max(1, n)));
  const out: number[] = [];
  for (let tries = 0; out.length < n && tries < 10_000; tries++) {
    const t = Math.round(lo + (hi - lo) * rand());
    if (out.every((x) => Math.abs(x - t) >= gapMs)) out.push(t);
  }
  return out.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// What the receiver got

/** One scrape of one target as it arrived: which of its series came, and how often. */
interface ScrapeRec {
  /** Arrivals per series index (capped at 255). */
  counts: Uint8Array;
  up: number;
  post: number;
  scraped: number;
  seq: number;
}

/** Every non-stale sample received, by target and scrape timestamp, with duplicates counted. */
export class Store {
  readonly #index = new Map<string, number>();
  /** instance → scrape timestamp → record. */
  readonly byInstance = new Map<string, Map<number, ScrapeRec>>();
  samples = 0;
  distinct = 0;
  duplicates = 0;
  stale = 0;
  /** Samples without an `instance` label. */
  foreign = 0;

  /** Records the float samples of one decoded series; returns how many had arrived before. */
  add(s: DecodedSeries): number {
    let instance = "", name = "", key = "";
    for (const [k, v] of s.labels) {
      if (k === "instance") instance = v;
      else if (k === "__name__") name = v;
      if (k !== "instance" && k !== "job") key += k + "=" + v + ",";
    }
    if (instance === "") {
      this.foreign += s.values.length;
      return 0;
    }
    let dups = 0;
    let idx = this.#index.get(key);
    if (idx === undefined) this.#index.set(key, idx = this.#index.size);
    let scrapes = this.byInstance.get(instance);
    if (!scrapes) this.byInstance.set(instance, scrapes = new Map());
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      this.samples++;
      if (Number.isNaN(v)) {
        this.stale++; // staleness markers (the targets send no NaN)
        continue;
      }
      const ts = s.timestamps[i];
      let rec = scrapes.get(ts);
      if (!rec) {
        rec = { counts: new Uint8Array(512), up: NaN, post: NaN, scraped: NaN, seq: NaN };
        scrapes.set(ts, rec);
      }
      if (idx >= rec.counts.length) {
        const grown = new Uint8Array(Math.max(idx + 1, rec.counts.length * 2));
        grown.set(rec.counts);
        rec.counts = grown;
      }
      const c = rec.counts[idx];
      if (c === 0) this.distinct++;
      else dups++;
      if (c < 255) rec.counts[idx] = c + 1;
      if (name === "up") rec.up = v;
      else if (name === "soak_scrapes_total") rec.seq = v;
      else if (name === "scrape_samples_post_metric_relabeling") rec.post = v;
      else if (name === "scrape_samples_scraped") rec.scraped = v;
    }
    this.duplicates += dups;
    return dups;
  }

  /** The record of `instance` at `ts` ± `slackMs`. */
  find(instance: string, ts: number, slackMs = 0): ScrapeRec | undefined {
    const scrapes = this.byInstance.get(instance);
    if (!scrapes) return undefined;
    for (let d = 0; d <= slackMs; d++) {
      const r = scrapes.get(ts - d) ?? scrapes.get(ts + d);
      if (r) return r;
    }
    return undefined;
  }
}

/** Distinct series of a scrape record, and samples that arrived more than once. */
function recCounts(rec: ScrapeRec): { distinct: number; dups: number } {
  let distinct = 0, dups = 0;
  for (const c of rec.counts) {
    if (c > 0) distinct++;
    if (c > 1) dups += c - 1;
  }
  return { distinct, dups };
}

/** Whether every sample of the scrape arrived: its series, ferry's five, as ferry counted them. */
function complete(rec: ScrapeRec): boolean {
  return rec.up === 1 && Number.isFinite(rec.post) && recCounts(rec).distinct === rec.post + 5;
}

type Mode = "ok" | FailKind;

/**
 * The remote-write receiver: decodes RW 1.0 into a {@link Store} and answers 204, or fails as
 * its mode says: `outage` closes the listener (connections refused), `5xx` answers that status
 * without reading, `429` answers 429 with `Retry-After`, `acklost` stores the request and then
 * answers 503 (a receiver that took the data but whose answer was lost: the retry duplicates),
 * `blackhole` answers 204 and keeps nothing (data lost on purpose: the check must report it).
 */
class Receiver {
  readonly store = new Store();
  mode: Mode = "ok";
  param = 0;
  readonly statuses = new Map<string, number>();
  bytes = 0;
  /** The latest disturbance (a restart of ferry, a failure period's start), for duplicates. */
  lastEvent = "none";
  /** Duplicate samples by the latest disturbance before the request that brought them. */
  readonly duplicatesAfter: Record<string, number> = {};
  /** Requests that brought duplicates: when, how many, the latest disturbance (first 200). */
  readonly duplicateRequests: { at: string; samples: number; after: string }[] = [];
  #server: Deno.HttpServer | null = null;

  start(): void {
    if (this.#server) return;
    const [hostname, port] = RECEIVER_ADDR.split(":");
    this.#server = Deno.serve({
      hostname,
      port: Number(port),
      onListen: () => {},
      onError: (e) => new Response(`${e}\n`, { status: 500 }),
    }, (req) => this.#handle(req));
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s) await s.shutdown();
  }

  async setMode(mode: Mode, param = 0): Promise<void> {
    if (mode !== "ok") this.lastEvent = mode;
    this.mode = mode;
    this.param = param;
    if (mode === "outage") await this.stop();
    else this.start();
  }

  #count(status: number): number {
    const k = String(status);
    this.statuses.set(k, (this.statuses.get(k) ?? 0) + 1);
    return status;
  }

  async #handle(req: Request): Promise<Response> {
    const mode = this.mode;
    if (mode === "5xx") {
      await req.body?.cancel();
      return new Response("failing on purpose\n", { status: this.#count(this.param) });
    }
    if (mode === "429") {
      await req.body?.cancel();
      return new Response("slow down\n", {
        status: this.#count(429),
        headers: { "retry-after": String(this.param) },
      });
    }
    if (mode === "blackhole") {
      await req.body?.cancel();
      return new Response(null, { status: this.#count(204) });
    }
    let body: Uint8Array;
    try {
      body = new Uint8Array(await req.arrayBuffer());
      this.bytes += body.length;
      const decoded = decodeWriteRequest(snappyDecode(body));
      let dups = 0;
      for (const s of decoded.series) dups += this.store.add(s);
      if (dups > 0) {
        const after = this.lastEvent;
        this.duplicatesAfter[after] = (this.duplicatesAfter[after] ?? 0) + dups;
        if (this.duplicateRequests.length < 200) {
          this.duplicateRequests.push({ at: new Date().toISOString(), samples: dups, after });
        }
      }
    } catch (e) {
      return new Response(`${e}\n`, { status: this.#count(400) });
    }
    if (mode === "acklost") return new Response("lost\n", { status: this.#count(503) });
    return new Response(null, { status: this.#count(204) });
  }
}

// ---------------------------------------------------------------------------------------------
// Targets, discovery, ferry

class Targets {
  readonly proc: Proc;
  readonly servedLog: string;
  readonly active: number[] = [];
  /** id → when it was added to / removed from file_sd (ms). */
  readonly added = new Map<number, number>();
  readonly removed = new Map<number, number>();
  nextId = 0;
  readonly #sdFile: string;

  private constructor(proc: Proc, servedLog: string, sdFile: string) {
    this.proc = proc;
    this.servedLog = servedLog;
    this.#sdFile = sdFile;
  }

  static async start(dir: string, outDir: string, o: SoakOptions): Promise<Targets> {
    const servedLog = `${outDir}/served.log`;
    const proc = await start("targets", [
      "deno",
      "run",
      "--allow-net",
      `--allow-write=${outDir}`,
      "--allow-read",
      new URL("./soak_targets.ts", import.meta.url).pathname,
      `--control=${CONTROL_ADDR}`,
      `--port=${TARGET_PORT}`,
      `--series=${o.series}`,
      `--churn-series=${o.churnSeries}`,
      `--series-churn-every=${o.seriesChurnMs / 1000}`,
      `--log=${servedLog}`,
      `--max-seconds=${Math.round(o.minutes * 60 + o.catchupTimeoutMs / 1000 + 1800)}`,
    ], { log: `${outDir}/targets.log` });
    const t = new Targets(proc, servedLog, `${dir}/sd/targets.json`);
    await Deno.mkdir(`${dir}/sd`, { recursive: true });
    for (let i = 0; i < 300; i++) {
      if (proc.done()) throw new Error(`targets exited:\n${await tail(proc.log)}`);
      try {
        await t.#control("GET", "/stats");
        return t;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`targets did not answer on ${CONTROL_ADDR}`);
  }

  get sdFile(): string {
    return this.#sdFile;
  }

  async #control(method: string, path: string): Promise<{ running: number; served: number }> {
    const res = await fetch(`http://${CONTROL_ADDR}${path}`, {
      method,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return await res.json();
  }

  stats(): Promise<{ running: number; served: number }> {
    return this.#control("GET", "/stats");
  }

  /** Starts `n` new targets (listening before they appear in file_sd). */
  async grow(n: number): Promise<number[]> {
    const ids = Array.from({ length: n }, () => this.nextId++);
    for (const id of ids) assertFree(targetAddress(id, TARGET_PORT));
    await this.#control("POST", `/add?ids=${ids.join(",")}`);
    return ids;
  }

  /** Writes file_sd with the active targets (atomically: temporary file, rename). */
  async writeSd(): Promise<void> {
    const groups = [{
      targets: this.active.map((id) => targetAddress(id, TARGET_PORT)),
      labels: { soak: "yes" },
    }];
    await Deno.writeTextFile(this.#sdFile + ".tmp", JSON.stringify(groups, null, 1));
    await Deno.rename(this.#sdFile + ".tmp", this.#sdFile);
  }

  /** Replaces `out` by `n` new targets in file_sd; the old ones stop serving later. */
  async replace(out: number[], n: number): Promise<number[]> {
    const fresh = await this.grow(n);
    const now = Date.now();
    for (const id of out) {
      this.active.splice(this.active.indexOf(id), 1);
      this.removed.set(id, now);
    }
    for (const id of fresh) {
      this.active.push(id);
      this.added.set(id, now);
    }
    await this.writeSd();
    return fresh;
  }

  /** Stops serving `ids` (removed from file_sd a while ago). */
  async retire(ids: number[]): Promise<void> {
    if (ids.length) await this.#control("POST", `/remove?ids=${ids.join(",")}`);
  }
}

function promConfig(o: SoakOptions, sdFile: string): string {
  return `# Generated by bench/soak.ts.
global:
  scrape_interval: ${o.intervalMs / 1000}s
  scrape_timeout: ${o.timeoutMs / 1000}s
scrape_configs:
  - job_name: ${JOB}
    file_sd_configs:
      - files: [${sdFile}]
remote_write:
  - url: http://${RECEIVER_ADDR}/api/v1/write
    queue_config:
      retry_on_http_429: true
`;
}

/** One run of the ferry process, from its start to its end. */
interface Incarnation {
  n: number;
  proc: Proc;
  startedAt: number;
  readyAt: number;
  /** When it was SIGKILLed, or stopped (SIGTERM) at the end. */
  endedAt?: number;
  how?: "sigkill" | "sigterm" | "exited";
  exitCode?: number | null;
  /** The last /metrics read from it. */
  last?: Metrics;
  lastAt?: number;
}

/**
 * Copies what `deno run main.ts` loads (main.ts, mod.ts, deno.json, deno.lock, src/) from the
 * checkout `repo` to `dest`, so that every restart during the soak runs the same code while the
 * checkout is being edited; returns the SHA-256 of the copied files (paths and contents).
 */
export async function snapshotSource(repo: string, dest: string): Promise<string> {
  await Deno.mkdir(dest, { recursive: true });
  const files: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${repo}/${rel}`)) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) files.push(p);
    }
  };
  await walk("src");
  files.push("main.ts", "mod.ts", "deno.json", "deno.lock");
  files.sort();
  const parts: Uint8Array[] = [];
  for (const rel of files) {
    const data = await Deno.readFile(`${repo}/${rel}`);
    await Deno.mkdir(`${dest}/${rel}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeFile(`${dest}/${rel}`, data);
    parts.push(new TextEncoder().encode(rel + "\0"), data);
  }
  const all = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

class Ferry {
  readonly runs: Incarnation[] = [];
  current: Incarnation | null = null;

  constructor(
    readonly config: string,
    readonly dataDir: string,
    readonly log: string,
    /** The copy of the source ferry runs from (see {@linkcode snapshotSource}). */
    readonly source: string,
    readonly extraArgs: string[],
  ) {}

  async start(): Promise<Incarnation> {
    const startedAt = Date.now();
    const proc = await start(
      "ferry",
      [
        ...ferry.command({
          config: this.config,
          dataDir: this.dataDir,
          listen: FERRY_ADDR,
          sinkUrl: `http://${RECEIVER_ADDR}/api/v1/write`,
          repo: this.source,
        }),
        ...this.extraArgs,
      ],
      { log: this.log, env: ferry.env?.() },
    );
    const inc: Incarnation = { n: this.runs.length + 1, proc, startedAt, readyAt: NaN };
    this.runs.push(inc);
    this.current = inc;
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      if (proc.done()) throw new Error(`ferry exited at start:\n${await tail(proc.log)}`);
      try {
        inc.last = await scrapeSelf(FERRY_ADDR, 2000);
        inc.lastAt = Date.now();
        inc.readyAt = Date.now();
        return inc;
      } catch {
        await sleep(200);
      }
    }
    throw new Error(`ferry: no /metrics at ${FERRY_ADDR} after 120 s`);
  }

  async kill(): Promise<void> {
    const inc = this.current;
    if (!inc) return;
    this.current = null;
    inc.endedAt = Date.now();
    inc.how = "sigkill";
    try {
      Deno.kill(inc.proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
    inc.exitCode = await within(inc.proc.exited, 10_000);
  }

  async terminate(): Promise<void> {
    const inc = this.current;
    if (!inc) return;
    this.current = null;
    inc.endedAt = Date.now();
    inc.how = "sigterm";
    inc.exitCode = await stop(inc.proc, 30_000);
  }
}

// ---------------------------------------------------------------------------------------------
// Sampling

/** One CSV row. */
interface Sample {
  at: number;
  phase: string;
  incarnation: number;
  rssBytes: number;
  cpuSeconds: number;
  cpuPercent: number;
  walBytes: number;
  dataDirBytes: number;
  pending: number;
  /** Now − the newest timestamp ferry has delivered, seconds. */
  sentLagS: number;
  appended: number;
  sent: number;
  retried: number;
  failed: number;
  dropped: number;
  activeSeries: number;
  targetsUp: number;
  targetsTotal: number;
  receiverMode: string;
  received: number;
  duplicates: number;
  harnessRssBytes: number;
  load1: number;
  /** ferry's JavaScript heap in use and allocated, and its external (ArrayBuffer) memory. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** ms since this incarnation was ready (NaN while ferry is down). */
  sinceStart: number;
}

const CSV_HEADER = [
  "time",
  "elapsed_s",
  "phase",
  "incarnation",
  "rss_mib",
  "cpu_s",
  "cpu_pct",
  "wal_bytes",
  "data_dir_bytes",
  "pending_samples",
  "sent_lag_s",
  "appended_total",
  "sent_samples_total",
  "retried_samples_total",
  "failed_samples_total",
  "dropped_samples_total",
  "active_series",
  "targets_up",
  "targets",
  "receiver_mode",
  "received_samples",
  "duplicate_samples",
  "harness_rss_mib",
  "load1",
  "heap_used_mib",
  "heap_total_mib",
  "external_mib",
].join(",");

const RS = "prometheus_remote_storage_";

function sampleRow(s: Sample, t0: number): string {
  const f = (x: number, d = 0) => Number.isFinite(x) ? x.toFixed(d) : "";
  return [
    new Date(s.at).toISOString(),
    f((s.at - t0) / 1000, 1),
    s.phase,
    s.incarnation,
    f(s.rssBytes / 1048576, 1),
    f(s.cpuSeconds, 2),
    f(s.cpuPercent, 1),
    f(s.walBytes),
    f(s.dataDirBytes),
    f(s.pending),
    f(s.sentLagS, 1),
    f(s.appended),
    f(s.sent),
    f(s.retried),
    f(s.failed),
    f(s.dropped),
    f(s.activeSeries),
    f(s.targetsUp),
    f(s.targetsTotal),
    s.receiverMode,
    f(s.received),
    f(s.duplicates),
    f(s.harnessRssBytes / 1048576, 1),
    f(s.load1, 2),
    f(s.heapUsedBytes / 1048576, 1),
    f(s.heapTotalBytes / 1048576, 1),
    f(s.externalBytes / 1048576, 1),
  ].join(",");
}

// ---------------------------------------------------------------------------------------------
// Verification and RSS analysis

/** A scrape the targets served, from served.log. */
interface Served {
  id: number;
  seq: number;
  at: number;
  lines: number;
}

async function readServed(path: string): Promise<Served[]> {
  const out: Served[] = [];
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    const [id, seq, at, lines] = line.split(" ").map(Number);
    if (Number.isFinite(lines)) out.push({ id, seq, at, lines });
  }
  return out;
}

/** Why a served scrape is not at the receiver. */
type MissingReason = "sigkill" | "removed" | "shutdown" | "scrape_failed" | "unexplained";

/** The verdict on "nothing is lost". */
export interface Verification {
  served: number;
  arrivedComplete: number;
  /** Arrived, but not every sample of it: a loss. */
  partial: number;
  missing: Record<MissingReason, number>;
  /** Scrapes ferry reported as up (at /api/v1/targets) that are not complete at the receiver. */
  claims: number;
  claimsLost: number;
  /** Scrapes ferry recorded as failed (up 0 arrived). */
  scrapesFailed: number;
  /** Scrapes of which samples arrived more than once, and those samples. */
  duplicateScrapes: number;
  duplicateSamples: number;
  /** Served scrapes whose line count differs from ferry's `scrape_samples_scraped`. */
  countMismatch: number;
  /** Up to 20 examples of each kind of loss, for the write-up. */
  examples: string[];
  lost: number;
}

function verify(
  served: Served[],
  store: Store,
  ctx: {
    claims: Map<string, Set<number>>;
    kills: number[];
    removed: Map<number, number>;
    stopAt: number;
    timeoutMs: number;
  },
): Verification {
  const v: Verification = {
    served: served.length,
    arrivedComplete: 0,
    partial: 0,
    missing: { sigkill: 0, removed: 0, shutdown: 0, scrape_failed: 0, unexplained: 0 },
    claims: 0,
    claimsLost: 0,
    scrapesFailed: 0,
    duplicateScrapes: 0,
    duplicateSamples: 0,
    countMismatch: 0,
    examples: [],
    lost: 0,
  };
  const example = (s: string) => {
    if (v.examples.length < 60) v.examples.push(s);
  };
  // instance → seq → record, and the timestamps of failed scrapes.
  const bySeq = new Map<string, Map<number, ScrapeRec>>();
  const failedAt = new Map<string, number[]>();
  for (const [instance, scrapes] of store.byInstance) {
    const m = new Map<number, ScrapeRec>();
    const f: number[] = [];
    for (const [ts, rec] of scrapes) {
      if (Number.isFinite(rec.seq)) m.set(rec.seq, rec);
      if (rec.up === 0) f.push(ts);
      const c = recCounts(rec);
      if (c.dups > 0) {
        v.duplicateScrapes++;
        v.duplicateSamples += c.dups;
      }
    }
    bySeq.set(instance, m);
    failedAt.set(instance, f);
    v.scrapesFailed += f.length;
  }
  const slack = ctx.timeoutMs + 2000;
  for (const s of served) {
    const instance = targetAddress(s.id, TARGET_PORT);
    const rec = bySeq.get(instance)?.get(s.seq);
    if (rec) {
      if (complete(rec)) v.arrivedComplete++;
      else {
        v.partial++;
        example(
          `partial: ${instance} seq ${s.seq} (served ${new Date(s.at).toISOString()}): ` +
            `${recCounts(rec).distinct} of ${rec.post + 5} samples, up ${rec.up}`,
        );
      }
      if (rec.scraped !== s.lines) v.countMismatch++;
      continue;
    }
    let reason: MissingReason = "unexplained";
    const removedAt = ctx.removed.get(s.id);
    if (ctx.kills.some((k) => s.at >= k - slack && s.at <= k + 1000)) reason = "sigkill";
    else if (removedAt !== undefined && s.at >= removedAt - slack) reason = "removed";
    else if (s.at >= ctx.stopAt - slack) reason = "shutdown";
    else if ((failedAt.get(instance) ?? []).some((t) => t >= s.at - slack && t <= s.at + 1000)) {
      reason = "scrape_failed";
    }
    v.missing[reason]++;
    if (reason === "unexplained") {
      example(`missing: ${instance} seq ${s.seq} served ${new Date(s.at).toISOString()}`);
    }
  }
  for (const [instance, set] of ctx.claims) {
    for (const ms of set) {
      v.claims++;
      const rec = store.find(instance, ms, 2);
      if (!rec || !complete(rec)) {
        v.claimsLost++;
        example(
          `claimed up at /api/v1/targets but ${rec ? "incomplete" : "absent"}: ${instance} ` +
            `lastScrape ${new Date(ms).toISOString()}`,
        );
      }
    }
  }
  v.lost = v.partial + v.missing.unexplained + v.claimsLost;
  return v;
}

/** RSS over the run: first third after warm-up against the last third, slope, max. */
export interface RssAnalysis {
  firstThirdMeanMiB: number;
  firstThirdMaxMiB: number;
  lastThirdMeanMiB: number;
  lastThirdMaxMiB: number;
  maxMiB: number;
  /** Least-squares slope over every sample after warm-up (restarts included), MiB per hour. */
  slopeMiBPerHour: number;
  /** Slope within the longest incarnation (after its warm-up), MiB per hour, and its length. */
  longestRunSlopeMiBPerHour: number;
  longestRunMinutes: number;
  samples: number;
  /** Last third's mean against the first third's, percent. */
  changePercent: number;
}

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 3) return NaN;
  let sx = 0, sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n, my = sy / n;
  let num = 0, den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** Analyses `samples` taken between `from` and `to` (the run, without the catch-up). */
export function analyzeRss(
  samples: Pick<Sample, "at" | "rssBytes" | "incarnation" | "sinceStart">[],
  from: number,
  to: number,
  warmupMs: number,
): RssAnalysis {
  const mib = (b: number) => b / 1048576;
  const ok = samples.filter((s) =>
    s.at >= from && s.at <= to && s.sinceStart >= warmupMs && s.rssBytes > 0
  );
  const begin = from + warmupMs;
  const third = (to - begin) / 3;
  const first = ok.filter((s) => s.at < begin + third);
  const last = ok.filter((s) => s.at >= to - third);
  const mean = (xs: typeof ok) =>
    xs.length ? mib(xs.reduce((a, s) => a + s.rssBytes, 0) / xs.length) : NaN;
  const max = (xs: typeof ok) => xs.length ? mib(Math.max(...xs.map((s) => s.rssBytes))) : NaN;
  const perHour = (pts: typeof ok) =>
    slope(pts.map((s) => [s.at / 3_600_000, mib(s.rssBytes)] as [number, number]));
  const byInc = new Map<number, typeof ok>();
  for (const s of ok) byInc.set(s.incarnation, [...(byInc.get(s.incarnation) ?? []), s]);
  let longest: typeof ok = [];
  for (const list of byInc.values()) {
    const span = (l: typeof ok) => l.length ? l[l.length - 1].at - l[0].at : 0;
    if (span(list) > span(longest)) longest = list;
  }
  const fm = mean(first), lm = mean(last);
  return {
    firstThirdMeanMiB: fm,
    firstThirdMaxMiB: max(first),
    lastThirdMeanMiB: lm,
    lastThirdMaxMiB: max(last),
    maxMiB: mib(
      Math.max(
        0,
        ...samples.filter((s) => s.at <= to && Number.isFinite(s.rssBytes)).map((s) => s.rssBytes),
      ),
    ),
    slopeMiBPerHour: perHour(ok),
    longestRunSlopeMiBPerHour: perHour(longest),
    longestRunMinutes: longest.length
      ? (longest[longest.length - 1].at - longest[0].at) / 60_000
      : 0,
    samples: ok.length,
    changePercent: (100 * (lm - fm)) / fm,
  };
}

// ---------------------------------------------------------------------------------------------
// The run

/** Sum of `name` over the last /metrics of every incarnation (counters restart at 0). */
function acrossRuns(runs: Incarnation[], name: string, match: Record<string, string> = {}): number {
  return runs.reduce((a, r) => a + (r.last?.sum(name, match) ?? 0), 0);
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").slice(0, 15);
}

async function output(cmd: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
    return new TextDecoder().decode(o.stdout).trim();
  } catch {
    return "?";
  }
}

function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Runs the soak; returns the exit code (1 if something was lost or the run failed). */
async function soak(o: SoakOptions): Promise<number> {
  for (const a of [RECEIVER_ADDR, FERRY_ADDR, CONTROL_ADDR]) assertFree(a);
  const started = new Date();
  const base = `${o.out}/soak-${stamp(started)}`;
  const outDir = base;
  await Deno.mkdir(outDir, { recursive: true });
  const dir = await Deno.makeTempDir({ prefix: "ferry-soak-" });
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const dirty = await output(["git", "-C", repo, "status", "--porcelain", "--", "src", "main.ts"]);
  const sourceSha256 = await snapshotSource(repo, `${dir}/ferry`);
  const env = {
    date: started.toISOString(),
    command: `deno run -A bench/soak.ts ${Deno.args.join(" ")}`.trim(),
    cpus: navigator.hardwareConcurrency,
    loadAtStart: Deno.readTextFileSync("/proc/loadavg").trim(),
    commit: await output(["git", "-C", repo, "rev-parse", "--short", "HEAD"]),
    uncommittedFiles: dirty === "" ? 0 : dirty.split("\n").length,
    uncommitted: dirty === "" ? [] : dirty.split("\n"),
    /** ferry ran from a copy of the checkout taken at the start; this hashes that copy. */
    sourceSha256,
    deno: Deno.version.deno,
  };
  note(`soak ${o.minutes} min, ${o.targets} targets; temporary directory ${dir}; results ${base}*`);
  const rand = mulberry32(o.seed);
  const runMs = o.minutes * 60_000;
  const fails = failSchedule(runMs, o.fail, rand);
  const kills = killSchedule(runMs, o.kills, rand);
  note(
    `schedule: ${
      fails.map((f) => `${f.kind}@${Math.round(f.at / 1000)}s+${Math.round(f.durMs / 1000)}s`).join(
        " ",
      )
    }; ` +
      `kills at ${kills.map((k) => `${Math.round(k / 1000)}s`).join(" ")}`,
  );

  const receiver = new Receiver();
  receiver.start();
  const csv = await Deno.open(`${base}.csv`, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  await csv.write(enc.encode(CSV_HEADER + "\n"));
  let targets: Targets | null = null;
  const f = new Ferry(
    `${dir}/prometheus.yml`,
    `${dir}/data`,
    `${outDir}/ferry.log`,
    `${dir}/ferry`,
    o.ferryArgs,
  );
  const samples: Sample[] = [];
  const claims = new Map<string, Set<number>>();
  const killTimes: number[] = [];
  let phase = "run";
  let t0 = Date.now();
  let runEnd = Infinity;
  let stopAt = Infinity;
  let catchup = { doneAfterS: NaN, done: false };
  const unexpected: string[] = [];
  let failed: string | null = null;
  const loops: Promise<void>[] = [];
  const stopLoops = new AbortController();
  const until = (t: number) => Math.min(t, runEnd) - Date.now();

  /** Runs `body` every `everyMs` until the loops stop; errors are noted, not fatal. */
  const every = (name: string, everyMs: number, body: () => Promise<void>) => {
    loops.push((async () => {
      let next = Date.now() + everyMs;
      while (!stopLoops.signal.aborted) {
        await sleep(Math.min(500, next - Date.now())).catch(() => {});
        if (abort.signal.aborted) return;
        if (Date.now() < next) continue;
        next += everyMs;
        try {
          await body();
        } catch (e) {
          if (!abort.signal.aborted) note(`${name}: ${(e as Error).message}`);
        }
      }
    })());
  };

  let lastCpu = { at: 0, cpu: 0, n: 0 };
  const takeSample = async () => {
    const inc = f.current;
    const at = Date.now();
    let m: Metrics | undefined;
    let up = NaN, total = NaN;
    if (inc) {
      try {
        m = await scrapeSelf(FERRY_ADDR, 5000);
        inc.last = m;
        inc.lastAt = at;
      } catch {
        // restarting or busy: the row says so with empty fields
      }
      try {
        const res = await fetch(`http://${FERRY_ADDR}/api/v1/targets?state=active`, {
          signal: AbortSignal.timeout(5000),
        });
        const body = await res.json() as { data: { activeTargets: { health: string }[] } };
        total = body.data.activeTargets.length;
        up = body.data.activeTargets.filter((t) => t.health === "up").length;
      } catch {
        // as above
      }
    }
    const tree = inc ? sampleTree(inc.proc.pid) : { cpuSeconds: NaN, rssBytes: NaN };
    const cpuPercent = inc && lastCpu.n === inc.n
      ? (100 * (tree.cpuSeconds - lastCpu.cpu)) / ((at - lastCpu.at) / 1000)
      : NaN;
    if (inc) lastCpu = { at, cpu: tree.cpuSeconds, n: inc.n };
    const g = (name: string) => m ? m.sum(name) : NaN;
    const s: Sample = {
      at,
      phase,
      incarnation: inc?.n ?? 0,
      rssBytes: tree.rssBytes,
      cpuSeconds: tree.cpuSeconds,
      cpuPercent,
      walBytes: dirBytes(`${f.dataDir}/wal`),
      dataDirBytes: dirBytes(f.dataDir),
      pending: g(RS + "samples_pending"),
      sentLagS: m && g(RS + "queue_highest_sent_timestamp_seconds") > 0
        ? at / 1000 - g(RS + "queue_highest_sent_timestamp_seconds")
        : NaN,
      appended: g("prometheus_agent_samples_appended_total"),
      sent: g(RS + "samples_total") - g(RS + "samples_retried_total") -
        g(RS + "samples_failed_total"),
      retried: g(RS + "samples_retried_total"),
      failed: g(RS + "samples_failed_total"),
      dropped: g(RS + "samples_dropped_total"),
      activeSeries: g("prometheus_agent_active_series"),
      targetsUp: up,
      targetsTotal: total,
      receiverMode: receiver.mode,
      received: receiver.store.distinct,
      duplicates: receiver.store.duplicates,
      harnessRssBytes: Deno.memoryUsage().rss,
      load1: machineCpu().load1,
      heapUsedBytes: g("deno_memory_heap_used_bytes"),
      heapTotalBytes: g("deno_memory_heap_total_bytes"),
      externalBytes: g("deno_memory_external_bytes"),
      sinceStart: inc ? at - inc.readyAt : NaN,
    };
    samples.push(s);
    await csv.write(enc.encode(sampleRow(s, t0) + "\n"));
  };

  const pollClaims = async () => {
    const inc = f.current;
    if (!inc) return;
    const res = await fetch(`http://${FERRY_ADDR}/api/v1/targets?state=active`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = await res.json() as {
      data: {
        activeTargets: { labels: Record<string, string>; health: string; lastScrape: string }[];
      };
    };
    if (f.current !== inc) return; // killed meanwhile: still valid, but keep it simple
    for (const t of body.data.activeTargets) {
      if (t.health !== "up") continue;
      const ms = Date.parse(t.lastScrape);
      if (!Number.isFinite(ms) || ms <= 0) continue;
      const instance = t.labels.instance;
      let set = claims.get(instance);
      if (!set) claims.set(instance, set = new Set());
      set.add(ms);
    }
  };

  /** Claims up to `before` not yet complete at the receiver. */
  const unmatched = (before: number) => {
    let n = 0;
    for (const [instance, set] of claims) {
      for (const ms of set) {
        if (ms > before) continue;
        const rec = receiver.store.find(instance, ms, 2);
        if (!rec || !complete(rec)) n++;
      }
    }
    return n;
  };

  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    targets = await Targets.start(dir, outDir, o);
    const first = await targets.grow(o.targets);
    targets.active.push(...first);
    for (const id of first) targets.added.set(id, Date.now());
    await targets.writeSd();
    await Deno.writeTextFile(f.config, promConfig(o, targets.sdFile));
    await Deno.copyFile(f.config, `${outDir}/prometheus.yml`);
    await f.start();
    t0 = Date.now();
    runEnd = t0 + runMs;
    note(`ferry ready (pid ${f.current!.proc.pid}); run until ${new Date(runEnd).toISOString()}`);

    every("sample", o.sampleEveryMs, takeSample);
    every("claims", Math.min(3000, o.intervalMs / 2), pollClaims);
    // A ferry that exits on its own is a finding: noted and restarted.
    every("watch", 1000, async () => {
      const inc = f.current;
      if (!inc || !inc.proc.done()) return;
      inc.how = "exited";
      inc.endedAt = Date.now();
      inc.exitCode = await inc.proc.exited;
      unexpected.push(`ferry #${inc.n} exited with ${inc.exitCode} at ${new Date().toISOString()}`);
      note(`ferry #${inc.n} EXITED by itself (code ${inc.exitCode}); restarting`);
      f.current = null;
      killTimes.push(inc.endedAt);
      await f.start();
      receiver.lastEvent = "exit";
    });
    const retiring: [number, number[]][] = [];
    if (o.churnEveryMs > 0 && o.churnCount > 0) {
      every("churn", o.churnEveryMs, async () => {
        if (phase !== "run") return;
        const pool = [...targets!.active];
        const out: number[] = [];
        for (let i = 0; i < Math.min(o.churnCount, pool.length); i++) {
          out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]);
        }
        const fresh = await targets!.replace(out, out.length);
        retiring.push([Date.now() + 30_000, out]);
        note(`churn: -${out.join(",")} +${fresh.join(",")}`);
        while (retiring.length && retiring[0][0] <= Date.now()) {
          await targets!.retire(retiring.shift()![1]);
        }
      });
    }
    // Receiver failures and kills on their schedule, in one timeline.
    const timeline: [number, () => Promise<void>][] = [];
    for (const ev of fails) {
      timeline.push([ev.at, async () => {
        await receiver.setMode(ev.kind, ev.param);
        note(
          `receiver: ${ev.kind}${ev.param ? ` (${ev.param})` : ""} for ${
            Math.round(ev.durMs / 1000)
          }s`,
        );
      }]);
      timeline.push([ev.at + ev.durMs, async () => {
        await receiver.setMode("ok");
        note("receiver: ok");
      }]);
    }
    // A kill and its restart run beside the timeline, so the receiver's schedule keeps its times.
    const restarts: Promise<void>[] = [];
    for (const k of kills) {
      // deno-lint-ignore require-await
      timeline.push([k, async () => {
        if (!f.current) return; // still restarting from the previous kill
        const downMs = 1000 + Math.floor(rand() * 7000);
        restarts.push((async () => {
          const n = f.current?.n;
          await f.kill();
          killTimes.push(Date.now());
          receiver.lastEvent = "sigkill";
          note(`SIGKILL ferry #${n}; restart in ${downMs} ms`);
          await sleep(downMs);
          const inc = await f.start();
          // Again: the new process resends what was unacknowledged, whatever failed meanwhile.
          receiver.lastEvent = "sigkill";
          note(
            `ferry #${inc.n} ready after ${((inc.readyAt - inc.startedAt) / 1000).toFixed(1)} s`,
          );
        })());
      }]);
    }
    timeline.sort((a, b) => a[0] - b[0]);
    for (const [at, action] of timeline) {
      await sleep(until(t0 + at));
      if (Date.now() >= runEnd) break;
      await action();
    }
    await sleep(until(runEnd));
    await Promise.all(restarts);

    // Catch-up: the receiver works from now on; every scrape ferry reported up must arrive.
    phase = "catchup";
    await receiver.setMode("ok");
    const catchStart = Date.now();
    note(
      `run over: receiver ok, waiting up to ${o.catchupTimeoutMs / 1000}s for ferry to catch up`,
    );
    while (Date.now() - catchStart < o.catchupTimeoutMs) {
      await sleep(2000);
      if (!f.current) continue;
      const left = unmatched(catchStart);
      const fresh = targets.active.every((id) => {
        const scrapes = receiver.store.byInstance.get(targetAddress(id, TARGET_PORT));
        return scrapes && [...scrapes.keys()].some((ts) => ts >= catchStart);
      });
      if (left === 0 && fresh) {
        catchup = { doneAfterS: (Date.now() - catchStart) / 1000, done: true };
        break;
      }
    }
    note(
      catchup.done
        ? `caught up after ${catchup.doneAfterS.toFixed(1)} s`
        : `NOT caught up after ${o.catchupTimeoutMs / 1000} s`,
    );
    await takeSample();
    stopLoops.abort();
    await Promise.all(loops);
    // Graceful stop delivers the rest (flush deadline 10 s).
    phase = "stop";
    stopAt = Date.now();
    const last = f.current;
    if (last) {
      try {
        last.last = await scrapeSelf(FERRY_ADDR, 5000);
      } catch {
        // keep the previous
      }
    }
    await f.terminate();
    note(`ferry stopped (exit ${last?.exitCode})`);
    await sleep(1000);
  } catch (e) {
    failed = (e as Error).message;
    note(`FAILED: ${failed}`);
  } finally {
    stopLoops.abort();
    await Promise.all(loops);
    if (f.current) await f.terminate();
    if (targets) await stop(targets.proc);
    await receiver.stop();
    csv.close();
    if (o.keep) note(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  // -------------------------------------------------------------------------------------------
  // Results
  const served = targets ? await readServed(targets.servedLog) : [];
  const v = verify(served, receiver.store, {
    claims,
    kills: killTimes,
    removed: targets?.removed ?? new Map(),
    stopAt,
    timeoutMs: o.timeoutMs,
  });
  const rss = analyzeRss(samples, t0, Math.min(runEnd, Date.now()), o.warmupMs);
  const runs = f.runs;
  const drops = {
    retention: acrossRuns(runs, RS + "samples_dropped_total", { reason: "retention" }),
    walDiskCap: acrossRuns(runs, RS + "samples_dropped_total", { reason: "wal_disk_cap" }),
    failed: acrossRuns(runs, RS + "samples_failed_total"),
    corruptionLost: acrossRuns(runs, "ferry_wal_corruption_lost_samples_total"),
    retried: acrossRuns(runs, RS + "samples_retried_total"),
    seriesCollected: acrossRuns(runs, "ferry_wal_series_garbage_collected_total"),
  };
  let ferryLog = "";
  try {
    ferryLog = await Deno.readTextFile(`${outDir}/ferry.log`);
  } catch {
    // none
  }
  const logLevels = {
    error: (ferryLog.match(/level=error/g) ?? []).length,
    warn: (ferryLog.match(/level=warn/g) ?? []).length,
  };
  const run = samples.filter((s) => s.at <= runEnd && s.incarnation > 0);
  const peak = (k: keyof Sample) =>
    Math.max(0, ...run.map((s) => Number(s[k])).filter(Number.isFinite));
  const cpuMean = (() => {
    const xs = run.map((s) => s.cpuPercent).filter(Number.isFinite);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  })();
  const ok = failed === null && v.lost === 0 && unexpected.length === 0;
  const rows: [string, string][] = [
    [
      "run",
      `${fmt(o.minutes, 1)} min + catch-up, ${o.targets} targets × ${
        o.series + o.churnSeries + 1
      } series every ${o.intervalMs / 1000} s`,
    ],
    [
      "targets churned",
      `${targets ? fmt(targets.removed.size) : "–"} replaced (every ${o.churnEveryMs / 1000} s), ${
        fmt(targets?.nextId ?? 0)
      } targets in all`,
    ],
    ["receiver failures", fails.map((x) => x.kind).join(", ") || "none"],
    [
      "receiver answers",
      [...receiver.statuses].sort().map(([k, n]) => `${k}: ${fmt(n)}`).join(", "),
    ],
    [
      "SIGKILLs",
      `${kills.length} (ferry ran ${runs.length} times); unexpected exits: ${unexpected.length}`,
    ],
    ["scrapes served by the targets", fmt(v.served)],
    ["… arrived complete", fmt(v.arrivedComplete)],
    ["… arrived incomplete (LOST samples)", fmt(v.partial)],
    ["… missing: in flight at a SIGKILL", fmt(v.missing.sigkill)],
    ["… missing: target being removed", fmt(v.missing.removed)],
    ["… missing: in flight at the final stop", fmt(v.missing.shutdown)],
    ["… missing: ferry recorded the scrape as failed (up 0)", fmt(v.missing.scrape_failed)],
    ["… missing, unexplained (LOST)", fmt(v.missing.unexplained)],
    ["scrapes ferry reported up at /api/v1/targets", fmt(v.claims)],
    ["… of them not complete at the receiver (LOST)", fmt(v.claimsLost)],
    ["scrapes ferry recorded as failed (up 0)", fmt(v.scrapesFailed)],
    [
      "duplicates",
      `${fmt(v.duplicateSamples)} samples in ${fmt(v.duplicateScrapes)} scrapes; by the latest ` +
      `disturbance before they came: ${
        Object.entries(receiver.duplicatesAfter).map(([k, n]) => `${k} ${fmt(n)}`).join(", ") ||
        "–"
      }`,
    ],
    [
      "samples received (distinct, non-stale) / staleness markers",
      `${fmt(receiver.store.distinct)} / ${fmt(receiver.store.stale)}`,
    ],
    [
      "WAL drops (retention / disk cap), failed, corruption lost",
      `${fmt(drops.retention)} / ${fmt(drops.walDiskCap)}, ${fmt(drops.failed)}, ${
        fmt(drops.corruptionLost)
      }`,
    ],
    ["samples retried", fmt(drops.retried)],
    ["caught up after failures stopped", catchup.done ? `${fmt(catchup.doneAfterS, 1)} s` : "NO"],
    [
      "RSS first third after warm-up: mean / max MiB",
      `${fmt(rss.firstThirdMeanMiB, 1)} / ${fmt(rss.firstThirdMaxMiB, 1)}`,
    ],
    [
      "RSS last third: mean / max MiB",
      `${fmt(rss.lastThirdMeanMiB, 1)} / ${fmt(rss.lastThirdMaxMiB, 1)} (${
        rss.changePercent >= 0 ? "+" : ""
      }${fmt(rss.changePercent, 1)} %)`,
    ],
    ["RSS slope after warm-up, all samples", `${fmt(rss.slopeMiBPerHour, 1)} MiB/h`],
    [
      "RSS slope, longest incarnation",
      `${fmt(rss.longestRunSlopeMiBPerHour, 1)} MiB/h over ${fmt(rss.longestRunMinutes, 1)} min`,
    ],
    ["RSS max (whole run)", `${fmt(rss.maxMiB, 1)} MiB`],
    ["CPU mean / max %", `${fmt(cpuMean, 1)} / ${fmt(peak("cpuPercent"), 1)}`],
    ["WAL max", `${fmt(peak("walBytes") / 1048576, 1)} MiB`],
    [
      "active series max (live: targets × series + 5); series garbage-collected",
      `${fmt(peak("activeSeries"))} (${fmt(o.targets * (o.series + o.churnSeries + 6))}); ${
        fmt(drops.seriesCollected)
      }`,
    ],
    [
      "pending samples max; delivery lag max",
      `${fmt(peak("pending"))}; ${fmt(peak("sentLagS"))} s`,
    ],
    ["ferry log lines: error / warn", `${fmt(logLevels.error)} / ${fmt(logLevels.warn)}`],
    [
      "verdict",
      ok
        ? "nothing lost"
        : failed
        ? `run failed: ${failed}`
        : "LOSS or unexpected exit: see examples",
    ],
  ];
  const md = [
    `Soak ${env.date}: ferry ${env.commit}${
      env.uncommittedFiles ? ` + ${env.uncommittedFiles} uncommitted files` : ""
    } (run from a copy, sha256 ${env.sourceSha256.slice(0, 12)}), ` +
    `${env.cpus} CPUs (load at start ${env.loadAtStart}), deno ${env.deno}, seed ${o.seed}.`,
    `Command: \`${env.command}\``,
    "",
    "| | |",
    "| --- | --- |",
    ...rows.map(([k, val]) => `| ${k} | ${val} |`),
    ...(v.examples.length || unexpected.length
      ? ["", "Examples:", ...unexpected.map((x) => `- ${x}`), ...v.examples.map((x) => `- ${x}`)]
      : []),
  ].join("\n");
  print(md);
  await Deno.writeTextFile(`${base}.md`, md + "\n");
  await Deno.writeTextFile(
    `${base}.json`,
    JSON.stringify(
      {
        env,
        options: o,
        schedule: { fails, kills },
        verification: v,
        rss,
        drops,
        catchup,
        unexpected,
        failed,
        receiver: {
          statuses: Object.fromEntries(receiver.statuses),
          bytes: receiver.bytes,
          duplicatesAfter: receiver.duplicatesAfter,
          duplicateRequests: receiver.duplicateRequests,
        },
        incarnations: runs.map((r) => ({
          n: r.n,
          pid: r.proc.pid,
          startedAt: new Date(r.startedAt).toISOString(),
          readySeconds: (r.readyAt - r.startedAt) / 1000,
          endedAt: r.endedAt ? new Date(r.endedAt).toISOString() : null,
          how: r.how,
          exitCode: r.exitCode,
        })),
        events,
      },
      null,
      2,
    ) + "\n",
  );
  note(`results: ${base}.md, ${base}.json, ${base}.csv, logs in ${outDir}/`);
  return ok ? 0 : 1;
}

async function main(args: string[]): Promise<number> {
  let o: SoakOptions | null;
  try {
    o = parseOptions(args);
  } catch (e) {
    printErr(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (!o) {
    print(HELP);
    return 0;
  }
  return await soak(o);
}

if (import.meta.main) Deno.exit(await main(Deno.args));

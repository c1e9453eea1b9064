/**
 * The harness of the remote-write sender compliance port: a mock receiver
 * that decodes RW 1.0 and RW 2.0 with ferry's decoders and answers as each
 * case scripts it, mock scrape targets, and a runner that starts ferry's real
 * binary (`deno run main.ts`) on a generated prometheus.yml.
 *
 * Written for ferry from reading github.com/prometheus/compliance
 * (remotewrite/sender, and the older remote_write_sender cases); no code of
 * it is reused. Where the upstream suite starts one sender per case and
 * checks the last request, this port starts one ferry for many cases and
 * checks everything that arrived for a case:
 *
 * - a *job case* gets its own scrape job (its series carry `job="<case>"`)
 *   and reads the series of that job at the shared endpoint;
 * - an *endpoint case* gets its own remote-write endpoint (a receiver route
 *   with its own responses, write-relabeled to one job) and reads the
 *   requests of that route, ferry's /metrics and its log.
 *
 * `FERRY_ROOT=/path/to/checkout/` runs the suite against another checkout.
 *
 * @module
 */

import { stringify } from "yaml";
import * as codec from "../../src/remote/codec.ts";
import { freePort, getText, Proc, ROOT, startAgent as spawnAgent, waitFor } from "../helpers.ts";

/** The checkout whose main.ts is run. */
const FERRY_ROOT = Deno.env.get("FERRY_ROOT") ?? ROOT;

// ---------------------------------------------------------------------------
// What the receiver saw

/** RW 1.0 and RW 2.0 content types. */
export const CT_V1 = "application/x-protobuf";
export const CT_V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

/** One float sample as received. */
export interface RxSample {
  t: number;
  v: number;
  stale: boolean;
  /** Start timestamp (RW 2.0), 0 when unset. */
  st: number;
}

/** One histogram sample as received (the decoder's shape). */
export type RxHistogram = codec.DecodedHistogram;

/** One exemplar as received. */
export interface RxExemplar {
  labels: Record<string, string>;
  pairs: [string, string][];
  value: number;
  timestamp: number;
}

/** One series of one request. */
export interface RxSeries {
  /** Labels in wire order. */
  pairs: [string, string][];
  /** Labels by name (the last one wins on duplicates). */
  labels: Record<string, string>;
  samples: RxSample[];
  histograms: RxHistogram[];
  exemplars: RxExemplar[];
  /** RW 2.0 inline metadata, or null (RW 1.0). */
  metadata: { type: string; help: string; unit: string } | null;
  /** The request it came in. */
  request: Captured;
}

/** One request the mock receiver got. */
export interface Captured {
  /** URL path (the endpoint's route). */
  path: string;
  /** 0-based index among the requests to this path. */
  n: number;
  /** Arrival time, ms (monotonic, `performance.now()`). */
  at: number;
  method: string;
  headers: Headers;
  /** The compressed body. */
  body: Uint8Array;
  /** Protocol by Content-Type: 1, 2, or 0 when neither. */
  version: 0 | 1 | 2;
  /** The decoded request, or null when it could not be decoded (see `error`). */
  decoded: codec.DecodedWriteRequest | null;
  error: string;
  /** The series of the request, flattened. */
  series: RxSeries[];
  /** The status answered. */
  status: number;
}

/** How the receiver answers one request. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (cut short when the receiver closes). */
  delayMs?: number;
  /**
   * `X-Prometheus-Remote-Write-*-Written`: "auto" (default) sends the real
   * counts on a 2xx answer to an RW 2.0 request, "none" sends none, or give
   * the counts to send on any answer.
   */
  written?: "auto" | "none" | { samples?: number; histograms?: number; exemplars?: number };
}

/** Decides the answer to a request (called after it was decoded and recorded). */
export type Responder = (req: Captured) => Reply | Promise<Reply>;

/** The default answer: 204 with the real Written counts for RW 2.0. */
export const accept: Responder = () => ({ status: 204 });

/** Answers with `status` every time. */
export function always(status: number, extra: Omit<Reply, "status"> = {}): Responder {
  return () => ({ status, ...extra });
}

/**
 * A remote-write receiver on 127.0.0.1 with a route per endpoint. Unknown
 * paths are answered by `accept`. Requests are decoded by Content-Type
 * (`…;proto=io.prometheus.write.v2.Request` → RW 2.0, `application/x-protobuf`
 * → RW 1.0) and recorded with their headers; undecodable ones get a 400.
 */
export class MockReceiver {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #routes = new Map<string, Responder>();
  readonly #requests: Captured[] = [];
  readonly #counts = new Map<string, number>();
  readonly #closing = new AbortController();
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.base = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Starts a receiver. */
  static start(): MockReceiver {
    return new MockReceiver();
  }

  /** Sets the responder of `path` (e.g. "/rw/3"); returns the endpoint URL. */
  route(path: string, responder: Responder = accept): string {
    this.#routes.set(path, responder);
    return this.base + path;
  }

  /** Requests received so far (for one path, or all). */
  requests(path?: string): Captured[] {
    return path === undefined
      ? this.#requests.slice()
      : this.#requests.filter((r) => r.path === path);
  }

  /** Stops the server (pending delays end at once). */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const at = performance.now();
    const body = new Uint8Array(await req.arrayBuffer());
    const n = this.#counts.get(path) ?? 0;
    this.#counts.set(path, n + 1);
    const c: Captured = {
      path,
      n,
      at,
      method: req.method,
      headers: req.headers,
      body,
      version: protocolOf(req.headers.get("content-type")),
      decoded: null,
      error: "",
      series: [],
      status: 0,
    };
    try {
      c.decoded = decodeBody(c);
      c.series = flatten(c);
    } catch (e) {
      c.error = e instanceof Error ? e.message : String(e);
    }
    this.#requests.push(c);
    const reply: Reply = c.error !== ""
      ? { status: 400, body: `cannot decode: ${c.error}`, written: "none" }
      : await (this.#routes.get(path) ?? accept)(c);
    c.status = reply.status;
    if (reply.delayMs) await sleep(reply.delayMs, this.#closing.signal);
    const headers = new Headers(reply.headers ?? {});
    const w = reply.written ?? "auto";
    const ok = reply.status >= 200 && reply.status < 300;
    if (w === "auto" && ok && c.version === 2 && c.decoded) {
      setWritten(headers, {
        samples: c.decoded.samples,
        histograms: c.decoded.histograms,
        exemplars: c.decoded.exemplars,
      });
    } else if (typeof w === "object") {
      setWritten(headers, w);
    }
    const noBody = reply.status === 204 || reply.status === 304;
    return new Response(noBody ? null : (reply.body ?? ""), { status: reply.status, headers });
  }
}

/** The protocol a Content-Type names: 2 for RW 2.0, 1 for RW 1.0, else 0. */
export function protocolOf(contentType: string | null): 0 | 1 | 2 {
  const ct = (contentType ?? "").replace(/\s+/g, "").toLowerCase();
  if (ct === CT_V2.toLowerCase()) return 2;
  if (ct === CT_V1 || ct === `${CT_V1};proto=prometheus.writerequest`) return 1;
  return 0;
}

function decodeBody(c: Captured): codec.DecodedWriteRequest {
  if (c.version === 0) {
    throw new Error(`unknown Content-Type ${JSON.stringify(c.headers.get("content-type"))}`);
  }
  const enc = c.headers.get("content-encoding");
  if (enc !== "snappy") throw new Error(`Content-Encoding is ${JSON.stringify(enc)}`);
  const raw = codec.snappyDecode(c.body);
  return c.version === 1 ? codec.decodeWriteRequest(raw) : codec.decodeWriteRequestV2(raw);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const id = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(id);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

function setWritten(
  h: Headers,
  w: { samples?: number; histograms?: number; exemplars?: number },
): void {
  h.set("X-Prometheus-Remote-Write-Samples-Written", String(w.samples ?? 0));
  h.set("X-Prometheus-Remote-Write-Histograms-Written", String(w.histograms ?? 0));
  h.set("X-Prometheus-Remote-Write-Exemplars-Written", String(w.exemplars ?? 0));
}

function toRecord(pairs: [string, string][]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of pairs) o[k] = v;
  return o;
}

function flatten(c: Captured): RxSeries[] {
  const out: RxSeries[] = [];
  for (const s of c.decoded!.series) {
    const samples: RxSample[] = [];
    for (let i = 0; i < s.timestamps.length; i++) {
      samples.push({
        t: s.timestamps[i],
        v: s.values[i],
        stale: s.stale[i],
        st: s.startTimestamps[i],
      });
    }
    out.push({
      pairs: s.labels,
      labels: toRecord(s.labels),
      samples,
      histograms: s.histograms,
      exemplars: s.exemplarList.map((e) => ({
        labels: toRecord(e.labels),
        pairs: e.labels,
        value: e.value,
        timestamp: e.timestamp,
      })),
      metadata: s.metadata,
      request: c,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Scrape targets

/** A body with its own Content-Type (the protobuf format). */
export interface RawExposition {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** What a target serves: a fixed exposition, or one computed per scrape (n = 0, 1, …). */
export type Exposition =
  | string
  | RawExposition
  | ((n: number) => string | RawExposition);

/** Content-Type of the protobuf exposition format (`PrometheusProto`). */
export const PROTOBUF_CT =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/**
 * OpenMetrics when the text has an exemplar (`# {`), as the upstream mock
 * target decides, or already ends with `# EOF` (this port's addition, for
 * OpenMetrics-only features such as `_created`); the 0.0.4 text format
 * otherwise.
 */
export function contentTypeOf(text: string): string {
  return text.includes("# {") || text.endsWith("# EOF\n")
    ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
    : "text/plain; version=0.0.4; charset=utf-8";
}

/** Scrape targets on one 127.0.0.1 server, one path each (`/t/<i>`). */
export class MockTargets {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #paths = new Map<string, { exposition: Exposition; scrapes: number }>();
  /** host:port of the server. */
  readonly address: string;

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.address = `127.0.0.1:${this.#server.addr.port}`;
  }

  static start(): MockTargets {
    return new MockTargets();
  }

  /** Adds a target; returns its metrics path. */
  add(exposition: Exposition): string {
    const path = `/t/${this.#paths.size}`;
    this.#paths.set(path, { exposition, scrapes: 0 });
    return path;
  }

  /** How often `path` was scraped. */
  scrapes(path: string): number {
    return this.#paths.get(path)?.scrapes ?? 0;
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  #handle(req: Request): Response {
    const t = this.#paths.get(new URL(req.url).pathname);
    if (!t) return new Response("not found\n", { status: 404 });
    const text = typeof t.exposition === "function" ? t.exposition(t.scrapes) : t.exposition;
    t.scrapes++;
    if (typeof text !== "string") {
      return new Response(text.body, { headers: { "content-type": text.contentType } });
    }
    const ct = contentTypeOf(text);
    const body = ct.startsWith("application/openmetrics-text") && !text.endsWith("# EOF\n")
      ? text + "# EOF\n"
      : text;
    return new Response(body, { headers: { "content-type": ct } });
  }
}

// ---------------------------------------------------------------------------
// The agent

/** A running ferry agent. */
export interface Agent {
  proc: Proc;
  /** Base URL of its web server (for /metrics). */
  web: string;
  /** Set once the process has exited. */
  exit: Deno.CommandStatus | null;
  /** Stops it (SIGTERM; bounded), removes its directory; the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts ferry as the README documents (`deno run --allow-net --allow-read
 * --allow-write main.ts --config.file=…`) with `config` written as
 * prometheus.yml. The remote flush deadline is short so failing endpoints do
 * not hold up shutdown.
 */
export async function startAgent(config: Record<string, unknown>): Promise<Agent> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-compliance-" });
  const file = `${dir}/prometheus.yml`;
  await Deno.writeTextFile(file, stringify(config));
  const port = freePort();
  const proc = spawnAgent([
    `--config.file=${file}`,
    `--storage.agent.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--storage.remote.flush-deadline=1s",
  ], FERRY_ROOT);
  let stopped: Promise<Deno.CommandStatus> | null = null;
  const agent: Agent = {
    proc,
    web: `http://127.0.0.1:${port}`,
    exit: null,
    stop() {
      stopped ??= (async () => {
        const st = await proc.stop("SIGTERM", 10_000);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        return st;
      })();
      return stopped;
    },
  };
  proc.child.status.then((s) => agent.exit = s);
  return agent;
}

/**
 * The value of metric `name` in a Prometheus text exposition, summed over
 * the series whose labels include all of `match`; undefined when none.
 */
export function metricIn(
  text: string,
  name: string,
  match: Record<string, string> = {},
): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    const labels = line.startsWith(name + "{")
      ? line.slice(name.length, line.lastIndexOf("}") + 1)
      : "";
    if (!Object.entries(match).every(([k, v]) => labels.includes(`${k}=${JSON.stringify(v)}`))) {
      continue;
    }
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Configs

/** Short deadlines and backoffs so the port runs in seconds (the suite waits 5–20 s per case). */
export const FAST_QUEUE = {
  batch_send_deadline: "200ms",
  min_backoff: "50ms",
  max_backoff: "1s",
};

/** The remote-write settings of the suite's reference sender (targets/prometheus.go): RW 2.0. */
export function rw2Remote(
  url: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    url,
    protobuf_message: "io.prometheus.write.v2.Request",
    send_exemplars: true,
    metadata_config: { send: true },
    ...extra,
    queue_config: { ...FAST_QUEUE, ...(extra.queue_config as Record<string, unknown> ?? {}) },
  };
}

/** RW 1.0, as the older suite's reference config (only the URL), with fast queue settings. */
export function rw1Remote(
  url: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    url,
    ...extra,
    queue_config: { ...FAST_QUEUE, ...(extra.queue_config as Record<string, unknown> ?? {}) },
  };
}

/** A scrape job as the suite's reference config has it: 1 s, OpenMetrics then text. */
export function scrapeJob(
  name: string,
  address: string,
  path: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    job_name: name,
    scrape_interval: "1s",
    scrape_protocols: ["OpenMetricsText1.0.0", "PrometheusText0.0.4"],
    metrics_path: path,
    static_configs: [{ targets: [address] }],
    ...extra,
  };
}

// ---------------------------------------------------------------------------
// Cases

/** RFC 2119 level of a case, as the suite tags it. */
export type Level = "MUST" | "SHOULD" | "MAY" | "RECOMMENDED";

/** What a job case sees: the series of its job that reached the shared endpoint. */
export class JobView {
  constructor(
    /** The case's job name. */
    readonly job: string,
    /** Every request to the endpoint (all jobs). */
    readonly all: Captured[],
    /** Series of this job, one entry per (request, series), in arrival order. */
    readonly series: RxSeries[],
  ) {}

  /** Requests that carry a series of this job. */
  get requests(): Captured[] {
    return [...new Set(this.series.map((s) => s.request))];
  }

  /** Series of this job with metric name `name`. */
  named(name: string): RxSeries[] {
    return this.series.filter((s) => s.labels.__name__ === name);
  }

  /** Float samples of metric `name` (labels including `match`), in arrival order. */
  samples(name: string, match: Record<string, string> = {}): RxSample[] {
    return this.named(name)
      .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
      .flatMap((s) => s.samples);
  }

  /** Number of scrapes delivered (samples of `up`). */
  get scrapes(): number {
    return this.samples("up").length;
  }
}

/** One ported case over its own scrape job. */
export interface JobCase {
  /** `<upstream file>: <upstream case>` (plus what ferry does, where it differs). */
  name: string;
  level: Level;
  /** What its target serves. */
  exposition: Exposition;
  /** Extra scrape-config keys. */
  scrape?: Record<string, unknown>;
  /** Enough arrived to validate. @default two scrapes delivered */
  ready?: (v: JobView) => boolean;
  /** Throws on failure. */
  check: (v: JobView) => void | Promise<void>;
}

/** What an endpoint case sees. */
export class EndpointView {
  constructor(
    /** The endpoint's `name` (the `remote_name` label of its metrics). */
    readonly name: string,
    /** The job whose series the endpoint sends. */
    readonly job: string,
    /** Requests to the endpoint's route. */
    readonly requests: Captured[],
    /** ferry's /metrics, read just before it was stopped ("" before). */
    readonly metrics: string,
    /** ferry's log so far. */
    readonly log: string,
    /** When the agent started (performance.now() ms). */
    readonly startedAt: number,
    /** ferry's exit status after SIGTERM (null while it runs). */
    readonly exit: Deno.CommandStatus | null = null,
  ) {}

  /** A remote-storage metric of this endpoint (0 when absent). */
  metric(name: string): number {
    return metricIn(this.metrics, name, { remote_name: this.name }) ?? 0;
  }

  /** Float samples keyed `labels@t`, per request. */
  sampleKeys(r: Captured): string[] {
    return r.series.flatMap((s) => s.samples.map((p) => `${JSON.stringify(s.pairs)}@${p.t}`));
  }

  /** Keys that arrived in more than one request. */
  resent(): string[] {
    const seen = new Map<string, number>();
    for (const r of this.requests) {
      for (const k of new Set(this.sampleKeys(r))) seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  }

  /** Arrival times of the requests, ms since the first. */
  get times(): number[] {
    const t0 = this.requests[0]?.at ?? 0;
    return this.requests.map((r) => r.at - t0);
  }
}

/** One ported case over its own remote-write endpoint. */
export interface EndpointCase {
  /** `<upstream file>: <upstream case>` (plus what ferry does, where it differs). */
  name: string;
  level: Level;
  /** The remote_write entry for `url` (name and write relabeling are added). @default by protocol */
  remote?: (url: string) => Record<string, unknown>;
  /** How the receiver answers. @default accept */
  responder?: Responder;
  /** Send here instead of a receiver route (a closed port, a raw server). */
  url?: string;
  /** Its own target (a job named after the case); else the suite's shared target. */
  exposition?: Exposition;
  /**
   * Cases with the same group share one endpoint (and target); the first
   * case of a group configures it. Upstream runs each case against its own
   * sender; where the setups are identical this port checks them on one.
   */
  group?: string;
  /** Enough arrived to validate. @default one request */
  ready?: (v: EndpointView) => boolean;
  /** Throws on failure. */
  check: (v: EndpointView) => void | Promise<void>;
}

/** Options of `runSuite`. */
export interface SuiteOptions {
  /** "v2": the suite's RW 2.0 sender config; "v1": RW 1.0. */
  protocol: "v1" | "v2";
  jobCases?: JobCase[];
  endpointCases?: EndpointCase[];
  /** The exposition of the shared target of endpoint cases. */
  shared?: Exposition;
  /** Extra keys of the job cases' remote_write entry. */
  remote?: Record<string, unknown>;
  /** Bound on the wait for every case to be ready. @default 25 s */
  timeoutMs?: number;
}

/** The job of the shared target. */
export const SHARED_JOB = "shared";

/**
 * Runs cases against one ferry: one scrape job per job case plus one per
 * endpoint case with its own target (and one shared), one endpoint for the
 * job cases plus one per endpoint case. Waits (bounded) until every case is
 * ready or ferry exits, reads ferry's metrics, stops it, then validates each
 * case as its own step.
 */
export async function runSuite(t: Deno.TestContext, opts: SuiteOptions): Promise<void> {
  const jobCases = opts.jobCases ?? [];
  const endpointCases = opts.endpointCases ?? [];
  const rx = MockReceiver.start();
  const targets = MockTargets.start();
  const defaultRemote = opts.protocol === "v2" ? rw2Remote : rw1Remote;
  let agent: Agent | null = null;
  try {
    const scrapeConfigs: Record<string, unknown>[] = [];
    const remotes: Record<string, unknown>[] = [];
    const taken = new Set<string>();
    const unique = (name: string) => {
      let job = jobName(name);
      for (let i = 2; taken.has(job); i++) job = `${jobName(name)}_${i}`;
      taken.add(job);
      return job;
    };
    const jobs = jobCases.map((c) => ({ c, job: unique(c.name) }));
    for (const j of jobs) {
      scrapeConfigs.push(
        scrapeJob(j.job, targets.address, targets.add(j.c.exposition), j.c.scrape),
      );
    }
    if (jobs.length > 0) {
      const url = rx.route("/api/v1/write");
      remotes.push({ ...defaultRemote(url, opts.remote), name: "jobs" });
    }
    // One endpoint per group (or per ungrouped case); the group's first case configures it.
    const groups = new Map<string, { index: number; owner: EndpointCase; job: string }>();
    const eps = endpointCases.map((c, k) => {
      const key = c.group ?? `case ${k}`;
      let g = groups.get(key);
      const first = g === undefined;
      if (g === undefined) {
        const job = c.exposition === undefined ? SHARED_JOB : unique(c.name);
        groups.set(key, g = { index: groups.size, owner: c, job });
      }
      return {
        c,
        owner: g.owner,
        first,
        name: `ep${g.index}`,
        path: `/rw/${g.index}`,
        job: g.job,
      };
    });
    if (eps.some((e) => e.job === SHARED_JOB)) {
      scrapeConfigs.push(
        scrapeJob(SHARED_JOB, targets.address, targets.add(opts.shared ?? "test_metric 42\n")),
      );
    }
    for (const e of eps) {
      if (!e.first) continue;
      const o = e.owner;
      if (o.exposition !== undefined) {
        scrapeConfigs.push(scrapeJob(e.job, targets.address, targets.add(o.exposition)));
      }
      const url = o.url ?? rx.route(e.path, o.responder ?? accept);
      const base = (o.remote ?? ((u: string) => defaultRemote(u)))(url);
      remotes.push({
        ...base,
        name: e.name,
        write_relabel_configs: [
          ...(base.write_relabel_configs as unknown[] ?? []),
          { source_labels: ["job"], regex: escapeRegex(e.job), action: "keep" },
        ],
      });
    }
    const startedAt = performance.now();
    agent = await startAgent({
      global: { scrape_interval: "1s" },
      remote_write: remotes,
      scrape_configs: scrapeConfigs,
    });
    const a = agent;
    // Series by job, indexed as requests arrive (cases poll often).
    const byJob = new Map<string, RxSeries[]>(jobs.map((j) => [j.job, []]));
    let indexed = 0;
    const jobViews = () => {
      const all = rx.requests("/api/v1/write");
      for (; indexed < all.length; indexed++) {
        for (const s of all[indexed].series) byJob.get(s.labels.job)?.push(s);
      }
      return jobs.map((j) => new JobView(j.job, all, byJob.get(j.job)!.slice()));
    };
    const epViews = (metrics: string, exit: Deno.CommandStatus | null = null) =>
      eps.map((e) =>
        new EndpointView(
          e.name,
          e.job,
          rx.requests(e.path),
          metrics,
          a.proc.output(),
          startedAt,
          exit,
        )
      );
    const readiness = () => {
      const jv = jobViews(), ev = epViews("");
      return [
        ...jobs.map((j, i) => ({ name: j.c.name, ok: (j.c.ready ?? twoScrapes)(jv[i]) })),
        ...eps.map((e, i) => ({ name: e.c.name, ok: (e.c.ready ?? oneRequest)(ev[i]) })),
      ];
    };
    try {
      await waitFor(
        "every case to be ready",
        () => {
          if (a.exit !== null) return Promise.resolve(false);
          return Promise.resolve(readiness().every((r) => r.ok) ? true : undefined);
        },
        opts.timeoutMs ?? 25_000,
        200,
      );
    } catch (e) {
      const missing = readiness().filter((r) => !r.ok).map((r) => r.name);
      note(`${(e as Error).message}; not ready: ${missing.join(", ")}`);
    }
    let metrics = "";
    if (a.exit === null) metrics = await getText(`${a.web}/metrics`).catch(() => "");
    const exit = await a.stop();
    const log = a.proc.output();
    const jv = jobViews(), ev = epViews(metrics, exit);
    const steps: [string, () => void | Promise<void>, string][] = [
      ...jobs.map((j, i) =>
        [`${j.c.name} [${j.c.level}]`, () => j.c.check(jv[i]), describeJob(jv[i])] as [
          string,
          () => void | Promise<void>,
          string,
        ]
      ),
      ...eps.map((e, i) =>
        [`${e.c.name} [${e.c.level}]`, () => e.c.check(ev[i]), describeEndpoint(ev[i])] as [
          string,
          () => void | Promise<void>,
          string,
        ]
      ),
    ];
    for (const [name, fn, what] of steps) {
      await t.step(name, async () => {
        try {
          await fn();
        } catch (e) {
          throw new Error(
            `${(e as Error).message}\n${what}\n--- ferry log (tail) ---\n${log.slice(-1200)}`,
          );
        }
      });
    }
  } finally {
    await agent?.stop();
    await targets.close();
    await rx.close();
  }
}

const twoScrapes = (v: JobView) => v.scrapes >= 2;
const oneRequest = (v: EndpointView) => v.requests.length >= 1;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function note(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`note: ${text}\n`));
}

/** The job name of a case: its name, made safe for a URL and a YAML key. */
export function jobName(caseName: string): string {
  return caseName.replace(/_test\.go: /, ":").replace(/ \(.*$/, "").replace(
    /[^A-Za-z0-9_:.-]+/g,
    "_",
  );
}

function describeJob(v: JobView, max = 12): string {
  const s = v.series;
  const lines = [`job ${v.job}: ${v.requests.length} requests, ${s.length} series entries`];
  for (const x of s.slice(0, max)) lines.push("  " + describeSeries(x));
  if (s.length > max) lines.push(`  … ${s.length - max} more`);
  const bad = v.all.filter((r) => r.error !== "");
  if (bad.length > 0) lines.push(`undecodable requests: ${bad.length}, e.g. ${bad[0].error}`);
  return lines.join("\n");
}

function describeEndpoint(v: EndpointView, max = 10): string {
  const lines = [`endpoint ${v.name} (job ${v.job}): ${v.requests.length} requests`];
  const t = v.times;
  for (const [i, r] of v.requests.slice(0, max).entries()) {
    lines.push(
      `  #${r.n} +${t[i].toFixed(0)}ms v${r.version} ${r.headers.get("content-type")} ` +
        `version=${r.headers.get("x-prometheus-remote-write-version")} ` +
        `attempt=${r.headers.get("retry-attempt") ?? "-"} → ${r.status}; ` +
        `${r.series.length} series, ${r.decoded?.samples ?? 0} samples${
          r.error ? `; ${r.error}` : ""
        }`,
    );
  }
  if (v.requests.length > max) lines.push(`  … ${v.requests.length - max} more`);
  return lines.join("\n");
}

/** One line for a series. */
export function describeSeries(x: RxSeries): string {
  const samples = x.samples.slice(0, 3).map((p) =>
    `${p.t}:${p.stale ? "stale" : p.v}${p.st ? `(st ${p.st})` : ""}`
  );
  return `v${x.request.version} ${JSON.stringify(x.labels)} samples=[${samples.join(" ")}] ` +
    `hist=${x.histograms.length} ex=${x.exemplars.length} md=${JSON.stringify(x.metadata)}`;
}

// ---------------------------------------------------------------------------
// Assertions

/** Fails with `msg` unless `cond`. */
export function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** The first series of metric `name` with data; fails when there is none. */
export function requireSeries(
  v: JobView,
  name: string,
  match: Record<string, string> = {},
): RxSeries {
  const s = v.named(name).find((x) =>
    (x.samples.length > 0 || x.histograms.length > 0) &&
    Object.entries(match).every(([k, val]) => x.labels[k] === val)
  );
  check(s, `no series ${name}${JSON.stringify(match)} with data arrived`);
  return s;
}

/** The first non-stale value of `name` (labels including `match`). */
export function firstValue(v: JobView, name: string, match: Record<string, string> = {}): number {
  const p = v.samples(name, match).find((x) => !x.stale);
  check(p, `no sample of ${name}${JSON.stringify(match)} arrived`);
  return p.v;
}

/** Whether label names are strictly increasing. */
export function sortedNames(pairs: [string, string][]): boolean {
  for (let i = 1; i < pairs.length; i++) if (!(pairs[i - 1][0] < pairs[i][0])) return false;
  return true;
}

// ---------------------------------------------------------------------------
// A raw HTTP server, for answers Deno.serve cannot give

/**
 * A TCP server on 127.0.0.1 that reads each HTTP request (headers and
 * Content-Length body) and writes `answer` verbatim, then closes the
 * connection — for invalid status codes and malformed responses.
 */
export class RawServer {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #loop: Promise<void>;
  /** Requests read so far. */
  requests = 0;
  /** `http://127.0.0.1:PORT/api/v1/write`. */
  readonly url: string;

  constructor(readonly answer: string) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.url = `http://127.0.0.1:${this.#listener.addr.port}/api/v1/write`;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#serve(conn).finally(() => this.#conns.delete(conn));
      }
    } catch {
      // closed
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    let got = new Uint8Array(0);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        const next = new Uint8Array(got.length + n);
        next.set(got);
        next.set(buf.subarray(0, n), got.length);
        got = next;
        const head = new TextDecoder("latin1").decode(got);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) continue;
        const len = Number(/content-length:\s*(\d+)/i.exec(head.slice(0, end))?.[1] ?? 0);
        if (got.length - (end + 4) >= len) break;
      }
      this.requests++;
      await conn.write(new TextEncoder().encode(this.answer));
    } catch {
      // the client went away
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await this.#loop;
  }
}

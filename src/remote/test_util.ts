/**
 * Test helpers for remote write: a fake WAL, a manually driven clock, a
 * recording receiver on 127.0.0.1 and a config builder. Not part of the
 * public surface.
 *
 * @module
 */

import type {
  ResolvedMetadataConfig,
  ResolvedQueueConfig,
  ResolvedRemoteWrite,
} from "../config/types.ts";
import type { Exemplar } from "../model/exemplar.ts";
import { emptyHistogram, type Histogram } from "../model/histogram.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import type { DeliveryCursor, WalChunk, WalPosition, WalSource } from "../storage/types.ts";
import {
  type DecodedWriteRequest,
  decodeWriteRequest,
  decodeWriteRequestV2,
  snappyDecode,
} from "./codec.ts";
import type { Clock } from "./queue.ts";
import { Registry } from "../metrics/registry.ts";
import { Labels, LabelsBuilder } from "../model/labels.ts";
import { type EndpointStatus, RemoteEndpoint, type RemoteEndpointDeps } from "./endpoint.ts";

/** Throws unless `cond` holds. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/**
 * Compares through JSON (so -Infinity and NaN read as null, key order
 * matters); the message shows both sides.
 */
export function assertEquals(actual: unknown, expected: unknown, msg = ""): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg}\nexpected ${e}\nactual   ${a}`);
}

/** A resolved endpoint config with test-friendly defaults. */
export function rwConfig(
  url: string,
  over: Partial<Omit<ResolvedRemoteWrite, "queue" | "metadata">> & {
    queue?: Partial<ResolvedQueueConfig>;
    metadata?: Partial<ResolvedMetadataConfig>;
  } = {},
): ResolvedRemoteWrite {
  const { queue, metadata, ...rest } = over;
  return {
    url,
    name: "test",
    remoteTimeoutMs: 5_000,
    headers: {},
    writeRelabelConfigs: [],
    maxDiskBytes: 0,
    followRedirects: true,
    protobufMessage: "prometheus.WriteRequest",
    fallbackToRw1: false,
    sendExemplars: false,
    sendNativeHistograms: false,
    tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
    proxyUrl: "",
    ...rest,
    metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2_000, ...metadata },
    queue: {
      capacity: 10_000,
      maxShards: 1,
      minShards: 1,
      maxSamplesPerSend: 2_000,
      batchSendDeadlineMs: 5_000,
      minBackoffMs: 30,
      maxBackoffMs: 5_000,
      retryOnHttp429: false,
      sampleAgeLimitMs: 0,
      maxBytesPerSend: 4 << 20,
      ...queue,
    },
  };
}

/** A sample for `FakeWal.append`: `[ref, t, value]`, value "stale" for a marker. */
export type FakeSample = [number, number, number | "stale"];

/** A histogram for `FakeWal.append`: `[ref, t, histogram]`, "stale" for a marker. */
export type FakeHistogram = [number, number, Histogram | "stale"];

/** An exemplar for `FakeWal.append`: `[ref, exemplar]`. */
export type FakeExemplar = [number, Exemplar];

/** A cursor that records its acknowledgements. */
export class FakeCursor implements DeliveryCursor {
  position: WalPosition;
  readonly acks: WalPosition[] = [];
  released = false;
  constructor(pos: WalPosition) {
    this.position = pos;
  }
  ack(pos: WalPosition): void {
    this.position = { segment: pos.segment, offset: pos.offset };
    this.acks.push(this.position);
  }
  release(): void {
    this.released = true;
  }
}

/**
 * An in-memory WAL. Chunk `i` ends at `{segment: 0, offset: 100 * (i + 1)}`.
 * Unlike the real WAL, a new cursor starts at the beginning.
 */
export class FakeWal implements WalSource {
  readonly chunks: WalChunk[] = [];
  readonly series = new Map<number, Labels>();
  readonly meta = new Map<number, MetricMetadata>();
  readonly cursors = new Map<string, FakeCursor>();
  /** How many times `labels()` was called per ref. */
  readonly lookups = new Map<number, number>();
  #waiters: (() => void)[] = [];

  addSeries(ref: number, labels: Labels): this {
    this.series.set(ref, labels);
    return this;
  }

  /** Sets the metadata `metadata(ref)` returns. */
  setMetadata(ref: number, m: MetricMetadata): this {
    this.meta.set(ref, m);
    return this;
  }

  /** Appends a chunk; `st` gives start times of the float samples by index. */
  append(
    samples: FakeSample[],
    more: { histograms?: FakeHistogram[]; exemplars?: FakeExemplar[]; st?: number[] } = {},
  ): WalChunk {
    const n = samples.length;
    const chunk: WalChunk = {
      samples: {
        length: n,
        refs: new Uint32Array(n),
        ts: new Float64Array(n),
        values: new Float64Array(n),
        stale: new Uint8Array(n),
        st: new Float64Array(n),
      },
      histograms: (more.histograms ?? []).map(([ref, t, h]) =>
        h === "stale"
          ? { ref, t, st: 0, stale: true, h: emptyHistogram() }
          : { ref, t, st: 0, stale: false, h }
      ),
      exemplars: (more.exemplars ?? []).map(([ref, e]) => ({ ref, e })),
      end: { segment: 0, offset: 100 * (this.chunks.length + 1) },
    };
    more.st?.forEach((v, i) => (chunk.samples.st[i] = v));
    samples.forEach(([ref, t, v], i) => {
      chunk.samples.refs[i] = ref;
      chunk.samples.ts[i] = t;
      if (v === "stale") chunk.samples.stale[i] = 1;
      else chunk.samples.values[i] = v;
    });
    this.chunks.push(chunk);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
    return chunk;
  }

  cursor(name: string): FakeCursor {
    let c = this.cursors.get(name);
    if (!c) {
      c = new FakeCursor({ segment: 0, offset: 0 });
      this.cursors.set(name, c);
    }
    return c;
  }

  async *tail(from: WalPosition, signal: AbortSignal): AsyncIterable<WalChunk> {
    let i = 0;
    while (i < this.chunks.length && cmp(this.chunks[i].end, from) <= 0) i++;
    while (!signal.aborted) {
      if (i < this.chunks.length) {
        yield this.chunks[i++];
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }

  labels(ref: number): Labels | undefined {
    this.lookups.set(ref, (this.lookups.get(ref) ?? 0) + 1);
    return this.series.get(ref);
  }

  metadata(ref: number): MetricMetadata | undefined {
    return this.series.has(ref) ? this.meta.get(ref) : undefined;
  }
}

function cmp(a: WalPosition, b: WalPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

interface PendingSleep {
  due: number;
  resolve: () => void;
}

/**
 * A clock that only moves when told. `sleep` calls are recorded in
 * `requested`; `fireNext()` jumps to the earliest pending sleep.
 */
export class TestClock implements Clock {
  t = 1_700_000_000_000;
  readonly requested: number[] = [];
  #pending: PendingSleep[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.requested.push(ms);
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const entry: PendingSleep = { due: this.t + ms, resolve };
      this.#pending.push(entry);
      signal.addEventListener("abort", () => {
        this.#pending = this.#pending.filter((p) => p !== entry);
        resolve();
      }, { once: true });
    });
  }

  /** Sleeps not yet finished. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Moves time forward, waking every sleep that is due. */
  advance(ms: number): void {
    this.t += ms;
    const due = this.#pending.filter((p) => p.due <= this.t);
    this.#pending = this.#pending.filter((p) => p.due > this.t);
    for (const p of due) p.resolve();
  }

  /** Jumps to the earliest pending sleep; false when there is none. */
  fireNext(): boolean {
    if (this.#pending.length === 0) return false;
    const next = Math.min(...this.#pending.map((p) => p.due));
    this.advance(Math.max(0, next - this.t));
    return true;
  }

  /** Fires pending sleeps every few real milliseconds until the returned function is called. */
  autoAdvance(everyMs = 2): () => void {
    const id = setInterval(() => this.fireNext(), everyMs);
    return () => clearInterval(id);
  }
}

/** What the recording receiver saw of one request. */
export interface ReceivedRequest {
  headers: Headers;
  body: DecodedWriteRequest;
  /** The status answered. */
  status: number;
  /** Compressed body bytes. */
  size: number;
}

/** A Remote Write receiver on 127.0.0.1 that decodes and records requests. */
export interface TestReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Requests answered with a 2xx. */
  accepted(): DecodedWriteRequest[];
  close(): Promise<void>;
}

/**
 * A 204 answer; for a RW 2.0 request it carries the written counts of
 * everything in `body`, as a RW 2.0 receiver answers.
 */
export function accept(body: DecodedWriteRequest): Response {
  if (body.version !== 2) return new Response(null, { status: 204 });
  return new Response(null, { status: 204, headers: writtenHeaders(body) });
}

/** `X-Prometheus-Remote-Write-*-Written` headers for everything in `body`, or the given counts. */
export function writtenHeaders(
  body: DecodedWriteRequest,
  over: Partial<{ samples: number; histograms: number; exemplars: number }> = {},
): Record<string, string> {
  return {
    "X-Prometheus-Remote-Write-Samples-Written": String(over.samples ?? body.samples),
    "X-Prometheus-Remote-Write-Histograms-Written": String(over.histograms ?? body.histograms),
    "X-Prometheus-Remote-Write-Exemplars-Written": String(over.exemplars ?? body.exemplars),
  };
}

/**
 * Starts a receiver that decodes RW 1.0 or 2.0 (by Content-Type).
 * `respond(i, body, req)` picks the answer to the i-th request (default:
 * `accept`); it may be slow to simulate a stuck receiver.
 */
export async function startReceiver(
  respond: (
    i: number,
    body: DecodedWriteRequest,
    req: Request,
  ) => Response | Promise<Response> = (_i, body) => accept(body),
): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = [];
  const ctl = new AbortController();
  let resolvePort: (p: number) => void;
  const portP = new Promise<number>((r) => (resolvePort = r));
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ctl.signal,
    onListen: (addr) => resolvePort((addr as Deno.NetAddr).port),
  }, async (req) => {
    const raw = new Uint8Array(await req.arrayBuffer());
    const v2 = (req.headers.get("content-type") ?? "").includes("io.prometheus.write.v2");
    const bytes = snappyDecode(raw);
    const body = v2 ? decodeWriteRequestV2(bytes) : decodeWriteRequest(bytes);
    const i = requests.length;
    const rec: ReceivedRequest = { headers: req.headers, body, status: 0, size: raw.length };
    requests.push(rec);
    const res = await respond(i, body, req);
    rec.status = res.status;
    return res;
  });
  const port = await portP;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    port,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.body),
    close: async () => {
      ctl.abort();
      await server.finished;
    },
  };
}

/** Polls `cond` every few ms of real time; throws after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean,
  what = "condition",
  timeoutMs = 5_000,
): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets pending I/O and timers run for `ms` of real time. */
export function settle(ms = 30): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Adds `env="prod"` (an external label) and drops series with `job="drop"`. */
export function testTransform(l: Labels): Labels | null {
  if (l.get("job") === "drop") return null;
  return new LabelsBuilder(l).set("env", "prod").labels();
}

/** A running endpoint with its fake WAL, receiver and clock. */
export interface EndpointSetup {
  wal: FakeWal;
  rx: TestReceiver;
  clock: TestClock;
  registry: Registry;
  ep: RemoteEndpoint;
  done: Promise<void>;
  stopClock: () => void;
  teardown(): Promise<void>;
}

/** Options of `startEndpoint`. */
export interface EndpointSetupOptions {
  /** Config overrides (`rwConfig`'s second argument). */
  config?: Parameters<typeof rwConfig>[1];
  /** Dependency overrides. */
  deps?: Partial<RemoteEndpointDeps>;
  respond?: Parameters<typeof startReceiver>[0];
  /** Fire the clock's sleeps automatically. @default true */
  auto?: boolean;
  wal?: FakeWal;
  name?: string;
  /** Series `m1…mN` (job "j") added to the WAL. @default 3 */
  series?: number;
}

/** Starts a receiver and an endpoint (name "ep", version 9.9.9) sending to it. */
export async function startEndpoint(opts: EndpointSetupOptions = {}): Promise<EndpointSetup> {
  const wal = opts.wal ?? new FakeWal();
  for (let r = 1; r <= (opts.series ?? 3); r++) {
    wal.addSeries(r, Labels.fromObject({ __name__: `m${r}`, job: "j" }));
  }
  const rx = await startReceiver(opts.respond);
  const clock = new TestClock();
  const registry = new Registry();
  const ep = new RemoteEndpoint(rwConfig(rx.url, { name: opts.name ?? "ep", ...opts.config }), {
    source: wal,
    transform: testTransform,
    registry,
    version: "9.9.9",
    clock,
    ...opts.deps,
  });
  const stopClock = opts.auto === false ? () => {} : clock.autoAdvance();
  const ctl = new AbortController();
  const done = ep.run(ctl.signal);
  return {
    wal,
    rx,
    clock,
    registry,
    ep,
    done,
    stopClock,
    async teardown() {
      ctl.abort();
      await done;
      stopClock();
      await rx.close();
    },
  };
}

/** An `EndpointStatus` with every field set (idle RW 1.0 endpoint, one shard), for UI and API tests. */
export function fakeEndpointStatus(over: Partial<EndpointStatus> = {}): EndpointStatus {
  const idle = { sent: 0, failed: 0, retried: 0, dropped: 0, pending: 0 };
  return {
    name: "ep",
    url: "http://127.0.0.1:9201/api/v1/write",
    protocol: "prometheus.WriteRequest",
    fellBack: false,
    shards: 1,
    desiredShards: 1,
    minShards: 1,
    maxShards: 50,
    samplesSent: 0,
    samplesFailed: 0,
    samplesRetried: 0,
    samplesDropped: 0,
    samplesPending: 0,
    histograms: { ...idle },
    exemplars: { ...idle },
    bytesSent: 0,
    lastError: "",
    lastErrorTime: null,
    lastSendTime: null,
    cursor: { segment: 0, offset: 0 },
    ...over,
  };
}

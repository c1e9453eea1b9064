/**
 * `ferry receive`: a debug Remote Write receiver for RW 1.0 and RW 2.0. It
 * picks the protocol by Content-Type, decodes each request, prints a
 * one-line summary — with `--print`, every series, sample, histogram,
 * exemplar and metadata entry too — and answers as a receiver should (204,
 * and for RW 2.0 the `X-Prometheus-Remote-Write-*-Written` counts), or with
 * the statuses an operator chose to exercise a sender's retry logic.
 *
 * Output is user-facing CLI output on stdout, not logging.
 *
 * @module
 */

import { quote } from "../model/labels.ts";
import { formatValue } from "../model/sample.ts";
import {
  type DecodedHistogram,
  type DecodedSeries,
  type DecodedWriteRequest,
  DEFAULT_MAX_DECODED_BYTES,
} from "../remote/codec.ts";
import {
  BodyTooLargeError,
  decodeRwBody,
  DEFAULT_MAX_BODY_BYTES,
  PROTO_V2,
  protocolOf,
  readBody,
  renderPairs,
  setWritten,
} from "../push/protocol.ts";
import { type FlagSpec, parseCommand, print, printErr, usage } from "./flags.ts";

export { protocolOf };

/** Largest compressed body accepted. */
const MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES;

/** The status `--fail-every` answers with. */
export const FAIL_EVERY_STATUS = 503;

/** Options of `runReceiver`. */
export interface ReceiverOptions {
  /** `host:port` to listen on; port 0 picks a free port. */
  listen: string;
  /** Print every series, sample, histogram, exemplar and metadata entry. */
  print?: boolean;
  /** Statuses answered to valid requests, in turn (a cycle). @default [204] */
  statuses?: number[];
  /** Every Nth valid request is answered `FAIL_EVERY_STATUS` instead; 0 never. @default 0 */
  failEvery?: number;
  /** `Retry-After` (seconds) sent with non-2xx answers to valid requests. */
  retryAfter?: number;
  /** Act as a RW 1.x receiver: RW 2.0 requests get 415. @default false */
  v1Only?: boolean;
  /** Send the `…-Written` headers to RW 2.0 requests. @default true */
  written?: boolean;
  /** Stops the server. */
  signal?: AbortSignal;
  /** Where output lines go (without trailing newline). @default stdout */
  out?: (line: string) => void;
  /** Cap on a decompressed request. @default 32 MiB */
  maxDecodedBytes?: number;
}

/**
 * Starts the receiver; `finished` settles when the server has shut down.
 * Binding errors (address in use, permission) reject the returned promise.
 */
// deno-lint-ignore require-await
export async function runReceiver(
  opts: ReceiverOptions,
): Promise<{ port: number; finished: Promise<void> }> {
  const { hostname, port } = parseListen(opts.listen);
  const statuses = opts.statuses ?? [204];
  if (statuses.length === 0) throw new RangeError("statuses must not be empty");
  for (const s of statuses) {
    if (!Number.isInteger(s) || s < 200 || s > 599) {
      throw new RangeError(`status must be an HTTP status 200..599, got ${s}`);
    }
  }
  const failEvery = opts.failEvery ?? 0;
  if (!Number.isInteger(failEvery) || failEvery < 0) {
    throw new RangeError(`failEvery must be a whole number ≥ 0, got ${failEvery}`);
  }
  const retryAfter = opts.retryAfter;
  if (retryAfter !== undefined && (!Number.isInteger(retryAfter) || retryAfter < 0)) {
    throw new RangeError(`retryAfter must be whole seconds ≥ 0, got ${retryAfter}`);
  }
  const state: HandlerState = {
    out: opts.out ?? stdoutLine,
    print: opts.print ?? false,
    statuses,
    failEvery,
    retryAfter,
    v1Only: opts.v1Only ?? false,
    written: opts.written ?? true,
    maxDecoded: opts.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES,
    valid: 0,
  };
  const server = Deno.serve({
    hostname,
    port,
    signal: opts.signal,
    onListen: () => {},
    onError: (e) => new Response(`internal error: ${errorText(e)}\n`, { status: 500 }),
  }, (req) => handle(req, state));
  const bound = server.addr.port;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  state.out(`listening on http://${host}:${bound}/api/v1/write`);
  return { port: bound, finished: server.finished };
}

interface HandlerState {
  out: (line: string) => void;
  print: boolean;
  statuses: number[];
  failEvery: number;
  retryAfter: number | undefined;
  v1Only: boolean;
  written: boolean;
  maxDecoded: number;
  /** Valid requests so far. */
  valid: number;
}

async function handle(req: Request, s: HandlerState): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path !== "/api/v1/write" && path !== "/") return text(404, "not found");
  if (req.method !== "POST") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "POST" } });
  }
  const version = protocolOf(req.headers.get("content-type"));
  if (typeof version === "object") return reject(s, 415, version.reason);
  if (version === 2 && s.v1Only) {
    return reject(s, 415, `RW 2.0 (${PROTO_V2}) is not accepted: --v1-only`);
  }
  const encoding = req.headers.get("content-encoding");
  if (encoding === null || encoding.trim().toLowerCase() !== "snappy") {
    return reject(
      s,
      415,
      `unsupported Content-Encoding ${JSON.stringify(encoding ?? "")} (want snappy)`,
    );
  }
  let body: Uint8Array;
  try {
    body = await readBody(req, MAX_BODY_BYTES);
  } catch (e) {
    return reject(s, e instanceof BodyTooLargeError ? 413 : 400, errorText(e), version);
  }
  let decoded: DecodedWriteRequest;
  try {
    decoded = decodeRwBody(body, version, s.maxDecoded);
  } catch (e) {
    return reject(s, 400, errorText(e), version);
  }
  s.valid++;
  const status = s.failEvery > 0 && s.valid % s.failEvery === 0
    ? FAIL_EVERY_STATUS
    : s.statuses[(s.valid - 1) % s.statuses.length];
  const ok = status >= 200 && status < 300;
  s.out(`${summary(decoded, body.length)} status=${status}`);
  if (s.print) { for (const line of details(decoded)) s.out(line); }
  const headers = new Headers();
  if (version === 2 && s.written) {
    setWritten(headers, ok ? decoded : { samples: 0, histograms: 0, exemplars: 0 });
  }
  if (ok) return new Response(null, { status, headers });
  if (s.retryAfter !== undefined) headers.set("retry-after", String(s.retryAfter));
  headers.set("content-type", "text/plain");
  return new Response(`status ${status} chosen by the receiver's flags\n`, { status, headers });
}

/**
 * The one-line summary of a request: protocol, series, samples, staleness
 * markers (float and histogram), histograms, exemplars, metadata (RW 1.0
 * entries, or RW 2.0 series with metadata), bytes and the time range.
 */
export function summary(d: DecodedWriteRequest, bytes: number): string {
  let first = Infinity, last = -Infinity, stale = d.staleMarkers, metadata = d.metadata;
  for (const s of d.series) {
    for (const t of s.timestamps) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
    for (const h of s.histograms) {
      if (h.timestamp < first) first = h.timestamp;
      if (h.timestamp > last) last = h.timestamp;
      if (h.stale) stale++;
    }
    if (s.metadata !== null && hasMetadata(s.metadata)) metadata++;
  }
  const any = first <= last;
  return `v${d.version} series=${d.series.length} samples=${d.samples} stale=${stale} ` +
    `histograms=${d.histograms} exemplars=${d.exemplars} metadata=${metadata} bytes=${bytes} ` +
    `first_ts=${any ? first : "-"} last_ts=${any ? last : "-"}`;
}

function hasMetadata(m: { type: string; help: string; unit: string }): boolean {
  return m.type !== "unknown" || m.help !== "" || m.unit !== "";
}

/**
 * The `--print` lines of a request. A series is `  {labels}`; its float
 * samples follow as `    <ts> <value>[ st=<start ts>]` (`stale` for a
 * staleness marker); metadata, histograms and exemplars as `  # …` lines.
 * RW 1.0 metadata entries come last as `  # metadata …` lines.
 */
export function details(d: DecodedWriteRequest): string[] {
  const lines: string[] = [];
  for (const s of d.series) seriesLines(s, lines);
  for (const m of d.metadataList) {
    lines.push(`  # metadata ${m.family} ${metadataText(m)}`);
  }
  return lines;
}

function seriesLines(s: DecodedSeries, lines: string[]): void {
  lines.push(`  ${renderLabels(s.labels)}`);
  if (s.metadata !== null && hasMetadata(s.metadata)) {
    lines.push(`  # ${metadataText(s.metadata)}`);
  }
  for (let i = 0; i < s.timestamps.length; i++) {
    const st = s.startTimestamps[i];
    lines.push(
      `    ${s.timestamps[i]} ${s.stale[i] ? "stale" : formatValue(s.values[i])}` +
        (st ? ` st=${st}` : ""),
    );
  }
  for (const h of s.histograms) lines.push(`  # histogram ${renderHistogram(h)}`);
  for (const e of s.exemplarList) {
    lines.push(`  # exemplar ${e.timestamp} ${formatValue(e.value)} ${renderLabels(e.labels)}`);
  }
}

/** `type help="…"[ unit="…"]`. */
function metadataText(m: { type: string; help: string; unit: string }): string {
  return `${m.type} help=${quote(m.help)}` + (m.unit === "" ? "" : ` unit=${quote(m.unit)}`);
}

/** A native histogram on one line: counts, sum, layout, absolute bucket counts. */
export function renderHistogram(h: DecodedHistogram): string {
  if (h.stale) return `${h.timestamp} stale`;
  const parts = [
    `${h.timestamp}`,
    `${h.float ? "float" : "int"}`,
    `count=${formatValue(h.count)}`,
    `sum=${formatValue(h.sum)}`,
    `schema=${h.schema}`,
  ];
  if (h.zeroThreshold !== 0 || h.zeroCount !== 0) {
    parts.push(`zero=${formatValue(h.zeroCount)}@${formatValue(h.zeroThreshold)}`);
  }
  if (h.positiveSpans.length > 0) {
    parts.push(`pos=${buckets(h.positiveSpans, h.positiveBuckets, h.float)}`);
  }
  if (h.negativeSpans.length > 0) {
    parts.push(`neg=${buckets(h.negativeSpans, h.negativeBuckets, h.float)}`);
  }
  if (h.customValues.length > 0) {
    parts.push(`bounds=[${h.customValues.map(formatValue).join(" ")}]`);
  }
  if (h.resetHint !== 0) parts.push(`reset=${["unknown", "yes", "no", "gauge"][h.resetHint]}`);
  if (h.startTimestamp) parts.push(`st=${h.startTimestamp}`);
  return parts.join(" ");
}

/** Spans as `offset:length` and the buckets' absolute counts (integer deltas summed up). */
function buckets(
  spans: { offset: number; length: number }[],
  values: number[],
  float: boolean,
): string {
  let acc = 0;
  const counts = values.map((v) => float ? v : (acc += v));
  return `[${spans.map((s) => `${s.offset}:${s.length}`).join(" ")}]{${
    counts.map(formatValue).join(" ")
  }}`;
}

function renderLabels(labels: [string, string][]): string {
  return renderPairs(labels);
}

function reject(s: HandlerState, status: number, reason: string, version?: 1 | 2): Response {
  s.out(`rejected (${status}): ${reason}`);
  const headers = new Headers({ "content-type": "text/plain" });
  if (version === 2 && s.written) setWritten(headers, { samples: 0, histograms: 0, exemplars: 0 });
  return new Response(reason + "\n", { status, headers });
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain" } });
}

/** Splits `host:port` (`[v6]:port`, `:port` for all interfaces). */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new RangeError(`invalid listen address ${JSON.stringify(listen)} (want HOST:PORT)`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`invalid port in ${JSON.stringify(listen)}`);
  const hostname = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]);
  return { hostname, port };
}

const FLAGS = {
  listen: {
    help: "Address to listen on; writes go to /api/v1/write (or /).",
    default: "127.0.0.1:9201",
    placeholder: "HOST:PORT",
  },
  print: {
    help:
      "Print every series: labels, samples (with start timestamps), histograms, exemplars, metadata.",
    default: false,
  },
  status: {
    help:
      "Answer valid requests with these statuses in turn: 503 fails every request, 500,500,204 fails two of three.",
    default: "204",
    placeholder: "CODE[,CODE…]",
  },
  "fail-every": {
    help: `Answer every Nth valid request with ${FAIL_EVERY_STATUS} instead; 0: never.`,
    default: "0",
    placeholder: "N",
  },
  "retry-after": {
    help: "Send Retry-After: SECONDS with every non-2xx answer chosen by --status or --fail-every.",
    default: "",
    placeholder: "SECONDS",
  },
  "v1-only": {
    help: "Act as a Remote Write 1.x receiver: answer RW 2.0 requests with 415 (to test fallback).",
    default: false,
  },
  written: {
    help:
      "Send X-Prometheus-Remote-Write-*-Written headers to RW 2.0 requests (--no-written: omit them, as a 1.x receiver that ignores Content-Type would).",
    default: true,
  },
  help: { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const HELP = usage(
  "main.ts receive [flags]",
  `A debug Remote Write receiver for testing a pipeline. Accepts RW 1.0 and RW 2.0, chosen by
Content-Type (application/x-protobuf, or ;proto=prometheus.WriteRequest → 1.0;
;proto=io.prometheus.write.v2.Request → 2.0; anything else → 415). Content-Encoding must be
snappy (else 415). Answers 204 and, for RW 2.0, X-Prometheus-Remote-Write-{Samples,Histograms,
Exemplars}-Written with the real counts. Prints one line per request: protocol, series, samples,
staleness markers, histograms, exemplars, metadata, bytes, time range and the status answered.

Examples:
  main.ts receive --print                        show everything that arrives
  main.ts receive --status 503 --retry-after 5   always fail, asking for a 5 s pause
  main.ts receive --status 500,500,204           fail twice, then accept; repeat
  main.ts receive --fail-every 10                fail every 10th request with ${FAIL_EVERY_STATUS}
  main.ts receive --v1-only                      a RW 1.x receiver (RW 2.0 gets 415)`,
  FLAGS,
);

/** The `receive` subcommand; returns the exit code. Runs until SIGINT/SIGTERM. */
export async function receiveMain(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (typeof parsed === "number") return parsed;
  const { flags, rest } = parsed;
  if (rest.length > 0) return usageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const statuses: number[] = [];
  for (const part of flags.status.split(",")) {
    const n = Number(part.trim());
    if (!/^\d{3}$/.test(part.trim()) || n < 200 || n > 599) {
      return usageError(`--status takes HTTP statuses 200..599, not ${JSON.stringify(part)}`);
    }
    statuses.push(n);
  }
  if (!/^\d+$/.test(flags["fail-every"])) {
    return usageError(
      `--fail-every takes a whole number, not ${JSON.stringify(flags["fail-every"])}`,
    );
  }
  let retryAfter: number | undefined;
  if (flags["retry-after"] !== "") {
    if (!/^\d+$/.test(flags["retry-after"])) {
      return usageError(
        `--retry-after takes whole seconds, not ${JSON.stringify(flags["retry-after"])}`,
      );
    }
    retryAfter = Number(flags["retry-after"]);
  }
  try {
    parseListen(flags.listen);
  } catch (e) {
    return usageError(errorText(e));
  }
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    const { finished } = await runReceiver({
      listen: flags.listen,
      print: flags.print,
      statuses,
      failEvery: Number(flags["fail-every"]),
      retryAfter,
      v1Only: flags["v1-only"],
      written: flags.written,
      signal: ctl.signal,
    });
    await finished;
    return 0;
  } catch (e) {
    printErr(`ferry receive: ${errorText(e)}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  }
}

function usageError(msg: string): number {
  printErr(`error: ${msg}\n\n${HELP}`);
  return 2;
}

function stdoutLine(line: string): void {
  print(line);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

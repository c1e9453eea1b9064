/**
 * `ferry receive`: a debug Remote Write 1.0 receiver. It decodes each request
 * (snappy + `prometheus.WriteRequest`), prints a one-line summary — with
 * `--print`, every series and sample too — and answers 204 (or a chosen
 * status, to exercise a sender's retry logic).
 *
 * Output is user-facing CLI output on stdout, not logging.
 *
 * @module
 */

import { quote } from "../model/labels.ts";
import { formatValue } from "../model/sample.ts";
import {
  checkLabels,
  CodecError,
  type DecodedWriteRequest,
  decodeWriteRequest,
  DEFAULT_MAX_DECODED_BYTES,
  snappyDecode,
} from "../remote/codec.ts";

/** Largest compressed body accepted. */
const MAX_BODY_BYTES = 16 << 20;

/** Options of `runReceiver`. */
export interface ReceiverOptions {
  /** `host:port` to listen on; port 0 picks a free port. */
  listen: string;
  /** Print every series and sample. */
  print?: boolean;
  /** Status answered to valid requests. @default 204 */
  status?: number;
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
  const out = opts.out ?? stdoutLine;
  const status = opts.status ?? 204;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`status must be an HTTP status 200..599, got ${status}`);
  }
  const maxDecoded = opts.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  const print = opts.print ?? false;
  const server = Deno.serve({
    hostname,
    port,
    signal: opts.signal,
    onListen: () => {},
    onError: (e) => new Response(`internal error: ${errorText(e)}\n`, { status: 500 }),
  }, (req) => handle(req, { out, print, status, maxDecoded }));
  const bound = server.addr.port;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  out(`listening on http://${host}:${bound}/api/v1/write`);
  return { port: bound, finished: server.finished };
}

interface HandlerOptions {
  out: (line: string) => void;
  print: boolean;
  status: number;
  maxDecoded: number;
}

async function handle(req: Request, o: HandlerOptions): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path !== "/api/v1/write" && path !== "/") return text(404, "not found");
  if (req.method !== "POST") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "POST" } });
  }
  const encoding = req.headers.get("content-encoding");
  if (encoding !== null && encoding.toLowerCase() !== "snappy") {
    return reject(o, 415, `unsupported Content-Encoding ${JSON.stringify(encoding)}`);
  }
  let body: Uint8Array;
  try {
    body = await readBody(req, MAX_BODY_BYTES);
  } catch (e) {
    return reject(o, e instanceof CodecError ? 413 : 400, errorText(e));
  }
  let decoded: DecodedWriteRequest;
  try {
    decoded = decodeWriteRequest(snappyDecode(body, o.maxDecoded));
  } catch (e) {
    return reject(o, 400, errorText(e));
  }
  for (const s of decoded.series) {
    const problem = checkLabels(s.labels);
    if (problem) return reject(o, 400, `invalid series ${renderLabels(s.labels)}: ${problem}`);
  }
  o.out(summary(decoded, body.length));
  if (o.print) {
    for (const s of decoded.series) {
      o.out(`  ${renderLabels(s.labels)}`);
      for (let i = 0; i < s.timestamps.length; i++) {
        o.out(`    ${s.timestamps[i]} ${s.stale[i] ? "stale" : formatValue(s.values[i])}`);
      }
    }
  }
  if (o.status >= 200 && o.status < 300) return new Response(null, { status: o.status });
  return text(o.status, `status ${o.status} forced by --status`);
}

/** The one-line summary of a request. */
export function summary(d: DecodedWriteRequest, bytes: number): string {
  let first = Infinity, last = -Infinity;
  for (const s of d.series) {
    for (const t of s.timestamps) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  const f = d.samples > 0 ? String(first) : "-";
  const l = d.samples > 0 ? String(last) : "-";
  return `series=${d.series.length} samples=${d.samples} stale=${d.staleMarkers} ` +
    `first_ts=${f} last_ts=${l} bytes=${bytes}`;
}

function renderLabels(labels: [string, string][]): string {
  return "{" + labels.map(([n, v]) => `${n}=${quote(v)}`).join(", ") + "}";
}

function reject(o: HandlerOptions, status: number, reason: string): Response {
  o.out(`rejected: ${reason}`);
  return text(status, reason);
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain" } });
}

async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) throw new CodecError(`body of ${declared} bytes exceeds limit ${max}`);
  if (!req.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of req.body) {
    total += part.length;
    if (total > max) throw new CodecError(`body exceeds limit ${max}`);
    parts.push(part);
  }
  const buf = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return buf;
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

const USAGE = `Usage: ferry receive [--listen HOST:PORT] [--print] [--status CODE]

A debug Remote Write 1.0 receiver: prints a summary line per request.

  --listen HOST:PORT  address to listen on (default 127.0.0.1:9201)
  --print             print every series and sample (stale markers as "stale")
  --status CODE       answer valid requests with this HTTP status (default 204)
  --help              show this help
`;

/** The `receive` subcommand; returns the exit code. Runs until SIGINT/SIGTERM. */
export async function receiveMain(args: string[]): Promise<number> {
  let listen = "127.0.0.1:9201", print = false, status = 204;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = flag !== arg ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? args[++i];
    switch (flag) {
      case "--help":
      case "-h":
        stdoutLine(USAGE.trimEnd());
        return 0;
      case "--print":
        print = true;
        break;
      case "--listen": {
        const v = value();
        if (v === undefined) return usageError("--listen needs HOST:PORT");
        listen = v;
        break;
      }
      case "--status": {
        const v = value();
        const n = Number(v);
        if (v === undefined || !/^\d{3}$/.test(v) || n < 200 || n > 599) {
          return usageError("--status needs an HTTP status code 200..599");
        }
        status = n;
        break;
      }
      default:
        return usageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  try {
    parseListen(listen);
  } catch (e) {
    return usageError(errorText(e));
  }
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    const { finished } = await runReceiver({ listen, print, status, signal: ctl.signal });
    await finished;
    return 0;
  } catch (e) {
    stderrLine(`ferry receive: ${errorText(e)}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  }
}

function usageError(msg: string): number {
  stderrLine(`ferry receive: ${msg} (see --help)`);
  return 2;
}

const encoder = new TextEncoder();

function writeAll(f: { writeSync(p: Uint8Array): number }, line: string): void {
  const buf = encoder.encode(line + "\n");
  let off = 0;
  while (off < buf.length) off += f.writeSync(buf.subarray(off));
}

function stdoutLine(line: string): void {
  writeAll(Deno.stdout, line);
}

function stderrLine(line: string): void {
  writeAll(Deno.stderr, line);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * One remote-write HTTP request: headers, authentication, timeout, and the
 * classification of the outcome (delivered, retry, or give up).
 *
 * @module
 */

import { authorizationHeader, basicAuthHeader } from "../util/httpauth.ts";
import type { ResolvedRemoteWrite } from "../config/types.ts";

/** `X-Prometheus-Remote-Write-Version` for RW 1.0. */
export const REMOTE_WRITE_VERSION_1 = "0.1.0";

/** How many bytes of an error response body are kept for the error message. */
export const ERROR_BODY_BYTES = 512;

/** Response bytes read (and discarded) before the rest of a body is cancelled. */
const MAX_DRAIN_BYTES = 1 << 20;

/** Header names the user cannot set: the protocol's own (lower case). */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "content-encoding",
  "content-type",
  "user-agent",
  "x-prometheus-remote-write-version",
]);

/** Headers the HTTP stack owns; user values are ignored. */
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  "content-length",
  "host",
  "connection",
  "transfer-encoding",
]);

/** The outcome of one send. */
export type SendResult =
  | { kind: "ok"; status: number }
  | {
    kind: "recoverable";
    /** HTTP status, or 0 for a network error, timeout or abort. */
    status: number;
    error: string;
    /** Server-requested delay from `Retry-After`, in ms. */
    retryAfterMs?: number;
  }
  | { kind: "permanent"; status: number; error: string };

/** Options of `RemoteWriteClient`. */
export interface RemoteWriteClientOptions {
  /** ferry's version, sent as `User-Agent: ferry/<version>`. */
  version: string;
  /** The fetch to use (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Wall clock in ms, for HTTP-date `Retry-After`. @default Date.now */
  now?: () => number;
}

/** Per-send options. */
export interface SendOptions {
  /** 0 for the first attempt; sent as `Retry-Attempt` when > 0. */
  attempt?: number;
  /** Aborts the request (shutdown). */
  signal?: AbortSignal;
}

/** Sends snappy-compressed `WriteRequest` bodies to one endpoint. */
export class RemoteWriteClient {
  /** The endpoint URL with any password redacted, for logs and metrics. */
  readonly displayUrl: string;
  readonly #config: ResolvedRemoteWrite;
  readonly #url: string;
  readonly #urlAuth: string | undefined;
  readonly #baseHeaders: [string, string][];
  readonly #fetch: typeof fetch;
  readonly #now: () => number;

  constructor(config: ResolvedRemoteWrite, opts: RemoteWriteClientOptions) {
    this.#config = config;
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#now = opts.now ?? Date.now;
    this.displayUrl = redactUrl(config.url);
    const u = new URL(config.url);
    // fetch refuses URLs with credentials; like Go's client, use them as basic auth.
    if (u.username !== "" || u.password !== "") {
      this.#urlAuth = basicAuthHeader(
        decodeURIComponent(u.username),
        decodeURIComponent(u.password),
      );
      u.username = "";
      u.password = "";
    }
    this.#url = u.toString();
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(config.headers)) {
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower) || TRANSPORT_HEADERS.has(lower)) continue;
      headers.push([name, value]);
    }
    headers.push(
      ["Content-Encoding", "snappy"],
      ["Content-Type", "application/x-protobuf"],
      ["User-Agent", `ferry/${opts.version}`],
      ["X-Prometheus-Remote-Write-Version", REMOTE_WRITE_VERSION_1],
    );
    this.#baseHeaders = headers;
  }

  /** Builds the request headers; reads credential files now. */
  async headers(attempt = 0): Promise<Headers> {
    const h = new Headers();
    for (const [n, v] of this.#baseHeaders) h.set(n, v);
    if (attempt > 0) h.set("Retry-Attempt", String(attempt));
    const auth = await this.#authorization();
    if (auth !== undefined) h.set("Authorization", auth);
    return h;
  }

  async #authorization(): Promise<string | undefined> {
    return await authorizationHeader(this.#config) ?? this.#urlAuth;
  }

  /** POSTs one compressed body and classifies the outcome. Never throws. */
  async send(body: Uint8Array, opts: SendOptions = {}): Promise<SendResult> {
    let headers: Headers;
    try {
      headers = await this.headers(opts.attempt ?? 0);
    } catch (e) {
      return { kind: "recoverable", status: 0, error: errorText(e) };
    }
    const timeoutMs = this.#config.remoteTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.#fetch(this.#url, {
        method: "POST",
        headers,
        body: body as Uint8Array<ArrayBuffer>,
        signal,
        redirect: this.#config.followRedirects ? "follow" : "manual",
      });
    } catch (e) {
      return {
        kind: "recoverable",
        status: 0,
        error: failureText(e, opts.signal, timeout, timeoutMs),
      };
    }
    const kind = classifyStatus(res.status, this.#config.queue.retryOnHttp429);
    let text = "";
    try {
      text = await drainBody(res, kind === "ok" ? 0 : ERROR_BODY_BYTES);
    } catch (e) {
      if (kind === "ok") {
        // Delivered: the status line is what counts; the body must be ignored.
        return { kind: "ok", status: res.status };
      }
      text = `(reading body: ${failureText(e, opts.signal, timeout, timeoutMs)})`;
    }
    if (kind === "ok") return { kind, status: res.status };
    const error = `server returned HTTP status ${res.status} ${res.statusText}`.trimEnd() +
      (text ? `: ${text}` : "");
    if (kind === "permanent") return { kind, status: res.status, error };
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), this.#now());
    return retryAfterMs === undefined
      ? { kind, status: res.status, error }
      : { kind, status: res.status, error, retryAfterMs };
  }
}

/**
 * The RW 1.0 retry rule: 2xx delivered; 5xx retried; 429 retried only when
 * enabled; everything else (other 4xx, 3xx, 1xx) dropped.
 */
export function classifyStatus(
  status: number,
  retryOnHttp429: boolean,
): "ok" | "recoverable" | "permanent" {
  if (status >= 200 && status < 300) return "ok";
  if (status >= 500 && status < 600) return "recoverable";
  if (status === 429) return retryOnHttp429 ? "recoverable" : "permanent";
  return "permanent";
}

/**
 * Parses `Retry-After`: delay-seconds or an HTTP-date. Returns the delay in
 * ms (≥ 0), or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date names a day and month (IMF-fixdate, RFC 850 or asctime); Date.parse alone
  // would also accept bare numbers such as "-5" as years.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The URL with its password replaced by `xxxxx` (as displayed in logs and metric labels). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "xxxxx";
    return u.toString();
  } catch {
    return url;
  }
}

/** Reads the body, keeping the first `keep` bytes as text; discards (at most 1 MiB of) the rest. */
async function drainBody(res: Response, keep: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const kept = new Uint8Array(keep);
  let nKept = 0, total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (nKept < keep) {
        const n = Math.min(keep - nKept, value.length);
        kept.set(value.subarray(0, n), nKept);
        nKept += n;
      }
      total += value.length;
      if (total >= MAX_DRAIN_BYTES) {
        await reader.cancel();
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  return new TextDecoder().decode(kept.subarray(0, nKept)).trim();
}

function failureText(
  e: unknown,
  outer: AbortSignal | undefined,
  timeout: AbortSignal,
  timeoutMs: number,
): string {
  if (outer?.aborted) return "aborted";
  if (timeout.aborted) return `request timed out after ${timeoutMs}ms`;
  return errorText(e);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

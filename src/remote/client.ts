/**
 * One remote-write HTTP request: protocol headers (RW 1.0 or 2.0),
 * authentication (applied per attempt, after the body is built, so SigV4
 * signs the final body), TLS and proxy, timeout, and the classification of
 * the outcome (delivered with the receiver's written counts, retry, or give
 * up).
 *
 * @module
 */

import { timeoutSignal } from "../util/timeout.ts";
import { basicAuthHeader, type RequestAuth, requestAuth } from "../util/httpauth.ts";
import { redactUrl } from "../util/url.ts";
import type { RemoteWriteMessage, ResolvedRemoteWrite } from "../config/types.ts";
import { ScrapeHttpClient } from "../scrape/http.ts";

/** `protobuf_message` of Remote Write 1.0. */
export const RW1: RemoteWriteMessage = "prometheus.WriteRequest";
/** `protobuf_message` of Remote Write 2.0. */
export const RW2: RemoteWriteMessage = "io.prometheus.write.v2.Request";

/** `X-Prometheus-Remote-Write-Version` for RW 1.0. */
export const REMOTE_WRITE_VERSION_1 = "0.1.0";
/** `X-Prometheus-Remote-Write-Version` for RW 2.0. */
export const REMOTE_WRITE_VERSION_2 = "2.0.0";

/** `Content-Type` per protocol. */
export const CONTENT_TYPES: Readonly<Record<RemoteWriteMessage, string>> = {
  "prometheus.WriteRequest": "application/x-protobuf",
  "io.prometheus.write.v2.Request": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
};

/** Response headers in which a receiver reports what it wrote (RW 2.0; RW 1.0 receivers may send them too). */
export const WRITTEN_HEADERS = {
  samples: "X-Prometheus-Remote-Write-Samples-Written",
  histograms: "X-Prometheus-Remote-Write-Histograms-Written",
  exemplars: "X-Prometheus-Remote-Write-Exemplars-Written",
} as const;

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

/** What the receiver says it wrote, from the `…-Written` response headers. */
export interface WrittenCounts {
  samples: number;
  histograms: number;
  exemplars: number;
}

/** The outcome of one send. */
export type SendResult =
  | {
    kind: "ok";
    status: number;
    /** Present when the response had at least one `…-Written` header (a missing one counts 0). */
    written?: WrittenCounts;
  }
  | {
    kind: "recoverable";
    /** HTTP status, or 0 for a network error, timeout, abort or failed authentication. */
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
  /** The fetch to use (tests); also used for OAuth 2.0 token requests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Wall clock in ms, for HTTP-date `Retry-After` and token expiry. @default Date.now */
  now?: () => number;
  /** How the `Deno.HttpClient` for `tls_config`/`proxy_url` is made and its files read (tests). */
  httpClient?: ConstructorParameters<typeof ScrapeHttpClient>[1];
}

/** Per-send options. */
export interface SendOptions {
  /** 0 for the first attempt; sent as `Retry-Attempt` when > 0. */
  attempt?: number;
  /** Aborts the request (shutdown). */
  signal?: AbortSignal;
  /** The protocol of the body. @default RW 1.0 */
  protocol?: RemoteWriteMessage;
}

/** Sends snappy-compressed write requests to one endpoint. */
export class RemoteWriteClient {
  /** The endpoint URL with any password redacted, for logs and metrics. */
  readonly displayUrl: string;
  readonly #config: ResolvedRemoteWrite;
  readonly #url: URL;
  readonly #urlAuth: string | undefined;
  readonly #auth: RequestAuth | undefined;
  readonly #http: ScrapeHttpClient;
  readonly #userHeaders: [string, string][];
  readonly #userAgent: string;
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
    this.#url = u;
    this.#auth = requestAuth(config, { fetch: this.#fetch, now: this.#now });
    this.#http = new ScrapeHttpClient(config, opts.httpClient);
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(config.headers)) {
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower) || TRANSPORT_HEADERS.has(lower)) continue;
      headers.push([name, value]);
    }
    this.#userHeaders = headers;
    this.#userAgent = `ferry/${opts.version}`;
  }

  /** The request headers before authentication. */
  headers(opts: { attempt?: number; protocol?: RemoteWriteMessage } = {}): Headers {
    const protocol = opts.protocol ?? RW1;
    const h = new Headers();
    for (const [n, v] of this.#userHeaders) h.set(n, v);
    h.set("Content-Encoding", "snappy");
    h.set("Content-Type", CONTENT_TYPES[protocol]);
    h.set("User-Agent", this.#userAgent);
    h.set(
      "X-Prometheus-Remote-Write-Version",
      protocol === RW2 ? REMOTE_WRITE_VERSION_2 : REMOTE_WRITE_VERSION_1,
    );
    const attempt = opts.attempt ?? 0;
    if (attempt > 0) h.set("Retry-Attempt", String(attempt));
    return h;
  }

  /** POSTs one compressed body and classifies the outcome. Never throws. */
  async send(body: Uint8Array, opts: SendOptions = {}): Promise<SendResult> {
    const headers = this.headers(opts);
    let client: Deno.HttpClient | undefined;
    try {
      if (this.#auth !== undefined) {
        await this.#auth.apply(
          { method: "POST", url: this.#url, headers, body },
          opts.signal,
        );
      } else if (this.#urlAuth !== undefined) {
        headers.set("Authorization", this.#urlAuth);
      }
      client = await this.#http.get();
    } catch (e) {
      if (opts.signal?.aborted) return { kind: "recoverable", status: 0, error: "aborted" };
      return { kind: "recoverable", status: 0, error: errorText(e) };
    }
    const timeoutMs = this.#config.remoteTimeoutMs;
    const timer = timeoutSignal(timeoutMs);
    const timeout = timer.signal;
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      let res: Response;
      try {
        const init: RequestInit & { client?: Deno.HttpClient } = {
          method: "POST",
          headers,
          body: body as Uint8Array<ArrayBuffer>,
          signal,
          redirect: this.#config.followRedirects ? "follow" : "manual",
        };
        if (client !== undefined) init.client = client;
        res = await this.#fetch(this.#url.href, init);
      } catch (e) {
        return {
          kind: "recoverable",
          status: 0,
          error: failureText(e, opts.signal, timeout, timeoutMs),
        };
      }
      const kind = classifyStatus(res.status, this.#config.queue.retryOnHttp429);
      // A revoked or rotated oauth2 token: the next request fetches a new one.
      if (res.status === 401) this.#auth?.rejected?.();
      let text = "";
      try {
        text = await drainBody(res, kind === "ok" ? 0 : ERROR_BODY_BYTES);
      } catch (e) {
        // Delivered: the status line is what counts; the body must be ignored.
        if (kind !== "ok") {
          text = `(reading body: ${failureText(e, opts.signal, timeout, timeoutMs)})`;
        }
      }
      if (kind === "ok") {
        const written = parseWritten(res.headers);
        return written === undefined
          ? { kind, status: res.status }
          : { kind, status: res.status, written };
      }
      const error = `server returned HTTP status ${res.status} ${res.statusText}`.trimEnd() +
        (text ? `: ${text}` : "");
      if (kind === "permanent") return { kind, status: res.status, error };
      const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), this.#now());
      return retryAfterMs === undefined
        ? { kind, status: res.status, error }
        : { kind, status: res.status, error, retryAfterMs };
    } finally {
      timer.clear();
    }
  }

  /** Releases the TLS/proxy clients and the auth's (the endpoint stopped). */
  close(): void {
    this.#http.close();
    this.#auth?.close?.();
  }
}

/**
 * The `…-Written` response headers, or undefined when none is present. A
 * missing or unparsable header counts 0, as Prometheus reads them.
 */
export function parseWritten(h: Headers): WrittenCounts | undefined {
  const s = h.get(WRITTEN_HEADERS.samples);
  const hi = h.get(WRITTEN_HEADERS.histograms);
  const e = h.get(WRITTEN_HEADERS.exemplars);
  if (!s && !hi && !e) return undefined;
  return { samples: count(s), histograms: count(hi), exemplars: count(e) };
}

function count(v: string | null): number {
  if (v === null) return 0;
  const t = v.trim();
  return /^\d+$/.test(t) ? Number(t) : 0;
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

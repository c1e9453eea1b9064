/**
 * A small Kubernetes API client for discovery: paginated LIST and
 * line-delimited JSON WATCH of one resource path, with bearer-token, basic or
 * other `Authorization`, a CA and client certificate (through
 * `Deno.createHttpClient`) and a proxy.
 *
 * Memory is bounded per request: a LIST page (500 objects) may be at most
 * {@link MAX_LIST_PAGE_BYTES}, a watch event at most {@link MAX_EVENT_BYTES};
 * each object is slimmed (see objects.ts) as soon as it is parsed.
 *
 * @module
 */

import { readCappedBytes } from "../../util/body.ts";
import { proxyOptions } from "../../scrape/http.ts";

/** Largest LIST page accepted (its objects are parsed at once). */
export const MAX_LIST_PAGE_BYTES = 64 << 20;
/** Largest single watch event line. */
export const MAX_EVENT_BYTES = 16 << 20;
/** Objects asked for per LIST page (as client-go's informers). */
export const LIST_PAGE_SIZE = 500;

/** How to reach and authenticate to an API server. */
export interface KubeConnection {
  /** `https://host:port` (a path prefix is kept), no trailing slash. */
  server: string;
  /** The `Authorization` header of a request, read at each request (rotated tokens). */
  authorization?: () => Promise<string | undefined>;
  /** PEM: CA certificates to trust, client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** `http://`, `https://` or `socks5://` proxy. */
  proxyUrl?: string;
  /** Follow redirects. @default true */
  followRedirects?: boolean;
  /** The pod's own namespace (in-cluster), for `namespaces.own_namespace`. */
  ownNamespace?: string;
  /** Where the settings came from, for messages ("in-cluster", a kubeconfig path, api_server). */
  origin?: string;
}

/** An API request answered with an error status (or an ERROR watch event). */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(readonly status: number, message: string, readonly reason = "") {
    super(message);
  }
  /** 410 Gone / reason Expired: the resource version is too old, list again. */
  get gone(): boolean {
    return this.status === 410 || this.reason === "Expired" || this.reason === "Gone";
  }
}

/** One watch event (objects already slimmed). */
export type WatchEvent<T> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T; resourceVersion: string }
  | { type: "BOOKMARK"; resourceVersion: string }
  | { type: "ERROR"; error: KubeApiError };

/** Query parameters common to LIST and WATCH. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  fetch?: typeof fetch;
  /** @default "ferry" */
  userAgent?: string;
  createHttpClient?: (
    o: Deno.CreateHttpClientOptions & { cert?: string; key?: string },
  ) => Deno.HttpClient;
  /** @default LIST_PAGE_SIZE */
  pageSize?: number;
  /** @default MAX_EVENT_BYTES */
  maxEventBytes?: number;
}

/** LIST and WATCH against one API server. */
export class KubeClient {
  readonly #conn: KubeConnection;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string;
  readonly #pageSize: number;
  readonly #maxEventBytes: number;
  #client: Deno.HttpClient | undefined;

  constructor(conn: KubeConnection, opts: KubeClientOptions = {}) {
    this.#conn = conn;
    this.#fetch = opts.fetch ?? fetch;
    this.#userAgent = opts.userAgent ?? "ferry";
    this.#pageSize = opts.pageSize ?? LIST_PAGE_SIZE;
    this.#maxEventBytes = opts.maxEventBytes ?? MAX_EVENT_BYTES;
    const tls = conn.tls ?? {};
    if (tls.ca || tls.cert || conn.proxyUrl) {
      const o: Deno.CreateHttpClientOptions & { cert?: string; key?: string } = {};
      if (tls.ca) o.caCerts = [tls.ca];
      if (tls.cert) {
        o.cert = tls.cert;
        o.key = tls.key;
      }
      if (conn.proxyUrl) o.proxy = proxyOptions(conn.proxyUrl);
      this.#client = (opts.createHttpClient ?? ((x) => Deno.createHttpClient(x)))(o);
    }
  }

  /** The connection's own namespace, if known. */
  get ownNamespace(): string | undefined {
    return this.#conn.ownNamespace;
  }

  /** Releases the HTTP client. */
  close(): void {
    try {
      this.#client?.close();
    } catch {
      // already closed
    }
    this.#client = undefined;
  }

  async #request(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    const url = new URL(this.#conn.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(params)) if (v !== "") url.searchParams.set(k, v);
    const headers = new Headers({ "Accept": "application/json", "User-Agent": this.#userAgent });
    const auth = await this.#conn.authorization?.();
    if (auth !== undefined) headers.set("Authorization", auth);
    const init: RequestInit & { client?: Deno.HttpClient } = {
      headers,
      signal,
      redirect: this.#conn.followRedirects === false ? "manual" : "follow",
    };
    if (this.#client) init.client = this.#client;
    const res = await this.#fetch(url, init);
    if (res.status !== 200) {
      const text = await readCapped(res, 64 << 10).catch(() => "");
      throw statusError(
        res.status,
        text,
        `${path}: HTTP ${res.status} ${res.statusText}`.trimEnd(),
      );
    }
    return res;
  }

  /**
   * Lists every object of `path` (page by page, `limit` + `continue`),
   * slimming each; returns them with the list's resourceVersion. An expired
   * `continue` token (410) restarts the list from the beginning, once.
   */
  async list<T>(
    path: string,
    opts: ListOptions,
    slim: (o: unknown) => T,
    signal: AbortSignal,
  ): Promise<{ items: T[]; resourceVersion: string }> {
    for (let attempt = 0;; attempt++) {
      const items: T[] = [];
      let cont = "";
      let rv = "";
      try {
        do {
          const res = await this.#request(path, {
            limit: String(this.#pageSize),
            continue: cont,
            labelSelector: opts.labelSelector ?? "",
            fieldSelector: opts.fieldSelector ?? "",
          }, signal);
          const text = await readCapped(res, MAX_LIST_PAGE_BYTES);
          let body: {
            metadata?: { resourceVersion?: unknown; continue?: unknown };
            items?: unknown;
          };
          try {
            body = JSON.parse(text);
          } catch (e) {
            throw new Error(`${path}: invalid JSON in list response: ${(e as Error).message}`);
          }
          if (!Array.isArray(body?.items)) throw new Error(`${path}: list response has no items`);
          for (const o of body.items) items.push(slim(o));
          rv = typeof body.metadata?.resourceVersion === "string"
            ? body.metadata.resourceVersion
            : "";
          cont = typeof body.metadata?.continue === "string" ? body.metadata.continue : "";
        } while (cont !== "");
        return { items, resourceVersion: rv };
      } catch (e) {
        if (e instanceof KubeApiError && e.gone && cont !== "" && attempt === 0) continue;
        throw e;
      }
    }
  }

  /**
   * Watches `path` from `resourceVersion` (bookmarks on); yields events until
   * the server ends the stream (after `timeoutSeconds`) or `signal` aborts.
   * An HTTP error status throws a {@link KubeApiError}.
   */
  async *watch<T>(
    path: string,
    opts: ListOptions & { resourceVersion: string; timeoutSeconds: number },
    slim: (o: unknown) => T,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const res = await this.#request(path, {
      watch: "1",
      allowWatchBookmarks: "true",
      resourceVersion: opts.resourceVersion,
      timeoutSeconds: String(opts.timeoutSeconds),
      labelSelector: opts.labelSelector ?? "",
      fieldSelector: opts.fieldSelector ?? "",
    }, signal);
    for await (const line of readLines(res, this.#maxEventBytes)) {
      let ev: { type?: unknown; object?: unknown };
      try {
        ev = JSON.parse(line);
      } catch (e) {
        throw new Error(`${path}: invalid JSON in watch stream: ${(e as Error).message}`);
      }
      const o = (typeof ev?.object === "object" && ev.object !== null ? ev.object : {}) as {
        metadata?: { resourceVersion?: unknown };
        code?: unknown;
        reason?: unknown;
        message?: unknown;
      };
      const rv = typeof o.metadata?.resourceVersion === "string" ? o.metadata.resourceVersion : "";
      switch (ev?.type) {
        case "ADDED":
        case "MODIFIED":
        case "DELETED":
          yield { type: ev.type, object: slim(o), resourceVersion: rv };
          break;
        case "BOOKMARK":
          yield { type: "BOOKMARK", resourceVersion: rv };
          break;
        case "ERROR": {
          const code = typeof o.code === "number" ? o.code : 500;
          const msg = typeof o.message === "string" ? o.message : "watch error";
          yield {
            type: "ERROR",
            error: new KubeApiError(
              code,
              `${path}: ${msg}`,
              typeof o.reason === "string" ? o.reason : "",
            ),
          };
          break;
        }
        default:
          throw new Error(`${path}: unknown watch event type ${JSON.stringify(ev?.type)}`);
      }
    }
  }
}

/** A {@link KubeApiError} from a status code and a (possibly `Status`-object) body. */
function statusError(status: number, body: string, fallback: string): KubeApiError {
  try {
    const s = JSON.parse(body);
    if (s?.kind === "Status" && typeof s.message === "string") {
      return new KubeApiError(
        status,
        `${fallback}: ${s.message}`,
        typeof s.reason === "string" ? s.reason : "",
      );
    }
  } catch {
    // not JSON
  }
  return new KubeApiError(status, fallback);
}

/** The body as text, failing beyond `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const buf = await readCappedBytes(
    res.body,
    max,
    () => new Error(`response exceeds the ${max}-byte limit`),
  );
  return new TextDecoder().decode(buf);
}

/** Non-empty lines of a streamed body; a line longer than `max` bytes is an error. */
export async function* readLines(res: Response, max: number): AsyncGenerator<string> {
  if (res.body === null) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const take = (last: Uint8Array): string => {
    let s = "";
    for (const p of pending) s += decoder.decode(p, { stream: true });
    s += decoder.decode(last);
    pending = [];
    pendingBytes = 0;
    return s;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let start = 0;
      for (;;) {
        const nl = value.indexOf(0x0a, start);
        if (nl < 0) break;
        if (pendingBytes + nl - start > max) {
          throw new Error(`watch event exceeds the ${max}-byte limit`);
        }
        const line = take(value.subarray(start, nl)).trim();
        start = nl + 1;
        if (line !== "") yield line;
      }
      if (start < value.length) {
        const rest = value.slice(start);
        pendingBytes += rest.length;
        if (pendingBytes > max) throw new Error(`watch event exceeds the ${max}-byte limit`);
        pending.push(rest);
      }
    }
    if (pendingBytes > 0) {
      const line = take(new Uint8Array(0)).trim();
      if (line !== "") yield line;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

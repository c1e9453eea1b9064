/**
 * The HTTP side of a scrape, as Prometheus 3 does it:
 *
 * - the `Accept` header built from `scrape_protocols` (weights from 0.6 down,
 *   `escaping=allow-utf-8` on the 1.0.0 formats, the catch-all last);
 * - the exposition format chosen from the response's Content-Type, with
 *   `fallback_scrape_protocol` for a missing, unparsable or foreign type (without
 *   one, such a scrape fails);
 * - the body read as a stream and abandoned once it reaches `body_size_limit`
 *   (counted after decompression, as Prometheus does), or grows past
 *   {@link MAX_BODY_BYTES} (512 MiB, more than a string holds) without one;
 *   a text body is returned decoded, a huge one decoded while it arrives, and
 *   a body past 16 MiB waits at a hook for its turn (see `largebody.ts`);
 * - gzip decoded exactly once: Deno's fetch decodes a gzip response itself when
 *   the request accepted gzip (keeping the `Content-Encoding` header), and not
 *   when it sent `Accept-Encoding: identity`; Prometheus decodes any response
 *   marked gzip, so a body marked gzip that we asked as identity is decoded here;
 * - one `Deno.HttpClient` per job for `tls_config` and `proxy_url`, rebuilt
 *   when a certificate file changes.
 *
 * @module
 */

import { concatBytes } from "../util/body.ts";
import type { ResolvedScrapeConfig, ScrapeProtocol } from "../config/types.ts";
import { BodyDecoder, decodeBody } from "./textparse/decode.ts";

export { decodeBody } from "./textparse/decode.ts";

/** Media types of the exposition formats, as they appear in `Accept`. */
export const PROTOCOL_MEDIA_TYPES: Readonly<Record<ScrapeProtocol, string>> = {
  "PrometheusProto":
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
  "PrometheusText0.0.4": "text/plain;version=0.0.4",
  "PrometheusText1.0.0": "text/plain;version=1.0.0",
  "OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
  "OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0",
};

/** The name escaping ferry asks for: names are sent as they are (UTF-8). */
export const ESCAPING_SCHEME = "allow-utf-8";

/**
 * The `Accept` header for `protocols` (most preferred first). Weights start
 * one above the number of known formats and go down by 0.1; the catch-all
 * gets the next weight.
 */
export function acceptHeader(protocols: readonly ScrapeProtocol[]): string {
  let weight = Object.keys(PROTOCOL_MEDIA_TYPES).length + 1;
  const parts: string[] = [];
  for (const p of protocols) {
    let v = PROTOCOL_MEDIA_TYPES[p];
    if (p === "PrometheusText1.0.0" || p === "OpenMetricsText1.0.0") {
      v += ";escaping=" + ESCAPING_SCHEME;
    }
    parts.push(`${v};q=0.${weight}`);
    weight--;
  }
  parts.push(`*/*;q=0.${weight}`);
  return parts.join(",");
}

// ---------------------------------------------------------------------------
// Content-Type

/** A Content-Type that cannot be parsed (RFC 2045 syntax, as Go's `mime.ParseMediaType`). */
export class MediaTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MediaTypeError";
  }
}

/** The scrape fails because of the response's Content-Type. */
export class ContentTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContentTypeError";
  }
}

const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !TSPECIALS.includes(c);
}

/** Splits the leading token off `s`: [token, rest]. */
function token(s: string): [string, string] {
  let i = 0;
  while (i < s.length && isTokenChar(s[i])) i++;
  return [s.slice(0, i), s.slice(i)];
}

/** A token or a quoted string: [value, rest]; value "" with rest === s when there is none. */
function paramValue(s: string): [string, string] {
  if (s[0] !== '"') return token(s);
  let out = "";
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '"') return [out, s.slice(i + 1)];
    // A backslash escapes only a special character; elsewhere it is literal.
    if (c === "\\" && i + 1 < s.length && TSPECIALS.includes(s[i + 1])) {
      out += s[++i];
      continue;
    }
    if (c === "\r" || c === "\n") return ["", s];
    out += c;
  }
  return ["", s]; // no closing quote
}

const isSpace = (c: string) => /\s/.test(c);

function trimStart(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return s.slice(i);
}

/**
 * Parses a Content-Type into its lower-cased media type and parameters,
 * accepting and rejecting what Go's `mime.ParseMediaType` does (a lone token
 * such as `text` is a media type; a trailing `;` is fine).
 *
 * @throws {MediaTypeError}
 */
export function parseMediaType(v: string): { type: string; params: Map<string, string> } {
  const semi = v.indexOf(";");
  const base = semi < 0 ? v : v.slice(0, semi);
  const type = base.trim().toLowerCase();
  const [major, afterMajor] = token(type);
  if (major === "") throw new MediaTypeError("mime: no media type");
  if (afterMajor !== "") {
    if (afterMajor[0] !== "/") throw new MediaTypeError("mime: expected slash after first token");
    const [minor, afterMinor] = token(afterMajor.slice(1));
    if (minor === "") throw new MediaTypeError("mime: expected token after slash");
    if (afterMinor !== "") {
      throw new MediaTypeError("mime: unexpected content after media subtype");
    }
  }
  const params = new Map<string, string>();
  let rest = v.slice(base.length);
  while (rest.length > 0) {
    rest = trimStart(rest);
    if (rest === "") break;
    const p = param(rest);
    if (p === null) {
      if (rest.trim() === ";") break; // a trailing semicolon
      throw new MediaTypeError("mime: invalid media parameter");
    }
    if (params.has(p.key)) throw new MediaTypeError("mime: duplicate parameter name");
    params.set(p.key, p.value);
    rest = p.rest;
  }
  return { type, params };
}

/** `; key=value` at the start of `s`, or null. */
function param(s: string): { key: string; value: string; rest: string } | null {
  let rest = trimStart(s);
  if (rest[0] !== ";") return null;
  rest = trimStart(rest.slice(1));
  const [rawKey, afterKey] = token(rest);
  if (rawKey === "") return null;
  rest = trimStart(afterKey);
  if (rest[0] !== "=") return null;
  rest = trimStart(rest.slice(1));
  const [value, afterValue] = paramValue(rest);
  if (value === "" && afterValue === rest) return null;
  return { key: rawKey.toLowerCase(), value, rest: afterValue };
}

/**
 * The exposition format of a response, from its Content-Type (null when the
 * header is absent). With `fallback` "" a missing, unparsable or unknown type
 * fails the scrape (Prometheus 3); otherwise the fallback is used and `note`
 * says why.
 *
 * @throws {ContentTypeError}
 */
export function protocolFor(
  contentType: string | null,
  fallback: ScrapeProtocol | "",
): { protocol: ScrapeProtocol; note?: string } {
  const q = JSON.stringify(contentType);
  if (contentType === null || contentType === "") {
    if (fallback === "") {
      throw new ContentTypeError(
        "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target",
      );
    }
    return {
      protocol: fallback,
      note: `blank Content-Type, using fallback_scrape_protocol ${fallback}`,
    };
  }
  let mt: { type: string; params: Map<string, string> };
  try {
    mt = parseMediaType(contentType);
  } catch (e) {
    const why = (e as Error).message;
    if (fallback === "") {
      throw new ContentTypeError(
        `cannot parse Content-Type ${q} and no fallback_scrape_protocol for target: ${why}`,
      );
    }
    return {
      protocol: fallback,
      note:
        `could not parse Content-Type ${q} (${why}), using fallback_scrape_protocol ${fallback}`,
    };
  }
  const version = mt.params.get("version");
  switch (mt.type) {
    case "application/openmetrics-text":
      return { protocol: version === "0.0.1" ? "OpenMetricsText0.0.1" : "OpenMetricsText1.0.0" };
    case "text/plain":
      return { protocol: version === "1.0.0" ? "PrometheusText1.0.0" : "PrometheusText0.0.4" };
    case "application/vnd.google.protobuf":
      return { protocol: "PrometheusProto" };
  }
  if (fallback === "") {
    throw new ContentTypeError(
      `received unsupported Content-Type ${q} and no fallback_scrape_protocol specified for target`,
    );
  }
  return {
    protocol: fallback,
    note: `unsupported Content-Type ${q}, using fallback_scrape_protocol ${fallback}`,
  };
}

// ---------------------------------------------------------------------------
// Body

/** The body reached `body_size_limit`, or grew past {@link MAX_BODY_BYTES}. */
export class BodySizeLimitError extends Error {
  constructor(readonly limit: number, opts: { hard?: boolean } = {}) {
    super(
      opts.hard
        ? `body larger than ${limit} bytes, the most ferry reads (the longest text a string holds); set body_size_limit`
        : `body size limit exceeded (limit ${limit} bytes)`,
    );
    this.name = "BodySizeLimitError";
  }
}

/**
 * The most body bytes a scrape reads whatever `body_size_limit` says: the
 * longest string V8 makes (2^29 − 24 UTF-16 code units), so a larger text
 * body could not be parsed anyway. Without a `body_size_limit`, this bounds
 * what an endless body costs.
 */
export const MAX_BODY_BYTES = 2 ** 29 - 24;

const EMPTY = new Uint8Array(0);

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** `body_size_limit`: a body of this many bytes or more (decoded) fails; 0: none. */
  limit: number;
  /** gzip-decode the body first. */
  gunzip: boolean;
  /** Most bytes read whatever `limit` says. @default MAX_BODY_BYTES */
  max?: number;
  /**
   * Return the body decoded as UTF-8 text (as `decodeBody` does); past
   * 16 MiB it is decoded piece by piece while it arrives, so a huge body's
   * bytes are never held whole besides its text (see `BodyDecoder`).
   */
  text?: boolean;
  /**
   * `wait` is called, and awaited before more is read, once the body has
   * grown past `bytes` (a scrape waits there for its turn to hold a large
   * body); a rejection fails the read.
   */
  large?: { bytes: number; wait: () => Promise<void> };
}

/**
 * Reads a response body: its bytes, or with `text` the decoded text. With
 * `gunzip` it is gzip-decoded first. With a `limit` > 0, a body of `limit`
 * bytes or more (decoded) fails as soon as the limit is reached, and the
 * rest is not downloaded; so does one of more than `max` bytes (default
 * {@link MAX_BODY_BYTES}) whatever the limit.
 *
 * @throws {BodySizeLimitError}
 */
export function readBody(res: Response, opts: ReadBodyOptions & { text: true }): Promise<string>;
export function readBody(
  res: Response,
  opts: ReadBodyOptions & { text?: false },
): Promise<Uint8Array>;
export function readBody(res: Response, opts: ReadBodyOptions): Promise<Uint8Array | string>;
export async function readBody(
  res: Response,
  opts: ReadBodyOptions,
): Promise<Uint8Array | string> {
  const max = opts.max ?? MAX_BODY_BYTES;
  if (res.body === null) return opts.text ? "" : EMPTY;
  if (opts.text && !opts.gunzip) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = res.body.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream (a Response built in a test, say): chunks as they come.
    }
    if (byob !== null) return readTextInto(byob, opts, max);
  }
  const text = opts.text ? new BodyDecoder() : null;
  const stream = opts.gunzip ? res.body.pipeThrough(new DecompressionStream("gzip")) : res.body;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const check = new BodyCheck(opts, max);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await check.add(value.byteLength);
      if (text !== null) text.push(value);
      else chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
  if (text !== null) return text.end();
  if (chunks.length === 1) return chunks[0];
  return concatBytes(chunks, check.total);
}

/** Counts a body's bytes as they arrive and applies `limit`, `max` and the large-body wait. */
class BodyCheck {
  total = 0;
  #large: ReadBodyOptions["large"];
  constructor(readonly opts: ReadBodyOptions, readonly max: number) {
    this.#large = opts.large;
  }

  /** @throws {BodySizeLimitError} */
  async add(n: number): Promise<void> {
    const total = this.total += n;
    const { limit } = this.opts;
    if (limit > 0 && total >= limit && limit <= this.max) throw new BodySizeLimitError(limit);
    if (total > this.max) throw new BodySizeLimitError(this.max, { hard: true });
    const large = this.#large;
    if (large !== undefined && total > large.bytes) {
      this.#large = undefined;
      await large.wait();
    }
  }
}

/**
 * Buffers that text bodies are read into (BYOB), kept for later scrapes: a
 * scrape's body then costs no new memory outside V8's heap. Fresh buffers
 * for every chunk, as a default reader gets them, add up between V8's
 * young-generation collections and start full (mark-compact) collections of
 * the whole heap; on the bench's M workload that was most of them.
 */
const bodyBuffers: Uint8Array[] = [];
/** Buffers kept in `bodyBuffers` at most (scrapes reading at the same moment). */
const BODY_BUFFERS_KEPT = 8;
/** Size of a new body buffer; it doubles as a body needs, up to {@link BODY_BUFFER_MAX}. */
const BODY_BUFFER_FIRST = 256 * 1024;
/** Past this, a body is read in fresh pieces and decoded by `BodyDecoder` (never kept). */
const BODY_BUFFER_MAX = 4 * 1024 * 1024;

/** `readBody` with `text` over a byte stream: read into a kept buffer, then decoded. */
async function readTextInto(
  reader: ReadableStreamBYOBReader,
  opts: ReadBodyOptions,
  max: number,
): Promise<string> {
  let buf = bodyBuffers.pop() ?? new Uint8Array(BODY_BUFFER_FIRST);
  let len = 0;
  // Past BODY_BUFFER_MAX: the pieces go to a BodyDecoder and `buf` is done with.
  let decoder: BodyDecoder | null = null;
  const check = new BodyCheck(opts, max);
  try {
    for (;;) {
      if (len === buf.length && decoder === null) {
        if (buf.length < BODY_BUFFER_MAX) {
          const next = new Uint8Array(buf.length * 2);
          next.set(buf);
          release(buf);
          buf = next;
        } else {
          decoder = new BodyDecoder();
          decoder.push(buf.slice(0, len));
        }
      }
      const into = decoder === null ? buf.subarray(len) : new Uint8Array(BODY_BUFFER_FIRST);
      const { done, value } = await reader.read(into);
      // The buffer read into was handed over to the stream; `value` views it again.
      if (decoder === null && value !== undefined) buf = new Uint8Array(value.buffer);
      if (done) break;
      await check.add(value.byteLength);
      if (decoder !== null) decoder.push(value);
      else len += value.byteLength;
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    release(buf);
    throw e;
  }
  try {
    return decoder !== null ? decoder.end() : decodeBody(buf.subarray(0, len));
  } finally {
    release(buf);
  }
}

/** How many body buffers are kept for later reads (for tests). */
export function keptBodyBuffers(): number {
  return bodyBuffers.length;
}

/** Keeps a body buffer for later reads (unless the stream still holds it, or enough are kept). */
function release(buf: Uint8Array): void {
  if (
    buf.byteLength > 0 && buf.byteLength <= BODY_BUFFER_MAX &&
    bodyBuffers.length < BODY_BUFFERS_KEPT && !bodyBuffers.includes(buf)
  ) {
    bodyBuffers.push(buf);
  }
}

// ---------------------------------------------------------------------------
// TLS and proxy

/** Reads a file as text (injected in tests). */
export type ReadTextFile = (path: string) => Promise<string>;

/** Options for `Deno.createHttpClient`, client certificate included. */
export type HttpClientOptions = Deno.CreateHttpClientOptions & { cert?: string; key?: string };

/** Builds the client options for `proxyUrl`: the URL's user and password become proxy basic auth. */
export function proxyOptions(proxyUrl: string): Deno.Proxy {
  const u = new URL(proxyUrl);
  const transport = u.protocol === "https:" ? "https" : u.protocol === "http:" ? "http" : "socks5";
  const proxy: Deno.Proxy = { transport, url: proxyUrl };
  if (u.username !== "" || u.password !== "") {
    proxy.basicAuth = {
      username: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
    };
    u.username = "";
    u.password = "";
    proxy.url = u.href;
  }
  return proxy;
}

/** How often certificate files are checked for changes, at most. */
const RECHECK_MS = 1000;

/**
 * The HTTP client of one scrape job for `tls_config` and `proxy_url`. Inline
 * PEM is used as given; files are read when a scrape needs the client (at most
 * once a second) and the client is rebuilt when their content changes, so
 * rotated certificates are picked up without a reload. A file that cannot be
 * read, or PEM Deno rejects, fails the scrapes with the reason until fixed.
 */
export class ScrapeHttpClient {
  readonly #cfg: Pick<ResolvedScrapeConfig, "tlsConfig" | "proxyUrl">;
  readonly #read: ReadTextFile;
  readonly #create: (o: HttpClientOptions) => Deno.HttpClient;
  readonly #recheckMs: number;
  #current: { key: string; client: Deno.HttpClient } | null = null;
  #checkedAt = -Infinity;
  #pending: Promise<Deno.HttpClient> | null = null;
  readonly #all: Deno.HttpClient[] = [];

  constructor(
    cfg: Pick<ResolvedScrapeConfig, "tlsConfig" | "proxyUrl">,
    opts: {
      readTextFile?: ReadTextFile;
      create?: (o: HttpClientOptions) => Deno.HttpClient;
      /** Least time between two reads of the files. @default 1000 */
      recheckMs?: number;
    } = {},
  ) {
    this.#cfg = cfg;
    this.#read = opts.readTextFile ?? ((p) => Deno.readTextFile(p));
    this.#create = opts.create ?? ((o) => Deno.createHttpClient(o));
    this.#recheckMs = opts.recheckMs ?? RECHECK_MS;
  }

  /** Whether the job needs its own client (otherwise fetch's default one is used). */
  get needed(): boolean {
    const t = this.#cfg.tlsConfig;
    return this.#cfg.proxyUrl !== "" || Object.values(t).some((v) => v !== "");
  }

  /** The client to pass to fetch, or undefined when the default one will do. */
  get(): Promise<Deno.HttpClient | undefined> {
    if (!this.needed) return Promise.resolve(undefined);
    if (this.#current !== null && performance.now() - this.#checkedAt < this.#recheckMs) {
      return Promise.resolve(this.#current.client);
    }
    this.#pending ??= this.#refresh().finally(() => this.#pending = null);
    return this.#pending;
  }

  async #refresh(): Promise<Deno.HttpClient> {
    const t = this.#cfg.tlsConfig;
    const pem = async (inline: string, file: string, what: string): Promise<string> => {
      if (inline !== "") return inline;
      if (file === "") return "";
      try {
        return await this.#read(file);
      } catch (e) {
        throw new Error(`tls_config: reading ${what} file ${file}: ${(e as Error).message}`);
      }
    };
    const [ca, cert, key] = await Promise.all([
      pem(t.ca, t.caFile, "CA"),
      pem(t.cert, t.certFile, "certificate"),
      pem(t.key, t.keyFile, "key"),
    ]);
    this.#checkedAt = performance.now();
    const cacheKey = JSON.stringify([ca, cert, key]);
    if (this.#current !== null && this.#current.key === cacheKey) return this.#current.client;
    if (ca !== "" && !ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw new Error("tls_config: no PEM certificate found in the CA");
    }
    const o: HttpClientOptions = {};
    if (ca !== "") o.caCerts = [ca];
    if (cert !== "") {
      o.cert = cert;
      o.key = key;
    }
    if (this.#cfg.proxyUrl !== "") o.proxy = proxyOptions(this.#cfg.proxyUrl);
    let client: Deno.HttpClient;
    try {
      client = this.#create(o);
    } catch (e) {
      throw new Error(`creating the HTTP client (tls_config, proxy_url): ${(e as Error).message}`);
    }
    // Scrapes in flight may still use the previous client; it is closed with the job.
    this.#all.push(client);
    this.#current = { key: cacheKey, client };
    return client;
  }

  /** Closes every client made (the job stopped). */
  close(): void {
    for (const c of this.#all.splice(0)) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    this.#current = null;
  }
}

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for remote write, as
 * Prometheus' `oauth2` does it through Go's `clientcredentials` package:
 *
 * - the token request is a form POST to `token_url` with
 *   `grant_type=client_credentials`, `scope` (the scopes, space-separated)
 *   and the `endpoint_params`;
 * - the client authenticates with HTTP basic auth (id and secret
 *   form-encoded first, as RFC 6749 §2.3.1 says); when the server rejects
 *   that with 400 or 401, the request is repeated with `client_id` and
 *   `client_secret` in the body, and whichever worked is used from then on
 *   (Go's auto-detection);
 * - the token is cached until 10 s before `expires_in` runs out (forever
 *   without `expires_in`), then fetched again; requests that need a token
 *   while one is being fetched wait for that one fetch;
 * - `client_secret_file` is read each time a token is fetched, so a rotated
 *   secret is picked up;
 * - `tls_config` and `proxy_url` of the token endpoint use their own
 *   `Deno.HttpClient`.
 *
 * Errors name the token URL, never the secret.
 *
 * @module
 */

import type { ResolvedOAuth2 } from "../config/types.ts";
import { ScrapeHttpClient } from "../scrape/http.ts";

/** Options of {@link OAuth2TokenSource}. */
export interface OAuth2Options {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Reads `client_secret_file`. @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
  /** Longest a token request may take. @default 30000 */
  timeoutMs?: number;
}

/** A cached token is renewed this long before it expires (Go's `expiryDelta`). */
export const EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** How much of an error response is quoted. */
const MAX_QUOTE = 200;

interface Token {
  /** `Authorization` header value. */
  header: string;
  /** When it stops being used (ms since the epoch). */
  renewAt: number;
}

/** Where the client credentials go in the token request. */
type AuthStyle = "probe" | "header" | "body";

/** The largest token response read; a bigger one fails the token request. */
export const MAX_TOKEN_RESPONSE_BYTES = 1 << 20;

/** Fetches, caches and renews the access token of one `oauth2` config. */
export class OAuth2TokenSource {
  readonly #cfg: ResolvedOAuth2;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #read: (path: string) => Promise<string>;
  readonly #timeoutMs: number;
  readonly #client: ScrapeHttpClient;
  #token: Token | null = null;
  #pending: Promise<Token> | null = null;
  #style: AuthStyle = "probe";

  constructor(cfg: ResolvedOAuth2, opts: OAuth2Options = {}) {
    this.#cfg = cfg;
    this.#fetch = opts.fetch ?? fetch;
    this.#now = opts.now ?? Date.now;
    this.#read = opts.readTextFile ?? ((p) => Deno.readTextFile(p));
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#client = new ScrapeHttpClient(cfg);
  }

  /**
   * The `Authorization` header value (`Bearer <token>`), from the cache or
   * from a new token request. `signal` abandons the wait, not a fetch other
   * requests share.
   */
  header(opts: { signal?: AbortSignal; userAgent?: string | null } = {}): Promise<string> {
    const t = this.#token;
    if (t !== null && this.#now() < t.renewAt) return Promise.resolve(t.header);
    this.#pending ??= this.#fetchToken(opts.userAgent ?? null).then(
      (tok) => {
        this.#token = tok;
        this.#pending = null;
        return tok;
      },
      (e) => {
        this.#pending = null;
        throw e;
      },
    );
    return abortable(this.#pending, opts.signal).then((tok) => tok.header);
  }

  /** Forgets the cached token (the next request fetches a new one). */
  invalidate(): void {
    this.#token = null;
  }

  /** Closes the token endpoint's HTTP client. */
  close(): void {
    this.#client.close();
  }

  async #fetchToken(userAgent: string | null): Promise<Token> {
    const url = this.#cfg.tokenUrl;
    const secret = await this.#secret();
    let client: Deno.HttpClient | undefined;
    try {
      client = await this.#client.get();
    } catch (e) {
      throw new Error(`oauth2: token endpoint ${url}: ${(e as Error).message}`);
    }
    const style = this.#style === "probe" ? "header" : this.#style;
    let res = await this.#post(style, secret, { client, userAgent });
    if (this.#style === "probe" && (res.status === 400 || res.status === 401)) {
      await res.body?.cancel();
      res = await this.#post("body", secret, { client, userAgent });
      if (res.ok) this.#style = "body";
    } else if (this.#style === "probe" && res.ok) this.#style = "header";
    const receivedAt = this.#now();
    const text = await this.#readBody(res);
    if (!res.ok) {
      throw new Error(
        `oauth2: token request to ${url} failed: HTTP ${res.status}${describeError(text, secret)}`,
      );
    }
    return parseToken(text, res.headers.get("content-type"), { url, now: receivedAt });
  }

  async #secret(): Promise<string> {
    const file = this.#cfg.clientSecretFile;
    if (file === "") return this.#cfg.clientSecret;
    try {
      return (await this.#read(file)).trim();
    } catch (e) {
      throw new Error(
        `oauth2: reading client_secret_file ${file}: ${e instanceof Error ? e.message : e}`,
      );
    }
  }

  async #post(
    style: "header" | "body",
    secret: string,
    opts: { client: Deno.HttpClient | undefined; userAgent: string | null },
  ): Promise<Response> {
    const cfg = this.#cfg;
    const form: [string, string][] = [["grant_type", "client_credentials"]];
    if (cfg.scopes.length > 0) form.push(["scope", cfg.scopes.join(" ")]);
    for (const [k, v] of Object.entries(cfg.endpointParams)) {
      // endpoint_params may override grant_type (Go allows it for odd servers).
      const i = form.findIndex(([name]) => name === k);
      if (i >= 0) form[i] = [k, v];
      else form.push([k, v]);
    }
    const headers = new Headers({
      "Content-Type": "application/x-www-form-urlencoded",
      "Accept": "application/json",
    });
    if (opts.userAgent) headers.set("User-Agent", opts.userAgent);
    if (style === "header") {
      const basic = `${formEncode(cfg.clientId)}:${formEncode(secret)}`;
      headers.set("Authorization", "Basic " + base64(basic));
    } else {
      form.push(["client_id", cfg.clientId]);
      if (secret !== "") form.push(["client_secret", secret]);
    }
    const body = form.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join("&");
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new Error(`timed out after ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    const init: RequestInit & { client?: Deno.HttpClient } = {
      method: "POST",
      headers,
      body,
      signal: ac.signal,
    };
    if (opts.client !== undefined) init.client = opts.client;
    try {
      return await this.#fetch(cfg.tokenUrl, init);
    } catch (e) {
      const why = ac.signal.aborted ? (ac.signal.reason as Error).message : errorMessage(e);
      throw new Error(`oauth2: token request to ${cfg.tokenUrl} failed: ${why}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads the token response, bounded in time (`timeoutMs`) and size (`MAX_TOKEN_RESPONSE_BYTES`). */
  async #readBody(res: Response): Promise<string> {
    const fail = (why: string) =>
      new Error(`oauth2: reading the token response from ${this.#cfg.tokenUrl}: ${why}`);
    if (!res.body) return "";
    const reader = res.body.getReader();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reader.cancel().catch(() => {});
    }, this.#timeoutMs);
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (timedOut) throw fail(`timed out after ${this.#timeoutMs} ms`);
        if (done) break;
        total += value.length;
        if (total > MAX_TOKEN_RESPONSE_BYTES) {
          await reader.cancel().catch(() => {});
          throw fail(`larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("oauth2:")) throw e;
      throw fail(timedOut ? `timed out after ${this.#timeoutMs} ms` : errorMessage(e));
    } finally {
      clearTimeout(timer);
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    return new TextDecoder().decode(all);
  }
}

/**
 * A token response: JSON (RFC 6749 §5.1), or a form body when the server
 * says `application/x-www-form-urlencoded` or `text/plain` (as Go accepts).
 */
function parseToken(
  text: string,
  contentType: string | null,
  ctx: { url: string; now: number },
): Token {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  let fields: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
  if (type === "application/x-www-form-urlencoded" || type === "text/plain") {
    const p = new URLSearchParams(text);
    fields = {
      access_token: p.get("access_token") ?? undefined,
      token_type: p.get("token_type") ?? undefined,
      expires_in: p.get("expires_in") ?? undefined,
    };
  } else {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new Error(`oauth2: the token response from ${ctx.url} is not JSON`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new Error(`oauth2: the token response from ${ctx.url} is not a JSON object`);
    }
    fields = v;
  }
  const token = fields.access_token;
  if (typeof token !== "string" || token === "") {
    throw new Error(`oauth2: the token response from ${ctx.url} has no access_token`);
  }
  const expiresIn = typeof fields.expires_in === "number"
    ? fields.expires_in
    : typeof fields.expires_in === "string" && fields.expires_in.trim() !== ""
    ? Number(fields.expires_in)
    : 0;
  const renewAt = Number.isFinite(expiresIn) && expiresIn > 0
    ? ctx.now + expiresIn * 1000 - EXPIRY_MARGIN_MS
    : Infinity;
  const header = `${tokenType(fields.token_type)} ${token}`;
  if (!HEADER_VALUE.test(header)) {
    throw new Error(
      `oauth2: the token response from ${ctx.url} has an access_token or token_type ` +
        `that cannot be sent in a header`,
    );
  }
  return { header, renewAt };
}

/** `<type> <token>`, both visible ASCII. */
const HEADER_VALUE = /^[\x21-\x7e]+ [\x21-\x7e]+$/;

/** Go's `Token.Type()`: bearer, mac and basic capitalized; empty means Bearer. */
function tokenType(t: unknown): string {
  if (typeof t !== "string" || t === "") return "Bearer";
  switch (t.toLowerCase()) {
    case "bearer":
      return "Bearer";
    case "mac":
      return "MAC";
    case "basic":
      return "Basic";
  }
  return t;
}

/** `: <error> <error_description>` from an RFC 6749 §5.2 body, else a quote of the body. */
function describeError(text: string, secret: string): string {
  let out = "";
  try {
    const v = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof v?.error === "string") {
      out = v.error;
      if (typeof v.error_description === "string") out += ` (${v.error_description})`;
    }
  } catch {
    // not JSON
  }
  if (out === "") out = text.trim().slice(0, MAX_QUOTE);
  if (secret !== "") out = out.replaceAll(secret, "<secret>");
  return out === "" ? "" : `: ${out}`;
}

/** Waits for `p`, or rejects when `signal` aborts first. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** `application/x-www-form-urlencoded`, as Go's `url.QueryEscape`. */
export function formEncode(s: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

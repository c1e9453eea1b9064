/**
 * AWS Signature Version 4 for remote write to Amazon Managed Service for
 * Prometheus (service `aps`), as Prometheus' `sigv4` does with the AWS SDK:
 * every request is signed over its method, path, query, headers and a
 * SHA-256 of its body, with credentials from the config or from the
 * standard `AWS_*` environment variables.
 *
 * Canonical form (what AWS recomputes on its side):
 *
 * - path: dot segments and empty segments removed (a trailing `/` kept), each
 *   segment URI-encoded once more as it appears on the wire (so, for every
 *   service but S3, "encoded twice"); S3 paths are used as sent;
 * - query: names and values URI-encoded (only `A-Z a-z 0-9 - . _ ~` kept),
 *   sorted by name, then value;
 * - headers: `host` and every request header except the ones proxies and
 *   fetch implementations may change (the AWS SDK's ignore list plus
 *   Prometheus' `uber-trace-id`), names lower-cased, values trimmed with
 *   inner runs of spaces collapsed, sorted.
 *
 * @module
 */

import { sha256Hex } from "./hash.ts";
import type { ResolvedSigV4 } from "../config/types.ts";
import type { AuthRequest, RequestAuth } from "./httpauth.ts";

/** AWS credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials' token, sent and signed as `x-amz-security-token`. */
  sessionToken?: string;
}

/** The parts of a request that are signed. */
export interface SigningInput {
  method: string;
  /** The path as sent (percent-encoded as on the wire). */
  path: string;
  /** Query parameters, decoded, in any order. */
  query: Iterable<readonly [string, string]>;
  /** The headers to sign, `host` included; repeated names are joined with ",". */
  headers: Iterable<readonly [string, string]>;
  /** Hex SHA-256 of the body. */
  payloadHash: string;
}

/** A signature and the intermediate strings (for tests and debugging). */
export interface Signature {
  /** The `Authorization` header value. */
  authorization: string;
  signature: string;
  signedHeaders: string;
  canonicalRequest: string;
  stringToSign: string;
}

/** Headers never signed: set or changed by the transport, proxies or tracing. */
const UNSIGNED_HEADERS = new Set([
  "authorization",
  "user-agent",
  "x-amzn-trace-id",
  "uber-trace-id",
  "expect",
  "transfer-encoding",
  "connection",
  "content-length",
]);

const encoder = new TextEncoder();

/**
 * Signs `input` with SigV4 (`AWS4-HMAC-SHA256`).
 *
 * @param input What is signed; its headers must include `host` and `x-amz-date`
 *   (and `x-amz-security-token` with temporary credentials).
 * @param opts Credentials, region, service and the signing time.
 */
export async function signV4(
  input: SigningInput,
  opts: { credentials: AwsCredentials; region: string; service: string; date: Date },
): Promise<Signature> {
  const amzDate = formatAmzDate(opts.date);
  const day = amzDate.slice(0, 8);
  const { names, lines } = canonicalHeaders(input.headers);
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalPath(input.path, opts.service),
    canonicalQuery(input.query),
    lines,
    signedHeaders,
    input.payloadHash,
  ].join("\n");
  const scope = `${day}/${opts.region}/${opts.service}/aws4_request`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    await sha256Hex(encoder.encode(canonicalRequest)),
  ].join("\n");
  const key = await signingKey(opts.credentials.secretAccessKey, day, opts.region, opts.service);
  const signature = toHex(await hmac(key, stringToSign));
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`,
    signature,
    signedHeaders,
    canonicalRequest,
    stringToSign,
  };
}

/** `YYYYMMDDTHHMMSSZ`, the form of `x-amz-date`. */
export function formatAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * URI encoding as AWS specifies it: `A-Z a-z 0-9 - . _ ~` kept, every other
 * UTF-8 byte as `%XX` (upper-case hex); with `keepSlash`, `/` is kept too.
 */
export function awsUriEncode(s: string, keepSlash = false): string {
  let out = "";
  for (const byte of encoder.encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * The canonical URI of a path as sent. For S3 the path is used as it is
 * (it must already be encoded as S3 wants); for every other service it is
 * normalized (`.`, `..` and empty segments removed, a trailing `/` kept) and
 * each segment encoded once more.
 */
export function canonicalPath(path: string, service: string): string {
  if (path === "") return "/";
  if (service === "s3") return path;
  const segments: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") segments.pop();
    else segments.push(awsUriEncode(seg));
  }
  if (segments.length === 0) return "/";
  return "/" + segments.join("/") + (path.endsWith("/") ? "/" : "");
}

/** `name=value` pairs, encoded, sorted by name then value, joined with `&`. */
export function canonicalQuery(query: Iterable<readonly [string, string]>): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of query) pairs.push([awsUriEncode(k), awsUriEncode(v)]);
  pairs.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted lower-case names, and the `name:value\n` lines. */
function canonicalHeaders(
  headers: Iterable<readonly [string, string]>,
): { names: string[]; lines: string } {
  const byName = new Map<string, string[]>();
  for (const [rawName, rawValue] of headers) {
    const name = rawName.toLowerCase();
    const value = rawValue.trim().replace(/[ \t]+/g, " ");
    const list = byName.get(name);
    if (list) list.push(value);
    else byName.set(name, [value]);
  }
  const names = [...byName.keys()].sort(cmp);
  let lines = "";
  for (const n of names) lines += `${n}:${byName.get(n)!.join(",")}\n`;
  return { names, lines };
}

/** The last derived signing key: it changes once a day. */
let keyCache: { id: string; key: Promise<ArrayBuffer> } | undefined;

function signingKey(
  secret: string,
  day: string,
  region: string,
  service: string,
): Promise<ArrayBuffer> {
  const id = JSON.stringify([secret, day, region, service]);
  if (keyCache?.id !== id) {
    const key = (async () => {
      let k = await hmac(encoder.encode("AWS4" + secret), day);
      k = await hmac(k, region);
      k = await hmac(k, service);
      return hmac(k, "aws4_request");
    })();
    keyCache = { id, key };
    // A failed derivation is not kept.
    key.catch(() => {
      if (keyCache?.key === key) keyCache = undefined;
    });
  }
  return keyCache.key;
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as ArrayBuffer,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", k, encoder.encode(data));
}

function toHex(buf: ArrayBuffer): string {
  const b = new Uint8Array(buf);
  let out = "";
  for (let i = 0; i < b.length; i++) out += b[i].toString(16).padStart(2, "0");
  return out;
}

// ---------------------------------------------------------------------------
// Remote write

/** Reads an environment variable; may throw when the environment cannot be read. */
export type EnvLookup = (name: string) => string | undefined;

/** Variables the signer may read. */
const ENV_VARS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
];

/**
 * Signs remote-write requests. Credentials and region missing from the
 * config are read from the environment at each request; errors say what to
 * set, and never include a secret.
 */
export class SigV4Auth implements RequestAuth {
  readonly #cfg: ResolvedSigV4;
  readonly #now: () => number;
  readonly #env: EnvLookup;

  constructor(cfg: ResolvedSigV4, opts: { now?: () => number; env?: EnvLookup } = {}) {
    this.#cfg = cfg;
    this.#now = opts.now ?? Date.now;
    this.#env = opts.env ?? ((name) => Deno.env.get(name));
  }

  /** Sets `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` and `Authorization`. */
  async apply(req: AuthRequest): Promise<void> {
    const credentials = this.#credentials();
    const region = this.#region();
    const date = new Date(this.#now());
    const payloadHash = await sha256Hex(req.body);
    const h = req.headers;
    h.delete("authorization");
    h.set("x-amz-date", formatAmzDate(date));
    h.set("x-amz-content-sha256", payloadHash);
    if (credentials.sessionToken) h.set("x-amz-security-token", credentials.sessionToken);
    else h.delete("x-amz-security-token");
    const headers: [string, string][] = [["host", req.url.host]];
    for (const [name, value] of h) if (!UNSIGNED_HEADERS.has(name)) headers.push([name, value]);
    const { authorization } = await signV4(
      {
        method: req.method,
        path: req.url.pathname,
        query: req.url.searchParams,
        headers,
        payloadHash,
      },
      { credentials, region, service: this.#cfg.serviceName, date },
    );
    h.set("authorization", authorization);
  }

  #credentials(): AwsCredentials {
    if (this.#cfg.accessKey !== "") {
      return { accessKeyId: this.#cfg.accessKey, secretAccessKey: this.#cfg.secretKey };
    }
    const accessKeyId = this.#getenv("AWS_ACCESS_KEY_ID");
    const secretAccessKey = this.#getenv("AWS_SECRET_ACCESS_KEY");
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        "sigv4: no AWS credentials: give access_key and secret_key, or set " +
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary " +
          "credentials) in ferry's environment; ferry does not read ~/.aws files, instance " +
          "roles or web identity tokens",
      );
    }
    const sessionToken = this.#getenv("AWS_SESSION_TOKEN");
    return sessionToken
      ? { accessKeyId, secretAccessKey, sessionToken }
      : { accessKeyId, secretAccessKey };
  }

  #region(): string {
    const region = this.#cfg.region || this.#getenv("AWS_REGION") ||
      this.#getenv("AWS_DEFAULT_REGION");
    if (!region) {
      throw new Error(
        "sigv4: no AWS region: give region, or set AWS_REGION in ferry's environment",
      );
    }
    return region;
  }

  #getenv(name: string): string | undefined {
    try {
      return this.#env(name) || undefined;
    } catch (e) {
      throw new Error(
        `sigv4: cannot read ${name} from the environment (${(e as Error).message}); run ferry ` +
          `with --allow-env=${ENV_VARS.join(",")}, or give region, access_key and secret_key ` +
          `in the config`,
      );
    }
  }
}

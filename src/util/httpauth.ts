/**
 * Request authentication. `basic_auth` and `authorization` headers are
 * shared by scraping, SD and remote write; remote write also has `oauth2`
 * (client credentials, see `oauth2.ts`) and `sigv4` (AWS, see `sigv4.ts`),
 * behind one interface, {@link RequestAuth}. Credential files are read at
 * request time, so rotated secrets are picked up without a reload.
 *
 * @module
 */

import type { ResolvedHttpClient, ResolvedRemoteWrite } from "../config/types.ts";
import { OAuth2TokenSource } from "./oauth2.ts";
import { type EnvLookup, SigV4Auth } from "./sigv4.ts";

/** The parts of an outgoing request authentication may read and change (its headers). */
export interface AuthRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

/**
 * Adds authentication to one request: basic_auth, authorization (incl.
 * credentials_file), oauth2 (client credentials, token cached until ~expiry),
 * sigv4 (signs method, URL, headers and body hash). Call `apply` last, after
 * every other header is set: sigv4 signs them.
 */
export interface RequestAuth {
  /** Sets the request's auth headers; rejects with a message fit for logs (no secrets). */
  apply(req: AuthRequest, signal?: AbortSignal): Promise<void>;
  /** Releases what it holds (oauth2's token-endpoint HTTP client); optional to call. */
  close?(): void;
  /** The server answered 401: credentials that can be renewed (an oauth2 token) are dropped. */
  rejected?(): void;
}

/** Options of {@link requestAuth}. */
export interface RequestAuthOptions {
  /** Used for oauth2 token requests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch (token expiry, sigv4 date). @default Date.now */
  now?: () => number;
  /** Environment lookup for sigv4; may throw without --allow-env. @default Deno.env.get */
  env?: EnvLookup;
}

/**
 * The authentication of a remote-write endpoint, or undefined when it has
 * none. The config allows at most one method (checked at load).
 */
export function requestAuth(
  cfg: Pick<ResolvedRemoteWrite, "basicAuth" | "authorization" | "oauth2" | "sigv4">,
  opts: RequestAuthOptions = {},
): RequestAuth | undefined {
  if (cfg.sigv4) return new SigV4Auth(cfg.sigv4, opts);
  if (cfg.oauth2) {
    const source = new OAuth2TokenSource(cfg.oauth2, opts);
    return {
      async apply(req, signal) {
        const userAgent = req.headers.get("user-agent");
        req.headers.set("Authorization", await source.header({ signal, userAgent }));
      },
      close: () => source.close(),
      rejected: () => source.invalidate(),
    };
  }
  if (cfg.basicAuth || cfg.authorization) {
    return {
      async apply(req) {
        req.headers.set("Authorization", (await authorizationHeader(cfg))!);
      },
    };
  }
  return undefined;
}

/** The `Authorization` header value for the settings, or undefined when none are configured. */
export async function authorizationHeader(
  cfg: Pick<ResolvedHttpClient, "basicAuth" | "authorization">,
): Promise<string | undefined> {
  const { basicAuth, authorization } = cfg;
  if (basicAuth) {
    const password = basicAuth.passwordFile !== undefined
      ? await readSecret(basicAuth.passwordFile)
      : basicAuth.password ?? "";
    return basicAuthHeader(basicAuth.username, password);
  }
  if (authorization) {
    const creds = authorization.credentialsFile !== undefined
      ? await readSecret(authorization.credentialsFile)
      : authorization.credentials ?? "";
    return `${authorization.type} ${creds}`;
  }
  return undefined;
}

/** Returns a function computing the auth headers of one request, or undefined when none are configured. */
export function authHeaders(
  cfg: Pick<ResolvedHttpClient, "basicAuth" | "authorization">,
): (() => Promise<Record<string, string>>) | undefined {
  if (!cfg.basicAuth && !cfg.authorization) return undefined;
  return async () => ({ Authorization: (await authorizationHeader(cfg))! });
}

/** `Basic <base64(user:password)>`, UTF-8 encoded as Go does. */
export function basicAuthHeader(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return "Basic " + btoa(bin);
}

/** Reads a credentials file, trimmed; the error names the file but never its content. */
export async function readSecret(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (e) {
    throw new Error(
      `reading credentials file ${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

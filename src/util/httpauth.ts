/**
 * Authentication headers from `basic_auth` and `authorization` settings,
 * shared by scraping and remote write. Credential files are read at request
 * time, so rotated secrets are picked up without a reload.
 *
 * @module
 */

import type { ResolvedHttpClient } from "../config/types.ts";

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

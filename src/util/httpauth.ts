/**
 * Authentication headers from `basic_auth` and `authorization` settings.
 * Credential files are read at request time, so rotated secrets are picked up
 * without a reload.
 *
 * @module
 */

import type { ResolvedHttpClient } from "../config/types.ts";

/** Returns a function computing the auth headers for one request, or undefined when none are configured. */
export function authHeaders(
  cfg: Pick<ResolvedHttpClient, "basicAuth" | "authorization">,
): (() => Promise<Record<string, string>>) | undefined {
  const { basicAuth, authorization } = cfg;
  if (basicAuth) {
    return async () => {
      const password = basicAuth.passwordFile !== undefined
        ? (await Deno.readTextFile(basicAuth.passwordFile)).trim()
        : basicAuth.password ?? "";
      return { Authorization: "Basic " + base64(`${basicAuth.username}:${password}`) };
    };
  }
  if (authorization) {
    return async () => {
      const creds = authorization.credentialsFile !== undefined
        ? (await Deno.readTextFile(authorization.credentialsFile)).trim()
        : authorization.credentials ?? "";
      return { Authorization: `${authorization.type} ${creds}` };
    };
  }
  return undefined;
}

function base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

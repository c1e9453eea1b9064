/**
 * `--web.config.file`: TLS and basic authentication for ferry's web server,
 * in the format of Prometheus' exporter-toolkit web config:
 *
 * ```yaml
 * tls_server_config:
 *   cert_file: server.crt      # relative to the web config file
 *   key_file: server.key
 * http_server_config:
 *   headers:
 *     Strict-Transport-Security: max-age=31536000
 * basic_auth_users:
 *   alice: $2y$10$...           # bcrypt hash (htpasswd -nBC 10 alice)
 * ```
 *
 * What Deno's server cannot do is refused with a clear error rather than
 * silently ignored: client certificates (`client_auth_type` other than
 * `NoClientCert`, `client_ca_file`), pinning TLS versions, cipher suites or
 * curves, and turning HTTP/2 off.
 *
 * Basic auth guards every path, `/-/healthy` and `/-/ready` included, as in
 * Prometheus. bcrypt is slow on purpose (~65 ms at cost 10), so a verified
 * user and password is cached (keyed by a SHA-256 of both, never the
 * password itself) for {@link AUTH_CACHE_TTL_MS}; an unknown user costs a
 * bcrypt comparison too, so timing does not reveal which users exist. The
 * file is read again when its modification time changes (checked at most
 * once a second): users and headers change without a restart, a broken
 * edit keeps the last good config (logged); TLS files are read at start.
 *
 * @module
 */

import bcrypt from "bcryptjs";
import { dirname, resolve as resolvePath } from "node:path";
import { isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "../config/errors.ts";
import { withoutProcessEnv } from "../config/prometheus.ts";
import { BCRYPT_HASH_RE } from "../util/bcrypt_hash.ts";
import { sha256Hex } from "../util/hash.ts";
import { log } from "../util/log.ts";

/** A loaded web config. */
export interface WebConfig {
  /** PEM certificate chain and key for HTTPS; null: plain HTTP. */
  tls: { cert: string; key: string } | null;
  /** User name → bcrypt hash; empty: no authentication. */
  basicAuthUsers: Map<string, string>;
  /** Response headers added to every answer. */
  headers: Record<string, string>;
}

/** How long a verified user and password stay verified without a new bcrypt comparison. */
export const AUTH_CACHE_TTL_MS = 60_000;
const AUTH_CACHE_MAX = 1024;
const RECHECK_MS = 1000;
// A valid hash of a random password, compared against for unknown users.
const DUMMY_HASH = "$2b$10$/t6biE0xTL.Glqot5gofk.Lt0ghcnnCvjhxq7Y0WIH6ajEfVU.Qdy";

/** The headers exporter-toolkit lets a web config set, with their allowed values. */
const HEADER_RULES: Record<string, ((v: string) => boolean) | null> = {
  "Strict-Transport-Security": null,
  "Content-Security-Policy": null,
  "X-Content-Type-Options": (v) => v.toLowerCase() === "nosniff",
  "X-Frame-Options": (v) => ["deny", "sameorigin"].includes(v.toLowerCase()),
  "X-XSS-Protection": null,
};

/**
 * Parses a web config file's text.
 * @param text The YAML text.
 * @param file Its path (for messages, and to resolve `cert_file`/`key_file`).
 * @param readFile Reads a TLS file (tests pass their own).
 * @throws {ConfigError} naming `file:line:col` for every problem.
 */
export async function parseWebConfig(
  text: string,
  file: string,
  readFile: (path: string) => Promise<string> = (p) => Deno.readTextFile(p),
): Promise<WebConfig> {
  const lc = new LineCounter();
  const doc = withoutProcessEnv(() =>
    parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false })
  );
  const issues: ConfigIssue[] = [];
  const at = (node: Node | null | undefined, path: string, message: string) => {
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    issues.push({ path, message, file, line: pos?.line, column: pos?.col });
  };
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    issues.push({
      path: "",
      message: e.message.split("\n")[0],
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues, { source: file });

  const out: WebConfig = { tls: null, basicAuthUsers: new Map(), headers: {} };
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) {
    return out; // an empty file: plain HTTP, no auth
  }
  if (!isMap(root)) {
    at(root, "", "a web config must be a mapping");
    throw new ConfigError(issues, { source: file });
  }
  const entries = (map: Node, path: string): [string, Node | null, Node][] => {
    if (!isMap(map)) {
      at(map, path, `${path} must be a mapping`);
      return [];
    }
    return map.items.map((p) => {
      const key = p.key as Node;
      const name = isScalar(key) ? String(key.value) : "";
      return [name, p.value as Node | null, key];
    });
  };
  const str = (v: Node | null, path: string): string | undefined => {
    if (v === null || (isScalar(v) && v.value === null)) return "";
    if (isScalar(v) && (typeof v.value === "string" || typeof v.value === "number")) {
      return String(v.value);
    }
    at(v, path, `${path} must be a string`);
    return undefined;
  };
  const baseDir = dirname(resolvePath(file));
  let tlsFiles: { cert: [string, boolean]; key: [string, boolean]; node: Node } | null = null;

  for (const [name, value, keyNode] of entries(root, "")) {
    switch (name) {
      case "tls_server_config": {
        if (value === null) break;
        let certFile = "", keyFile = "", cert = "", key = "";
        for (const [k, v, kn] of entries(value, name)) {
          const path = `${name}.${k}`;
          switch (k) {
            case "cert_file":
              certFile = str(v, path) ?? "";
              break;
            case "key_file":
              keyFile = str(v, path) ?? "";
              break;
            case "cert":
              cert = str(v, path) ?? "";
              break;
            case "key":
              key = str(v, path) ?? "";
              break;
            case "client_auth_type": {
              const t = str(v, path) ?? "";
              if (t !== "" && t !== "NoClientCert") {
                at(
                  v,
                  path,
                  `${t} is not supported: ferry's web server cannot verify client certificates (use NoClientCert)`,
                );
              }
              break;
            }
            case "client_ca_file":
            case "client_allowed_sans":
              if ((str(v, path) ?? "") !== "") {
                at(
                  kn,
                  path,
                  `${k} is not supported: ferry's web server cannot verify client certificates`,
                );
              }
              break;
            case "min_version": {
              const t = str(v, path) ?? "";
              if (!["", "TLS10", "TLS11", "TLS12"].includes(t)) {
                at(
                  v,
                  path,
                  `${t} is not supported: ferry serves TLS 1.2 and 1.3 and cannot raise the minimum`,
                );
              }
              break;
            }
            case "max_version": {
              const t = str(v, path) ?? "";
              if (t !== "" && t !== "TLS13") {
                at(
                  v,
                  path,
                  `${t} is not supported: ferry serves TLS 1.2 and 1.3 and cannot lower the maximum`,
                );
              }
              break;
            }
            case "cipher_suites":
            case "curve_preferences":
            case "prefer_server_cipher_suites":
              at(
                kn,
                path,
                `${k} is not supported: ferry's TLS stack (rustls) chooses ciphers and curves itself`,
              );
              break;
            default:
              at(kn, path, `unknown field "${k}" in tls_server_config`);
          }
        }
        if (certFile !== "" && cert !== "") at(value, name, "give cert_file or cert, not both");
        if (keyFile !== "" && key !== "") at(value, name, "give key_file or key, not both");
        if (certFile === "" && cert === "") at(value, name, "missing cert_file");
        if (keyFile === "" && key === "") at(value, name, "missing key_file");
        tlsFiles = {
          cert: certFile !== "" ? [resolvePath(baseDir, certFile), true] : [cert, false],
          key: keyFile !== "" ? [resolvePath(baseDir, keyFile), true] : [key, false],
          node: value,
        };
        break;
      }
      case "http_server_config": {
        if (value === null) break;
        for (const [k, v, kn] of entries(value, name)) {
          const path = `${name}.${k}`;
          if (k === "http2") {
            if (!(isScalar(v) && typeof v.value === "boolean")) {
              at(v, path, `${path} must be true or false`);
            } else if (v.value === false) {
              at(
                v,
                path,
                "http2: false is not supported: Deno's server offers HTTP/2 over TLS itself",
              );
            }
          } else if (k === "headers") {
            if (v === null) continue;
            for (const [h, hv, hn] of entries(v, path)) {
              const canonical = Object.keys(HEADER_RULES).find((n) =>
                n.toLowerCase() === h.toLowerCase()
              );
              const text = str(hv, `${path}.${h}`);
              if (canonical === undefined) {
                at(
                  hn,
                  `${path}.${h}`,
                  `header ${h} cannot be set (allowed: ${Object.keys(HEADER_RULES).join(", ")})`,
                );
              } else if (text !== undefined) {
                const rule = HEADER_RULES[canonical];
                if (rule !== null && !rule(text)) {
                  at(
                    hv,
                    `${path}.${h}`,
                    `invalid value ${JSON.stringify(text)} for header ${canonical}`,
                  );
                } else out.headers[canonical] = text;
              }
            }
          } else at(kn, path, `unknown field "${k}" in http_server_config`);
        }
        break;
      }
      case "basic_auth_users": {
        if (value === null) break;
        for (const [user, v, kn] of entries(value, name)) {
          const path = `${name}.${user}`;
          const hash = str(v, path);
          if (user === "" || user.includes(":")) {
            at(kn, path, "a user name must be non-empty and must not contain ':'");
          } else if (hash !== undefined && !BCRYPT_HASH_RE.test(hash)) {
            at(
              v,
              path,
              `the password of ${user} must be a bcrypt hash ($2a$, $2b$ or $2y$, cost 4–31), e.g. from "htpasswd -nBC 10 ${user}"`,
            );
          } else if (hash !== undefined) out.basicAuthUsers.set(user, hash);
        }
        break;
      }
      default:
        at(
          keyNode,
          name,
          `unknown field "${name}" (want tls_server_config, http_server_config or basic_auth_users)`,
        );
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, { source: file });

  if (tlsFiles !== null) {
    const read = async ([v, isFile]: [string, boolean], what: string) => {
      if (!isFile) return v;
      try {
        return await readFile(v);
      } catch (e) {
        at(
          tlsFiles!.node,
          "tls_server_config",
          `cannot read ${what} ${v}: ${(e as Error).message}`,
        );
        return "";
      }
    };
    const cert = await read(tlsFiles.cert, "cert_file");
    const key = await read(tlsFiles.key, "key_file");
    if (issues.length > 0) throw new ConfigError(issues, { source: file });
    if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
      at(tlsFiles.node, "tls_server_config", "the certificate is not PEM (no BEGIN CERTIFICATE)");
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      at(tlsFiles.node, "tls_server_config", "the key is not a PEM private key");
    }
    if (issues.length > 0) throw new ConfigError(issues, { source: file });
    out.tls = { cert, key };
  }
  return out;
}

/**
 * Reads and parses a web config file.
 * @throws {ConfigError} when it cannot be read or is invalid.
 */
export async function loadWebConfig(file: string): Promise<WebConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new ConfigError([{ path: "", message: `cannot read: ${(e as Error).message}` }], {
      source: file,
      cause: e,
    });
  }
  return await parseWebConfig(text, file);
}

/**
 * The files a web config makes ferry read: itself and its TLS files (for
 * `main.ts permissions`); just the file when it cannot be parsed.
 */
export async function webConfigFiles(file: string): Promise<string[]> {
  const out = [resolvePath(file)];
  // Never prompt: without read access the file itself is what is missing.
  if (Deno.permissions.querySync({ name: "read", path: out[0] }).state !== "granted") return out;
  try {
    const text = await Deno.readTextFile(file);
    const doc = withoutProcessEnv(() => parseDocument(text));
    const tls = doc.toJS()?.tls_server_config;
    for (const k of ["cert_file", "key_file"]) {
      const f = tls?.[k];
      if (typeof f === "string" && f !== "") out.push(resolvePath(dirname(resolvePath(file)), f));
    }
  } catch {
    // Unreadable or broken: run reports it.
  }
  return out;
}

/** Options of {@link WebGuard}. */
export interface WebGuardOptions {
  /** The web config file, re-read when it changes; absent: `config` is fixed. */
  file?: string;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * Applies a web config to requests: basic authentication and extra headers.
 * Wrap a handler with {@link WebGuard.wrap}.
 */
export class WebGuard {
  #config: WebConfig;
  readonly #file: string | undefined;
  readonly #now: () => number;
  #mtime: number | null = null;
  #checkedAt = 0;
  #reloading: Promise<void> | null = null;
  /** sha256(user:password) hex → expiry. */
  readonly #verified = new Map<string, number>();
  readonly #log = log("web");
  #comparisons = 0;

  constructor(config: WebConfig, opts: WebGuardOptions = {}) {
    this.#config = config;
    this.#file = opts.file;
    this.#now = opts.now ?? Date.now;
    if (this.#file !== undefined) {
      try {
        this.#mtime = Deno.statSync(this.#file).mtime?.getTime() ?? null;
      } catch {
        this.#mtime = null;
      }
      this.#checkedAt = this.#now();
    }
  }

  /** bcrypt comparisons made so far (the cache saves most). */
  get comparisons(): number {
    return this.#comparisons;
  }

  /** The config in force. */
  get config(): WebConfig {
    return this.#config;
  }

  /** A handler that authenticates, then calls `next` and adds the configured headers. */
  wrap(
    next: (req: Request) => Response | Promise<Response>,
  ): (req: Request) => Promise<Response> {
    return async (req) => {
      await this.#maybeReload();
      const denied = await this.authorize(req);
      const res = denied ?? await next(req);
      const headers = this.#config.headers;
      for (const name of Object.keys(headers)) {
        try {
          res.headers.set(name, headers[name]);
        } catch {
          // Immutable headers (e.g. a Response.redirect): leave them.
        }
      }
      return res;
    };
  }

  /** Null when the request may pass; else the 401 answer. */
  async authorize(req: Request): Promise<Response | null> {
    const users = this.#config.basicAuthUsers;
    if (users.size === 0) return null;
    const creds = parseBasic(req.headers.get("authorization"));
    if (creds !== null && await this.#check(creds.user, creds.password)) return null;
    return new Response("Unauthorized\n", {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="ferry"', "content-type": "text/plain" },
    });
  }

  async #check(user: string, password: string): Promise<boolean> {
    const hash = this.#config.basicAuthUsers.get(user);
    const key = await sha256Hex(`${user}:${password}:${hash ?? ""}`);
    const now = this.#now();
    const until = this.#verified.get(key);
    if (until !== undefined && until > now) return true;
    // Unknown users cost a comparison as well.
    this.#comparisons++;
    const ok = await bcrypt.compare(password, hash ?? DUMMY_HASH);
    if (!ok || hash === undefined) return false;
    if (this.#verified.size >= AUTH_CACHE_MAX) {
      for (const [k, t] of this.#verified) if (t <= now) this.#verified.delete(k);
      if (this.#verified.size >= AUTH_CACHE_MAX) this.#verified.clear();
    }
    this.#verified.set(key, now + AUTH_CACHE_TTL_MS);
    return true;
  }

  #maybeReload(): Promise<void> {
    if (this.#file === undefined) return Promise.resolve();
    if (this.#reloading !== null) return this.#reloading;
    const now = this.#now();
    if (now - this.#checkedAt < RECHECK_MS) return Promise.resolve();
    this.#checkedAt = now;
    this.#reloading = this.#reload().finally(() => this.#reloading = null);
    return this.#reloading;
  }

  async #reload(): Promise<void> {
    const file = this.#file!;
    let mtime: number | null;
    try {
      mtime = (await Deno.stat(file)).mtime?.getTime() ?? null;
    } catch (e) {
      this.#log.error("Cannot stat the web config file; keeping the last good one", {
        file,
        error: (e as Error).message,
      });
      return;
    }
    if (mtime === this.#mtime) return;
    this.#mtime = mtime;
    try {
      const next = await loadWebConfig(file);
      if (JSON.stringify(next.tls) !== JSON.stringify(this.#config.tls)) {
        this.#log.warn("The web config's TLS settings changed; they apply after a restart", {
          file,
        });
        next.tls = this.#config.tls;
      }
      this.#config = next;
      this.#verified.clear();
      this.#log.info("Web config reloaded", { file, users: next.basicAuthUsers.size });
    } catch (e) {
      this.#log.error("Invalid web config; keeping the last good one", {
        file,
        error: (e as Error).message,
      });
    }
  }
}

/** `Authorization: Basic …` → user and password; null when absent or malformed. */
export function parseBasic(header: string | null): { user: string; password: string } | null {
  if (header === null) return null;
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return null;
  let text: string;
  try {
    const bin = atob(m[1]);
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

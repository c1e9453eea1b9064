/**
 * Puts the web handler on a TCP port with `Deno.serve`.
 *
 * @module
 */

import { log } from "../util/log.ts";

/** Options for {@link startWebServer}. */
export interface WebServerOptions {
  /**
   * The listen address as Prometheus' `--web.listen-address`: `host:port`,
   * `[v6addr]:port` or `:port` (all IPv4 interfaces). Port 0 picks a free port.
   */
  listen: string;
  /** The request handler, usually from `createHandler`. */
  handler: (req: Request) => Response | Promise<Response>;
  /** Aborting it stops accepting connections and lets in-flight requests finish. */
  signal: AbortSignal;
  /** PEM certificate chain and key: serve HTTPS. */
  tls?: { cert: string; key: string };
}

/** A running web server. */
export interface WebServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** The address actually bound. */
  hostname: string;
  /** Settles when the server has shut down after `signal` was aborted. */
  finished: Promise<void>;
}

/**
 * Splits `host:port`, `[v6]:port` or `:port` into a hostname and port.
 * An empty host means `0.0.0.0`.
 * @throws {RangeError} when the address has no valid port.
 */
export function parseListenAddress(addr: string): { hostname: string; port: number } {
  let host: string;
  let portText: string;
  if (addr.startsWith("[")) {
    const end = addr.indexOf("]");
    if (end < 0 || addr[end + 1] !== ":") {
      throw new RangeError(`Cannot parse listen address "${addr}": want [host]:port`);
    }
    host = addr.slice(1, end);
    portText = addr.slice(end + 2);
  } else {
    const colon = addr.lastIndexOf(":");
    if (colon < 0) throw new RangeError(`Cannot parse listen address "${addr}": missing port`);
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
    if (host.includes(":")) {
      throw new RangeError(`Cannot parse listen address "${addr}": put IPv6 hosts in brackets`);
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new RangeError(`Cannot parse listen address "${addr}": invalid port "${portText}"`);
  }
  return { hostname: host === "" ? "0.0.0.0" : host, port: Number(portText) };
}

/**
 * Starts serving `opts.handler` on `opts.listen`. Binding happens before this
 * returns, so a busy port throws here.
 * @throws {RangeError} for a malformed listen address.
 * @throws {Error} when the address cannot be bound (with the OS error as `cause`).
 */
export function startWebServer(opts: WebServerOptions): WebServer {
  const logger = log("web");
  const { hostname, port } = parseListenAddress(opts.listen);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      signal: opts.signal,
      ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}),
      onListen: () => {},
      onError: (err) => {
        logger.error("HTTP request failed: {error}", {
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        return new Response("Internal Server Error\n", {
          status: 500,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      },
    }, (req) => opts.handler(req));
  } catch (err) {
    throw new Error(
      `Cannot listen on ${opts.listen}: ${err instanceof Error ? err.message : err}`,
      {
        cause: err,
      },
    );
  }
  const addr = server.addr;
  logger.debug("Listening on {address}", {
    address: addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`,
  });
  const finished = server.finished.then(() => {
    logger.debug("Web server stopped", { address: opts.listen });
  });
  return { port: addr.port, hostname: addr.hostname, finished };
}

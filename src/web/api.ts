/**
 * The agent's HTTP handler: `/metrics`, health and readiness, lifecycle,
 * the Prometheus-compatible `/api/v1/*` subset an agent serves, and the home
 * page. A plain `(Request) => Promise<Response>` function, testable without a
 * socket; `server.ts` puts it on a port.
 *
 * Behaviour follows Prometheus in agent mode: query, label, series, alert,
 * rule, TSDB and admin endpoints answer 422 with an `execution` error; API
 * endpoints and `/-/ready` answer 503 until the agent is ready; unknown paths
 * 404; known paths with another method 405 (with an `Allow` header). HEAD is
 * accepted wherever GET is.
 *
 * @module
 */

import { formatDuration } from "../model/duration.ts";
import type { Counter, Histogram, Registry } from "../metrics/registry.ts";
import { log } from "../util/log.ts";
import type { AgentStatusProvider, TargetStatus } from "./status.ts";
import { renderHome } from "./ui/home.ts";
import { PAGES, renderPage } from "./ui/pages.ts";
import { metadataResult, relabelStepsResult } from "./targets_api.ts";
import { uiRemoteWrite, uiServiceDiscovery, uiStatus, uiTargets, uiWal } from "./ui_data.ts";

/** Reload and shutdown hooks, enabled by `--web.enable-lifecycle`. */
export interface Lifecycle {
  /** Reloads the configuration; rejects with the reason it failed. */
  reload(): Promise<void>;
  /** Starts a clean shutdown. Called at most once. */
  quit(): void;
}

/** Dependencies of {@link createHandler}. */
export interface HandlerDeps {
  status: AgentStatusProvider;
  registry: Registry;
  /** Enables `POST|PUT /-/reload` and `/-/quit`; without it they answer 403. */
  lifecycle?: Lifecycle;
  /** The clock (ms epoch). @default Date.now */
  now?: () => number;
  /**
   * Origins allowed by CORS on `/api/v1/*` (Prometheus' `--web.cors.origin`,
   * anchored). @default /^(?:.*)$/
   */
  corsOrigin?: RegExp;
  /**
   * Push ingestion (`--web.enable-remote-write-receiver`): `POST
   * /api/v1/write` and `/api/v1/import/prometheus`. Without it both answer
   * 404 with Prometheus' message.
   */
  push?: {
    write(req: Request): Promise<Response>;
    importText(req: Request): Promise<Response>;
  };
}

/** The text the metrics endpoint is served as (Prometheus exposition format 0.0.4). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The error message Prometheus gives for endpoints an agent does not serve. */
export const AGENT_UNAVAILABLE = "unavailable with ferry agent";

/** Prometheus' answer to `POST /api/v1/write` when the receiver is not enabled (404). */
export const REMOTE_WRITE_RECEIVER_DISABLED =
  "remote write receiver needs to be enabled with --web.enable-remote-write-receiver";

/** Go's zero `time.Time` in JSON, used for "never". */
const ZERO_TIME = "0001-01-01T00:00:00Z";

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";
const HTML_TYPE = "text/html; charset=utf-8";

type Fn = (req: Request, url: URL) => Response | Promise<Response>;

interface Route {
  /** The `handler` label of the HTTP metrics. */
  name: string;
  methods: Record<string, Fn>;
  /** 503 until the agent is ready. */
  gated?: boolean;
  /** Part of `/api/v1`: CORS headers. */
  api?: boolean;
}

/** Durations of HTTP requests are observed into these buckets (seconds), as Prometheus does. */
const HTTP_BUCKETS = [0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120];

/** Maps Deno's `Deno.build.arch` to Go's GOARCH names used in `goarch` labels. */
function goArch(arch: string): string {
  switch (arch) {
    case "x86_64":
      return "amd64";
    case "aarch64":
      return "arm64";
    default:
      return arch;
  }
}

/** The `goversion` label and `goVersion` field: the runtime that runs ferry. */
export function runtimeVersion(): string {
  return `deno ${Deno.version.deno}`;
}

/**
 * Builds the request handler. Registers `prometheus_build_info` (constant 1)
 * and the HTTP request metrics in `deps.registry`.
 */
export function createHandler(deps: HandlerDeps): (req: Request) => Promise<Response> {
  const { status, registry } = deps;
  const now = deps.now ?? Date.now;
  const cors = deps.corsOrigin ?? /^(?:.*)$/;
  const logger = log("web");
  const build = status.build ?? {};

  registry.gauge({
    name: "prometheus_build_info",
    help:
      "A metric with a constant '1' value labeled by version, revision, branch, goversion from which ferry was built, and the goos and goarch for the build.",
    labels: {
      version: status.version,
      revision: build.revision ?? "",
      branch: build.branch ?? "",
      goversion: runtimeVersion(),
      goos: Deno.build.os,
      goarch: goArch(Deno.build.arch),
      tags: "",
    },
  }).set(1);

  const requestCounters = new Map<string, Counter>();
  const durations = new Map<string, Histogram>();
  const observe = (handler: string, code: number, seconds: number) => {
    const key = `${handler}\u0000${code}`;
    let c = requestCounters.get(key);
    if (!c) {
      c = registry.counter({
        name: "prometheus_http_requests_total",
        help: "Counter of HTTP requests.",
        labels: { handler, code: String(code) },
      });
      requestCounters.set(key, c);
    }
    c.inc();
    let h = durations.get(handler);
    if (!h) {
      h = registry.histogram({
        name: "prometheus_http_request_duration_seconds",
        help: "Histogram of latencies for HTTP requests.",
        labels: { handler },
        buckets: HTTP_BUCKETS,
      });
      durations.set(handler, h);
    }
    h.observe(seconds);
  };

  // ---- endpoint implementations ----

  const home: Fn = () =>
    new Response(renderHome(status, { now: now() }), {
      headers: { "content-type": HTML_TYPE, "cache-control": "no-store" },
    });

  const metrics: Fn = () =>
    new Response(registry.expose(), { headers: { "content-type": METRICS_CONTENT_TYPE } });

  const healthy: Fn = () => text(200, "Ferry is Healthy.\n");
  const ready: Fn = () => text(200, "Ferry is Ready.\n");

  let quitting = false;
  const lifecycleForbidden: Fn = () => text(403, "Lifecycle API is not enabled.");
  const reload: Fn = async () => {
    try {
      await deps.lifecycle!.reload();
      return new Response(null, { status: 200 });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return text(500, `failed to reload config: ${msg}\n`);
    }
  };
  const quit: Fn = () => {
    if (quitting) return text(200, "Termination already in progress.");
    quitting = true;
    deps.lifecycle!.quit();
    return text(200, "Requesting termination... Goodbye!");
  };
  const postOnly: Fn = () => text(405, "Only POST or PUT requests allowed");

  const targets: Fn = (_req, url) => json(200, targetsJson(status, url.searchParams));

  const scrapePools: Fn = () => {
    const names = status.scrapePools?.() ?? poolNames(status);
    return json(200, success(JSON.stringify({ scrapePools: [...names].sort() })));
  };

  const config: Fn = () =>
    json(200, success(JSON.stringify({ yaml: status.configYaml?.() ?? "" })));

  const flags: Fn = () => json(200, success(JSON.stringify(status.flags?.() ?? {})));

  const buildInfo: Fn = () =>
    json(
      200,
      success(JSON.stringify({
        version: status.version,
        revision: build.revision ?? "",
        branch: build.branch ?? "",
        buildUser: build.buildUser ?? "",
        buildDate: build.buildDate ?? "",
        goVersion: runtimeVersion(),
      })),
    );

  const runtimeInfo: Fn = () => {
    const extra = status.runtimeInfo?.() ?? {};
    const last = extra.lastConfigTime;
    return json(
      200,
      success(JSON.stringify({
        startTime: rfc3339(status.startTime),
        CWD: safe(() => Deno.cwd(), ""),
        hostname: safe(() => Deno.hostname(), ""),
        serverTime: rfc3339(now()),
        reloadConfigSuccess: extra.reloadConfigSuccess ?? true,
        lastConfigTime: last === undefined ? rfc3339(status.startTime) : rfc3339(last),
        corruptionCount: extra.corruptionCount ?? 0,
        goroutineCount: 0,
        GOMAXPROCS: navigator.hardwareConcurrency ?? 1,
        GOMEMLIMIT: 0,
        GOGC: "",
        GODEBUG: "",
        storageRetention: extra.storageRetention ?? "",
      })),
    );
  };

  const walReplay: Fn = () => {
    const r = status.walReplay?.() ?? { min: 0, max: 0, current: 0 };
    return json(200, success(JSON.stringify({ min: r.min, max: r.max, current: r.current })));
  };

  const relabelSteps: Fn = (_req, url) => {
    const r = relabelStepsResult(status, url.searchParams);
    return json(r.status, JSON.stringify(r.body));
  };
  const targetMetadata: Fn = (_req, url) => {
    const r = metadataResult(status, url.searchParams);
    return json(r.status, JSON.stringify(r.body));
  };
  const uiJson = (fn: (q: URLSearchParams) => unknown): Fn => (_req, url) => {
    const res = json(200, JSON.stringify(fn(url.searchParams)));
    res.headers.set("cache-control", "no-store");
    return res;
  };

  const unavailable: Fn = () =>
    json(
      422,
      JSON.stringify({ status: "error", errorType: "execution", error: AGENT_UNAVAILABLE }),
    );

  // ---- routing table ----

  const routes = new Map<string, Route>();
  const add = (path: string, r: Omit<Route, "name"> & { name?: string }) =>
    routes.set(path, { name: r.name ?? path, ...r });

  add("/", { methods: { GET: home } });
  add("/agent", { methods: { GET: home } });
  add("/metrics", { methods: { GET: metrics } });
  add("/-/healthy", { methods: { GET: healthy } });
  add("/-/ready", { methods: { GET: ready }, gated: true });
  for (const p of ["/-/reload", "/-/quit"]) {
    const fn = deps.lifecycle ? (p === "/-/reload" ? reload : quit) : lifecycleForbidden;
    add(p, { methods: { GET: postOnly, POST: fn, PUT: fn } });
  }
  const api = (p: string, methods: Record<string, Fn>) =>
    add(`/api/v1${p}`, { methods, gated: true, api: true });
  api("/targets", { GET: targets });
  const pushDisabled: Fn = () => text(404, `${REMOTE_WRITE_RECEIVER_DISABLED}\n`);
  const push = deps.push;
  api("/write", { POST: push ? (req) => push.write(req) : pushDisabled });
  api("/import/prometheus", { POST: push ? (req) => push.importText(req) : pushDisabled });
  api("/scrape_pools", { GET: scrapePools });
  api("/targets/relabel_steps", { GET: relabelSteps });
  api("/targets/metadata", { GET: targetMetadata });
  // The UI's pages and the JSON they poll that Prometheus' API has no shape for.
  for (const page of PAGES) {
    const html = renderPage(page);
    add(page.path, {
      methods: {
        GET: () =>
          new Response(html, {
            headers: { "content-type": HTML_TYPE, "cache-control": "no-store" },
          }),
      },
    });
  }
  const ui = (p: string, fn: (q: URLSearchParams) => unknown) =>
    add(`/ui/api/${p}`, { methods: { GET: uiJson(fn) }, gated: true });
  ui("targets", (q) => uiTargets(status, q));
  ui("sd", (q) => uiServiceDiscovery(status, q));
  ui("remote_write", () => uiRemoteWrite(status, now()));
  ui("wal", () => uiWal(status));
  ui("status", () => uiStatus(status, now()));
  api("/status/config", { GET: config });
  api("/status/flags", { GET: flags });
  api("/status/buildinfo", { GET: buildInfo });
  api("/status/runtimeinfo", { GET: runtimeInfo });
  // Answered during startup too, as in Prometheus (its UI polls it while the WAL replays).
  add("/api/v1/status/walreplay", { methods: { GET: walReplay }, api: true });
  for (
    const p of [
      "/query",
      "/query_range",
      "/query_exemplars",
      "/format_query",
      "/parse_query",
      "/labels",
      "/series",
    ]
  ) api(p, { GET: unavailable, POST: unavailable });
  for (const p of ["/alertmanagers", "/status/tsdb", "/status/tsdb/blocks", "/alerts", "/rules"]) {
    api(p, { GET: unavailable });
  }
  for (
    const p of ["/admin/tsdb/delete_series", "/admin/tsdb/clean_tombstones", "/admin/tsdb/snapshot"]
  ) {
    api(p, { POST: unavailable, PUT: unavailable });
  }
  const labelValues: Route = {
    name: "/api/v1/label/:name/values",
    methods: { GET: unavailable },
    gated: true,
    api: true,
  };
  const options: Route = {
    name: "/api/v1/*path",
    methods: { OPTIONS: noContent },
    gated: true,
    api: true,
  };

  const match = (path: string, method: string): Route | undefined => {
    const r = routes.get(path);
    if (r) return r;
    if (path.startsWith("/api/v1/")) {
      if (method === "OPTIONS") return options;
      if (/^\/api\/v1\/label\/[^/]+\/values$/.test(path)) return labelValues;
    }
    return undefined;
  };

  const dispatch = async (req: Request, url: URL, route: Route): Promise<Response> => {
    const method = req.method === "HEAD" && !route.methods.HEAD ? "GET" : req.method;
    const fn = route.methods[method] ?? (route.api && method === "OPTIONS" ? noContent : undefined);
    if (!fn) {
      const allow = Object.keys(route.methods);
      if (allow.includes("GET")) allow.push("HEAD");
      if (route.api) allow.push("OPTIONS");
      const res = text(405, "Method Not Allowed\n");
      res.headers.set("allow", allow.join(", "));
      return res;
    }
    if (route.gated && !status.ready()) return text(503, "Service Unavailable");
    const res = await fn(req, url);
    if (route.api) setCors(req, res, cors);
    return res;
  };

  return async (req: Request): Promise<Response> => {
    const start = performance.now();
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return text(400, "Bad Request\n");
    }
    const route = match(url.pathname, req.method);
    if (!route) return text(404, "404 page not found\n");
    let res: Response;
    try {
      res = await dispatch(req, url, route);
    } catch (err) {
      logger.error("HTTP handler failed: {error}", {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        path: url.pathname,
        method: req.method,
      });
      res = text(500, "Internal Server Error\n");
    }
    observe(route.name, res.status, (performance.now() - start) / 1000);
    if (req.method === "HEAD" && res.body !== null) {
      await res.body.cancel();
      res = new Response(null, { status: res.status, headers: res.headers });
    }
    return res;
  };
}

// ---- helpers ----

const noContent: Fn = () => new Response(null, { status: 204 });

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": TEXT_TYPE } });
}

/** Characters Go's JSON encoder escapes so that output is safe inside HTML. */
const JSON_HTML_UNSAFE = /[<>&\u2028\u2029]/g;
function jsonHtmlSafe(s: string): string {
  return s.replace(JSON_HTML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function json(status: number, body: string): Response {
  return new Response(jsonHtmlSafe(body), { status, headers: { "content-type": JSON_TYPE } });
}

function success(data: string): string {
  return `{"status":"success","data":${data}}`;
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function setCors(req: Request, res: Response, allowed: RegExp): void {
  const h = res.headers;
  h.set("access-control-allow-headers", "Accept, Authorization, Content-Type, Origin");
  h.set("access-control-allow-methods", "GET, POST, OPTIONS");
  h.set("access-control-expose-headers", "Date");
  const origin = req.headers.get("origin");
  if (origin !== null && allowed.test(origin)) h.set("access-control-allow-origin", origin);
}

/** RFC 3339 with milliseconds in UTC, or Go's zero time for `null`/invalid input. */
export function rfc3339(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return ZERO_TIME;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? ZERO_TIME : d.toISOString();
}

/** A label set as a JSON object with names in sorted order (as Prometheus emits). */
function labelsJson(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  let s = "{";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ",";
    s += JSON.stringify(names[i]) + ":" + JSON.stringify(String(labels[names[i]]));
  }
  return s + "}";
}

function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

function poolNames(status: AgentStatusProvider): string[] {
  const set = new Set<string>();
  for (const t of status.targets()) set.add(t.scrapePool);
  for (const d of status.droppedTargets()) set.add(d.scrapePool);
  return [...set];
}

/** Groups items by pool and returns the pools in sorted order (stable within a pool). */
function byPool<T extends { scrapePool: string }>(items: T[]): [string, T[]][] {
  const m = new Map<string, T[]>();
  for (const it of items) {
    let list = m.get(it.scrapePool);
    if (!list) m.set(it.scrapePool, list = []);
    list.push(it);
  }
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function targetJson(t: TargetStatus): string {
  return `{"discoveredLabels":${labelsJson(t.discoveredLabels)},"labels":${labelsJson(t.labels)}` +
    `,"scrapePool":${JSON.stringify(t.scrapePool)},"scrapeUrl":${JSON.stringify(t.scrapeUrl)}` +
    `,"globalUrl":${JSON.stringify(t.globalUrl)},"lastError":${JSON.stringify(t.lastError)}` +
    `,"lastScrape":"${rfc3339(t.lastScrape)}"` +
    `,"lastScrapeDuration":${finite(t.lastScrapeDurationSeconds)}` +
    `,"health":${JSON.stringify(t.health)}` +
    `,"scrapeInterval":"${formatDuration(t.scrapeIntervalMs)}"` +
    `,"scrapeTimeout":"${formatDuration(t.scrapeTimeoutMs)}"}`;
}

/**
 * The body of `GET /api/v1/targets`. `state` is `active`, `dropped`, `any` or
 * empty (both); any other value yields empty lists, as in Prometheus.
 * `scrapePool` filters both lists but not `droppedTargetCounts`, which is
 * `null` when dropped targets are not requested.
 */
function targetsJson(status: AgentStatusProvider, q: URLSearchParams): string {
  const pool = q.get("scrapePool") ?? "";
  const state = (q.get("state") ?? "").toLowerCase();
  const showActive = state === "" || state === "any" || state === "active";
  const showDropped = state === "" || state === "any" || state === "dropped";
  const parts: string[] = [`{"status":"success","data":{"activeTargets":[`];

  let active: TargetStatus[] = [];
  if (showActive || showDropped) active = status.targets();
  if (showActive) {
    let first = true;
    for (const [name, list] of byPool(active)) {
      if (pool !== "" && name !== pool) continue;
      for (const t of list) {
        parts.push(first ? targetJson(t) : "," + targetJson(t));
        first = false;
      }
    }
  }
  parts.push(`],"droppedTargets":[`);
  if (showDropped) {
    const dropped = status.droppedTargets();
    let first = true;
    for (const [name, list] of byPool(dropped)) {
      if (pool !== "" && name !== pool) continue;
      for (const d of list) {
        const s = `{"discoveredLabels":${labelsJson(d.discoveredLabels)},"scrapePool":${
          JSON.stringify(d.scrapePool)
        }}`;
        parts.push(first ? s : "," + s);
        first = false;
      }
    }
    const given = status.droppedTargetCounts?.();
    const counts = new Map<string, number>();
    if (given) {
      for (const name of Object.keys(given)) counts.set(name, finite(given[name]));
    } else {
      for (const t of active) counts.set(t.scrapePool, 0);
      for (const d of dropped) counts.set(d.scrapePool, (counts.get(d.scrapePool) ?? 0) + 1);
    }
    const names = [...counts.keys()].sort();
    parts.push(`],"droppedTargetCounts":{`);
    for (let i = 0; i < names.length; i++) {
      parts.push(`${i > 0 ? "," : ""}${JSON.stringify(names[i])}:${counts.get(names[i])}`);
    }
    parts.push(`}}}`);
  } else {
    parts.push(`],"droppedTargetCounts":null}}`);
  }
  return parts.join("");
}

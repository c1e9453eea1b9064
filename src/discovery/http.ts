/**
 * http_sd: target groups fetched from a URL, as Prometheus' HTTP SD.
 *
 * Every `refreshInterval` the URL is fetched with GET, `Accept:
 * application/json`, `X-Prometheus-Refresh-Interval-Seconds`, the job's
 * basic auth or authorization and the configured `httpHeaders`. A response is
 * used only when it is status 200, has content type `application/json`
 * (optionally with `charset=utf-8`), is at most `maxBodyBytes` (16 MiB;
 * Prometheus has no limit, but an endless or enormous answer must not exhaust
 * memory: the body is read in chunks and abandoned at the limit), arrives
 * within the timeout, and is a JSON list of groups that each have `targets`,
 * within the other limits of {@link DOCUMENT_LIMITS} (100,000 targets).
 * Anything else is a failure: it is logged, counted in
 * `prometheus_sd_http_failures_total` and `prometheus_sd_refresh_failures_total`,
 * and the last good groups stay.
 *
 * Group `i` has source `<url>:<i>` and the label `__meta_url`.
 *
 * @module
 */

import { readCappedBytes } from "../util/body.ts";
import type { ResolvedHttpSdConfig } from "../config/types.ts";
import type { Registry } from "../metrics/registry.ts";
import { type Clock, realClock } from "../util/clock.ts";
import { authorizationHeader, readSecret } from "../util/httpauth.ts";
import { log } from "../util/log.ts";
import { decodeJsonGroups, DOCUMENT_LIMITS, type DocumentLimits } from "./groups.ts";
import { createHttpSdMetrics, createRefreshMetrics, type RefreshMetrics } from "./metrics.ts";
import { errorMessage, refreshLoop } from "./refresh.ts";
import type { Discoverer, DiscoveryResult, TargetGroup } from "./types.ts";

const logger = log("discovery");

/** The label holding the URL a target came from. */
export const URL_LABEL = "__meta_url";

/** Largest response accepted by default: the document limit, 16 MiB. */
export const DEFAULT_MAX_BODY_BYTES = DOCUMENT_LIMITS.bytes;

/** `application/json`, optionally with a UTF-8 charset parameter. */
const JSON_CONTENT_TYPE = /^application\/json(?:;\s*charset=(?:utf-8|"utf-8"))?$/i;

/** Options of {@link HttpDiscoverer}. */
export interface HttpDiscovererOptions {
  /** The job, for logs and metric labels. */
  job: string;
  registry: Registry;
  clock?: Clock;
  fetch?: typeof fetch;
  /** @default "ferry" */
  userAgent?: string;
  /** @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
  /** How long one request may take. @default the refresh interval */
  timeoutMs?: number;
  /** Lower limits on targets and structure (tests). @default DOCUMENT_LIMITS */
  limits?: Partial<DocumentLimits>;
}

/** Fetches target groups from one URL. */
export class HttpDiscoverer implements Discoverer {
  readonly #cfg: ResolvedHttpSdConfig;
  readonly #opts: HttpDiscovererOptions;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #refreshMetrics: RefreshMetrics;
  readonly #failures;
  #last: TargetGroup[] = [];

  constructor(cfg: ResolvedHttpSdConfig, opts: HttpDiscovererOptions) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#fetch = opts.fetch ?? fetch;
    this.#refreshMetrics = createRefreshMetrics(opts.registry, {
      mechanism: "http",
      config: opts.job,
    });
    this.#failures = createHttpSdMetrics(opts.registry).failures;
  }

  discoverOnce(signal: AbortSignal): Promise<DiscoveryResult> {
    return this.#refresh(signal);
  }

  run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    return refreshLoop(signal, update, {
      clock: this.#clock,
      intervalMs: this.#cfg.refreshIntervalMs,
      refresh: (s) => this.#refresh(s),
    });
  }

  async #refresh(signal: AbortSignal): Promise<DiscoveryResult> {
    const started = performance.now();
    try {
      this.#last = await this.#fetchGroups(signal);
      return { groups: this.#last, errors: [] };
    } catch (e) {
      if (signal.aborted) return { groups: this.#last, errors: [] };
      this.#failures.inc();
      this.#refreshMetrics.failures.inc();
      const msg = `${this.#cfg.url}: ${errorMessage(e)}`;
      logger.error("http_sd refresh failed, keeping the last good targets: {err}", {
        job: this.#opts.job,
        url: this.#cfg.url,
        err: errorMessage(e),
      });
      return { groups: this.#last, errors: [msg] };
    } finally {
      this.#refreshMetrics.duration.observe((performance.now() - started) / 1000);
    }
  }

  async #fetchGroups(signal: AbortSignal): Promise<TargetGroup[]> {
    const cfg = this.#cfg;
    const headers = new Headers({
      "Accept": "application/json",
      "User-Agent": this.#opts.userAgent ?? "ferry",
      "X-Prometheus-Refresh-Interval-Seconds": String(cfg.refreshIntervalMs / 1000),
    });
    for (const name of Object.keys(cfg.httpHeaders)) {
      const h = cfg.httpHeaders[name];
      headers.delete(name);
      for (const v of [...h.values, ...h.secrets]) headers.append(name, v);
      for (const f of h.files) headers.append(name, await readSecret(f));
    }
    const auth = await authorizationHeader(cfg);
    if (auth !== undefined) headers.set("Authorization", auth);

    const timeoutMs = this.#opts.timeoutMs ?? cfg.refreshIntervalMs;
    const res = await this.#fetch(cfg.url, {
      method: "GET",
      headers,
      redirect: cfg.followRedirects ? "follow" : "manual",
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    }).catch((e) => {
      if (e instanceof DOMException && e.name === "TimeoutError") {
        throw new Error(`no response within ${timeoutMs} ms`);
      }
      throw e;
    });
    try {
      if (res.status !== 200) {
        throw new Error(`server returned HTTP status ${res.status} ${res.statusText}`.trimEnd());
      }
      const type = res.headers.get("Content-Type") ?? "";
      if (!JSON_CONTENT_TYPE.test(type.trim())) {
        throw new Error(`unsupported content type ${JSON.stringify(type)} (want application/json)`);
      }
      const text = await readCapped(res, this.#opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
      const raw = decodeJsonGroups(text, {
        requireTargets: true,
        limits: this.#opts.limits,
      });
      return raw.map((g, i) => ({
        source: `${cfg.url}:${i}`,
        targets: g.targets.map((address) => ({ __address__: address })),
        labels: { ...g.labels, [URL_LABEL]: cfg.url },
      }));
    } finally {
      await res.body?.cancel().catch(() => {});
    }
  }
}

/** The body as UTF-8 text, failing once it exceeds `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get("Content-Length") ?? "NaN");
  if (declared > max) {
    throw new Error(`response of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  if (!res.body) return "";
  let buf: Uint8Array;
  try {
    buf = await readCappedBytes(
      res.body,
      max,
      () => new Error(`response exceeds the ${max}-byte limit`),
    );
  } catch (e) {
    if (e instanceof DOMException && e.name === "TimeoutError") {
      throw new Error("response body not complete within the timeout");
    }
    throw e;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new Error("response is not valid UTF-8");
  }
}

/**
 * Target labels: from one discovered target to the labels and URL a scrape
 * loop uses, as Prometheus' `scrape.PopulateLabels` and `Target.URL` do.
 *
 * 1. Group labels, overlaid by the target's own labels.
 * 2. Defaults where absent: `job`, `__scrape_interval__`, `__scrape_timeout__`,
 *    `__metrics_path__`, `__scheme__`, `__param_<name>` (first configured
 *    value). This is the "discovered labels" set.
 * 3. Sharding: with `cfg.shard`, a target whose discovered `__address__`
 *    hashes to another shard is dropped (`droppedBy` says which shard it is
 *    of); see `shard.ts`.
 * 4. Target relabeling; a dropped target stops here (no error).
 * 5. Checks: `__address__` present and without `/`; interval and timeout
 *    parse, are non-zero, and timeout ≤ interval.
 * 6. `__meta_*` labels removed; `instance` defaults to `__address__` (no
 *    default port is added, as in Prometheus 3); label names and values
 *    must be well-formed.
 *
 * The result exposes the final target labels (no `__` names), the label
 * set Prometheus keeps on the target (with `__address__`, `__scheme__`, …),
 * the scrape URL and the effective interval and timeout.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import { parseDuration } from "../model/duration.ts";
import { Labels, LabelsBuilder } from "../model/labels.ts";
import { type CompiledRules, relabel } from "../relabel/relabel.ts";
import { describeShard, shardOf } from "./shard.ts";

export const ADDRESS_LABEL = "__address__";
export const SCHEME_LABEL = "__scheme__";
export const METRICS_PATH_LABEL = "__metrics_path__";
export const SCRAPE_INTERVAL_LABEL = "__scrape_interval__";
export const SCRAPE_TIMEOUT_LABEL = "__scrape_timeout__";
export const PARAM_LABEL_PREFIX = "__param_";
export const META_LABEL_PREFIX = "__meta_";
export const RESERVED_LABEL_PREFIX = "__";
export const JOB_LABEL = "job";
export const INSTANCE_LABEL = "instance";

/** The outcome of {@link populateLabels}. */
export interface PopulatedTarget {
  /** Final target labels (no `__` names); null when relabeling dropped the target or it is invalid. */
  labels: Labels | null;
  /** The labels before relabeling, defaults included (shown for dropped targets too). */
  discoveredLabels: Labels;
  /** Why the target is invalid; absent when it is valid or was merely dropped. */
  error?: string;
  /**
   * Why a target that is not invalid was dropped before relabeling, e.g.
   * `"shard 2 of 3"` (the shard its address belongs to, when this agent
   * scrapes another); absent when it was kept or dropped by relabeling.
   */
  droppedBy?: string;
  /**
   * The label set Prometheus keeps on the target: after relabeling, `__meta_*`
   * removed, `instance` defaulted; `__address__`, `__scheme__`,
   * `__metrics_path__`, `__param_*`, `__scrape_*__` kept. Null like `labels`.
   */
  targetLabels: Labels | null;
  /** `scheme://address/path?query`; "" when `labels` is null. */
  scrapeUrl: string;
  /** Effective scrape interval; 0 when `labels` is null. */
  intervalMs: number;
  /** Effective scrape timeout; 0 when `labels` is null. */
  timeoutMs: number;
}

/**
 * Builds one target's labels and scrape URL from discovery output and the
 * job config; see the module notes for the steps.
 */
export function populateLabels(
  target: Readonly<Record<string, string>>,
  groupLabels: Readonly<Record<string, string>>,
  cfg: ResolvedScrapeConfig,
  rules: CompiledRules,
): PopulatedTarget {
  const b = new LabelsBuilder();
  for (const n of Object.keys(groupLabels)) b.set(n, groupLabels[n]);
  for (const n of Object.keys(target)) b.set(n, target[n]);
  const defaults: [string, string][] = [
    [JOB_LABEL, cfg.jobName],
    [SCRAPE_INTERVAL_LABEL, formatGoDuration(cfg.scrapeIntervalMs)],
    [SCRAPE_TIMEOUT_LABEL, formatGoDuration(cfg.scrapeTimeoutMs)],
    [METRICS_PATH_LABEL, cfg.metricsPath],
    [SCHEME_LABEL, cfg.scheme],
  ];
  for (const [n, v] of defaults) if (b.get(n) === "") b.set(n, v);
  for (const k of Object.keys(cfg.params)) {
    const v = cfg.params[k];
    const name = PARAM_LABEL_PREFIX + k;
    if (v.length > 0 && b.get(name) === "") b.set(name, v[0]);
  }
  const discoveredLabels = b.labels();
  const invalid = (error: string): PopulatedTarget => ({
    labels: null,
    discoveredLabels,
    error,
    targetLabels: null,
    scrapeUrl: "",
    intervalMs: 0,
    timeoutMs: 0,
  });

  const dropped = (droppedBy?: string): PopulatedTarget => ({
    labels: null,
    discoveredLabels,
    ...(droppedBy === undefined ? {} : { droppedBy }),
    targetLabels: null,
    scrapeUrl: "",
    intervalMs: 0,
    timeoutMs: 0,
  });

  if (cfg.shard && cfg.shard.total > 1) {
    const own = shardOf(discoveredLabels.get(ADDRESS_LABEL), cfg.shard.total);
    if (own !== cfg.shard.index) {
      return dropped(describeShard({ index: own, total: cfg.shard.total }));
    }
  }

  const relabeled = rules.length === 0 ? discoveredLabels : relabel(rules, discoveredLabels);
  if (relabeled === null) return dropped();

  const addr = relabeled.get(ADDRESS_LABEL);
  if (addr === "") return invalid("no address");
  if (addr.includes("/")) return invalid(`"${addr}" is not a valid hostname`);

  const interval = relabeled.get(SCRAPE_INTERVAL_LABEL);
  let intervalMs: number;
  try {
    intervalMs = parseGoDuration(interval);
  } catch (e) {
    return invalid(`error parsing scrape interval: ${(e as Error).message}`);
  }
  if (intervalMs === 0) return invalid("scrape interval cannot be 0");
  const timeout = relabeled.get(SCRAPE_TIMEOUT_LABEL);
  let timeoutMs: number;
  try {
    timeoutMs = parseGoDuration(timeout);
  } catch (e) {
    return invalid(`error parsing scrape timeout: ${(e as Error).message}`);
  }
  if (timeoutMs === 0) return invalid("scrape timeout cannot be 0");
  if (timeoutMs > intervalMs) {
    return invalid(
      `scrape timeout cannot be greater than scrape interval ("${timeout}" > "${interval}")`,
    );
  }

  b.reset(relabeled);
  for (const n of b.names()) if (n.startsWith(META_LABEL_PREFIX)) b.del(n);
  if (b.get(INSTANCE_LABEL) === "") b.set(INSTANCE_LABEL, addr);
  const targetLabels = b.labels();

  let bad: string | undefined;
  targetLabels.forEach((n, v) => {
    if (bad !== undefined) return;
    if (n === "" || !n.isWellFormed()) bad = `invalid label name ${JSON.stringify(n)}`;
    else if (!v.isWellFormed()) {
      bad = `invalid label value for ${JSON.stringify(n)}: ${JSON.stringify(v)}`;
    }
  });
  if (bad !== undefined) return invalid(bad);

  const pub: string[] = [];
  const kv = targetLabels.flat();
  for (let i = 0; i < kv.length; i += 2) {
    if (!kv[i].startsWith(RESERVED_LABEL_PREFIX)) pub.push(kv[i], kv[i + 1]);
  }
  return {
    labels: Labels.fromSortedFlat(pub),
    discoveredLabels,
    targetLabels,
    scrapeUrl: scrapeUrl(targetLabels, cfg.params),
    intervalMs,
    timeoutMs,
  };
}

/** Go's empty-string message for durations, otherwise the shared parser. */
function parseGoDuration(s: string): number {
  if (s === "") throw new RangeError("empty duration string");
  return parseDuration(s);
}

/**
 * The scrape URL of a target (Prometheus' `Target.URL().String()`): the
 * configured params overlaid by `__param_<name>` labels (which replace the
 * first value), encoded like Go's `url.Values.Encode` (sorted keys).
 */
export function scrapeUrl(
  targetLabels: Labels,
  params: Readonly<Record<string, string[]>>,
): string {
  const q = new Map<string, string[]>();
  for (const k of Object.keys(params)) q.set(k, [...params[k]]);
  targetLabels.forEach((n, v) => {
    if (!n.startsWith(PARAM_LABEL_PREFIX)) return;
    const k = n.slice(PARAM_LABEL_PREFIX.length);
    const cur = q.get(k);
    if (cur !== undefined && cur.length > 0) cur[0] = v;
    else q.set(k, [v]);
  });
  const keys = [...q.keys()].sort(compareCodePoints);
  let query = "";
  for (const k of keys) {
    const ek = escape(k, "query");
    for (const v of q.get(k)!) {
      if (query !== "") query += "&";
      query += ek + "=" + escape(v, "query");
    }
  }
  const scheme = targetLabels.get(SCHEME_LABEL);
  const host = targetLabels.get(ADDRESS_LABEL);
  const path = targetLabels.get(METRICS_PATH_LABEL);
  let url = scheme + "://" + escape(host, "host");
  const ep = path === "*" ? "*" : escape(path, "path");
  if (ep !== "" && ep[0] !== "/" && host !== "") url += "/";
  url += ep;
  if (query !== "") url += "?" + query;
  return url;
}

/** Byte order of the UTF-8 encodings (= code point order), as Go's sort.Strings. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const HEX = "0123456789ABCDEF";
const utf8 = new TextEncoder();

/** Go's `net/url` escaping for a host, a path or a query component. */
function escape(s: string, mode: "host" | "path" | "query"): string {
  let out = "";
  for (const byte of utf8.encode(s)) {
    const c = String.fromCharCode(byte);
    if (!shouldEscape(byte, c, mode)) out += c;
    else if (c === " " && mode === "query") out += "+";
    else out += "%" + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

function shouldEscape(byte: number, c: string, mode: "host" | "path" | "query"): boolean {
  if (
    (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x30 && byte <= 0x39)
  ) return false;
  if (mode === "host" && "!$&'()*+,;=:[]<>\"".includes(c)) return false;
  if ("-_.~".includes(c)) return false;
  if ("$&+,/:;=?@".includes(c)) {
    if (mode === "path") return c === "?";
    return true;
  }
  return true;
}

const UNITS: [string, number, boolean][] = [
  ["y", 365 * 24 * 3600_000, true],
  ["w", 7 * 24 * 3600_000, true],
  ["d", 24 * 3600_000, false],
  ["h", 3600_000, false],
  ["m", 60_000, false],
  ["s", 1000, false],
  ["ms", 1, false],
];

/**
 * Prometheus' `model.Duration.String()`: years and weeks only when they
 * divide the duration exactly (`90d`, not `12w6d`).
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  let out = "";
  let rest = ms;
  for (const [unit, mult, exact] of UNITS) {
    if (exact && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += v + unit;
      rest -= v * mult;
    }
  }
  return out;
}

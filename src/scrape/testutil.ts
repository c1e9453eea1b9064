/**
 * Test helpers for scraping: a complete resolved job config, and an
 * Appendable that records committed samples.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import type { Labels } from "../model/labels.ts";
import type { Appendable, Appender, SeriesRef } from "../storage/types.ts";

/** A resolved scrape config with Prometheus' defaults (job "node", 15s/10s), overridden by `over`. */
export function scrapeConfig(over: Partial<ResolvedScrapeConfig> = {}): ResolvedScrapeConfig {
  return {
    jobName: "node",
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
    metricsPath: "/metrics",
    scheme: "http",
    params: {},
    honorLabels: false,
    honorTimestamps: true,
    sampleLimit: 0,
    scrapeProtocols: [
      "OpenMetricsText1.0.0",
      "OpenMetricsText0.0.1",
      "PrometheusText1.0.0",
      "PrometheusText0.0.4",
    ],
    fallbackScrapeProtocol: "",
    enableCompression: true,
    trackTimestampsStaleness: false,
    bodySizeLimit: 0,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
    targetLimit: 0,
    tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
    proxyUrl: "",
    staticConfigs: [],
    fileSdConfigs: [],
    httpSdConfigs: [],
    dnsSdConfigs: [],
    keepDroppedTargets: 1000,
    relabelConfigs: [],
    metricRelabelConfigs: [],
    followRedirects: true,
    ...over,
  };
}

/** One committed sample as the fake storage saw it. */
export interface Rec {
  series: string;
  t: number;
  v: number | "stale";
  ref: SeriesRef;
}

/** An Appendable that records committed samples and hands out refs by label identity. */
export class RecordingDb implements Appendable {
  committed: Rec[][] = [];
  refs = new Map<string, SeriesRef>();
  failCommit = false;
  appender(): Appender {
    const pending: Rec[] = [];
    const pendingRefs = new Map<string, SeriesRef>();
    const resolve = (ref: SeriesRef, l: Labels) => {
      const key = l.toString();
      if (ref !== 0) {
        const known = this.refs.get(key) ?? pendingRefs.get(key);
        if (known !== ref) throw new Error(`ref ${ref} does not belong to ${key} (have ${known})`);
        return ref;
      }
      let r = this.refs.get(key) ?? pendingRefs.get(key);
      if (r === undefined) {
        r = this.refs.size + pendingRefs.size + 1;
        pendingRefs.set(key, r);
      }
      return r;
    };
    return {
      append: (ref, l, t, v) => {
        const r = resolve(ref, l);
        pending.push({ series: l.toString(), t, v, ref: r });
        return r;
      },
      appendStale: (ref, l, t) => {
        const r = resolve(ref, l);
        pending.push({ series: l.toString(), t, v: "stale", ref: r });
        return r;
      },
      commit: () => {
        if (this.failCommit) return Promise.reject(new Error("disk full"));
        for (const [k, r] of pendingRefs) this.refs.set(k, r);
        this.committed.push(pending.slice());
        return Promise.resolve();
      },
      rollback: () => {
        pending.length = 0;
        pendingRefs.clear();
      },
    };
  }
  last(): Map<string, number | "stale"> {
    const m = new Map<string, number | "stale">();
    for (const r of this.committed.at(-1) ?? []) m.set(r.series, r.v);
    return m;
  }
}

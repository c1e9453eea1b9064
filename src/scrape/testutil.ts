/**
 * Test helpers for scraping: a complete resolved job config, and an
 * Appendable that records committed samples, histograms, exemplars and
 * metadata.
 *
 * @module
 */

import type { ResolvedScrapeConfig } from "../config/types.ts";
import type { Exemplar } from "../model/exemplar.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";
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
    scrapeNativeHistograms: false,
    alwaysScrapeClassicHistograms: false,
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
  /** The value, "stale" for a marker, "histogram" for a native histogram (see `h`). */
  v: number | "stale" | "histogram";
  ref: SeriesRef;
  /** The start time given (`appendWithStart`, `appendHistogram`); absent for `append`. */
  st?: number;
  /** A copy of the histogram given to `appendHistogram`. */
  h?: Histogram;
  /** A marker for a series whose last sample was a histogram (storage makes it a stale histogram). */
  staleHistogram?: boolean;
}

/** One committed exemplar. */
export interface ExemplarRec {
  series: string;
  ref: SeriesRef;
  e: Exemplar;
}

/** One committed metadata update. */
export interface MetadataRec {
  series: string;
  ref: SeriesRef;
  m: MetricMetadata;
}

/**
 * An Appendable that records what is committed and hands out refs by label
 * identity. Refs passed in must belong to their labels.
 */
export class RecordingDb implements Appendable {
  /** Samples of each commit. */
  committed: Rec[][] = [];
  /** Exemplars of each commit (parallel to `committed`). */
  exemplars: ExemplarRec[][] = [];
  /** Metadata updates of each commit (parallel to `committed`). */
  metadata: MetadataRec[][] = [];
  refs = new Map<string, SeriesRef>();
  /** Whether each series' last committed sample was a histogram. */
  histogramSeries = new Set<string>();
  failCommit = false;
  appender(): Appender {
    const pending: Rec[] = [];
    const pendingEx: ExemplarRec[] = [];
    const pendingMeta: MetadataRec[] = [];
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
    const isHistogram = (series: string) => {
      for (let i = pending.length - 1; i >= 0; i--) {
        if (pending[i].series === series && pending[i].v !== "stale") {
          return pending[i].v === "histogram";
        }
      }
      return this.histogramSeries.has(series);
    };
    return {
      append: (ref, l, t, v) => {
        const r = resolve(ref, l);
        pending.push({ series: l.toString(), t, v, ref: r });
        return r;
      },
      appendWithStart: (ref, l, t, v, st) => {
        const r = resolve(ref, l);
        pending.push({ series: l.toString(), t, v, ref: r, st });
        return r;
      },
      appendHistogram: (ref, l, t, h, st) => {
        const r = resolve(ref, l);
        pending.push({
          series: l.toString(),
          t,
          v: "histogram",
          ref: r,
          st,
          h: structuredClone(h),
        });
        return r;
      },
      appendStale: (ref, l, t) => {
        const r = resolve(ref, l);
        const series = l.toString();
        const rec: Rec = { series, t, v: "stale", ref: r };
        if (isHistogram(series)) rec.staleHistogram = true;
        pending.push(rec);
        return r;
      },
      appendExemplar: (ref, l, e) => {
        const r = resolve(ref, l);
        pendingEx.push({ series: l.toString(), ref: r, e: { ...e } });
        return r;
      },
      updateMetadata: (ref, l, m) => {
        const r = resolve(ref, l);
        pendingMeta.push({ series: l.toString(), ref: r, m: { ...m } });
        return r;
      },
      commit: () => {
        if (this.failCommit) return Promise.reject(new Error("disk full"));
        for (const [k, r] of pendingRefs) this.refs.set(k, r);
        for (const rec of pending) {
          if (rec.v === "histogram") this.histogramSeries.add(rec.series);
          else if (rec.v !== "stale") this.histogramSeries.delete(rec.series);
        }
        this.committed.push(pending.slice());
        this.exemplars.push(pendingEx.slice());
        this.metadata.push(pendingMeta.slice());
        return Promise.resolve();
      },
      rollback: () => {
        pending.length = 0;
        pendingEx.length = 0;
        pendingMeta.length = 0;
        pendingRefs.clear();
      },
    };
  }
  /** The last commit's samples by series. */
  last(): Map<string, number | "stale" | "histogram"> {
    const m = new Map<string, number | "stale" | "histogram">();
    for (const r of this.committed.at(-1) ?? []) m.set(r.series, r.v);
    return m;
  }
  /** The last commit's records by series. */
  lastRecs(): Map<string, Rec> {
    const m = new Map<string, Rec>();
    for (const r of this.committed.at(-1) ?? []) m.set(r.series, r);
    return m;
  }
}

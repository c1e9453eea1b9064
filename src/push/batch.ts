/**
 * What a push carries, whatever its protocol: series with their float
 * samples, native histograms, exemplars and metadata. Remote Write requests
 * (`fromWriteRequest`) and text/OpenMetrics bodies (`text.ts`) are turned
 * into a `PushBatch` before limits, relabeling and appending.
 *
 * @module
 */

import type { Exemplar } from "../model/exemplar.ts";
import { Labels, METRIC_NAME } from "../model/labels.ts";
import { belongsToFamily, metricKind, type MetricMetadata } from "../model/metadata.ts";
import type { DecodedHistogram, DecodedWriteRequest } from "../remote/codec.ts";

/** One pushed series and what was pushed for it. */
export interface PushSeries {
  labels: Labels;
  /** Float sample timestamps (ms). */
  ts: number[];
  values: number[];
  /** Staleness markers (RW's StaleNaN) are passed on as markers. */
  stale: boolean[];
  /** Start timestamps (ms), 0 when unknown. */
  st: number[];
  histograms: DecodedHistogram[];
  exemplars: Exemplar[];
  /** The series' family metadata, when the push gave it. */
  metadata: MetricMetadata | null;
}

/** A family's metadata (for RW 1.0 metadata requests). */
export interface PushedFamily {
  metric: string;
  type: string;
  help: string;
  unit: string;
}

/** The decoded content of one push. */
export interface PushBatch {
  series: PushSeries[];
  /** Float samples (staleness markers included). */
  samples: number;
  histograms: number;
  exemplars: number;
  /** Metadata of the families the push described. */
  families: PushedFamily[];
}

/**
 * A decoded RW 1.0 or 2.0 request as a batch. RW 1.0 metadata entries are
 * given to the request's series of their family (see {@link belongsToFamily});
 * RW 2.0 carries metadata per series ("unknown" with no help or unit counts
 * as none).
 */
export function fromWriteRequest(d: DecodedWriteRequest): PushBatch {
  const byFamily = new Map<string, MetricMetadata>();
  const families: PushedFamily[] = [];
  for (const m of d.metadataList) {
    byFamily.set(m.family, { type: m.type, help: m.help, unit: m.unit });
    families.push({ metric: m.family, type: m.type, help: m.help, unit: m.unit });
  }
  const series: PushSeries[] = [];
  for (const s of d.series) {
    const labels = Labels.fromPairs(s.labels);
    let metadata: MetricMetadata | null = null;
    if (s.metadata !== null) {
      const m = s.metadata;
      if (m.type !== "unknown" || m.help !== "" || m.unit !== "") {
        metadata = { type: metricKind(m.type), help: m.help, unit: m.unit };
      }
    } else if (byFamily.size > 0) {
      metadata = familyMetadata(labels.get(METRIC_NAME), byFamily);
    }
    series.push({
      labels,
      ts: s.timestamps,
      values: s.values,
      stale: s.stale,
      st: s.startTimestamps,
      histograms: s.histograms,
      exemplars: s.exemplarList.map((e) => ({
        labels: Labels.fromPairs(e.labels),
        value: e.value,
        ts: e.timestamp,
      })),
      metadata,
    });
  }
  return {
    series,
    samples: d.samples,
    histograms: d.histograms,
    exemplars: d.exemplars,
    families,
  };
}

/** The metadata of the family `name` belongs to, among `byFamily`. */
function familyMetadata(
  name: string,
  byFamily: Map<string, MetricMetadata>,
): MetricMetadata | null {
  const exact = byFamily.get(name);
  if (exact !== undefined) return exact;
  const us = name.lastIndexOf("_");
  if (us <= 0) return null;
  const m = byFamily.get(name.slice(0, us));
  return m !== undefined && belongsToFamily(name, name.slice(0, us), m.type) ? m : null;
}

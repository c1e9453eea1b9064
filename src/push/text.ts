/**
 * Pushed Prometheus text (0.0.4) and OpenMetrics bodies as a `PushBatch`,
 * with the scrape path's parsers (src/scrape/textparse).
 *
 * @module
 */

import type { ScrapeProtocol } from "../config/types.ts";
import { METRIC_NAME } from "../model/labels.ts";
import { metricKind, type MetricMetadata } from "../model/metadata.ts";
import { createParser } from "../scrape/textparse/mod.ts";
import { type PushBatch, type PushedFamily, type PushSeries } from "./batch.ts";
import { belongsToFamily } from "../model/metadata.ts";

/**
 * Parses a text body. A sample without a timestamp gets `now` (ms), as a
 * scrape at the time of the push would; an OpenMetrics exemplar without one
 * gets its sample's. TYPE/HELP/UNIT become the metadata of their family's
 * series; OpenMetrics `_created` becomes the start timestamp.
 *
 * @throws {ParseError} on the first syntax error (the whole push is refused).
 */
export function parseTextPush(
  body: Uint8Array,
  format: ScrapeProtocol,
  now: number,
): PushBatch {
  const p = createParser(format, body);
  const series: PushSeries[] = [];
  const families: PushedFamily[] = [];
  let family = "";
  let md: MetricMetadata = { type: "unknown", help: "", unit: "" };
  let mdType = "unknown";
  let exemplars = 0;
  for (let kind = p.next(); kind !== null; kind = p.next()) {
    if (kind === "type" || kind === "help" || kind === "unit") {
      if (p.family() !== family) {
        family = p.family();
        md = { type: "unknown", help: "", unit: "" };
        mdType = "unknown";
        families.push({ metric: family, type: "unknown", help: "", unit: "" });
      }
      // A fresh object per change: series already given `md` keep theirs.
      if (kind === "type") {
        mdType = p.type();
        md = { ...md, type: metricKind(mdType) };
      } else if (kind === "help") md = { ...md, help: p.help() };
      else md = { ...md, unit: p.unit?.() ?? "" };
      const f = families[families.length - 1];
      f.type = md.type;
      f.help = md.help;
      f.unit = md.unit;
      continue;
    }
    if (kind !== "series") continue;
    const labels = p.labels();
    const t = p.timestamp() ?? now;
    const st = p.startTimestamp?.() ?? null;
    const s: PushSeries = {
      labels,
      ts: [t],
      values: [p.value()],
      stale: [false],
      st: [st ?? 0],
      histograms: [],
      exemplars: [],
      metadata: family !== "" && belongsToFamily(labels.get(METRIC_NAME), family, mdType)
        ? md
        : null,
    };
    const x = p.exemplar?.() ?? null;
    if (x !== null) {
      s.exemplars.push({ labels: x.labels, value: x.value, ts: x.timestamp ?? t });
      exemplars++;
    }
    series.push(s);
  }
  return { series, samples: series.length, histograms: 0, exemplars, families };
}

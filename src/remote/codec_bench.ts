/**
 * Remote-write encoding cost, RW 1.0 vs RW 2.0, for 2,000-item batches (the
 * default `max_samples_per_send`): node-exporter-like float series (2,000 × 1
 * and 200 × 10) and a native-histogram batch. Bytes per sample (raw and
 * after snappy) are in the bench names; samples/s = items / time per
 * iteration. `snappy only` is our compressor, `snappyjs compress` the npm one
 * it replaced.
 *
 *   deno bench -A src/remote/codec_bench.ts
 */

import { SeriesCache } from "./series_cache.ts";
import protobuf from "protobufjs";
import snappyjs from "snappyjs";
import type { Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import type { MetricMetadata } from "../model/metadata.ts";
import {
  decodeWriteRequest,
  decodeWriteRequestV2,
  encodeWriteRequest,
  encodeWriteRequestV2,
  snappyDecode,
  snappyEncode,
  WriteBatch,
} from "./codec.ts";
import { WriteRequestType } from "./proto/rw1.ts";

const T0 = 1_700_000_000_000;
const MODES = ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"];
const CPU: MetricMetadata = {
  type: "counter",
  help: "Seconds the CPUs spent in each mode.",
  unit: "seconds",
};
const NET: MetricMetadata = {
  type: "counter",
  help: "Network device statistic receive_bytes.",
  unit: "",
};
const LATENCY: MetricMetadata = {
  type: "histogram",
  help: "Latency of HTTP requests.",
  unit: "seconds",
};

function nodeLabels(s: number): Labels {
  return Labels.fromObject({
    __name__: s % 3 === 0 ? "node_cpu_seconds_total" : "node_network_receive_bytes_total",
    cpu: String(s % 64),
    device: `eth${s % 4}`,
    instance: `host-${(s >> 6) % 50}.example.internal:9100`,
    job: "node",
    mode: MODES[s % MODES.length],
    env: "prod",
  });
}

/** A node-exporter-like series set: `series` series, `perSeries` samples each, WAL-interleaved. */
function floatBatch(series: number, perSeries: number, staleEvery = 0): WriteBatch {
  const labels = Array.from({ length: series }, (_, s) => nodeLabels(s));
  const b = new WriteBatch(series * perSeries);
  let n = 0;
  for (let k = 0; k < perSeries; k++) {
    for (let s = 0; s < series; s++) {
      const stale = staleEvery > 0 && ++n % staleEvery === 0;
      b.add(s + 1, labels[s], T0 + k * 15_000, 12345.678 + s * 0.25 + k * 17, stale);
    }
  }
  return b;
}

/** Integer native histograms (schema 3, 20 populated buckets in 2 spans), 2 per series. */
function histogramBatch(series: number, perSeries: number): WriteBatch {
  const b = new WriteBatch(series * perSeries);
  for (let k = 0; k < perSeries; k++) {
    for (let s = 0; s < series; s++) {
      const h: Histogram = {
        float: false,
        schema: 3,
        zeroThreshold: 2.938735877055719e-39,
        zeroCount: 3 + k,
        count: 1000 + s + k * 50,
        sum: 1234.5 + s + k,
        positiveSpans: [{ offset: -5, length: 12 }, { offset: 4, length: 8 }],
        positiveBuckets: Array.from({ length: 20 }, (_, i) => ((i * 7 + s) % 11) - 5),
        negativeSpans: [],
        negativeBuckets: [],
        resetHint: 2,
        customValues: [],
      };
      const labels = Labels.fromObject({
        __name__: "http_request_duration_seconds",
        handler: `/api/v1/thing/${s % 40}`,
        method: s % 2 === 0 ? "GET" : "POST",
        instance: `app-${s % 25}:8080`,
        job: "app",
      });
      b.addHistogram(s + 1, labels, T0 + k * 15_000, h, false, T0 - 3_600_000);
    }
  }
  return b;
}

const metadataOf = (b: WriteBatch) => {
  const bySlotKey = new Map<number, MetricMetadata>();
  b.series.forEach((l, i) => {
    const name = l.get("__name__");
    bySlotKey.set(
      b.keys[i],
      name.startsWith("node_cpu") ? CPU : name.startsWith("http_") ? LATENCY : NET,
    );
  });
  return (key: number) => bySlotKey.get(key);
};

const cases = [
  ["2000 series x 1", floatBatch(2000, 1)],
  ["200 series x 10", floatBatch(200, 10, 97)],
  ["histograms 1000 series x 2", histogramBatch(1000, 2)],
] as const;

const writer1 = new protobuf.Writer(), writer2 = new protobuf.Writer();

for (const [name, b] of cases) {
  const n = b.size;
  const metadata = metadataOf(b);
  const raw1 = encodeWriteRequest(b), raw2 = encodeWriteRequestV2(b, { metadata });
  const z1 = snappyEncode(raw1), z2 = snappyEncode(raw2);
  const per = (x: Uint8Array) => (x.length / n).toFixed(1);
  const figures = `rw1 ${per(raw1)} B raw / ${per(z1)} B snappy, rw2 ${per(raw2)} B raw / ${
    per(z2)
  } B snappy per sample, ${n} samples`;
  const labelCache = new SeriesCache();
  b.series.forEach((labels, s) => labelCache.set(b.keys[s], labels));

  Deno.bench(`rw1 encode+snappy, label cache ${name}`, { group: name, baseline: true }, () => {
    snappyEncode(encodeWriteRequest(b, { writer: writer1, labelCache }));
  });
  Deno.bench(`rw2 encode+snappy ${name}`, { group: name }, () => {
    snappyEncode(encodeWriteRequestV2(b, { writer: writer2, metadata }));
  });
  Deno.bench(`rw1 encode, label cache ${name} (${figures})`, { group: name }, () => {
    encodeWriteRequest(b, { writer: writer1, labelCache });
  });
  Deno.bench(`rw1 encode, no cache ${name}`, { group: name }, () => {
    encodeWriteRequest(b, { writer: writer1 });
  });
  Deno.bench(`rw2 encode ${name}`, { group: name }, () => {
    encodeWriteRequestV2(b, { writer: writer2, metadata });
  });
  Deno.bench(`snappy only, rw1 body ${name}`, { group: name }, () => {
    snappyEncode(raw1);
  });
  Deno.bench(`snappy only, rw2 body ${name}`, { group: name }, () => {
    snappyEncode(raw2);
  });
  Deno.bench(`snappyjs compress (before), rw1 body ${name}`, { group: name }, () => {
    snappyjs.compress(raw1);
  });
  Deno.bench(`rw1 snappy decode+decode ${name}`, { group: name }, () => {
    decodeWriteRequest(snappyDecode(z1));
  });
  Deno.bench(`rw2 snappy decode+decode ${name}`, { group: name }, () => {
    decodeWriteRequestV2(snappyDecode(z2));
  });
}

// For comparison: protobufjs reflection encoding from prebuilt plain objects (no stale support).
{
  const [name, b] = cases[0];
  const objects = WriteRequestType.create(
    WriteRequestType.toObject(WriteRequestType.decode(encodeWriteRequest(b)), { longs: Number }),
  );
  Deno.bench(`protobufjs reflection encode (objects prebuilt) ${name}`, { group: name }, () => {
    WriteRequestType.encode(objects).finish();
  });
}

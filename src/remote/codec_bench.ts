/**
 * Remote Write 1.0 encoding cost for 2,000-sample batches (the default
 * `max_samples_per_send`). Byte figures per sample are in the bench names.
 *
 *   deno bench src/remote/codec_bench.ts
 */

import protobuf from "protobufjs";
import { Labels } from "../model/labels.ts";
import {
  decodeWriteRequest,
  encodeWriteRequest,
  snappyDecode,
  snappyEncode,
  WriteBatch,
} from "./codec.ts";
import { WriteRequestType } from "./proto/rw1.ts";

const T0 = 1_700_000_000_000;
const MODES = ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"];

/** A node-exporter-like series set: `series` series, `perSeries` samples each, WAL-interleaved. */
function makeBatch(series: number, perSeries: number, staleEvery = 0): WriteBatch {
  const labels: Labels[] = [];
  for (let s = 0; s < series; s++) {
    labels.push(Labels.fromObject({
      __name__: s % 3 === 0 ? "node_cpu_seconds_total" : "node_network_receive_bytes_total",
      cpu: String(s % 64),
      device: `eth${s % 4}`,
      instance: `host-${(s >> 6) % 50}.example.internal:9100`,
      job: "node",
      mode: MODES[s % MODES.length],
      env: "prod",
    }));
  }
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

const wide = makeBatch(2000, 1); // one scrape of 2,000 series
const narrow = makeBatch(200, 10, 97); // 200 series, 10 scrapes, some stale markers
const writer = new protobuf.Writer();

function figures(b: WriteBatch): string {
  const raw = encodeWriteRequest(b);
  const z = snappyEncode(raw);
  return `${(raw.length / b.length).toFixed(1)} B/sample raw, ${
    (z.length / b.length).toFixed(1)
  } B/sample snappy`;
}

for (const [name, b] of [["2000 series x 1", wide], ["200 series x 10", narrow]] as const) {
  const desc = `${name} (${figures(b)})`;
  const raw = encodeWriteRequest(b);
  const labelCache = new WeakMap<Labels, Uint8Array>();
  Deno.bench(`encode, label cache ${desc}`, { group: name, baseline: true }, () => {
    encodeWriteRequest(b, { writer, labelCache });
  });
  Deno.bench(`encode+snappy, label cache ${name}`, { group: name }, () => {
    snappyEncode(encodeWriteRequest(b, { writer, labelCache }));
  });
  Deno.bench(`encode, no cache ${name}`, { group: name }, () => {
    encodeWriteRequest(b, { writer });
  });
  Deno.bench(`encode+snappy, no cache ${name}`, { group: name }, () => {
    snappyEncode(encodeWriteRequest(b, { writer }));
  });
  Deno.bench(`snappy only ${name}`, { group: name }, () => {
    snappyEncode(raw);
  });
  const z = snappyEncode(encodeWriteRequest(b));
  Deno.bench(`snappy decode+decode ${name}`, { group: name }, () => {
    decodeWriteRequest(snappyDecode(z));
  });
  // For comparison: protobufjs reflection encoding from plain objects (no stale support).
  const objects = WriteRequestType.create(
    WriteRequestType.toObject(WriteRequestType.decode(encodeWriteRequest(b)), { longs: Number }),
  );
  Deno.bench(`reflection encode (objects prebuilt) ${name}`, { group: name }, () => {
    WriteRequestType.encode(objects).finish();
  });
}

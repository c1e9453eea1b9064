/**
 * WAL record compression: our raw DEFLATE against `node:zlib`'s
 * `deflateRawSync` at level 2 (what type 10 records used before), on
 * WAL-like bodies of a small scrape's commit (100 samples) and a large one
 * (20,000). Sizes are in the bench names. This measures warm code; in the
 * agent a commit compresses a few times a second, where zlib's per-call
 * set-up (a stream object, ~270 KiB of zlib state) is the larger part.
 *
 *   deno bench src/util/deflate_bench.ts
 */

import { deflateRawSync } from "node:zlib";
import { walLike } from "../testing/wal_like.ts";
import { deflateRaw } from "./deflate.ts";

for (const samples of [100, 20_000]) {
  const body = walLike(samples, 1);
  const ours = deflateRaw(body).length;
  const zlib = deflateRawSync(body, { level: 2 }).length;
  const group = `${samples} samples, ${body.length} bytes`;
  Deno.bench({
    name: `deflateRaw (${ours} bytes)`,
    group,
    baseline: true,
    fn: () => {
      deflateRaw(body);
    },
  });
  Deno.bench({
    name: `node:zlib deflateRawSync level 2 (${zlib} bytes)`,
    group,
    fn: () => {
      deflateRawSync(body, { level: 2 });
    },
  });
}

/**
 * Target sharding: several agents with the same config split the targets,
 * as Prometheus' `hashmod` pattern does. A target belongs to shard `index`
 * of `total` iff the MD5 hashmod of its discovered `__address__` (bytes
 * 8..15 of the MD5 as a big-endian uint64, modulo `total`) is `index` — the
 * same as `{sourceLabels: ["__address__"], modulus: total, targetLabel:
 * "__tmp_hash", action: "hashmod"}` and a `keep` of `index` placed first in
 * `relabelConfigs`.
 *
 * @module
 */

import type { ShardConfig } from "../config/types.ts";
import { hashMod } from "../relabel/relabel.ts";

/** The shard (0 ≤ n < `total`) that a target with this discovered `__address__` belongs to. */
export function shardOf(address: string, total: number): number {
  return total <= 1 ? 0 : hashMod(address, total);
}

/** Whether this agent scrapes a target with this discovered `__address__`; true without sharding. */
export function inShard(address: string, shard: ShardConfig | null | undefined): boolean {
  if (shard === null || shard === undefined) return true;
  return shardOf(address, shard.total) === shard.index;
}

/** `"shard 1 of 3"`: how logs, `check targets` and drop reasons name a shard (0-based index). */
export function describeShard(shard: ShardConfig): string {
  return `shard ${shard.index} of ${shard.total}`;
}

/**
 * Sharding and HA-replica options of `run` and `check targets`:
 * `--shard.index` / `--shard.total` / `--replica`, the environment variables
 * `FERRY_SHARD_INDEX` / `FERRY_SHARD_TOTAL` / `FERRY_REPLICA`, and the
 * config's `shard` / `replicaLabel`. Each shard field is taken from the flag,
 * else the environment, else the config.
 *
 * - The shard index may be a StatefulSet pod name such as `ferry-2`: its
 *   trailing `-<digits>` ordinal is the index (`FERRY_SHARD_INDEX` from the
 *   downward API's `metadata.name`).
 * - The replica name becomes the external label `<replicaLabel>=NAME`
 *   (`__replica__` by default). It replaces a value the config's
 *   `externalLabels` gives that label: the flag or variable is the
 *   per-instance setting, as with the shard (the replacement is reported
 *   through `onNote`).
 *
 * Environment variables are read only when the permission is already granted
 * (never prompting); otherwise they count as unset.
 *
 * @module
 */

import { withShard } from "../config/resolve.ts";
import type { ResolvedConfig, ShardConfig } from "../config/types.ts";
import { describeShard } from "../scrape/shard.ts";
import type { FlagSpec } from "./flags.ts";

/** The environment variables of the sharding options. */
export const SHARD_ENV = {
  index: "FERRY_SHARD_INDEX",
  total: "FERRY_SHARD_TOTAL",
  replica: "FERRY_REPLICA",
} as const;

/** Names of the environment variables {@link readFerryEnv} reads. */
export type FerryEnvName = typeof SHARD_ENV[keyof typeof SHARD_ENV];

/** Values of the sharding environment variables; absent: unset or not readable. */
export type FerryEnv = Partial<Record<FerryEnvName, string>>;

/** Every variable in {@link SHARD_ENV}, for `--allow-env`. */
export const SHARD_ENV_VARS: readonly FerryEnvName[] = Object.values(SHARD_ENV);

/** The flags, to spread into a command's flag specs. */
export const SHARD_FLAGS = {
  "shard.index": {
    help:
      `This agent's shard, 0-based (overrides ${SHARD_ENV.index} and the config's shard.index); a pod name such as ferry-2 gives its ordinal.`,
    default: "",
    placeholder: "N|POD",
  },
  "shard.total": {
    help:
      `How many agents share the targets (overrides ${SHARD_ENV.total} and the config's shard.total).`,
    default: "",
    placeholder: "N",
  },
  "replica": {
    help:
      `HA replica name, added as the external label named by the config's replicaLabel (default __replica__); overrides ${SHARD_ENV.replica}.`,
    default: "",
    placeholder: "NAME",
  },
} satisfies Record<string, FlagSpec>;

/**
 * Reads the sharding environment variables where `--allow-env` already
 * grants them; never prompts. Empty values count as unset.
 */
export function readFerryEnv(): FerryEnv {
  const out: FerryEnv = {};
  for (const name of SHARD_ENV_VARS) {
    try {
      if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") continue;
      const v = Deno.env.get(name);
      if (v !== undefined && v !== "") out[name] = v;
    } catch {
      // No permission API here, or not allowed: unset.
    }
  }
  return out;
}

/**
 * A shard index from `value`: a non-negative integer, or a name ending in
 * `-<digits>` (a StatefulSet pod name such as `ferry-2`), whose ordinal is taken.
 * @throws {Error} naming `source` when it is neither.
 */
export function parseShardIndex(value: string, source: string): number {
  const m = /^(?:.+-)?(\d+)$/.exec(value.trim());
  const n = m === null ? NaN : Number(m[1]);
  if (!Number.isSafeInteger(n)) {
    throw new Error(
      `${source}: ${
        JSON.stringify(value)
      } is neither a shard number nor a pod name ending in -<number> (such as ferry-2)`,
    );
  }
  return n;
}

function parseShardTotal(value: string, source: string): number {
  const s = value.trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${source}: ${JSON.stringify(value)} is not an integer of at least 1`);
  }
  return n;
}

/** Where a value came from, as error messages name it. */
interface Sourced {
  value: string;
  source: string;
}

function pick(
  flags: Readonly<Record<string, unknown>>,
  flag: string,
  env: FerryEnv,
  variable: FerryEnvName,
): Sourced | undefined {
  const f = flags[flag];
  if (typeof f === "string" && f !== "") return { value: f, source: `--${flag}` };
  const e = env[variable];
  if (e !== undefined && e !== "") return { value: e, source: variable };
  return undefined;
}

/**
 * The config with the sharding flags and environment applied: each of the
 * shard's index and total from the flag, else the environment, else the
 * config; the shard copied into every job; the replica name (flag, else
 * environment) set as the external label `config.replicaLabel`.
 *
 * @param flags Parsed flags; `shard.index`, `shard.total`, `replica` ("" = not given).
 * @param env The environment, as {@link readFerryEnv} reads it.
 * @param onNote Told when the replica name replaces a different value from the config.
 * @returns A new config (the given one is not changed).
 * @throws {Error} naming the flag, variable or config field of a bad or missing value.
 */
export function applyShardOptions(
  config: ResolvedConfig,
  flags: Readonly<Record<string, unknown>>,
  env: FerryEnv = readFerryEnv(),
  onNote?: (message: string) => void,
): ResolvedConfig {
  const idx = pick(flags, "shard.index", env, SHARD_ENV.index);
  const tot = pick(flags, "shard.total", env, SHARD_ENV.total);
  const replica = pick(flags, "replica", env, SHARD_ENV.replica);

  let shard: ShardConfig | null = config.shard;
  if (idx !== undefined || tot !== undefined) {
    const index = idx !== undefined
      ? { n: parseShardIndex(idx.value, idx.source), source: idx.source }
      : config.shard !== null
      ? { n: config.shard.index, source: "shard.index in the config" }
      : undefined;
    const total = tot !== undefined
      ? { n: parseShardTotal(tot.value, tot.source), source: tot.source }
      : config.shard !== null
      ? { n: config.shard.total, source: "shard.total in the config" }
      : undefined;
    if (index === undefined) {
      throw new Error(
        `${
          tot!.source
        } needs a shard index: give --shard.index, ${SHARD_ENV.index} or shard.index in the config`,
      );
    }
    if (total === undefined) {
      throw new Error(
        `${
          idx!.source
        } needs a shard count: give --shard.total, ${SHARD_ENV.total} or shard.total in the config`,
      );
    }
    if (index.n >= total.n) {
      const from = idx !== undefined && idx.value.trim() !== String(index.n)
        ? ` (from ${JSON.stringify(idx.value)})`
        : "";
      throw new Error(
        `${index.source}: shard ${index.n}${from} must be less than the shard count ${total.n} (${total.source}); shards are numbered from 0`,
      );
    }
    shard = { index: index.n, total: total.n };
  }

  let externalLabels = config.global.externalLabels;
  if (replica !== undefined) {
    if (!replica.value.isWellFormed()) {
      throw new Error(`${replica.source}: the replica name is not valid UTF-8`);
    }
    const label = config.replicaLabel;
    const had = Object.hasOwn(externalLabels, label) ? externalLabels[label] : undefined;
    if (had !== undefined && had !== replica.value) {
      onNote?.(
        `${replica.source} ${JSON.stringify(replica.value)} replaces the external label ${label}=${
          JSON.stringify(had)
        } from the config`,
      );
    }
    externalLabels = { ...externalLabels };
    Object.defineProperty(externalLabels, label, {
      value: replica.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }

  return {
    ...config,
    global: { ...config.global, externalLabels },
    scrapeConfigs: withShard(config.scrapeConfigs, shard),
    shard,
  };
}

/** One line for the startup log: `scraping shard 1 of 3` or `scraping every target (no sharding)`. */
export function shardSummary(config: ResolvedConfig): string {
  return config.shard === null
    ? "scraping every target (no sharding)"
    : `scraping ${describeShard(config.shard)}`;
}

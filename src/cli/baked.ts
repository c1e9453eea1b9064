/**
 * What a compiled binary's entry point passes to `run` (see
 * `tools/compile.ts`): a site binary's built-in config, and the flag defaults
 * its permissions were derived from.
 *
 * @module
 */

import type { LoadedConfig } from "../config/load.ts";
import { resolveConfig } from "../config/resolve.ts";
import type { FlagSpec } from "./flags.ts";
import type { BuildInfo } from "../version.ts";

/** A config built into a binary: what the config module exported, as plain data. */
export interface BakedConfig {
  /** The config as it was given to `deno task compile --config` (for messages and `/flags`). */
  name: string;
  /** The module's default export (or a prometheus.yml parsed into the model at build time). */
  value: unknown;
}

/** Options of `runMain` for compiled binaries. */
export interface RunOptions {
  /**
   * A site binary's config: no config file is read; relative paths in it are
   * resolved against the working directory; a reload re-applies it; auto-reload is off.
   */
  baked?: BakedConfig;
  /** Flag defaults baked into a binary (its permissions were derived from them). */
  defaults?: { "storage.agent.path"?: string; "web.listen-address"?: string };
  /** Build facts (the commit shows in `/api/v1/status/buildinfo` and `prometheus_build_info`). */
  build?: BuildInfo;
}

/** Resolves a baked config (relative paths against the working directory). */
export function loadBaked(baked: BakedConfig): LoadedConfig {
  const config = resolveConfig(baked.value, { source: baked.name, baseDir: Deno.cwd() });
  return { config, source: baked.name, kind: "ts", warnings: [] };
}

/** `specs` with some defaults replaced. */
export function withDefaults<S extends Record<string, FlagSpec>>(
  specs: S,
  defaults: Partial<Record<keyof S, string>> = {},
): S {
  const out = { ...specs };
  for (const [k, v] of Object.entries(defaults)) {
    if (v !== undefined && k in out) out[k as keyof S] = { ...out[k as keyof S], default: v };
  }
  return out;
}

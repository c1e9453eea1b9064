/**
 * `main.ts check targets CONFIG [--job NAME] [--json]` runs every SD config of the
 * jobs once (no watching, no scraping) and prints, for each discovered
 * target, its discovered labels and either its labels after target
 * relabeling and scrape URL, or why it was dropped.
 *
 * Targets of other shards (see `cli/shard.ts`) are listed as dropped, with
 * the shard they belong to.
 *
 * With `--json` it prints
 * what Prometheus' `/api/v1/targets` would put in `data` (`activeTargets`,
 * `droppedTargets`, `droppedTargetCounts`), built by the agent's own API
 * handler. Exit status: 0 when every source answered, 1 when one failed or the
 * config cannot be loaded, 2 for usage errors.
 *
 * @module
 */

import { loadConfig } from "../config/load.ts";
import type { ResolvedConfig, ResolvedScrapeConfig } from "../config/types.ts";
import { createDiscoverers, type DiscoveryDeps } from "../discovery/mod.ts";
import type { TargetGroup } from "../discovery/types.ts";
import { Registry } from "../metrics/registry.ts";
import { parseDuration } from "../model/duration.ts";
import { compileRules } from "../relabel/relabel.ts";
import { targetKey } from "../scrape/pool.ts";
import { populateLabels } from "../scrape/target.ts";
import { setupLogging } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { createHandler } from "../web/api.ts";
import type { AgentStatusProvider, DroppedTargetStatus, TargetStatus } from "../web/status.ts";
import { type FlagSpec, parseFlags, print, printErr, usage, UsageError } from "./flags.ts";
import { applyShardOptions, SHARD_FLAGS, shardSummary } from "./shard.ts";

const TARGETS_FLAGS = {
  "job": { help: "Check only this job.", default: "", placeholder: "NAME" },
  "json": { help: "Print the data of /api/v1/targets as JSON.", default: false },
  "timeout": {
    help: "How long discovery may take in all.",
    default: "60s",
    placeholder: "DURATION",
  },
  "log.level": {
    help: "Also log discovery (debug, info, warn, error); off by default.",
    default: "",
    placeholder: "LEVEL",
  },
  ...SHARD_FLAGS,
  "help": { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const TARGETS_HELP = usage(
  "main.ts check targets CONFIG [--job NAME] [--json]",
  "Runs service discovery once and shows each target's discovered labels, its labels after\n" +
    "relabeling, or why it was dropped. Exits 1 if a source failed. With sharding (the config's\n" +
    "shard, --shard.index/--shard.total or FERRY_SHARD_INDEX/FERRY_SHARD_TOTAL), targets of\n" +
    "other shards are shown as dropped.",
  TARGETS_FLAGS,
);

/** One job's outcome. */
export interface JobCheck {
  config: ResolvedScrapeConfig;
  active: TargetStatus[];
  dropped: (DroppedTargetStatus & { reason: string })[];
  /** `file_sd_configs[0]: …` per failed source. */
  errors: string[];
}

/** Runs discovery once for `jobs` and applies target relabeling. */
export async function checkTargets(
  jobs: ResolvedScrapeConfig[],
  deps: Omit<DiscoveryDeps, "registry" | "watch"> & { signal?: AbortSignal } = {},
): Promise<JobCheck[]> {
  const registry = new Registry();
  const signal = deps.signal ?? new AbortController().signal;
  return await Promise.all(jobs.map(async (cfg): Promise<JobCheck> => {
    const groups: TargetGroup[] = [];
    const errors: string[] = [];
    const discoverers = createDiscoverers(cfg, { ...deps, registry, watch: false });
    await Promise.all(discoverers.map(async ({ name, discoverer }) => {
      try {
        const r = await discoverer.discoverOnce(signal);
        groups.push(...r.groups);
        for (const e of r.errors) errors.push(`${name}: ${e}`);
      } catch (e) {
        errors.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (signal.aborted) errors.push(`${name}: gave no answer in time`);
    }));
    const rules = compileRules(cfg.relabelConfigs);
    const seen = new Set<string>();
    const active: TargetStatus[] = [];
    const dropped: JobCheck["dropped"] = [];
    for (const g of groups) {
      for (const t of g.targets) {
        const r = populateLabels(t, g.labels, cfg, rules);
        if (r.labels === null || r.error) {
          dropped.push({
            scrapePool: cfg.jobName,
            discoveredLabels: r.discoveredLabels.toObject(),
            reason: r.error ??
              (r.droppedBy !== undefined && cfg.shard !== undefined
                ? `belongs to ${r.droppedBy} (this agent is shard ${cfg.shard.index})`
                : "dropped by relabeling"),
          });
          continue;
        }
        const key = targetKey({
          labels: r.labels,
          discoveredLabels: r.discoveredLabels,
          scrapeUrl: r.scrapeUrl,
          intervalMs: r.intervalMs,
          timeoutMs: r.timeoutMs,
        });
        if (seen.has(key)) continue;
        seen.add(key);
        active.push({
          scrapePool: cfg.jobName,
          scrapeUrl: r.scrapeUrl,
          globalUrl: r.scrapeUrl,
          labels: r.labels.toObject(),
          discoveredLabels: r.discoveredLabels.toObject(),
          health: "unknown",
          lastError: "",
          lastScrape: null,
          lastScrapeDurationSeconds: 0,
          scrapeIntervalMs: r.intervalMs,
          scrapeTimeoutMs: r.timeoutMs,
        });
      }
    }
    return { config: cfg, active, dropped, errors };
  }));
}

/** The `data` of `GET /api/v1/targets` for these results, as the agent's API renders it. */
export async function targetsApiData(results: JobCheck[]): Promise<unknown> {
  const status: AgentStatusProvider = {
    targets: () => results.flatMap((r) => r.active),
    droppedTargets: () =>
      results.flatMap((r) =>
        r.dropped.map(({ scrapePool, discoveredLabels }) => ({ scrapePool, discoveredLabels }))
      ),
    droppedTargetCounts: () =>
      Object.fromEntries(results.map((r) => [r.config.jobName, r.dropped.length])),
    scrapePools: () => results.map((r) => r.config.jobName),
    endpoints: () => [],
    ready: () => true,
    startTime: Date.now(),
    version: VERSION,
  };
  const handler = createHandler({ status, registry: new Registry() });
  const res = await handler(new Request("http://ferry.invalid/api/v1/targets"));
  const body = await res.json();
  if (body.status !== "success") throw new Error(`rendering targets failed: ${body.error}`);
  return body.data;
}

/** Human-readable report of one job. */
export function formatJob(r: JobCheck): string {
  const lines = [
    `job ${
      JSON.stringify(r.config.jobName)
    }: ${r.active.length} active, ${r.dropped.length} dropped` +
    (r.errors.length > 0 ? `, ${r.errors.length} source(s) failed` : ""),
  ];
  const obj = (o: Record<string, string>) =>
    "{" + Object.keys(o).sort().map((k) => `${k}=${JSON.stringify(o[k])}`).join(", ") + "}";
  for (const t of r.active) {
    lines.push(`  ${t.scrapeUrl}`);
    lines.push(`    discovered: ${obj(t.discoveredLabels)}`);
    lines.push(`    labels:     ${obj(t.labels)}`);
  }
  for (const d of r.dropped) {
    lines.push(`  ${d.discoveredLabels.__address__ ?? "(no address)"} dropped: ${d.reason}`);
    lines.push(`    discovered: ${obj(d.discoveredLabels)}`);
  }
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join("\n");
}

/** `check targets`; returns the exit code (0 ok, 1 a source failed or bad config, 2 usage). */
export async function checkTargetsMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(args, TARGETS_FLAGS);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    printErr(`error: ${e.message}\n\n${TARGETS_HELP}`);
    return 2;
  }
  const { flags, rest } = parsed;
  if (flags.help) {
    print(TARGETS_HELP);
    return 0;
  }
  if (rest.length !== 1) {
    printErr(`error: give exactly one config file\n\n${TARGETS_HELP}`);
    return 2;
  }
  let timeoutMs: number;
  try {
    if (flags["log.level"] !== "") setupLogging({ level: flags["log.level"] });
    timeoutMs = parseDuration(flags.timeout);
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 2;
  }
  let config: ResolvedConfig;
  try {
    config = (await loadConfig(rest[0])).config;
  } catch (e) {
    printErr(`error loading config ${rest[0]}:\n${(e as Error).message}`);
    return 1;
  }
  try {
    config = applyShardOptions(config, flags);
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 2;
  }
  let jobs = config.scrapeConfigs;
  if (flags.job !== "") {
    jobs = jobs.filter((j) => j.jobName === flags.job);
    if (jobs.length === 0) {
      const have = config.scrapeConfigs.map((j) => JSON.stringify(j.jobName)).join(", ");
      printErr(
        `error: no job named ${JSON.stringify(flags.job)} (the config has ${have || "none"})`,
      );
      return 1;
    }
  }
  const results = await checkTargets(jobs, {
    userAgent: `ferry/${VERSION}`,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const errors = results.flatMap((r) => r.errors.map((e) => `job ${r.config.jobName}: ${e}`));
  if (flags.json) {
    print(JSON.stringify(await targetsApiData(results), null, 2));
    for (const e of errors) printErr(`error: ${e}`);
  } else {
    const head = config.shard === null ? "" : `${shardSummary(config)}\n\n`;
    print(head + results.map(formatJob).join("\n\n"));
  }
  return errors.length > 0 ? 1 : 0;
}

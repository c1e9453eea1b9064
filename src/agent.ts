/**
 * The agent: wires storage, scraping, remote write and the web server for one
 * resolved config, and shuts them down in order (scrapes → remote drain →
 * WAL close → web).
 *
 * @module
 */

import { registerProcessMetrics } from "./metrics/process.ts";
import type { ResolvedConfig, ResolvedRemoteWrite } from "./config/types.ts";
import { renderConfigYaml } from "./config/render.ts";
import { DEFAULT_PUSH } from "./config/resolve.ts";
import { createPushHandlers, PushIngester } from "./push/mod.ts";
import { Registry } from "./metrics/registry.ts";
import { type Labels, LabelsBuilder } from "./model/labels.ts";
import { compileRules, relabel } from "./relabel/relabel.ts";
import { type FamilyMetadata, RemoteEndpoint } from "./remote/endpoint.ts";
import { hashString } from "./scrape/loop.ts";
import { type ApplyResult, ScrapeManager, stableJson } from "./scrape/manager.ts";
import { AgentDb, type AgentDbOptions, type DropEvent } from "./storage/agentdb.ts";
import { type DirectoryLock, lockDirectory } from "./storage/lock.ts";
import { type Clock, realClock } from "./util/clock.ts";
import { log } from "./util/log.ts";
import { VERSION } from "./version.ts";
import { createHandler, type Lifecycle } from "./web/api.ts";
import { startWebServer } from "./web/server.ts";
import { type WebConfig, WebGuard } from "./web/webconfig.ts";
import type {
  AgentStatusProvider,
  BuildStatus,
  EndpointStatus,
  TargetStatus,
} from "./web/status.ts";
import type {
  DroppedTargetStatus,
  RemoteWriteInfo,
  TargetMetadata,
  WalStatus,
} from "./web/status.ts";

const logger = log("agent");

/** How the agent is run (flags, not config). */
export interface AgentOptions {
  /** `--storage.agent.path`. */
  storagePath: string;
  /** `--web.listen-address`; empty disables the web server. */
  listenAddress: string;
  /** The config as written (YAML or TS source), shown by the status API. */
  configSource?: string;
  /** How long remote endpoints may drain on shutdown. @default 10_000 */
  drainDeadlineMs?: number;
  /** WAL fsync policy. @default { intervalMs: 1000 } */
  sync?: "commit" | { intervalMs: number };
  /**
   * WAL segment size, retention (`--storage.agent.retention.*`), disk cap
   * (`--storage.agent.max-disk-bytes`) and truncation period; see `AgentDbOptions`.
   */
  wal?: Pick<
    AgentDbOptions,
    "segmentSize" | "minTimeMs" | "maxTimeMs" | "maxDiskBytes" | "truncateIntervalMs"
  >;
  clock?: Clock;
  fetch?: typeof fetch;
  /** `POST /-/reload` and `/-/quit` (`--web.enable-lifecycle`); without it they answer 403. */
  lifecycle?: Lifecycle;
  /** Reload state for `/api/v1/status/runtimeinfo`. */
  reloadState?: () => { success: boolean; lastConfigTime: number };
  /** The command-line flags, for `/api/v1/status/flags`. */
  flags?: Record<string, string>;
  /** The config file the agent runs (shown by the UI's Configuration page). */
  configFile?: string;
  /** Build facts for `/api/v1/status/buildinfo` and `prometheus_build_info`. */
  build?: BuildStatus;
  /** `--web.config.file`: TLS and basic auth of the web server; the file is re-read when it changes. */
  web?: { config: WebConfig; file?: string };
  /**
   * `--web.enable-remote-write-receiver`: accept pushes at `POST /api/v1/write`
   * and `/api/v1/import/prometheus` (configured by the config's `push`).
   */
  remoteWriteReceiver?: boolean;
}

/**
 * How long a reload lets a removed or changed remote endpoint drain (capped
 * by `drainDeadlineMs`): enough for requests in flight to be answered;
 * what is left stays in the WAL for the successor (or is given up with a
 * removed endpoint's cursor).
 */
export const RELOAD_DRAIN_MS = 5_000;

/** What {@link Agent.applyConfig} changed. */
export interface ReloadResult {
  jobs: ApplyResult;
  endpoints: { kept: string[]; changed: string[]; added: string[]; removed: string[] };
}

interface RunningEndpoint {
  endpoint: RemoteEndpoint;
  done: Promise<void>;
  abort: AbortController;
  /** What the endpoint was built from: its config and the external labels. */
  key: string;
}

/** A running agent. */
export class Agent {
  readonly registry: Registry;
  #config: ResolvedConfig;
  readonly #opts: AgentOptions;
  readonly #db: AgentDb;
  readonly #scrape: ScrapeManager;
  #endpoints: RunningEndpoint[] = [];
  /** Serialises reloads with each other and with shutdown. */
  #applying: Promise<unknown> = Promise.resolve();
  readonly #webAbort = new AbortController();
  #web?: { port: number; finished: Promise<void> };
  readonly #startTime: number;
  #ready = false;
  #lock?: DirectoryLock;
  #stopping: Promise<void> | null = null;
  #push: PushIngester | null = null;

  private constructor(config: ResolvedConfig, opts: AgentOptions, registry: Registry, db: AgentDb) {
    this.#config = config;
    this.#opts = opts;
    this.registry = registry;
    this.#db = db;
    const clock = opts.clock ?? realClock;
    this.#startTime = clock.now();
    this.#scrape = new ScrapeManager({
      appendable: db,
      clock,
      registry,
      offsetSeed: offsetSeed(config, opts.listenAddress),
      userAgent: `ferry/${VERSION}`,
      fetch: opts.fetch,
    });
  }

  /** Opens storage, starts remote endpoints, scraping and the web server. */
  static async start(config: ResolvedConfig, opts: AgentOptions): Promise<Agent> {
    const registry = new Registry();
    registerProcessMetrics(registry);
    // One process per storage path: a second one would write into this WAL.
    const lock = await lockDirectory(opts.storagePath);
    let db: AgentDb;
    // Drops happen in truncations, which start after the agent exists.
    const self: { agent?: Agent } = {};
    try {
      db = await AgentDb.open(opts.storagePath, {
        ...opts.wal,
        registry,
        sync: opts.sync ?? { intervalMs: 1000 },
        onDrop: (e) => {
          if (self.agent !== undefined) self.agent.#onWalDrop(e);
        },
      });
    } catch (e) {
      lock.release();
      throw e;
    }
    const agent = new Agent(config, opts, registry, db);
    self.agent = agent;
    agent.#lock = lock;
    try {
      for (const rw of config.remoteWrite) agent.#endpoints.push(agent.#startEndpoint(rw));
      // Cursors of endpoints no longer configured would hold back WAL truncation forever.
      const names = new Set(config.remoteWrite.map((rw) => rw.name));
      for (const name of db.cursorNames()) {
        if (!names.has(name)) {
          logger.warn(
            "endpoint {endpoint} is no longer configured: releasing its delivery cursor; data it had not delivered will not be sent",
            { endpoint: name, position: db.cursor(name).position },
          );
          db.cursor(name).release();
        }
      }
      agent.#scrape.start(config.scrapeConfigs);
      if (opts.remoteWriteReceiver) {
        agent.#push = new PushIngester({
          appendable: db,
          registry,
          config: config.push ?? DEFAULT_PUSH,
        });
      } else if (config.push !== undefined) {
        logger.warn(
          "the config has push settings but the push endpoints are off: start with --web.enable-remote-write-receiver",
        );
      }
      if (opts.listenAddress !== "") {
        const clock = opts.clock ?? realClock;
        const handler = createHandler({
          status: agent.status(),
          registry,
          lifecycle: opts.lifecycle,
          push: agent.#push === null
            ? undefined
            : createPushHandlers(agent.#push, { now: () => clock.now() }),
        });
        const guard = opts.web ? new WebGuard(opts.web.config, { file: opts.web.file }) : null;
        agent.#web = await startWebServer({
          listen: opts.listenAddress,
          handler: guard ? guard.wrap(handler) : handler,
          signal: agent.#webAbort.signal,
          tls: opts.web?.config.tls ?? undefined,
        });
        logger.info("web server listening on {address}", {
          address: opts.listenAddress,
          port: agent.#web.port,
          tls: guard?.config.tls != null,
          basic_auth: (guard?.config.basicAuthUsers.size ?? 0) > 0,
        });
      }
    } catch (e) {
      await agent.stop();
      throw e;
    }
    agent.#ready = true;
    logger.info("agent started", {
      jobs: config.scrapeConfigs.length,
      endpoints: config.remoteWrite.length,
      storage: opts.storagePath,
      remote_write_receiver: agent.#push !== null,
    });
    return agent;
  }

  /** The port the web server listens on (useful with port 0). */
  get webPort(): number | undefined {
    return this.#web?.port;
  }

  #startEndpoint(rw: ResolvedRemoteWrite): RunningEndpoint {
    const endpoint = new RemoteEndpoint(rw, {
      source: this.#db,
      transform: makeTransform(this.#config.global.externalLabels, rw),
      registry: this.registry,
      version: VERSION,
      fetch: this.#opts.fetch,
      metadata: () => this.#scrapedMetadata(),
    });
    this.#db.limitCursor(rw.name, rw.maxDiskBytes);
    const abort = new AbortController();
    const done = endpoint.run(abort.signal).catch((err) =>
      logger.error("remote endpoint crashed", { endpoint: rw.name, err: String(err) })
    );
    return { endpoint, done, abort, key: endpointKey(this.#config, rw) };
  }

  /**
   * The metadata of every family the scrape loops know, for RW 1.0 metadata
   * requests; the endpoint keeps the first entry of each family name.
   */
  *#scrapedMetadata(): Iterable<FamilyMetadata> {
    for (const pool of this.#scrape.pools()) {
      for (const loop of pool.loops()) yield* loop.metadata();
    }
    if (this.#push !== null) yield* this.#push.families();
  }

  /**
   * Applies a new, already validated config without a restart: unchanged
   * jobs and endpoints keep running untouched; see {@link ScrapeManager.apply}
   * for jobs. A changed or removed endpoint drains for at most
   * {@link RELOAD_DRAIN_MS} (requests in flight are answered and
   * acknowledged; what it had not had acknowledged then stays in the WAL);
   * a changed one's successor resumes from the cursor, a removed one's
   * cursor is released.
   */
  applyConfig(config: ResolvedConfig): Promise<ReloadResult> {
    const run = this.#applying.then(() => this.#apply(config));
    this.#applying = run.catch(() => {});
    return run;
  }

  async #apply(config: ResolvedConfig): Promise<ReloadResult> {
    if (this.#stopping) throw new Error("the agent is shutting down");
    this.#config = config;
    this.#push?.configure(config.push ?? DEFAULT_PUSH);
    // Jobs and endpoints are independent: a draining endpoint does not hold up the jobs.
    const [endpoints, jobs] = await Promise.all([
      this.#applyEndpoints(config),
      this.#scrape.apply(config.scrapeConfigs),
    ]);
    return { jobs, endpoints };
  }

  async #applyEndpoints(config: ResolvedConfig): Promise<ReloadResult["endpoints"]> {
    const old = this.#endpoints;
    const endpoints: ReloadResult["endpoints"] = { kept: [], changed: [], added: [], removed: [] };
    const byName = new Map(old.map((e) => [e.endpoint.name, e]));
    const next: RunningEndpoint[] = [];
    const wanted = new Set(config.remoteWrite.map((rw) => rw.name));
    // Stop removed and changed endpoints first: a name is one cursor, read by one endpoint.
    // Each gets a short drain, so that requests the receiver already has are
    // acknowledged (and the cursor moved past them) instead of being cut off
    // and sent again by the successor.
    const deadline = Math.min(this.#opts.drainDeadlineMs ?? 10_000, RELOAD_DRAIN_MS);
    const stops: Promise<void>[] = [];
    for (const e of old) {
      const rw = config.remoteWrite.find((r) => r.name === e.endpoint.name);
      if (rw !== undefined && endpointKey(config, rw) === e.key) continue;
      stops.push((async () => {
        await e.endpoint.close(deadline);
        e.abort.abort();
        await e.done;
      })());
    }
    await Promise.all(stops);
    for (const rw of config.remoteWrite) {
      const e = byName.get(rw.name);
      if (e !== undefined && e.key === endpointKey(config, rw)) {
        endpoints.kept.push(rw.name);
        next.push(e);
        continue;
      }
      (e === undefined ? endpoints.added : endpoints.changed).push(rw.name);
      if (e !== undefined) {
        logger.info("restarting remote endpoint {endpoint} from its cursor: its config changed", {
          endpoint: rw.name,
        });
      }
      next.push(this.#startEndpoint(rw));
    }
    for (const e of old) {
      if (wanted.has(e.endpoint.name)) continue;
      endpoints.removed.push(e.endpoint.name);
      logger.warn(
        "endpoint {endpoint} was removed from the config: releasing its delivery cursor",
        { endpoint: e.endpoint.name },
      );
      this.#db.cursor(e.endpoint.name).release();
    }
    this.#endpoints = next;
    return endpoints;
  }

  /** Counts undelivered samples the WAL dropped (and logged) against their endpoint. */
  #onWalDrop(e: DropEvent): void {
    const found = this.#endpoints.find((x) => x.endpoint.name === e.cursor);
    found?.endpoint.recordWalDrop(e.reason, e.samples);
  }

  /** What the web server shows. */
  status(): AgentStatusProvider {
    return {
      startTime: this.#startTime,
      version: VERSION,
      build: this.#opts.build,
      ready: () => this.#ready,
      // The resolved config, secrets hidden (never the file: it may hold secrets).
      configYaml: () => renderConfigYaml(this.#config),
      runtimeInfo: () => {
        const r = this.#opts.reloadState?.();
        const corruptionCount = this.#db.replay.corruptions;
        return r === undefined
          ? { corruptionCount }
          : { reloadConfigSuccess: r.success, lastConfigTime: r.lastConfigTime, corruptionCount };
      },
      flags: this.#opts.flags === undefined ? undefined : () => this.#opts.flags!,
      targets: (): TargetStatus[] => {
        const out: TargetStatus[] = [];
        for (const pool of this.#scrape.pools()) {
          for (const loop of pool.loops()) {
            const s = loop.status();
            const t = loop.target;
            out.push({
              scrapePool: pool.config.jobName,
              scrapeUrl: t.scrapeUrl,
              globalUrl: t.scrapeUrl,
              labels: t.labels.toObject(),
              discoveredLabels: t.discoveredLabels.toObject(),
              health: s.health,
              lastError: s.lastError,
              lastScrape: s.lastScrape,
              lastScrapeDurationSeconds: s.lastDuration,
              scrapeIntervalMs: t.intervalMs,
              scrapeTimeoutMs: t.timeoutMs,
            });
          }
        }
        return out;
      },
      droppedTargets: (): DroppedTargetStatus[] => {
        const out: DroppedTargetStatus[] = [];
        for (const pool of this.#scrape.pools()) {
          for (const d of pool.dropped().targets) {
            out.push({
              scrapePool: pool.config.jobName,
              discoveredLabels: d.discoveredLabels.toObject(),
            });
          }
        }
        return out;
      },
      droppedTargetCounts: (): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const pool of this.#scrape.pools()) out[pool.config.jobName] = pool.dropped().total;
        return out;
      },
      endpoints: (): EndpointStatus[] => {
        return this.#endpoints.map((e) => e.endpoint.status());
      },
      walReplay: () => {
        const r = this.#db.replay;
        return { min: r.min, max: r.max, current: r.current };
      },
      relabelConfigs: (name) =>
        this.#scrape.pools().find((p) => p.config.jobName === name)?.config.relabelConfigs,
      metadata: (): TargetMetadata[] => {
        const out: TargetMetadata[] = [];
        for (const pool of this.#scrape.pools()) {
          for (const loop of pool.loops()) {
            const target = loop.target.labels.toObject();
            for (const m of loop.metadata()) out.push({ target, ...m });
          }
        }
        return out;
      },
      // Protocol and shards come with each endpoint's status; this adds what only the config has.
      remoteWrite: (): RemoteWriteInfo[] =>
        this.#config.remoteWrite.map((rw) => ({ name: rw.name, maxDiskBytes: rw.maxDiskBytes })),
      wal: (): WalStatus => {
        const db = this.#db, r = db.replay;
        return {
          segments: db.segments.map((segment) => ({
            segment,
            samples: db.segmentSamples(segment),
          })),
          diskBytes: db.diskBytes,
          head: { ...db.position },
          series: db.seriesCount,
          replay: {
            min: r.min,
            max: r.max,
            current: r.current,
            durationSeconds: r.durationSeconds,
            series: r.series,
            samples: r.samples,
            corruptions: r.corruptions,
          },
          dir: this.#opts.storagePath,
        };
      },
      configFile: () => this.#opts.configFile ?? "",
    };
  }

  /**
   * Shuts down in order: stop scraping (no staleness markers, as Prometheus),
   * give remote endpoints a bounded deadline to deliver what is in the WAL,
   * close the WAL (flush, fsync, persist cursors), stop the web server.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.#ready = false;
    await this.#applying;
    logger.info("shutting down");
    await this.#scrape.stop();
    const deadline = this.#opts.drainDeadlineMs ?? 10_000;
    await Promise.all(this.#endpoints.map(async (e) => {
      await e.endpoint.close(deadline);
      e.abort.abort();
      await e.done;
    }));
    await this.#db.close();
    this.#lock?.release();
    this.#webAbort.abort();
    await this.#web?.finished;
    logger.info("shutdown complete");
  }
}

/** An endpoint runs unchanged when its config and the external labels are the same. */
function endpointKey(config: ResolvedConfig, rw: ResolvedRemoteWrite): string {
  return stableJson([rw, config.global.externalLabels]);
}

/** External labels (added when missing), then the endpoint's write relabeling. */
export function makeTransform(
  external: Record<string, string>,
  rw: Pick<ResolvedRemoteWrite, "writeRelabelConfigs">,
): (l: Labels) => Labels | null {
  const ext = Object.entries(external).filter(([, v]) => v !== "");
  const rules = compileRules(rw.writeRelabelConfigs);
  if (ext.length === 0 && rules.length === 0) return (l) => l;
  const b = new LabelsBuilder();
  return (l: Labels) => {
    let out = l;
    if (ext.length > 0) {
      b.reset(l);
      for (const [n, v] of ext) if (!b.has(n)) b.set(n, v);
      out = b.labels();
    }
    return rules.length === 0 ? out : relabel(rules, out);
  };
}

/**
 * The per-agent offset seed: the hostname (when `--allow-sys=hostname` is
 * granted) or the listen address, plus the external labels, so HA replicas
 * scrape at different moments and restarts keep the schedule.
 */
function offsetSeed(config: ResolvedConfig, listen: string): number {
  let host = listen;
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted") {
      host = Deno.hostname();
    }
  } catch {
    // Permission API unavailable: keep the listen address.
  }
  const ext = Object.entries(config.global.externalLabels).sort().map(([k, v]) => `${k}=${v}`);
  return hashString(host + "\u0000" + ext.join(","));
}

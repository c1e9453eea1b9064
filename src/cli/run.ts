/**
 * `ferry run` (the default command): run the agent on a config.
 *
 * @module
 */

import { Agent, type AgentOptions } from "../agent.ts";
import { loadConfig, type LoadedConfig } from "../config/load.ts";
import { parseBytes } from "../model/bytes.ts";
import { parseDuration } from "../model/duration.ts";
import { type LogFormat, setupLogging } from "../util/log.ts";
import { log } from "../util/log.ts";
import { fileHash, Reloader } from "../reload.ts";
import { loadBaked, type RunOptions, withDefaults } from "./baked.ts";
import { preflightOk } from "./preflight.ts";
import { loadWebConfig } from "../web/webconfig.ts";
import { type FlagSpec, parseFlags, printErr, usage, UsageError } from "./flags.ts";
import { applyShardOptions, readFerryEnv, SHARD_FLAGS, shardSummary } from "./shard.ts";

const FLAGS = {
  "config.file": {
    help: "Config file: a TypeScript module (agent.config.ts) or a prometheus.yml.",
    default: "",
    placeholder: "FILE",
  },
  "storage.agent.path": {
    help: "Directory of the write-ahead log and delivery cursors.",
    default: "data-agent/",
    placeholder: "DIR",
  },
  "storage.agent.fsync-interval": {
    help: "How often the WAL is fsynced; 0 fsyncs every scrape commit.",
    default: "1s",
    placeholder: "DURATION",
  },
  "storage.agent.wal-segment-size": {
    help: "Size at which WAL segment files are split (powers of 2: 1KB = 1024 B); at least 64KB.",
    default: "128MB",
    placeholder: "BYTES",
  },
  "storage.agent.retention.min-time": {
    help: "How long a series stays known after its last sample before it may be garbage-collected.",
    default: "5m",
    placeholder: "DURATION",
  },
  "storage.agent.retention.max-time": {
    help:
      'Maximum age of undelivered samples: older WAL segments are dropped, counted per endpoint (reason="retention"). 0: no limit.',
    default: "4h",
    placeholder: "DURATION",
  },
  "storage.agent.max-disk-bytes": {
    help:
      'Cap on the WAL\'s disk use (e.g. 2GB); the oldest undelivered segments are dropped to keep it, counted per endpoint (reason="wal_disk_cap"). 0: no cap.',
    default: "0",
    placeholder: "BYTES",
  },
  "storage.agent.wal-truncate-frequency": {
    help:
      "How often the WAL is truncated, retention and caps applied and idle series collected (also after each completed segment).",
    default: "1m",
    placeholder: "DURATION",
  },
  "storage.remote.flush-deadline": {
    help: "How long remote endpoints may keep delivering on shutdown.",
    default: "1m",
    placeholder: "DURATION",
  },
  "web.listen-address": {
    help: "Address of the web UI, API and /metrics; empty disables it.",
    default: "127.0.0.1:9095",
    placeholder: "HOST:PORT",
  },
  "web.config.file": {
    help:
      "Web config (exporter-toolkit format): TLS (tls_server_config) and basic auth (basic_auth_users, bcrypt) for every web path; re-read when it changes.",
    default: "",
    placeholder: "FILE",
  },
  "web.enable-remote-write-receiver": {
    help:
      "Accept pushes: Remote Write 1.0/2.0 at POST /api/v1/write and Prometheus text/OpenMetrics at POST /api/v1/import/prometheus, into the WAL (settings: the config's push / push_config).",
    default: false,
  },
  "web.enable-lifecycle": {
    help: "Enable shutdown and reload via HTTP request (POST /-/quit, POST /-/reload).",
    default: false,
  },
  "config.auto-reload-interval": {
    help: "Check the config file this often and reload it when its content changed; 0 disables it.",
    default: "0s",
    placeholder: "DURATION",
  },
  "log.level": { help: "debug, info, warn or error.", default: "info", placeholder: "LEVEL" },
  "log.format": { help: "logfmt or json.", default: "logfmt", placeholder: "FORMAT" },
  ...SHARD_FLAGS,
  "help": { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const HELP = usage(
  "main.ts [run] [CONFIG] [flags]",
  "Runs the agent: scrapes the configured targets, keeps samples in the WAL and forwards them\nto the remote-write endpoints. CONFIG may be given as --config.file or positionally.",
  FLAGS,
);

/** Runs the agent until SIGINT/SIGTERM; returns the exit code. */
export async function runMain(args: string[], opts: RunOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(args, withDefaults(FLAGS, opts.defaults));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    printErr(`error: ${e.message}\n\n${HELP}`);
    return 2;
  }
  const { flags, rest } = parsed;
  if (flags.help) {
    printErr(HELP);
    return 0;
  }
  const file = opts.baked?.name ?? (flags["config.file"] || rest[0]);
  if (opts.baked !== undefined && (flags["config.file"] !== "" || rest.length > 0)) {
    printErr(`error: this binary runs its built-in config ${file}; give no config file\n\n${HELP}`);
    return 2;
  }
  if (!file || rest.length > (flags["config.file"] ? 0 : 1)) {
    printErr(`error: give exactly one config file\n\n${HELP}`);
    return 2;
  }
  const format = flags["log.format"];
  if (format !== "logfmt" && format !== "json") {
    printErr(`error: --log.format must be logfmt or json, not "${format}"`);
    return 2;
  }
  let fsyncMs: number, flushDeadlineMs: number, autoReloadMs: number;
  let wal: NonNullable<AgentOptions["wal"]>;
  try {
    setupLogging({ level: flags["log.level"], format: format as LogFormat });
    fsyncMs = parseDuration(flags["storage.agent.fsync-interval"]);
    flushDeadlineMs = parseDuration(flags["storage.remote.flush-deadline"]);
    autoReloadMs = parseDuration(flags["config.auto-reload-interval"]);
    wal = walFlags(flags);
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 2;
  }
  const logger = log("main");

  let loaded, initialHash: string | undefined;
  try {
    initialHash = opts.baked ? undefined : await fileHash(file).catch(() => undefined);
    loaded = opts.baked ? loadBaked(opts.baked) : await loadConfig(file);
  } catch (e) {
    logger.error("cannot load config {file}: {err}", { file, err: (e as Error).message });
    printErr(`error loading config ${file}:\n${(e as Error).message}`);
    return 1;
  }

  for (const w of loaded.warnings) {
    logger.warn("config {file}: {path}: {message}", { file, path: w.path, message: w.message });
  }

  // Sharding and the HA replica label: flags, else FERRY_* variables, else the config.
  const shardEnv = readFerryEnv();
  const shardOptions = (config: LoadedConfig["config"]) =>
    applyShardOptions(config, flags, shardEnv, (note) => logger.warn(note));
  try {
    loaded = { ...loaded, config: shardOptions(loaded.config) };
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 2;
  }
  const shard = loaded.config.shard;
  if (shard !== null) {
    logger.info(shardSummary(loaded.config), { shardIndex: shard.index, shardTotal: shard.total });
  }

  // Least privilege: every permission the config needs, checked before anything starts.
  const granted = await preflightOk(loaded.config, {
    configFile: opts.baked ? undefined : file,
    storagePath: flags["storage.agent.path"],
    listenAddress: flags["web.listen-address"],
    webConfigFile: flags["web.config.file"] || undefined,
  });
  if (!granted) return 1;

  let web: AgentOptions["web"];
  if (flags["web.config.file"] !== "") {
    const webFile = flags["web.config.file"];
    try {
      web = { config: await loadWebConfig(webFile), file: webFile };
    } catch (e) {
      logger.error("cannot load web config {file}: {err}", {
        file: webFile,
        err: (e as Error).message,
      });
      printErr(`error loading web config ${webFile}:\n${(e as Error).message}`);
      return 1;
    }
  }

  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  // Set once the agent runs; the lifecycle hooks and signals need it.
  let agent: Agent | undefined;
  const reloading: { reloader?: Reloader } = {};
  const shutdown = (why: string) => {
    if (agent === undefined) return;
    logger.info("{reason}, shutting down", { reason: why });
    agent.stop().then(resolve, (err) => {
      logger.error("shutdown failed", { err: String(err) });
      resolve();
    });
  };
  // A signal repeated within a second is the same request delivered twice (the terminal
  // signals the whole process group and `deno task`/npx forward it too); a later one means
  // "exit now".
  let firstSignalAt = 0;
  const stopRequest = (why: string) => {
    const now = Date.now();
    if (firstSignalAt !== 0) {
      if (now - firstSignalAt < 1000) return;
      logger.warn("second request ({reason}): exiting now", { reason: why });
      Deno.exit(1);
    }
    firstSignalAt = now;
    shutdown(why);
  };
  const flagValues: Record<string, string> = {};
  for (const [k, v] of Object.entries(flags)) flagValues[k] = String(v);

  try {
    agent = await Agent.start(loaded.config, {
      storagePath: flags["storage.agent.path"],
      listenAddress: flags["web.listen-address"],
      configSource: loaded.source,
      configFile: loaded.source,
      sync: fsyncMs === 0 ? "commit" : { intervalMs: fsyncMs },
      drainDeadlineMs: flushDeadlineMs,
      wal,
      flags: flagValues,
      web,
      remoteWriteReceiver: flags["web.enable-remote-write-receiver"],
      build: { revision: opts.build?.commit ?? "" },
      reloadState: () =>
        reloading.reloader?.state() ?? { success: true, lastConfigTime: Date.now() },
      lifecycle: flags["web.enable-lifecycle"]
        ? {
          reload: () => reloading.reloader?.reload("POST /-/reload") ?? Promise.resolve(),
          quit: () => {
            // Answer the request first, then stop.
            setTimeout(() => shutdown("POST /-/quit"), 0);
          },
        }
        : undefined,
    });
  } catch (e) {
    logger.error("cannot start agent: {err}", { err: (e as Error).message });
    return 1;
  }
  const reloader = new Reloader({
    file,
    registry: agent.registry,
    load: async (f) => {
      const l = opts.baked ? loadBaked(opts.baked) : await loadConfig(f);
      return { ...l, config: shardOptions(l.config) };
    },
  });
  reloading.reloader = reloader;
  reloader.attach(agent, initialHash);
  const pollAbort = new AbortController();
  const polling = autoReloadMs > 0 && !opts.baked
    ? reloader.poll(autoReloadMs, pollAbort.signal)
    : null;

  const handlers: [Deno.Signal, () => void][] = [];
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    handlers.push([s, () => stopRequest(`received ${s}`)]);
  }
  if (Deno.build.os !== "windows") {
    handlers.push(["SIGHUP", () => void reloader.reload("SIGHUP").catch(() => {})]);
  }
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  await stopped;
  pollAbort.abort();
  await polling;
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  return 0;
}

/** The WAL flags, validated (throws with a message naming the flag). */
export function walFlags(
  flags: Record<string, string | boolean>,
): NonNullable<AgentOptions["wal"]> {
  const get = (name: string) => String(flags[name]);
  const flag = <T>(name: string, parse: (v: string) => T): T => {
    try {
      return parse(get(name));
    } catch (e) {
      throw new Error(`--${name}: ${(e as Error).message}`);
    }
  };
  const segmentSize = flag("storage.agent.wal-segment-size", parseBytes);
  if (segmentSize < 64 * 1024) {
    throw new Error(
      `--storage.agent.wal-segment-size: ${get("storage.agent.wal-segment-size")} is below 64KB`,
    );
  }
  const minTimeMs = flag("storage.agent.retention.min-time", parseDuration);
  const maxTimeMs = flag("storage.agent.retention.max-time", parseDuration);
  if (maxTimeMs > 0 && minTimeMs > maxTimeMs) {
    throw new Error(
      "--storage.agent.retention.max-time must be greater than or equal to --storage.agent.retention.min-time",
    );
  }
  const maxDiskBytes = flag("storage.agent.max-disk-bytes", parseBytes);
  const truncateIntervalMs = flag("storage.agent.wal-truncate-frequency", parseDuration);
  if (truncateIntervalMs <= 0) {
    throw new Error("--storage.agent.wal-truncate-frequency must be greater than 0");
  }
  return { segmentSize, minTimeMs, maxTimeMs, maxDiskBytes, truncateIntervalMs };
}

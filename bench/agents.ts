/**
 * The agents under comparison: how each is started on the shared prometheus.yml and how its own
 * self-metrics say what it scraped and forwarded.
 *
 * @module
 */

import { V8_FLAGS_ARG } from "../src/cli/v8_flags.ts";
import { MALLOC_ENV } from "../src/cli/malloc_env.ts";
import { Metrics } from "./promtext.ts";

/** What an agent needs to start. */
export interface AgentContext {
  /** The generated prometheus.yml. */
  config: string;
  /** The agent's own data directory (WAL, queue). */
  dataDir: string;
  /** `host:port` of its web server, from which its /metrics is read. */
  listen: string;
  /** The remote-write URL (also in prometheus.yml; vmagent takes it as a flag). */
  sinkUrl: string;
  /** The ferry checkout (where main.ts is). */
  repo: string;
  /** `host:port` for V8's inspector, when ferry is to be profiled. */
  inspect?: string;
}

/** Counters read from an agent's /metrics. */
export interface AgentCounters {
  /** Samples appended from scrapes, including the synthetic series (`up`, `scrape_*`). */
  scraped: number;
  /** Samples delivered to the remote endpoint (or, for vmagent, handed to its send queue). */
  forwarded: number;
  /** Samples (or for vmagent bytes) read but not yet delivered, as the agent reports them. */
  pending: number;
  /** Compressed remote-write bytes sent, as the agent counts them. */
  sentBytes: number;
  /** Series the agent reports as active, where it has such a metric (else NaN). */
  activeSeries: number;
}

/** One agent. */
export interface Agent {
  readonly name: string;
  /** The binary that must be on PATH for this agent to run. */
  readonly binary: string;
  /** Synthetic series per scrape it appends besides the target's own. */
  readonly syntheticSeries: number;
  command(ctx: AgentContext): string[];
  /** Environment variables it starts with besides the harness's own. */
  env?(): Record<string, string>;
  counters(m: Metrics): AgentCounters;
  /**
   * For catch-up, where the sink was down from the agent's start until `m0`: the samples
   * waiting at `m0` and how many of them have been delivered by `m`.
   */
  backlog(m0: Metrics, m: Metrics): { backlog: number; delivered: number };
}

/**
 * Backlog of agents whose forwarded counter counts delivered samples. The sink was down since
 * the agent started, so nothing was delivered before `m0` and the absolute counters are used
 * (the difference would count attempts in flight at `m0`, which then fail, as delivered).
 */
function forwardedBacklog(this: Agent, m0: Metrics, m: Metrics) {
  return { backlog: this.counters(m0).scraped, delivered: this.counters(m).forwarded };
}

/** Counters of agents that use Prometheus' self-metric names (Prometheus itself and ferry). */
function prometheusCounters(m: Metrics): AgentCounters {
  const rs = "prometheus_remote_storage_";
  // samples_total counts every attempt; retried and failed attempts are taken out.
  const forwarded = m.sum(rs + "samples_total") - m.sum(rs + "samples_retried_total") -
    m.sum(rs + "samples_failed_total");
  return {
    scraped: m.sum("prometheus_agent_samples_appended_total"),
    forwarded,
    pending: m.sum(rs + "samples_pending"),
    sentBytes: m.sum(rs + "bytes_total"),
    activeSeries: m.has("prometheus_agent_active_series")
      ? m.sum("prometheus_agent_active_series")
      : NaN,
  };
}

/**
 * Extra `deno run` flags for A/B runs (e.g. `--v8-flags=--max-semi-space-size=16`), from the
 * environment variable `FERRY_BENCH_DENO_ARGS`, split on spaces.
 */
function denoArgs(): string[] {
  const v = Deno.env.get("FERRY_BENCH_DENO_ARGS")?.trim();
  return v ? v.split(/\s+/) : [];
}

/** ferry from this checkout, run by `deno run` as README.md says. */
export const ferry: Agent = {
  name: "ferry",
  binary: "deno",
  syntheticSeries: 5,
  /**
   * The malloc settings README runs ferry with (src/cli/malloc_env.ts), unless
   * `FERRY_BENCH_MALLOC=default` (for an A/B run).
   */
  env() {
    return Deno.env.get("FERRY_BENCH_MALLOC") === "default" ? {} : { ...MALLOC_ENV };
  },
  command(ctx) {
    return [
      "deno",
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      ...(ctx.inspect ? [`--inspect=${ctx.inspect}`] : []),
      // The V8 flags README.md runs ferry with, unless an A/B run sets its own.
      ...(denoArgs().some((a) => a.startsWith("--v8-flags")) ? [] : [V8_FLAGS_ARG]),
      ...denoArgs(),
      `${ctx.repo}/main.ts`,
      `--config.file=${ctx.config}`,
      `--storage.agent.path=${ctx.dataDir}`,
      `--web.listen-address=${ctx.listen}`,
      "--storage.remote.flush-deadline=10s",
    ];
  },
  counters: prometheusCounters,
  backlog: forwardedBacklog,
};

/** Prometheus in agent mode (Debian's 2.42). */
export const prometheus: Agent = {
  name: "prometheus",
  binary: "prometheus",
  syntheticSeries: 5,
  command(ctx) {
    return [
      "prometheus",
      "--enable-feature=agent",
      `--config.file=${ctx.config}`,
      `--storage.agent.path=${ctx.dataDir}`,
      `--web.listen-address=${ctx.listen}`,
      "--storage.remote.flush-deadline=10s",
      "--log.level=warn",
    ];
  },
  counters: prometheusCounters,
  backlog: forwardedBacklog,
};

/** vmagent (Debian's victoria-metrics), its on-disk queue in the data directory. */
export const vmagent: Agent = {
  name: "vmagent",
  binary: "vmagent",
  // up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling,
  // scrape_series_added and scrape_timeout_seconds.
  syntheticSeries: 6,
  command(ctx) {
    return [
      "vmagent",
      `-promscrape.config=${ctx.config}`,
      // prometheus.yml's remote_write section is not vmagent's: it takes the URL as a flag.
      "-promscrape.config.strictParse=false",
      `-remoteWrite.url=${ctx.sinkUrl}`,
      `-remoteWrite.tmpDataPath=${ctx.dataDir}`,
      `-httpListenAddr=${ctx.listen}`,
      "-loggerLevel=WARN",
    ];
  },
  counters(m) {
    // Rows leave the scrape loops into per-URL pending series, are flushed as blocks into the
    // queue (block_size_rows counts them then) and sent from there; vmagent 1.79 counts sent
    // blocks and bytes but not sent rows, so "forwarded" is rows flushed to the send queue,
    // and `pending` reports the queue's bytes (in memory plus on disk) not yet sent.
    return {
      scraped: m.sum("vmagent_remotewrite_global_rows_pushed_before_relabel_total"),
      forwarded: m.sum("vmagent_remotewrite_block_size_rows_sum"),
      pending: m.sum("vmagent_remotewrite_pending_data_bytes") +
        m.sum("vmagent_remotewrite_pending_inmemory_blocks"),
      sentBytes: m.sum("vmagent_remotewrite_bytes_sent_total"),
      activeSeries: NaN,
    };
  },
  backlog(m0, m) {
    // Rows go into the queue whether or not the sink is up, so delivery is followed in bytes:
    // every row scraped before m0 was in the queue then (less the last flush interval's, about
    // 1 s), and nothing had been sent; delivered is the share of the queue's bytes sent since.
    const queued = m0.sum("vmagent_remotewrite_block_size_bytes_sum");
    const sent = m.sum("vmagent_remotewrite_bytes_sent_total");
    const backlog = this.counters(m0).scraped;
    return { backlog, delivered: queued > 0 ? backlog * Math.min(1, sent / queued) : backlog };
  },
};

/** Every agent, in the order they run. */
export const AGENTS: Agent[] = [ferry, prometheus, vmagent];

/** Reads and parses `/metrics` at `listen`; throws after `timeoutMs`. */
export async function scrapeSelf(listen: string, timeoutMs = 10_000): Promise<Metrics> {
  const res = await fetch(`http://${listen}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET http://${listen}/metrics: ${res.status}`);
  }
  return new Metrics(await res.text());
}

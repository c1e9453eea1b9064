/**
 * Side-by-side comparison of ferry, Prometheus in agent mode and vmagent on the same
 * prometheus.yml and the same load, one agent at a time. See bench/README.md.
 *
 * ```sh
 * deno run -A bench/compare.ts --workload S,idle --window 60s --warmup 30s --repeat 1
 * ```
 *
 * @module
 */

import { type Agent, type AgentCounters, AGENTS, scrapeSelf } from "./agents.ts";
import { farmConfig, sinkConfig, sinkLog, startNginx, targetAddress } from "./nginx.ts";
import { type Metrics } from "./promtext.ts";
import {
  type CpuProfile,
  Profiler,
  summarize,
  summarizeHeap,
  summarizeSnapshot,
} from "./profile.ts";
import {
  dirBytes,
  machineCpu,
  ownCpuSeconds,
  type Proc,
  type ProcSample,
  sampleTree,
  sampleTrees,
  sleepUnless,
  start,
  stop,
  tail,
} from "./proc.ts";

// ---------------------------------------------------------------------------------------------
// Options

/** A load: how many targets, series per target, scrape interval. */
export interface Workload {
  name: string;
  targets: number;
  series: number;
  intervalS: number;
  /** Steady state measured over a window, or delivery of a backlog after an outage. */
  kind: "steady" | "catchup";
}

const PRESETS: Record<string, Omit<Workload, "name" | "kind">> = {
  S: { targets: 10, series: 1000, intervalS: 5 },
  M: { targets: 50, series: 2000, intervalS: 5 },
  L: { targets: 100, series: 5000, intervalS: 10 },
  idle: { targets: 1, series: 500, intervalS: 15 },
};

interface Options {
  workloads: Workload[];
  agents: Agent[];
  windowS: number;
  warmupS: number;
  repeat: number;
  sink: "nginx" | "vm";
  backlogS: number;
  out: string;
  keep: boolean;
  profile: boolean;
  heapProfile: boolean;
  heapSnapshot: boolean;
  /** `queue_config.max_samples_per_send` for ferry and Prometheus (vmagent has no such knob). */
  maxSamplesPerSend?: number;
}

const HELP = `usage: deno run -A bench/compare.ts [flags]

Runs each agent in turn on the same generated prometheus.yml and load, measures it over a
window after a warm-up, and prints one markdown table (JSON and the table go to --out).

  --workload LIST     comma-separated: S, M, L, idle, catchup, or TxN@Is (e.g. 20x500@5s);
                      catchup[:S|M|L|TxN@Is] runs a backlog of --backlog then delivers it
                      (default S,idle)
  --agents LIST       ferry,prometheus,vmagent (default: all whose binary is installed)
  --window DURATION   measurement window (default 60s)
  --warmup DURATION   time between the agent's start and the window (default 30s)
  --repeat N          runs per agent and workload; the table shows medians (default 1)
  --sink nginx|vm     nginx answering 204 (default), or VictoriaMetrics, which also proves that
                      every sample scraped in the window arrived ("verify")
  --backlog DURATION  how long the sink is down before catch-up is measured (default 10m)
  --max-samples-per-send N
                      remote_write queue_config.max_samples_per_send for ferry and Prometheus
                      (default: theirs, 2,000); vmagent sends what it gathered each second
  --profile           take a V8 CPU profile of ferry over the window (through --inspect; the
                      figures of a profiled run are marked, and the profile saved in --out)
  --heap-profile      sample where ferry allocates over the window (V8's sampling heap profiler,
                      freed objects included), printed by function and saved as .heapprofile
  --heap-snapshot     snapshot ferry's heap at the window's end: what is live, by constructor
                      (shallow sizes), printed and saved as .heapsnapshot
  --out DIR           where results go (default bench/out)
  --keep              keep the temporary directory (configs, logs, data) for inspection
`;

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`not a duration: ${s}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : m[2] === "h" ? n * 3600 : n;
}

function parseWorkload(spec: string): Workload {
  let kind: Workload["kind"] = "steady";
  let base = spec;
  if (spec === "catchup" || spec.startsWith("catchup:")) {
    kind = "catchup";
    base = spec.slice("catchup:".length) || "S";
  }
  const preset = PRESETS[base];
  if (preset) return { name: spec, kind, ...preset };
  const m = /^(\d+)x(\d+)@(\d+(?:\.\d+)?)s?$/.exec(base);
  if (!m) throw new Error(`unknown workload: ${spec} (S, M, L, idle, catchup[:W], or TxN@Is)`);
  return { name: spec, kind, targets: +m[1], series: +m[2], intervalS: +m[3] };
}

function parseOptions(args: string[]): Options | null {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (["keep", "profile", "heap-profile", "heap-snapshot", "help"].includes(name)) {
      bools.add(name);
    } else if (eq >= 0) {
      values.set(name, a.slice(eq + 1));
    } else if (i + 1 < args.length) {
      values.set(name, args[++i]);
    } else {
      throw new Error(`--${name} needs a value`);
    }
  }
  if (bools.has("help")) return null;
  const known = [
    "workload",
    "agents",
    "window",
    "warmup",
    "repeat",
    "sink",
    "backlog",
    "out",
    "max-samples-per-send",
  ];
  for (const k of values.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}`);
  const installed = (bin: string) =>
    Deno.env.get("PATH")!.split(":").some((d) => {
      try {
        return Deno.statSync(`${d}/${bin}`).isFile;
      } catch {
        return false;
      }
    });
  const agentNames = values.get("agents")?.split(",");
  const agents = agentNames
    ? agentNames.map((n) => {
      const a = AGENTS.find((x) => x.name === n);
      if (!a) throw new Error(`unknown agent ${n} (${AGENTS.map((x) => x.name).join(", ")})`);
      if (!installed(a.binary)) throw new Error(`${n}: ${a.binary} is not installed`);
      return a;
    })
    : AGENTS.filter((a) => installed(a.binary));
  const sink = values.get("sink") ?? "nginx";
  if (sink !== "nginx" && sink !== "vm") throw new Error(`--sink: nginx or vm, not ${sink}`);
  if (sink === "vm" && !installed("victoria-metrics")) {
    throw new Error("--sink vm needs victoria-metrics");
  }
  const perSendFlag = values.get("max-samples-per-send");
  const perSend = perSendFlag === undefined ? undefined : Number(perSendFlag);
  if (perSend !== undefined && !(Number.isInteger(perSend) && perSend > 0)) {
    throw new Error(`--max-samples-per-send: a positive integer, not ${perSendFlag}`);
  }
  const repeat = Number(values.get("repeat") ?? "1");
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new Error("--repeat: 1..20");
  return {
    workloads: (values.get("workload") ?? "S,idle").split(",").map(parseWorkload),
    agents,
    windowS: parseDuration(values.get("window") ?? "60s"),
    warmupS: parseDuration(values.get("warmup") ?? "30s"),
    repeat,
    sink,
    backlogS: parseDuration(values.get("backlog") ?? "10m"),
    out: values.get("out") ?? new URL("./out", import.meta.url).pathname,
    keep: bools.has("keep"),
    profile: bools.has("profile"),
    heapProfile: bools.has("heap-profile"),
    heapSnapshot: bools.has("heap-snapshot"),
    maxSamplesPerSend: perSend,
  };
}

// ---------------------------------------------------------------------------------------------
// Addresses (all on loopback, away from 127.0.0.1 where other tests run)

const FARM_PORT = 19100;
const SINK_ADDR = "127.0.78.1:19201";
const VM_ADDR = "127.0.78.1:19428";
const AGENT_ADDR = "127.0.79.1:19095";
const INSPECT_ADDR = "127.0.79.1:19229";
const JOB = "bench";

const abort = new AbortController();

/** Sleeps `ms`, or throws at once when the run is interrupted. */
function sleep(ms: number): Promise<void> {
  return sleepUnless(ms, abort.signal);
}

function note(msg: string) {
  const t = new Date().toISOString().slice(11, 19);
  Deno.stderr.writeSync(new TextEncoder().encode(`[${t}] ${msg}\n`));
}

function print(text: string) {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

function assertFree(address: string): void {
  const [hostname, port] = address.split(":");
  try {
    const l = Deno.listen({ hostname, port: Number(port) });
    l.close();
  } catch (e) {
    throw new Error(`${address} is not free (${(e as Error).message}); is another bench running?`);
  }
}

// ---------------------------------------------------------------------------------------------
// Farm, sink, config

interface Farm {
  procs: Proc[];
  workload: Workload;
}

async function startFarm(dir: string, w: Workload): Promise<Farm> {
  const farmDir = `${dir}/farm`;
  await Deno.mkdir(farmDir, { recursive: true, mode: 0o755 });
  for (let i = 0; i < w.targets; i++) assertFree(targetAddress(i, FARM_PORT));
  // Rewritten twice per interval, so every scrape sees values it has not seen before.
  const every = Math.max(1, w.intervalS / 2);
  const writer = await start("writer", [
    "deno",
    "run",
    `--allow-read=${farmDir}`,
    `--allow-write=${farmDir}`,
    new URL("./farm.ts", import.meta.url).pathname,
    `--dir=${farmDir}`,
    `--targets=${w.targets}`,
    `--series=${w.series}`,
    `--every=${every}`,
    "--max-seconds=86400",
  ], { log: `${dir}/writer.log` });
  const procs: Proc[] = [writer];
  try {
    const last = `${farmDir}/t${w.targets - 1}/metrics.txt`;
    for (let i = 0; i < 1200; i++) {
      if (writer.done()) throw new Error(`farm writer exited:\n${await tail(writer.log)}`);
      try {
        Deno.statSync(last);
        break;
      } catch {
        await sleep(100);
      }
    }
    procs.push(
      await startNginx("farm", {
        dir,
        conf: farmConfig(dir, { farmDir, targets: w.targets, port: FARM_PORT }),
        probe: targetAddress(0, FARM_PORT),
      }),
    );
    const res = await fetch(`http://${targetAddress(w.targets - 1, FARM_PORT)}/metrics`);
    const body = await res.text();
    if (res.status !== 200 || !body.includes("_bucket{")) {
      throw new Error(`farm answers ${res.status}: ${body.slice(0, 200)}`);
    }
    return { procs, workload: w };
  } catch (e) {
    for (const p of procs.reverse()) await stop(p);
    throw e;
  }
}

interface Sink {
  proc: Proc;
  url: string;
  kind: "nginx" | "vm";
  accessLog: string;
}

async function startSink(dir: string, kind: "nginx" | "vm", tag: string): Promise<Sink> {
  if (kind === "nginx") {
    const accessLog = `${dir}/sink-${tag}.access.log`;
    const proc = await startNginx(`sink-${tag}`, {
      dir,
      conf: sinkConfig(dir, { address: SINK_ADDR, accessLog }),
      probe: SINK_ADDR,
    });
    return { proc, url: `http://${SINK_ADDR}/api/v1/write`, kind, accessLog };
  }
  const proc = await start("victoria-metrics", [
    "victoria-metrics",
    `-storageDataPath=${dir}/vm-${tag}`,
    `-httpListenAddr=${VM_ADDR}`,
    "-search.latencyOffset=0s",
    "-search.disableCache",
    "-search.maxUniqueTimeseries=5000000",
    "-loggerLevel=WARN",
  ], { log: `${dir}/vm-${tag}.log` });
  for (let i = 0; i < 300; i++) {
    if (proc.done()) break;
    try {
      const r = await fetch(`http://${VM_ADDR}/health`);
      await r.body?.cancel();
      if (r.ok) return { proc, url: `http://${VM_ADDR}/api/v1/write`, kind, accessLog: "" };
    } catch {
      // not yet listening
    }
    await sleep(100);
  }
  await stop(proc);
  throw new Error(`victoria-metrics did not start:\n${await tail(proc.log)}`);
}

export function promConfig(
  w: Workload,
  sinkUrl: string,
  opts: { maxSamplesPerSend?: number } = {},
): string {
  const { maxSamplesPerSend } = opts;
  const targets = Array.from({ length: w.targets }, (_, i) => targetAddress(i, FARM_PORT));
  const timeout = Math.min(10, w.intervalS);
  return `# Generated by bench/compare.ts for workload ${w.name}.
global:
  scrape_interval: ${w.intervalS}s
  scrape_timeout: ${timeout}s
scrape_configs:
  - job_name: ${JOB}
    static_configs:
      - targets:
${targets.map((t) => `          - ${t}`).join("\n")}
remote_write:
  - url: ${sinkUrl}
${
    maxSamplesPerSend === undefined
      ? ""
      : `    queue_config:\n      max_samples_per_send: ${maxSamplesPerSend}\n`
  }`;
}

// ---------------------------------------------------------------------------------------------
// One run

/** What one run of one agent on one workload measured. */
export interface RunResult {
  workload: string;
  agent: string;
  repeat: number;
  profiled: boolean;
  windowSeconds: number;
  /** targets × (series + the agent's synthetic series per scrape). */
  activeSeries: number;
  /** The agent's own count of active series, where it has one. */
  agentActiveSeries: number;
  scraped: number;
  forwarded: number;
  cpuSeconds: number;
  cpuMsPerMillion: number;
  cpuPercent: number;
  rssMaxBytes: number;
  rssEndBytes: number;
  rssBytesPerSeries: number;
  diskWriteBytes: number;
  diskBytesPerSample: number;
  dataDirBytes: number;
  /**
   * Growth of the data directory over the window ÷ samples scraped: the bytes logically
   * appended (NaN when a truncation shrank it meanwhile); `diskBytesPerSample` is what the kernel
   * wrote, which also counts a page rewritten after each fsync.
   */
  dataDirGrowthBytesPerSample: number;
  wireBytesPerSample: number;
  /** Everything scraped up to the window's end was forwarded (checked after it). */
  delivered: boolean;
  undelivered: number;
  deliveryLagSeconds: number;
  farmCpuPercent: number;
  sinkCpuPercent: number;
  harnessCpuPercent: number;
  otherCpuPercent: number;
  load1: number;
  verify?: Verify;
  catchup?: Catchup;
  profile?: ReturnType<typeof summarize> & { file: string };
  heapProfile?: ReturnType<typeof summarizeHeap> & { file: string };
  heapSnapshot?: ReturnType<typeof summarizeSnapshot> & { file: string };
  /** ferry's V8 heap at the window's end (its `deno_memory_*` gauges), MiB. */
  jsHeapMiB?: { total: number; used: number; external: number };
}

/** What VictoriaMetrics holds for the window: every sample of every scrape, or not. */
export interface Verify {
  /** Samples in the window: every one the agent's own scrapes say it scraped (`expected`)? */
  received: number;
  expected: number;
  /** Scrapes in the window (`up` samples), against targets × window ÷ interval (± targets). */
  scrapes: number;
  expectedScrapes: number;
  targets: number;
  missing: number;
}

/** Delivery of a backlog once the sink came back. */
export interface Catchup {
  outageSeconds: number;
  backlogSamples: number;
  firstDeliverySeconds: number;
  catchupSeconds: number;
  /** Backlog ÷ time from the first delivery to the last (at least the 0.2 s poll interval). */
  samplesPerSecond: number;
  samplesPerSecondFromSinkUp: number;
  /** The most delivered in one second (over polls at least 1 s apart; 0 if done sooner). */
  peakSamplesPerSecond: number;
  done: boolean;
}

interface Snapshot {
  at: number;
  dataDirBytes: number;
  agent: ProcSample;
  farm: ProcSample;
  sink: ProcSample;
  harness: number;
  machine: ReturnType<typeof machineCpu>;
  counters: AgentCounters;
  metrics: Metrics;
  sinkBytes: number;
}

async function snapshot(
  agent: Agent,
  proc: Proc,
  ctx: { farm: Farm; sink: Sink; dataDir: string },
): Promise<Snapshot> {
  const { farm, sink } = ctx;
  const metrics = await scrapeSelf(AGENT_ADDR);
  return {
    at: Date.now(),
    dataDirBytes: dirBytes(ctx.dataDir),
    agent: sampleTree(proc.pid),
    farm: sampleTrees(farm.procs.map((p) => p.pid)),
    sink: sampleTree(sink.proc.pid),
    harness: ownCpuSeconds(Deno.pid),
    machine: machineCpu(),
    counters: agent.counters(metrics),
    metrics,
    sinkBytes: sink.kind === "nginx" ? (await sinkLog(sink.accessLog)).bytes : NaN,
  };
}

async function waitReady(proc: Proc, timeoutS = 90): Promise<void> {
  const until = Date.now() + timeoutS * 1000;
  while (Date.now() < until) {
    if (proc.done()) throw new Error(`${proc.name} exited:\n${await tail(proc.log)}`);
    try {
      await scrapeSelf(AGENT_ADDR, 2000);
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`${proc.name}: no /metrics at ${AGENT_ADDR} after ${timeoutS}s`);
}

async function vmQuery(query: string, timeS: number): Promise<number> {
  const u = new URL(`http://${VM_ADDR}/api/v1/query`);
  u.searchParams.set("query", query);
  u.searchParams.set("time", String(timeS));
  const res = await fetch(u, { signal: AbortSignal.timeout(60_000) });
  const body = await res.json() as {
    status: string;
    data?: { result: { value: [number, string] }[] };
    error?: string;
  };
  if (body.status !== "success") throw new Error(`VictoriaMetrics: ${query}: ${body.error}`);
  const r = body.data?.result ?? [];
  return r.length ? Number(r[0].value[1]) : 0;
}

async function verify(w: Workload, agent: Agent, t0: number, t1: number): Promise<Verify> {
  // The window (t0, t1] in whole milliseconds as the query's lookbehind ending at t1.
  const range = `${Math.round(t1 - t0)}ms`;
  const at = t1 / 1000;
  const sel = `{job="${JOB}"}`;
  const received = await vmQuery(`sum(count_over_time(${sel}[${range}]))`, at);
  const scrapes = await vmQuery(`sum(count_over_time(up${sel}[${range}]))`, at);
  const own = await vmQuery(
    `sum(sum_over_time(scrape_samples_post_metric_relabeling${sel}[${range}]))`,
    at,
  );
  const expected = own + agent.syntheticSeries * scrapes;
  return {
    received,
    expected,
    scrapes,
    expectedScrapes: (w.targets * (t1 - t0)) / 1000 / w.intervalS,
    targets: w.targets,
    missing: expected - received,
  };
}

function percentOf(cpuSeconds: number, ms: number): number {
  return (100 * cpuSeconds) / (ms / 1000);
}

interface RunContext {
  dir: string;
  opts: Options;
  farm: Farm;
  repeat: number;
}

async function runAgent(ctx: RunContext, agent: Agent): Promise<RunResult> {
  const w = ctx.farm.workload;
  const tag = `${agent.name}-${w.name.replace(/[^A-Za-z0-9]/g, "_")}-${ctx.repeat}`;
  const dataDir = `${ctx.dir}/data-${tag}`;
  await Deno.mkdir(dataDir, { recursive: true });
  const catchup = w.kind === "catchup";
  let sink: Sink | null = catchup ? null : await startSink(ctx.dir, ctx.opts.sink, tag);
  const sinkUrl = sink?.url ??
    (ctx.opts.sink === "vm"
      ? `http://${VM_ADDR}/api/v1/write`
      : `http://${SINK_ADDR}/api/v1/write`);
  const config = `${ctx.dir}/prometheus-${tag}.yml`;
  await Deno.writeTextFile(config, promConfig(w, sinkUrl, ctx.opts));
  const profile = ctx.opts.profile && agent.name === "ferry" && !catchup;
  const heapProfile = ctx.opts.heapProfile && agent.name === "ferry" && !catchup;
  const heapSnapshot = ctx.opts.heapSnapshot && agent.name === "ferry" && !catchup;
  const proc = await start(
    agent.name,
    agent.command({
      config,
      dataDir,
      listen: AGENT_ADDR,
      sinkUrl,
      repo: new URL("..", import.meta.url).pathname.replace(/\/$/, ""),
      inspect: profile || heapProfile || heapSnapshot ? INSPECT_ADDR : undefined,
    }),
    { log: `${ctx.dir}/${tag}.log`, env: agent.env?.() },
  );
  try {
    await waitReady(proc);
    if (catchup) {
      note(`${tag}: sink down for ${ctx.opts.backlogS}s`);
      await sleep(ctx.opts.backlogS * 1000);
      sink = await startSink(ctx.dir, ctx.opts.sink, tag);
      return await measureCatchup(ctx, agent, proc, { sink, dataDir });
    }
    note(`${tag}: warm-up ${ctx.opts.warmupS}s`);
    await sleep(ctx.opts.warmupS * 1000);
    return await measureSteady(ctx, agent, proc, sink!, {
      profile,
      heapProfile,
      heapSnapshot,
      dataDir,
    });
  } finally {
    const code = await stop(proc);
    if (code === null) note(`${tag}: ${agent.name} did not stop, killed`);
    if (sink) await stop(sink.proc);
    if (!ctx.opts.keep) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

function base(
  ctx: RunContext,
  agent: Agent,
  a: Snapshot,
  b: Snapshot,
): Omit<RunResult, "delivered" | "undelivered" | "deliveryLagSeconds" | "dataDirBytes"> {
  const w = ctx.farm.workload;
  const ms = b.at - a.at;
  const scraped = b.counters.scraped - a.counters.scraped;
  const forwarded = b.counters.forwarded - a.counters.forwarded;
  const cpu = b.agent.cpuSeconds - a.agent.cpuSeconds;
  const farm = b.farm.cpuSeconds - a.farm.cpuSeconds;
  const sink = b.sink.cpuSeconds - a.sink.cpuSeconds;
  const harness = b.harness - a.harness;
  const machine = b.machine.busy - a.machine.busy;
  const disk = b.agent.writeBytes - a.agent.writeBytes;
  const activeSeries = w.targets * (w.series + agent.syntheticSeries);
  const wire = b.sinkBytes - a.sinkBytes;
  return {
    workload: w.name,
    agent: agent.name,
    repeat: ctx.repeat,
    profiled: false,
    windowSeconds: ms / 1000,
    activeSeries,
    agentActiveSeries: b.counters.activeSeries,
    scraped,
    forwarded,
    cpuSeconds: cpu,
    cpuMsPerMillion: forwarded > 0 ? (cpu * 1000 * 1e6) / forwarded : NaN,
    cpuPercent: percentOf(cpu, ms),
    rssMaxBytes: b.agent.rssBytes,
    rssEndBytes: b.agent.rssBytes,
    rssBytesPerSeries: b.agent.rssBytes / activeSeries,
    diskWriteBytes: disk,
    diskBytesPerSample: scraped > 0 ? disk / scraped : NaN,
    dataDirGrowthBytesPerSample: scraped > 0 && b.dataDirBytes >= a.dataDirBytes
      ? (b.dataDirBytes - a.dataDirBytes) / scraped
      : NaN,
    wireBytesPerSample: forwarded > 0 && Number.isFinite(wire) ? wire / forwarded : NaN,
    farmCpuPercent: percentOf(farm, ms),
    sinkCpuPercent: percentOf(sink, ms),
    harnessCpuPercent: percentOf(harness, ms),
    otherCpuPercent: percentOf(machine - cpu - farm - sink - harness, ms),
    load1: b.machine.load1,
  };
}

async function measureSteady(
  ctx: RunContext,
  agent: Agent,
  proc: Proc,
  sink: Sink,
  opts: { profile: boolean; heapProfile: boolean; heapSnapshot: boolean; dataDir: string },
): Promise<RunResult> {
  const w = ctx.farm.workload;
  const dataDir = opts.dataDir;
  let profiler: Profiler | null = null;
  if (opts.profile || opts.heapProfile || opts.heapSnapshot) {
    profiler = await Profiler.connect(INSPECT_ADDR);
    if (opts.profile) await profiler.start();
    if (opts.heapProfile) await profiler.startHeap();
  }
  const a = await snapshot(agent, proc, { farm: ctx.farm, sink, dataDir });
  note(`${agent.name}: window ${ctx.opts.windowS}s`);
  let rssMax = 0;
  const end = a.at + ctx.opts.windowS * 1000;
  while (Date.now() < end) {
    if (proc.done()) throw new Error(`${agent.name} exited:\n${await tail(proc.log)}`);
    rssMax = Math.max(rssMax, sampleTree(proc.pid).rssBytes);
    await sleep(Math.min(1000, Math.max(0, end - Date.now())));
  }
  const b = await snapshot(agent, proc, { farm: ctx.farm, sink, dataDir });
  rssMax = Math.max(rssMax, b.agent.rssBytes);
  let profile: RunResult["profile"];
  let heapProfile: RunResult["heapProfile"];
  let heapSnapshot: RunResult["heapSnapshot"];
  if (profiler) {
    await Deno.mkdir(ctx.opts.out, { recursive: true });
    const at = `${ctx.opts.out}/ferry-${w.name}-${stamp(new Date(a.at))}`;
    if (opts.profile) {
      const p: CpuProfile = await profiler.stop();
      await Deno.writeTextFile(`${at}.cpuprofile`, JSON.stringify(p));
      profile = { file: `${at}.cpuprofile`, ...summarize(p) };
    }
    if (opts.heapProfile) {
      const p = await profiler.stopHeap();
      await Deno.writeTextFile(`${at}.heapprofile`, JSON.stringify(p));
      heapProfile = { file: `${at}.heapprofile`, ...summarizeHeap(p) };
    }
    if (opts.heapSnapshot) {
      const text = await profiler.heapSnapshot();
      await Deno.writeTextFile(`${at}.heapsnapshot`, text);
      heapSnapshot = { file: `${at}.heapsnapshot`, ...summarizeSnapshot(text) };
    }
    profiler.close();
  }

  // Everything scraped by the window's end must reach the sink: wait for it (bounded).
  const target = b.counters.scraped;
  const lagLimit = Date.now() + Math.max(30, 3 * w.intervalS) * 1000;
  let c = b.counters;
  while (c.forwarded < target && Date.now() < lagLimit) {
    await sleep(250);
    c = agent.counters(await scrapeSelf(AGENT_ADDR));
  }
  const delivered = c.forwarded >= target;
  const lag = (Date.now() - b.at) / 1000;

  let verified: Verify | undefined;
  if (sink.kind === "vm") {
    await sleep(3000); // VictoriaMetrics makes rows searchable within about a second
    verified = await verify(w, agent, a.at, b.at);
  }
  const r: RunResult = {
    ...base(ctx, agent, a, b),
    profiled: opts.profile || opts.heapProfile || opts.heapSnapshot,
    rssMaxBytes: rssMax,
    rssBytesPerSeries: rssMax / (w.targets * (w.series + agent.syntheticSeries)),
    delivered,
    undelivered: Math.max(0, target - c.forwarded),
    deliveryLagSeconds: delivered ? lag : NaN,
    dataDirBytes: b.dataDirBytes,
    verify: verified,
    profile,
    heapProfile,
    heapSnapshot,
    jsHeapMiB: jsHeapOf(b.metrics),
  };
  return r;
}

/** V8's heap figures from an agent's `/metrics`, when it reports them (ferry does). */
function jsHeapOf(m: Metrics): RunResult["jsHeapMiB"] {
  const total = m.sum("deno_memory_heap_total_bytes");
  if (!(total > 0)) return undefined;
  const mib = (x: number) => Math.round(x / 1048576);
  return {
    total: mib(total),
    used: mib(m.sum("deno_memory_heap_used_bytes")),
    external: mib(m.sum("deno_memory_external_bytes")),
  };
}

async function measureCatchup(
  ctx: RunContext,
  agent: Agent,
  proc: Proc,
  { sink, dataDir }: { sink: Sink; dataDir: string },
): Promise<RunResult> {
  const a = await snapshot(agent, proc, { farm: ctx.farm, sink, dataDir });
  const backlog = agent.backlog(a.metrics, a.metrics).backlog;
  note(`${agent.name}: sink up, backlog ${fmt(backlog)} samples`);
  const limit = a.at + Math.max(300, 2 * ctx.opts.backlogS) * 1000;
  let first = NaN;
  let doneAt = NaN;
  let peak = 0;
  const history: [number, number][] = [[a.at, 0]];
  while (Date.now() < limit) {
    await sleep(200);
    if (proc.done()) throw new Error(`${agent.name} exited:\n${await tail(proc.log)}`);
    const m = await scrapeSelf(AGENT_ADDR);
    const now = Date.now();
    const p = agent.backlog(a.metrics, m);
    if (Number.isNaN(first) && p.delivered > 0) first = now;
    // The fastest second: against the latest poll at least 1 s old.
    history.push([now, p.delivered]);
    while (history.length > 1 && now - history[1][0] >= 1000) history.shift();
    if (now - history[0][0] >= 1000) {
      peak = Math.max(peak, (p.delivered - history[0][1]) / ((now - history[0][0]) / 1000));
    }
    if (p.delivered >= p.backlog) {
      doneAt = now;
      break;
    }
  }
  const b = await snapshot(agent, proc, { farm: ctx.farm, sink, dataDir });
  const done = !Number.isNaN(doneAt);
  return {
    ...base(ctx, agent, a, b),
    delivered: done,
    undelivered: NaN,
    deliveryLagSeconds: NaN,
    dataDirBytes: b.dataDirBytes,
    catchup: {
      outageSeconds: ctx.opts.backlogS,
      backlogSamples: backlog,
      firstDeliverySeconds: (first - a.at) / 1000,
      catchupSeconds: (doneAt - a.at) / 1000,
      // From the first delivery: the agents' retry backoff when the sink comes back differs
      // (Prometheus at most 5 s, vmagent up to a minute) and is reported apart.
      samplesPerSecond: done ? backlog / Math.max(0.2, (doneAt - first) / 1000) : NaN,
      samplesPerSecondFromSinkUp: done ? backlog / ((doneAt - a.at) / 1000) : NaN,
      peakSamplesPerSecond: peak,
      done,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reporting

function median(xs: number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** The median of every numeric field over repeats; booleans hold only if they hold in all. */
export function medianOf(runs: RunResult[]): RunResult {
  // deno-lint-ignore no-explicit-any
  const out: any = { ...runs[0] };
  for (const [k, v] of Object.entries(runs[0])) {
    // deno-lint-ignore no-explicit-any
    const all = runs.map((r) => (r as any)[k]);
    if (typeof v === "number") out[k] = median(all);
    else if (typeof v === "boolean") out[k] = all.every(Boolean);
    else if (
      v && typeof v === "object" && !Array.isArray(v) && k !== "profile" && k !== "heapProfile" &&
      k !== "heapSnapshot"
    ) {
      const o: Record<string, unknown> = {};
      for (const [kk, vv] of Object.entries(v)) {
        o[kk] = typeof vv === "number"
          ? median(all.map((x) => x?.[kk]))
          : typeof vv === "boolean"
          ? all.every((x) => x?.[kk])
          : vv;
      }
      out[k] = o;
    }
  }
  out.repeat = runs.length; // in a median: how many runs it is of
  return out as RunResult;
}

function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function mib(x: number): string {
  return fmt(x / 1048576, 1);
}

/** The markdown tables of medians: steady workloads, then catch-up. */
export function table(results: RunResult[]): string {
  const lines: string[] = [];
  const steady = results.filter((r) => !r.catchup);
  if (steady.length) {
    lines.push(
      "| workload | agent | CPU ms / 1M samples | CPU % | RSS MiB (max) | B RSS / series | disk B / sample | data dir growth B / sample | wire B / sample | scraped | forwarded | all delivered | farm CPU % | sink CPU % | others' CPU % |",
      "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- | --: | --: | --: |",
    );
    for (const r of steady) {
      const v = r.verify;
      const ok = v
        ? (v.missing === 0 && v.scrapes >= v.expectedScrapes - v.targets
          ? "yes, verified"
          : `NO: ${fmt(v.missing)} samples missing, ${fmt(v.scrapes)} of ~${
            fmt(v.expectedScrapes)
          } scrapes`)
        : r.delivered
        ? `yes (${fmt(r.deliveryLagSeconds, 1)} s)`
        : `NO: ${fmt(r.undelivered)} not sent`;
      lines.push(
        `| ${r.workload} | ${r.agent}${r.profiled ? " (profiled)" : ""} | ${
          fmt(r.cpuMsPerMillion)
        } | ${fmt(r.cpuPercent, 1)} | ${mib(r.rssMaxBytes)} | ${fmt(r.rssBytesPerSeries)} | ${
          fmt(r.diskBytesPerSample, 1)
        } | ${fmt(r.dataDirGrowthBytesPerSample, 1)} | ${fmt(r.wireBytesPerSample, 2)} | ${
          fmt(r.scraped)
        } | ${fmt(r.forwarded)} | ${ok} | ${fmt(r.farmCpuPercent, 1)} | ${
          fmt(r.sinkCpuPercent, 1)
        } | ${fmt(r.otherCpuPercent, 0)} |`,
      );
    }
  }
  const cu = results.filter((r) => r.catchup);
  if (cu.length) {
    if (lines.length) lines.push("");
    lines.push(
      "| workload | agent | outage s | backlog samples | first delivery after s | caught up after s | samples / s from first delivery | from sink up | fastest second | CPU ms / 1M samples | RSS MiB (end) |",
      "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    );
    for (const r of cu) {
      const c = r.catchup!;
      lines.push(
        `| ${r.workload} | ${r.agent} | ${fmt(c.outageSeconds)} | ${fmt(c.backlogSamples)} | ${
          fmt(c.firstDeliverySeconds, 1)
        } | ${c.done ? fmt(c.catchupSeconds, 1) : "not done"} | ${fmt(c.samplesPerSecond)} | ${
          fmt(c.samplesPerSecondFromSinkUp)
        } | ${fmt(c.peakSamplesPerSecond)} | ${fmt(r.cpuMsPerMillion)} | ${mib(r.rssEndBytes)} |`,
      );
    }
  }
  return lines.join("\n");
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").slice(0, 15);
}

async function output(cmd: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
    return (new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr)).trim();
  } catch {
    return "?";
  }
}

async function environment(repo: string) {
  const dirty = await output(["git", "-C", repo, "status", "--porcelain", "--", "src", "main.ts"]);
  return {
    date: new Date().toISOString(),
    host: {
      cpus: navigator.hardwareConcurrency,
      load: Deno.readTextFileSync("/proc/loadavg").trim(),
      memTotal: Deno.readTextFileSync("/proc/meminfo").split("\n")[0],
    },
    ferry: {
      commit: await output(["git", "-C", repo, "rev-parse", "--short", "HEAD"]),
      uncommittedFiles: dirty === "" ? 0 : dirty.split("\n").length,
    },
    deno: Deno.version.deno,
    packages: await output([
      "dpkg-query",
      "-W",
      "-f=${Package} ${Version}\\n",
      "prometheus",
      "victoria-metrics",
      "nginx",
    ]),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(args: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(args);
  } catch (e) {
    Deno.stderr.writeSync(new TextEncoder().encode(`error: ${(e as Error).message}\n\n${HELP}`));
    return 2;
  }
  if (!opts) {
    print(HELP);
    return 0;
  }
  if (opts.agents.length === 0) throw new Error("no agent installed");
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  for (const a of [SINK_ADDR, AGENT_ADDR, VM_ADDR]) assertFree(a);

  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const env = await environment(repo);
  const dir = await Deno.makeTempDir({ prefix: "ferry-bench-" });
  await Deno.chmod(dir, 0o755); // nginx workers read the farm's files
  note(`temporary directory ${dir}`);
  const runs: RunResult[] = [];
  const medians: RunResult[] = [];
  const started = new Date();
  let failed = false;
  try {
    for (const w of opts.workloads) {
      note(
        `workload ${w.name}: ${w.targets} targets × ${w.series} series every ${w.intervalS}s`,
      );
      const wdir = `${dir}/${w.name.replace(/[^A-Za-z0-9]/g, "_")}`;
      await Deno.mkdir(wdir, { mode: 0o755 });
      const farm = await startFarm(wdir, w);
      try {
        const perAgent = new Map<string, RunResult[]>();
        for (let rep = 1; rep <= opts.repeat; rep++) {
          for (const agent of opts.agents) {
            try {
              const r = await runAgent({ dir: wdir, opts, farm, repeat: rep }, agent);
              runs.push(r);
              perAgent.set(agent.name, [...(perAgent.get(agent.name) ?? []), r]);
              note(`${agent.name} ${w.name} #${rep}: ${JSON.stringify(summaryLine(r))}`);
            } catch (e) {
              if (abort.signal.aborted) throw e;
              failed = true;
              note(`${agent.name} ${w.name} #${rep} FAILED: ${(e as Error).message}`);
            }
          }
        }
        for (const agent of opts.agents) {
          const list = perAgent.get(agent.name);
          if (list?.length) medians.push(medianOf(list));
        }
      } finally {
        for (const p of [...farm.procs].reverse()) await stop(p);
      }
    }
  } catch (e) {
    failed = true;
    note(`stopped: ${(e as Error).message}`);
  } finally {
    if (opts.keep) note(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const md = table(medians);
  print(md);
  await Deno.mkdir(opts.out, { recursive: true });
  const base = `${opts.out}/compare-${stamp(started)}`;
  const { agents: _a, workloads, ...rest } = opts;
  await Deno.writeTextFile(
    `${base}.json`,
    JSON.stringify(
      {
        env,
        options: { ...rest, agents: opts.agents.map((a) => a.name), workloads },
        medians,
        runs,
      },
      null,
      2,
    ) + "\n",
  );
  await Deno.writeTextFile(
    `${base}.md`,
    `Measured ${env.date} on ${env.host.cpus} CPUs (load at start ${env.host.load}), ferry ${env.ferry.commit}${
      env.ferry.uncommittedFiles ? ` + ${env.ferry.uncommittedFiles} uncommitted files` : ""
    }, window ${opts.windowS}s after ${opts.warmupS}s warm-up${
      opts.workloads.some((w) => w.kind === "catchup")
        ? `, catch-up after ${opts.backlogS}s down`
        : ""
    }, sink ${opts.sink}, median of ${opts.repeat}.\n\n${md}\n`,
  );
  note(`results: ${base}.json, ${base}.md`);
  for (const r of medians) {
    if (r.profile) {
      const p = r.profile;
      print(
        `\nferry CPU profile (${r.workload}), self time as shares of ${p.busySamples} busy samples` +
          ` (the inspector's own reporting, ${
            fmt(p.inspectorOverheadPercent, 1)
          }%, left out): ${p.file}`,
      );
      for (const f of p.functions.slice(0, 20)) {
        print(`  ${fmt(f.percent, 1).padStart(5)}%  ${f.what}`);
      }
      print("  by file:");
      for (const f of p.files.slice(0, 12)) {
        print(`  ${fmt(f.percent, 1).padStart(5)}%  ${f.what}`);
      }
    }
    if (r.heapSnapshot) {
      const p = r.heapSnapshot;
      print(
        `\nferry heap at the window's end (${r.workload}), shallow bytes by kind as shares of ${
          fmt(p.totalBytes / 1048576, 1)
        } MiB live: ${p.file}`,
      );
      for (const k of p.kinds) {
        print(
          `  ${fmt(k.percent, 1).padStart(5)}%  ${fmt(k.bytes / 1048576, 1).padStart(6)} MiB  ${
            String(k.count).padStart(8)
          }  ${k.what}`,
        );
      }
    }
    if (r.heapProfile) {
      const p = r.heapProfile;
      print(
        `\nferry allocations (${r.workload}), bytes allocated by function as shares of ${
          fmt(p.totalBytes / 1048576, 0)
        } MiB sampled over the window: ${p.file}`,
      );
      for (const f of p.functions.slice(0, 25)) {
        print(`  ${fmt(f.percent, 1).padStart(5)}%  ${f.what}`);
      }
      print("  by file:");
      for (const f of p.files.slice(0, 12)) {
        print(`  ${fmt(f.percent, 1).padStart(5)}%  ${f.what}`);
      }
    }
  }
  return failed ? 1 : 0;
}

function summaryLine(r: RunResult) {
  return {
    cpuMsPer1M: Math.round(r.cpuMsPerMillion),
    rssMiB: Math.round(r.rssMaxBytes / 1048576),
    diskBPerSample: Number(r.diskBytesPerSample.toFixed(1)),
    scraped: r.scraped,
    forwarded: r.forwarded,
    delivered: r.delivered,
    ...(r.verify ? { missing: r.verify.missing } : {}),
    ...(r.catchup ? { samplesPerSecond: Math.round(r.catchup.samplesPerSecond) } : {}),
    ...(r.jsHeapMiB ? { jsHeapMiB: r.jsHeapMiB } : {}),
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * Helpers for integration tests: real processes on 127.0.0.1, free ports,
 * bounded polling, and binaries that must exist in CI.
 *
 * @module
 */

import { MALLOC_ENV } from "../src/cli/malloc_env.ts";
import { V8_FLAGS_ARG } from "../src/cli/v8_flags.ts";

export const ROOT = new URL("../", import.meta.url).pathname;
export const IN_CI = Deno.env.get("CI") === "true";

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The path of a binary, or null. In CI a missing binary fails the test;
 * locally the caller skips with a loud message.
 */
export function findBinary(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/usr/sbin"])) {
    const p = `${dir}/${name}`;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  if (IN_CI) throw new Error(`${name} is not installed; .ci/run must install it`);
  return null;
}

/** Prints a loud skip notice (the test then returns early). */
export function skipLoudly(what: string, why: string): void {
  const line = "!".repeat(78);
  Deno.stderr.writeSync(
    new TextEncoder().encode(`\n${line}\nSKIPPED ${what}: ${why}\n${line}\n`),
  );
}

/** A child process whose output is collected (so its pipes never fill). */
export class Proc {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  #out = "";
  readonly #reading: Promise<void>[];

  constructor(
    name: string,
    cmd: string,
    args: string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.name = name;
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reading = [this.child.stdout, this.child.stderr].map(async (s) => {
      const dec = new TextDecoder();
      for await (const chunk of s) {
        this.#out += dec.decode(chunk, { stream: true });
        if (this.#out.length > 4_000_000) this.#out = this.#out.slice(-2_000_000);
      }
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Everything printed so far (stdout and stderr interleaved by arrival). */
  output(): string {
    return this.#out;
  }

  /** Sends `signal` and waits (bounded) for exit; SIGKILL after `graceMs`. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 15_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, graceMs);
    const status = await this.child.status;
    clearTimeout(timer);
    await Promise.all(this.#reading).catch(() => {});
    return status;
  }

  /** Resident set size in bytes (Linux /proc), or NaN. */
  rssBytes(): number {
    try {
      const s = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      const m = /VmRSS:\s+(\d+) kB/.exec(s);
      return m ? Number(m[1]) * 1024 : NaN;
    } catch {
      return NaN;
    }
  }
}

/** Polls `fn` until it returns a non-undefined value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${lastErr}` : ""}`,
  );
}

/** GETs a URL with a timeout; returns the body text, or throws on non-2xx. */
export async function getText(url: string, timeoutMs = 5000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/** Reads one sample value from a Prometheus text exposition (first match of the exact series prefix). */
export function metricValue(exposition: string, series: string): number | undefined {
  for (const line of exposition.split("\n")) {
    if (line.startsWith(series + " ") || line.startsWith(series + "{")) {
      const rest = line.slice(series.length);
      const v = rest.startsWith("{") ? rest.slice(rest.indexOf("}") + 1) : rest;
      return Number(v.trim().split(" ")[0]);
    }
  }
  return undefined;
}

/**
 * The `deno run` arguments that run ferry's main.ts (of `root`) with net, read and write
 * permissions and the V8 flags README.md gives.
 */
export function agentCommand(root = ROOT): string[] {
  return ["run", V8_FLAGS_ARG, "--allow-net", "--allow-read", "--allow-write", `${root}main.ts`];
}

/**
 * Starts ferry (`main.ts` of `root`, run from there) with `args`, and with
 * the malloc settings every documented way of running it sets.
 */
export function startAgent(args: string[], root = ROOT): Proc {
  return new Proc("ferry", Deno.execPath(), [...agentCommand(root), ...args], {
    cwd: root,
    env: { ...MALLOC_ENV },
  });
}

/** Starts a real Prometheus server as a remote-write receiver on a free port. */
export async function startPrometheusReceiver(
  dir: string,
): Promise<{ proc: Proc; url: string } | null> {
  const bin = findBinary("prometheus");
  if (!bin) return null;
  const port = freePort();
  await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 1m\n");
  const proc = new Proc("prometheus", bin, [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/tsdb`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--web.enable-remote-write-receiver",
    "--log.level=warn",
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("prometheus ready", async () => {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok ? true : undefined;
  }, 60_000).catch((e) => {
    throw new Error(`${e.message}\n${proc.output()}`);
  });
  return { proc, url };
}

/** Runs an instant query against Prometheus; returns the result vector. */
export async function promQuery(
  base: string,
  query: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const body = await getText(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const j = JSON.parse(body);
  if (j.status !== "success") throw new Error(`query ${query}: ${body}`);
  return j.data.result;
}

/** One sample printed by ferry's debug receiver (`main.ts receive --print`). */
export interface Received {
  labels: string;
  t: number;
  v: string;
}

/** Parses `receive --print` output into samples. */
export function parseReceived(out: string): Received[] {
  const got: Received[] = [];
  let labels = "";
  for (const line of out.split("\n")) {
    if (line.startsWith("    ")) {
      const [t, v] = line.trim().split(" ");
      got.push({ labels, t: Number(t), v });
    } else if (line.startsWith("  {")) labels = line.trim();
  }
  return got;
}

/** Starts ferry's debug receiver (`main.ts receive --print`) on 127.0.0.1:`port`. */
export function startReceiver(port: number): Proc {
  return new Proc("receiver", Deno.execPath(), [
    "run",
    "--allow-net=127.0.0.1",
    `${ROOT}main.ts`,
    "receive",
    "--listen",
    `127.0.0.1:${port}`,
    "--print",
  ]);
}

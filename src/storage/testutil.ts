/**
 * Helpers for the agent db's tests.
 *
 * @module
 */

import { join } from "node:path";
import { Labels } from "../model/labels.ts";
import { Registry } from "../metrics/registry.ts";
import { noiseFraction } from "../testing/prng.ts";
import { AgentDb, type AgentDbOptions } from "./agentdb.ts";
import type { ExemplarSample, HistogramSample, WalPosition } from "./types.ts";

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-agentdb-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Opens a db with no truncation timer (tests call `truncate()`). */
export function openDb(dir: string, opts: Partial<AgentDbOptions> = {}): Promise<AgentDb> {
  return AgentDb.open(dir, { registry: new Registry(), truncateIntervalMs: 0, ...opts });
}

/** Series `i` of a test job. */
export const series = (i: number, name = "m"): Labels =>
  Labels.fromObject({ __name__: name, i: String(i), job: "test" });

/** Appends one sample for each of series lo..hi-1 at time `t` and commits; returns the refs. */
export async function commitRange(
  db: AgentDb,
  lo: number,
  hi: number,
  t: number,
  name = "m",
): Promise<number[]> {
  const app = db.appender();
  const refs: number[] = [];
  // Incompressible values: about 8 WAL bytes each (tests size segments by it).
  for (let i = lo; i < hi; i++) {
    refs.push(app.append(0, series(i, name), t, i + t / 1000 + noiseFraction(i, t)));
  }
  await app.commit();
  return refs;
}

/** A counter's (or gauge's) value in a registry. */
export function metric(reg: Registry, name: string, labels?: Record<string, string>): number {
  const text = reg.expose();
  const lt = labels
    ? "{" + Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(",") + "}"
    : "";
  for (const line of text.split("\n")) {
    if (line.startsWith(name + lt + " ")) return Number(line.slice(name.length + lt.length + 1));
  }
  return NaN;
}

/** Total bytes of the files in the db's directory (segments, checkpoint, cursors). */
export async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const d of [dir, join(dir, "wal")]) {
    for await (const e of Deno.readDir(d)) {
      if (!e.isFile) continue;
      try {
        n += (await Deno.stat(join(d, e.name))).size;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err; // deleted meanwhile
      }
    }
  }
  return n;
}

/** What `drain` read: float samples as plain-array columns, histograms and exemplars as lists. */
export interface Drained {
  refs: number[];
  ts: number[];
  values: number[];
  stale: number[];
  st: number[];
  histograms: HistogramSample[];
  exemplars: ExemplarSample[];
  end: WalPosition;
}

/**
 * Reads through `tail()` until it has waited `quietMs` for more; returns
 * everything in order.
 */
export async function drain(
  db: AgentDb,
  from: WalPosition,
  opts: { cursor?: string; quietMs?: number; ack?: boolean } = {},
): Promise<Drained> {
  const ac = new AbortController();
  const quiet = opts.quietMs ?? 150;
  let timer = setTimeout(() => ac.abort(), quiet);
  const refs: number[] = [], ts: number[] = [], values: number[] = [];
  const stale: number[] = [], st: number[] = [];
  const histograms: HistogramSample[] = [], exemplars: ExemplarSample[] = [];
  let end = from;
  try {
    for await (const c of db.tail(from, ac.signal, { cursor: opts.cursor })) {
      clearTimeout(timer);
      const s = c.samples;
      for (let i = 0; i < s.length; i++) {
        refs.push(s.refs[i]);
        ts.push(s.ts[i]);
        values.push(s.values[i]);
        stale.push(s.stale[i]);
        st.push(s.st[i]);
      }
      histograms.push(...c.histograms);
      exemplars.push(...c.exemplars);
      end = c.end;
      if (opts.ack && opts.cursor) db.cursor(opts.cursor).ack(c.end);
      timer = setTimeout(() => ac.abort(), quiet);
    }
  } finally {
    clearTimeout(timer);
  }
  return { refs, ts, values, stale, st, histograms, exemplars, end };
}

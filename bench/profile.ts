/**
 * A V8 CPU profile of a process started with `--inspect=HOST:PORT`, taken over the Chrome
 * DevTools Protocol (Deno 2.9 has no `--cpu-prof` flag), and a summary of where its time went.
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

/** The `.cpuprofile` JSON that Chrome DevTools and VS Code open. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A profiling session on one inspector target. */
export class Profiler {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, (v: unknown) => void>();
  #nextId = 1;
  #chunks: string[] | null = null;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data)) as {
        id?: number;
        method?: string;
        params?: { chunk?: string };
        result?: unknown;
        error?: unknown;
      };
      if (msg.method === "HeapProfiler.addHeapSnapshotChunk") {
        this.#chunks?.push(msg.params?.chunk ?? "");
        return;
      }
      if (msg.id === undefined) return;
      const resolve = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      resolve?.(msg.error ? { error: msg.error } : msg.result);
    };
  }

  /** Connects to the main isolate of the inspector at `address` (`host:port`). */
  static async connect(address: string, timeoutMs = 10_000): Promise<Profiler> {
    const res = await fetch(`http://${address}/json/list`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const targets = await res.json() as { webSocketDebuggerUrl: string; url: string }[];
    const main = targets.find((t) => t.url.endsWith("main.ts")) ?? targets[0];
    if (!main) throw new Error(`no inspector target at ${address}`);
    const ws = new WebSocket(main.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("inspector: connect timeout")), timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`inspector: cannot connect to ${main.webSocketDebuggerUrl}`));
      };
    });
    return new Profiler(ws);
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: ${method} timed out`));
      }, 60_000);
      this.#pending.set(id, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
    this.#ws.send(JSON.stringify({ id, method, params }));
    return result;
  }

  /** Starts sampling every `intervalUs` microseconds. */
  async start(intervalUs = 1000): Promise<void> {
    await this.#call("Profiler.enable");
    await this.#call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.#call("Profiler.start");
  }

  /** Stops sampling and returns the profile. */
  async stop(): Promise<CpuProfile> {
    const r = await this.#call("Profiler.stop") as { profile?: CpuProfile; error?: unknown };
    if (!r.profile) throw new Error(`inspector: Profiler.stop: ${JSON.stringify(r.error)}`);
    return r.profile;
  }

  /**
   * Starts the sampling heap profiler, one sample per `intervalBytes` allocated on average, keeping
   * the samples of objects that garbage collection already freed: what is allocated, not what
   * stays.
   */
  async startHeap(intervalBytes = 32768): Promise<void> {
    await this.#call("HeapProfiler.enable");
    await this.#call("HeapProfiler.startSampling", {
      samplingInterval: intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }

  /** Stops the heap profiler and returns its profile (Chrome DevTools opens it as `.heapprofile`). */
  async stopHeap(): Promise<HeapProfile> {
    const r = await this.#call("HeapProfiler.stopSampling") as {
      profile?: HeapProfile;
      error?: unknown;
    };
    if (!r.profile) {
      throw new Error(`inspector: HeapProfiler.stopSampling: ${JSON.stringify(r.error)}`);
    }
    return r.profile;
  }

  /** Takes a heap snapshot (what is live right now) and returns its JSON text. */
  async heapSnapshot(): Promise<string> {
    await this.#call("HeapProfiler.enable");
    this.#chunks = [];
    await this.#call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const text = this.#chunks.join("");
    this.#chunks = null;
    return text;
  }

  close(): void {
    this.#ws.close();
  }
}

/** A sampling heap profile (`HeapProfiler.SamplingHeapProfile`). */
export interface HeapProfile {
  head: HeapNode;
}

/** A node of a sampling heap profile: a call frame and the bytes allocated right there. */
export interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * Bytes allocated by function (self) and by file, the largest first, as shares of all sampled
 * bytes.
 */
export function summarizeHeap(
  p: HeapProfile,
  top = 25,
): { functions: Hot[]; files: Hot[]; totalBytes: number } {
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const stack: HeapNode[] = [p.head];
  while (stack.length > 0) {
    const n = stack.pop()!;
    stack.push(...n.children);
    if (n.selfSize === 0) continue;
    const f = n.callFrame;
    const file = shortUrl(f.url);
    const fn = `${f.functionName || "(anonymous)"} ${file}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + n.selfSize);
    byFile.set(file, (byFile.get(file) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([what, bytes]) => ({
      what,
      samples: bytes,
      percent: total ? (100 * bytes) / total : 0,
    }));
  return { functions: rows(byFn), files: rows(byFile), totalBytes: total };
}

/** A heap snapshot's JSON, as far as {@link summarizeSnapshot} reads it. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * What is live in a heap snapshot, by kind: the shallow sizes of its objects summed by
 * constructor (strings, compiled code and ArrayBuffer backing stores each as one kind), the
 * largest first. Shallow, not retained: a Map's entries count under the Map's backing array.
 */
export function summarizeSnapshot(
  json: string,
  top = 30,
): {
  kinds: { what: string; count: number; bytes: number; percent: number }[];
  totalBytes: number;
} {
  const s = JSON.parse(json) as HeapSnapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf("type"), fName = fields.indexOf("name");
  const fSize = fields.indexOf("self_size");
  const by = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const size = s.nodes[i + fSize];
    if (size === 0) continue;
    const type = types[s.nodes[i + fType]];
    const name = s.strings[s.nodes[i + fName]];
    const what = type === "string" || type === "concatenated string" || type === "sliced string"
      ? "(strings)"
      : type === "code"
      ? "(compiled code)"
      : type === "object" || type === "native" || type === "array" || type === "hidden"
      ? `${name.length > 60 ? name.slice(0, 60) + "…" : name} (${type})`
      : `(${type})`;
    const row = by.get(what) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += size;
    by.set(what, row);
    total += size;
  }
  const kinds = [...by].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top).map((
    [what, r],
  ) => ({ what, count: r.count, bytes: r.bytes, percent: total ? (100 * r.bytes) / total : 0 }));
  return { kinds, totalBytes: total };
}

/** A row of a summary: a function or a file, its share of samples. */
export interface Hot {
  what: string;
  samples: number;
  percent: number;
}

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const npm = url.indexOf("/npm/");
  if (npm >= 0) {
    // …/npm/registry.npmjs.org/NAME/VERSION/path
    const [, name, , ...rest] = url.slice(npm + 5).split("/");
    return `npm:${name}/${rest.join("/")}`;
  }
  const i = url.indexOf("/src/");
  if (i >= 0) return url.slice(i + 1);
  return url.replace(/^file:\/\/.*\//, "");
}

/**
 * Self time by function and by file, the largest first, as shares of the busy samples (not idle,
 * not the inspector's own reporting, which is given apart).
 */
export function summarize(
  p: CpuProfile,
  top = 25,
): { functions: Hot[]; files: Hot[]; busySamples: number; inspectorOverheadPercent: number } {
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const parentOf = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  let total = 0, overhead = 0;
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    const f = n.callFrame;
    // Idle samples are not time spent: shares are of the busy samples. Deno reports every
    // fetch to an attached inspector (there is no switch for it), request body decoded to text
    // included (`decode` right under `mainFetch`, absent from a `--cpu-prof` profile): that is
    // the profiler's cost.
    if (hits === 0 || f.functionName === "(idle)") continue;
    if (
      f.functionName === "op_inspector_emit_protocol_event" ||
      f.url.includes("inspector_network_bridge") ||
      (f.functionName === "decode" && parentOf.get(n.id)?.callFrame.functionName === "mainFetch")
    ) {
      overhead += hits;
      continue;
    }
    total += hits;
    const file = shortUrl(f.url);
    const fn = `${f.functionName || "(anonymous)"} ${file}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
    byFile.set(file, (byFile.get(file) ?? 0) + hits);
  }
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([what, samples]) => ({
      what,
      samples,
      percent: total ? (100 * samples) / total : 0,
    }));
  return {
    functions: rows(byFn),
    files: rows(byFile),
    busySamples: total,
    inspectorOverheadPercent: total + overhead ? (100 * overhead) / (total + overhead) : 0,
  };
}

/**
 * Processes for the benchmark: start one with its output in a log file, stop it by PID with a
 * bounded wait, and read what Linux says about it and its descendants in /proc (CPU time, RSS,
 * bytes written to storage).
 *
 * @module
 */

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux/x86). */
const CLK_TCK = 100;
const PAGE_SIZE = 4096;

/** A started process: its PID, where its output goes, and how it ended once it has. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number>;
  /** True once `exited` has resolved. */
  done(): boolean;
}

/** Options of {@linkcode start}. */
export interface StartOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** File that receives stdout and stderr. */
  log: string;
}

/** Starts `cmd` with stdout and stderr appended to `opts.log`. */
export async function start(name: string, cmd: string[], opts: StartOptions): Promise<Proc> {
  const file = await Deno.open(opts.log, { write: true, create: true, append: true });
  await file.write(new TextEncoder().encode(`# ${cmd.join(" ")}\n`));
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams into one file; each pipe closes the writer it was given, so each gets its own.
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await file.write(chunk);
  };
  const pumps = Promise.allSettled([pump(child.stdout), pump(child.stderr)]);
  let finished = false;
  const exited = child.status.then(async (s) => {
    await pumps;
    file.close();
    finished = true;
    return s.code;
  });
  return { name, pid: child.pid, log: opts.log, exited, done: () => finished };
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL and waits up to 5 s more. */
export async function stop(p: Proc, graceMs = 15_000): Promise<number | null> {
  if (p.done()) return await p.exited;
  signal(p.pid, "SIGTERM");
  const code = await within(p.exited, graceMs);
  if (code !== null) return code;
  signal(p.pid, "SIGKILL");
  return await within(p.exited, 5_000);
}

function signal(pid: number, sig: Deno.Signal) {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** The value of `p`, or null if it has not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps `ms` milliseconds, or rejects with "interrupted" at once when `signal` aborts. */
export function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Error("interrupted"));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("interrupted"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A reader of `--name value` / `--name=value` flags in `args`: the value, else
 * `def`, else it throws `missing --name`.
 */
export function flagReader(args: string[]): (name: string, def?: string) => string {
  return (name, def) => {
    const hit = args.find((a) => a.startsWith(`--${name}=`));
    if (hit) return hit.slice(name.length + 3);
    const i = args.indexOf(`--${name}`);
    if (i >= 0 && i + 1 < args.length) return args[i + 1];
    if (def === undefined) throw new Error(`missing --${name}`);
    return def;
  };
}

/** The last `lines` lines of a log file, for error messages. */
export async function tail(path: string, lines = 20): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** What /proc says about a process and its live descendants at one moment. */
export interface ProcSample {
  /** user + system CPU seconds of the process tree, including children it has waited for. */
  cpuSeconds: number;
  /** Summed resident set size of the process tree, bytes. */
  rssBytes: number;
  /** Summed `write_bytes` of /proc/<pid>/io: bytes the tree caused to be sent to storage. */
  writeBytes: number;
  /** Processes that were read (the root and its descendants). */
  pids: number[];
}

interface StatLine {
  pid: number;
  ppid: number;
  cpuTicks: number;
  rssPages: number;
}

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const f = (n: number) => Number(rest[n - 3]);
  return {
    pid,
    ppid: f(4),
    cpuTicks: f(14) + f(15) + f(16) + f(17), // utime stime cutime cstime
    rssPages: f(24),
  };
}

function readWriteBytes(pid: number): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/io`);
    const m = /^write_bytes: (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The PIDs of `root` and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!e.isDirectory || !/^\d+$/.test(e.name)) continue;
    const st = readStat(Number(e.name));
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
  }
  const out: number[] = [];
  const queue = [root];
  // A tree has fewer nodes than /proc has entries: the loop is bounded by that.
  while (queue.length > 0 && out.length < 100_000) {
    const pid = queue.shift()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return out;
}

/** CPU, RSS and storage writes of `root` and its descendants now. */
export function sampleTree(root: number): ProcSample {
  const pids = processTree(root);
  let ticks = 0, pages = 0, writeBytes = 0;
  const alive: number[] = [];
  for (const pid of pids) {
    const st = readStat(pid);
    if (!st) continue;
    alive.push(pid);
    ticks += st.cpuTicks;
    pages += st.rssPages;
    writeBytes += readWriteBytes(pid);
  }
  return { cpuSeconds: ticks / CLK_TCK, rssBytes: pages * PAGE_SIZE, writeBytes, pids: alive };
}

/** Sums samples of several process trees (a farm of nginx plus its writer, say). */
export function sampleTrees(roots: number[]): ProcSample {
  const out: ProcSample = { cpuSeconds: 0, rssBytes: 0, writeBytes: 0, pids: [] };
  for (const r of roots) {
    const s = sampleTree(r);
    out.cpuSeconds += s.cpuSeconds;
    out.rssBytes += s.rssBytes;
    out.writeBytes += s.writeBytes;
    out.pids.push(...s.pids);
  }
  return out;
}

/** Whole-machine CPU seconds (all cores, busy and idle) from /proc/stat, and the load average. */
export function machineCpu(): { busy: number; total: number; load1: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  const load1 = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK, load1 };
}

/** Bytes of all files under `dir` (0 if it does not exist); bounded by the tree itself. */
export function dirBytes(dir: string): number {
  let total = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) total += dirBytes(p);
    else if (e.isFile) {
      try {
        total += Deno.statSync(p).size;
      } catch {
        // removed meanwhile (WAL truncation)
      }
    }
  }
  return total;
}

/** user + system CPU seconds of one process alone (its threads, not its children). */
export function ownCpuSeconds(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[14 - 3]) + Number(rest[15 - 3])) / CLK_TCK;
}

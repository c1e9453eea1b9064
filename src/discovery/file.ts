/**
 * file_sd: target groups read from JSON or YAML files.
 *
 * The files are re-read every `refreshInterval` and whenever anything changes
 * in their directories: every directory of a pattern is watched with
 * `Deno.watchFs`, and any event in it (not only one naming a matching file)
 * triggers a re-read. That is what makes Kubernetes ConfigMap updates visible:
 * there the files are symlinks through `..data`, and an update swaps that
 * symlink atomically, so the events name `..data`, never the files. Watches
 * are re-established when a watched directory's real path changes, and when
 * watching fails (no directory yet), the interval still applies. Reporting
 * is by content, so a re-read that finds the same targets is silent.
 *
 * Each file's groups have source `<path>:<index>` and the label
 * `__meta_filepath`. A file that cannot be read or parsed, or is over a
 * limit of {@link DOCUMENT_LIMITS} (16 MiB, checked before it is read;
 * 100,000 targets), keeps its last good groups, is logged with its path (and
 * line, where known) and counts in `prometheus_sd_file_read_errors_total`. A
 * file that no longer exists or no longer matches is dropped.
 *
 * @module
 */

import type { ResolvedFileSdConfig } from "../config/types.ts";
import type { Registry } from "../metrics/registry.ts";
import { type Clock, realClock } from "../util/clock.ts";
import { log } from "../util/log.ts";
import {
  decodeJsonGroups,
  decodeYamlGroups,
  DOCUMENT_LIMITS,
  type DocumentLimits,
  TargetGroupError,
} from "./groups.ts";
import { createFileSdMetrics, type FileSdMetrics } from "./metrics.ts";
import { errorMessage, refreshLoop, Wakeup } from "./refresh.ts";
import type { Discoverer, DiscoveryResult, TargetGroup } from "./types.ts";

const logger = log("discovery");

/** The label holding the file a target came from. */
export const FILEPATH_LABEL = "__meta_filepath";

/** Options of {@link FileDiscoverer}. */
export interface FileDiscovererOptions {
  /** The job, for logs. */
  job: string;
  registry: Registry;
  clock?: Clock;
  /** After a file-system event, wait this long so a burst of events is one re-read. @default 100 */
  settleMs?: number;
  /** Watch the directories for changes. @default true */
  watch?: boolean;
  /** Lower document limits (tests). @default DOCUMENT_LIMITS */
  limits?: Partial<DocumentLimits>;
}

interface Pattern {
  /** The pattern as configured. */
  text: string;
  dir: string;
  /** Matches a file name in `dir`; null for a plain path. */
  match: RegExp | null;
}

interface Watch {
  real: string | null;
  watcher: Deno.FsWatcher;
  done: Promise<void>;
}

/** Reads target groups from files matching the configured paths and globs. */
export class FileDiscoverer implements Discoverer {
  readonly #cfg: ResolvedFileSdConfig;
  readonly #opts: FileDiscovererOptions;
  readonly #clock: Clock;
  readonly #metrics: FileSdMetrics;
  readonly #patterns: Pattern[];
  /** Last good groups per file. */
  #last = new Map<string, TargetGroup[]>();
  readonly #watches = new Map<string, Watch>();
  readonly #wakeup = new Wakeup();

  constructor(cfg: ResolvedFileSdConfig, opts: FileDiscovererOptions) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#metrics = createFileSdMetrics(opts.registry);
    this.#patterns = cfg.files.map(compilePattern);
  }

  discoverOnce(_signal: AbortSignal): Promise<DiscoveryResult> {
    return this.#refresh();
  }

  async run(signal: AbortSignal, update: (groups: TargetGroup[]) => void): Promise<void> {
    const watch = this.#opts.watch ?? true;
    try {
      await refreshLoop(signal, update, {
        clock: this.#clock,
        intervalMs: this.#cfg.refreshIntervalMs,
        wakeup: this.#wakeup,
        settleMs: this.#opts.settleMs ?? 100,
        refresh: async () => {
          if (watch) await this.#updateWatches(signal);
          return await this.#refresh();
        },
      });
    } finally {
      const watches = [...this.#watches.values()];
      this.#watches.clear();
      for (const w of watches) closeWatcher(w.watcher);
      await Promise.all(watches.map((w) => w.done));
      for (const file of this.#last.keys()) this.#metrics.mtime(file, undefined);
    }
  }

  /** Watches each pattern's directory; re-watches when its real path changed (a swapped symlink). */
  async #updateWatches(signal: AbortSignal): Promise<void> {
    const dirs = new Set(this.#patterns.map((p) => p.dir));
    for (const dir of dirs) {
      if (signal.aborted) return;
      const real = await Deno.realPath(dir).catch(() => null);
      const cur = this.#watches.get(dir);
      if (cur && cur.real === real && real !== null) continue;
      if (cur) {
        this.#watches.delete(dir);
        closeWatcher(cur.watcher);
        await cur.done;
      }
      if (real === null) continue; // no directory (yet): the interval still applies
      let watcher: Deno.FsWatcher;
      try {
        watcher = Deno.watchFs(dir, { recursive: false });
      } catch (e) {
        this.#metrics.watcherErrors.inc();
        logger.warn("cannot watch {dir} for file_sd changes: {err}", {
          job: this.#opts.job,
          dir,
          err: errorMessage(e),
        });
        continue;
      }
      const done = (async () => {
        try {
          // Our own reads must not wake us; everything else in the directory may matter.
          for await (const event of watcher) if (event.kind !== "access") this.#wakeup.wake();
        } catch (e) {
          this.#metrics.watcherErrors.inc();
          logger.warn("file_sd watch on {dir} failed: {err}", {
            job: this.#opts.job,
            dir,
            err: errorMessage(e),
          });
        }
        // A watch that ended by itself (directory removed) is re-established at the next refresh.
        if (this.#watches.get(dir)?.watcher === watcher) this.#watches.delete(dir);
      })();
      this.#watches.set(dir, { real, watcher, done });
    }
  }

  /** Reads every matching file; failed files keep their last good groups. */
  async #refresh(): Promise<DiscoveryResult> {
    const started = performance.now();
    const errors: string[] = [];
    const files = new Set<string>();
    for (const p of this.#patterns) {
      try {
        for (const f of await expand(p)) files.add(f);
      } catch (e) {
        // The directory cannot be listed: keep what this pattern matched before.
        this.#metrics.readErrors.inc();
        const msg = `${p.text}: cannot list ${p.dir}: ${errorMessage(e)}`;
        errors.push(msg);
        logger.error("file_sd: {err}", { job: this.#opts.job, path: p.dir, err: msg });
        for (const f of this.#last.keys()) if (matches(p, f)) files.add(f);
      }
    }
    const next = new Map<string, TargetGroup[]>();
    for (const file of [...files].sort()) {
      try {
        const { groups, mtime } = await readFile(file, this.#opts.limits ?? {});
        next.set(file, groups);
        this.#metrics.mtime(file, mtime);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue; // removed between listing and reading
        this.#metrics.readErrors.inc();
        const msg = `${file}: ${errorMessage(e)}`;
        errors.push(msg);
        const kept = this.#last.get(file);
        logger.error("file_sd: cannot read {path}: {err}", {
          job: this.#opts.job,
          path: file,
          err: errorMessage(e),
          kept: kept ? "last good targets" : "nothing",
        });
        if (kept) next.set(file, kept);
      }
    }
    for (const file of this.#last.keys()) if (!next.has(file)) this.#metrics.mtime(file, undefined);
    this.#last = next;
    this.#metrics.scanDuration.observe((performance.now() - started) / 1000);
    return { groups: [...next.values()].flat(), errors };
  }
}

function closeWatcher(w: Deno.FsWatcher): void {
  try {
    w.close();
  } catch {
    // already closed
  }
}

/** Reads and decodes one file. */
async function readFile(
  file: string,
  limits: Partial<DocumentLimits>,
): Promise<{ groups: TargetGroup[]; mtime: number }> {
  const stat = await Deno.stat(file);
  if (stat.isDirectory) throw new Error("is a directory");
  const max = limits.bytes ?? DOCUMENT_LIMITS.bytes;
  if (stat.size > max) throw tooLarge(stat.size, max);
  const text = await readCapped(file, max);
  const opts = { limits };
  const raw = /\.json$/i.test(file) ? decodeJsonGroups(text, opts) : decodeYamlGroups(text, opts);
  const groups = raw.map((g, i) => ({
    source: `${file}:${i}`,
    targets: g.targets.map((address) => ({ __address__: address })),
    labels: { ...g.labels, [FILEPATH_LABEL]: file },
  }));
  return { groups, mtime: (stat.mtime?.getTime() ?? 0) / 1000 };
}

function tooLarge(size: number | null, max: number): TargetGroupError {
  return new TargetGroupError(
    `file ${
      size === null ? "grew" : `of ${size} bytes is`
    } over the ${max}-byte limit of a file_sd file`,
  );
}

/**
 * The file as text (invalid UTF-8 replaced, as `Deno.readTextFile` does),
 * failing once more than `max` bytes were read: a file may grow after its
 * size was checked.
 */
async function readCapped(file: string, max: number): Promise<string> {
  using f = await Deno.open(file, { read: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const buf = new Uint8Array(Math.min(1 << 20, max + 1 - size));
    const n = await f.read(buf);
    if (n === null) break;
    size += n;
    if (size > max) throw tooLarge(null, max);
    chunks.push(n === buf.length ? buf : buf.subarray(0, n));
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

const GLOB = /[*?[]/;

function compilePattern(text: string): Pattern {
  const slash = text.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : text.slice(0, slash);
  const base = text.slice(slash + 1);
  return { text, dir, match: GLOB.test(base) ? globRegExp(base) : null };
}

function matches(p: Pattern, file: string): boolean {
  if (p.match === null) return file === p.text;
  const slash = file.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : file.slice(0, slash);
  return dir === p.dir && p.match.test(file.slice(slash + 1));
}

/** The files a pattern matches now; a plain path is returned as is (reading tells whether it exists). */
async function expand(p: Pattern): Promise<string[]> {
  if (p.match === null) return [p.text];
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(p.dir)) {
      if (e.isDirectory || !p.match.test(e.name)) continue;
      out.push(p.dir === "/" ? `/${e.name}` : `${p.dir}/${e.name}`);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return out;
}

/**
 * A file-name glob as Go's `filepath.Match`: `*` any run of characters,
 * `?` one character, `[abc]`, `[a-z]`, `[^a-z]` classes, `\` escapes.
 */
export function globRegExp(glob: string): RegExp {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < glob.length) re += escapeRe(glob[++i]);
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("^");
      if (negate) body = body.slice(1);
      re += (negate ? "[^" : "[") + body.replace(/[\]\\^]/g, (m) => "\\" + m) + "]";
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(re + "$", "u");
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? "\\" + c : c;
}

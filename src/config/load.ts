/**
 * `loadConfig()`: reads a config file of either kind and resolves it.
 *
 * - `.yml`, `.yaml`, `.json`: parsed as prometheus.yml (see `prometheus.ts`).
 * - `.ts`, `.mts`, `.js`, `.mjs`: imported inside a Worker (`worker.ts`) whose
 *   permissions are: read the config's *config root* (`configRoot()`: the
 *   nearest directory at or above the config holding a `deno.json` or
 *   `deno.jsonc`, e.g. a config repository's root so `sites/berlin.config.ts`
 *   may import `../lib/jobs.ts`; else the config's own directory), ferry's
 *   `mod.ts` and `src/` (so `import { defineConfig } from "ferry"` or
 *   `"../mod.ts"` works), and nothing else — no network, env, write, run, ffi,
 *   sys or remote imports. Under `deno run`, bare specifiers such as
 *   `"ferry"` resolve through the import map of the running ferry (its own
 *   deno.json maps `"ferry"` to its `mod.ts`), not the config repository's
 *   (a compiled binary: see `load_deno.ts`). The module's `default` export
 *   (or named `config`) comes back as plain data and goes through
 *   `resolveConfig()`.
 *
 * Requirements: setting a Worker's permissions is an unstable Deno API, so the
 * process must run with `--unstable-worker-options` or have
 * `"unstable": ["worker-options"]` in deno.json; without it Deno exits the
 * whole process (code 70) when the Worker is created, which cannot be caught.
 * The process itself needs read access to the config's directory (a Worker
 * can only be given what its parent has) and to `worker.ts`; the config root
 * is only searched as far up as the process may read.
 *
 * Deno 2.9.6 cannot stop a Worker that is stuck in a synchronous loop
 * (`terminate()` does not interrupt it), so a config module that never
 * finishes makes `loadConfig` reject after `timeoutMs`, but a spinning thread
 * is left behind until the process exits; one waiting forever on a promise is
 * cleaned up completely.
 *
 * @module
 */

import {
  basename,
  dirname,
  extname,
  isAbsolute,
  relative,
  resolve as resolvePath,
  sep,
} from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import { resolveConfig } from "./resolve.ts";
import type { ResolvedConfig } from "./types.ts";
import type { WorkerReply, WorkerRequest } from "./worker.ts";
import { importWithDeno } from "./load_deno.ts";

/** What {@link loadConfig} returns. */
export interface LoadedConfig {
  /** The validated config. */
  config: ResolvedConfig;
  /** Absolute path of the file it came from. */
  source: string;
  /** Which loader read it. */
  kind: "ts" | "yaml";
  /** Non-fatal notes (e.g. `evaluation_interval` has no effect in agent mode). */
  warnings: ConfigIssue[];
}

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** How long a config module may take to load. @default 10000 */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const YAML_EXTENSIONS = new Set([".yml", ".yaml", ".json"]);
const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs"]);

const WORKER_URL = new URL("./worker.ts", import.meta.url);
/** ferry's root `mod.ts` and `src/`, which config modules may import. */
const FERRY_ROOT = new URL("../../", import.meta.url);

/**
 * Loads and resolves the config at `path` (relative to the working directory).
 *
 * @param path A `.ts`/`.mts`/`.js`/`.mjs` config module, or a prometheus.yml (`.yml`/`.yaml`/`.json`).
 * @param opts `timeoutMs` bounds how long a config module may take.
 * @returns The resolved config, its absolute path, the kind of loader, and warnings.
 * @throws {ConfigError} when the file cannot be read, loaded or is invalid; the
 *   message starts with `config <path>: `.
 */
export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const abs = resolvePath(path);
  const ext = extname(abs).toLowerCase();
  const warnings: ConfigIssue[] = [];
  if (YAML_EXTENSIONS.has(ext)) {
    let text: string;
    try {
      text = await Deno.readTextFile(abs);
    } catch (e) {
      throw fail(path, `cannot read: ${(e as Error).message}`, e);
    }
    const config = loadYamlConfig(text, path, {
      baseDir: dirname(abs),
      env: readEnv,
      onWarning: (w) => warnings.push(w),
    });
    return { config, source: abs, kind: "yaml", warnings };
  }
  if (MODULE_EXTENSIONS.has(ext)) {
    const value = await importConfigModule(abs, path, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const config = resolveConfig(value, { source: path, baseDir: dirname(abs) });
    return { config, source: abs, kind: "ts", warnings };
  }
  throw fail(
    path,
    `unsupported file extension ${
      JSON.stringify(ext)
    } (want .ts, .mts, .js, .mjs, .yml, .yaml or .json)`,
  );
}

function fail(source: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError([{ path: "", message }], { source, cause });
}

/** `$VAR` in external_labels: only variables ferry was allowed to read, never a prompt. */
function readEnv(name: string): string | undefined {
  const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
  if (state !== "granted") {
    throw new Error(
      `needs environment variable ${name}, but ferry has no env access to it ` +
        `(run it with --allow-env=${name})`,
    );
  }
  return Deno.env.get(name);
}

/** Paths ferry may hand to the sandbox: only those it can read itself. */
function readable(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

/** Files whose directory is a config root (see {@link configRoot}). */
const ROOT_MARKERS = ["deno.json", "deno.jsonc"];
/** How many directories {@link configRoot} looks at, at most (the config's own included). */
const MAX_ROOT_SEARCH = 64;

/** The directory a config module's sandbox may read, and why. */
export interface ConfigRoot {
  /** Absolute path of the directory the sandbox may read. */
  dir: string;
  /**
   * The `deno.json`/`deno.jsonc` that makes `dir` the root. Absent when none was
   * found: `dir` is then the config's own directory.
   */
  marker?: string;
}

/**
 * The config root of a config file: the nearest directory at or above it that
 * holds a `deno.json` or `deno.jsonc` (a config repository's root, so
 * `sites/berlin.config.ts` may import `../lib/jobs.ts`), else the file's own
 * directory. The search stops at the filesystem root, after
 * {@link MAX_ROOT_SEARCH} directories, and at the first directory ferry may
 * not read (the sandbox can only be given what ferry has; nothing ever
 * prompts).
 *
 * @param configFile The config file (relative to the working directory or absolute).
 * @returns The root directory, and the marker file when one was found.
 */
export function configRoot(configFile: string): ConfigRoot {
  const own = dirname(resolvePath(configFile));
  let dir = own;
  for (let i = 0; i < MAX_ROOT_SEARCH && readable(dir); i++) {
    for (const name of ROOT_MARKERS) {
      const marker = resolvePath(dir, name);
      if (isFile(marker)) return { dir, marker };
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return { dir: own };
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The read grants of the config Worker: the config root (see
 * {@link configRoot}), plus ferry's `mod.ts` and `src/` when they are outside it
 * and ferry may read them (so `import … from "ferry"` resolves for a config
 * anywhere).
 */
export function sandboxReadPaths(configFile: string): string[] {
  const out = [configRoot(configFile).dir];
  if (FERRY_ROOT.protocol === "file:") {
    const root = fileURLToPath(FERRY_ROOT);
    for (const p of [resolvePath(root, "mod.ts"), resolvePath(root, "src")]) {
      if (!isInside(p, out[0]) && readable(p)) out.push(p);
    }
  }
  return out;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && !rel.startsWith(sep));
}

interface SandboxOptions {
  type: "module";
  name: string;
  deno: {
    permissions: {
      read: string[];
      net: false;
      env: false;
      write: false;
      run: false;
      ffi: false;
      sys: false;
      import: false;
    };
  };
}

async function importConfigModule(abs: string, display: string, timeoutMs: number) {
  const configDir = dirname(abs);
  if (!readable(configDir)) {
    throw fail(
      display,
      `ferry has no read access to ${configDir} (run it with --allow-read=${configDir})`,
    );
  }
  const read = sandboxReadPaths(abs);
  if (Deno.build.standalone) {
    // A compiled binary cannot import modules from disk: a deno subprocess does (load_deno.ts).
    const reply = await importWithDeno(abs, display, { read, timeoutMs });
    if (reply.ok) return reply.value;
    throw fail(display, explainFailure(reply, configRoot(abs)));
  }
  const options: SandboxOptions = {
    type: "module",
    name: `ferry config ${display}`,
    deno: {
      permissions: {
        read,
        net: false,
        env: false,
        write: false,
        run: false,
        ffi: false,
        sys: false,
        import: false,
      },
    },
  };
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, options as WorkerOptions);
  } catch (e) {
    throw fail(display, `cannot start the config sandbox: ${(e as Error).message}`, e);
  }

  const id = crypto.randomUUID();
  const { promise, resolve, reject } = Promise.withResolvers<unknown>();
  const timer = setTimeout(() => {
    reject(fail(
      display,
      `did not finish loading within ${timeoutMs / 1000}s (a config module must not wait ` +
        "for anything that never completes, or loop forever)",
    ));
  }, timeoutMs);
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    const reply = e.data;
    if (typeof reply !== "object" || reply === null || reply.id !== id) return;
    if (reply.ok) resolve(reply.value);
    else reject(fail(display, explainFailure(reply, configRoot(abs))));
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    reject(fail(
      display,
      explainFailure(
        { id, ok: false, stage: "import", name: "Error", message: e.message },
        configRoot(abs),
      ),
    ));
  };
  worker.onmessageerror = () => {
    reject(fail(display, "its export could not be transferred as plain data"));
  };
  try {
    worker.postMessage({ id, url: pathToFileURL(abs).href } satisfies WorkerRequest);
    return await promise;
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
}

const PERMISSION_RE =
  /Requires (\w+) access to (.+?)(?:, run again with|, specify the required permissions|$)/;
// deno-lint-ignore no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

/**
 * Turns what the Worker reported into one sentence: permission denials name
 * the permission and what the sandbox allows.
 *
 * @param reply The Worker's failure.
 * @param root The config root the sandbox had (see {@link configRoot}); a
 *   string is a config's own directory, no `deno.json` found.
 */
export function explainFailure(
  reply: Extract<WorkerReply, { ok: false }>,
  root: ConfigRoot | string,
): string {
  // Drop colour codes and the stack Deno appends to module-loading errors.
  const message = reply.message.replace(ANSI_RE, "").split(/\n\s+at /)[0].trim();
  const m = PERMISSION_RE.exec(message);
  if (m) {
    const [, perm, target] = m;
    if (perm === "read") {
      return `requires read access to ${target}; ${describeRoot(root)}`;
    }
    if (perm === "import") {
      return `requires import access to ${target}; config modules cannot import remote modules`;
    }
    return `requires ${perm} access to ${target}; config modules run without network, env, ` +
      "write or run permissions";
  }
  switch (reply.stage) {
    case "export":
    case "data":
      return reply.message;
    default:
      return `failed to load: ${
        message.startsWith(reply.name) ? message : `${reply.name}: ${message}`
      }`;
  }
}

/** What a config module may read, in words (the end of a read denial). */
function describeRoot(root: ConfigRoot | string): string {
  const { dir, marker } = typeof root === "string" ? { dir: root, marker: undefined } : root;
  const ferry = "and ferry's mod.ts and src/";
  if (marker !== undefined) {
    return `config modules can read only their config root (${dir}, where ${
      basename(marker)
    } is) ${ferry}`;
  }
  return `config modules can read only their config root (${dir}: no deno.json or ` +
    `deno.jsonc above the config, so its own directory) ${ferry}; put a deno.json at the ` +
    "root of a config repository to let its configs import modules from anywhere in it";
}

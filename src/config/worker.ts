/**
 * The Worker that imports a TypeScript/JavaScript config module. `load.ts`
 * starts it with read access to the config's directory only (no network,
 * env, write, run, ffi, sys or remote imports), sends one request, and
 * terminates it after the single reply.
 *
 * The reply carries the module's `default` export (or its named `config`
 * export) as plain data, or a description of why that was impossible. Before
 * anything is posted the value is checked for things structured clone would
 * reject or mangle (functions, class instances, cycles), so the error can name
 * the offending path.
 *
 * Nothing is imported, so nothing else runs inside the sandbox.
 *
 * @module
 */

/** Sent by load.ts. */
export interface WorkerRequest {
  /** Replies carry it back, so messages a config module posts itself are ignored. */
  id: string;
  /** `file:` URL of the config module. */
  url: string;
}

/** What a config module evaluates to: its value, or why it has none. */
export type ConfigOutcome =
  | { ok: true; value: unknown }
  | {
    ok: false;
    /** import: the module failed to load or threw; export: no usable export; data: not plain data. */
    stage: "import" | "export" | "data";
    name: string;
    message: string;
  };

/** Sent back to load.ts. */
export type WorkerReply = { id: string } & ConfigOutcome;

/**
 * The first place in `value` that is not plain data (a function, a class
 * instance, a symbol, a cycle…), as `path: what`, or undefined if it is all
 * plain objects, arrays, strings, numbers, booleans, null and undefined.
 * With `finiteNumbers`, NaN and ±Infinity are not plain data either (they do
 * not survive JSON).
 *
 * Self-contained: its source also runs in load_deno.ts's deno subprocess.
 */
export function findNonPlainData(
  value: unknown,
  path = "",
  stack: Set<object> = new Set(),
  finiteNumbers = false,
): string | undefined {
  const at = path === "" ? "the exported value" : path;
  switch (typeof value) {
    case "number":
      return !finiteNumbers || Number.isFinite(value)
        ? undefined
        : `${at} is ${value}; use a finite number`;
    case "string":
    case "boolean":
    case "undefined":
      return undefined;
    case "function":
      return `${at} is a function; config modules must export plain data`;
    case "bigint":
      return `${at} is a bigint; use a number`;
    case "symbol":
      return `${at} is a symbol; config modules must export plain data`;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (stack.has(obj)) return `${at} refers back to one of its parents (a cycle)`;
  if (Array.isArray(obj)) {
    stack.add(obj);
    for (let i = 0; i < obj.length; i++) {
      const p = findNonPlainData(obj[i], `${path}[${i}]`, stack, finiteNumbers);
      if (p !== undefined) return p;
    }
    stack.delete(obj);
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "object";
    return `${at} is a ${name}, not a plain object; config modules must export plain data`;
  }
  stack.add(obj);
  for (const key of Object.keys(obj)) {
    // errors.ts keyPath(), spelled out to keep this function self-contained.
    const sub = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
      ? (path === "" ? key : `${path}.${key}`)
      : `${path}[${JSON.stringify(key)}]`;
    const p = findNonPlainData((obj as Record<string, unknown>)[key], sub, stack, finiteNumbers);
    if (p !== undefined) return p;
  }
  stack.delete(obj);
  return undefined;
}

/**
 * Imports the module at `url` and picks its config export: `default`, else
 * `config`, awaited when a promise, checked to be plain data (and, with
 * `finiteNumbers`, JSON-safe numbers).
 *
 * Self-contained but for {@link findNonPlainData} and `errorParts`: see
 * {@link evaluatorSource}.
 */
export async function evaluateConfigModule(
  url: string,
  finiteNumbers = false,
): Promise<ConfigOutcome> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    return { ok: false, stage: "import", ...errorParts(e) };
  }
  const hasDefault = Object.hasOwn(mod, "default") && mod.default !== undefined;
  let value: unknown = hasDefault ? mod.default : mod.config;
  const which = hasDefault ? "the default export" : 'the "config" export';
  if (value === undefined) {
    const names = Object.keys(mod);
    return {
      ok: false,
      stage: "export",
      name: "TypeError",
      message: `has no default export and no export named "config"${
        names.length > 0 ? ` (it exports ${names.join(", ")})` : ""
      }`,
    };
  }
  if (value instanceof Promise) {
    try {
      value = await value;
    } catch (e) {
      return { ok: false, stage: "import", ...errorParts(e) };
    }
  }
  if (typeof value === "function") {
    return {
      ok: false,
      stage: "export",
      name: "TypeError",
      message:
        `${which} is a function; export the config object itself (for example defineConfig({ … }))`,
    };
  }
  const problem = findNonPlainData(value, "", new Set(), finiteNumbers);
  if (problem !== undefined) {
    return { ok: false, stage: "data", name: "TypeError", message: problem };
  }
  return { ok: true, value };
}

/**
 * JavaScript source declaring {@link evaluateConfigModule} and the functions
 * it calls, for a script run outside this module (load_deno.ts's deno
 * subprocess, which cannot import ferry's modules from a compiled binary).
 */
export function evaluatorSource(): string {
  return [errorParts, findNonPlainData, evaluateConfigModule].map(String).join("\n");
}

/** Imports the module at `url` and picks its config export. */
export async function loadModuleValue(
  req: WorkerRequest,
): Promise<WorkerReply> {
  return { id: req.id, ...await evaluateConfigModule(req.url) };
}

function errorParts(e: unknown): { name: string; message: string } {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: `threw a non-error value: ${String(e)}` };
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
}

// Only act as a worker when running as one (tests import the functions above).
const WGS = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
if (WGS !== undefined && globalThis instanceof WGS) {
  const scope = globalThis as unknown as WorkerScope;
  // Captured before any config code runs, so a module cannot replace it.
  const post = scope.postMessage.bind(scope);
  scope.onmessage = (e) => {
    scope.onmessage = null;
    const { id } = e.data;
    const send = (reply: WorkerReply) => {
      try {
        post(reply);
      } catch (err) {
        post({ id, ok: false, stage: "data", ...errorParts(err) });
      }
    };
    loadModuleValue(e.data).then(
      send,
      (err) => send({ id, ok: false, stage: "import", ...errorParts(err) }),
    );
  };
}

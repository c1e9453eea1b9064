/**
 * Loading a TypeScript config module in a compiled ferry binary.
 *
 * A `deno compile`d binary carries only its own modules, so it cannot import
 * a config module from disk the way `load.ts` does under `deno run` (a
 * sandboxed Worker). Instead it runs the module in a `deno` found on PATH:
 *
 * ```
 * deno run --no-prompt --quiet --allow-read=<the sandbox's read paths> -
 * ```
 *
 * with a small loader on stdin that imports the module, picks its `default`
 * export (or named `config`), checks it is plain data and prints it as JSON.
 * The subprocess gets the same permissions as the Worker sandbox (read the
 * config root, nothing else: no network, env, write or run) and runs in the
 * config's directory, so the config repository's own `deno.json` (its
 * `"ferry"` import) applies. The binary needs `--allow-run=deno` for it.
 *
 * Without deno the error says what to do instead: use a prometheus.yml, or
 * bake the config into a site binary (`deno task compile --config FILE`).
 *
 * @module
 */

import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "./errors.ts";
import { evaluateConfigModule, evaluatorSource, type WorkerReply } from "./worker.ts";

/** The error when a compiled binary has no `deno` to evaluate a TS config with. */
export const DENO_MISSING =
  "TS configs need deno on PATH in a compiled binary; use prometheus.yml, or build a site binary with --config";

/** Options of {@link importWithDeno}. */
export interface DenoLoadOptions {
  /** What the module may read (the Worker sandbox's read paths). */
  read: string[];
  /** How long the module may take to load. */
  timeoutMs: number;
  /** The deno executable. @default "deno" (looked up on PATH) */
  deno?: string;
}

/**
 * Evaluates the config module `abs` in a `deno` subprocess.
 *
 * @returns The module's export as plain data (`ok: true`), or why it failed
 *   (same shape as the Worker's reply, for `explainFailure`).
 * @throws {ConfigError} when deno cannot be run, does not answer, or times out.
 */
export async function importWithDeno(
  abs: string,
  display: string,
  opts: DenoLoadOptions,
): Promise<WorkerReply> {
  const id = crypto.randomUUID();
  const mark = `ferry-config-${id}:`;
  const code = `${evaluatorSource()}\n(${loaderMain.toString()})(evaluateConfigModule, ${
    JSON.stringify(pathToFileURL(abs).href)
  }, ${JSON.stringify(mark)});\n`;
  const args = ["run", "--no-prompt", "--quiet"];
  if (opts.read.length > 0) args.push(`--allow-read=${opts.read.join(",")}`);
  args.push("-");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(opts.deno ?? "deno", {
      args,
      cwd: dirname(abs),
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw fail(display, DENO_MISSING, e);
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw fail(
        display,
        "this binary may not run deno to load a TS config (it was built without " +
          "--allow-run=deno); use prometheus.yml, or build a site binary with --config",
        e,
      );
    }
    throw fail(display, `cannot run deno to load it: ${(e as Error).message}`, e);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(code)).catch(() => {});
    await writer.close().catch(() => {});
    const out = await child.output();
    if (timedOut) {
      throw fail(
        display,
        `did not finish loading within ${opts.timeoutMs / 1000}s (a config module must not ` +
          "wait for anything that never completes, or loop forever)",
      );
    }
    const stdout = new TextDecoder().decode(out.stdout);
    const line = stdout.split("\n").findLast((l) => l.startsWith(mark));
    if (line === undefined) {
      const stderr = new TextDecoder().decode(out.stderr).trim();
      return {
        id,
        ok: false,
        stage: "import",
        name: "Error",
        message: stderr || `deno exited with code ${out.code} and printed nothing`,
      };
    }
    return { id, ...JSON.parse(line.slice(mark.length)) } as WorkerReply;
  } finally {
    clearTimeout(timer);
  }
}

function fail(source: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError([{ path: "", message }], { source, cause });
}

/**
 * The loader run by the deno subprocess (sent as source after
 * {@link evaluatorSource}, so it must refer to nothing else). Prints one line:
 * `mark` + JSON of the module's `ConfigOutcome` (worker.ts).
 */
async function loaderMain(
  evaluate: typeof evaluateConfigModule,
  url: string,
  mark: string,
): Promise<void> {
  const outcome = await evaluate(url, true);
  // deno-lint-ignore no-console
  console.log(mark + JSON.stringify(outcome));
  Deno.exit(0);
}

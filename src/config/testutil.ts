/**
 * Test helpers for the config loader: running `loadConfig()` in a child
 * process (testdata/load_main.ts), because loading a TypeScript config starts
 * a Worker whose permissions need --unstable-worker-options, which `deno test`
 * may lack (and without it Deno exits the whole process), and because a
 * config module stuck in a loop leaves a spinning thread that only the end of
 * the process stops.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedConfig } from "./types.ts";

const CONFIG_DIR = dirname(fileURLToPath(import.meta.url));
/** src/config/testdata. */
export const TESTDATA = `${CONFIG_DIR}/testdata`;
/** The repository root. */
export const ROOT = dirname(dirname(CONFIG_DIR));
/** ferry's deno.json. */
export const DENO_JSON = `${ROOT}/deno.json`;
const HARNESS = `${TESTDATA}/load_main.ts`;

/** What one load gave: the config, or the error's name, message and issues. */
export type LoadResult =
  | { ok: true; config: ResolvedConfig; source: string; kind: "ts" | "yaml" }
  | { ok: false; name: string; message: string; issues?: { path: string; message: string }[] };

/** Load a file (loads run concurrently), or write one after the earlier loads. */
export type LoadStep = { load: string; timeoutMs?: number } | { write: string; text: string };

/** Runs the harness in a child process; returns one result per load step. */
export async function harness(
  steps: LoadStep[],
  opts: { cwd: string; flags?: string[] },
): Promise<{ code: number; results: LoadResult[]; stderr: string }> {
  const flags = opts.flags ?? ["--unstable-worker-options", "-A", "--config", DENO_JSON];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", ...flags, HARNESS, JSON.stringify(steps)],
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const results = stdout.trim() === ""
    ? []
    : stdout.trim().split("\n").map((l) => JSON.parse(l) as LoadResult);
  return { code: out.code, results, stderr };
}

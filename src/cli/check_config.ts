/**
 * `main.ts check config FILE…`: checks configs as `promtool check config`
 * does — exit 0 when every file is valid, 1 when one is not. A TypeScript
 * config is type-checked with `deno check` (errors as file:line:col; with the
 * deno.json of its config root, e.g. a config repository's) and then
 * loaded and validated as the agent would; a prometheus.yml is parsed and
 * validated (errors with line numbers). `--json` prints one object per file
 * for CI.
 *
 * @module
 */

import { extname, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, type ConfigIssue, formatIssue } from "../config/errors.ts";
import { configRoot, loadConfig } from "../config/load.ts";
import { type FlagSpec, parseCommand, print, printErr, usage } from "./flags.ts";

const FLAGS = {
  json: { help: "Print the result as JSON (one array entry per file).", default: false },
  typecheck: {
    help: "Type-check TypeScript configs with `deno check` (--no-typecheck skips it).",
    default: true,
  },
  help: { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const HELP = usage(
  "main.ts check config FILE… [--json]",
  `Checks each config file: a TypeScript module is type-checked with \`deno check\` and then
loaded and validated; a prometheus.yml is parsed and validated. Exits 0 when every file is
valid, 1 when one is not, 2 on a usage error.`,
  FLAGS,
);

/** One problem, located where possible. */
export interface CheckIssue {
  /** `typecheck` (deno check), `config` (loading or validation) or `warning`. */
  kind: "typecheck" | "config" | "warning";
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** Where in the config (`scrapeConfigs[0].jobName`). */
  path?: string;
}

/** The result for one file. */
export interface FileCheck {
  file: string;
  ok: boolean;
  /** "ts" or "yaml" when loaded. */
  format?: string;
  jobs?: number;
  endpoints?: number;
  errors: CheckIssue[];
  warnings: CheckIssue[];
}

const MODULE_EXTENSIONS = new Set([".ts", ".mts"]);

/** Checks one config file. */
export async function checkConfigFile(
  file: string,
  opts: { typecheck?: boolean } = {},
): Promise<FileCheck> {
  const out: FileCheck = { file, ok: true, errors: [], warnings: [] };
  if (opts.typecheck !== false && MODULE_EXTENSIONS.has(extname(file).toLowerCase())) {
    const tc = await typecheck(file);
    if (tc.skipped) {
      out.warnings.push({ kind: "warning", message: tc.skipped });
    }
    out.errors.push(...tc.errors);
  }
  try {
    const loaded = await loadConfig(file);
    out.format = loaded.kind;
    out.jobs = loaded.config.scrapeConfigs.length;
    out.endpoints = loaded.config.remoteWrite.length;
    for (const w of loaded.warnings) out.warnings.push(fromIssue(w, "warning"));
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const i of e.issues) out.errors.push(fromIssue(i, "config"));
    } else out.errors.push({ kind: "config", message: (e as Error).message ?? String(e) });
  }
  out.ok = out.errors.length === 0;
  return out;
}

function fromIssue(i: ConfigIssue, kind: CheckIssue["kind"]): CheckIssue {
  const o: CheckIssue = { kind, message: i.message };
  if (i.file !== undefined) o.file = i.file;
  if (i.line !== undefined) o.line = i.line;
  if (i.column !== undefined) o.column = i.column;
  if (i.path !== "") o.path = i.path;
  return o;
}

/**
 * Runs `deno check` on a config module with the running Deno binary, with the
 * `deno.json`/`deno.jsonc` of the module's config root when there is one (see
 * `configRoot()` in config/load.ts), so a config repository is type-checked
 * with its own import map ("ferry" → its copy of ferry) and compiler options.
 * Skipped (with a reason) when ferry may not run it.
 */
export async function typecheck(file: string): Promise<{ errors: CheckIssue[]; skipped?: string }> {
  const deno = Deno.execPath();
  let state: Deno.PermissionState = "denied";
  try {
    state = (await Deno.permissions.query({ name: "run", command: deno })).state;
  } catch {
    // Permission API unavailable.
  }
  if (state !== "granted") {
    return {
      errors: [],
      skipped: `type check skipped: ferry may not run ${deno} (grant --allow-run=${deno})`,
    };
  }
  const abs = resolvePath(file);
  // A config repository's own deno.json (its "ferry" mapping, compiler options); without one,
  // Deno finds a deno.json from the working directory as usual.
  const { marker } = configRoot(abs);
  const res = await new Deno.Command(deno, {
    args: ["check", "--quiet", ...(marker !== undefined ? ["--config", marker] : []), abs],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (res.success) return { errors: [] };
  const text = new TextDecoder().decode(res.stderr) + new TextDecoder().decode(res.stdout);
  const errors = parseDenoCheck(text);
  if (errors.length === 0) {
    errors.push({ kind: "typecheck", message: text.trim() || "deno check failed", file });
  }
  return { errors };
}

/** Parses `deno check` output: one issue per `TSnnnn [ERROR]: …` with its first `at file:line:col`. */
export function parseDenoCheck(text: string): CheckIssue[] {
  // deno-lint-ignore no-control-regex
  const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const out: CheckIssue[] = [];
  let cur: CheckIssue | null = null;
  for (const line of lines) {
    const head = /^(?:error: )?(TS\d+) \[ERROR\]: (.*)$/.exec(line);
    if (head) {
      cur = { kind: "typecheck", message: `${head[1]}: ${head[2]}` };
      out.push(cur);
      continue;
    }
    const at = /^ {4}at (.+):(\d+):(\d+)$/.exec(line);
    if (at && cur && cur.line === undefined) {
      cur.file = at[1].startsWith("file://") ? fileURLToPath(at[1]) : at[1];
      cur.line = Number(at[2]);
      cur.column = Number(at[3]);
    }
  }
  return out;
}

/** One issue as a line: `file:line:col: message` or `path: message`. */
export function formatCheckIssue(i: CheckIssue): string {
  return formatIssue({
    path: i.path ?? "",
    message: i.message,
    file: i.file,
    line: i.line,
    column: i.column,
  });
}

/** `check config`; returns the exit code. */
export async function checkConfigMain(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (typeof parsed === "number") return parsed;
  const { flags, rest } = parsed;
  if (rest.length === 0) {
    printErr(`error: give at least one config file\n\n${HELP}`);
    return 2;
  }
  const results: FileCheck[] = [];
  for (const file of rest) {
    results.push(await checkConfigFile(file, { typecheck: flags.typecheck }));
  }
  if (flags.json) {
    print(JSON.stringify(results, null, 2));
  } else {
    for (const r of results) {
      if (r.ok) {
        print(`${r.file}: SUCCESS: ${r.jobs} scrape jobs, ${r.endpoints} remote-write endpoints`);
      } else {
        printErr(`${r.file}: FAILED:`);
        for (const e of r.errors) printErr(`  ${formatCheckIssue(e)}`);
      }
      for (const w of r.warnings) printErr(`  warning: ${formatCheckIssue(w)}`);
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

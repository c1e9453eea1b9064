/**
 * `main.ts import prometheus.yml [-o agent.config.ts]`: writes a TypeScript
 * config equivalent to a prometheus.yml — the same model once resolved —
 * formatted with `deno fmt` and type-checked against ferry's types.
 *
 * @module
 */

import { dirname, relative, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config/errors.ts";
import { parsePrometheusYaml } from "../config/prometheus.ts";
import { resolveConfig } from "../config/resolve.ts";
import type { AgentConfig } from "../config/types.ts";
import { type FlagSpec, parseCommand, print, printErr, usage } from "./flags.ts";

const FLAGS = {
  output: {
    help: "Where to write the TypeScript config.",
    default: "agent.config.ts",
    placeholder: "FILE",
  },
  module: {
    help:
      "Specifier to import defineConfig from (default: ferry's mod.ts, relative to the output).",
    default: "",
    placeholder: "SPECIFIER",
  },
  force: { help: "Overwrite the output file if it exists.", default: false },
  help: { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const HELP = usage(
  "main.ts import PROMETHEUS_YML [--output agent.config.ts]",
  `Converts a prometheus.yml (the agent subset) into an equivalent TypeScript config: the same
model once resolved. The file is formatted with \`deno fmt\` when ferry may run Deno.
"$VAR" references in external_labels are kept as written.`,
  FLAGS,
);

const MOD_URL = new URL("../../mod.ts", import.meta.url);

/** Renders an author config as a TypeScript module. */
export function renderConfigModule(
  config: AgentConfig,
  opts: { module: string; source: string },
): string {
  return `// Imported from ${opts.source} by \`main.ts import\`.
import { defineConfig } from ${JSON.stringify(opts.module)};

export default defineConfig(${literal(config, "")});
`;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A TS literal of plain data (undefined fields dropped). */
function literal(v: unknown, indent: string): string {
  const inner = indent + "  ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => inner + literal(x, inner)).join(",\n")},\n${indent}]`;
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined).map((
      [k, x],
    ) =>
      // Prometheus reads relabel actions case-insensitively; the TS type wants lower case.
      [k, k === "action" && typeof x === "string" ? x.toLowerCase() : x] as const
    );
    if (entries.length === 0) return "{}";
    const body = entries.map(([k, x]) =>
      `${inner}${IDENT.test(k) ? k : JSON.stringify(k)}: ${literal(x, inner)}`
    );
    return `{\n${body.join(",\n")},\n${indent}}`;
  }
  return JSON.stringify(v);
}

/** `import`; returns the exit code. */
export async function importMain(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (typeof parsed === "number") return parsed;
  const { flags, rest } = parsed;
  if (rest.length !== 1) {
    printErr(`error: give exactly one prometheus.yml\n\n${HELP}`);
    return 2;
  }
  const src = rest[0];
  const out = resolvePath(flags.output);
  let config: AgentConfig;
  try {
    const text = await Deno.readTextFile(src);
    config = parsePrometheusYaml(text, { file: src, onWarning: () => {} });
    // Fail here, with YAML lines, rather than in the written file.
    resolveConfig(config, { source: src, baseDir: dirname(resolvePath(src)) });
  } catch (e) {
    printErr(`error: ${e instanceof ConfigError ? e.message : (e as Error).message}`);
    return 1;
  }
  if (dirname(resolvePath(src)) !== dirname(out)) {
    // Relative file paths (file_sd, password_file …) are relative to the config's directory.
    config = rebaseFiles(config, dirname(resolvePath(src)));
  }
  let module = flags.module;
  if (module === "") {
    module = relative(dirname(out), fileURLToPath(MOD_URL));
    if (!module.startsWith(".")) module = "./" + module;
  }
  try {
    await Deno.writeTextFile(out, renderConfigModule(config, { module, source: src }), {
      createNew: !flags.force,
    });
  } catch (e) {
    printErr(
      `error: cannot write ${out}: ${(e as Error).message}${
        e instanceof Deno.errors.AlreadyExists ? " (use --force to overwrite)" : ""
      }`,
    );
    return 1;
  }
  await denoFmt(out);
  print(`wrote ${out}`);
  return 0;
}

/** Makes relative file paths in the config absolute (the output lives elsewhere). */
function rebaseFiles(config: AgentConfig, base: string): AgentConfig {
  const FILE_KEYS = new Set([
    "files",
    "passwordFile",
    "credentialsFile",
    "clientSecretFile",
    "caFile",
    "certFile",
    "keyFile",
  ]);
  const walk = (v: unknown, key: string): unknown => {
    if (typeof v === "string" && FILE_KEYS.has(key)) return resolvePath(base, v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  return walk(config, "") as AgentConfig;
}

/** Formats a file with `deno fmt` when ferry may run Deno; quietly does nothing otherwise. */
async function denoFmt(file: string): Promise<void> {
  const deno = Deno.execPath();
  try {
    if ((await Deno.permissions.query({ name: "run", command: deno })).state !== "granted") return;
    await new Deno.Command(deno, {
      args: ["fmt", "--quiet", file],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // Formatting is cosmetic.
  }
}

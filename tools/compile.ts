/**
 * `deno task compile`: builds ferry binaries with `deno compile`, each with
 * the narrowest permissions that can be known when it is built.
 *
 * - Generic (`deno task compile`): `dist/ferry-<target>`. Reads a
 *   prometheus.yml or JSON config at run time; a TypeScript config only where
 *   `deno` is on PATH (a compiled binary cannot import modules from disk; see
 *   src/config/load_deno.ts). Permissions: net and read unrestricted (the
 *   targets, the config file, the files it names — file_sd, passwords, TLS —
 *   and a TS config's root are only known at run time), write only the
 *   storage directory (`--storage.agent.path`, also the binary's default),
 *   env only FERRY_SHARD_INDEX, FERRY_SHARD_TOTAL and FERRY_REPLICA, run only
 *   `deno` (for TS configs), never a prompt. `run` still checks at start what
 *   the config needs (src/cli/preflight.ts), so a storage path outside the
 *   grant fails at once, naming it.
 * - Site (`deno task compile --config sites/berlin.config.ts`):
 *   `dist/ferry-berlin-<target>`. The config (a TS module, or a prometheus.yml
 *   read now) is built into the binary, which runs it without arguments.
 *   Permissions: exactly what `main.ts permissions` derives for that config,
 *   the storage path and the listen address given here (relative paths stay
 *   relative: they are resolved where the binary runs), without the config
 *   file itself.
 *
 * Each binary's entry point is generated into
 * `<output>/.build/<site or generic>/entry.ts` (it records the git commit for
 * `version`) and kept there; it is compiled with `<output>/.build/deno.json`:
 * ferry's imports without the test-only npm packages (deno compile embeds
 * every npm package the config's imports name: 14 MB more otherwise) and a
 * copy of deno.lock. Nothing else needs embedding: the UI pages are
 * TypeScript modules (src/web/ui) in the module graph, and a compiled binary
 * never starts the config Worker (TS configs go through deno, above). `deno compile`
 * downloads the runtime (denort) from dl.deno.land; where that is unreachable,
 * set `DENORT_BIN` to a denort binary of the same Deno version and target.
 *
 * @module
 */

import { basename, dirname, extname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parsePrometheusYaml } from "../src/config/prometheus.ts";
import { resolveConfig } from "../src/config/resolve.ts";
import { type FlagSpec, parseFlags, print, printErr, usage, UsageError } from "../src/cli/flags.ts";
import { computePermissions, permissionFlags, type Permissions } from "../src/cli/permissions.ts";
import { V8_FLAGS_ARG } from "../src/cli/v8_flags.ts";

/** The targets `deno compile` supports, in `--target all` order. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** Environment variables a generic binary may read (the sharding and replica options). */
export const GENERIC_ENV: readonly string[] = [
  "FERRY_SHARD_INDEX",
  "FERRY_SHARD_TOTAL",
  "FERRY_REPLICA",
];

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Imports of ferry's deno.json only the tests use: left out of the binaries. */
const DEV_IMPORTS = new Set(["fast-check", "playwright-core"]);
const DEFAULT_STORAGE = "data-agent/";
const DEFAULT_LISTEN = "127.0.0.1:9095";

const FLAGS = {
  target: {
    help: `Target platform; repeat it, or give all (${TARGETS.join(", ")}).`,
    default: "",
    placeholder: "TARGET",
  },
  config: {
    help:
      "Build a site binary with this config built in (a .ts module, or a prometheus.yml read now).",
    default: "",
    placeholder: "FILE",
  },
  output: { help: "Directory the binaries are written to.", default: "dist/", placeholder: "DIR" },
  "storage.agent.path": {
    help: "The binary's default storage directory, its only write permission.",
    default: DEFAULT_STORAGE,
    placeholder: "DIR",
  },
  "web.listen-address": {
    help: "A site binary's default listen address, its net permission for the web server.",
    default: DEFAULT_LISTEN,
    placeholder: "HOST:PORT",
  },
  "dry-run": {
    help: "Print the deno compile command lines and the entry point; compile nothing.",
    default: false,
  },
  help: { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const HELP = usage(
  "deno task compile [--target TARGET]... [--config FILE] [flags]",
  `Builds ferry binaries with deno compile (default: for this machine, ${Deno.build.target}).
Generic: dist/ferry-<target>, for a prometheus.yml given at run time. Site (--config FILE):
dist/ferry-<site>-<target>, with the config built in and only the permissions it needs.
Honours DENORT_BIN (the denort runtime to use instead of downloading it).`,
  FLAGS,
);

/** What one build produces. */
export interface BuildPlan {
  /** `ferry` or `ferry-<site>`. */
  name: string;
  /** The generated entry point. */
  entryPath: string;
  entrySource: string;
  /**
   * The deno.json the binaries are built with: ferry's, without the imports
   * only tests use (deno compile embeds every npm package of the config's
   * imports), and with `"ferry"` pointing at this checkout.
   */
  configPath: string;
  configSource: string;
  /** The permission flags embedded into the binary (besides `--no-prompt`). */
  permissionFlags: string[];
  /** One `deno compile` argument list (without `deno`) per target. */
  commands: { target: string; output: string; args: string[] }[];
  /** Warnings about what the permissions cannot cover. */
  notes: string[];
}

/** Options of {@link planBuild}. */
export interface PlanOptions {
  targets: string[];
  /** A site config; generic binary without it. */
  config?: string;
  output: string;
  storagePath: string;
  listenAddress: string;
  /** Recorded in the binary for `version`. */
  commit: string;
}

/** Parses the targets (`all`, repeated, comma-separated); the host when none. */
export function parseTargets(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean)) {
    if (v === "all") out.push(...TARGETS);
    else if (TARGETS.includes(v)) out.push(v);
    else throw new UsageError(`unknown --target ${v} (want all or one of ${TARGETS.join(", ")})`);
  }
  return out.length > 0 ? [...new Set(out)] : [Deno.build.target];
}

/** The site name of a config file: `sites/berlin.config.ts` → `berlin`. */
export function siteName(config: string): string {
  const base = basename(config, extname(config)).replace(/\.config$/, "");
  const name = base.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
  return name === "" ? "site" : name;
}

/** Plans a build: the entry point, the permissions and the deno compile command lines. */
export async function planBuild(opts: PlanOptions): Promise<BuildPlan> {
  const output = resolve(opts.output);
  const site = opts.config === undefined ? undefined : siteName(opts.config);
  const name = site === undefined ? "ferry" : `ferry-${site}`;
  const entryPath = resolve(output, ".build", site ?? "generic", "entry.ts");
  const configPath = resolve(output, ".build", "deno.json");
  const configSource = await buildConfig();
  const defaults: Record<string, string> = {};
  if (opts.storagePath !== DEFAULT_STORAGE) defaults["storage.agent.path"] = opts.storagePath;
  if (opts.listenAddress !== DEFAULT_LISTEN) defaults["web.listen-address"] = opts.listenAddress;

  let entrySource: string, perms: string[];
  const notes: string[] = [];
  if (opts.config === undefined) {
    perms = [
      "--allow-net",
      "--allow-read",
      `--allow-write=${opts.storagePath}`,
      `--allow-env=${GENERIC_ENV.join(",")}`,
      "--allow-run=deno",
    ];
    entrySource = genericEntry(entryPath, opts.commit, defaults);
  } else {
    const { value, module } = await readSiteConfig(opts.config);
    const config = resolveConfig(value, { source: opts.config });
    // Relative paths stay relative in the binary (resolved where it runs), but the file_sd
    // files whose targets go into --allow-net are read where the config lies.
    const cwd = Deno.cwd();
    let p: Permissions;
    Deno.chdir(dirname(resolve(opts.config)));
    try {
      p = await computePermissions(config, {
        storagePath: opts.storagePath,
        listenAddress: opts.listenAddress,
        relative: true,
      });
    } finally {
      Deno.chdir(cwd);
    }
    if (p.read.some((r) => !isAbsolute(r))) {
      notes.push(
        "the config names relative paths; a site binary resolves them against the directory it " +
          "runs in (systemd: WorkingDirectory=), not the config's: prefer absolute paths",
      );
    }
    perms = permissionFlags(p);
    notes.push(...p.notes);
    if (config.scrapeConfigs.some((j) => j.fileSdConfigs.length > 0)) {
      notes.push(
        "file_sd targets are built into the net permission as they are now; rebuild when they change",
      );
    }
    entrySource = siteEntry(entryPath, {
      commit: opts.commit,
      name: opts.config,
      module,
      value: module === undefined ? value : undefined,
      defaults,
    });
  }
  const commands = opts.targets.map((target) => {
    const out = resolve(
      output,
      `${name}-${target}${target.includes("windows") ? ".exe" : ""}`,
    );
    return {
      target,
      output: out,
      args: [
        "compile",
        "--config",
        configPath,
        "--no-prompt",
        V8_FLAGS_ARG,
        ...perms,
        "--target",
        target,
        "--output",
        out,
        entryPath,
      ],
    };
  });
  return {
    name,
    entryPath,
    entrySource,
    configPath,
    configSource,
    permissionFlags: perms,
    commands,
    notes,
  };
}

/** The build's deno.json (see {@link BuildPlan.configPath}). */
async function buildConfig(): Promise<string> {
  const own = JSON.parse(await Deno.readTextFile(resolve(ROOT, "deno.json")));
  const imports: Record<string, string> = {};
  for (const [k, v] of Object.entries(own.imports as Record<string, string>)) {
    if (DEV_IMPORTS.has(k)) continue;
    imports[k] = v.startsWith("./") || v.startsWith("../")
      ? pathToFileURL(resolve(ROOT, v)).href
      : v;
  }
  const config = {
    imports,
    compilerOptions: own.compilerOptions,
    ...(own.unstable ? { unstable: own.unstable } : {}),
  };
  return JSON.stringify(config, null, 2) + "\n";
}

/** A site config's exported value, and the module to import when it is TypeScript. */
async function readSiteConfig(file: string): Promise<{ value: unknown; module?: string }> {
  const abs = resolve(file);
  const ext = extname(abs).toLowerCase();
  if ([".yml", ".yaml", ".json"].includes(ext)) {
    const text = await Deno.readTextFile(abs);
    const value = parsePrometheusYaml(text, {
      file,
      env: (v) => {
        throw new Error(
          `$${v}: a site binary's config is fixed when it is built, so $VARs are not expanded; ` +
            "write the value, or use a generic binary",
        );
      },
    });
    return { value };
  }
  if ([".ts", ".mts", ".js", ".mjs"].includes(ext)) {
    const mod = await import(pathToFileURL(abs).href);
    let value = mod.default ?? mod.config;
    if (value === undefined) throw new Error(`${file} has no default export and no "config"`);
    value = await value;
    return { value, module: abs };
  }
  throw new Error(`${file}: want a .ts, .mts, .js, .mjs, .yml, .yaml or .json config`);
}

function importPath(from: string, to: string): string {
  const rel = relative(dirname(from), to).replaceAll("\\", "/");
  if (isAbsolute(rel)) return pathToFileURL(to).href;
  return rel.startsWith(".") ? rel : `./${rel}`;
}

const HEADER = "// Generated by tools/compile.ts (deno task compile); do not edit.\n";

/** `{ key: source, … }` as TypeScript source, one field a line; undefined fields left out. */
function objectSource(fields: Record<string, string | undefined>, indent = ""): string {
  const lines = Object.entries(fields).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${indent}  ${k}: ${v},`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

function defaultsSource(defaults: Record<string, string>): string | undefined {
  if (Object.keys(defaults).length === 0) return undefined;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(defaults)) fields[JSON.stringify(k)] = JSON.stringify(v);
  return objectSource(fields, "  ");
}

function genericEntry(entryPath: string, commit: string, defaults: Record<string, string>): string {
  const main = importPath(entryPath, resolve(ROOT, "main.ts"));
  const options = objectSource({
    build: `{ commit: ${JSON.stringify(commit)} }`,
    defaults: defaultsSource(defaults),
  });
  return HEADER +
    "// A generic ferry binary: the config is given at run time.\n" +
    `import { main } from ${JSON.stringify(main)};\n\n` +
    `Deno.exit(await main(Deno.args, ${options}));\n`;
}

function siteEntry(
  entryPath: string,
  o: {
    commit: string;
    name: string;
    module?: string;
    value?: unknown;
    defaults: Record<string, string>;
  },
): string {
  const main = importPath(entryPath, resolve(ROOT, "main.ts"));
  const imports = [`import { main } from ${JSON.stringify(main)};`];
  let value: string;
  if (o.module !== undefined) {
    imports.unshift(`import * as site from ${JSON.stringify(importPath(entryPath, o.module))};`);
    value = "(site as { default?: unknown; config?: unknown }).default ??\n" +
      "      (site as { config?: unknown }).config";
  } else {
    value = JSON.stringify(o.value);
  }
  const options = objectSource({
    build: `{ commit: ${JSON.stringify(o.commit)}, config: ${JSON.stringify(o.name)} }`,
    baked: objectSource({ name: JSON.stringify(o.name), value }, "  "),
    defaults: defaultsSource(o.defaults),
  });
  return HEADER +
    `// A ferry site binary: the config ${o.name} is built in.\n` +
    imports.join("\n") + "\n\n" +
    `Deno.exit(await main(Deno.args, ${options}));\n`;
}

/** The git commit of ferry's checkout (`-dirty` when it has changes), or "unknown". */
export async function gitCommit(root = ROOT): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" })
      .output();
    if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  try {
    const sha = await git("rev-parse", "HEAD");
    const dirty = await git("status", "--porcelain", "--untracked-files=no").catch(() => "");
    return dirty === "" ? sha : `${sha}-dirty`;
  } catch {
    return "unknown";
  }
}

/** Quotes an argument for a POSIX shell when needed. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** `deno task compile`; returns the exit code. */
export async function compileMain(args: string[]): Promise<number> {
  const targets: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--target" && i + 1 < args.length) targets.push(args[++i]);
    else if (a.startsWith("--target=")) targets.push(a.slice("--target=".length));
    else rest.push(a);
  }
  let flags, positional, targetList: string[];
  try {
    ({ flags, rest: positional } = parseFlags(rest, FLAGS));
    targetList = parseTargets(targets);
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    printErr(`error: ${e.message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    print(HELP);
    return 0;
  }
  let plan: BuildPlan;
  try {
    plan = await planBuild({
      targets: targetList,
      config: flags.config === "" ? undefined : flags.config,
      output: flags.output,
      storagePath: flags["storage.agent.path"],
      listenAddress: flags["web.listen-address"],
      commit: await gitCommit(),
    });
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 1;
  }
  for (const n of plan.notes) printErr(`note: ${n}`);
  const deno = Deno.execPath();
  if (flags["dry-run"]) {
    for (const c of plan.commands) print([deno, ...c.args].map(shellQuote).join(" "));
    print(`\n// ${plan.entryPath}\n${plan.entrySource}`);
    print(`// ${plan.configPath}\n${plan.configSource}`);
    return 0;
  }
  await Deno.mkdir(dirname(plan.entryPath), { recursive: true });
  await Deno.writeTextFile(plan.entryPath, plan.entrySource);
  await Deno.writeTextFile(plan.configPath, plan.configSource);
  // Formatted as the repository's files are, in case dist/ is inside it.
  await new Deno.Command(deno, {
    args: ["fmt", "--quiet", "--no-config", "--line-width=100", plan.entryPath, plan.configPath],
    stdout: "null",
    stderr: "null",
  }).output();
  // The same locked versions (and integrity hashes) as ferry's own deno.lock.
  await Deno.copyFile(resolve(ROOT, "deno.lock"), resolve(dirname(plan.configPath), "deno.lock"))
    .catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  for (const c of plan.commands) {
    print(`$ ${[deno, ...c.args].map(shellQuote).join(" ")}`);
    const out = await new Deno.Command(deno, { args: c.args, stdout: "inherit", stderr: "piped" })
      .output();
    const stderr = new TextDecoder().decode(out.stderr);
    printErr(stderr);
    if (!out.success) {
      if (Deno.env.get("DENORT_BIN") === undefined && /dl\.deno\.land|denort/.test(stderr)) {
        printErr(
          `hint: deno compile downloads its runtime (denort) from dl.deno.land. Without network ` +
            `access, download denort-${c.target}.zip for Deno ${Deno.version.deno} elsewhere ` +
            `(https://dl.deno.land/release/v${Deno.version.deno}/denort-${c.target}.zip), unzip ` +
            "it and set DENORT_BIN to the denort binary.",
        );
      }
      printErr(`error: deno compile failed for ${c.target} (exit code ${out.code})`);
      return 1;
    }
    print(`built ${relative(Deno.cwd(), c.output) || c.output}`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await compileMain(Deno.args));
}

/**
 * The least-privilege preflight of `run`: once the config is loaded, the
 * permissions it needs ({@link computePermissions}) are checked with
 * `Deno.permissions.querySync` — which never prompts — and when one is
 * missing the agent does not start: the message names each missing
 * permission, why it is needed and the flag that grants it.
 *
 * Targets of http_sd and dns_sd are not known in advance and cannot be
 * checked here; they come back as notes.
 *
 * @module
 */

import { dirname, resolve as resolvePath } from "node:path";
import type { ResolvedConfig } from "../config/types.ts";
import { log } from "../util/log.ts";
import { printErr } from "./flags.ts";
import { SHARD_ENV_VARS } from "./shard.ts";
import { computePermissions, permissionFlags, type Permissions } from "./permissions.ts";

/** One permission the process lacks. */
export interface MissingPermission {
  kind: "net" | "read" | "write" | "env";
  /** Host:port, path or variable name. */
  value: string;
  /** Why the agent needs it, e.g. "target of job node". */
  why: string;
  /** The `deno run` flag that grants it, e.g. `--allow-net=127.0.0.1:9100`. */
  flag: string;
}

/** What {@link preflight} found. */
export interface PreflightResult {
  /** Permissions the process lacks, in the order net, read, write, env. */
  missing: MissingPermission[];
  /** What could not be checked (dynamic targets) or computed. */
  notes: string[];
  /** Everything the config needs (as `main.ts permissions` prints it). */
  needed: Permissions;
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** The config file; omitted for a config baked into a binary. */
  configFile?: string;
  storagePath: string;
  /** `--web.config.file`, when given. */
  webConfigFile?: string;
  listenAddress: string;
  /** Permission lookup. @default Deno.permissions.querySync (never prompts) */
  query?: (desc: Deno.PermissionDescriptor) => Deno.PermissionState;
}

const KINDS = ["net", "read", "write", "env"] as const;
/** The notes of computePermissions about http_sd/dns_sd targets. */
const DYNAMIC_NOTE = /not known in advance/;

/**
 * Checks that the process holds every permission `config` needs, without
 * prompting and without reading anything it may not read.
 */
export async function preflight(
  config: ResolvedConfig,
  opts: PreflightOptions,
): Promise<PreflightResult> {
  const query = opts.query ?? ((d) => Deno.permissions.querySync(d).state);
  const granted = (desc: Deno.PermissionDescriptor): boolean | undefined => {
    try {
      return query(desc) === "granted";
    } catch {
      return undefined; // not a checkable value (e.g. a malformed host)
    }
  };
  const missing: MissingPermission[] = [];
  // computePermissions reads file_sd files (to list their targets): only
  // those the process may read, so that nothing ever prompts.
  const scrapeConfigs = config.scrapeConfigs.map((job) => {
    const fileSdConfigs = job.fileSdConfigs.filter((sd) => {
      const dirs = [...new Set(sd.files.map((f) => dirname(resolvePath(f))))];
      const denied = dirs.filter((d) => granted({ name: "read", path: d }) === false);
      for (const d of denied) {
        missing.push({
          kind: "read",
          value: d,
          why: `file_sd files of job ${job.jobName}`,
          flag: `--allow-read=${d}`,
        });
      }
      return denied.length === 0;
    });
    return { ...job, fileSdConfigs };
  });
  const needed = await computePermissions({ ...config, scrapeConfigs }, {
    configFile: opts.configFile,
    storagePath: opts.storagePath,
    listenAddress: opts.listenAddress,
    webConfigFile: opts.webConfigFile,
  });
  for (const m of missing) {
    needed.read = [...new Set([...needed.read, m.value])].sort();
    (needed.reasons ??= {})[`read:${m.value}`] = m.why;
  }
  // With unrestricted net access, targets found at run time need nothing more.
  const netAll = granted({ name: "net" }) === true;
  const notes = needed.notes.filter((n) => !(netAll && DYNAMIC_NOTE.test(n)));
  for (const kind of KINDS) {
    for (const value of needed[kind]) {
      if (kind === "env" && (SHARD_ENV_VARS as readonly string[]).includes(value)) continue;
      if (missing.some((m) => m.kind === kind && m.value === value)) continue;
      const desc: Deno.PermissionDescriptor = kind === "net"
        ? { name: "net", host: value }
        : kind === "env"
        ? { name: "env", variable: value }
        : { name: kind, path: value };
      const ok = granted(desc);
      if (ok === undefined) {
        notes.push(`cannot check ${kind} access to ${value}`);
        continue;
      }
      if (ok) continue;
      missing.push({
        kind,
        value,
        why: needed.reasons?.[`${kind}:${value}`] ?? "needed by the config",
        flag: `--allow-${kind}=${value}`,
      });
    }
  }
  missing.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
  return { missing, notes, needed };
}

/**
 * The error message for missing permissions: one line per permission with
 * the reason and the flag, then all the flags the config needs together.
 *
 * @param standalone In a compiled binary the permissions are fixed at build time.
 */
export function formatPreflight(
  result: PreflightResult,
  standalone: boolean = Deno.build.standalone ?? false,
): string {
  const lines = [
    "error: ferry lacks permissions this config needs; nothing was started:",
    ...result.missing.map((m) => `  - ${m.kind} access to ${m.value} (${m.why}): ${m.flag}`),
  ];
  if (standalone) {
    lines.push(
      "This binary's permissions were fixed when it was built. Build it again for this config,",
      "storage path and listen address (deno task compile --config FILE --storage.agent.path DIR",
      "--web.listen-address HOST:PORT), or run ferry's main.ts with deno run and the flags below.",
    );
  }
  lines.push(
    "Everything this config needs (as `main.ts permissions` prints it):",
    `  deno run --no-prompt ${permissionFlags(result.needed).join(" ")} main.ts …`,
  );
  return lines.join("\n");
}

/**
 * Runs {@link preflight} for `run`: logs the notes, prints the error and
 * returns false when a permission is missing. A failure to compute the
 * permissions is logged and does not stop the agent.
 */
export async function preflightOk(
  config: ResolvedConfig,
  opts: PreflightOptions,
): Promise<boolean> {
  const logger = log("main");
  let result: PreflightResult;
  try {
    result = await preflight(config, opts);
  } catch (e) {
    logger.warn("cannot check permissions before starting: {err}", { err: (e as Error).message });
    return true;
  }
  for (const note of result.notes) logger.warn("permissions: {note}", { note });
  if (result.missing.length === 0) return true;
  logger.error("not starting: missing permissions {missing}", {
    missing: result.missing.map((m) => m.flag).join(" "),
  });
  printErr(formatPreflight(result));
  return false;
}

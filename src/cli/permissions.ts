/**
 * `main.ts permissions CONFIG`: the narrowest Deno permissions the agent
 * needs for a config — `--allow-net` for the targets, SD and remote-write
 * hosts and the listen address, `--allow-read` for the config, the files it
 * names and the storage directory, `--allow-write` for the storage directory —
 * as flags and as a deno.json permission set.
 *
 * @module
 */

import { dirname, resolve as resolvePath } from "node:path";
import { loadConfig, sandboxReadPaths } from "../config/load.ts";
import type { ResolvedConfig, ResolvedHttpClient, ResolvedScrapeConfig } from "../config/types.ts";
import { checkTargets } from "./check_targets.ts";
import { type FlagSpec, parseCommand, print, printErr, usage } from "./flags.ts";

const FLAGS = {
  "storage.agent.path": {
    help: "The storage directory the agent will use (as for run).",
    default: "data-agent/",
    placeholder: "DIR",
  },
  "web.listen-address": {
    help: "The listen address the agent will use (as for run); empty: none.",
    default: "127.0.0.1:9095",
    placeholder: "HOST:PORT",
  },
  json: { help: "Print the permissions as JSON.", default: false },
  help: { help: "Show this help.", default: false },
} satisfies Record<string, FlagSpec>;

const HELP = usage(
  "main.ts permissions CONFIG [flags]",
  `Prints the narrowest --allow-net, --allow-read and --allow-write flags the agent needs to run
CONFIG (and the same as a deno.json permission set for \`deno run -P=ferry\`). Targets from
static_configs and file_sd_configs are listed as they are now: re-run it when they change.
Targets from http_sd and dns_sd are not known in advance and are reported as notes.`,
  FLAGS,
);

/** What the agent needs. */
export interface Permissions {
  net: string[];
  read: string[];
  write: string[];
  /** Environment variables read (sigv4 credentials and region not given in the config). */
  env: string[];
  /** What could not be narrowed (dynamic targets). */
  notes: string[];
}

/** Computes the permissions for a loaded config. */
export async function computePermissions(
  config: ResolvedConfig,
  opts: { configFile: string; storagePath: string; listenAddress: string },
): Promise<Permissions> {
  const net = new Set<string>(), read = new Set<string>(), write = new Set<string>();
  const env = new Set<string>();
  const notes: string[] = [];
  const configFile = resolvePath(opts.configFile);
  read.add(configFile);
  for (const p of sandboxReadPaths(configFile)) read.add(p);
  const storage = resolvePath(opts.storagePath);
  read.add(storage);
  write.add(storage);
  if (opts.listenAddress !== "") net.add(opts.listenAddress);

  const clientFiles = (c: ResolvedHttpClient & { tlsConfig?: object }) => {
    if (c.basicAuth?.passwordFile) read.add(resolvePath(c.basicAuth.passwordFile));
    if (c.authorization?.credentialsFile) read.add(resolvePath(c.authorization.credentialsFile));
    const tls = (c.tlsConfig ?? {}) as Record<string, unknown>;
    for (const k of ["caFile", "certFile", "keyFile"]) {
      const f = tls[k];
      if (typeof f === "string" && f !== "") read.add(resolvePath(f));
    }
    const proxy = (c as { proxyUrl?: string }).proxyUrl;
    if (proxy) net.add(urlHost(proxy));
  };

  const offline: ResolvedScrapeConfig[] = [];
  for (const job of config.scrapeConfigs) {
    clientFiles(job);
    for (const sd of job.fileSdConfigs) {
      // The files may be globs and are watched: their directories.
      for (const f of sd.files) read.add(dirname(resolvePath(f)));
    }
    for (const sd of job.httpSdConfigs) {
      net.add(urlHost(sd.url));
      clientFiles(sd);
      for (const h of Object.values(sd.httpHeaders)) {
        for (const f of h.files) read.add(resolvePath(f));
      }
      notes.push(
        `job ${job.jobName}: targets from http_sd ${sd.url} are not known in advance; add them to --allow-net`,
      );
    }
    if (job.dnsSdConfigs.length > 0) {
      notes.push(
        `job ${job.jobName}: dns_sd needs name resolution and its resolved targets are not known in advance; add them to --allow-net`,
      );
    }
    offline.push({ ...job, httpSdConfigs: [], dnsSdConfigs: [] });
  }
  const checked = await checkTargets(offline);
  for (const job of checked) {
    for (const t of job.active) net.add(urlHost(t.scrapeUrl));
    for (const e of job.errors) notes.push(`job ${job.config.jobName}: ${e}`);
  }
  for (const rw of config.remoteWrite) {
    net.add(urlHost(rw.url));
    clientFiles(rw);
    if (rw.oauth2) {
      net.add(urlHost(rw.oauth2.tokenUrl));
      if (rw.oauth2.clientSecretFile) read.add(resolvePath(rw.oauth2.clientSecretFile));
      clientFiles({ followRedirects: true, ...rw.oauth2 });
    }
    if (rw.sigv4) {
      if (rw.sigv4.accessKey === "") {
        for (const v of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
          env.add(v);
        }
      }
      if (rw.sigv4.region === "") {
        env.add("AWS_REGION");
        env.add("AWS_DEFAULT_REGION");
      }
    }
  }
  return {
    net: [...net].sort(),
    read: minimise([...read]),
    write: minimise([...write]),
    env: [...env].sort(),
    notes,
  };
}

/** `host:port` of a URL, with the scheme's default port. */
export function urlHost(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  return `${u.hostname}:${port}`;
}

/** Drops paths inside another listed path. */
function minimise(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter((p) =>
    !sorted.some((q) => q !== p && p.startsWith(q.endsWith("/") ? q : q + "/"))
  );
}

/** The `deno run` flags. */
export function permissionFlags(p: Permissions): string[] {
  const out: string[] = [];
  if (p.net.length > 0) out.push(`--allow-net=${p.net.join(",")}`);
  if (p.read.length > 0) out.push(`--allow-read=${p.read.join(",")}`);
  if (p.write.length > 0) out.push(`--allow-write=${p.write.join(",")}`);
  if (p.env.length > 0) out.push(`--allow-env=${p.env.join(",")}`);
  return out;
}

/** `permissions`; returns the exit code. */
export async function permissionsMain(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (typeof parsed === "number") return parsed;
  const { flags, rest } = parsed;
  if (rest.length !== 1) {
    printErr(`error: give exactly one config file\n\n${HELP}`);
    return 2;
  }
  let perms: Permissions;
  try {
    const loaded = await loadConfig(rest[0]);
    perms = await computePermissions(loaded.config, {
      configFile: rest[0],
      storagePath: flags["storage.agent.path"],
      listenAddress: flags["web.listen-address"],
    });
  } catch (e) {
    printErr(`error: ${(e as Error).message}`);
    return 1;
  }
  if (flags.json) {
    print(JSON.stringify(perms, null, 2));
    return 0;
  }
  print(permissionFlags(perms).join(" "));
  print("");
  print("# deno.json (run with `deno run -P=ferry main.ts …`):");
  print(JSON.stringify(
    {
      permissions: {
        ferry: {
          net: perms.net,
          read: perms.read,
          write: perms.write,
          ...(perms.env.length > 0 ? { env: perms.env } : {}),
        },
      },
    },
    null,
    2,
  ));
  for (const n of perms.notes) printErr(`note: ${n}`);
  return 0;
}

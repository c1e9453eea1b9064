/**
 * `main.ts permissions CONFIG`: the narrowest Deno permissions the agent
 * needs for a config — `--allow-net` for the targets, SD and remote-write
 * hosts and the listen address, `--allow-read` for the config, its config
 * root (what a TS config may import: see `configRoot()` in config/load.ts),
 * the files it names and the storage directory, `--allow-write` for the
 * storage directory —
 * as flags and as a deno.json permission set.
 *
 * @module
 */

import { dirname, resolve as resolvePath } from "node:path";
import { loadConfig, sandboxReadPaths } from "../config/load.ts";
import type { ResolvedConfig, ResolvedHttpClient, ResolvedScrapeConfig } from "../config/types.ts";
import { urlHost } from "../util/url.ts";
import { webConfigFiles } from "../web/webconfig.ts";
import { checkTargets } from "./check_targets.ts";
import { SHARD_ENV_VARS } from "./shard.ts";
import {
  IN_CLUSTER_ENV,
  kubeconfigConnection,
  SERVICE_ACCOUNT_DIR,
} from "../discovery/kubernetes/connection.ts";
import { parseListenAddress } from "../web/server.ts";
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
  "web.config.file": {
    help: "The web config file the agent will use (as for run); empty: none.",
    default: "",
    placeholder: "FILE",
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
  /**
   * Environment variables read: always the sharding ones (`FERRY_SHARD_INDEX`,
   * `FERRY_SHARD_TOTAL`, `FERRY_REPLICA`), and sigv4 credentials and region
   * not given in the config.
   */
  env: string[];
  /** What could not be narrowed (dynamic targets). */
  notes: string[];
  /**
   * Why each grant is needed, keyed `net:HOST:PORT`, `read:PATH`, `write:PATH`
   * or `env:NAME` (every reason found, joined by "; "), e.g. "target of job node".
   */
  reasons?: Record<string, string>;
}

/** Options of {@link computePermissions}. */
export interface PermissionOptions {
  /**
   * The config file (read, with what its sandbox may read). Omitted for a
   * config baked into a binary, which reads no config file.
   */
  configFile?: string;
  storagePath: string;
  listenAddress: string;
  /**
   * Keep relative paths (storage path, files the config names) as given
   * instead of resolving them against the working directory: for
   * permissions embedded into a binary, resolved where it runs.
   */
  relative?: boolean;
  /** `--web.config.file`: read, with the TLS files it names. */
  webConfigFile?: string;
}

/** Computes the permissions for a loaded config. */
export async function computePermissions(
  config: ResolvedConfig,
  opts: PermissionOptions,
): Promise<Permissions> {
  const net = new Set<string>(), read = new Set<string>(), write = new Set<string>();
  const env = new Set<string>();
  const notes: string[] = [];
  const reasons: Record<string, string> = {};
  const grant = (kind: "net" | "read" | "write" | "env", value: string, why: string) => {
    ({ net, read, write, env })[kind].add(value);
    const key = `${kind}:${value}`, had = reasons[key];
    if (had === undefined) reasons[key] = why;
    else if (!had.split("; ").includes(why)) reasons[key] = `${had}; ${why}`;
  };
  const path = (p: string) => opts.relative ? p : resolvePath(p);
  // Read only where granted (never prompting); without the permission they count as unset.
  for (const v of SHARD_ENV_VARS) grant("env", v, "sharding and HA replica options");
  if (opts.configFile !== undefined) {
    const configFile = resolvePath(opts.configFile);
    grant("read", configFile, "the config file");
    for (const p of sandboxReadPaths(configFile)) {
      grant("read", p, "what the config module may import");
    }
  }
  if (opts.webConfigFile) {
    const [self, ...tls] = await webConfigFiles(opts.webConfigFile);
    grant("read", self, "the web config file, --web.config.file");
    for (const f of tls) grant("read", f, "TLS file of --web.config.file");
  }
  const storage = path(opts.storagePath);
  grant("read", storage, "the storage directory, --storage.agent.path");
  grant("write", storage, "the storage directory, --storage.agent.path");
  if (opts.listenAddress !== "") {
    grant("net", listenHost(opts.listenAddress), "the web listen address, --web.listen-address");
  }

  const clientFiles = (c: ResolvedHttpClient & { tlsConfig?: object }, of: string) => {
    if (c.basicAuth?.passwordFile) {
      grant("read", path(c.basicAuth.passwordFile), `password file of ${of}`);
    }
    if (c.authorization?.credentialsFile) {
      grant("read", path(c.authorization.credentialsFile), `credentials file of ${of}`);
    }
    const tls = (c.tlsConfig ?? {}) as Record<string, unknown>;
    for (const k of ["caFile", "certFile", "keyFile"]) {
      const f = tls[k];
      if (typeof f === "string" && f !== "") grant("read", path(f), `TLS ${k} of ${of}`);
    }
    const proxy = (c as { proxyUrl?: string }).proxyUrl;
    if (proxy) grant("net", urlHost(proxy), `proxy of ${of}`);
  };

  const offline: ResolvedScrapeConfig[] = [];
  for (const job of config.scrapeConfigs) {
    const of = `job ${job.jobName}`;
    clientFiles(job, of);
    for (const sd of job.fileSdConfigs) {
      // The files may be globs and are watched: their directories.
      for (const f of sd.files) grant("read", dirname(path(f)), `file_sd files of ${of}`);
    }
    for (const sd of job.httpSdConfigs) {
      grant("net", urlHost(sd.url), `http_sd of ${of}`);
      clientFiles(sd, `the http_sd of ${of}`);
      for (const h of Object.values(sd.httpHeaders)) {
        for (const f of h.files) grant("read", path(f), `http_sd header file of ${of}`);
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
    for (const sd of job.kubernetesSdConfigs ?? []) {
      const kof = `the kubernetes_sd of ${of}`;
      if (sd.apiServer !== "") {
        grant("net", urlHost(sd.apiServer), `Kubernetes API server of ${of}`);
        clientFiles(sd, kof);
      } else if (sd.kubeconfigFile !== "") {
        const file = path(sd.kubeconfigFile);
        grant("read", file, `kubeconfig_file of ${of}`);
        try {
          const conn = await kubeconfigConnection(file);
          grant("net", urlHost(conn.server), `Kubernetes API server (kubeconfig) of ${of}`);
        } catch (e) {
          notes.push(
            `${of}: could not read kubeconfig_file ${file} (${
              (e as Error).message
            }); add its server to --allow-net`,
          );
        }
        notes.push(
          `${of}: files the kubeconfig names (certificate-authority, client-certificate, client-key, tokenFile) must be added to --allow-read`,
        );
      } else {
        for (const v of IN_CLUSTER_ENV) grant("env", v, `in-cluster config of ${kof}`);
        grant("read", SERVICE_ACCOUNT_DIR, `service account token, CA and namespace of ${of}`);
        notes.push(
          `${of}: in-cluster kubernetes_sd connects to https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, known only inside the pod; add it to --allow-net`,
        );
      }
      notes.push(
        `${of}: targets from kubernetes_sd (role ${sd.role}) are not known in advance (pod and service addresses change); add them to --allow-net or allow all net`,
      );
    }
    // Every shard's targets: --shard.* and FERRY_SHARD_* may pick another shard at run time.
    const { shard: _shard, ...unsharded } = job;
    offline.push({ ...unsharded, httpSdConfigs: [], dnsSdConfigs: [], kubernetesSdConfigs: [] });
  }
  const checked = await checkTargets(offline);
  for (const job of checked) {
    for (const t of job.active) {
      grant("net", urlHost(t.scrapeUrl), `target of job ${job.config.jobName}`);
    }
    for (const e of job.errors) notes.push(`job ${job.config.jobName}: ${e}`);
  }
  for (const rw of config.remoteWrite) {
    const of = `remote write ${rw.name || rw.url}`;
    grant("net", urlHost(rw.url), of);
    clientFiles(rw, of);
    if (rw.oauth2) {
      grant("net", urlHost(rw.oauth2.tokenUrl), `oauth2 token endpoint of ${of}`);
      if (rw.oauth2.clientSecretFile) {
        grant("read", path(rw.oauth2.clientSecretFile), `oauth2 client secret of ${of}`);
      }
      clientFiles({ followRedirects: true, ...rw.oauth2 }, `the oauth2 token endpoint of ${of}`);
    }
    if (rw.sigv4) {
      if (rw.sigv4.accessKey === "") {
        for (const v of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
          grant("env", v, `sigv4 credentials of ${of}`);
        }
      }
      if (rw.sigv4.region === "") {
        grant("env", "AWS_REGION", `sigv4 region of ${of}`);
        grant("env", "AWS_DEFAULT_REGION", `sigv4 region of ${of}`);
      }
    }
  }
  return {
    net: [...net].sort(),
    read: minimise([...read]),
    write: minimise([...write]),
    env: [...env].sort(),
    notes,
    reasons,
  };
}

/** The net permission of a listen address: `:9095` listens on 0.0.0.0:9095. */
function listenHost(addr: string): string {
  try {
    const { hostname, port } = parseListenAddress(addr);
    return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  } catch {
    return addr;
  }
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
      webConfigFile: flags["web.config.file"] || undefined,
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

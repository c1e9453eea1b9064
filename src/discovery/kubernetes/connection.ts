/**
 * Where kubernetes_sd connects, and how it authenticates, as Prometheus:
 *
 * - `kubeconfig_file`: the file's current context — cluster `server`,
 *   `certificate-authority(-data)`, user `token`/`tokenFile`,
 *   `client-certificate(-data)` + `client-key(-data)`, `username`/`password`;
 *   relative paths are relative to the file. `exec` and `auth-provider`
 *   plugins and `insecure-skip-tls-verify` are rejected (Deno cannot skip
 *   verification per client).
 * - `api_server`: that URL with the job's HTTP client settings
 *   (basic_auth, authorization, tls_config, proxy_url, follow_redirects).
 * - neither: in-cluster — `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
 *   the service account's token (re-read at each request: projected tokens
 *   rotate), `ca.crt` and, for `namespaces.own_namespace`, `namespace`.
 *
 * @module
 */

import { dirname, isAbsolute, resolve as resolvePath } from "node:path";
import { parse as parseYaml } from "yaml";
import type { ResolvedKubernetesSdConfig } from "../../config/types.ts";
import { authorizationHeader, basicAuthHeader } from "../../util/httpauth.ts";
import type { KubeConnection } from "./client.ts";

/** The service account directory mounted into pods. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The environment variables in-cluster config reads. */
export const IN_CLUSTER_ENV = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"] as const;

/** Where in-cluster settings come from (injected in tests). */
export interface InClusterSource {
  /** @default Deno.env.get (unset without permission) */
  env?: (name: string) => string | undefined;
  /** @default SERVICE_ACCOUNT_DIR */
  dir?: string;
}

/** Reads a file as text (injected in tests). */
export type ReadText = (path: string) => Promise<string>;

const defaultRead: ReadText = (p) => Deno.readTextFile(p);

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

async function readFile(read: ReadText, path: string, what: string): Promise<string> {
  try {
    return await read(path);
  } catch (e) {
    throw new Error(`reading ${what} ${path}: ${(e as Error).message}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

/**
 * Checks PEM contents and that a client certificate comes with its key, so a
 * wrong file is named (Deno.createHttpClient's own errors name none).
 */
function checkTls(t: {
  ca?: string;
  cert?: string;
  key?: string;
  caName: string;
  certName: string;
  keyName: string;
  /** The settings' names of a client certificate and key, for "given without". */
  pair: [cert: string, key: string];
}): void {
  if (t.ca !== undefined && !PEM_CERT.test(t.ca)) {
    throw new Error(`${t.caName} holds no PEM certificate`);
  }
  if (t.cert !== undefined && !PEM_CERT.test(t.cert)) {
    throw new Error(`${t.certName} holds no PEM certificate`);
  }
  if (t.key !== undefined && !PEM_KEY.test(t.key)) {
    throw new Error(`${t.keyName} holds no PEM private key`);
  }
  if (t.cert !== undefined && t.key === undefined) {
    throw new Error(`${t.certName} is given without ${t.pair[1]}`);
  }
  if (t.key !== undefined && t.cert === undefined) {
    throw new Error(`${t.keyName} is given without ${t.pair[0]}`);
  }
}

/** The connection for a kubernetes_sd config. */
export async function resolveConnection(
  cfg: ResolvedKubernetesSdConfig,
  opts: { inCluster?: InClusterSource; readTextFile?: ReadText } = {},
): Promise<KubeConnection> {
  const read = opts.readTextFile ?? defaultRead;
  if (cfg.kubeconfigFile !== "") return await kubeconfigConnection(cfg.kubeconfigFile, read);
  if (cfg.apiServer !== "") return await apiServerConnection(cfg, read);
  return await inClusterConnection(cfg, opts.inCluster ?? {}, read);
}

async function apiServerConnection(
  cfg: ResolvedKubernetesSdConfig,
  read: ReadText,
): Promise<KubeConnection> {
  const t = cfg.tlsConfig;
  const pem = async (inline: string, file: string, what: string) =>
    inline !== "" ? inline : file !== "" ? await readFile(read, file, what) : undefined;
  const [ca, cert, key] = await Promise.all([
    pem(t.ca, t.caFile, "tls_config CA file"),
    pem(t.cert, t.certFile, "tls_config certificate file"),
    pem(t.key, t.keyFile, "tls_config key file"),
  ]);
  const tlsName = (inline: string, file: string, field: string) =>
    `api_server ${cfg.apiServer}: tls_config ${inline !== "" ? field : `${field}_file ${file}`}`;
  checkTls({
    ca,
    cert,
    key,
    caName: tlsName(t.ca, t.caFile, "ca"),
    certName: tlsName(t.cert, t.certFile, "cert"),
    keyName: tlsName(t.key, t.keyFile, "key"),
    pair: ["cert_file", "key_file"],
  });
  return {
    server: cfg.apiServer,
    authorization: () => authorizationHeader(cfg),
    tls: { ca, cert, key },
    proxyUrl: cfg.proxyUrl || undefined,
    followRedirects: cfg.followRedirects,
    origin: `api_server ${cfg.apiServer}`,
  };
}

async function inClusterConnection(
  cfg: ResolvedKubernetesSdConfig,
  src: InClusterSource,
  read: ReadText,
): Promise<KubeConnection> {
  const env = src.env ?? envGet;
  const host = env("KUBERNETES_SERVICE_HOST") ?? "";
  const port = env("KUBERNETES_SERVICE_PORT") ?? "";
  if (host === "" || port === "") {
    throw new Error(
      "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined " +
        "(give api_server or kubeconfig_file when not running in a pod)",
    );
  }
  const dir = src.dir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = `${dir}/token`;
  // Fail early when the token is missing; it is re-read at each request afterwards.
  await readFile(read, tokenFile, "service account token");
  const ca = await readFile(read, `${dir}/ca.crt`, "service account CA");
  let ownNamespace: string | undefined;
  if (cfg.namespaces.ownNamespace) {
    ownNamespace = (await readFile(read, `${dir}/namespace`, "the pod's namespace from")).trim();
    if (ownNamespace === "") {
      throw new Error(`could not read own namespace name (empty file ${dir}/namespace)`);
    }
  }
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    server: `https://${h}:${port}`,
    authorization: async () =>
      `Bearer ${(await readFile(read, tokenFile, "service account token")).trim()}`,
    tls: { ca },
    ownNamespace,
    origin: "in-cluster service account",
  };
}

type Yaml = Record<string, unknown>;

function yobj(v: unknown): Yaml {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Yaml : {};
}

function ystr(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function named(list: unknown, name: string, key: string, file: string): Yaml {
  const found = (Array.isArray(list) ? list : []).map(yobj).find((x) => x.name === name);
  if (found === undefined) throw new Error(`${file}: ${key} ${JSON.stringify(name)} not found`);
  return yobj(found[key]);
}

/** The connection of a kubeconfig file's current context. */
export async function kubeconfigConnection(
  file: string,
  read: ReadText = defaultRead,
): Promise<KubeConnection> {
  const text = await readFile(read, file, "kubeconfig_file");
  let doc: Yaml;
  try {
    doc = yobj(parseYaml(text));
  } catch (e) {
    throw new Error(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  const base = dirname(file);
  const path = (p: string) => isAbsolute(p) ? p : resolvePath(base, p);
  const contextName = ystr(doc["current-context"]);
  if (contextName === "") throw new Error(`${file}: no current-context`);
  const ctx = named(doc.contexts, contextName, "context", file);
  const cluster = named(doc.clusters, ystr(ctx.cluster), "cluster", file);
  const user = ystr(ctx.user) === "" ? {} : named(doc.users, ystr(ctx.user), "user", file);

  const server = ystr(cluster.server);
  if (server === "") {
    throw new Error(`${file}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  }
  if (cluster["insecure-skip-tls-verify"] === true) {
    throw new Error(
      `${file}: insecure-skip-tls-verify is not supported (Deno cannot turn off certificate verification ` +
        `for one client); give certificate-authority or certificate-authority-data`,
    );
  }
  if (user.exec !== undefined || user["auth-provider"] !== undefined) {
    throw new Error(
      `${file}: user ${JSON.stringify(ctx.user)}: exec and auth-provider plugins are not supported`,
    );
  }
  const pem = async (data: unknown, p: unknown, what: string): Promise<string | undefined> => {
    if (ystr(data) !== "") {
      return new TextDecoder().decode(Uint8Array.from(atob(ystr(data)), (c) => c.charCodeAt(0)));
    }
    if (ystr(p) !== "") return await readFile(read, path(ystr(p)), what);
    return undefined;
  };
  const ca = await pem(
    cluster["certificate-authority-data"],
    cluster["certificate-authority"],
    "kubeconfig CA",
  );
  const cert = await pem(
    user["client-certificate-data"],
    user["client-certificate"],
    "kubeconfig client certificate",
  );
  const key = await pem(user["client-key-data"], user["client-key"], "kubeconfig client key");
  const fieldName = (data: unknown, p: unknown, field: string) =>
    ystr(data) !== "" ? `${field}-data` : `${field} ${path(ystr(p))}`;
  checkTls({
    ca,
    cert,
    key,
    caName: `${file}: cluster ${JSON.stringify(ctx.cluster)}: ${
      fieldName(
        cluster["certificate-authority-data"],
        cluster["certificate-authority"],
        "certificate-authority",
      )
    }`,
    certName: `${file}: user ${JSON.stringify(ctx.user)}: ${
      fieldName(user["client-certificate-data"], user["client-certificate"], "client-certificate")
    }`,
    keyName: `${file}: user ${JSON.stringify(ctx.user)}: ${
      fieldName(user["client-key-data"], user["client-key"], "client-key")
    }`,
    pair: ["client-certificate", "client-key"],
  });
  let authorization: (() => Promise<string | undefined>) | undefined;
  if (ystr(user.token) !== "") {
    const token = ystr(user.token);
    authorization = () => Promise.resolve(`Bearer ${token}`);
  } else if (ystr(user.tokenFile) !== "") {
    const tf = path(ystr(user.tokenFile));
    // Fail early when the token file is missing; it is re-read at each request afterwards.
    await readFile(read, tf, "kubeconfig tokenFile");
    authorization = async () =>
      `Bearer ${(await readFile(read, tf, "kubeconfig tokenFile")).trim()}`;
  } else if (ystr(user.username) !== "") {
    const header = basicAuthHeader(ystr(user.username), ystr(user.password));
    authorization = () => Promise.resolve(header);
  }
  return {
    server,
    authorization,
    tls: { ca, cert, key },
    proxyUrl: ystr(cluster["proxy-url"]) || undefined,
    origin: `kubeconfig ${file}`,
  };
}

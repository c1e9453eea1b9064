/**
 * kubernetes_sd with `kubeconfig_file`: the current context's cluster
 * (`certificate-authority` file or `-data`) and user (`token`, `tokenFile`,
 * client certificate and key as files or `-data`) against a fake API server
 * on 127.0.0.1; what the HTTP client is built with; clear errors for
 * missing or wrong files and for `exec`/`auth-provider` users.
 */
import { Registry } from "../../metrics/registry.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../../testing/assert.ts";
import type { ResolvedKubernetesSdConfig } from "../../config/types.ts";
import {
  FAKE_CA_FILE,
  type FakeKubeApi,
  fakePod,
  startFakeKubeApi,
} from "../../../tests/kubernetes_fake.ts";
import { KubeClient } from "./client.ts";
import { kubeconfigConnection } from "./connection.ts";
import { KubernetesDiscoverer } from "./discoverer.ts";

const TLS = new URL("../../web/testdata/", import.meta.url);
const CERT_FILE = new URL("web.crt", TLS).pathname;
const KEY_FILE = new URL("web.key", TLS).pathname;

function cfg(kubeconfigFile: string): ResolvedKubernetesSdConfig {
  return {
    role: "pod",
    apiServer: "",
    kubeconfigFile,
    namespaces: { ownNamespace: false, names: [] },
    selectors: [],
    attachMetadata: {
      node: false,
      namespace: false,
      deployment: false,
      job: false,
      cronjob: false,
    },
    tlsConfig: { ca: "", caFile: "", cert: "", certFile: "", key: "", keyFile: "" },
    proxyUrl: "",
    followRedirects: true,
  };
}

const b64 = (s: string) => btoa(s);

/** A kubeconfig whose current context points at `server` with these cluster and user fields. */
function kubeconfig(server: string, cluster: string, user: string): string {
  return `apiVersion: v1
kind: Config
current-context: test
contexts:
  - name: other
    context: {cluster: nowhere, user: nobody}
  - name: test
    context:
      cluster: fake
      user: me
clusters:
  - name: fake
    cluster:
      server: ${server}
${cluster}
users:
  - name: me
    user:
${user}
`;
}

async function withFixture(fn: (dir: string, api: FakeKubeApi) => Promise<void>) {
  const api = await startFakeKubeApi([
    fakePod("web-1", "127.0.0.5", [{ name: "metrics", port: 9100 }]),
  ]);
  const dir = await Deno.makeTempDir({ prefix: "ferry-kubeconfig-" });
  try {
    await fn(dir, api);
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function discover(file: string) {
  const d = new KubernetesDiscoverer(cfg(file), { job: "k", registry: new Registry() });
  return await d.discoverOnce(AbortSignal.timeout(10_000));
}

Deno.test("kubeconfig_file: certificate-authority file and token; -data CA and tokenFile (re-read)", async () => {
  await withFixture(async (dir, api) => {
    await Deno.mkdir(`${dir}/pki`);
    await Deno.copyFile(FAKE_CA_FILE, `${dir}/pki/ca.crt`);
    const file = `${dir}/kubeconfig`;
    // Relative paths are relative to the kubeconfig's directory.
    await Deno.writeTextFile(
      file,
      kubeconfig(api.url, "      certificate-authority: pki/ca.crt", "      token: inline-tok"),
    );
    let r = await discover(file);
    assertEquals(r.errors, []);
    assertEquals(r.groups.flatMap((g) => g.targets.map((t) => t.__address__)), [
      "127.0.0.5:9100",
    ]);
    assertEquals(api.requests.map((q) => q.authorization), ["Bearer inline-tok"]);
    assertEquals(api.requests[0].url.pathname, "/api/v1/pods");

    const ca = await Deno.readTextFile(FAKE_CA_FILE);
    await Deno.writeTextFile(`${dir}/tok`, "file-tok-1\n");
    await Deno.writeTextFile(
      file,
      kubeconfig(
        api.url,
        `      certificate-authority-data: ${b64(ca)}`,
        "      tokenFile: tok",
      ),
    );
    r = await discover(file);
    assertEquals(r.errors, []);
    assertEquals(r.groups.length, 1);
    await Deno.writeTextFile(`${dir}/tok`, "file-tok-2\n");
    r = await discover(file);
    assertEquals(r.errors, []);
    assertEquals(api.requests.map((q) => q.authorization).slice(1), [
      "Bearer file-tok-1",
      "Bearer file-tok-2",
    ]);

    // Without the CA the server's certificate is not trusted.
    await Deno.writeTextFile(file, kubeconfig(api.url, "", "      token: t"));
    r = await discover(file);
    assertEquals(r.groups, []);
    assertEquals(r.errors.length, 1);
  });
});

Deno.test("kubeconfig_file: client certificate and key (files and -data) reach Deno.createHttpClient", async () => {
  await withFixture(async (dir, api) => {
    const ca = await Deno.readTextFile(FAKE_CA_FILE);
    const cert = await Deno.readTextFile(CERT_FILE);
    const key = await Deno.readTextFile(KEY_FILE);
    await Deno.copyFile(CERT_FILE, `${dir}/client.crt`);
    await Deno.copyFile(KEY_FILE, `${dir}/client.key`);
    const file = `${dir}/kubeconfig`;
    const variants = {
      files: "      client-certificate: client.crt\n      client-key: client.key",
      data: `      client-certificate-data: ${b64(cert)}\n      client-key-data: ${b64(key)}`,
    };
    for (const [name, user] of Object.entries(variants)) {
      await Deno.writeTextFile(
        file,
        kubeconfig(api.url, `      certificate-authority-data: ${b64(ca)}`, user),
      );
      const conn = await kubeconfigConnection(file);
      assertEquals(conn.server, api.url, name);
      assertEquals(conn.tls, { ca, cert, key }, name);
      assertEquals(await conn.authorization?.(), undefined, name);
      const built: (Deno.CreateHttpClientOptions & { cert?: string; key?: string })[] = [];
      new KubeClient(conn, {
        createHttpClient: (o) => {
          built.push(o);
          return Deno.createHttpClient(o);
        },
      }).close();
      assertEquals(built, [{ caCerts: [ca], cert, key }], name);
      // Deno accepts the pair (the fake server does not ask for it).
      const r = await discover(file);
      assertEquals(r.errors, [], name);
      assertEquals(r.groups.length, 1, name);
    }
  });
});

Deno.test("kubeconfig_file: missing or wrong files and unsupported users are named in the error", async () => {
  await withFixture(async (dir, api) => {
    const file = `${dir}/kubeconfig`;
    const ca = `      certificate-authority: ${FAKE_CA_FILE}`;
    await Deno.copyFile(CERT_FILE, `${dir}/client.crt`);
    await Deno.copyFile(KEY_FILE, `${dir}/client.key`);
    const fails = async (cluster: string, user: string, ...parts: string[]) => {
      await Deno.writeTextFile(file, kubeconfig(api.url, cluster, user));
      const e = await assertRejects(() => kubeconfigConnection(file));
      for (const p of parts) assertStringIncludes((e as Error).message, p);
      // The discoverer reports it as a failed source, the same message.
      const r = await discover(file);
      assertEquals(r.groups, []);
      for (const p of parts) assertStringIncludes(r.errors.join("\n"), p);
    };
    await fails(
      ca,
      `      client-certificate: client.crt\n      client-key: missing.key`,
      `kubeconfig client key ${dir}/missing.key`,
    );
    await fails(
      `      certificate-authority: nope/ca.crt`,
      "      token: t",
      `kubeconfig CA ${dir}/nope/ca.crt`,
    );
    await fails(ca, "      tokenFile: no-token", `${dir}/no-token`);
    // Wrong contents: a certificate where the key belongs, and the reverse.
    await fails(
      ca,
      `      client-certificate: client.crt\n      client-key: client.crt`,
      `${dir}/client.crt`,
      "client-key",
    );
    await fails(
      ca,
      `      client-certificate: client.key\n      client-key: client.key`,
      `${dir}/client.key`,
      "client-certificate",
    );
    await fails(
      `      certificate-authority-data: ${b64("not a certificate")}`,
      "      token: t",
      "certificate-authority-data",
    );
    // A certificate without its key (and the reverse).
    await fails(ca, `      client-certificate: client.crt`, "client-key");
    await fails(ca, `      client-key: client.key`, "client-certificate");
    await fails(
      ca,
      "      exec:\n        apiVersion: client.authentication.k8s.io/v1\n        command: aws",
      file,
      "not supported",
    );
    await fails(
      ca,
      "      auth-provider:\n        name: gcp",
      file,
      "not supported",
    );
    await fails("      insecure-skip-tls-verify: true", "      token: t", "not supported");
    assertEquals(api.requests.length, 0);
  });
});

Deno.test("api_server tls_config: wrong PEM contents and a certificate without its key are named", async () => {
  const c = (tls: Partial<ResolvedKubernetesSdConfig["tlsConfig"]>) => ({
    ...cfg(""),
    apiServer: "https://127.0.0.1:1",
    tlsConfig: { ...cfg("").tlsConfig, ...tls },
  });
  const fails = async (tls: Partial<ResolvedKubernetesSdConfig["tlsConfig"]>, part: string) => {
    const r = await new KubernetesDiscoverer(c(tls), { job: "k", registry: new Registry() })
      .discoverOnce(AbortSignal.timeout(10_000));
    assertEquals(r.groups, []);
    assertStringIncludes(r.errors.join("\n"), part);
  };
  await fails({ caFile: KEY_FILE }, `tls_config ca_file ${KEY_FILE} holds no PEM certificate`);
  await fails({ ca: "junk" }, "tls_config ca holds no PEM certificate");
  await fails({ certFile: CERT_FILE }, `cert_file ${CERT_FILE} is given without key_file`);
  await fails({ keyFile: KEY_FILE }, `key_file ${KEY_FILE} is given without cert_file`);
  await fails(
    { certFile: CERT_FILE, keyFile: CERT_FILE },
    `key_file ${CERT_FILE} holds no PEM private key`,
  );
});

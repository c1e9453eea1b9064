/**
 * `main.ts permissions` for kubernetes_sd_configs (one `api_server` job, one
 * in-cluster job): the API server's host:port, the token and CA files, the
 * in-cluster environment and service-account directory, notes about
 * dynamic targets. Then the agent runs under exactly the printed flags
 * (`--no-prompt`) against a fake API server: the discovered pods appear in
 * /api/v1/targets; the pod at the agent's own listen address is scraped
 * (granted), the other fails on the missing net permission, as the note
 * warns. Loopback only: every pod IP is 127.0.0.x.
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { FAKE_CA_FILE, fakePod, startFakeKubeApi } from "./kubernetes_fake.ts";
import { freePort, Proc, ROOT, waitFor } from "./helpers.ts";

async function permissions(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "permissions", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

interface Target {
  scrapePool: string;
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  health: string;
  lastError: string;
}

Deno.test("permissions for kubernetes_sd, and the agent runs under exactly those flags", async () => {
  const webPort = freePort();
  const deniedPort = freePort();
  const api = await startFakeKubeApi([
    // Scrapes the agent's own /metrics: its listen address is granted.
    fakePod("self-1", "127.0.0.1", [{ name: "metrics", port: webPort }], {
      "prometheus.io/scrape": "true",
    }),
    // Not granted: dynamic targets must be added by hand (the note says so).
    fakePod("other-1", "127.0.0.2", [{ name: "metrics", port: deniedPort }], {
      "prometheus.io/scrape": "true",
    }),
  ]);
  const dir = await Deno.makeTempDir({ prefix: "ferry-k8s-perms-" });
  let agent: Proc | undefined;
  try {
    await Deno.mkdir(`${dir}/conf`);
    await Deno.mkdir(`${dir}/secrets`);
    const token = `${dir}/secrets/token`;
    const ca = `${dir}/secrets/ca.crt`;
    await Deno.writeTextFile(token, "run-token\n");
    await Deno.copyFile(FAKE_CA_FILE, ca);
    const config = `${dir}/conf/prometheus.yml`;
    const apiJob = `  - job_name: k8s-api
    scrape_interval: 1s
    kubernetes_sd_configs:
      - role: pod
        api_server: ${api.url}
        tls_config:
          ca_file: ${ca}
        authorization:
          credentials_file: ${token}
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        regex: "true"
        action: keep
`;
    const inClusterJob = `  - job_name: k8s-in-cluster
    kubernetes_sd_configs:
      - role: endpoints
        namespaces:
          own_namespace: true
`;
    await Deno.writeTextFile(config, `scrape_configs:\n${apiJob}${inClusterJob}`);
    const storage = `${dir}/data`;
    const common = [`--storage.agent.path=${storage}`, `--web.listen-address=127.0.0.1:${webPort}`];

    const json = await permissions([config, ...common, "--json"]);
    assertEquals(json.code, 0, json.stderr);
    const p = JSON.parse(json.stdout);
    assertEquals(p.net, [`127.0.0.1:${api.port}`, `127.0.0.1:${webPort}`].sort());
    for (const f of [token, ca, "/var/run/secrets/kubernetes.io/serviceaccount", storage]) {
      assert(p.read.includes(f), `read ${f}: ${p.read.join()}`);
    }
    assertEquals(p.write, [storage]);
    for (const v of ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "FERRY_SHARD_INDEX"]) {
      assert(p.env.includes(v), `env ${v}: ${p.env.join()}`);
    }
    assertStringIncludes(
      p.reasons[`net:127.0.0.1:${api.port}`],
      "Kubernetes API server of job k8s-api",
    );
    assertStringIncludes(
      p.reasons[`read:${token}`],
      "credentials file of the kubernetes_sd of job k8s-api",
    );
    assertStringIncludes(p.reasons[`read:${ca}`], "TLS caFile of the kubernetes_sd of job k8s-api");
    assertStringIncludes(p.reasons["env:KUBERNETES_SERVICE_HOST"], "job k8s-in-cluster");
    const notes = (p.notes as string[]).join("\n");
    assertStringIncludes(
      notes,
      "job k8s-api: targets from kubernetes_sd (role pod) are not known in advance",
    );
    assertStringIncludes(
      notes,
      "job k8s-in-cluster: targets from kubernetes_sd (role endpoints) are not known in advance",
    );
    assertStringIncludes(
      notes,
      "job k8s-in-cluster: in-cluster kubernetes_sd connects to https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT",
    );
    // Computing the permissions contacts no API server.
    assertEquals(api.requests.length, 0);

    // The printed text: the flags line first, the notes on stderr.
    const text = await permissions([config, ...common]);
    assertEquals(text.code, 0, text.stderr);
    const flags = text.stdout.split("\n")[0].split(" ");
    assertEquals(flags.filter((f) => !f.startsWith("--allow-")), []);
    assert(flags.includes(`--allow-net=${p.net.join(",")}`), flags.join(" "));
    assertStringIncludes(text.stderr, "note: job k8s-api: targets from kubernetes_sd (role pod)");

    // Run without the in-cluster job (no pod here), under exactly those flags.
    await Deno.writeTextFile(config, `scrape_configs:\n${apiJob}`);
    agent = new Proc("ferry", Deno.execPath(), [
      "run",
      "--no-prompt",
      ...flags,
      `${ROOT}main.ts`,
      "run",
      `--config.file=${config}`,
      ...common,
    ], { cwd: ROOT });
    const targets = await waitFor("both pods as targets, the own one scraped", async () => {
      const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/targets`, {
        signal: AbortSignal.timeout(2000),
      });
      const body = await res.json();
      const active = body.data.activeTargets as Target[];
      const self = active.find((t) => t.labels.instance === `127.0.0.1:${webPort}`);
      const other = active.find((t) => t.labels.instance === `127.0.0.2:${deniedPort}`);
      return self?.health === "up" && other?.health === "down" ? active : undefined;
    }, 25_000).catch((e) => {
      throw new Error(`${e.message}\n${agent?.output()}`);
    });
    assertEquals(targets.length, 2);
    const self = targets.find((t) => t.discoveredLabels.__meta_kubernetes_pod_name === "self-1")!;
    assertEquals(self.scrapePool, "k8s-api");
    assertEquals(self.discoveredLabels.__meta_kubernetes_pod_ip, "127.0.0.1");
    assertEquals(self.discoveredLabels.__meta_kubernetes_namespace, "default");
    const other = targets.find((t) => t.discoveredLabels.__meta_kubernetes_pod_name === "other-1")!;
    assertStringIncludes(other.lastError, `grant it with --allow-net=127.0.0.2:${deniedPort}`);
    // The agent lists and then watches; every request carried the token.
    assert(api.requests.some((q) => q.watch), "the agent watches");
    for (const q of api.requests) assertEquals(q.authorization, "Bearer run-token");
  } finally {
    await agent?.stop();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});

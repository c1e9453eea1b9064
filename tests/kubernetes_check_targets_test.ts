/**
 * `main.ts check targets --json` with kubernetes_sd_configs against a fake
 * API server on 127.0.0.1 (TLS with a CA file, a bearer token from a
 * credentials file): the pods become targets with their
 * `__meta_kubernetes_*` labels (node and namespace metadata attached),
 * relabeling keeps only annotated pods, and discovery only LISTs (no WATCH).
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { FAKE_CA_FILE, fakePod, startFakeKubeApi } from "./kubernetes_fake.ts";
import { ROOT } from "./helpers.ts";

const FIX = new URL("testdata/kubernetes/", import.meta.url);

async function checkTargets(config: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "check", "targets", "--json", config],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("check targets: kubernetes_sd pods from an api_server with tls_config and authorization", async () => {
  const fixture = JSON.parse(await Deno.readTextFile(new URL("pods.json", FIX)));
  const api = await startFakeKubeApi([
    ...fixture.items,
    fakePod("batch-1", "10.244.2.7", [{ name: "metrics", port: 9200 }]), // not annotated
  ]);
  const dir = await Deno.makeTempDir({ prefix: "ferry-k8s-check-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "sekret-token\n");
    const config = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(
      config,
      `scrape_configs:
  - job_name: k8s-pods
    kubernetes_sd_configs:
      - role: pod
        api_server: ${api.url}
        tls_config:
          ca_file: ${FAKE_CA_FILE}
        authorization:
          credentials_file: ${dir}/token
        attach_metadata:
          node: true
          namespace: true
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        regex: "true"
        action: keep
      - source_labels: [__meta_kubernetes_pod_container_port_name]
        regex: metrics
        action: keep
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_node_label_topology_kubernetes_io_zone]
        target_label: zone
      - source_labels: [__meta_kubernetes_namespace_label_team]
        target_label: team
`,
    );
    const r = await checkTargets(config);
    assertEquals(r.code, 0, r.stderr + r.stdout);
    const data = JSON.parse(r.stdout);
    assertEquals(data.activeTargets.length, 1, r.stdout);
    const t = data.activeTargets[0];
    assertEquals(t.scrapePool, "k8s-pods");
    assertEquals(t.scrapeUrl, "http://10.244.1.5:9100/metrics");
    assertEquals(t.labels, {
      instance: "10.244.1.5:9100",
      job: "k8s-pods",
      pod: "web-7d4b9c-abcde",
      team: "shop",
      zone: "eu-1a",
    });
    const d = t.discoveredLabels;
    assertEquals(d.__address__, "10.244.1.5:9100");
    assertEquals(d.__meta_kubernetes_namespace, "default");
    assertEquals(d.__meta_kubernetes_pod_name, "web-7d4b9c-abcde");
    assertEquals(d.__meta_kubernetes_pod_ip, "10.244.1.5");
    assertEquals(d.__meta_kubernetes_pod_node_name, "node-1");
    assertEquals(d.__meta_kubernetes_pod_container_name, "web");
    assertEquals(d.__meta_kubernetes_pod_container_port_number, "9100");
    assertEquals(d.__meta_kubernetes_pod_container_port_name, "metrics");
    assertEquals(d.__meta_kubernetes_pod_label_app, "web");
    assertEquals(d.__meta_kubernetes_pod_annotation_prometheus_io_scrape, "true");
    assertEquals(d.__meta_kubernetes_pod_ready, "true");
    assertEquals(d.__meta_kubernetes_pod_phase, "Running");
    assertEquals(d.__meta_kubernetes_pod_controller_kind, "ReplicaSet");
    assertEquals(d.__meta_kubernetes_pod_controller_name, "web-7d4b9c");
    assertEquals(d.__meta_kubernetes_node_name, "node-1");
    assertEquals(d.__meta_kubernetes_namespace_label_team, "shop");

    // Dropped: the web pod's http port, the init container, batch-1 (not annotated).
    const dropped = data.droppedTargets.map((x: { discoveredLabels: Record<string, string> }) =>
      x.discoveredLabels.__address__
    ).sort();
    assert(dropped.includes("10.244.1.5:8080"), dropped.join());
    assert(dropped.includes("10.244.2.7:9200"), dropped.join());
    const batch = data.droppedTargets.find((x: { discoveredLabels: Record<string, string> }) =>
      x.discoveredLabels.__meta_kubernetes_pod_name === "batch-1"
    );
    assertEquals(batch.discoveredLabels.__meta_kubernetes_pod_label_app, "batch");

    // discoverOnce only lists: pods, nodes and namespaces, with the token; never a watch.
    assertEquals(api.requests.filter((q) => q.watch).length, 0);
    const paths = [...new Set(api.requests.map((q) => q.url.pathname))].sort();
    assertEquals(paths, ["/api/v1/namespaces", "/api/v1/nodes", "/api/v1/pods"]);
    for (const q of api.requests) assertEquals(q.authorization, "Bearer sekret-token");

    // A missing CA file is a failed source naming the file (exit 1).
    await Deno.writeTextFile(
      config,
      (await Deno.readTextFile(config)).replace(FAKE_CA_FILE, `${dir}/missing-ca.crt`),
    );
    const bad = await checkTargets(config);
    assertEquals(bad.code, 1, bad.stdout);
    assertStringIncludes(bad.stderr, `${dir}/missing-ca.crt`);
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});

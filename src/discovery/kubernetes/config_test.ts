import { loadYamlConfig } from "../../config/prometheus.ts";
import { resolveConfig } from "../../config/resolve.ts";
import { kubernetesSd } from "../../config/sd.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "../../testing/assert.ts";

const YAML = `scrape_configs:
  - job_name: pods
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
          names: [web]
        selectors:
          - role: pod
            label: "app=web"
          - role: node
            field: "metadata.name=node-1"
        attach_metadata:
          node: true
          namespace: true
`;

Deno.test("kubernetes_sd_configs in prometheus.yml", () => {
  const c = loadYamlConfig(YAML, "prometheus.yml");
  const k = c.scrapeConfigs[0].kubernetesSdConfigs![0];
  assertEquals(k.role, "pod");
  assertEquals(k.namespaces, { ownNamespace: true, names: ["web"] });
  assertEquals(k.selectors, [
    { role: "pod", label: "app=web", field: "" },
    { role: "node", label: "", field: "metadata.name=node-1" },
  ]);
  assertEquals(k.attachMetadata.node, true);
  assertEquals(k.attachMetadata.namespace, true);
});

Deno.test("kubernetes_sd_configs: errors as Prometheus, with line numbers and suggestions", () => {
  const bad = (yaml: string) =>
    assertThrows(() => loadYamlConfig(yaml, "prometheus.yml")).message as string;
  const head = "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n";
  assertStringIncludes(bad(head + "      - api_server: https://k8s:6443\n"), "role");
  assertStringIncludes(bad(head + "      - role: pods\n"), 'unknown Kubernetes SD role "pods"');
  assertStringIncludes(
    bad(head + "      - role: pod\n        namespace: {}\n"),
    "prometheus.yml:5",
  );
  assertStringIncludes(
    bad(head + "      - role: pod\n        namespace: {}\n"),
    'did you mean "namespaces"',
  );
  assertStringIncludes(
    bad(head + "      - role: pod\n        api_server: https://k8s\n        kubeconfig_file: kc\n"),
    "simultaneously",
  );
  assertStringIncludes(
    bad(head + "      - role: pod\n        authorization: {credentials: x}\n"),
    "api_server",
  );
  assertStringIncludes(
    bad(head + "      - role: service\n        selectors: [{role: pod, label: a=b}]\n"),
    "service role supports only service selectors",
  );
  assertStringIncludes(
    bad(head + "      - role: pod\n        selectors: [{role: pod, label: 'a=b'}, {role: pod}]\n"),
    "duplicated selector role",
  );
  assertStringIncludes(
    bad(head + "      - role: pod\n        selectors: [{role: pod, label: 'a b c'}]\n"),
    "invalid label selector",
  );
  assertStringIncludes(
    bad(
      head +
        "      - role: pod\n        api_server: https://k8s\n        namespaces: {own_namespace: true}\n",
    ),
    "own_namespace",
  );
});

Deno.test("kubernetesSdConfigs in a TS config, with the kubernetesSd helper", () => {
  const c = resolveConfig({
    scrapeConfigs: [{
      jobName: "svc",
      kubernetesSdConfigs: [
        kubernetesSd("endpointslice", {
          apiServer: "https://10.0.0.1:6443",
          authorization: { credentialsFile: "/etc/ferry/token" },
          tlsConfig: { caFile: "/etc/ferry/ca.crt" },
          selectors: [{ role: "service", label: "team=shop" }],
        }),
      ],
    }],
  });
  const k = c.scrapeConfigs[0].kubernetesSdConfigs![0];
  assertEquals(k.role, "endpointslice");
  assertEquals(k.apiServer, "https://10.0.0.1:6443");
  assertEquals(k.tlsConfig.caFile, "/etc/ferry/ca.crt");
  assertEquals(k.authorization?.credentialsFile, "/etc/ferry/token");
  // Jobs without kubernetes_sd have no key (older resolved shapes stay equal).
  const plain = resolveConfig({ scrapeConfigs: [{ jobName: "p" }] });
  assertEquals("kubernetesSdConfigs" in plain.scrapeConfigs[0], false);
});

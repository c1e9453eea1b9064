/**
 * The label sets of each role, built from API-shaped fixtures in
 * tests/testdata/kubernetes/, against Prometheus' documented
 * `__meta_kubernetes_*` labels (docs/configuration/configuration.md,
 * `<kubernetes_sd_config>`).
 */
import { assert, assertEquals } from "../../testing/assert.ts";
import type { BuildContext } from "./context.ts";
import { buildEndpointsGroup } from "./endpoints.ts";
import { buildEndpointSliceGroup } from "./endpointslice.ts";
import { buildIngressGroup, matchesHostnamePattern } from "./ingress.ts";
import { sanitizeLabelName } from "./labels.ts";
import { buildNodeGroup } from "./node.ts";
import {
  type KubeObject,
  objectKey,
  slimEndpoints,
  slimEndpointSlice,
  slimIngress,
  slimMetaOnly,
  slimNode,
  slimPod,
  slimService,
} from "./objects.ts";
import { buildPodGroup } from "./pod.ts";
import { buildServiceGroup } from "./service.ts";

const DIR = new URL("../../../tests/testdata/kubernetes/", import.meta.url);

function items<T>(file: string, slim: (o: unknown) => T): T[] {
  return JSON.parse(Deno.readTextFileSync(new URL(file, DIR))).items.map(slim);
}

function lookup<T extends KubeObject>(list: T[]): (key: string) => T | undefined {
  const m = new Map(list.map((o) => [objectKey(o.metadata), o]));
  return (k) => m.get(k);
}

const pods = items("pods.json", slimPod);
const nodes = items("nodes.json", slimNode);
const services = items("services.json", slimService);
const namespaces = items("namespaces.json", slimMetaOnly);

Deno.test("pod role: one target per container port, init containers, pod labels", () => {
  const g = buildPodGroup(pods[0], {});
  assertEquals(g.source, "pod/default/web-7d4b9c-abcde");
  assertEquals(g.labels, {
    __meta_kubernetes_namespace: "default",
    __meta_kubernetes_pod_name: "web-7d4b9c-abcde",
    __meta_kubernetes_pod_ip: "10.244.1.5",
    __meta_kubernetes_pod_ready: "true",
    __meta_kubernetes_pod_phase: "Running",
    __meta_kubernetes_pod_node_name: "node-1",
    __meta_kubernetes_pod_host_ip: "10.0.0.11",
    __meta_kubernetes_pod_uid: "0b1c2d3e-1111-2222-3333-444455556666",
    __meta_kubernetes_pod_controller_kind: "ReplicaSet",
    __meta_kubernetes_pod_controller_name: "web-7d4b9c",
    __meta_kubernetes_pod_label_app: "web",
    __meta_kubernetes_pod_labelpresent_app: "true",
    __meta_kubernetes_pod_label_app_kubernetes_io_name: "web",
    __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: "true",
    __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true",
    __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: "true",
  });
  assertEquals(g.targets, [
    {
      __address__: "10.244.1.5:8080",
      __meta_kubernetes_pod_container_name: "web",
      __meta_kubernetes_pod_container_id: "containerd://aaa111",
      __meta_kubernetes_pod_container_image: "nginx:1.27",
      __meta_kubernetes_pod_container_init: "false",
      __meta_kubernetes_pod_container_port_number: "8080",
      __meta_kubernetes_pod_container_port_name: "http",
      __meta_kubernetes_pod_container_port_protocol: "TCP",
    },
    {
      __address__: "10.244.1.5:9100",
      __meta_kubernetes_pod_container_name: "web",
      __meta_kubernetes_pod_container_id: "containerd://aaa111",
      __meta_kubernetes_pod_container_image: "nginx:1.27",
      __meta_kubernetes_pod_container_init: "false",
      __meta_kubernetes_pod_container_port_number: "9100",
      __meta_kubernetes_pod_container_port_name: "metrics",
      __meta_kubernetes_pod_container_port_protocol: "TCP",
    },
    {
      __address__: "10.244.1.5",
      __meta_kubernetes_pod_container_name: "sidecar",
      __meta_kubernetes_pod_container_id: "containerd://bbb222",
      __meta_kubernetes_pod_container_image: "envoy:1.30",
      __meta_kubernetes_pod_container_init: "false",
    },
    {
      __address__: "10.244.1.5",
      __meta_kubernetes_pod_container_name: "init-db",
      __meta_kubernetes_pod_container_id: "containerd://ccc333",
      __meta_kubernetes_pod_container_image: "busybox:1.36",
      __meta_kubernetes_pod_container_init: "true",
    },
  ]);
});

Deno.test("pod role: a pod without an IP has an empty group", () => {
  assertEquals(buildPodGroup(pods[1], {}), {
    source: "pod/default/pending-1",
    targets: [],
    labels: {},
  });
});

Deno.test("pod role: attach_metadata node, namespace, deployment, job, cronjob", () => {
  const ctx: BuildContext = {
    nodes: lookup(nodes),
    namespaces: lookup(namespaces),
    replicaSets: lookup([{
      metadata: {
        name: "web-7d4b9c",
        namespace: "default",
        ownerReferences: [{ kind: "Deployment", name: "web", controller: true }],
      },
    }]),
  };
  const l = buildPodGroup(pods[0], ctx).labels;
  assertEquals(l.__meta_kubernetes_node_name, "node-1");
  assertEquals(l.__meta_kubernetes_node_label_topology_kubernetes_io_zone, "eu-1a");
  assertEquals(l.__meta_kubernetes_node_labelpresent_kubernetes_io_hostname, "true");
  assertEquals(l.__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl, "0");
  assertEquals(l.__meta_kubernetes_namespace_label_team, "shop");
  assertEquals(l.__meta_kubernetes_namespace_annotationpresent_owner, "true");
  assertEquals(l.__meta_kubernetes_pod_deployment_name, "web");
  // The node is unknown: no targets (Prometheus waits for the node).
  assertEquals(buildPodGroup(pods[0], { nodes: () => undefined }).targets, []);

  const jobPod = slimPod({
    metadata: {
      name: "backup-1-x",
      namespace: "default",
      ownerReferences: [{ kind: "Job", name: "backup-1", controller: true }],
    },
    spec: { containers: [{ name: "b" }] },
    status: { podIP: "10.0.0.9" },
  });
  const jl = buildPodGroup(jobPod, {
    jobName: true,
    jobs: lookup([{
      metadata: {
        name: "backup-1",
        namespace: "default",
        ownerReferences: [{ kind: "CronJob", name: "backup", controller: true }],
      },
    }]),
  }).labels;
  assertEquals(jl.__meta_kubernetes_pod_job_name, "backup-1");
  assertEquals(jl.__meta_kubernetes_pod_cronjob_name, "backup");
});

Deno.test("node role: first address by type, kubelet port, conditions, instance", () => {
  const g = buildNodeGroup(nodes[0])!;
  assertEquals(g.source, "node/node-1");
  assertEquals(g.labels, {
    __meta_kubernetes_node_name: "node-1",
    __meta_kubernetes_node_provider_id: "aws:///eu-1a/i-0123",
    __meta_kubernetes_node_condition_ready: "true",
    __meta_kubernetes_node_condition_memorypressure: "false",
    __meta_kubernetes_node_label_kubernetes_io_hostname: "node-1",
    __meta_kubernetes_node_labelpresent_kubernetes_io_hostname: "true",
    __meta_kubernetes_node_label_topology_kubernetes_io_zone: "eu-1a",
    __meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone: "true",
    __meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl: "0",
    __meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl: "true",
  });
  assertEquals(g.targets, [{
    __address__: "10.0.0.11:10250",
    instance: "node-1",
    __meta_kubernetes_node_address_Hostname: "node-1",
    __meta_kubernetes_node_address_InternalIP: "10.0.0.11",
    __meta_kubernetes_node_address_ExternalIP: "203.0.113.7",
  }]);
  assertEquals(buildNodeGroup(slimNode({ metadata: { name: "x" }, status: {} })), undefined);
});

Deno.test("service role: DNS name targets, cluster IP, load balancer, ExternalName", () => {
  const g = buildServiceGroup(services[0], { namespaces: lookup(namespaces) });
  assertEquals(g.source, "svc/default/web");
  assertEquals(g.labels, {
    __meta_kubernetes_namespace: "default",
    __meta_kubernetes_service_name: "web",
    __meta_kubernetes_service_label_app: "web",
    __meta_kubernetes_service_labelpresent_app: "true",
    __meta_kubernetes_service_annotation_prometheus_io_port: "9100",
    __meta_kubernetes_service_annotationpresent_prometheus_io_port: "true",
    __meta_kubernetes_namespace_label_team: "shop",
    __meta_kubernetes_namespace_labelpresent_team: "true",
    __meta_kubernetes_namespace_annotation_owner: "ops@example.com",
    __meta_kubernetes_namespace_annotationpresent_owner: "true",
  });
  assertEquals(g.targets[0], {
    __address__: "web.default.svc:80",
    __meta_kubernetes_service_port_name: "http",
    __meta_kubernetes_service_port_number: "80",
    __meta_kubernetes_service_port_protocol: "TCP",
    __meta_kubernetes_service_type: "LoadBalancer",
    __meta_kubernetes_service_cluster_ip: "10.96.0.10",
    __meta_kubernetes_service_loadbalancer_ip: "198.51.100.1",
  });
  assertEquals(buildServiceGroup(services[1], {}).targets, [{
    __address__: "ext.default.svc:5432",
    __meta_kubernetes_service_port_name: "",
    __meta_kubernetes_service_port_number: "5432",
    __meta_kubernetes_service_port_protocol: "TCP",
    __meta_kubernetes_service_type: "ExternalName",
    __meta_kubernetes_service_external_name: "db.example.com",
  }]);
});

Deno.test("endpoints role: service and pod labels, not-ready addresses, uncovered pod ports", () => {
  const [eps] = items("endpoints.json", slimEndpoints);
  const g = buildEndpointsGroup(eps, {
    services: lookup(services),
    pods: lookup(pods),
    nodes: lookup(nodes),
  });
  assertEquals(g.source, "endpoints/default/web");
  assertEquals(g.labels.__meta_kubernetes_endpoints_name, "web");
  assertEquals(g.labels.__meta_kubernetes_endpoints_label_app, "web");
  assertEquals(g.labels.__meta_kubernetes_service_name, "web");
  assertEquals(g.labels.__meta_kubernetes_namespace, "default");
  assertEquals(g.targets.map((t) => t.__address__), [
    "10.244.1.5:8080",
    "10.244.2.9:8080",
    "10.244.1.5:9100",
  ]);
  const [ready, notReady, extra] = g.targets;
  assertEquals(ready.__meta_kubernetes_endpoint_ready, "true");
  assertEquals(ready.__meta_kubernetes_endpoint_port_name, "http");
  assertEquals(ready.__meta_kubernetes_endpoint_port_protocol, "TCP");
  assertEquals(ready.__meta_kubernetes_endpoint_node_name, "node-1");
  assertEquals(ready.__meta_kubernetes_endpoint_address_target_kind, "Pod");
  assertEquals(ready.__meta_kubernetes_endpoint_address_target_name, "web-7d4b9c-abcde");
  assertEquals(ready.__meta_kubernetes_pod_name, "web-7d4b9c-abcde");
  assertEquals(ready.__meta_kubernetes_pod_container_name, "web");
  assertEquals(ready.__meta_kubernetes_pod_container_port_name, "http");
  assertEquals(ready.__meta_kubernetes_node_label_topology_kubernetes_io_zone, "eu-1a");
  assertEquals(notReady, {
    __address__: "10.244.2.9:8080",
    __meta_kubernetes_endpoint_port_name: "http",
    __meta_kubernetes_endpoint_port_protocol: "TCP",
    __meta_kubernetes_endpoint_ready: "false",
    __meta_kubernetes_endpoint_hostname: "web-2",
  });
  assertEquals(extra.__meta_kubernetes_pod_container_port_name, "metrics");
  assertEquals(extra.__meta_kubernetes_pod_ready, "true");
  assert(!("__meta_kubernetes_endpoint_ready" in extra));
});

Deno.test("endpointslice role: conditions, zone, port, app protocol, service and pod labels", () => {
  const [eps] = items("endpointslices.json", slimEndpointSlice);
  const g = buildEndpointSliceGroup(eps, { services: lookup(services), pods: lookup(pods) });
  assertEquals(g.source, "endpointslice/default/web-x7k2p");
  assertEquals(g.labels.__meta_kubernetes_endpointslice_name, "web-x7k2p");
  assertEquals(g.labels.__meta_kubernetes_endpointslice_address_type, "IPv4");
  assertEquals(g.labels.__meta_kubernetes_service_name, "web");
  assertEquals(
    g.labels.__meta_kubernetes_endpointslice_label_kubernetes_io_service_name,
    "web",
  );
  const [t, extra] = g.targets;
  assertEquals(t.__address__, "10.244.1.5:8080");
  assertEquals(t.__meta_kubernetes_endpointslice_port, "8080");
  assertEquals(t.__meta_kubernetes_endpointslice_port_name, "http");
  assertEquals(t.__meta_kubernetes_endpointslice_port_protocol, "TCP");
  assertEquals(t.__meta_kubernetes_endpointslice_port_app_protocol, "http");
  assertEquals(t.__meta_kubernetes_endpointslice_endpoint_conditions_ready, "true");
  assertEquals(t.__meta_kubernetes_endpointslice_endpoint_conditions_serving, "true");
  assertEquals(t.__meta_kubernetes_endpointslice_endpoint_conditions_terminating, "false");
  assertEquals(t.__meta_kubernetes_endpointslice_endpoint_zone, "eu-1a");
  assertEquals(t.__meta_kubernetes_endpointslice_endpoint_node_name, "node-1");
  assertEquals(t.__meta_kubernetes_endpointslice_address_target_kind, "Pod");
  assertEquals(t.__meta_kubernetes_pod_container_port_number, "8080");
  assertEquals(extra.__address__, "10.244.1.5:9100");
  assertEquals(g.targets.length, 2);
});

Deno.test("ingress role: scheme from TLS wildcard, default path, class name", () => {
  const [ing] = items("ingresses.json", slimIngress);
  const g = buildIngressGroup(ing, {});
  assertEquals(g.source, "ingress/default/web");
  assertEquals(g.labels.__meta_kubernetes_ingress_name, "web");
  assertEquals(g.labels.__meta_kubernetes_ingress_class_name, "nginx");
  assertEquals(g.labels.__meta_kubernetes_ingress_labelpresent_app, "true");
  assertEquals(g.targets, [
    {
      __address__: "shop.example.com",
      __meta_kubernetes_ingress_scheme: "https",
      __meta_kubernetes_ingress_host: "shop.example.com",
      __meta_kubernetes_ingress_path: "/",
    },
    {
      __address__: "shop.example.com",
      __meta_kubernetes_ingress_scheme: "https",
      __meta_kubernetes_ingress_host: "shop.example.com",
      __meta_kubernetes_ingress_path: "/api",
    },
    {
      __address__: "plain.example.org",
      __meta_kubernetes_ingress_scheme: "http",
      __meta_kubernetes_ingress_host: "plain.example.org",
      __meta_kubernetes_ingress_path: "/",
    },
  ]);
  assert(matchesHostnamePattern("*.example.com", "a.example.com"));
  assert(!matchesHostnamePattern("*.example.com", "a.b.example.com"));
});

Deno.test("label names are sanitised as Prometheus does", () => {
  assertEquals(sanitizeLabelName("app.kubernetes.io/name"), "app_kubernetes_io_name");
  assertEquals(sanitizeLabelName("ünï-code"), "_n__code");
});

Deno.test("slimming keeps what the roles read and drops the rest", () => {
  const p = pods[0] as unknown as Record<string, unknown>;
  const json = JSON.stringify(p);
  assert(!json.includes("managedFields") && !json.includes("volumes") && !json.includes(`"env"`));
});

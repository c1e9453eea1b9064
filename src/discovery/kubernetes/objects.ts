/**
 * The parts of Kubernetes API objects that kubernetes_sd reads, and
 * "slimming": every object received is cut down to these fields before it is
 * stored, so that a cache of 10,000 pods holds names, labels, addresses and
 * ports, not volumes, environment, managed fields and the rest.
 *
 * @module
 */

/** `metadata` of any object. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  kind: string;
  name: string;
  controller?: boolean;
}

/** Any stored object. */
export interface KubeObject {
  metadata: ObjectMeta;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface ContainerStatus {
  name: string;
  containerID?: string;
}

export interface Pod extends KubeObject {
  spec: { nodeName?: string; containers: Container[]; initContainers: Container[] };
  status: {
    podIP?: string;
    hostIP?: string;
    phase?: string;
    conditions: { type: string; status: string }[];
    containerStatuses: ContainerStatus[];
    initContainerStatuses: ContainerStatus[];
  };
}

export interface Node extends KubeObject {
  spec: { providerID?: string };
  status: {
    addresses: { type: string; address: string }[];
    conditions: { type: string; status: string }[];
    kubeletPort: number;
  };
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

export interface Service extends KubeObject {
  spec: {
    type?: string;
    clusterIP?: string;
    externalName?: string;
    loadBalancerIP?: string;
    ports: ServicePort[];
    ipFamilyPolicy?: string;
    ipFamilies: string[];
  };
  status: { loadBalancerIPs: string[] };
}

export interface ObjectReference {
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface Endpoints extends KubeObject {
  subsets: {
    addresses: EndpointAddress[];
    notReadyAddresses: EndpointAddress[];
    ports: ServicePort[];
  }[];
}

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: ObjectReference;
  deprecatedTopology?: Record<string, string>;
}

export interface EndpointSlicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints: EndpointSliceEndpoint[];
  ports: EndpointSlicePort[];
}

export interface Ingress extends KubeObject {
  spec: {
    ingressClassName?: string;
    rules: { host?: string; paths: string[] | null }[];
    tlsHosts: string[];
  };
}

// ---------------------------------------------------------------------------
// Slimming: untrusted JSON → the shapes above (wrong types become absent).

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Json : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function bool(v: unknown): boolean | undefined {
  return typeof v === "boolean" ? v : undefined;
}

function strMap(v: unknown): Record<string, string> | undefined {
  const o = obj(v);
  const keys = Object.keys(o);
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of keys) {
    const s = str(o[k]);
    if (s !== undefined) {
      Object.defineProperty(out, k, { value: s, enumerable: true, writable: true });
    }
  }
  return out;
}

/** Drops undefined properties (smaller objects, stable JSON). */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The metadata of an object; `name` is "" when missing. */
export function slimMeta(v: unknown): ObjectMeta {
  const m = obj(v);
  const owners = arr(m.ownerReferences).map((r) => {
    const o = obj(r);
    return compact({
      kind: str(o.kind) ?? "",
      name: str(o.name) ?? "",
      controller: bool(o.controller),
    });
  }).filter((r) => r.controller === true);
  return compact({
    name: str(m.name) ?? "",
    namespace: str(m.namespace),
    uid: str(m.uid),
    resourceVersion: str(m.resourceVersion),
    labels: strMap(m.labels),
    annotations: strMap(m.annotations),
    ownerReferences: owners.length > 0 ? owners : undefined,
  });
}

function slimContainer(v: unknown): Container {
  const c = obj(v);
  const ports = arr(c.ports).map((p) => {
    const o = obj(p);
    return compact({
      name: str(o.name),
      containerPort: num(o.containerPort) ?? 0,
      protocol: str(o.protocol),
    });
  });
  return compact({ name: str(c.name) ?? "", image: str(c.image), ports });
}

function slimStatuses(v: unknown): ContainerStatus[] {
  return arr(v).map((s) => {
    const o = obj(s);
    return compact({ name: str(o.name) ?? "", containerID: str(o.containerID) });
  });
}

function slimConditions(v: unknown): { type: string; status: string }[] {
  return arr(v).map((c) => {
    const o = obj(c);
    return { type: str(o.type) ?? "", status: str(o.status) ?? "" };
  });
}

export function slimPod(v: unknown): Pod {
  const o = obj(v), spec = obj(o.spec), status = obj(o.status);
  return {
    metadata: slimMeta(o.metadata),
    spec: compact({
      nodeName: str(spec.nodeName),
      containers: arr(spec.containers).map(slimContainer),
      initContainers: arr(spec.initContainers).map(slimContainer),
    }),
    status: compact({
      podIP: str(status.podIP),
      hostIP: str(status.hostIP),
      phase: str(status.phase),
      conditions: slimConditions(status.conditions).filter((c) => c.type === "Ready"),
      containerStatuses: slimStatuses(status.containerStatuses),
      initContainerStatuses: slimStatuses(status.initContainerStatuses),
    }),
  };
}

export function slimNode(v: unknown): Node {
  const o = obj(v), spec = obj(o.spec), status = obj(o.status);
  const addresses = arr(status.addresses).map((a) => {
    const x = obj(a);
    return { type: str(x.type) ?? "", address: str(x.address) ?? "" };
  });
  return {
    metadata: slimMeta(o.metadata),
    spec: compact({ providerID: str(spec.providerID) }),
    status: {
      addresses,
      conditions: slimConditions(status.conditions),
      kubeletPort: num(obj(obj(status.daemonEndpoints).kubeletEndpoint).Port) ?? 0,
    },
  };
}

function slimServicePort(v: unknown): ServicePort {
  const p = obj(v);
  return compact({ name: str(p.name), port: num(p.port) ?? 0, protocol: str(p.protocol) });
}

export function slimService(v: unknown): Service {
  const o = obj(v), spec = obj(o.spec), status = obj(o.status);
  return {
    metadata: slimMeta(o.metadata),
    spec: compact({
      type: str(spec.type),
      clusterIP: str(spec.clusterIP),
      externalName: str(spec.externalName),
      loadBalancerIP: str(spec.loadBalancerIP),
      ports: arr(spec.ports).map(slimServicePort),
      ipFamilyPolicy: str(spec.ipFamilyPolicy),
      ipFamilies: arr(spec.ipFamilies).filter((x): x is string => typeof x === "string"),
    }),
    status: {
      loadBalancerIPs: arr(obj(status.loadBalancer).ingress)
        .map((i) => str(obj(i).ip) ?? "")
        .filter((ip) => ip !== ""),
    },
  };
}

function slimRef(v: unknown): ObjectReference | undefined {
  if (v === undefined || v === null) return undefined;
  const r = obj(v);
  return compact({ kind: str(r.kind), name: str(r.name), namespace: str(r.namespace) });
}

function slimAddress(v: unknown): EndpointAddress {
  const a = obj(v);
  return compact({
    ip: str(a.ip) ?? "",
    hostname: str(a.hostname),
    nodeName: str(a.nodeName),
    targetRef: slimRef(a.targetRef),
  });
}

export function slimEndpoints(v: unknown): Endpoints {
  const o = obj(v);
  return {
    metadata: slimMeta(o.metadata),
    subsets: arr(o.subsets).map((s) => {
      const x = obj(s);
      return {
        addresses: arr(x.addresses).map(slimAddress),
        notReadyAddresses: arr(x.notReadyAddresses).map(slimAddress),
        ports: arr(x.ports).map(slimServicePort),
      };
    }),
  };
}

export function slimEndpointSlice(v: unknown): EndpointSlice {
  const o = obj(v);
  return compact({
    metadata: slimMeta(o.metadata),
    addressType: str(o.addressType),
    endpoints: arr(o.endpoints).map((e) => {
      const x = obj(e), c = obj(x.conditions);
      return compact({
        addresses: arr(x.addresses).filter((a): a is string => typeof a === "string"),
        conditions: compact({
          ready: bool(c.ready),
          serving: bool(c.serving),
          terminating: bool(c.terminating),
        }),
        hostname: str(x.hostname),
        nodeName: str(x.nodeName),
        zone: str(x.zone),
        targetRef: slimRef(x.targetRef),
        deprecatedTopology: strMap(x.deprecatedTopology),
      });
    }),
    ports: arr(o.ports).map((p) => {
      const x = obj(p);
      return compact({
        name: str(x.name),
        port: num(x.port),
        protocol: str(x.protocol),
        appProtocol: str(x.appProtocol),
      });
    }),
  });
}

export function slimIngress(v: unknown): Ingress {
  const o = obj(v), spec = obj(o.spec);
  return {
    metadata: slimMeta(o.metadata),
    spec: compact({
      ingressClassName: str(spec.ingressClassName),
      rules: arr(spec.rules).map((r) => {
        const x = obj(r);
        const http = x.http === undefined || x.http === null ? undefined : obj(x.http);
        return compact({
          host: str(x.host),
          paths: http === undefined ? null : arr(http.paths).map((p) => str(obj(p).path) ?? ""),
        });
      }),
      tlsHosts: arr(spec.tls).flatMap((t) =>
        arr(obj(t).hosts).filter((h): h is string => typeof h === "string")
      ),
    }),
  };
}

/** Metadata only (namespaces, replica sets, jobs: their labels and owners are all that is used). */
export function slimMetaOnly(v: unknown): KubeObject {
  return { metadata: slimMeta(obj(v).metadata) };
}

/** The store key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(meta: ObjectMeta): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

/** The owner reference with `controller: true`, if any. */
export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

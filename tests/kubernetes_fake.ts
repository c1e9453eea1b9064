/**
 * A fake Kubernetes API server for integration tests: HTTPS on 127.0.0.1
 * (the CA and server certificate of src/web/testdata), answering LIST
 * requests of every collection kubernetes_sd may ask for (pods from the
 * given list, nodes and namespaces from tests/testdata/kubernetes, the
 * others empty) and holding WATCH requests open until it is closed. Every
 * request is recorded with its Authorization header.
 *
 * @module
 */

const TLS = new URL("../src/web/testdata/", import.meta.url);
const FIX = new URL("testdata/kubernetes/", import.meta.url);

/** The CA that signed the fake server's certificate (PEM file path). */
export const FAKE_CA_FILE = new URL("ca.crt", TLS).pathname;

/** One request the fake server saw. */
export interface SeenRequest {
  url: URL;
  authorization: string;
  watch: boolean;
}

/** A running fake API server. */
export interface FakeKubeApi {
  port: number;
  /** `https://127.0.0.1:PORT` */
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** A pod object as the API returns it (the fields kubernetes_sd reads, and some it drops). */
export function fakePod(
  name: string,
  ip: string,
  ports: { name: string; port: number }[],
  annotations: Record<string, string> = {},
  namespace = "default",
): unknown {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      resourceVersion: "10",
      labels: { app: name.split("-")[0] },
      annotations,
      managedFields: [{ manager: "kubelet", operation: "Update" }],
    },
    spec: {
      nodeName: "node-1",
      containers: [{
        name: "main",
        image: "registry.example/app:1",
        ports: ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
      }],
    },
    status: {
      phase: "Running",
      podIP: ip,
      hostIP: "127.0.0.1",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "main", containerID: `containerd://${name}`, ready: true }],
    },
  };
}

/** Starts the fake API server; `pods` are returned by every pods LIST. */
export async function startFakeKubeApi(pods: unknown[]): Promise<FakeKubeApi> {
  const nodes = JSON.parse(await Deno.readTextFile(new URL("nodes.json", FIX)));
  const namespaces = JSON.parse(await Deno.readTextFile(new URL("namespaces.json", FIX)));
  const requests: SeenRequest[] = [];
  const holds = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const list = (kind: string, items: unknown[]) =>
    Response.json({ kind, apiVersion: "v1", metadata: { resourceVersion: "100" }, items });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("web.crt", TLS)),
    key: await Deno.readTextFile(new URL("web.key", TLS)),
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    const watch = url.searchParams.get("watch") === "1";
    requests.push({ url, authorization: req.headers.get("authorization") ?? "", watch });
    if (watch) {
      let ctl: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          ctl = c;
          holds.add(c);
        },
        cancel() {
          holds.delete(ctl);
        },
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    const kind = url.pathname.split("/").at(-1) ?? "";
    switch (kind) {
      case "pods":
        return list("PodList", pods);
      case "nodes":
        return Response.json(nodes);
      case "namespaces":
        return Response.json(namespaces);
      case "services":
      case "endpoints":
      case "endpointslices":
      case "ingresses":
      case "replicasets":
      case "jobs":
        return list("List", []);
      default:
        return new Response("not found", { status: 404 });
    }
  });
  const port = server.addr.port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const c of holds) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      holds.clear();
      await server.shutdown();
    },
  };
}

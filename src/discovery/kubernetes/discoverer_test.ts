/**
 * kubernetes_sd against a fake API server on 127.0.0.1 (TLS, the CA and
 * server certificate in src/web/testdata) with an in-cluster service-account
 * layout in a temp dir: initial LIST, 401 with backoff, WATCH events, a
 * dropped stream (re-watch from the last resourceVersion), 500, 410 Gone as
 * an ERROR event (re-LIST), selectors and namespaces in the URLs.
 */
import { Registry } from "../../metrics/registry.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import type { ResolvedKubernetesSdConfig } from "../../config/types.ts";
import { eventually, UpdateRecorder } from "../testutil.ts";
import { KubernetesDiscoverer } from "./discoverer.ts";

const TLS = new URL("../../web/testdata/", import.meta.url);
const FIX = new URL("../../../tests/testdata/kubernetes/", import.meta.url);

type WatchStep = "events-then-drop" | "500" | "gone" | "hold";

function cfg(over: Partial<ResolvedKubernetesSdConfig> = {}): ResolvedKubernetesSdConfig {
  return {
    role: "pod",
    apiServer: "",
    kubeconfigFile: "",
    namespaces: { ownNamespace: true, names: [] },
    selectors: [{ role: "pod", label: "app=web,tier in (a,b)", field: "status.phase=Running" }],
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
    ...over,
  };
}

Deno.test("kubernetes_sd: in-cluster TLS, list, watch, drop, 500, 410 and 401 with backoff", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/token`, "tok-1\n");
  await Deno.copyFile(new URL("ca.crt", TLS), `${dir}/ca.crt`);
  await Deno.writeTextFile(`${dir}/namespace`, "default");

  const list1 = JSON.parse(await Deno.readTextFile(new URL("pods.json", FIX)));
  const watchLines = await Deno.readTextFile(new URL("pods_watch.jsonl", FIX));
  const gone = await Deno.readTextFile(new URL("watch_gone.jsonl", FIX));
  const requests: URL[] = [];
  const auths: string[] = [];
  let lists = 0;
  const watchSteps: WatchStep[] = ["events-then-drop", "500", "gone", "hold"];
  const holds: ReadableStreamDefaultController<Uint8Array>[] = [];

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("web.crt", TLS)),
    key: await Deno.readTextFile(new URL("web.key", TLS)),
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    requests.push(url);
    auths.push(req.headers.get("authorization") ?? "");
    if (url.pathname !== "/api/v1/namespaces/default/pods") {
      return new Response("nope", { status: 404 });
    }
    if (url.searchParams.get("watch") !== "1") {
      lists++;
      if (lists === 1) {
        return Response.json(
          {
            kind: "Status",
            status: "Failure",
            reason: "Unauthorized",
            code: 401,
            message: "Unauthorized",
          },
          { status: 401 },
        );
      }
      if (lists === 2) return Response.json(list1);
      // After 410: the world moved on.
      return Response.json({
        kind: "PodList",
        metadata: { resourceVersion: "2000" },
        items: [{
          metadata: { name: "late-1", namespace: "default", resourceVersion: "1999" },
          spec: { containers: [{ name: "l", ports: [{ containerPort: 7000, protocol: "TCP" }] }] },
          status: { podIP: "10.244.3.3", phase: "Running" },
        }],
      });
    }
    const step = watchSteps.shift() ?? "hold";
    if (step === "500") return new Response("boom", { status: 500 });
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        if (step === "events-then-drop") {
          // Split a line across chunks: the reader must join them.
          const all = enc.encode(watchLines);
          c.enqueue(all.subarray(0, 50));
          c.enqueue(all.subarray(50));
          c.close();
        } else if (step === "gone") {
          c.enqueue(enc.encode(gone));
          c.close();
        } else holds.push(c);
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });

  const abort = new AbortController();
  const rec = new UpdateRecorder();
  const registry = new Registry();
  const d = new KubernetesDiscoverer(cfg(), {
    job: "k8s",
    registry,
    inCluster: {
      dir,
      env: (n) =>
        n === "KUBERNETES_SERVICE_HOST"
          ? "127.0.0.1"
          : n === "KUBERNETES_SERVICE_PORT"
          ? String(server.addr.port)
          : undefined,
    },
    backoff: { initialMs: 20, maxMs: 100 },
    flushMs: 10,
  });
  const run = d.run(abort.signal, rec.update);
  try {
    const sources = () => (rec.updates.at(-1) ?? []).map((g) => g.source).sort();
    await eventually("initial list", () => sources().includes("pod/default/web-7d4b9c-abcde"));
    await eventually("watch events", () => {
      const s = sources();
      return s.includes("pod/default/api-1") && !s.includes("pod/default/pending-1");
    });
    await eventually("re-list after 410", () => sources().join() === "pod/default/late-1", {
      detail: () => sources().join(),
    });
    assertEquals(rec.addresses(), ["10.244.3.3:7000"]);

    const lists_ = requests.filter((u) => u.searchParams.get("watch") !== "1");
    const watches = requests.filter((u) => u.searchParams.get("watch") === "1");
    assertEquals(lists_.length, 3); // 401, ok, after 410
    for (const u of requests) {
      assertEquals(u.searchParams.get("labelSelector"), "app=web,tier in (a,b)");
      assertEquals(u.searchParams.get("fieldSelector"), "status.phase=Running");
    }
    assertEquals(lists_[1].searchParams.get("limit"), "500");
    assertEquals(watches[0].searchParams.get("resourceVersion"), "1000");
    assertEquals(watches[0].searchParams.get("allowWatchBookmarks"), "true");
    // Re-watch after the drop starts from the last event's resourceVersion.
    assertEquals(watches[1].searchParams.get("resourceVersion"), "1004");
    assertEquals(watches[2].searchParams.get("resourceVersion"), "1004");
    assertEquals(watches[3].searchParams.get("resourceVersion"), "2000");
    assert(auths.every((a) => a === "Bearer tok-1"), auths.join());
  } finally {
    abort.abort();
    for (const c of holds) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await run;
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

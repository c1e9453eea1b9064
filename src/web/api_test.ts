import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { Registry } from "../metrics/registry.ts";
import { AGENT_UNAVAILABLE, createHandler, type HandlerDeps, METRICS_CONTENT_TYPE } from "./api.ts";
import type { AgentStatusProvider, DroppedTargetStatus, TargetStatus } from "./status.ts";
import { fakeEndpointStatus } from "../remote/test_util.ts";

function assertStringIncludes(actual: string, expected: string): void {
  assert(actual.includes(expected), `expected to find ${JSON.stringify(expected)} in:\n${actual}`);
}

const NOW = Date.UTC(2026, 7, 21, 12, 0, 0, 0);

function target(pool: string, instance: string, over: Partial<TargetStatus> = {}): TargetStatus {
  return {
    scrapePool: pool,
    scrapeUrl: `http://${instance}/metrics`,
    globalUrl: `http://${instance}/metrics`,
    labels: { job: pool, instance },
    discoveredLabels: { __address__: instance, __scheme__: "http", job: pool },
    health: "up",
    lastError: "",
    lastScrape: NOW - 3200,
    lastScrapeDurationSeconds: 0.0125,
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
    ...over,
  };
}

interface Fake extends AgentStatusProvider {
  isReady: boolean;
  active: TargetStatus[];
  dropped: DroppedTargetStatus[];
}

function fakeStatus(over: Partial<AgentStatusProvider> = {}): Fake {
  const fake: Fake = {
    isReady: true,
    active: [
      target("node", "b:9100", { health: "down", lastError: "connection refused" }),
      target("app", "a:8080", { lastScrape: null, health: "unknown", scrapeIntervalMs: 60_000 }),
      target("node", "a:9100"),
    ],
    dropped: [
      { scrapePool: "node", discoveredLabels: { __address__: "c:9100", job: "node" } },
    ],
    targets: () => fake.active,
    droppedTargets: () => fake.dropped,
    endpoints: () => [fakeEndpointStatus({
      name: "mimir",
      url: "https://mimir.example/api/v1/push",
      samplesSent: 10,
      samplesFailed: 1,
      samplesRetried: 2,
      samplesDropped: 3,
      samplesPending: 4,
      bytesSent: 1234,
      lastError: "",
      lastErrorTime: null,
      lastSendTime: NOW - 1000,
      cursor: { segment: 1, offset: 2 },
    })],
    ready: () => fake.isReady,
    startTime: NOW - 3_723_000,
    version: "0.1.0",
    ...over,
  };
  return fake;
}

function setup(over: Partial<HandlerDeps> = {}, status = fakeStatus()) {
  const registry = new Registry();
  const handler = createHandler({ status, registry, now: () => NOW, ...over });
  const call = (path: string, init?: RequestInit) =>
    Promise.resolve(handler(new Request(`http://ferry.test${path}`, init)));
  return { registry, status, handler, call };
}

async function getJson(res: Response): Promise<unknown> {
  assertEquals(res.headers.get("content-type"), "application/json");
  return JSON.parse(await res.text());
}

Deno.test("GET /metrics exposes the registry and prometheus_build_info", async () => {
  const { registry, call } = setup(
    {},
    fakeStatus({ build: { revision: "abc123", branch: "main" } }),
  );
  registry.counter({ name: "ferry_test_total", help: "t" }).inc(3);
  const res = await call("/metrics");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), METRICS_CONTENT_TYPE);
  const body = await res.text();
  assertStringIncludes(body, "ferry_test_total 3\n");
  assertStringIncludes(body, "# TYPE prometheus_build_info gauge\n");
  const line = body.split("\n").find((l) => l.startsWith("prometheus_build_info{"));
  assert(line, body);
  assertStringIncludes(line, 'branch="main"');
  assertStringIncludes(line, 'revision="abc123"');
  assertStringIncludes(line, 'version="0.1.0"');
  assertStringIncludes(line, `goversion="deno ${Deno.version.deno}"`);
  assertStringIncludes(line, `goos="${Deno.build.os}"`);
  assertMatch(line, /goarch="[^"]+"/);
  assertStringIncludes(line, 'tags=""');
  assert(line.endsWith("} 1"), line);

  // The first request is now counted.
  const again = await (await call("/metrics")).text();
  assertStringIncludes(again, 'prometheus_http_requests_total{code="200",handler="/metrics"} 1\n');
  assertStringIncludes(
    again,
    'prometheus_http_request_duration_seconds_count{handler="/metrics"} 1\n',
  );
});

Deno.test("health and readiness", async (t) => {
  const { call, status } = setup();
  await t.step("healthy GET and HEAD", async () => {
    const res = await call("/-/healthy");
    assertEquals([res.status, await res.text()], [200, "Ferry is Healthy.\n"]);
    const head = await call("/-/healthy", { method: "HEAD" });
    assertEquals([head.status, await head.text()], [200, ""]);
  });
  await t.step("ready", async () => {
    const res = await call("/-/ready");
    assertEquals([res.status, await res.text()], [200, "Ferry is Ready.\n"]);
    const head = await call("/-/ready", { method: "HEAD" });
    assertEquals([head.status, await head.text()], [200, ""]);
  });
  await t.step("not ready: 503 on /-/ready and the API, healthy stays 200", async () => {
    status.isReady = false;
    const res = await call("/-/ready");
    assertEquals([res.status, await res.text()], [503, "Service Unavailable"]);
    const head = await call("/-/ready", { method: "HEAD" });
    assertEquals([head.status, await head.text()], [503, ""]);
    for (const p of ["/api/v1/targets", "/api/v1/status/buildinfo", "/api/v1/query"]) {
      const r = await call(p);
      assertEquals([p, r.status, await r.text()], [p, 503, "Service Unavailable"]);
    }
    assertEquals((await call("/-/healthy")).status, 200);
    const home = await call("/");
    assertEquals(home.status, 200);
    assertStringIncludes(await home.text(), "not ready");
    status.isReady = true;
  });
});

Deno.test("GET /api/v1/targets has Prometheus' exact shape", async () => {
  const { call } = setup();
  const res = await call("/api/v1/targets");
  assertEquals(res.status, 200);
  assertEquals(await getJson(res), {
    status: "success",
    data: {
      activeTargets: [
        {
          discoveredLabels: { __address__: "a:8080", __scheme__: "http", job: "app" },
          labels: { instance: "a:8080", job: "app" },
          scrapePool: "app",
          scrapeUrl: "http://a:8080/metrics",
          globalUrl: "http://a:8080/metrics",
          lastError: "",
          lastScrape: "0001-01-01T00:00:00Z",
          lastScrapeDuration: 0.0125,
          health: "unknown",
          scrapeInterval: "1m",
          scrapeTimeout: "10s",
        },
        {
          discoveredLabels: { __address__: "b:9100", __scheme__: "http", job: "node" },
          labels: { instance: "b:9100", job: "node" },
          scrapePool: "node",
          scrapeUrl: "http://b:9100/metrics",
          globalUrl: "http://b:9100/metrics",
          lastError: "connection refused",
          lastScrape: "2026-08-21T11:59:56.800Z",
          lastScrapeDuration: 0.0125,
          health: "down",
          scrapeInterval: "15s",
          scrapeTimeout: "10s",
        },
        {
          discoveredLabels: { __address__: "a:9100", __scheme__: "http", job: "node" },
          labels: { instance: "a:9100", job: "node" },
          scrapePool: "node",
          scrapeUrl: "http://a:9100/metrics",
          globalUrl: "http://a:9100/metrics",
          lastError: "",
          lastScrape: "2026-08-21T11:59:56.800Z",
          lastScrapeDuration: 0.0125,
          health: "up",
          scrapeInterval: "15s",
          scrapeTimeout: "10s",
        },
      ],
      droppedTargets: [
        { discoveredLabels: { __address__: "c:9100", job: "node" }, scrapePool: "node" },
      ],
      droppedTargetCounts: { app: 0, node: 1 },
    },
  });
});

Deno.test("GET /api/v1/targets emits label names sorted and escapes HTML-unsafe characters", async () => {
  const status = fakeStatus();
  status.active = [
    target("p", "x:1", { labels: { zeta: "1", alpha: "<script>&", "0num": "n" } }),
  ];
  const { call } = setup({}, status);
  const raw = await (await call("/api/v1/targets?state=active")).text();
  assertStringIncludes(
    raw,
    '"labels":{"0num":"n","alpha":"\\u003cscript\\u003e\\u0026","zeta":"1"}',
  );
  assert(!raw.includes("<"), raw);
  const parsed = JSON.parse(raw) as { data: { activeTargets: { labels: unknown }[] } };
  assertEquals(parsed.data.activeTargets[0].labels, { "0num": "n", alpha: "<script>&", zeta: "1" });
});

Deno.test("GET /api/v1/targets filters by state and scrapePool", async (t) => {
  const { call, status } = setup();
  type Body = {
    data: {
      activeTargets: { scrapePool: string; scrapeUrl: string }[];
      droppedTargets: { scrapePool: string }[];
      droppedTargetCounts: Record<string, number> | null;
    };
  };
  const get = async (q: string) => (await getJson(await call(`/api/v1/targets${q}`))) as Body;
  const urls = (b: Body) => b.data.activeTargets.map((x) => x.scrapeUrl);

  await t.step("state=active", async () => {
    const b = await get("?state=active");
    assertEquals(b.data.activeTargets.length, 3);
    assertEquals(b.data.droppedTargets, []);
    assertEquals(b.data.droppedTargetCounts, null);
  });
  await t.step("state=dropped", async () => {
    const b = await get("?state=dropped");
    assertEquals(b.data.activeTargets, []);
    assertEquals(b.data.droppedTargets.length, 1);
    assertEquals(b.data.droppedTargetCounts, { app: 0, node: 1 });
  });
  await t.step("state=any and case-insensitive", async () => {
    assertEquals((await get("?state=any")).data.activeTargets.length, 3);
    assertEquals((await get("?state=ACTIVE")).data.droppedTargetCounts, null);
  });
  await t.step("unknown state gives empty lists", async () => {
    const b = await get("?state=bogus");
    assertEquals([b.data.activeTargets, b.data.droppedTargets], [[], []]);
    assertEquals(b.data.droppedTargetCounts, null);
  });
  await t.step("scrapePool filters both lists, not the counts", async () => {
    const b = await get("?scrapePool=app");
    assertEquals(urls(b), ["http://a:8080/metrics"]);
    assertEquals(b.data.droppedTargets, []);
    assertEquals(b.data.droppedTargetCounts, { app: 0, node: 1 });
    assertEquals(urls(await get("?scrapePool=node&state=active")), [
      "http://b:9100/metrics",
      "http://a:9100/metrics",
    ]);
    assertEquals((await get("?scrapePool=none")).data.activeTargets, []);
  });
  await t.step("provider's droppedTargetCounts win", async () => {
    status.droppedTargetCounts = () => ({ node: 250, app: 0 });
    assertEquals((await get("")).data.droppedTargetCounts, { app: 0, node: 250 });
    delete status.droppedTargetCounts;
  });
});

Deno.test("status endpoints", async (t) => {
  await t.step("buildinfo", async () => {
    const { call } = setup({}, fakeStatus({ build: { revision: "r", buildDate: "d" } }));
    assertEquals(await getJson(await call("/api/v1/status/buildinfo")), {
      status: "success",
      data: {
        version: "0.1.0",
        revision: "r",
        branch: "",
        buildUser: "",
        buildDate: "d",
        goVersion: `deno ${Deno.version.deno}`,
      },
    });
  });
  await t.step("runtimeinfo", async () => {
    const { call } = setup(
      {},
      fakeStatus({
        runtimeInfo: () => ({ reloadConfigSuccess: false, lastConfigTime: NOW - 1000 }),
      }),
    );
    const b = (await getJson(await call("/api/v1/status/runtimeinfo"))) as {
      status: string;
      data: Record<string, unknown>;
    };
    assertEquals(b.status, "success");
    assertEquals(Object.keys(b.data), [
      "startTime",
      "CWD",
      "hostname",
      "serverTime",
      "reloadConfigSuccess",
      "lastConfigTime",
      "corruptionCount",
      "goroutineCount",
      "GOMAXPROCS",
      "GOMEMLIMIT",
      "GOGC",
      "GODEBUG",
      "storageRetention",
    ]);
    assertEquals(b.data.startTime, "2026-08-21T10:57:57.000Z");
    assertEquals(b.data.serverTime, "2026-08-21T12:00:00.000Z");
    assertEquals(b.data.reloadConfigSuccess, false);
    assertEquals(b.data.lastConfigTime, "2026-08-21T11:59:59.000Z");
    assertEquals(b.data.CWD, Deno.cwd());
  });
  await t.step("config", async () => {
    const { call } = setup(
      {},
      fakeStatus({ configYaml: () => "global:\n  scrape_interval: 15s\n" }),
    );
    assertEquals(await getJson(await call("/api/v1/status/config")), {
      status: "success",
      data: { yaml: "global:\n  scrape_interval: 15s\n" },
    });
    const none = setup();
    assertEquals(await getJson(await none.call("/api/v1/status/config")), {
      status: "success",
      data: { yaml: "" },
    });
  });
  await t.step("flags", async () => {
    const { call } = setup({}, fakeStatus({ flags: () => ({ "config.file": "a.yml" }) }));
    assertEquals(await getJson(await call("/api/v1/status/flags")), {
      status: "success",
      data: { "config.file": "a.yml" },
    });
  });
  await t.step("scrape_pools", async () => {
    const { call } = setup();
    assertEquals(await getJson(await call("/api/v1/scrape_pools")), {
      status: "success",
      data: { scrapePools: ["app", "node"] },
    });
  });
});

Deno.test("query endpoints answer 422 as Prometheus Agent does", async (t) => {
  const { call } = setup();
  const cases: [string, string][] = [
    ["GET", "/api/v1/query?query=up"],
    ["POST", "/api/v1/query"],
    ["GET", "/api/v1/query_range"],
    ["POST", "/api/v1/query_range"],
    ["GET", "/api/v1/query_exemplars"],
    ["GET", "/api/v1/series"],
    ["POST", "/api/v1/series"],
    ["GET", "/api/v1/labels"],
    ["POST", "/api/v1/labels"],
    ["GET", "/api/v1/label/job/values"],
    ["GET", "/api/v1/label/__name__/values"],
    ["GET", "/api/v1/alerts"],
    ["GET", "/api/v1/rules"],
    ["GET", "/api/v1/alertmanagers"],
    ["GET", "/api/v1/status/tsdb"],
    ["POST", "/api/v1/admin/tsdb/snapshot"],
    ["PUT", "/api/v1/admin/tsdb/delete_series"],
  ];
  for (const [method, path] of cases) {
    await t.step(`${method} ${path}`, async () => {
      const res = await call(path, { method });
      assertEquals(res.status, 422);
      assertEquals(await getJson(res), {
        status: "error",
        errorType: "execution",
        error: AGENT_UNAVAILABLE,
      });
    });
  }
});

Deno.test("unknown paths 404, wrong methods 405 with Allow", async (t) => {
  const { call } = setup();
  for (
    const p of ["/nope", "/api/v1/nope", "/api/v1/label/job", "/api/v1/targets/", "/metrics/x"]
  ) {
    await t.step(`404 ${p}`, async () => {
      const res = await call(p);
      assertEquals([res.status, await res.text()], [404, "404 page not found\n"]);
    });
  }
  const cases: [string, string, string][] = [
    ["POST", "/api/v1/targets", "GET, HEAD, OPTIONS"],
    ["DELETE", "/metrics", "GET, HEAD"],
    ["POST", "/-/healthy", "GET, HEAD"],
    ["PUT", "/", "GET, HEAD"],
    ["GET", "/api/v1/admin/tsdb/snapshot", "POST, PUT, OPTIONS"],
    ["DELETE", "/api/v1/query", "GET, POST, HEAD, OPTIONS"],
  ];
  for (const [method, path, allow] of cases) {
    await t.step(`405 ${method} ${path}`, async () => {
      const res = await call(path, { method });
      assertEquals(res.status, 405);
      assertEquals(res.headers.get("allow"), allow);
      assertEquals(await res.text(), "Method Not Allowed\n");
    });
  }
});

Deno.test("API CORS and OPTIONS", async () => {
  const { call } = setup({ corsOrigin: /^(?:https:\/\/grafana\.example)$/ });
  const opt = await call("/api/v1/query", {
    method: "OPTIONS",
    headers: { origin: "https://grafana.example" },
  });
  assertEquals(opt.status, 204);
  assertEquals(opt.headers.get("access-control-allow-origin"), "https://grafana.example");
  assertEquals(opt.headers.get("access-control-allow-methods"), "GET, POST, OPTIONS");
  const any = await call("/api/v1/anything", { method: "OPTIONS" });
  assertEquals(any.status, 204);
  const other = await call("/api/v1/targets", { headers: { origin: "https://evil.example" } });
  assertEquals(other.status, 200);
  assertEquals(other.headers.get("access-control-allow-origin"), null);
  await other.body?.cancel();
});

Deno.test("lifecycle endpoints", async (t) => {
  await t.step("disabled: 403 for POST/PUT, 405 for GET", async () => {
    const { call } = setup();
    for (const p of ["/-/reload", "/-/quit"]) {
      for (const method of ["POST", "PUT"]) {
        const res = await call(p, { method });
        assertEquals([res.status, await res.text()], [403, "Lifecycle API is not enabled."]);
      }
      const res = await call(p);
      assertEquals([res.status, await res.text()], [405, "Only POST or PUT requests allowed"]);
    }
  });
  await t.step("enabled", async () => {
    let reloads = 0;
    let quits = 0;
    let fail = false;
    const { call } = setup({
      lifecycle: {
        reload: () => {
          reloads++;
          return fail ? Promise.reject(new Error("bad yaml at line 3")) : Promise.resolve();
        },
        quit: () => void quits++,
      },
    });
    const ok = await call("/-/reload", { method: "POST" });
    assertEquals([ok.status, await ok.text()], [200, ""]);
    fail = true;
    const bad = await call("/-/reload", { method: "PUT" });
    assertEquals([bad.status, await bad.text()], [
      500,
      "failed to reload config: bad yaml at line 3\n",
    ]);
    assertEquals(reloads, 2);
    const q1 = await call("/-/quit", { method: "POST" });
    assertEquals([q1.status, await q1.text()], [200, "Requesting termination... Goodbye!"]);
    const q2 = await call("/-/quit", { method: "POST" });
    assertEquals([q2.status, await q2.text()], [200, "Termination already in progress."]);
    assertEquals(quits, 1);
  });
});

Deno.test("GET / renders the home page with escaped values", async () => {
  const status = fakeStatus();
  status.active = [
    target("<pool>", "x:1", {
      labels: { evil: "<script>alert(1)</script>", instance: "x:1" },
      lastError: '<img src=x onerror="alert(2)">',
    }),
  ];
  const { call } = setup({}, status);
  for (const p of ["/", "/agent"]) {
    const res = await call(p);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await res.text();
    assertStringIncludes(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    assertStringIncludes(html, "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;");
    assertStringIncludes(html, "&lt;pool&gt;");
    assert(!html.includes("<script"), "raw <script> in page");
    assert(!html.includes("<img"), "raw <img> in page");
    assertStringIncludes(html, 'href="./metrics"');
    assertStringIncludes(html, 'href="./api/v1/targets"');
    assertStringIncludes(html, 'up <b id="uptime">1h2m3s</b>');
  }
  const head = await call("/", { method: "HEAD" });
  assertEquals([head.status, await head.text()], [200, ""]);
  assertEquals(head.headers.get("content-type"), "text/html; charset=utf-8");
});

Deno.test("a throwing provider gives 500 and is logged, not thrown", async () => {
  const status = fakeStatus({
    targets: () => {
      throw new Error("boom");
    },
  });
  const { call } = setup({}, status);
  const res = await call("/api/v1/targets");
  assertEquals([res.status, await res.text()], [500, "Internal Server Error\n"]);
  const home = await call("/");
  assertEquals(home.status, 500);
  await home.body?.cancel();
});

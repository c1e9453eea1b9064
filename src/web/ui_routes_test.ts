/**
 * Handler tests (no socket) for `/api/v1/targets/relabel_steps`,
 * `/api/v1/targets/metadata`, the UI pages and the `/ui/api/*` JSON they poll.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ResolvedRelabelConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { createHandler } from "./api.ts";
import type { AgentStatusProvider, TargetStatus } from "./status.ts";
import { parseSelector } from "./targets_api.ts";
import { PAGES } from "./ui/pages.ts";
import { fakeEndpointStatus } from "../remote/test_util.ts";

const NOW = Date.UTC(2026, 7, 21, 12, 0, 0, 0);

const RULES: ResolvedRelabelConfig[] = [
  {
    sourceLabels: ["__address__"],
    separator: ";",
    regex: "drop-me:.*",
    modulus: 0,
    targetLabel: "",
    replacement: "$1",
    action: "drop",
  },
  {
    sourceLabels: [],
    separator: ";",
    regex: "(.*)",
    modulus: 0,
    targetLabel: "team",
    replacement: "infra",
    action: "replace",
  },
];

function target(pool: string, i: number, health: TargetStatus["health"] = "up"): TargetStatus {
  const instance = `host-${String(i).padStart(5, "0")}:9100`;
  return {
    scrapePool: pool,
    scrapeUrl: `http://${instance}/metrics`,
    globalUrl: `http://${instance}/metrics`,
    labels: { job: pool, instance, team: "infra" },
    discoveredLabels: { __address__: instance, job: pool },
    health,
    lastError: health === "down" ? "connection refused" : "",
    lastScrape: NOW - 1000,
    lastScrapeDurationSeconds: 0.01,
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
  };
}

function fake(active: TargetStatus[] = [target("node", 1), target("node", 2, "down")]) {
  const status: AgentStatusProvider = {
    targets: () => active,
    droppedTargets: () => [{ scrapePool: "node", discoveredLabels: { __address__: "drop-me:1" } }],
    endpoints: () => [fakeEndpointStatus({
      name: "mimir",
      url: "https://mimir.example/push",
      protocol: "prometheus.WriteRequest",
      fellBack: true,
      shards: 3,
      desiredShards: 3.42,
      maxShards: 50,
      samplesSent: 10,
      samplesFailed: 0,
      samplesRetried: 0,
      samplesDropped: 0,
      samplesPending: 3,
      bytesSent: 100,
      lastError: "",
      lastErrorTime: null,
      lastSendTime: NOW - 500,
      cursor: { segment: 1, offset: 20 },
      histograms: { sent: 5, failed: 0, retried: 0, dropped: 1, pending: 0 },
    })],
    ready: () => true,
    startTime: NOW - 65_000,
    version: "0.1.0",
    relabelConfigs: (pool) => (pool === "node" ? RULES : undefined),
    metadata: () => [
      {
        target: { job: "node", instance: "a:9100" },
        metric: "up_total",
        type: "counter",
        help: "Ups.",
        unit: "",
      },
      {
        target: { job: "node", instance: "b:9100" },
        metric: "temp",
        type: "gauge",
        help: "",
        unit: "celsius",
      },
      {
        target: { job: "app", instance: "c:80" },
        metric: "temp",
        type: "gauge",
        help: "T.",
        unit: "",
      },
    ],
    remoteWrite: () => [{ name: "mimir", maxDiskBytes: 0 }],
    wal: () => ({
      segments: [{ segment: 0, samples: 5 }, { segment: 1, samples: 7 }, {
        segment: 2,
        samples: 9,
      }],
      diskBytes: 4096,
      head: { segment: 2, offset: 100 },
      series: 12,
      replay: {
        min: 0,
        max: 1,
        current: 1,
        durationSeconds: 0.5,
        series: 10,
        samples: 12,
        corruptions: 0,
      },
      dir: "/data",
    }),
    configFile: () => "/etc/ferry/agent.config.ts",
  };
  const handler = createHandler({ status, registry: new Registry(), now: () => NOW });
  return async (path: string) => {
    const res = await handler(new Request(`http://ferry.test${path}`));
    const text = await res.text();
    return { status: res.status, type: res.headers.get("content-type"), text };
  };
}

async function getJson(call: ReturnType<typeof fake>, path: string) {
  const r = await call(path);
  return { status: r.status, body: JSON.parse(r.text) };
}

Deno.test("relabel_steps: each rule with its output, in Prometheus' shape", async (t) => {
  const call = fake();
  const q = (labels: unknown, pool = "node") =>
    `/api/v1/targets/relabel_steps?scrapePool=${encodeURIComponent(pool)}&labels=${
      encodeURIComponent(typeof labels === "string" ? labels : JSON.stringify(labels))
    }`;
  await t.step("kept target", async () => {
    const { status, body } = await getJson(call, q({ __address__: "a:1", job: "node" }));
    assertEquals(status, 200);
    assertEquals(body, {
      status: "success",
      data: {
        steps: [
          {
            rule: {
              source_labels: ["__address__"],
              separator: ";",
              regex: "drop-me:.*",
              replacement: "$1",
              action: "drop",
            },
            output: { __address__: "a:1", job: "node" },
            keep: true,
          },
          {
            rule: {
              separator: ";",
              regex: "(.*)",
              target_label: "team",
              replacement: "infra",
              action: "replace",
            },
            output: { __address__: "a:1", job: "node", team: "infra" },
            keep: true,
          },
        ],
      },
    });
  });
  await t.step("dropped target", async () => {
    const { body } = await getJson(call, q({ __address__: "drop-me:1" }));
    assertEquals(body.data.steps.length, 1, "steps stop where the target is dropped");
    assertEquals(body.data.steps[0].keep, false);
    assertEquals(body.data.steps[0].output, { __address__: "drop-me:1" });
  });
  const errors: [string, string, number, string][] = [
    ["no pool", "/api/v1/targets/relabel_steps?labels=%7B%7D", 400, "bad_data"],
    ["no labels", "/api/v1/targets/relabel_steps?scrapePool=node", 400, "bad_data"],
    ["bad JSON", q("{nope"), 400, "bad_data"],
    ["array", q("[]"), 400, "bad_data"],
    ["non-string value", q({ a: 1 }), 400, "bad_data"],
    ["unknown pool", q({}, "nope"), 404, "not_found"],
  ];
  for (const [name, path, code, type] of errors) {
    await t.step(name, async () => {
      const { status, body } = await getJson(call, path);
      assertEquals([status, body.status, body.errorType], [code, "error", type]);
    });
  }
});

Deno.test("targets/metadata: filters by match_target, metric and limit", async (t) => {
  const call = fake();
  await t.step("all", async () => {
    const { status, body } = await getJson(call, "/api/v1/targets/metadata");
    assertEquals(status, 200);
    assertEquals(body.data.length, 3);
    assertEquals(body.data[0], {
      target: { job: "node", instance: "a:9100" },
      metric: "up_total",
      type: "counter",
      help: "Ups.",
      unit: "",
    });
  });
  await t.step("metric: the metric field is omitted", async () => {
    const { body } = await getJson(call, "/api/v1/targets/metadata?metric=temp");
    assertEquals(body.data.length, 2);
    assertEquals(Object.keys(body.data[0]).sort(), ["help", "target", "type", "unit"]);
  });
  await t.step("match_target", async () => {
    const sel = encodeURIComponent('{job="node", instance=~"b:.*"}');
    const { body } = await getJson(call, `/api/v1/targets/metadata?match_target=${sel}`);
    assertEquals(body.data.map((m: { metric: string }) => m.metric), ["temp"]);
  });
  await t.step("limit", async () => {
    const { body } = await getJson(call, "/api/v1/targets/metadata?limit=1");
    assertEquals(body.data.length, 1);
  });
  await t.step("bad selector and limit", async () => {
    for (
      const p of ["match_target=job%3D%22x%22", "match_target=%7Bjob%3D~%22(%22%7D", "limit=x"]
    ) {
      const { status, body } = await getJson(call, `/api/v1/targets/metadata?${p}`);
      assertEquals([status, body.errorType], [400, "bad_data"], p);
    }
  });
});

Deno.test("parseSelector: operators, escapes, errors", () => {
  const ms = parseSelector('{ a = "x\\"y" , b!="", c=~"d.*", e!~"f" }');
  assertEquals(ms.map((m) => [m.name, m.op, m.value]), [
    ["a", "=", 'x"y'],
    ["b", "!=", ""],
    ["c", "=~", "d.*"],
    ["e", "!~", "f"],
  ]);
  assertEquals(parseSelector("{}"), []);
  for (const bad of ["a", "{a}", '{a="b" c="d"}', '{a="b}', '{1a="b"}']) {
    let threw = false;
    try {
      parseSelector(bad);
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});

Deno.test("UI pages: self-contained HTML with the shared nav", async () => {
  const call = fake();
  for (const page of PAGES) {
    const r = await call(page.path);
    assertEquals(r.status, 200, page.path);
    assertEquals(r.type, "text/html; charset=utf-8");
    for (const p of PAGES) {
      assert(r.text.includes(`href="${p.path}"`), `${page.path} links ${p.path}`);
    }
    assert(!/(src|href)="https?:/.test(r.text), `${page.path}: no external assets`);
    assert(r.text.includes(`const PAGE = "${page.id}"`));
  }
  const home = await call("/");
  for (const p of PAGES) assert(home.text.includes(`href="${p.path}"`), `home links ${p.path}`);
});

Deno.test("/ui/api/targets: filters and paginates 10,000 targets quickly", async (t) => {
  const many: TargetStatus[] = [];
  for (let i = 0; i < 10_000; i++) many.push(target(i % 2 ? "b" : "a", i, i % 10 ? "up" : "down"));
  const call = fake(many);
  await t.step("first page, pool counts", async () => {
    const start = performance.now();
    const { body } = await getJson(call, "/ui/api/targets?size=50");
    const ms = performance.now() - start;
    assert(ms < 500, `took ${ms} ms`);
    assertEquals([body.total, body.page, body.pages, body.targets.length], [10_000, 1, 200, 50]);
    assertEquals(body.pools, [
      { name: "a", up: 4000, down: 1000, unknown: 0, dropped: 0 },
      { name: "b", up: 5000, down: 0, unknown: 0, dropped: 0 },
      { name: "node", up: 0, down: 0, unknown: 0, dropped: 1 },
    ]);
    assert(body.targets.every((x: TargetStatus) => x.scrapePool === "a"));
  });
  await t.step("pool, health and search filters; page clamped", async () => {
    const { body } = await getJson(call, "/ui/api/targets?pool=a&health=down&page=999&size=500");
    assertEquals([body.total, body.page, body.pages], [1000, 2, 2]);
    const s = await getJson(call, "/ui/api/targets?q=host-00042");
    assertEquals(s.body.targets.map((x: TargetStatus) => x.labels.instance), ["host-00042:9100"]);
  });
});

Deno.test("/ui/api/sd: active and dropped targets", async () => {
  const call = fake();
  const all = await getJson(call, "/ui/api/sd");
  assertEquals(all.body.total, 3);
  const dropped = await getJson(call, "/ui/api/sd?show=dropped");
  assertEquals(dropped.body.items, [{
    scrapePool: "node",
    discoveredLabels: { __address__: "drop-me:1" },
    labels: null,
  }]);
  const active = await getJson(call, "/ui/api/sd?show=active&pool=node");
  assertEquals(active.body.items.length, 2);
  assertEquals(active.body.items[0].labels.team, "infra");
});

Deno.test("/ui/api/remote_write, wal and status", async () => {
  const call = fake();
  const rw = (await getJson(call, "/ui/api/remote_write")).body;
  assertEquals(rw.head, { segment: 2, offset: 100 });
  const e = rw.endpoints[0];
  assertEquals(
    [e.name, e.protocol, e.fellBack, e.shards, e.desiredShards, e.maxShards, e.samplesPending],
    ["mimir", "prometheus.WriteRequest", true, 3, 3.42, 50, 3],
  );
  assertEquals(e.histograms.sent, 5);
  // Cursor in segment 1: segments 1 and 2 are held for it.
  assertEquals([e.segmentsHeld, e.samplesHeld], [2, 16]);
  const wal = (await getJson(call, "/ui/api/wal")).body;
  assertEquals(wal.wal.segments.length, 3);
  assertEquals(wal.wal.diskBytes, 4096);
  const st = (await getJson(call, "/ui/api/status")).body;
  assertEquals([st.version, st.uptimeSeconds, st.deno], ["0.1.0", 65, Deno.version.deno]);
  assertEquals(st.configFile, "/etc/ferry/agent.config.ts");
  assertEquals(Object.keys(st.permissions), [
    "read",
    "write",
    "net",
    "env",
    "sys",
    "run",
    "ffi",
    "import",
  ]);
  assert(["granted", "prompt", "denied"].includes(st.permissions.read));
});

Deno.test("Remote write page: shows the protocol in use, fallback, shards and desired shards", async () => {
  const call = fake();
  const html = (await call("/remote-write")).text;
  const script = html.slice(html.indexOf("<script>") + 8, html.lastIndexOf("</script>"));
  const el = () => ({ innerHTML: "", textContent: "", className: "", contains: () => false });
  const els: Record<string, ReturnType<typeof el>> = {};
  const doc = {
    getElementById: (id: string) => (els[id] ??= el()),
    querySelectorAll: () => [],
    addEventListener: () => {},
    activeElement: null,
    hidden: false,
  };
  const fetchStub = async (path: string) => {
    const r = await call(path);
    return new Response(r.text, { status: r.status });
  };
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  // The page script ends by scheduling the next refresh: that is when the first render is done.
  const run = new Function(
    "document",
    "fetch",
    "location",
    "history",
    "setTimeout",
    "clearTimeout",
    script,
  );
  run(doc, fetchStub, { search: "", pathname: "/remote-write" }, {}, () => done(), () => {});
  await finished;
  const out = els["results"].innerHTML;
  assert(
    out.includes('<td class="protocol">prometheus.WriteRequest<div class="muted">fell back'),
    out,
  );
  assert(
    out.includes('<td class="num shards">3 / 50<div class="muted">desired 3.42, min 1</div>'),
    out,
  );
  assert(out.includes("5 / 0<div"), `histograms / exemplars: ${out}`);
  assertEquals(els["status-line"].className, "muted");
});

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

/** 10,000 targets in pools "a" and "b" (every tenth down) and `dropped` dropped ones in "a". */
function manyTargets(dropped = 0) {
  const many: TargetStatus[] = [];
  for (let i = 0; i < 10_000; i++) many.push(target(i % 2 ? "b" : "a", i, i % 10 ? "up" : "down"));
  const drops = Array.from({ length: dropped }, (_, i) => ({
    scrapePool: "a",
    discoveredLabels: { __address__: `drop-${i}:1` },
  }));
  return { many, drops };
}

Deno.test("/ui/api/targets: filters and paginates 10,000 targets", async (t) => {
  const { many } = manyTargets();
  const call = fake(many);
  // What one target costs in a response, to bound a page's size.
  const one = JSON.stringify(many[0]).length;
  await t.step("first page, pool counts; the response holds one page", async () => {
    const r = await call("/ui/api/targets");
    const body = JSON.parse(r.text);
    assertEquals([body.total, body.page, body.pages, body.targets.length], [10_000, 1, 200, 50]);
    assert(r.text.length < 60 * one, `${r.text.length} bytes for 50 targets`);
    assertEquals(body.pools, [
      { name: "a", up: 4000, down: 1000, unknown: 0, dropped: 0 },
      { name: "b", up: 5000, down: 0, unknown: 0, dropped: 0 },
      { name: "node", up: 0, down: 0, unknown: 0, dropped: 1 },
    ]);
    assert(body.targets.every((x: TargetStatus) => x.scrapePool === "a"));
  });
  await t.step("page and size are honoured; pages follow each other without overlap", async () => {
    const p1 = (await getJson(call, "/ui/api/targets?size=100&page=1")).body;
    const p2 = (await getJson(call, "/ui/api/targets?size=100&page=2")).body;
    assertEquals([p1.pages, p2.page, p1.targets.length, p2.targets.length], [100, 2, 100, 100]);
    const url = (x: TargetStatus) => x.scrapeUrl;
    const seen = new Set(p1.targets.map(url));
    assert(p2.targets.every((x: TargetStatus) => !seen.has(url(x))), "no overlap");
    // Pool "a" holds the even targets, in their order: page 2 starts with the 101st.
    assertEquals(p2.targets[0].labels.instance, "host-00200:9100");
  });
  await t.step("size is capped at 500, bad values fall back to the defaults", async () => {
    const big = await call("/ui/api/targets?size=10000");
    const b = JSON.parse(big.text);
    assertEquals([b.targets.length, b.pages], [500, 20]);
    assert(big.text.length < 510 * one, `${big.text.length} bytes for 500 targets`);
    const bad = (await getJson(call, "/ui/api/targets?size=x&page=-3")).body;
    assertEquals([bad.page, bad.targets.length], [1, 50]);
  });
  await t.step("pool, health and search filters; page clamped", async () => {
    const { body } = await getJson(call, "/ui/api/targets?pool=a&health=down&page=999&size=500");
    assertEquals([body.total, body.page, body.pages], [1000, 2, 2]);
    assert(body.targets.every((x: TargetStatus) => x.scrapePool === "a" && x.health === "down"));
    const s = await getJson(call, "/ui/api/targets?q=host-00042");
    assertEquals(s.body.targets.map((x: TargetStatus) => x.labels.instance), ["host-00042:9100"]);
    const none = (await getJson(call, "/ui/api/targets?q=nothing-like-this")).body;
    assertEquals([none.total, none.page, none.pages, none.targets], [0, 1, 1, []]);
  });
});

Deno.test("/ui/api/sd: 10,000 active and 1,000 dropped targets, one page per response", async () => {
  const { many, drops } = manyTargets(1000);
  const handler = createHandler({
    status: {
      targets: () => many,
      droppedTargets: () => drops,
      endpoints: () => [],
      ready: () => true,
      startTime: NOW,
      version: "0.1.0",
    },
    registry: new Registry(),
    now: () => NOW,
  });
  const get = async (path: string) => {
    const res = await handler(new Request(`http://ferry.test${path}`));
    const text = await res.text();
    return { text, body: JSON.parse(text) };
  };
  const all = await get("/ui/api/sd");
  assertEquals([all.body.total, all.body.pages, all.body.items.length], [11_000, 220, 50]);
  assert(all.text.length < 50_000, `${all.text.length} bytes`);
  const dropped = await get("/ui/api/sd?show=dropped&size=200&page=5");
  assertEquals([dropped.body.total, dropped.body.page, dropped.body.items.length], [1000, 5, 200]);
  assertEquals(dropped.body.items[0].discoveredLabels.__address__, "drop-800:1");
  assert(dropped.body.items.every((r: { labels: unknown }) => r.labels === null));
  const search = await get("/ui/api/sd?show=active&pool=b&q=host-09999");
  assertEquals(search.body.items.map((r: { labels: { instance: string } }) => r.labels.instance), [
    "host-09999:9100",
  ]);
});

Deno.test("home page with 10,000 targets: a bounded page that links to the paginated list", async () => {
  const { many } = manyTargets();
  const call = fake(many);
  const r = await call("/");
  assertEquals(r.status, 200);
  assert(r.text.length < 100_000, `home page of ${r.text.length} bytes`);
  assertEquals(r.text.split('<tr class="target ').length - 1, 100);
  assert(r.text.includes('<a href="/targets?pool=a&amp;health=down">the 1000 down</a>'));
  assert(r.text.includes('<a href="/targets?pool=b">all 5000 targets of b</a>'));
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

/**
 * Runs a page's script against the handler with a minimal DOM until its first
 * render is done (it then schedules the next refresh); returns the elements.
 * `focusInControls` makes the controls look focused, as after a click on them.
 */
async function runPage(
  call: ReturnType<typeof fake>,
  path: string,
  opts: { search?: string; focusInControls?: boolean } = {},
) {
  const html = (await call(path)).text;
  const script = html.slice(html.indexOf("<script>") + 8, html.lastIndexOf("</script>"));
  const focus = opts.focusInControls ?? false;
  const el = () => ({ innerHTML: "", textContent: "", className: "", contains: () => focus });
  const els: Record<string, ReturnType<typeof el>> = {};
  const doc = {
    getElementById: (id: string) => (els[id] ??= el()),
    querySelectorAll: () => [],
    addEventListener: () => {},
    activeElement: focus ? {} : null,
    hidden: false,
  };
  const fetched: string[] = [];
  const fetchStub = async (p: string) => {
    fetched.push(p);
    const r = await call(p);
    return new Response(r.text, { status: r.status });
  };
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const run = new Function(
    "document",
    "fetch",
    "location",
    "history",
    "setTimeout",
    "clearTimeout",
    script,
  );
  run(
    doc,
    fetchStub,
    { search: opts.search ?? "", pathname: path },
    {},
    () => done(),
    () => {},
  );
  await finished;
  return { els, fetched };
}

Deno.test("Targets page script: fetches and renders one page; the pager follows even with focused controls", async (t) => {
  const call = fake(manyTargets().many);
  await t.step("first page", async () => {
    const { els, fetched } = await runPage(call, "/targets");
    assertEquals(fetched, ["/ui/api/targets?"]);
    const out = els["results"].innerHTML;
    assertEquals(out.split('<tr class="target ').length - 1, 50);
    assert(out.includes('<span class="page-info">page 1 of 200</span>'), out.slice(0, 2000));
    assert(out.includes("10000 matching"));
    assert(els["controls"].innerHTML.includes('data-param="size"'), "page size control");
  });
  await t.step("page 3 of pool a, 100 per page, after a click on the pager", async () => {
    const { els, fetched } = await runPage(call, "/targets", {
      search: "?pool=a&size=100&page=3",
      focusInControls: true,
    });
    assertEquals(fetched, ["/ui/api/targets?pool=a&size=100&page=3"]);
    const out = els["results"].innerHTML;
    assertEquals(out.split('<tr class="target ').length - 1, 100);
    assert(out.includes('<span class="page-info">page 3 of 50</span>'));
    assert(out.includes('data-page="4"') && out.includes('data-page="2"'));
    assert(out.includes("host-00400:9100"), "page 3 starts with the 201st target of a");
  });
});

Deno.test("Remote write page: shows the protocol in use, fallback, shards and desired shards", async () => {
  const call = fake();
  const { els } = await runPage(call, "/remote-write");
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

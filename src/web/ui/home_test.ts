import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { AgentStatusProvider, EndpointStatus, TargetStatus } from "../status.ts";
import {
  escapeHtml,
  formatAgo,
  formatSeconds,
  formatUptime,
  HOME_TARGET_ROWS,
  renderHome,
} from "./home.ts";
import { fakeEndpointStatus } from "../../remote/test_util.ts";

const NOW = Date.UTC(2026, 7, 21, 12, 0, 0, 0);

function includes(actual: string, expected: string): void {
  assert(actual.includes(expected), `expected to find ${JSON.stringify(expected)} in:\n${actual}`);
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) {
    n++;
  }
  return n;
}

function target(pool: string, instance: string, over: Partial<TargetStatus> = {}): TargetStatus {
  return {
    scrapePool: pool,
    scrapeUrl: `http://${instance}/metrics`,
    globalUrl: `http://${instance}/metrics`,
    labels: { job: pool, instance },
    discoveredLabels: { __address__: instance },
    health: "up",
    lastError: "",
    lastScrape: NOW - 3200,
    lastScrapeDurationSeconds: 0.0125,
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
    ...over,
  };
}

function endpoint(over: Partial<EndpointStatus> = {}): EndpointStatus {
  return fakeEndpointStatus({
    name: "mimir",
    url: "https://mimir.example/api/v1/push",
    samplesSent: 1000,
    samplesFailed: 7,
    samplesRetried: 3,
    samplesDropped: 2,
    samplesPending: 42,
    bytesSent: 98765,
    lastError: "",
    lastErrorTime: null,
    lastSendTime: NOW - 1500,
    cursor: { segment: 3, offset: 4096 },
    ...over,
  });
}

function status(
  targets: TargetStatus[],
  endpoints: EndpointStatus[] = [],
  over: Partial<AgentStatusProvider> = {},
): AgentStatusProvider {
  return {
    targets: () => targets,
    droppedTargets: () => [{ scrapePool: "node", discoveredLabels: { __address__: "z:1" } }],
    endpoints: () => endpoints,
    ready: () => true,
    startTime: NOW - 90_061_000,
    version: "0.1.0",
    ...over,
  };
}

Deno.test("escapeHtml", () => {
  assertEquals(
    escapeHtml(`<a href="x">Tom & 'Jerry'</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;",
  );
  assertEquals(escapeHtml("plain"), "plain");
});

Deno.test("formatting helpers", async (t) => {
  const cases: [string, string, string][] = [
    [formatAgo(3200), "3.2s ago", "seconds"],
    [formatAgo(0), "0.0s ago", "zero"],
    [formatAgo(-50), "0.0s ago", "clock skew"],
    [formatAgo(125_400), "2m5s ago", "minutes"],
    [formatAgo(3_600_000), "1h ago", "hours"],
    [formatSeconds(0.0125), "12.5ms", "ms"],
    [formatSeconds(1.5), "1.500s", "s"],
    [formatSeconds(NaN), "–", "NaN"],
    [formatUptime(90_061_900), "1d1h1m1s", "uptime"],
    [formatUptime(0), "0s", "uptime zero"],
  ];
  for (const [got, want, name] of cases) {
    await t.step(name, () => assertEquals(got, want));
  }
});

Deno.test("renderHome shows header, pools, targets and endpoints", () => {
  const html = renderHome(
    status([
      target("node", "b:9100", { health: "down", lastError: "connection refused" }),
      target("app", "a:8080", { lastScrape: null, health: "unknown" }),
      target("node", "a:9100"),
    ], [
      endpoint(),
      endpoint({
        name: "backup",
        lastError: "HTTP 500",
        lastErrorTime: NOW - 1000,
        protocol: "prometheus.WriteRequest",
        fellBack: true,
        shards: 4,
        maxShards: 8,
      }),
    ]),
    { now: NOW },
  );
  assert(html.startsWith("<!doctype html>"));
  includes(html, '<meta http-equiv="refresh" content="5">');
  includes(html, 'version <b id="version">0.1.0</b>');
  includes(html, 'up <b id="uptime">1d1h1m1s</b>');
  includes(html, '<span class="ready">ready</span>');
  includes(html, '<a href="./metrics">/metrics</a>');
  includes(html, '<a href="./api/v1/targets">/api/v1/targets</a>');
  includes(html, "3 active (1 up, 1 down, 1 unknown), 1 dropped in 2 pools.");
  // Pools are sorted; targets keep their order within a pool.
  assert(html.indexOf('data-pool="app"') < html.indexOf('data-pool="node"'));
  assert(html.indexOf("b:9100") < html.indexOf("a:9100"));
  includes(html, "(1/2 up, 1 dropped)");
  includes(html, '<span class="health health-down">down</span>');
  includes(html, '<span class="health health-up">up</span>');
  includes(html, '<span class="health health-unknown">unknown</span>');
  includes(html, '<a href="http://a:9100/metrics">http://a:9100/metrics</a>');
  includes(
    html,
    '<span class="label">instance="a:9100"</span><span class="label">job="node"</span>',
  );
  includes(html, "<td>3.2s ago</td>");
  includes(html, '<td class="num">12.5ms</td>');
  includes(html, "<td>never</td>");
  includes(html, '<td class="err">connection refused</td>');
  // Endpoints.
  includes(html, "<td>mimir</td>");
  includes(html, '<td class="protocol">prometheus.WriteRequest</td>');
  includes(html, '<td class="num shards">1 / 50</td>');
  includes(
    html,
    '<td class="protocol">prometheus.WriteRequest <span class="muted">(fell back from RW 2.0)</span></td>',
  );
  includes(html, '<td class="num shards">4 / 8</td>');
  includes(html, '<td class="num">1000</td><td class="num">42</td><td class="num">7</td>');
  includes(html, '<td class="num">3:4096</td>');
  includes(html, "<td>1.5s ago</td>");
  includes(html, 'HTTP 500 <span class="muted">(1.0s ago)</span>');
  includes(html, '<tr class="endpoint endpoint-failing"><td>backup</td>');
  assertEquals(count(html, '<tr class="endpoint'), 2);
  assertEquals(count(html, '<tr class="endpoint endpoint-failing">'), 1);
});

Deno.test("renderHome without endpoints, not ready, refresh disabled", () => {
  const html = renderHome(status([], [], { ready: () => false }), { now: NOW, refreshSeconds: 0 });
  includes(html, "No remote write endpoints configured.");
  includes(html, '<span class="not-ready">not ready</span>');
  assert(!html.includes("http-equiv"));
});

Deno.test("renderHome escapes every value and never links non-http URLs", () => {
  const evil = "<script>alert(1)</script>";
  const html = renderHome(
    status([
      target(`pool${evil}`, "x:1", {
        scrapeUrl: `javascript:alert(1)//"><script>`,
        labels: { [`name${evil}`]: evil, q: `"'&` },
        lastError: `<img src=x onerror=alert(1)>`,
      }),
    ], [
      endpoint({
        name: evil,
        url: `http://x/"onmouseover="alert(1)`,
        lastError: evil,
        lastErrorTime: NOW,
      }),
    ], {
      version: evil,
    }),
    { now: NOW },
  );
  assert(!html.includes("<script"), "raw <script>");
  assert(!html.includes("<img"), "raw <img>");
  assert(!html.includes('href="javascript'), "javascript: link");
  assert(!html.includes('"onmouseover'), "attribute break-out");
  includes(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
  includes(html, `q="&quot;&#39;&amp;"`);
  includes(html, `data-pool="pool&lt;script&gt;`);
  includes(html, `href="http://x/&quot;onmouseover=&quot;alert(1)"`);
});

Deno.test("renderHome lists at most HOME_TARGET_ROWS targets and links each cut pool", () => {
  const targets: TargetStatus[] = [];
  for (let i = 0; i < 10_000; i++) {
    targets.push(
      target(`job${i % 20}`, `host${i}:9100`, {
        labels: { job: `job${i % 20}`, instance: `host${i}:9100`, env: "prod", team: "core" },
        health: i % 7 === 0 ? "down" : "up",
        lastError: i % 7 === 0 ? "context deadline exceeded" : "",
      }),
    );
  }
  const html = renderHome(status(targets, [endpoint()]), { now: NOW });
  assertEquals(count(html, '<tr class="target '), HOME_TARGET_ROWS);
  // Every pool is summarised; the first ones (sorted) fill the rows, the rest are collapsed.
  assertEquals(count(html, "<details"), 20);
  assertEquals(count(html, '<details class="pool" open'), 1);
  assertEquals(count(html, '<tr class="more">'), 20);
  includes(html, "10000 active (8571 up, 1429 down, 0 unknown), 1 dropped in 20 pools.");
  includes(html, "Showing the first 100;");
  includes(html, '400 more: <a href="/targets?pool=job0">all 500 targets of job0</a>');
  includes(html, '<a href="/targets?pool=job0&amp;health=down">the 72 down</a>');
  includes(html, '500 more: <a href="/targets?pool=job9">all 500 targets of job9</a>');
  // A refresh costs about a hundred rows, not 10,000 (4 MB of HTML before).
  assert(html.length < 100_000, `home page of ${html.length} bytes`);
});

Deno.test("renderHome: maxTargetRows spreads over pools in order; dropped counts come from the provider", () => {
  const html = renderHome(
    status(
      [target("a", "a1:1"), target("a", "a2:1"), target("b", "b1:1"), target("b", "b2:1")],
      [],
      { droppedTargetCounts: () => ({ a: 0, b: 7000 }) },
    ),
    { now: NOW, maxTargetRows: 3 },
  );
  assertEquals(count(html, '<tr class="target '), 3);
  assert(html.indexOf("b1:1") > 0 && html.indexOf("b2:1") < 0);
  includes(html, "(2/2 up, 7000 dropped)");
  includes(html, "4 active (4 up, 0 down, 0 unknown), 7000 dropped in 2 pools.");
  includes(html, '1 more: <a href="/targets?pool=b">all 2 targets of b</a></td>');
});

import type { ResolvedHttpSdConfig } from "../config/types.ts";
import { Registry } from "../metrics/registry.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { HttpDiscoverer } from "./http.ts";
import { eventually, UpdateRecorder } from "./testutil.ts";

type Mode =
  | "good"
  | "changed"
  | "malformed"
  | "slow"
  | "500"
  | "text"
  | "no-targets"
  | "not-a-list"
  | "huge"
  | "huge-streamed"
  | "201"
  | "redirect"
  | "bad-utf8"
  | "many-targets";

const GOOD = [
  { targets: ["10.0.0.1:9100", "10.0.0.2:9100"], labels: { env: "prod" } },
  { targets: ["10.0.0.3:9100"] },
];
const CHANGED = [{ targets: ["10.0.0.4:9100"], labels: { env: "dev" } }];

/** An HTTP SD endpoint whose answer the test flips. */
function startServer() {
  let mode: Mode = "good";
  const requests: { method: string; url: string; headers: Headers }[] = [];
  const stalls = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push({ method: req.method, url: req.url, headers: new Headers(req.headers) });
    const url = new URL(req.url);
    if (url.pathname === "/moved") return Response.json(GOOD);
    switch (mode) {
      case "good":
        return Response.json(GOOD);
      case "changed":
        return Response.json(CHANGED);
      case "malformed":
        return new Response('[{"targets": ["a:1"]', {
          headers: { "Content-Type": "application/json" },
        });
      case "slow":
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 3000);
          stalls.signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve();
          });
        });
        return Response.json(GOOD);
      case "500":
        return new Response("internal error", { status: 500 });
      case "text":
        return new Response(JSON.stringify(GOOD), { headers: { "Content-Type": "text/plain" } });
      case "no-targets":
        return Response.json([{ labels: { a: "b" } }]);
      case "not-a-list":
        return Response.json({ targets: ["a:1"] });
      case "huge":
        return Response.json([{ targets: Array(20_000).fill("10.0.0.1:9100") }]);
      case "huge-streamed": {
        // No Content-Length: the cap must hold while reading.
        const chunk = new TextEncoder().encode(JSON.stringify(GOOD).repeat(100));
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (sent++ < 100) c.enqueue(chunk);
            else c.close();
          },
        });
        return new Response(body, { headers: { "Content-Type": "application/json" } });
      }
      case "201":
        return Response.json(GOOD, { status: 201 });
      case "redirect":
        return Response.redirect(new URL("/moved", req.url), 302);
      case "many-targets":
        return Response.json([{ targets: ["a:1", "b:1", "c:1"] }, { targets: ["d:1", "e:1"] }]);
      case "bad-utf8":
        return new Response(new Uint8Array([0x5b, 0xff, 0x5d]), {
          headers: { "Content-Type": "application/json" },
        });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/sd`,
    requests,
    set: (m: Mode) => mode = m,
    stop: () => {
      stalls.abort();
      return server.shutdown();
    },
  };
}

function config(url: string, over: Partial<ResolvedHttpSdConfig> = {}): ResolvedHttpSdConfig {
  return { url, refreshIntervalMs: 100, httpHeaders: {}, followRedirects: true, ...over };
}

const addrs = (groups: { targets: Record<string, string>[] }[]) =>
  groups.flatMap((g) => g.targets.map((t) => t.__address__)).sort();

Deno.test("http_sd: every kind of bad answer fails the refresh and keeps the last good groups", async (t) => {
  const srv = startServer();
  const registry = new Registry();
  const d = new HttpDiscoverer(config(srv.url, { followRedirects: false }), {
    job: "h",
    registry,
    timeoutMs: 300,
    maxBodyBytes: 100_000,
    limits: { targets: 4 },
  });
  const signal = new AbortController().signal;
  try {
    const good = await d.discoverOnce(signal);
    assertEquals(good.errors, []);
    assertEquals(good.groups, [
      {
        source: `${srv.url}:0`,
        targets: [{ __address__: "10.0.0.1:9100" }, { __address__: "10.0.0.2:9100" }],
        labels: { env: "prod", __meta_url: srv.url },
      },
      {
        source: `${srv.url}:1`,
        targets: [{ __address__: "10.0.0.3:9100" }],
        labels: { __meta_url: srv.url },
      },
    ]);
    const table: [Mode, string][] = [
      ["malformed", "invalid JSON"],
      ["slow", "no response within 300 ms"],
      ["500", "server returned HTTP status 500"],
      ["text", 'unsupported content type "text/plain"'],
      ["no-targets", 'group 0: "targets" is required'],
      ["not-a-list", "expected a list of target groups"],
      ["huge", "exceeds the 100000-byte limit"],
      ["huge-streamed", "response exceeds the 100000-byte limit"],
      ["201", "server returned HTTP status 201"],
      ["redirect", "server returned HTTP status 302"],
      ["bad-utf8", "not valid UTF-8"],
      ["many-targets", "5 targets, more than the limit of 4 per document"],
    ];
    let failures = 0;
    for (const [mode, want] of table) {
      await t.step(`${mode}: ${want}`, async () => {
        srv.set(mode);
        const r = await d.discoverOnce(signal);
        assertEquals(r.errors.length, 1, JSON.stringify(r.errors));
        assertStringIncludes(r.errors[0], want);
        assertEquals(addrs(r.groups), ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"]);
        failures++;
        assertStringIncludes(
          registry.expose(),
          `prometheus_sd_http_failures_total ${failures}\n`,
        );
        assertStringIncludes(
          registry.expose(),
          `prometheus_sd_refresh_failures_total{config="h",mechanism="http"} ${failures}\n`,
        );
      });
    }
  } finally {
    await srv.stop();
  }
});

Deno.test("http_sd: a running discoverer rides out 500s, garbage and stalls, then follows changes", async () => {
  const srv = startServer();
  const registry = new Registry();
  const d = new HttpDiscoverer(config(srv.url), { job: "h", registry, timeoutMs: 200 });
  const rec = new UpdateRecorder();
  const ac = new AbortController();
  const done = d.run(ac.signal, rec.update);
  const failures = () =>
    Number(/prometheus_sd_http_failures_total (\d+)/.exec(registry.expose())?.[1] ?? 0);
  try {
    await eventually("the first update", () => rec.updates.length === 1);
    for (const mode of ["500", "malformed", "slow"] as const) {
      const before = failures();
      srv.set(mode);
      await eventually(`two failed refreshes (${mode})`, () => failures() >= before + 2);
      assertEquals(rec.updates.length, 1, `no update while the server answers ${mode}`);
    }
    srv.set("good");
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(rec.updates.length, 1, "the same good answer again is not an update");
    srv.set("changed");
    await eventually("the changed targets", () => rec.addresses().length === 1);
    assertEquals(rec.addresses(), ["10.0.0.4:9100"]);
    assertEquals(rec.updates.at(-1)![0].labels, { env: "dev", __meta_url: srv.url });
  } finally {
    ac.abort();
    await done;
    await srv.stop();
  }
});

Deno.test("http_sd: sends auth, custom headers, Accept and the refresh interval; follows redirects", async () => {
  const srv = startServer();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "from-file\n");
    const d = new HttpDiscoverer(
      config(srv.url, {
        refreshIntervalMs: 90_000,
        basicAuth: { username: "u", password: "p" },
        httpHeaders: {
          "X-Tenant": { values: ["a", "b"], secrets: ["s"], files: [`${dir}/token`] },
        },
      }),
      { job: "h", registry: new Registry(), userAgent: "ferry/test" },
    );
    srv.set("redirect");
    const r = await d.discoverOnce(new AbortController().signal);
    assertEquals(r.errors, []);
    assertEquals(addrs(r.groups).length, 3, "the redirect was followed");
    const req = srv.requests[0];
    assertEquals(req.method, "GET");
    assertEquals(req.headers.get("Authorization"), "Basic dTpw");
    assertEquals(req.headers.get("X-Tenant"), "a, b, s, from-file");
    assertEquals(req.headers.get("Accept"), "application/json");
    assertEquals(req.headers.get("User-Agent"), "ferry/test");
    assertEquals(req.headers.get("X-Prometheus-Refresh-Interval-Seconds"), "90");
    assert(srv.requests[1].url.endsWith("/moved"));
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("http_sd: a group removed from the answer is gone; an empty list is no targets", async () => {
  const srv = startServer();
  try {
    const d = new HttpDiscoverer(config(srv.url), { job: "h", registry: new Registry() });
    const signal = new AbortController().signal;
    assertEquals((await d.discoverOnce(signal)).groups.length, 2);
    srv.set("changed");
    const r = await d.discoverOnce(signal);
    assertEquals(r.groups.map((g) => g.source), [`${srv.url}:0`]);
  } finally {
    await srv.stop();
  }
});

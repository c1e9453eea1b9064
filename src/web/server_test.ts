import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { Registry } from "../metrics/registry.ts";
import { createHandler } from "./api.ts";
import { parseListenAddress, startWebServer } from "./server.ts";
import type { AgentStatusProvider } from "./status.ts";

Deno.test("parseListenAddress", async (t) => {
  const ok: [string, string, number][] = [
    ["127.0.0.1:9090", "127.0.0.1", 9090],
    ["0.0.0.0:0", "0.0.0.0", 0],
    [":9090", "0.0.0.0", 9090],
    ["localhost:65535", "localhost", 65535],
    ["[::1]:9090", "::1", 9090],
    ["[::]:80", "::", 80],
  ];
  for (const [addr, hostname, port] of ok) {
    await t.step(addr, () => assertEquals(parseListenAddress(addr), { hostname, port }));
  }
  for (
    const bad of [
      "9090",
      "host:",
      "host:http",
      "host:65536",
      "::1:9090",
      "[::1]9090",
      "[::1",
      "h:-1",
    ]
  ) {
    await t.step(`rejects ${JSON.stringify(bad)}`, () => {
      assertThrows(() => parseListenAddress(bad), RangeError);
    });
  }
});

function fakeStatus(): AgentStatusProvider {
  return {
    targets: () => [],
    droppedTargets: () => [],
    endpoints: () => [],
    ready: () => true,
    startTime: Date.now(),
    version: "0.1.0",
  };
}

Deno.test("startWebServer serves the handler on a real socket and stops on abort", async () => {
  const ac = new AbortController();
  const registry = new Registry();
  const handler = createHandler({ status: fakeStatus(), registry });
  const server = startWebServer({ listen: "127.0.0.1:0", handler, signal: ac.signal });
  try {
    assert(server.port > 0);
    assertEquals(server.hostname, "127.0.0.1");
    const base = `http://127.0.0.1:${server.port}`;

    const healthy = await fetch(`${base}/-/healthy`);
    assertEquals([healthy.status, await healthy.text()], [200, "Ferry is Healthy.\n"]);

    const head = await fetch(`${base}/-/ready`, { method: "HEAD" });
    assertEquals([head.status, await head.text()], [200, ""]);

    const metrics = await fetch(`${base}/metrics`);
    assertEquals(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert((await metrics.text()).includes("prometheus_build_info{"));

    const targets = await fetch(`${base}/api/v1/targets`);
    assertEquals(await targets.json(), {
      status: "success",
      data: { activeTargets: [], droppedTargets: [], droppedTargetCounts: {} },
    });

    const home = await fetch(`${base}/`);
    assertEquals(home.status, 200);
    assert((await home.text()).includes("<title>ferry</title>"));

    // A second server cannot take the same port.
    assertThrows(
      () => startWebServer({ listen: `127.0.0.1:${server.port}`, handler, signal: ac.signal }),
      (err: unknown) =>
        err instanceof Error && err.message.startsWith(`Cannot listen on 127.0.0.1:`),
    );
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("startWebServer turns handler crashes into 500", async () => {
  const ac = new AbortController();
  const server = startWebServer({
    listen: "127.0.0.1:0",
    handler: () => {
      throw new Error("boom");
    },
    signal: ac.signal,
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    assertEquals([res.status, await res.text()], [500, "Internal Server Error\n"]);
  } finally {
    ac.abort();
    await server.finished;
  }
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Registry } from "../metrics/registry.ts";
import { createHandler } from "./api.ts";
import type { AgentStatusProvider } from "./status.ts";

function status(over: Partial<AgentStatusProvider> = {}): AgentStatusProvider {
  return {
    targets: () => [],
    droppedTargets: () => [],
    endpoints: () => [],
    ready: () => true,
    startTime: 0,
    version: "0.0.0",
    ...over,
  };
}

async function get(s: AgentStatusProvider): Promise<{ code: number; body: unknown }> {
  const handler = createHandler({ status: s, registry: new Registry() });
  const res = await handler(new Request("http://x/api/v1/status/walreplay"));
  return { code: res.status, body: await res.json() };
}

Deno.test("/api/v1/status/walreplay answers in Prometheus' shape, also before the agent is ready", async () => {
  assertEquals(await get(status({ walReplay: () => ({ min: 3, max: 9, current: 9 }) })), {
    code: 200,
    body: { status: "success", data: { min: 3, max: 9, current: 9 } },
  });
  assertEquals(
    await get(status({ ready: () => false, walReplay: () => ({ min: 0, max: 4, current: 2 }) })),
    { code: 200, body: { status: "success", data: { min: 0, max: 4, current: 2 } } },
  );
  assertEquals(await get(status()), {
    code: 200,
    body: { status: "success", data: { min: 0, max: 0, current: 0 } },
  });
});

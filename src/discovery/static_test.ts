import { assertEquals } from "../testing/assert.ts";
import { StaticDiscoverer } from "./static.ts";
import type { TargetGroup } from "./types.ts";

Deno.test("static discoverer reports every group once with __address__ set", async () => {
  const d = new StaticDiscoverer([
    { targets: ["a:1", "b:2"], labels: { env: "prod" } },
    { targets: ["c:3"], labels: {} },
  ], "node");
  const ac = new AbortController();
  const seen: TargetGroup[][] = [];
  const done = d.run(ac.signal, (g) => seen.push(g));
  ac.abort();
  await done;
  assertEquals(seen.length, 1);
  assertEquals(seen[0], [
    {
      source: "node/static/0",
      targets: [{ __address__: "a:1" }, { __address__: "b:2" }],
      labels: { env: "prod" },
    },
    { source: "node/static/1", targets: [{ __address__: "c:3" }], labels: {} },
  ]);
});

import { assert, assertEquals } from "../testing/assert.ts";
import { MALLOC_ENV, MALLOC_ENV_PREFIX } from "./malloc_env.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));

Deno.test("MALLOC_ENV_PREFIX is the variables as NAME=value words", () => {
  assertEquals(
    MALLOC_ENV_PREFIX,
    "MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072",
  );
  for (const [k, v] of Object.entries(MALLOC_ENV)) assert(/^\d+$/.test(v), `${k}=${v}`);
});

Deno.test("every documented way to run ferry sets the malloc environment", async () => {
  const deno = JSON.parse(await read("deno.json")) as { tasks: Record<string, string> };
  assert(deno.tasks.agent.startsWith(`${MALLOC_ENV_PREFIX} deno run `), deno.tasks.agent);
  const readme = await read("README.md");
  assert(readme.includes(`export ${MALLOC_ENV_PREFIX}\n`), "README's run commands");
  const unitEnv = await read("deploy/systemd/ferry.env");
  const image = await read("deploy/container/Containerfile");
  assert(image.includes(`ENV ${MALLOC_ENV_PREFIX}\n`), "Containerfile");
  for (const [k, v] of Object.entries(MALLOC_ENV)) {
    assert(new RegExp(`^${k}=${v}$`, "m").test(unitEnv), `ferry.env: ${k}=${v}`);
  }
  const start = await read("tools/start.ts");
  assert(start.includes("env: { ...MALLOC_ENV }"), "tools/start.ts starts the agent with it");
});

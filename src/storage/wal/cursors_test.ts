import { join } from "node:path";
import { assertEquals } from "../../testing/assert.ts";
import { setupLogging } from "../../util/log.ts";
import { CursorStore } from "./cursors.ts";

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function saved(path: string): Promise<{ segment: number; offset: number } | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)).cursors.a;
  } catch {
    return undefined;
  }
}

Deno.test("cursors: a failed write is logged once and retried without further acks; a removed directory is created again", async () => {
  const lines: string[] = [];
  setupLogging({ level: "info", write: (l) => lines.push(l) });
  const root = await Deno.makeTempDir({ prefix: "ferry-cursors-" });
  try {
    const path = join(root, "data", "cursors.json");
    await Deno.mkdir(join(root, "data"));
    const store = await CursorStore.load(path, { now: () => performance.now() });
    const a = store.get("a", () => ({ segment: 0, offset: 0 }));
    await store.flush();
    assertEquals(await saved(path), { segment: 0, offset: 0 });

    // The temporary file's name is taken by a (non-empty) directory: writes fail.
    await Deno.mkdir(`${path}.tmp/x`, { recursive: true });
    a.ack({ segment: 1, offset: 10 });
    await until(
      "a failed write",
      () => Promise.resolve(lines.some((l) => l.includes("Cannot write cursors file"))),
    );
    await Deno.remove(`${path}.tmp`, { recursive: true });
    await until("the retry", async () => (await saved(path))?.segment === 1);
    await until(
      "the recovery logged",
      () => Promise.resolve(lines.some((l) => l.includes("Writing the cursors file works again"))),
    );
    assertEquals(lines.filter((l) => l.includes("Cannot write cursors file")).length, 1);

    // The storage directory removed underneath.
    await Deno.remove(join(root, "data"), { recursive: true });
    a.ack({ segment: 2, offset: 20 });
    await until("written again", async () => (await saved(path))?.segment === 2);
    await store.close();
  } finally {
    setupLogging({ level: "error", write: () => {} });
    await Deno.remove(root, { recursive: true });
  }
});

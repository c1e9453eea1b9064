import { assertRejects } from "../testing/assert.ts";
import { DirectoryLockedError, lockDirectory } from "./lock.ts";

Deno.test("a storage directory can be locked by one holder at a time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await lockDirectory(`${dir}/data`);
    await assertRejects(() => lockDirectory(`${dir}/data`, 50), DirectoryLockedError, "in use");
    first.release();
    const again = await lockDirectory(`${dir}/data`, 50);
    again.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the lock is held across processes and freed when the holder exits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lockUrl = new URL("./lock.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { lockDirectory } from "${lockUrl}"; await lockDirectory("${dir}"); console.log("locked"); setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    if (!new TextDecoder().decode(value).includes("locked")) throw new Error("child did not lock");
    await assertRejects(() => lockDirectory(dir, 50), DirectoryLockedError);
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    (await lockDirectory(dir, 1000)).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

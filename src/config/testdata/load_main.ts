/**
 * Test harness for load_test.ts: runs loadConfig() in a separate `deno run`
 * process, because Worker permissions need --unstable-worker-options (or
 * deno.json "unstable": ["worker-options"]), which `deno test` may lack, and
 * without it Deno exits the whole process.
 *
 * Argument: a JSON list of steps. `{ load, timeoutMs? }` loads a file (loads
 * run concurrently); `{ write, text }` waits for earlier loads, then writes a
 * file (to test that a reload sees edits). Prints one JSON result per load, in
 * order, then exits, which also ends any Worker stuck in a loop.
 */
import { ConfigError } from "../errors.ts";
import { loadConfig } from "../load.ts";

type Step = { load: string; timeoutMs?: number } | { write: string; text: string };

async function run(step: { load: string; timeoutMs?: number }): Promise<string> {
  try {
    const r = await loadConfig(step.load, { timeoutMs: step.timeoutMs });
    return JSON.stringify({ ok: true, ...r });
  } catch (e) {
    return JSON.stringify({
      ok: false,
      name: (e as Error).name,
      message: (e as Error).message,
      issues: e instanceof ConfigError ? e.issues : undefined,
    });
  }
}

const steps = JSON.parse(Deno.args[0]) as Step[];
const pending: Promise<string>[] = [];
for (const step of steps) {
  if ("write" in step) {
    await Promise.all(pending);
    await Deno.writeTextFile(step.write, step.text);
  } else {
    pending.push(run(step));
  }
}
const lines = await Promise.all(pending);
await Deno.stdout.write(new TextEncoder().encode(lines.join("\n") + "\n"));
Deno.exit(0);

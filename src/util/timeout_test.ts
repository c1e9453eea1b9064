import { assert, assertEquals } from "../testing/assert.ts";
import { timeoutSignal } from "./timeout.ts";

Deno.test("timeoutSignal aborts with a TimeoutError after its time", async () => {
  const t = timeoutSignal(20);
  const reason = await new Promise<unknown>((resolve) => {
    t.signal.addEventListener("abort", () => resolve(t.signal.reason), { once: true });
  });
  assert(reason instanceof DOMException);
  assertEquals((reason as DOMException).name, "TimeoutError");
  t.clear(); // after firing: harmless
});

Deno.test("timeoutSignal cleared in time never aborts", async () => {
  const t = timeoutSignal(20);
  t.clear();
  t.clear();
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(t.signal.aborted, false);
});

import { assert } from "../testing/assert.ts";
import { registerProcessMetrics } from "./process.ts";
import { Registry } from "./registry.ts";

function values(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [name, v] = line.split(" ");
    out.set(name, Number(v));
  }
  return out;
}

Deno.test("process metrics: CPU time grows, memory and start time are plausible", () => {
  const r = new Registry();
  registerProcessMetrics(r);
  const a = values(r.expose());
  let x = 0;
  for (let i = 0; i < 3e6; i++) x += Math.sqrt(i);
  assert(x > 0);
  const b = values(r.expose());
  assert(b.get("process_cpu_seconds_total")! > a.get("process_cpu_seconds_total")!, "CPU grows");
  assert(b.get("process_resident_memory_bytes")! > 10 * 1024 * 1024, "RSS > 10 MiB");
  const heapUsed = b.get("deno_memory_heap_used_bytes")!;
  assert(heapUsed > 0 && heapUsed <= b.get("deno_memory_heap_total_bytes")!, "heap used ≤ total");
  assert(b.get("deno_memory_external_bytes")! >= 0);
  const start = b.get("process_start_time_seconds")!;
  assert(Math.abs(start - Date.now() / 1000) < 3600, `start ${start}`);
  assert(r.expose().includes("# TYPE process_cpu_seconds_total counter\n"));
});

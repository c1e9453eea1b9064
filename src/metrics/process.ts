/**
 * The process's own metrics, as Prometheus exposes them (`process_*`), plus
 * the JavaScript heap: CPU time, resident memory, start time, and V8's heap
 * and external (ArrayBuffer) memory. None needs a permission.
 *
 * @module
 */

import process from "node:process";
import type { Registry } from "./registry.ts";

/** Memory figures, read at most once per exposition (the gauges share one reading). */
function memoryReader(): () => Deno.MemoryUsage {
  let at = -Infinity;
  let last: Deno.MemoryUsage = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
  return () => {
    const now = performance.now();
    if (now - at > 100) {
      last = Deno.memoryUsage();
      at = now;
    }
    return last;
  };
}

/** Registers the process metrics in `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  const mem = memoryReader();
  registry.counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    fn: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    },
  });
  registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    fn: () => mem().rss,
  });
  registry.gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    fn: () => Math.floor(performance.timeOrigin / 1000),
  });
  registry.gauge({
    name: "deno_memory_heap_total_bytes",
    help: "Size of V8's JavaScript heap in bytes.",
    fn: () => mem().heapTotal,
  });
  registry.gauge({
    name: "deno_memory_heap_used_bytes",
    help: "Bytes of V8's JavaScript heap in use (live and not yet collected objects).",
    fn: () => mem().heapUsed,
  });
  registry.gauge({
    name: "deno_memory_external_bytes",
    help: "Memory held outside V8's heap by JavaScript objects (ArrayBuffers), in bytes.",
    fn: () => mem().external,
  });
}

import { assertEquals, assertThrows } from "../testing/assert.ts";
import { walFlags } from "./run.ts";

const defaults = {
  "storage.agent.wal-segment-size": "128MB",
  "storage.agent.retention.min-time": "5m",
  "storage.agent.retention.max-time": "4h",
  "storage.agent.max-disk-bytes": "0",
  "storage.agent.wal-truncate-frequency": "1m",
};

Deno.test("walFlags() parses the WAL flags with Prometheus' units", () => {
  assertEquals(walFlags(defaults), {
    segmentSize: 128 * 2 ** 20,
    minTimeMs: 300_000,
    maxTimeMs: 4 * 3_600_000,
    maxDiskBytes: 0,
    truncateIntervalMs: 60_000,
  });
  const small = walFlags({
    ...defaults,
    "storage.agent.wal-segment-size": "64KB",
    "storage.agent.max-disk-bytes": "2GB",
    "storage.agent.retention.max-time": "0",
  });
  assertEquals([small.segmentSize, small.maxDiskBytes, small.maxTimeMs], [65536, 2 ** 31, 0]);
});

Deno.test("walFlags() rejects bad values naming the flag", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ "storage.agent.wal-segment-size": "32KB" }, "--storage.agent.wal-segment-size"],
    [{ "storage.agent.wal-segment-size": "lots" }, "--storage.agent.wal-segment-size"],
    [{ "storage.agent.max-disk-bytes": "-1" }, "--storage.agent.max-disk-bytes"],
    [{ "storage.agent.retention.min-time": "5x" }, "--storage.agent.retention.min-time"],
    [{ "storage.agent.retention.min-time": "5h" }, "must be greater than or equal to"],
    [{ "storage.agent.wal-truncate-frequency": "0s" }, "--storage.agent.wal-truncate-frequency"],
  ];
  for (const [over, msg] of cases) {
    await t.step(JSON.stringify(over), () => {
      assertThrows(() => walFlags({ ...defaults, ...over }), Error, msg);
    });
  }
});

/**
 * ferry's per-endpoint WAL cap (`maxDiskBytes` / `max_disk_bytes`): accepted
 * in both config formats, resolved to bytes, invalid values named.
 */

import { assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { ConfigError, formatIssue } from "./errors.ts";
import { loadYamlConfig } from "./prometheus.ts";
import { resolveConfig } from "./resolve.ts";

const rw = (extra: Record<string, unknown>) => ({
  remoteWrite: [{ url: "http://127.0.0.1:9201/api/v1/write", ...extra }],
});

Deno.test("remoteWrite maxDiskBytes: bytes or a size, default 0", async (t) => {
  const cases: [unknown, number][] = [[undefined, 0], [0, 0], [1048576, 1048576], [
    "512MB",
    512 * 2 ** 20,
  ], ["64KiB", 65536]];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input) ?? "absent", () => {
      const got = resolveConfig(rw(input === undefined ? {} : { maxDiskBytes: input }));
      assertEquals(got.remoteWrite[0].maxDiskBytes, want);
    });
  }
  for (const bad of ["lots", -5, 1.5, true, "10 XB"]) {
    await t.step(`${JSON.stringify(bad)} is an error naming the field`, () => {
      const e = assertThrows(() => resolveConfig(rw({ maxDiskBytes: bad })), ConfigError);
      const text = (e as ConfigError).issues.map(formatIssue).join("\n");
      assertStringIncludes(text, "remoteWrite[0].maxDiskBytes");
    });
  }
});

Deno.test("prometheus.yml max_disk_bytes maps onto maxDiskBytes", () => {
  const yaml = (v: string) =>
    `remote_write:\n  - url: http://127.0.0.1:9201/api/v1/write\n    max_disk_bytes: ${v}\n`;
  assertEquals(loadYamlConfig(yaml("256MB"), "p.yml").remoteWrite[0].maxDiskBytes, 2 ** 28);
  assertEquals(loadYamlConfig(yaml("4096"), "p.yml").remoteWrite[0].maxDiskBytes, 4096);
  const e = assertThrows(() => loadYamlConfig(yaml("huge"), "p.yml"), ConfigError);
  assertStringIncludes((e as ConfigError).issues.map(formatIssue).join("\n"), "max_disk_bytes");
});

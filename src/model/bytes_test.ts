import { assertEquals, assertThrows } from "../testing/assert.ts";
import { parseBytes } from "./bytes.ts";

Deno.test("parseBytes() reads Prometheus byte sizes (powers of 2) and IEC spellings", async (t) => {
  const ok: [string | number, number][] = [
    ["0", 0],
    ["1048576", 1048576],
    [4096, 4096],
    ["512B", 512],
    ["1KB", 1024],
    ["64kb", 65536],
    ["512MB", 512 * 2 ** 20],
    ["1GiB", 2 ** 30],
    ["2TB", 2 * 2 ** 40],
    [" 3 MiB ", 3 * 2 ** 20],
  ];
  for (const [input, want] of ok) {
    await t.step(`${JSON.stringify(input)} = ${want}`, () => assertEquals(parseBytes(input), want));
  }
  for (const bad of ["", "MB", "-1", "1.5GB", "1 GBs", "1kiB2", "1XB", "10Q", -1, 1.5, NaN]) {
    await t.step(`${JSON.stringify(bad)} is rejected`, () => {
      assertThrows(() => parseBytes(bad as string | number), RangeError);
    });
  }
  assertThrows(() => parseBytes("99999999EB"), RangeError, "too large");
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { crc32c, crc32cBytewise } from "./crc32c.ts";

const enc = new TextEncoder();

Deno.test("crc32c() matches known vectors", async (t) => {
  const cases: [string, Uint8Array, number][] = [
    ["empty", new Uint8Array(0), 0x00000000],
    ["123456789", enc.encode("123456789"), 0xe3069283],
    ["a", enc.encode("a"), 0xc1d04330],
    ["32 zero bytes", new Uint8Array(32), 0x8a9136aa],
    ["32 0xff bytes", new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ["0..31 ascending", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ["31..0 descending", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ];
  for (const [name, data, want] of cases) {
    await t.step(name, () => {
      assertEquals(crc32c(data), want);
      assertEquals(crc32cBytewise(data), want);
    });
  }
});

Deno.test("crc32c() slicing-by-8 equals the bytewise loop at every length and alignment", () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; start + len <= data.length; len += 7) {
      const d = data.subarray(start, start + len);
      assertEquals(crc32c(d), crc32cBytewise(d), `start ${start} len ${len}`);
    }
  }
});

Deno.test("crc32c() continues over split buffers", () => {
  const data = enc.encode("The quick brown fox jumps over the lazy dog");
  for (let cut = 0; cut <= data.length; cut++) {
    assertEquals(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data));
  }
});

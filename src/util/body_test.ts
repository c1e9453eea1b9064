import { assertEquals, assertRejects } from "../testing/assert.ts";
import { concatBytes, readCappedBytes } from "./body.ts";

function stream(parts: number[][], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < parts.length) c.enqueue(new Uint8Array(parts[i++]));
      else c.close();
    },
    cancel: onCancel,
  });
}

Deno.test("concatBytes joins parts in order, with or without the total", () => {
  const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)];
  assertEquals(concatBytes(parts), Uint8Array.of(1, 2, 3));
  assertEquals(concatBytes(parts, 3), Uint8Array.of(1, 2, 3));
  assertEquals(concatBytes([]), new Uint8Array(0));
});

Deno.test("readCappedBytes reads up to max bytes; past it, cancels and throws the caller's error", async () => {
  assertEquals(
    await readCappedBytes(stream([[1, 2], [3]]), 3, () => new Error("big")),
    Uint8Array.of(1, 2, 3),
  );
  assertEquals(await readCappedBytes(null, 0, () => new Error("big")), new Uint8Array(0));
  let cancelled = false;
  const body = stream([[1, 2], [3, 4], [5]], () => cancelled = true);
  await assertRejects(
    () => readCappedBytes(body, 3, () => new RangeError("too big")),
    RangeError,
    "too big",
  );
  assertEquals(cancelled, true);
  assertEquals(body.locked, false, "the lock is released");
});

import fc from "fast-check";
import { assertEquals } from "../../testing/assert.ts";
import { sortedOrder } from "./labelsort.ts";

Deno.test("sortedOrder is a stable sort by name, for small and large label sets", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 3 }), { maxLength: 60 }), (names) => {
      const want = names.map((_, i) => i).sort((a, b) =>
        names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b
      );
      assertEquals(sortedOrder(names), want);
    }),
  );
});

import fc from "fast-check";
import { assertEquals } from "../testing/assert.ts";
import { Labels } from "./labels.ts";

Deno.test("Labels.utf8Length is the UTF-8 size of every name and value, and is cached", () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 16 }),
      ),
      (rec) => {
        const l = Labels.fromObject(rec);
        const enc = new TextEncoder();
        let want = 0;
        for (const s of l.flat()) want += enc.encode(s).length;
        assertEquals(l.utf8Length(), want);
        assertEquals(l.utf8Length(), want);
      },
    ),
  );
});

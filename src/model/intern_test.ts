import { assert, assertEquals, assertThrows } from "../testing/assert.ts";
import { labelStrings, StringInterner } from "./intern.ts";
import { Labels } from "./labels.ts";

// (Whether two equal strings are one object cannot be seen from JavaScript: these tests check
// contents and bounds; bench/compare.ts measures the memory.)
Deno.test("StringInterner keeps one entry per distinct string", () => {
  const i = new StringInterner(100);
  const body = "xxxx/api/v1/orders/{id}/items yyyy";
  const a = i.intern(body.slice(5, 29));
  const b = i.intern(("/api/v1/orders/" + "{id}/items").slice(0));
  assertEquals(a, "/api/v1/orders/{id}/items".slice(1));
  assertEquals(i.intern(a), a);
  assertEquals(b, "/api/v1/orders/{id}/items");
  assertEquals(i.size, 2);
  i.intern("/api/v1/orders/{id}/items");
  assertEquals(i.size, 2);
});

Deno.test("StringInterner stays bounded: at most two generations", () => {
  const i = new StringInterner(10);
  for (let k = 0; k < 1000; k++) i.intern(`value-${k}`);
  assert(i.size <= 20, `size ${i.size}`);
  // A string used in every generation keeps its copy.
  const i2 = new StringInterner(10);
  const hot = i2.intern("a-hot-label-value-" + "x");
  for (let k = 0; k < 1000; k++) {
    i2.intern(`cold-${k}`);
    if (k % 5 === 0) assertEquals(i2.intern("a-hot-label-value-x"), hot);
  }
});

Deno.test("StringInterner rejects a generation below 1", () => {
  assertThrows(() => new StringInterner(0), RangeError);
});

Deno.test("Labels.internStrings shares strings between equal label sets without changing them", () => {
  const mk = () =>
    Labels.fromObject({
      __name__: "http_requests_total",
      path: "/api/v1/orders/" + "{id}/items",
      method: "GET",
    });
  const a = mk().internStrings((s) => labelStrings.intern(s));
  const b = mk().internStrings((s) => labelStrings.intern(s));
  assert(a.equals(b));
  assertEquals(a.toObject(), {
    __name__: "http_requests_total",
    method: "GET",
    path: "/api/v1/orders/{id}/items",
  });
  for (let k = 0; k < a.flat().length; k++) assertEquals(a.flat()[k], b.flat()[k]);
  assertEquals(Labels.EMPTY.internStrings((s) => s), Labels.EMPTY);
  assertThrows(() => mk().internStrings((s) => s + "!"), Error, "changed a string");
});
